/* Phase timings (contract in phase.h). */
#include "core/phase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int enabled = -1; /* -1: not looked up yet */
static double last;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void fs_phase_start(void)
{
    const char *v = getenv("FSTORE_TIMINGS");
    enabled = v && *v && strcmp(v, "0") != 0;
    last = now_s();
}

void fs_phase(const char *name)
{
    if (enabled < 0)
        fs_phase_start();
    if (!enabled)
        return;
    double t = now_s();
    fprintf(stderr, "fstore: %-16s %.3f s\n", name, t - last);
    last = t;
}
