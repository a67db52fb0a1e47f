/* Parsing label files (contract in labels.h). The whole file is in memory:
 * the bound on a training set's memory is "the label file plus a
 * small working set". */
#include "training/labels.h"

#include "core/bigmem.h"
#include "core/timeutil.h"
#include "fstore.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Rows go to l's arrays from index row0 on; n counts those kept. A CSV file
 * parsed on two threads has two builders, the second starting past every
 * line the first could keep, with its rejections held back in `defer` so
 * that they are written after the first's, in line order. */
/* A CSV file of at least this many bytes is parsed on two threads. */
enum { SPLIT_BYTES = 4 << 20 };

typedef struct {
    fs_labels *l;
    size_t cap;
    const char *name;
    const char *const *required;
    size_t n_required;
    int *req_col;
    FILE *rejects;
    size_t row0, n;
    uint64_t rejected;
    fs_strbuf *defer;
} builder;

static int add_col(fs_labels *l, const char *name, size_t len)
{
    char **p = realloc(l->names, (l->ncols + 1) * sizeof *p);
    if (!p)
        return -1;
    l->names = p;
    if (!(l->names[l->ncols] = fs_arena_strndup(&l->arena, name, len)))
        return -1;
    return (int)l->ncols++;
}

static void reject(builder *b, uint64_t line, const char *why)
{
    b->rejected++;
    if (b->defer)
        fs_sb_printf(b->defer, "%s:%llu\t%s\n", b->name, (unsigned long long)line, why);
    else if (b->rejects)
        fprintf(b->rejects, "%s:%llu\t%s\n", b->name, (unsigned long long)line, why);
}

/* p grown to `bytes` (or made, when NULL), with the huge-page hint. */
static void *regrow(void *p, size_t bytes)
{
    if (!p)
        return fs_big_malloc(bytes);
    p = realloc(p, bytes);
    fs_huge_hint(p, bytes);
    return p;
}

/* Room for `cap` rows of ncols cells (ncols fixed once rows exist). */
static int reserve_rows(builder *b, size_t cap)
{
    fs_labels *l = b->l;
    const char **cell = regrow(l->cell, cap * l->ncols * sizeof *cell);
    if (cell)
        l->cell = cell;
    uint8_t *lit = regrow(l->literal, cap * l->ncols);
    if (lit)
        l->literal = lit;
    int64_t *ts = regrow(l->ts, cap * sizeof *ts);
    if (ts)
        l->ts = ts;
    uint64_t *line = regrow(l->line, cap * sizeof *line);
    if (line)
        l->line = line;
    if (!cell || !lit || !ts || !line)
        return -1;
    b->cap = cap;
    return 0;
}

/* Room for one more row. */
static int grow_rows(builder *b)
{
    return b->row0 + b->n < b->cap ? 0 : reserve_rows(b, b->cap ? 2 * b->cap : 1024);
}

/* Checks the row just filled in (index row0 + n) and keeps it or rejects it. */
static void finish_row(builder *b, uint64_t line)
{
    fs_labels *l = b->l;
    size_t r = b->row0 + b->n;
    const char **row = l->cell + r * l->ncols;
    const char *t = row[l->ts_col];
    char msg[200], why[300];
    if (!t || !*t) {
        reject(b, line, "event_ts: missing");
        return;
    }
    if (fs_parse_time(t, strlen(t), &l->ts[r], msg, sizeof msg) != FS_OK) {
        snprintf(why, sizeof why, "event_ts: %s", msg);
        reject(b, line, why);
        return;
    }
    for (size_t k = 0; k < b->n_required; k++) {
        const char *v = row[b->req_col[k]];
        if (!v || !*v) {
            snprintf(why, sizeof why, "%s: missing join key", b->required[k]);
            reject(b, line, why);
            return;
        }
    }
    l->line[r] = line;
    b->n++;
}

