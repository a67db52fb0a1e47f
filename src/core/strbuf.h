/* Growable NUL-terminated string buffer, for building messages and output.
 * Writing to a NULL fs_strbuf is allowed and discards the text. */
#ifndef FS_STRBUF_H
#define FS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *buf; /* NUL-terminated once anything was appended; NULL when empty */
    size_t len, cap;
    int oom;   /* set when an allocation failed: later appends are ignored */
} fs_strbuf;

void fs_sb_append(fs_strbuf *sb, const char *s, size_t n);
void fs_sb_puts(fs_strbuf *sb, const char *s);
void fs_sb_printf(fs_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_sb_vprintf(fs_strbuf *sb, const char *fmt, va_list ap);
/* The text so far ("" when empty). Borrowed. */
const char *fs_sb_str(const fs_strbuf *sb);
/* Hands the buffer to the caller (free() it) and resets sb; never NULL unless out of memory. */
char *fs_sb_take(fs_strbuf *sb);
void fs_sb_reset(fs_strbuf *sb);
void fs_sb_free(fs_strbuf *sb);

#endif
