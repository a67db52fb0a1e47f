/* Ingest parsing (see parse.h and docs/ingest.md).
 *
 * Layout of this file:
 *  1. the report (rejects kept and written);
 *  2. value parsing and the per-row staging area: every format fills one
 *     staged value per source column (from text or from a JSON value), then
 *     one function checks the row (nulls, bounds, candles rules, join keys)
 *     and appends it with its entity key and event_ts;
 *  3. the record reader: cuts a stream fed in arbitrary pieces into records
 *     (lines; for CSV, lines outside quoted fields), keeping an incomplete
 *     tail for the next piece;
 *  4. the three formats: CSV (header + rows), kline, JSON lines. */
#include "ingest/parse.h"

#include "core/timeutil.h"
#include "fstore.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------
 * 1. Report
 * ------------------------------------------------------------------------- */

void fs_ingest_report_init(fs_ingest_report *rep)
{
    memset(rep, 0, sizeof *rep);
}

void fs_ingest_report_free(fs_ingest_report *rep)
{
    if (!rep)
        return;
    free(rep->rejects);
    fs_arena_free(&rep->arena);
    memset(rep, 0, sizeof *rep);
}

static int put_clean(FILE *f, const char *s, size_t n, int escape_breaks)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r') {
            if (escape_breaks) {
                if (fputc('\\', f) == EOF || fputc(c == '\n' ? 'n' : 'r', f) == EOF)
                    return -1;
                continue;
            }
            c = ' ';
        } else if (c == '\t' && !escape_breaks) {
            c = ' ';
        }
        if (fputc(c, f) == EOF)
            return -1;
    }
    return 0;
}

int fs_ingest_reject_write(const fs_ingest_reject *r, FILE *f)
{
    if (fprintf(f, "%" PRIu64 "\t", r->line) < 0)
        return -1;
    if (put_clean(f, r->reason, strlen(r->reason), 0) || fputc('\t', f) == EOF)
        return -1;
    if (put_clean(f, r->text, r->text_len, 1) || fputc('\n', f) == EOF)
        return -1;
    return 0;
}

int fs_ingest_rejects_write(const fs_ingest_report *rep, FILE *f)
{
    for (size_t i = 0; i < rep->n_rejects; i++)
        if (fs_ingest_reject_write(&rep->rejects[i], f))
            return -1;
    return fflush(f) == EOF ? -1 : 0;
}

static int report_keep(fs_ingest_report *rep, const fs_ingest_reject *r)
{
    size_t max = rep->max_reasons ? rep->max_reasons : FS_INGEST_MAX_REASONS;
    if (rep->n_rejects >= max)
        return FS_OK;
    if (rep->n_rejects == rep->cap_rejects) {
        size_t cap = rep->cap_rejects ? rep->cap_rejects * 2 : 16;
        fs_ingest_reject *nr = realloc(rep->rejects, cap * sizeof *nr);
        if (!nr)
            return FS_E_NOMEM;
        rep->rejects = nr;
        rep->cap_rejects = cap;
    }
    fs_ingest_reject *k = &rep->rejects[rep->n_rejects];
    k->line = r->line;
    k->column = r->column ? fs_arena_strdup(&rep->arena, r->column) : NULL;
    k->reason = fs_arena_strdup(&rep->arena, r->reason);
    k->text = fs_arena_strndup(&rep->arena, r->text, r->text_len);
    k->text_len = r->text_len;
    if ((r->column && !k->column) || !k->reason || !k->text)
        return FS_E_NOMEM;
    rep->n_rejects++;
    return FS_OK;
}

const char *fs_ingest_format_name(fs_ingest_format fmt)
{
    switch (fmt) {
    case FS_FMT_CSV: return "csv";
    case FS_FMT_JSONL: return "jsonl";
    case FS_FMT_KLINE: return "kline";
    }
    return NULL;
}

int fs_ingest_format_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcasecmp(name, "csv") == 0)
        return FS_FMT_CSV;
    if (strcasecmp(name, "jsonl") == 0 || strcasecmp(name, "ndjson") == 0)
        return FS_FMT_JSONL;
    if (strcasecmp(name, "kline") == 0 || strcasecmp(name, "klines") == 0)
        return FS_FMT_KLINE;
    return -1;
}

static fs_vtype vtype_of(fs_col_type t)
{
    switch (t) {
    case FS_COL_INT64: return FS_VT_INT64;
    case FS_COL_FLOAT64: return FS_VT_FLOAT64;
    case FS_COL_BOOL: return FS_VT_BOOL;
    case FS_COL_TIMESTAMP: return FS_VT_TIMESTAMP;
    case FS_COL_STRING:
    case FS_COL_JSON:
    default: return FS_VT_STRING;
    }
}

int fs_ingest_batch_init(fs_batch *b, const fs_source_def *src)
{
    fs_colspec *cs = calloc(src->n_columns ? src->n_columns : 1, sizeof *cs);
    if (!cs)
        return FS_E_NOMEM;
    for (size_t i = 0; i < src->n_columns; i++) {
        cs[i].name = src->columns[i].name;
        cs[i].type = vtype_of(src->columns[i].type);
    }
    int rc = fs_batch_init(b, cs, src->n_columns);
    free(cs);
    return rc;
}

