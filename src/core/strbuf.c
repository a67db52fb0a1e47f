/* Growable string buffer. Appends after an allocation failure are dropped and
 * remembered in `oom`, so callers check once at the end instead of per call.
 * A NULL buffer discards what is written to it: functions that take an
 * optional `fs_strbuf *err` pass it on without checking. */
#include "core/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sb_reserve(fs_strbuf *sb, size_t extra)
{
    if (!sb || sb->oom)
        return -1;
    if (sb->len + extra + 1 <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->oom = 1;
        return -1;
    }
    sb->buf = p;
    sb->cap = cap;
    return 0;
}

void fs_sb_append(fs_strbuf *sb, const char *s, size_t n)
{
    if (sb_reserve(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = 0;
}

void fs_sb_puts(fs_strbuf *sb, const char *s) { fs_sb_append(sb, s, strlen(s)); }

void fs_sb_vprintf(fs_strbuf *sb, const char *fmt, va_list ap)
{
    if (!sb)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || sb_reserve(sb, (size_t)n))
        return;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void fs_sb_printf(fs_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fs_sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

const char *fs_sb_str(const fs_strbuf *sb) { return sb && sb->buf ? sb->buf : ""; }

char *fs_sb_take(fs_strbuf *sb)
{
    char *p = sb->buf;
    if (!p && !sb->oom)
        p = calloc(1, 1);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
    return p;
}

void fs_sb_reset(fs_strbuf *sb)
{
    if (!sb)
        return;
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = 0;
}

void fs_sb_free(fs_strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
}
