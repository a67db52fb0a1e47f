/* Large arrays that are written once from start to end (label tables, the
 * rows a join selects, sort buffers): asking the kernel to back them with
 * transparent huge pages, where it is set to "madvise", turns a page fault
 * per 4 KiB into one per 2 MiB. On this project's 2-vCPU VM first-touch
 * page faults were a fifth of a training set's time. */
#ifndef FS_BIGMEM_H
#define FS_BIGMEM_H

#include <stddef.h>

/* Hints that [p, p + bytes) will be used whole (no effect on blocks under
 * 4 MiB, nor where the kernel does not support it). */
void fs_huge_hint(void *p, size_t bytes);

/* malloc with the hint; a large block is aligned to a huge page and
 * rounded up to whole ones. Freed with free(). */
void *fs_big_malloc(size_t bytes);

#endif