int fs_ingest_symbol_ok(const char *s, size_t len)
{
    if (len < 2 || len > 20)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------------------
 * 2. Parser state, value parsing, staging and row checks
 * ------------------------------------------------------------------------- */

typedef struct {
    int valid;
    int64_t i;    /* INT64, TIMESTAMP, BOOL */
    double f;     /* FLOAT64 */
    const char *s; /* STRING/JSON: points into the record, scratch or `owned` */
    size_t slen;
    char *owned;  /* malloc'd text (JSON values re-encoded), freed after the row */
} staged;

typedef struct {
    const char *s;
    size_t len;
    int quoted;
} field;

struct fs_ingest_parser {
    const fs_registry *reg;
    const fs_source_def *src;
    fs_ingest_format fmt;
    fs_ingest_options opt;
    fs_batch *out;
    fs_ingest_report *rep;
    fs_strbuf *err;
    const char *name;
    size_t base_rows; /* out->n at begin: a file-level failure pops back to it */
    uint64_t base_ok;

    int is_candles;
    int ts_col, avail_col; /* avail_col: -1 when available_after is a literal */
    int64_t avail_ns;
    int key_cols[16];
    size_t n_keys;
    uint8_t *is_key; /* per column: 1 for a join key */
    /* The last good row's symbol and duration text: files repeat them row
     * after row, so their checks run once per change, not once per row. */
    char last_sym[24];
    size_t last_sym_len;
    char last_dur[32];
    size_t last_dur_len;
    int64_t last_dur_ns;
    int sym_col, tf_col, o_col, h_col, l_col, c_col, v_col, vwap_col, tbv_col;

    /* CSV header: field index -> column index (-1 skipped) */
    int header_done;
    int *fmap;
    size_t n_fmap;

    staged *st;
    field *fields;
    size_t n_fields, cap_fields;
    char *scratch;
    size_t cap_scratch;
    fs_strbuf why;    /* reason of the row being rejected */
    const char *why_col;
    fs_strbuf key;    /* entity key being built */

    char *carry;      /* incomplete tail of the previous piece */
    size_t carry_len, carry_cap;
    uint64_t line;    /* line number where the next record starts */
    uint64_t bytes;   /* bytes fed so far */
    int first_record; /* no non-blank record seen yet */
    int status;       /* sticky failure */
    int stopped;
};

static const char *pname(const fs_ingest_parser *p)
{
    return p->name;
}

/* A file-level failure: message, rows of this parse removed. */
static int fail_file(fs_ingest_parser *p, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_file(fs_ingest_parser *p, uint64_t line, const char *fmt, ...)
{
    if (p->err) {
        if (line)
            fs_sb_printf(p->err, "%s:%" PRIu64 ": ", pname(p), line);
        else
            fs_sb_printf(p->err, "%s: ", pname(p));
        va_list ap;
        va_start(ap, fmt);
        fs_sb_vprintf(p->err, fmt, ap);
        va_end(ap);
    }
    while (p->out->n > p->base_rows)
        fs_batch_pop_row(p->out);
    p->rep->rows_ok = p->base_ok;
    p->status = FS_E_PARSE;
    return FS_E_PARSE;
}

static int why(fs_ingest_parser *p, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why(fs_ingest_parser *p, int col, const char *fmt, ...)
{
    fs_sb_reset(&p->why);
    p->why_col = col >= 0 ? p->src->columns[col].name : NULL;
    if (p->why_col)
        fs_sb_printf(&p->why, "%s: ", p->why_col);
    va_list ap;
    va_start(ap, fmt);
    fs_sb_vprintf(&p->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends `s` quoted and shortened for a message. */
static void quote_into(fs_strbuf *sb, const char *s, size_t n)
{
    size_t show = n > 40 ? 40 : n;
    fs_sb_append(sb, "\"", 1);
    for (size_t i = 0; i < show; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            fs_sb_printf(sb, "\\x%02x", c);
        else
            fs_sb_append(sb, (const char *)&s[i], 1);
    }
    fs_sb_append(sb, n > show ? "\"..." : "\"", n > show ? 4 : 1);
}

static int whyq(fs_ingest_parser *p, int col, const char *what, const char *s, size_t n)
{
    why(p, col, "%s: ", what);
    quote_into(&p->why, s, n);
    return -1;
}

static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        if ((c & 0xe0) == 0xc0) {
            k = 1;
            c &= 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            c &= 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            c &= 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((u[i + j] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (u[i + j] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

static int parse_bool_text(const char *s, size_t n, int *v)
{
    trim(&s, &n);
    static const char *const t[] = {"true", "t", "1", "yes", "y"};
    static const char *const f[] = {"false", "f", "0", "no", "n"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (strlen(t[i]) == n && strncasecmp(s, t[i], n) == 0) {
            *v = 1;
            return 0;
        }
        if (strlen(f[i]) == n && strncasecmp(s, f[i], n) == 0) {
            *v = 0;
            return 0;
        }
    }
    return -1;
}

/* Fast paths for the common shapes of numbers in market data files. Each
 * returns 1 with the value when it handles the text and 0 when the general
 * parser (timeutil.c) must decide, which then gives the same value or the
 * same error as always: the fast paths only take text whose meaning is
 * unambiguous and compute exactly what the general parser computes. */

static const double exact_p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* [-+]digits[.digits] with at most 19 digits whose integer m < 2^53 and at
 * most 22 after the point: m / 10^k is then one correctly rounded IEEE
 * division of two exact doubles, which is the correctly rounded value of
 * the decimal, the same double strtod returns (Clinger's fast path). */
static int fast_double(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    uint64_t m = 0;
    size_t digits = 0, frac = 0;
    while (i < n && (unsigned)(s[i] - '0') < 10) {
        m = m * 10 + (uint64_t)(s[i++] - '0');
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && (unsigned)(s[i] - '0') < 10) {
            m = m * 10 + (uint64_t)(s[i++] - '0');
            digits++;
            frac++;
        }
    }
    if (i != n || digits == 0 || digits > 19 || frac > 22 || m > (UINT64_C(1) << 53))
        return 0;
    double v = (double)m / exact_p10[frac];
    *out = neg ? -v : v;
    return 1;
}

/* [-+]digits, at most 18 of them (no overflow). */
static int fast_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == n || n - i > 18)
        return 0;
    int64_t v = 0;
    for (; i < n; i++) {
        if ((unsigned)(s[i] - '0') >= 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

/* An epoch number of 1 to 18 digits, unit by magnitude as fs_parse_time()
 * reads it (< 1e11 seconds, < 1e14 ms, < 1e17 us, else ns), when the result
 * is in range. */
static int fast_epoch(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)(s[i] - '0') >= 10)
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    uint64_t mult = v < UINT64_C(100000000000)         ? 1000000000u
                    : v < UINT64_C(100000000000000)    ? 1000000u
                    : v < UINT64_C(100000000000000000) ? 1000u
                                                       : 1u;
    if (v > (uint64_t)INT64_MAX / mult)
        return 0;
    *out = (int64_t)(v * mult);
    return 1;
}

/* Stages column `c` from text; `quoted` tells "" (an empty string) from an
 * empty field (null). Returns 0 or -1 with the reason set. */
static int stage_text(fs_ingest_parser *p, int c, const char *s, size_t n, int quoted)
{
    const fs_column_def *cd = &p->src->columns[c];
    staged *v = &p->st[c];
    v->valid = 0;
    if (cd->type == FS_COL_STRING && quoted) {
        /* a quoted field is a string as written, even empty */
    } else {
        const char *t = s;
        size_t tn = n;
        trim(&t, &tn);
        if (tn == 0)
            return 0; /* null */
    }
    switch (cd->type) {
    case FS_COL_INT64:
        if (!fast_int64(s, n, &v->i) && fs_parse_int64(s, n, &v->i) != FS_OK)
            return whyq(p, c, "not an integer", s, n);
        break;
    case FS_COL_FLOAT64:
        if (fast_double(s, n, &v->f))
            break; /* finite */
        if (fs_parse_double(s, n, &v->f) != FS_OK)
            return whyq(p, c, "not a number", s, n);
        if (!isfinite(v->f))
            return whyq(p, c, "not a finite number (leave the field empty for null)", s, n);
        break;
    case FS_COL_BOOL: {
        int b;
        if (parse_bool_text(s, n, &b))
            return whyq(p, c, "not a boolean (true/false, 1/0, yes/no)", s, n);
        v->i = b;
        break;
    }
    case FS_COL_TIMESTAMP: {
        char msg[160];
        if (!fast_epoch(s, n, &v->i) && fs_parse_time(s, n, &v->i, msg, sizeof msg) != FS_OK)
            return why(p, c, "%s", msg);
        break;
    }
    case FS_COL_JSON: {
        json_error_t je;
        json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &je);
        if (!j)
            return why(p, c, "invalid JSON: %s (at character %d)", je.text, je.position);
        json_decref(j);
    }
        /* fall through */
    case FS_COL_STRING:
    default:
        if (!utf8_ok(s, n))
            return why(p, c, "not valid UTF-8");
        v->s = s;
        v->slen = n;
        break;
    }
    v->valid = 1;
    return 0;
}

static int stage_json(fs_ingest_parser *p, int c, json_t *j)
{
    const fs_column_def *cd = &p->src->columns[c];
    staged *v = &p->st[c];
    v->valid = 0;
    if (!j || json_is_null(j))
        return 0;
    if (json_is_string(j)) {
        /* Text: parsed as in CSV (prices often come as strings). */
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (memchr(s, 0, n))
            return why(p, c, "string contains a NUL character");
        return stage_text(p, c, s, n, 1);
    }
    switch (cd->type) {
    case FS_COL_INT64:
        if (!json_is_integer(j))
            return why(p, c, "expected an integer");
        v->i = (int64_t)json_integer_value(j);
        break;
    case FS_COL_FLOAT64:
        if (json_is_integer(j))
            v->f = (double)json_integer_value(j);
        else if (json_is_real(j))
            v->f = json_real_value(j);
        else
            return why(p, c, "expected a number");
        break;
    case FS_COL_BOOL:
        if (json_is_boolean(j))
            v->i = json_is_true(j);
        else if (json_is_integer(j) && (json_integer_value(j) == 0 || json_integer_value(j) == 1))
            v->i = json_integer_value(j);
        else
            return why(p, c, "expected a boolean");
        break;
    case FS_COL_TIMESTAMP: {
        char buf[64], msg[160];
        if (json_is_integer(j))
            snprintf(buf, sizeof buf, "%" PRId64, (int64_t)json_integer_value(j));
        else if (json_is_real(j) && isfinite(json_real_value(j)))
            snprintf(buf, sizeof buf, "%.6f", json_real_value(j)); /* seconds */
        else
            return why(p, c, "expected a time (ISO 8601 text or an epoch number)");
        if (fs_parse_time(buf, strlen(buf), &v->i, msg, sizeof msg) != FS_OK)
            return why(p, c, "%s", msg);
        break;
    }
    case FS_COL_JSON:
        v->owned = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!v->owned)
            return why(p, c, "cannot encode JSON value");
        v->s = v->owned;
        v->slen = strlen(v->owned);
        break;
    case FS_COL_STRING:
    default:
        return why(p, c, "expected a string");
    }
    v->valid = 1;
    return 0;
}

static void stage_clear(fs_ingest_parser *p)
{
    for (size_t c = 0; c < p->src->n_columns; c++) {
        free(p->st[c].owned);
        memset(&p->st[c], 0, sizeof p->st[c]);
    }
}


static void fmt_num(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.15g", v);
}

/* Checks the staged row; 0 when good (entity key in p->key, *event_ts set). */
static int check_row(fs_ingest_parser *p, int64_t *event_ts)
{
    const fs_source_def *src = p->src;
    for (size_t ci = 0; ci < src->n_columns; ci++) {
        int c = (int)ci;
        const fs_column_def *cd = &src->columns[ci];
        staged *v = &p->st[ci];
        if (p->is_key[ci]) {
            if (!v->valid || (vtype_of(cd->type) == FS_VT_STRING && v->slen == 0))
                return why(p, c, "empty join key (the entity key needs it)");
            if (vtype_of(cd->type) == FS_VT_STRING && memchr(v->s, ':', v->slen))
                return whyq(p, c, "join key contains ':'", v->s, v->slen);
        }
        if (!v->valid) {
            if (!cd->nullable)
                return why(p, c, "missing value (the column is not nullable)");
            continue;
        }
        if (cd->type == FS_COL_INT64 || cd->type == FS_COL_FLOAT64) {
            double x = cd->type == FS_COL_INT64 ? (double)v->i : v->f;
            char a[40], b[40];
            if (cd->min.set && x < cd->min.v) {
                fmt_num(a, sizeof a, x);
                fmt_num(b, sizeof b, cd->min.v);
                return why(p, c, "%s is below the minimum %s", a, b);
            }
            if (cd->max.set && x > cd->max.v) {
                fmt_num(a, sizeof a, x);
                fmt_num(b, sizeof b, cd->max.v);
                return why(p, c, "%s is above the maximum %s", a, b);
            }
        }
        if (p->is_candles && c == p->sym_col &&
            !(v->slen == p->last_sym_len && memcmp(v->s, p->last_sym, v->slen) == 0)) {
            if (!fs_ingest_symbol_ok(v->s, v->slen))
                return whyq(p, c, "not a symbol (2 to 20 characters A-Z 0-9)", v->s, v->slen);
            memcpy(p->last_sym, v->s, v->slen); /* at most 20 bytes: checked */
            p->last_sym_len = v->slen;
        }
    }

    /* available_after */
    int64_t after = p->avail_ns;
    if (p->avail_col >= 0) {
        staged *v = &p->st[p->avail_col];
        char msg[160];
        if (!v->valid)
            return why(p, p->avail_col, "missing duration");
        if (v->slen && v->slen == p->last_dur_len && memcmp(v->s, p->last_dur, v->slen) == 0) {
            after = p->last_dur_ns;
        } else {
            if (fs_parse_duration(v->s, v->slen, &after, msg, sizeof msg) != FS_OK)
                return why(p, p->avail_col, "not a duration: %s", msg);
            if (p->is_candles && after <= 0)
                return whyq(p, p->avail_col, "a candle's timeframe must be positive", v->s, v->slen);
            if (v->slen <= sizeof p->last_dur) {
                memcpy(p->last_dur, v->s, v->slen);
                p->last_dur_len = v->slen;
                p->last_dur_ns = after;
            }
        }
    }

    if (p->is_candles) {
        staged *o = &p->st[p->o_col], *h = &p->st[p->h_col], *l = &p->st[p->l_col],
               *cl = &p->st[p->c_col];
        char a[40], b[40], d[40];
        if (h->valid && l->valid && h->f < l->f) {
            fmt_num(a, sizeof a, h->f);
            fmt_num(b, sizeof b, l->f);
            return why(p, p->h_col, "high %s is below low %s", a, b);
        }
        if (h->valid && l->valid) {
            /* numbers are formatted only for a message: on the good path
             * snprintf of doubles cost about a tenth of ingest time */
            int bad_open = o->valid && (o->f < l->f || o->f > h->f);
            int bad_close = !bad_open && cl->valid && (cl->f < l->f || cl->f > h->f);
            if (bad_open || bad_close) {
                fmt_num(a, sizeof a, bad_open ? o->f : cl->f);
                fmt_num(b, sizeof b, l->f);
                fmt_num(d, sizeof d, h->f);
                return why(p, bad_open ? p->o_col : p->c_col,
                           "%s %s is outside [low, high] = [%s, %s]", bad_open ? "open" : "close", a,
                           b, d);
            }
        }
    }

    staged *ts = &p->st[p->ts_col];
    if (!ts->valid)
        return why(p, p->ts_col, "missing timestamp");
    if ((after > 0 && ts->i > INT64_MAX - after))
        return why(p, p->ts_col, "timestamp + available_after is past year 2262");
    *event_ts = ts->i + after;

    fs_sb_reset(&p->key);
    for (size_t k = 0; k < p->n_keys; k++) {
        int c = p->key_cols[k];
        staged *v = &p->st[c];
        if (k)
            fs_sb_append(&p->key, ":", 1);
        switch (src->columns[c].type) {
        case FS_COL_INT64:
        case FS_COL_TIMESTAMP: fs_sb_printf(&p->key, "%" PRId64, v->i); break;
        case FS_COL_BOOL: fs_sb_puts(&p->key, v->i ? "true" : "false"); break;
        case FS_COL_FLOAT64: fs_sb_printf(&p->key, "%.17g", v->f); break;
        default: fs_sb_append(&p->key, v->s, v->slen); break;
        }
    }
    return p->key.oom ? why(p, -1, "out of memory") : 0;
}

/* Rejects the current record with the reason in p->why. */
static int reject(fs_ingest_parser *p, uint64_t line, const char *text, size_t len)
{
    fs_ingest_reject r = {line, p->why_col, fs_sb_str(&p->why), text, len};
    p->rep->rows_rejected++;
    if (p->opt.on_reject) {
        int rc = p->opt.on_reject(p->opt.reject_ctx, &r);
        if (rc) {
            p->status = rc;
            return rc;
        }
    }
    int rc = report_keep(p->rep, &r);
    if (rc)
        p->status = rc;
    return rc;
}

/* Fills the option overrides, checks the staged row and appends it. */
static int finish_row(fs_ingest_parser *p, uint64_t line, const char *text, size_t len)
{
    int64_t ev;
    if (check_row(p, &ev)) {
        stage_clear(p);
        return reject(p, line, text, len);
    }
    fs_batch *b = p->out;
    long r = fs_batch_add_row(b, fs_sb_str(&p->key), p->key.len, ev);
    if (r < 0) {
        stage_clear(p);
        return p->status = FS_E_NOMEM;
    }
    for (size_t c = 0; c < p->src->n_columns; c++) {
        staged *v = &p->st[c];
        if (!v->valid)
            continue;
        switch (b->cols[c].type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: fs_batch_set_i64(b, c, (size_t)r, v->i); break;
        case FS_VT_FLOAT64: fs_batch_set_f64(b, c, (size_t)r, v->f); break;
        case FS_VT_BOOL: fs_batch_set_bool(b, c, (size_t)r, (int)v->i); break;
        case FS_VT_STRING:
            if (fs_batch_set_str(b, c, (size_t)r, v->s, v->slen)) {
                fs_batch_pop_row(b);
                stage_clear(p);
                return p->status = FS_E_NOMEM;
            }
            break;
        }
    }
    stage_clear(p);
    p->rep->rows_ok++;
    if (p->opt.max_rows && p->rep->rows_ok - p->base_ok >= p->opt.max_rows) {
        p->stopped = 1;
        p->rep->stopped = 1;
    }
    return FS_OK;
}

/* Stages the symbol / tf options over whatever the file said. */
static void stage_overrides(fs_ingest_parser *p)
{
    if (p->opt.symbol && p->sym_col >= 0) {
        free(p->st[p->sym_col].owned);
        p->st[p->sym_col] = (staged){1, 0, 0, p->opt.symbol, strlen(p->opt.symbol), NULL};
    }
    if (p->opt.tf && p->tf_col >= 0) {
        free(p->st[p->tf_col].owned);
        p->st[p->tf_col] = (staged){1, 0, 0, p->opt.tf, strlen(p->opt.tf), NULL};
    }
}

/* ---------------------------------------------------------------------------
 * CSV fields
 * ------------------------------------------------------------------------- */

/* Splits a record (no terminator) into p->fields; quoted fields are unescaped
 * into p->scratch. 0, or -1 with the reason set. */
static int csv_split(fs_ingest_parser *p, const char *s, size_t n)
{
    if (n + 1 > p->cap_scratch) {
        size_t cap = p->cap_scratch ? p->cap_scratch : 256;
        while (cap < n + 1)
            cap *= 2;
        char *ns = realloc(p->scratch, cap);
        if (!ns) {
            p->status = FS_E_NOMEM;
            return why(p, -1, "out of memory");
        }
        p->scratch = ns;
        p->cap_scratch = cap;
    }
    char *out = p->scratch;
    size_t i = 0;
    p->n_fields = 0;
    for (;;) {
        field f = {0};
        if (i < n && s[i] == '"') {
            size_t col = i + 1;
            i++;
            f.s = out;
            f.quoted = 1;
            for (;;) {
                if (i >= n)
                    return why(p, -1, "unterminated quoted field (opened at character %zu)", col);
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        *out++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                *out++ = s[i++];
            }
            f.len = (size_t)(out - f.s);
            if (i < n && s[i] != ',')
                return why(p, -1, "unexpected character after a closing quote at character %zu",
                           i + 1);
        } else {
            size_t start = i;
            while (i < n && s[i] != ',') {
                if (s[i] == '"')
                    return why(p, -1,
                               "quote inside an unquoted field at character %zu (quote the "
                               "whole field and double the quote)",
                               i + 1);
                i++;
            }
            f.s = s + start;
            f.len = i - start;
        }
        if (p->n_fields == p->cap_fields) {
            size_t cap = p->cap_fields ? p->cap_fields * 2 : 32;
            field *nf = realloc(p->fields, cap * sizeof *nf);
            if (!nf) {
                p->status = FS_E_NOMEM;
                return why(p, -1, "out of memory");
            }
            p->fields = nf;
            p->cap_fields = cap;
        }
        p->fields[p->n_fields++] = f;
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * CSV header
 * ------------------------------------------------------------------------- */

/* Long names candles files use. */
static const struct {
    const char *alias, *col;
} candle_aliases[] = {
    {"open", "o"},          {"high", "h"},
    {"low", "l"},           {"close", "c"},
    {"volume", "v"},        {"taker_buy_volume", "taker_buy_vol"},
    {"taker_buy_base_volume", "taker_buy_vol"},
    {"open_time", "ts"},    {"timestamp", "ts"},
    {"time", "ts"},         {"timeframe", "tf"},
    {"interval", "tf"},
};

static int find_col(const fs_ingest_parser *p, const char *s, size_t n)
{
    const fs_source_def *src = p->src;
    for (size_t c = 0; c < src->n_columns; c++)
        if (strlen(src->columns[c].name) == n && memcmp(src->columns[c].name, s, n) == 0)
            return (int)c;
    for (size_t c = 0; c < src->n_columns; c++)
        if (strlen(src->columns[c].name) == n && strncasecmp(src->columns[c].name, s, n) == 0)
            return (int)c;
    if (p->is_candles)
        for (size_t a = 0; a < sizeof candle_aliases / sizeof *candle_aliases; a++)
            if (strlen(candle_aliases[a].alias) == n &&
                strncasecmp(candle_aliases[a].alias, s, n) == 0)
                return fs_batch_col(p->out, candle_aliases[a].col);
    return -1;
}

/* 1 if the text has bytes no text file has (controls other than tab, bad UTF-8). */
static int not_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            return 1;
    }
    return !utf8_ok(s, n);
}

static int csv_header(fs_ingest_parser *p, uint64_t line, const char *s, size_t n)
{
    const fs_source_def *src = p->src;
    if (not_text(s, n))
        return fail_file(p, line,
                         "not a CSV file: the first line is not text (control bytes or "
                         "invalid UTF-8)");
    if (csv_split(p, s, n)) {
        if (p->status)
            return p->status;
        return fail_file(p, line, "not a CSV header line: %s", fs_sb_str(&p->why));
    }
    free(p->fmap);
    p->n_fmap = p->n_fields;
    p->fmap = malloc((p->n_fields ? p->n_fields : 1) * sizeof *p->fmap);
    int *seen = calloc(src->n_columns ? src->n_columns : 1, sizeof *seen);
    if (!p->fmap || !seen) {
        free(seen);
        return p->status = FS_E_NOMEM;
    }
    size_t matched = 0;
    fs_strbuf unknown = {0};
    int rc = FS_OK;
    for (size_t k = 0; k < p->n_fields; k++) {
        const char *f = p->fields[k].s;
        size_t fl = p->fields[k].len;
        trim(&f, &fl);
        int c = find_col(p, f, fl);
        p->fmap[k] = c;
        if (c < 0) {
            if (unknown.len)
                fs_sb_puts(&unknown, ", ");
            quote_into(&unknown, f, fl);
            continue;
        }
        if (seen[c]) {
            rc = fail_file(p, line, "column %s appears twice in the header (field %zu)",
                           src->columns[c].name, k + 1);
            goto out;
        }
        seen[c] = 1;
        matched++;
    }
    if (matched == 0) {
        const char *hint = "";
        int64_t x;
        if (p->is_candles && p->n_fields && fs_parse_int64(p->fields[0].s, p->fields[0].len, &x) == FS_OK)
            hint = " (a headerless exchange kline file? use the kline format)";
        rc = fail_file(p, line,
                       "not a CSV file for source %s: the first line is not a header naming "
                       "its columns%s",
                       src->name, hint);
        goto out;
    }
    if (unknown.len && !p->opt.ignore_unknown) {
        rc = fail_file(p, line, "header names no column of source %s: %s", src->name,
                       fs_sb_str(&unknown));
        goto out;
    }
    for (size_t c = 0; c < src->n_columns; c++) {
        if (seen[c] || src->columns[c].nullable)
            continue;
        if (((int)c == p->sym_col && p->opt.symbol) || ((int)c == p->tf_col && p->opt.tf))
            continue;
        rc = fail_file(p, line, "the header has no column %s, which source %s requires%s",
                       src->columns[c].name, src->name,
                       (int)c == p->sym_col || (int)c == p->tf_col
                           ? " (or give it as an option for the whole file)"
                           : "");
        goto out;
    }
    p->header_done = 1;
out:
    fs_sb_free(&unknown);
    free(seen);
    return rc;
}

static int csv_record(fs_ingest_parser *p, uint64_t line, const char *s, size_t n)
{
    if (!p->header_done)
        return csv_header(p, line, s, n);
    if (csv_split(p, s, n))
        return p->status ? p->status : reject(p, line, s, n);
    if (p->n_fields != p->n_fmap) {
        why(p, -1, "expected %zu fields, got %zu", p->n_fmap, p->n_fields);
        return reject(p, line, s, n);
    }
    for (size_t k = 0; k < p->n_fields; k++) {
        int c = p->fmap[k];
        if (c < 0)
            continue;
        if (stage_text(p, c, p->fields[k].s, p->fields[k].len, p->fields[k].quoted)) {
            stage_clear(p);
            return reject(p, line, s, n);
        }
    }
    stage_overrides(p);
    return finish_row(p, line, s, n);
}

/* ---------------------------------------------------------------------------
 * Kline: open time, open, high, low, close, volume, close time, quote
 * volume, trades, taker buy base, taker buy quote, ignore.
 * ------------------------------------------------------------------------- */

#define KLINE_FIELDS 12

static int kline_record(fs_ingest_parser *p, uint64_t line, const char *s, size_t n)
{
    if (!p->header_done) {
        /* Newer exchange dumps start with a header line: skip it. */
        if (not_text(s, n))
            return fail_file(p, line, "not a kline file: the first line is not text");
        p->header_done = 1;
        if (csv_split(p, s, n) == 0 && p->n_fields == KLINE_FIELDS) {
            const char *f = p->fields[0].s;
            size_t fl = p->fields[0].len;
            trim(&f, &fl);
            if (fl >= 4 && strncasecmp(f, "open", 4) == 0)
                return FS_OK;
        }
        int64_t x;
        if (p->status)
            return p->status;
        if (p->n_fields == 0 ||
            fs_parse_int64(p->fields[0].s, p->fields[0].len, &x) != FS_OK)
            return fail_file(p, line,
                             "not a kline file: the first line neither starts with an open "
                             "time nor is a kline header");
    }
    if (csv_split(p, s, n))
        return p->status ? p->status : reject(p, line, s, n);
    if (p->n_fields != KLINE_FIELDS) {
        why(p, -1, "expected %d fields (exchange kline), got %zu", KLINE_FIELDS, p->n_fields);
        return reject(p, line, s, n);
    }
    const field *f = p->fields;
    static const struct {
        int k;
        size_t off;
    } map[] = {
        {0, offsetof(fs_ingest_parser, ts_col)}, {1, offsetof(fs_ingest_parser, o_col)},
        {2, offsetof(fs_ingest_parser, h_col)},  {3, offsetof(fs_ingest_parser, l_col)},
        {4, offsetof(fs_ingest_parser, c_col)},  {5, offsetof(fs_ingest_parser, v_col)},
        {9, offsetof(fs_ingest_parser, tbv_col)},
    };
    for (size_t m = 0; m < sizeof map / sizeof *map; m++) {
        int c = *(const int *)((const char *)p + map[m].off);
        if (c < 0)
            continue;
        if (stage_text(p, c, f[map[m].k].s, f[map[m].k].len, 0)) {
            stage_clear(p);
            return reject(p, line, s, n);
        }
    }
    /* vwap = quote volume / volume */
    if (p->vwap_col >= 0 && p->st[p->v_col].valid && p->st[p->v_col].f > 0) {
        double qv;
        if (fs_parse_double(f[7].s, f[7].len, &qv) != FS_OK || !isfinite(qv)) {
            why(p, -1, "quote volume (field 8): not a number");
            stage_clear(p);
            return reject(p, line, s, n);
        }
        p->st[p->vwap_col].valid = 1;
        p->st[p->vwap_col].f = qv / p->st[p->v_col].f;
    }
    stage_overrides(p);
    /* The close time must match tf: open + tf - 1 unit (ms or us). */
    int64_t close_ns, tf_ns;
    staged *ts = &p->st[p->ts_col];
    if (ts->valid && fs_parse_time(f[6].s, f[6].len, &close_ns, NULL, 0) == FS_OK &&
        fs_parse_duration(p->opt.tf, strlen(p->opt.tf), &tf_ns, NULL, 0) == FS_OK) {
        int64_t span = close_ns - ts->i;
        if (close_ns < ts->i || span > tf_ns || span < tf_ns - FS_NS_PER_MS) {
            why(p, p->tf_col,
                "close time (field 7) does not match tf %s: the candle spans %" PRId64 " ms",
                p->opt.tf, (close_ns - ts->i) / FS_NS_PER_MS);
            stage_clear(p);
            return reject(p, line, s, n);
        }
    } else if (ts->valid) {
        why(p, -1, "close time (field 7): not a time");
        stage_clear(p);
        return reject(p, line, s, n);
    }
    return finish_row(p, line, s, n);
}

/* ---------------------------------------------------------------------------
 * JSON lines
 * ------------------------------------------------------------------------- */

static int jsonl_record(fs_ingest_parser *p, uint64_t line, const char *s, size_t n)
{
    const char *t = s;
    size_t tn = n;
    trim(&t, &tn);
    if (!p->header_done) {
        p->header_done = 1;
        if (not_text(s, n) || tn == 0 || t[0] != '{')
            return fail_file(p, line, "not a JSON lines file: the first line is not a JSON object");
    }
    json_error_t je;
    json_t *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        why(p, -1, "invalid JSON at character %d: %s", je.position, je.text);
        return reject(p, line, s, n);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        why(p, -1, "not a JSON object");
        return reject(p, line, s, n);
    }
    const char *key;
    json_t *val;
    int bad = 0;
    json_object_foreach(root, key, val)
    {
        int c = find_col(p, key, strlen(key));
        if (c < 0) {
            if (p->opt.ignore_unknown)
                continue;
            why(p, -1, "key names no column of source %s: ", p->src->name);
            quote_into(&p->why, key, strlen(key));
            bad = 1;
            break;
        }
        if (p->st[c].valid || p->st[c].owned) {
            why(p, c, "given twice (under two names)");
            bad = 1;
            break;
        }
        if (stage_json(p, c, val)) {
            bad = 1;
            break;
        }
        /* Strings point into root: copy them before it goes. */
        if (p->st[c].valid && p->st[c].s && !p->st[c].owned) {
            p->st[c].owned = strndup(p->st[c].s, p->st[c].slen);
            if (!p->st[c].owned) {
                json_decref(root);
                stage_clear(p);
                return p->status = FS_E_NOMEM;
            }
            p->st[c].s = p->st[c].owned;
        }
    }
    json_decref(root);
    if (bad) {
        stage_clear(p);
        return reject(p, line, s, n);
    }
    stage_overrides(p);
    return finish_row(p, line, s, n);
}

/* ---------------------------------------------------------------------------
 * 3. Record reader
 * ------------------------------------------------------------------------- */

/* Handles one record: a line without its terminator (CR LF or LF). */
static int on_record(fs_ingest_parser *p, uint64_t line, const char *s, size_t n)
{
    if (p->first_record && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* UTF-8 byte order mark */
        n -= 3;
    }
    if (n && s[n - 1] == '\r')
        n--;
    size_t i = 0;
    while (i < n && is_space(s[i]))
        i++;
    if (i == n)
        return FS_OK; /* blank line */
    p->first_record = 0;
    switch (p->fmt) {
    case FS_FMT_CSV: return csv_record(p, line, s, n);
    case FS_FMT_KLINE: return kline_record(p, line, s, n);
    case FS_FMT_JSONL: return jsonl_record(p, line, s, n);
    }
    return FS_E_INVAL;
}

/* Finds the end of the record starting at s: the offset of its '\n', or n
 * when there is none. *nl counts the newlines inside. For CSV a newline ends
 * the record unless it is inside a quoted field, one that opens with a quote
 * right at the field's start, as csv_split reads it: a stray quote inside an
 * unquoted field does not swallow the following lines. */
enum { Q_START, Q_PLAIN, Q_QUOTED, Q_QUOTE_SEEN };

static size_t record_end(const fs_ingest_parser *p, const char *s, size_t n, uint64_t *nl)
{
    *nl = 0;
    if (p->fmt == FS_FMT_JSONL) {
        const char *e = memchr(s, '\n', n);
        return e ? (size_t)(e - s) : n;
    }
    size_t i = 0;
    int st = Q_START;
    for (;;) {
        const char *e = memchr(s + i, '\n', n - i);
        size_t end = e ? (size_t)(e - s) : n;
        if (st != Q_QUOTED && !memchr(s + i, '"', end - i))
            return end; /* the common case: no quote on this line */
        for (size_t k = i; k < end; k++) {
            char c = s[k];
            switch (st) {
            case Q_START: st = c == '"' ? Q_QUOTED : c == ',' ? Q_START : Q_PLAIN; break;
            case Q_PLAIN: st = c == ',' ? Q_START : Q_PLAIN; break;
            case Q_QUOTED: st = c == '"' ? Q_QUOTE_SEEN : Q_QUOTED; break;
            case Q_QUOTE_SEEN: st = c == '"' ? Q_QUOTED : c == ',' ? Q_START : Q_PLAIN; break;
            }
        }
        if (st != Q_QUOTED || end == n)
            return end;
        (*nl)++;
        i = end + 1;
    }
}

/* Processes complete records of s[0..n); with `final`, the tail too.
 * Returns the bytes consumed in *used. */
static int process(fs_ingest_parser *p, const char *s, size_t n, int final, size_t *used)
{
    size_t off = 0;
    while (off < n && !p->stopped) {
        uint64_t nl;
        size_t end = record_end(p, s + off, n - off, &nl);
        if (off + end == n && !final)
            break; /* incomplete: wait for more */
        int rc = on_record(p, p->line, s + off, end);
        p->line += nl + 1;
        p->rep->lines = p->line - 1;
        off += end + (off + end < n ? 1 : 0);
        if (rc)
            return rc;
    }
    *used = off;
    return p->status;
}

/* ---------------------------------------------------------------------------
 * Public entry points
 * ------------------------------------------------------------------------- */

int fs_ingest_begin(fs_ingest_parser **pp, const fs_registry *reg, const fs_source_def *src,
                    fs_ingest_format fmt, const fs_ingest_options *opt, fs_batch *out,
                    fs_ingest_report *rep, fs_strbuf *err)
{
    if (!pp || !reg || !src || !out || !rep)
        return FS_E_INVAL;
    *pp = NULL;
    if (fmt != FS_FMT_CSV && fmt != FS_FMT_JSONL && fmt != FS_FMT_KLINE)
        return FS_E_INVAL;
    fs_ingest_parser *p = calloc(1, sizeof *p);
    if (!p)
        return FS_E_NOMEM;
    p->reg = reg;
    p->src = src;
    p->fmt = fmt;
    if (opt)
        p->opt = *opt;
    p->out = out;
    p->rep = rep;
    p->err = err;
    p->name = p->opt.name ? p->opt.name : "<input>";
    p->base_rows = out->n;
    p->base_ok = rep->rows_ok;
    p->line = 1;
    p->first_record = 1;
    if (p->opt.max_reasons && !rep->max_reasons)
        rep->max_reasons = p->opt.max_reasons;
    int rc = FS_E_INVAL;
#define BAD(...)                                                                                   \
    do {                                                                                           \
        if (err)                                                                                   \
            fs_sb_printf(err, __VA_ARGS__);                                                        \
        goto fail;                                                                                 \
    } while (0)

    if (out->ncols != src->n_columns)
        BAD("the batch has %zu columns, source %s has %zu", out->ncols, src->name,
            src->n_columns);
    for (size_t c = 0; c < src->n_columns; c++)
        if (strcmp(out->cols[c].name, src->columns[c].name) != 0 ||
            out->cols[c].type != vtype_of(src->columns[c].type))
            BAD("batch column %zu (%s) does not match source %s's column %s", c + 1,
                out->cols[c].name, src->name, src->columns[c].name);
    p->is_candles = strcmp(src->name, "candles") == 0;
    p->sym_col = fs_batch_col(out, "symbol");
    p->tf_col = fs_batch_col(out, "tf");
    p->o_col = fs_batch_col(out, "o");
    p->h_col = fs_batch_col(out, "h");
    p->l_col = fs_batch_col(out, "l");
    p->c_col = fs_batch_col(out, "c");
    p->v_col = fs_batch_col(out, "v");
    p->vwap_col = fs_batch_col(out, "vwap");
    p->tbv_col = fs_batch_col(out, "taker_buy_vol");
    if (p->sym_col >= 0 && src->columns[p->sym_col].type != FS_COL_STRING)
        p->sym_col = -1;
    if (p->tf_col >= 0 && src->columns[p->tf_col].type != FS_COL_STRING)
        p->tf_col = -1;
    if (p->is_candles && (p->sym_col < 0 || p->tf_col < 0 || p->o_col < 0 || p->h_col < 0 ||
                          p->l_col < 0 || p->c_col < 0 || p->v_col < 0))
        BAD("source candles lacks its built-in columns");
    p->ts_col = fs_batch_col(out, src->timestamp ? src->timestamp : "");
    if (p->ts_col < 0 || src->columns[p->ts_col].type != FS_COL_TIMESTAMP)
        BAD("source %s: its timestamp column %s is not a timestamp column", src->name,
            src->timestamp ? src->timestamp : "(none)");
    p->avail_col = -1;
    const char *aa = src->available_after ? src->available_after : "";
    if (*aa) {
        int c = fs_batch_col(out, aa);
        if (c >= 0) {
            if (src->columns[c].type != FS_COL_STRING)
                BAD("source %s: available_after column %s is not a string column", src->name, aa);
            p->avail_col = c;
        } else if (fs_parse_duration(aa, strlen(aa), &p->avail_ns, NULL, 0) != FS_OK) {
            BAD("source %s: available_after \"%s\" is neither a duration nor a column", src->name,
                aa);
        }
    }
    const fs_entity_def *ent = fs_reg_entity(reg, src->entity ? src->entity : "");
    if (!ent)
        BAD("source %s: unknown entity %s", src->name, src->entity ? src->entity : "(none)");
    if (ent->join_keys.n > sizeof p->key_cols / sizeof *p->key_cols)
        BAD("entity %s has too many join keys", ent->name);
    for (size_t k = 0; k < ent->join_keys.n; k++) {
        int c = fs_batch_col(out, ent->join_keys.items[k]);
        if (c < 0)
            BAD("source %s has no column %s, a join key of entity %s", src->name,
                ent->join_keys.items[k], ent->name);
        p->key_cols[p->n_keys++] = c;
    }
    if (p->opt.symbol && p->is_candles &&
        !fs_ingest_symbol_ok(p->opt.symbol, strlen(p->opt.symbol)))
        BAD("symbol \"%s\" is not a symbol (2 to 20 characters A-Z 0-9)", p->opt.symbol);
    if (p->opt.tf && p->tf_col >= 0 && p->tf_col == p->avail_col) {
        int64_t d;
        char msg[160];
        if (fs_parse_duration(p->opt.tf, strlen(p->opt.tf), &d, msg, sizeof msg) != FS_OK)
            BAD("tf: %s", msg);
        if (d <= 0)
            BAD("tf must be a positive duration");
    }
    if (fmt == FS_FMT_KLINE) {
        if (!p->is_candles)
            BAD("the kline format is only for source candles, not %s", src->name);
        if (!p->opt.symbol || !p->opt.tf)
            BAD("the kline format needs the symbol and the tf as options (the file has neither)");
    }
    p->st = calloc(src->n_columns ? src->n_columns : 1, sizeof *p->st);
    p->is_key = calloc(src->n_columns ? src->n_columns : 1, 1);
    for (size_t k = 0; p->is_key && k < p->n_keys; k++)
        p->is_key[p->key_cols[k]] = 1;
    if (!p->st || !p->is_key) {
        rc = FS_E_NOMEM;
        goto fail;
    }
#undef BAD
    *pp = p;
    return FS_OK;
fail:
    fs_ingest_parser_free(p);
    return rc;
}

int fs_ingest_feed(fs_ingest_parser *p, const char *data, size_t len)
{
    if (!p)
        return FS_E_INVAL;
    if (p->status || p->stopped || len == 0)
        return p->status;
    const char *z = memchr(data, 0, len);
    if (z) {
        uint64_t at = p->bytes + (uint64_t)(z - data);
        return fail_file(p, 0, "binary data, not text: a NUL byte at offset %" PRIu64, at);
    }
    p->bytes += len;
    size_t used = 0;
    int rc = FS_OK;
    if (p->carry_len == 0) {
        /* Records complete within this piece are read in place. */
        rc = process(p, data, len, 0, &used);
        if (rc || p->stopped)
            return rc;
        data += used;
        len -= used;
        if (len == 0)
            return FS_OK;
    }
    if (p->carry_len + len > p->carry_cap) {
        size_t cap = p->carry_cap ? p->carry_cap : 4096;
        while (cap < p->carry_len + len)
            cap *= 2;
        char *nc = realloc(p->carry, cap);
        if (!nc)
            return p->status = FS_E_NOMEM;
        p->carry = nc;
        p->carry_cap = cap;
    }
    int had_carry = p->carry_len > 0;
    memcpy(p->carry + p->carry_len, data, len);
    p->carry_len += len;
    if (had_carry) {
        /* The tail of the previous piece and this one. */
        rc = process(p, p->carry, p->carry_len, 0, &used);
        memmove(p->carry, p->carry + used, p->carry_len - used);
        p->carry_len -= used;
    }
    return rc;
}

int fs_ingest_finish(fs_ingest_parser *p)
{
    if (!p)
        return FS_E_INVAL;
    if (p->status || p->stopped)
        return p->status;
    size_t used = 0;
    int rc = process(p, p->carry ? p->carry : "", p->carry_len, 1, &used);
    p->carry_len = 0;
    return rc;
}

int fs_ingest_set_output(fs_ingest_parser *p, fs_batch *out)
{
    if (!p || !out || out->ncols != p->out->ncols)
        return FS_E_INVAL;
    for (size_t c = 0; c < out->ncols; c++)
        if (out->cols[c].type != p->out->cols[c].type)
            return FS_E_INVAL;
    p->out = out;
    p->base_rows = out->n;
    return FS_OK;
}

fs_ingest_parser *fs_ingest_clone(const fs_ingest_parser *p, const fs_ingest_options *opt,
                                  fs_batch *out, fs_ingest_report *rep, fs_strbuf *err)
{
    if (!p || !out || !rep || p->status || p->stopped || !p->header_done || p->first_record ||
        out->ncols != p->out->ncols)
        return NULL;
    fs_ingest_parser *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *p;
    size_t nc = p->src->n_columns ? p->src->n_columns : 1;
    c->opt = opt ? *opt : p->opt;
    c->name = c->opt.name ? c->opt.name : "<input>";
    c->out = out;
    c->rep = rep;
    c->err = err;
    c->base_rows = out->n;
    c->base_ok = rep->rows_ok;
    if (c->opt.max_reasons && !rep->max_reasons)
        rep->max_reasons = c->opt.max_reasons;
    c->fmap = NULL;
    c->st = calloc(nc, sizeof *c->st);
    c->is_key = malloc(nc);
    if (p->fmap && (c->fmap = malloc((p->n_fmap ? p->n_fmap : 1) * sizeof *c->fmap)))
        memcpy(c->fmap, p->fmap, p->n_fmap * sizeof *c->fmap);
    if (c->is_key)
        memcpy(c->is_key, p->is_key, nc);
    c->fields = NULL;
    c->n_fields = c->cap_fields = 0;
    c->scratch = NULL;
    c->cap_scratch = 0;
    c->why = (fs_strbuf){0};
    c->why_col = NULL;
    c->key = (fs_strbuf){0};
    c->carry = NULL;
    c->carry_len = c->carry_cap = 0;
    c->line = 1;
    c->bytes = 0;
    c->status = 0;
    c->stopped = 0;
    if (!c->st || !c->is_key || (p->fmap && !c->fmap)) {
        fs_ingest_parser_free(c);
        return NULL;
    }
    return c;
}

void fs_ingest_set_position(fs_ingest_parser *p, uint64_t line, uint64_t bytes)
{
    p->line = line;
    p->bytes = bytes;
}

uint64_t fs_ingest_next_line(const fs_ingest_parser *p) { return p->line; }

size_t fs_ingest_pending(const fs_ingest_parser *p) { return p->carry_len; }

void fs_ingest_parser_free(fs_ingest_parser *p)
{
    if (!p)
        return;
    if (p->st)
        stage_clear(p);
    free(p->st);
    free(p->is_key);
    free(p->fmap);
    free(p->fields);
    free(p->scratch);
    free(p->carry);
    fs_sb_free(&p->why);
    fs_sb_free(&p->key);
    free(p);
}

int fs_ingest_parse(const fs_registry *reg, const fs_source_def *src, fs_ingest_format fmt,
                    const fs_ingest_options *opt, const char *data, size_t len, fs_batch *out,
                    fs_ingest_report *rep, fs_strbuf *err)
{
    if (!data && len)
        return FS_E_INVAL;
    fs_ingest_parser *p;
    int rc = fs_ingest_begin(&p, reg, src, fmt, opt, out, rep, err);
    if (rc)
        return rc;
    if (len && memchr(data, 0, len))
        rc = fs_ingest_feed(p, data, len); /* fails before reading anything */
    else {
        /* The whole buffer: records are read in place, nothing is copied. */
        size_t used = 0;
        p->bytes = len;
        rc = process(p, data ? data : "", len, 1, &used);
        if (!rc)
            rc = fs_ingest_finish(p);
    }
    fs_ingest_parser_free(p);
    return rc;
}
