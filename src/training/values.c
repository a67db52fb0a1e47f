/* Writing stored values and label cells as CSV and JSON text (contract in
 * values.h). */
#include "training/values.h"

#include "core/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void fs_put_json_string(fs_strbuf *sb, const char *s)
{
    fs_sb_append(sb, "\"", 1);
    const char *run = s; /* characters that need no escape go in one append */
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch != '"' && ch != '\\' && ch >= 0x20)
            continue;
        fs_sb_append(sb, run, (size_t)(s - run));
        if (ch == '"' || ch == '\\')
            fs_sb_printf(sb, "\\%c", ch);
        else
            fs_sb_printf(sb, "\\u%04x", ch);
        run = s + 1;
    }
    fs_sb_append(sb, run, (size_t)(s - run));
    fs_sb_append(sb, "\"", 1);
}

void fs_put_csv(fs_strbuf *sb, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fs_sb_puts(sb, s);
        return;
    }
    fs_sb_append(sb, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            fs_sb_append(sb, "\"", 1);
        fs_sb_append(sb, s, 1);
    }
    fs_sb_append(sb, "\"", 1);
}

/* Digits of u (< 10^19) into the end of buf[0..32), returns the start. */
static char *digits(uint64_t u, char *end)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

const char *fs_double_text(double v, char *buf, size_t sz)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = fabs(v);
    /* Fast path: the fewest decimals d (at most 9) such that m / 10^d reads
     * back as v, with m below 10^15. Division of two exact doubles rounds
     * once, as strtod does for the text, so the check is exact; and %.15g
     * of v rounds to those same 15 or fewer digits in plain notation for
     * 1e-4 <= |v| < 1e15, so the text is the one printf would write. */
    if (sz >= 32 && a >= 1e-4 && a < 1e15) {
        for (int d = 0; d <= 9; d++) {
            double scaled = a * p10[d];
            if (scaled >= 1e15)
                break;
            uint64_t m = (uint64_t)(scaled + 0.5);
            if ((double)m / p10[d] != a)
                continue;
            char tmp[32], *end = tmp + sizeof tmp, *p = digits(m, end);
            size_t nd = (size_t)(end - p), o = 0;
            if (v < 0)
                buf[o++] = '-';
            if (nd <= (size_t)d) { /* 0.000ddd */
                buf[o++] = '0';
                buf[o++] = '.';
                for (size_t z = nd; z < (size_t)d; z++)
                    buf[o++] = '0';
                memcpy(buf + o, p, nd);
                o += nd;
            } else {
                memcpy(buf + o, p, nd - (size_t)d);
                o += nd - (size_t)d;
                if (d) {
                    buf[o++] = '.';
                    memcpy(buf + o, p + nd - (size_t)d, (size_t)d);
                    o += (size_t)d;
                }
            }
            buf[o] = 0;
            return buf;
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sz, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* A stored value as text; *quote tells whether JSON needs it as a string.
 * Returns NULL for a null. Doubles read back exactly. */
const char *fs_value_text(fs_row_ref ref, int col, char *buf, size_t sz, int *quote)
{
    *quote = 0;
    if (!ref.batch || col < 0 || !ref.batch->cols[col].valid[ref.row])
        return NULL;
    const fs_column *c = &ref.batch->cols[col];
    switch (c->type) {
    case FS_VT_FLOAT64:
        if (!isfinite(c->f64[ref.row]))
            return NULL;
        return fs_double_text(c->f64[ref.row], buf, sz);
    case FS_VT_INT64: {
        int64_t x = c->i64[ref.row];
        char tmp[32], *end = tmp + sizeof tmp;
        char *p = digits(x < 0 ? 0 - (uint64_t)x : (uint64_t)x, end);
        if (x < 0)
            *--p = '-';
        if ((size_t)(end - p) >= sz)
            return NULL;
        memcpy(buf, p, (size_t)(end - p));
        buf[end - p] = 0;
        return buf;
    }
    case FS_VT_BOOL: return c->b[ref.row] ? "true" : "false";
    case FS_VT_TIMESTAMP: fs_format_time(c->i64[ref.row], buf, sz); *quote = 1; return buf;
    case FS_VT_STRING: *quote = 1; return c->s[ref.row];
    }
    return NULL;
}
