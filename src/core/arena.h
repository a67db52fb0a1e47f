/* Arena allocator: many small allocations freed at once. The registry keeps
 * every string and array of one loaded definition set in one arena, so a
 * registry is released with a single call and no per-field free code. */
#ifndef FS_ARENA_H
#define FS_ARENA_H

#include <stddef.h>

typedef struct fs_arena_block fs_arena_block;
typedef struct {
    fs_arena_block *head;
} fs_arena;

/* An arena is ready when zero-initialized. Allocations return NULL only when
 * malloc fails; memory is zeroed and aligned for any type. */
void *fs_arena_alloc(fs_arena *a, size_t size);
char *fs_arena_strdup(fs_arena *a, const char *s);
char *fs_arena_strndup(fs_arena *a, const char *s, size_t n);
/* printf into the arena. */
char *fs_arena_printf(fs_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_arena_free(fs_arena *a);

#endif
