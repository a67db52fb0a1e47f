/* Arena allocator: bump allocation from blocks of at least 16 KiB; a request
 * larger than a block gets a block of its own. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fs_arena_block {
    fs_arena_block *next;
    size_t used, cap;
    max_align_t data[]; /* max_align_t so every allocation is aligned for any type */
};

enum { BLOCK_MIN = 16384 };

void *fs_arena_alloc(fs_arena *a, size_t size)
{
    size_t align = _Alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    fs_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > BLOCK_MIN ? size : BLOCK_MIN;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *fs_arena_strndup(fs_arena *a, const char *s, size_t n)
{
    char *p = fs_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

char *fs_arena_strdup(fs_arena *a, const char *s)
{
    return s ? fs_arena_strndup(a, s, strlen(s)) : NULL;
}

char *fs_arena_printf(fs_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = fs_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void fs_arena_free(fs_arena *a)
{
    fs_arena_block *b = a->head;
    while (b) {
        fs_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
