/* Huge-page hints for large arrays (contract in bigmem.h). */
#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

void fs_huge_hint(void *p, size_t bytes)
{
    enum { HUGE = 2 << 20 };
    if (!p || bytes < 2 * (size_t)HUGE)
        return;
    /* only the whole huge pages inside the block */
    uintptr_t a = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE - 1);
    if (e > a)
        madvise((void *)a, e - a, MADV_HUGEPAGE);
}

void *fs_big_malloc(size_t bytes)
{
    enum { HUGE = 2 << 20 };
    if (bytes < 2 * (size_t)HUGE)
        return malloc(bytes);
    /* Aligned to a huge page and a whole number of them: otherwise the
     * unaligned head and tail (up to 4 MiB) still fault page by page. */
    size_t whole = (bytes + HUGE - 1) & ~(size_t)(HUGE - 1);
    void *p = NULL;
    if (whole < bytes || posix_memalign(&p, HUGE, whole) != 0)
        return NULL;
    fs_huge_hint(p, whole);
    return p;
}
