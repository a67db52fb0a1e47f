/* placeholder until the CLI lands */
#include "fstore.h"
#include <stdio.h>
int main(void) { printf("fstore %s\n", fs_version()); return 0; }
