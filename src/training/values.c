/* Writing stored values and label cells as CSV and JSON text (contract in
 * values.h). */
#include "training/values.h"

#include "core/timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void fs_put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void fs_put_csv(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
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
        /* The shortest text that reads back to the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sz, "%.*g", prec, c->f64[ref.row]);
            if (strtod(buf, NULL) == c->f64[ref.row])
                break;
        }
        return buf;
    case FS_VT_INT64: snprintf(buf, sz, "%" PRId64, c->i64[ref.row]); return buf;
    case FS_VT_BOOL: return c->b[ref.row] ? "true" : "false";
    case FS_VT_TIMESTAMP: fs_format_time(c->i64[ref.row], buf, sz); *quote = 1; return buf;
    case FS_VT_STRING: *quote = 1; return c->s[ref.row];
    }
    return NULL;
}