static int resolve_columns(builder *b, fs_strbuf *err)
{
    fs_labels *l = b->l;
    int ts = fs_labels_col(l, "event_ts");
    if (ts < 0) {
        fs_sb_printf(err, "%s: no event_ts column (the label time)", b->name);
        return FS_E_INVAL;
    }
    l->ts_col = (size_t)ts;
    for (size_t k = 0; k < b->n_required; k++) {
        if ((b->req_col[k] = fs_labels_col(l, b->required[k])) < 0) {
            fs_sb_printf(err, "%s: no column '%s' (a join key of the features' entities)", b->name,
                         b->required[k]);
            return FS_E_INVAL;
        }
    }
    return FS_OK;
}

/* One CSV record starting at *pos of `d`, a private copy of the file that
 * this tokenizes in place: each field is NUL-terminated where it ends and
 * quoted fields are unescaped where they lie (the text only shrinks), so
 * a million rows cost no allocation per cell. Fields go into out[] (at
 * most maxf); returns the number of fields, or -1 on an unterminated
 * quote. Advances *pos past the record and counts the lines it spans. */
static long csv_record(char *d, size_t len, size_t *pos, const char **out, size_t maxf,
                       uint64_t *lines)
{
    size_t p = *pos;
    long nf = 0;
    for (;;) {
        size_t start = p, end;
        if (p < len && d[p] == '"') {
            size_t w = p; /* the unescaped text goes from the opening quote on */
            p++;
            for (;;) {
                if (p >= len)
                    return -1;
                if (d[p] == '"') {
                    if (p + 1 < len && d[p + 1] == '"') {
                        d[w++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (d[p] == '\n')
                    ++*lines;
                d[w++] = d[p++];
            }
            while (p < len && d[p] != ',' && d[p] != '\n' && d[p] != '\r') /* after the quote: kept */
                d[w++] = d[p++];
            end = w;
        } else {
            while (p < len && d[p] != ',' && d[p] != '\n' && d[p] != '\r')
                p++;
            end = p;
        }
        char sep = p < len ? d[p] : 0;
        d[end] = 0; /* end <= p (the separator is saved); d[len] exists in the copy */
        if ((size_t)nf < maxf)
            out[nf] = d + start;
        nf++;
        if (sep == ',') {
            p++;
            continue;
        }
        if (sep == '\r') {
            p++;
            if (p < len && d[p] == '\n')
                p++;
        } else if (sep == '\n')
            p++;
        break;
    }
    *pos = p;
    return nf;
}

/* The records of d[from, to) (the header's line is line 1; `first_line` the
 * number of the line before `from`), into b's rows. */
static int parse_rows(builder *b, char *d, size_t from, size_t to, uint64_t first_line,
                      fs_strbuf *err)
{
    fs_labels *l = b->l;
    size_t pos = from;
    uint64_t line, next_line = first_line;
    const char **tmp = malloc((l->ncols + 1) * sizeof *tmp);
    if (!tmp)
        return FS_E_NOMEM;
    while (pos < to) {
        line = ++next_line;
        if (d[pos] == '\n' || (d[pos] == '\r' && pos + 1 < to && d[pos + 1] == '\n')) {
            pos += d[pos] == '\r' ? 2 : 1; /* blank line */
            continue;
        }
        if (grow_rows(b)) {
            free(tmp);
            return FS_E_NOMEM;
        }
        long nf = csv_record(d, to, &pos, tmp, l->ncols, &next_line);
        if (nf < 0) {
            fs_sb_printf(err, "%s:%llu: unterminated quoted field", b->name, (unsigned long long)line);
            free(tmp);
            return FS_E_PARSE;
        }
        if ((size_t)nf != l->ncols) {
            char why[100];
            snprintf(why, sizeof why, "%ld fields, the header has %zu", nf, l->ncols);
            reject(b, line, why);
            continue;
        }
        size_t r = b->row0 + b->n;
        const char **row = l->cell + r * l->ncols;
        for (size_t c = 0; c < l->ncols; c++) {
            row[c] = *tmp[c] ? tmp[c] : NULL;
            l->literal[r * l->ncols + c] = 0;
        }
        finish_row(b, line);
    }
    free(tmp);
    return FS_OK;
}

typedef struct {
    builder *b;
    char *d;
    size_t from, to;
    uint64_t first_line;
    fs_strbuf *err;
    int rc;
} half;

static void *parse_half(void *p)
{
    half *h = p;
    h->rc = parse_rows(h->b, h->d, h->from, h->to, h->first_line, h->err);
    return NULL;
}

static int parse_csv(builder *b, const char *data, size_t len, fs_strbuf *err)
{
    fs_labels *l = b->l;
    size_t pos = 0;
    uint64_t next_line = 1;
    const char *hdr[1024];
    if (memchr(data, 0, len)) {
        fs_sb_printf(err, "%s:1: not a CSV file with a header line", b->name);
        return FS_E_PARSE;
    }
    /* The cells live in this copy, tokenized in place (the caller may
     * still be reading `data`). */
    char *d = l->text = fs_big_malloc(len + 1);
    if (!d)
        return FS_E_NOMEM;
    memcpy(d, data, len);
    d[len] = 0;
    l->plain = !memchr(d, '"', len); /* unquoted cells end at a comma or line break */
    long nh = csv_record(d, len, &pos, hdr, 1024, &next_line);
    if (nh <= 0) {
        fs_sb_printf(err, "%s:1: not a CSV file with a header line", b->name);
        return FS_E_PARSE;
    }
    for (long i = 0; i < nh && i < 1024; i++)
        if (add_col(l, hdr[i], strlen(hdr[i])) < 0)
            return FS_E_NOMEM;
    int rc = resolve_columns(b, err);
    if (rc != FS_OK)
        return rc;
    size_t lines = 1; /* room for every line at once: no copying as rows come */
    for (const char *q = d + pos; (q = memchr(q, '\n', len - (size_t)(q - d))); q++)
        lines++;
    if (reserve_rows(b, lines))
        return FS_E_NOMEM;
    /* Two threads for a large file without quotes (a quoted field may hold a
     * newline, so only then is any newline a record's end): the second
     * half's rows start past every line the first half could keep. */
    size_t mid = len;
    if (len - pos >= SPLIT_BYTES && !memchr(d + pos, '"', len - pos)) {
        const char *nl = memchr(d + pos + (len - pos) / 2, '\n', len - pos - (len - pos) / 2);
        mid = nl ? (size_t)(nl - d) + 1 : len;
    }
    if (mid >= len)
        return parse_rows(b, d, pos, len, 1, err);
    uint64_t before = 0; /* lines in [pos, mid): each ends with a newline */
    for (const char *q = d + pos; (q = memchr(q, '\n', mid - (size_t)(q - d))); q++)
        before++;
    fs_strbuf defer = {0}, err2 = {0};
    builder b2 = *b;
    b2.row0 = (size_t)before;
    b2.defer = &defer;
    half h = {&b2, d, mid, len, 1 + before, &err2, FS_OK};
    pthread_t t;
    int threaded = pthread_create(&t, NULL, parse_half, &h) == 0;
    rc = parse_rows(b, d, pos, mid, 1, err);
    if (threaded)
        pthread_join(t, NULL);
    else
        parse_half(&h);
    if (rc == FS_OK && h.rc != FS_OK) { /* an error of the first half comes first */
        rc = h.rc;
        fs_sb_append(err, fs_sb_str(&err2), err2.len);
    }
    if (rc == FS_OK) {
        if (b->rejects && defer.len)
            fwrite(defer.buf, 1, defer.len, b->rejects);
        size_t at = b->row0 + b->n, from = b2.row0, k = b2.n;
        if (at < from) { /* rows the first half did not keep: close the gap */
            memmove(l->cell + at * l->ncols, l->cell + from * l->ncols, k * l->ncols * sizeof *l->cell);
            memmove(l->literal + at * l->ncols, l->literal + from * l->ncols, k * l->ncols);
            memmove(l->ts + at, l->ts + from, k * sizeof *l->ts);
            memmove(l->line + at, l->line + from, k * sizeof *l->line);
        }
        b->n += b2.n;
        b->rejected += b2.rejected;
    }
    fs_sb_free(&defer);
    fs_sb_free(&err2);
    return rc;
}

static int parse_jsonl(builder *b, const char *d, size_t len, fs_strbuf *err)
{
    fs_labels *l = b->l;
    /* Pass 1: the columns, in order of first appearance. */
    json_t **objs = NULL;
    uint64_t *lines = NULL;
    size_t n = 0, cap = 0;
    uint64_t line = 0;
    int rc = FS_OK;
    for (size_t p = 0; p < len && rc == FS_OK;) {
        const char *nl = memchr(d + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - d) : len;
        line++;
        size_t s = p;
        p = e + 1;
        while (s < e && (d[s] == ' ' || d[s] == '\t' || d[s] == '\r'))
            s++;
        if (s == e)
            continue;
        json_error_t je;
        json_t *o = json_loadb(d + s, e - s, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            if (n == 0) { /* the very first record: not JSON lines at all */
                fs_sb_printf(err, "%s:%llu:%d: not a JSON object per line%s%s", b->name,
                             (unsigned long long)line, je.column, o ? "" : ": ", o ? "" : je.text);
                rc = FS_E_PARSE;
                break;
            }
            reject(b, line, "not a JSON object");
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            json_t **po = realloc(objs, cap * sizeof *po);
            uint64_t *pl = realloc(lines, cap * sizeof *pl);
            if (po)
                objs = po;
            if (pl)
                lines = pl;
            if (!po || !pl) {
                json_decref(o);
                rc = FS_E_NOMEM;
                break;
            }
        }
        objs[n] = o;
        lines[n++] = line;
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) if (fs_labels_col(l, key) < 0 && add_col(l, key, strlen(key)) < 0)
            rc = FS_E_NOMEM;
    }
    if (rc == FS_OK && n == 0 && len) {
        fs_sb_printf(err, "%s: no JSON object found", b->name);
        rc = FS_E_PARSE;
    }
    if (rc == FS_OK)
        rc = resolve_columns(b, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == FS_OK && grow_rows(b))
            rc = FS_E_NOMEM;
        for (size_t c = 0; rc == FS_OK && c < l->ncols; c++) {
            json_t *v = json_object_get(objs[i], l->names[c]);
            const char **cell = &l->cell[b->n * l->ncols + c];
            uint8_t *lit = &l->literal[b->n * l->ncols + c];
            *lit = 0;
            if (!v || json_is_null(v)) {
                *cell = NULL;
            } else if (json_is_string(v)) {
                *cell = fs_arena_strdup(&l->arena, json_string_value(v));
            } else {
                char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
                *cell = text ? fs_arena_strdup(&l->arena, text) : NULL;
                *lit = json_is_number(v) || json_is_boolean(v);
                free(text);
            }
        }
        if (rc == FS_OK)
            finish_row(b, lines[i]);
        json_decref(objs[i]);
    }
    free(objs);
    free(lines);
    return rc;
}

int fs_labels_parse(const char *name, const char *data, size_t len, int jsonl,
                    const char *const *required, size_t n_required, FILE *rejects, fs_labels *out,
                    fs_strbuf *err)
{
    memset(out, 0, sizeof *out);
    builder b = {.l = out,
                 .name = name,
                 .required = required,
                 .n_required = n_required,
                 .req_col = calloc(n_required + 1, sizeof(int)),
                 .rejects = rejects};
    if (!b.req_col)
        return FS_E_NOMEM;
    int rc = jsonl ? parse_jsonl(&b, data, len, err) : parse_csv(&b, data, len, err);
    out->n = b.n;
    out->rejected = b.rejected;
    free(b.req_col);
    if (rc != FS_OK)
        fs_labels_free(out);
    return rc;
}

int fs_labels_col(const fs_labels *l, const char *name)
{
    for (size_t i = 0; i < l->ncols; i++)
        if (strcmp(l->names[i], name) == 0)
            return (int)i;
    return -1;
}

void fs_labels_free(fs_labels *l)
{
    free(l->names);
    free(l->cell);
    free(l->literal);
    free(l->ts);
    free(l->line);
    free(l->text);
    fs_arena_free(&l->arena);
    memset(l, 0, sizeof *l);
}
