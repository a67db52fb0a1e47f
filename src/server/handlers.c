/* The feature server's endpoints: request JSON in, reply JSON out
 * (docs/http-api.md is the reference; server.h the structure). Every field
 * of a request is checked before anything is looked up or written, and
 * every refusal is a 4xx with {"error": "..."} naming the field. */
#include "server/server.h"

#include "core/arena.h"
#include "server/gof_reader.h"
#include "online/online.h"
#include "core/strbuf.h"
#include "core/timeutil.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small writers ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* JSON string contents (no quotes) into dst, which has room for 6 * len
 * bytes: ", \ and control characters escaped; bytes that are not UTF-8
 * (error messages may quote raw input) become U+FFFD, so that the answer is
 * always valid JSON. Returns the bytes written. */
static size_t json_escape(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *d = dst;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *d++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)s + i, len - i);
            if (k) {
                memcpy(d, s + i, k);
                d += k;
                i += k;
            } else {
                memcpy(d, "\\ufffd", 6);
                d += 6;
                i++;
            }
            continue;
        }
        *d++ = '\\';
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '\n': *d++ = 'n'; break;
        case '\r': *d++ = 'r'; break;
        case '\t': *d++ = 't'; break;
        default:
            *d++ = 'u';
            *d++ = '0';
            *d++ = '0';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        }
        i++;
    }
    return (size_t)(d - dst);
}

static void put_json_chars(fs_strbuf *sb, const char *s, size_t len)
{
    char small[384];
    char *tmp = len <= sizeof small / 6 ? small : malloc(6 * len);
    if (!tmp) {
        if (sb)
            sb->oom = 1;
        return;
    }
    fs_sb_append(sb, tmp, json_escape(tmp, s, len));
    if (tmp != small)
        free(tmp);
}

static void put_json_string(fs_strbuf *sb, const char *s, size_t len)
{
    fs_sb_append(sb, "\"", 1);
    put_json_chars(sb, s, len);
    fs_sb_append(sb, "\"", 1);
}

static void reply_text(fs_http_reply *out, int status, fs_strbuf *sb, const char *ctype)
{
    out->status = status;
    out->ctype = ctype;
    if (sb->oom) {
        fs_sb_free(sb);
        out->status = 500;
        out->body = NULL;
        out->len = 0;
        return;
    }
    out->len = sb->len;
    out->body = fs_sb_take(sb);
    if (!out->body)
        out->len = 0;
}

static void reply_error(fs_http_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(fs_http_reply *out, int status, const char *fmt, ...)
{
    fs_strbuf msg = {0}, sb = {0};
    va_list ap;
    va_start(ap, fmt);
    fs_sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    fs_sb_puts(&sb, "{\"error\": ");
    put_json_string(&sb, fs_sb_str(&msg), msg.len);
    fs_sb_puts(&sb, "}\n");
    fs_sb_free(&msg);
    reply_text(out, status, &sb, "application/json");
}

/* A store status as an HTTP status: the caller's fault or the server's. */
static int http_status(int rc)
{
    switch (rc) {
    case FS_E_INVAL:
    case FS_E_NOTFOUND:
    case FS_E_PARSE:
    case FS_E_AMBIGUOUS: return 400;
    case FS_E_BUSY: return 503;
    default: return 500;
    }
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Parses the body as a JSON object, or replies 400 and returns NULL. */
static json_t *parse_body(const char *body, size_t len, fs_http_reply *out)
{
    if (len == 0) {
        reply_error(out, 400, "empty body: a JSON object is expected");
        return NULL;
    }
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        reply_error(out, 400, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(req)) {
        reply_error(out, 400, "the body must be a JSON object, not %s", json_type_name(req));
        json_decref(req);
        return NULL;
    }
    return req;
}

/* ---- POST /get-online-features -------------------------------------------------- */

/* ---- prepared queries, cached ------------------------------------------------------ */

enum { QCACHE_BUCKETS = 256, QCACHE_MAX = 1024 };

/* Entries are added under srv->qmu and never removed while the server
 * runs: lookups read the chains without the lock (a bucket's head is
 * published with a release store after the entry is complete). */
struct qentry {
    struct qentry *next;
    uint64_t hash;
    char *key; /* the service's name after a 0x01 byte, or each feature's followed by a NUL */
    size_t klen;
    fs_online_query *q;
    /* What every answer of this query starts with, made once: the names of
     * its features as the items of metadata.feature_names (each after a
     * comma), bare [0] and as view__feature [1]. Bare names of two features
     * may collide: clash_i/clash_j are then the first such pair (j < i) and
     * names[0] is NULL. */
    char *names[2];
    size_t names_len[2];
    long clash_i, clash_j;
};

/* A hash of the cache key (see struct qentry), without building it: each
 * name's length, then its bytes eight at a time. */
static uint64_t hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
}

static uint64_t hash_text(uint64_t h, const gof_text *t)
{
    h = hash_mix(h, t->len);
    size_t i = 0;
    for (; i + 8 <= t->len; i += 8) {
        uint64_t w;
        memcpy(&w, t->s + i, 8);
        h = hash_mix(h, w);
    }
    if (i < t->len) {
        uint64_t w = 0;
        memcpy(&w, t->s + i, t->len - i);
        h = hash_mix(h, w);
    }
    return h;
}

static uint64_t query_hash(const gof_text *features, size_t n, const gof_text *service)
{
    uint64_t h = 0x51ed270b27a3f1c9ULL;
    if (service)
        return hash_text(hash_mix(h, 1), service);
    for (size_t i = 0; i < n; i++)
        h = hash_text(h, &features[i]);
    h ^= h >> 29;
    return h * 0xbf58476d1ce4e5b9ULL;
}

static int query_matches(const struct qentry *e, const gof_text *features, size_t n, const gof_text *service)
{
    const char *k = e->key, *end = e->key + e->klen;
    if (service)
        return e->klen == (size_t)service->len + 2 && k[0] == 1 && memcmp(k + 1, service->s, service->len) == 0;
    for (size_t i = 0; i < n; i++) {
        if ((size_t)(end - k) < (size_t)features[i].len + 1 || memcmp(k, features[i].s, features[i].len) != 0 ||
            k[features[i].len] != 0)
            return 0;
        k += features[i].len + 1;
    }
    return k == end;
}

static void qentry_free(struct qentry *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->names[0]);
    free(e->names[1]);
    fs_online_query_free(e->q);
    free(e);
}

/* The entry's names (struct qentry). */
static int qentry_describe(struct qentry *e)
{
    size_t nf = fs_online_query_size(e->q);
    e->clash_i = e->clash_j = -1;
    for (size_t i = 0; i < nf && e->clash_i < 0; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(strchr(fs_online_query_feature(e->q, i), ':') + 1,
                       strchr(fs_online_query_feature(e->q, j), ':') + 1) == 0) {
                e->clash_i = (long)i;
                e->clash_j = (long)j;
                break;
            }
    fs_strbuf bare = {0}, full = {0};
    for (size_t f = 0; f < nf; f++) {
        const char *qn = fs_online_query_feature(e->q, f), *colon = strchr(qn, ':');
        fs_sb_append(&bare, ",", 1);
        put_json_string(&bare, colon + 1, strlen(colon + 1));
        /* view__feature, as Feast names them */
        fs_sb_append(&full, ",\"", 2);
        put_json_chars(&full, qn, (size_t)(colon - qn));
        fs_sb_append(&full, "__", 2);
        put_json_chars(&full, colon + 1, strlen(colon + 1));
        fs_sb_append(&full, "\"", 1);
    }
    e->names_len[0] = bare.len;
    e->names_len[1] = full.len;
    e->names[0] = fs_sb_take(&bare);
    e->names[1] = fs_sb_take(&full);
    if (bare.oom || full.oom || !e->names[0] || !e->names[1])
        return FS_E_NOMEM;
    if (e->clash_i >= 0) {
        free(e->names[0]);
        e->names[0] = NULL;
    }
    return FS_OK;
}

int fs_server_query(fs_server *srv, const gof_text *features, size_t n, const gof_text *service,
                    const struct qentry **q, struct qentry **owned, char **detail)
{
    *q = NULL;
    *owned = NULL;
    uint64_t h = query_hash(features, n, service);
    size_t b = h % QCACHE_BUCKETS;
    if (srv->qbuckets)
        for (struct qentry *e = atomic_load_explicit(&srv->qbuckets[b], memory_order_acquire); e; e = e->next)
            if (e->hash == h && query_matches(e, features, n, service)) {
                *q = e;
                return FS_OK;
            }
    /* Not cached: the key, and the names as C strings (names hold no NUL:
     * both readers refuse those). */
    struct qentry *e = calloc(1, sizeof *e);
    const char **names = n ? calloc(n, sizeof *names) : NULL;
    fs_strbuf key = {0};
    if (service) {
        fs_sb_append(&key, "\x01", 1);
        fs_sb_append(&key, service->s, service->len);
        fs_sb_append(&key, "", 1);
    } else {
        for (size_t i = 0; i < n; i++) {
            fs_sb_append(&key, features[i].s, features[i].len);
            fs_sb_append(&key, "", 1);
        }
    }
    if (!e || (n && !names) || key.oom) {
        free(e);
        free(names);
        fs_sb_free(&key);
        return FS_E_NOMEM;
    }
    e->hash = h;
    e->klen = key.len;
    e->key = fs_sb_take(&key);
    for (size_t i = 0, off = 0; i < n; i++) { /* the key holds them, NUL-terminated */
        names[i] = e->key + off;
        off += features[i].len + 1;
    }
    int rc = fs_online_prepare(srv->online, names, n, service ? e->key + 1 : NULL, &e->q, detail);
    free(names);
    if (rc == FS_OK)
        rc = qentry_describe(e);
    if (rc != FS_OK) { /* refusals are not cached: they are cheap and unbounded */
        qentry_free(e);
        return rc;
    }
    int cached = 0;
    pthread_mutex_lock(&srv->qmu);
    if (srv->qbuckets && srv->qcount < QCACHE_MAX) {
        struct qentry *head = atomic_load_explicit(&srv->qbuckets[b], memory_order_relaxed), *x;
        for (x = head; x && !(x->hash == h && x->klen == e->klen && memcmp(x->key, e->key, e->klen) == 0);)
            x = x->next;
        if (x) { /* another thread cached it meanwhile */
            qentry_free(e);
            e = x;
        } else {
            e->next = head;
            atomic_store_explicit(&srv->qbuckets[b], e, memory_order_release);
            srv->qcount++;
        }
        cached = 1;
    }
    pthread_mutex_unlock(&srv->qmu);
    *q = e;
    if (!cached)
        *owned = e;
    return FS_OK;
}

void fs_server_query_free(struct qentry *owned) { qentry_free(owned); }

void fs_server_query_cache_free(fs_server *srv)
{
    for (size_t b = 0; srv->qbuckets && b < QCACHE_BUCKETS; b++)
        for (struct qentry *e = atomic_load(&srv->qbuckets[b]), *next; e; e = next) {
            next = e->next;
            qentry_free(e);
        }
    free(srv->qbuckets);
    srv->qbuckets = NULL;
}

size_t fs_server_query_buckets(void) { return QCACHE_BUCKETS; }

/* ---- the answer's writer ------------------------------------------------------------ */

/* One buffer, allocated at the answer's estimated size and grown only if
 * that was short; an allocation failure is remembered (oom) and ends the
 * writing. */
typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} jwriter;

static char *jw_grow(jwriter *w, size_t n)
{
    if (w->oom)
        return NULL;
    size_t cap = w->cap ? w->cap * 2 : 1024;
    while (cap < w->len + n)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = 1;
        return NULL;
    }
    w->buf = b;
    w->cap = cap;
    return b + w->len;
}

/* Room for n more bytes, or NULL. */
static inline char *jw_room(jwriter *w, size_t n)
{
    return w->cap - w->len >= n ? w->buf + w->len : jw_grow(w, n);
}

static inline void jw_put(jwriter *w, const char *s, size_t n)
{
    char *p = jw_room(w, n);
    if (p) {
        memcpy(p, s, n);
        w->len += n;
    }
}

#define JW_LIT(w, lit) jw_put((w), (lit), sizeof(lit) - 1)

/* A JSON string ("..."), escaped. */
static void jw_string(jwriter *w, const char *s, size_t n)
{
    char *p = jw_room(w, 6 * n + 2);
    if (!p)
        return;
    p[0] = '"';
    size_t k = json_escape(p + 1, s, n);
    p[k + 1] = '"';
    w->len += k + 2;
}

/* Recently formatted event times: the features of one view share their
 * row's time, and the rows of one bar theirs. */
typedef struct {
    int64_t ts[8];
    char text[8][FS_TIME_STRLEN];
    size_t len[8];
    unsigned next;
} ts_cache;

/* An event time as a JSON string. */
static void jw_time(jwriter *w, ts_cache *c, int64_t ts)
{
    for (int i = 0; i < 8; i++)
        if (c->len[i] && c->ts[i] == ts) {
            char *p = jw_room(w, c->len[i] + 2);
            if (p) {
                p[0] = '"';
                memcpy(p + 1, c->text[i], c->len[i]);
                p[c->len[i] + 1] = '"';
                w->len += c->len[i] + 2;
            }
            return;
        }
    unsigned i = c->next++ % 8;
    c->ts[i] = ts;
    c->len[i] = fs_format_time(ts, c->text[i], sizeof c->text[i]);
    jw_time(w, c, ts);
}

/* ---- the request, read, then answered ---------------------------------------------- */

/* The query of a request (the cache's, or *owned for this request alone:
 * fs_server_query_free it), or NULL after replying with the refusal: an
 * unknown feature or service, bare names that collide, no entity column.
 * Both readers come here with the same request, in this order of checks. */
static const struct qentry *gof_query(fs_server *srv, const gof_text *features, size_t nfeatures,
                                      const gof_text *service, int full_names, size_t ncols,
                                      struct qentry **owned, fs_http_reply *out)
{
    const struct qentry *qe = NULL;
    char *detail = NULL;
    int rc = fs_server_query(srv, features, nfeatures, service, &qe, owned, &detail);
    if (rc != FS_OK) {
        reply_error(out, http_status(rc), "%s", detail ? detail : fs_strerror(rc));
        fs_free(detail);
        return NULL;
    }
    if (!full_names && qe->clash_i >= 0) { /* bare names (the default) must not collide */
        const char *a = fs_online_query_feature(qe->q, (size_t)qe->clash_i);
        reply_error(out, 400, "features %s and %s would both be named '%s': set "
                    "\"full_feature_names\": true (names become view__feature)",
                    fs_online_query_feature(qe->q, (size_t)qe->clash_j), a, strchr(a, ':') + 1);
        return NULL;
    }
    if (!ncols) {
        reply_error(out, 400, "'entities' is empty: give the join keys %s%s", fs_online_query_key(qe->q, 0),
                    fs_online_query_nkeys(qe->q) > 1 ? " and the others of the features' entity" : "");
        return NULL;
    }
    return qe;
}

static int text_is(const gof_text *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(t->s, s, n) == 0;
}

enum { GOF_STACK_CELLS = 64 }; /* entities x features looked up without allocating */

/* fs_online_status_name's names, quoted. */
static const char *const status_json[] = {
    [FS_ONLINE_NOT_FOUND] = "\"NOT_FOUND\"", [FS_ONLINE_PRESENT] = "\"PRESENT\"",
    [FS_ONLINE_NULL_VALUE] = "\"NULL_VALUE\"", [FS_ONLINE_OUTSIDE_MAX_AGE] = "\"OUTSIDE_MAX_AGE\""};
static const size_t status_json_len[] = {11, 9, 12, 17};

/* Looks the entities up and writes the answer (docs/http-api.md):
 * {"metadata": {"feature_names": [...]}, "results": [{"values",
 * "statuses", "event_timestamps"}, ...]}, one result per entity column
 * (echoed) then per feature. */
static void gof_answer(fs_server *srv, const struct qentry *qe, int full_names, const gof_column *cols,
                       size_t ncols, size_t nrows, fs_http_reply *out)
{
    const fs_online_query *q = qe->q;
    size_t nf = fs_online_query_size(q), nk = fs_online_query_nkeys(q);
    int keymap[FS_ONLINE_MAX_KEYS];
    for (size_t k = 0; k < nk; k++) {
        const char *kn = fs_online_query_key(q, k);
        size_t i = 0;
        while (i < ncols && !text_is(&cols[i].name, kn))
            i++;
        if (i == ncols) {
            fs_strbuf all = {0};
            for (size_t j = 0; j < nk; j++)
                fs_sb_printf(&all, "%s%s", j ? ", " : "", fs_online_query_key(q, j));
            reply_error(out, 400, "missing join key '%s' in 'entities' (the features are keyed by %s)", kn,
                        fs_sb_str(&all));
            fs_sb_free(&all);
            return;
        }
        keymap[k] = (int)i;
    }
    /* Look every entity up, then write the columns. */
    fs_online_value vals_small[GOF_STACK_CELLS], *vals = vals_small;
    char jt_small[GOF_STACK_CELLS][FS_OTAB_JT], (*jt)[FS_OTAB_JT] = jt_small;
    char buf_small[4096], *buf = buf_small; /* string values, copied out */
    size_t bufsz = sizeof buf_small;
    fs_arena strings = {0};
    jwriter w = {0};
    if (nrows * nf > GOF_STACK_CELLS &&
        (!(vals = malloc(nrows * nf * sizeof *vals)) || !(jt = malloc(nrows * nf * sizeof *jt)))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    int64_t now = fs_now_ns();
    size_t strings_len = 0; /* bytes of string values, for the estimate */
    for (size_t r = 0; r < nrows; r++) {
        const char *parts[FS_ONLINE_MAX_KEYS];
        size_t lens[FS_ONLINE_MAX_KEYS];
        for (size_t k = 0; k < nk; k++) {
            const gof_text *v = &cols[keymap[k]].values[r];
            parts[k] = v->s;
            lens[k] = v->len;
        }
        fs_online_value *row = &vals[r * nf];
        size_t needed = 0;
        int rc = fs_online_lookup_json(srv->online, q, parts, lens, nk, now, row, &jt[r * nf], buf, bufsz, &needed);
        if (rc == FS_E_NOSPACE) {
            char *nb = buf == buf_small ? malloc(needed + 1) : realloc(buf, needed + 1);
            if (!nb) {
                reply_error(out, 500, "out of memory");
                goto done;
            }
            buf = nb;
            bufsz = needed + 1;
            rc = fs_online_lookup_json(srv->online, q, parts, lens, nk, now, row, &jt[r * nf], buf, bufsz,
                                       &needed);
        }
        if (rc != FS_OK) {
            reply_error(out, 500, "lookup failed: %s", fs_strerror(rc));
            goto done;
        }
        for (size_t f = 0; f < nf; f++) /* strings outlive the buffer's next use */
            if (row[f].type == FS_ONLINE_STRING && row[f].str) {
                if (!(row[f].str = fs_arena_strndup(&strings, row[f].str, row[f].str_len))) {
                    reply_error(out, 500, "out of memory");
                    goto done;
                }
                strings_len += row[f].str_len;
            }
    }
    atomic_fetch_add(&srv->m.entities_looked_up, nrows);
    /* The answer's size, over-estimated (a value is at most FS_OTAB_JT
     * bytes, a status 18, a time FS_TIME_STRLEN + 3, a string 6 bytes per
     * byte escaped), so that it is written in one allocation. */
    size_t est = 64 + qe->names_len[full_names] + nf * (64 + nrows * (FS_OTAB_JT + 18 + FS_TIME_STRLEN + 8)) +
                 6 * strings_len;
    for (size_t i = 0; i < ncols; i++) {
        est += 6 * (size_t)cols[i].name.len + 96 + nrows * 40;
        for (size_t r = 0; r < nrows; r++)
            est += 6 * (size_t)cols[i].values[r].len + 3;
    }
    if (!(w.buf = malloc(est))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    w.cap = est;
    /* The features of one row mostly share their time, and the rows of
     * one bar theirs: the last times formatted stay from one answer to the
     * next, in each thread. */
    static _Thread_local ts_cache tc;
    JW_LIT(&w, "{\"metadata\":{\"feature_names\":[");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            JW_LIT(&w, ",");
        jw_string(&w, cols[i].name.s, cols[i].name.len);
    }
    jw_put(&w, qe->names[full_names], qe->names_len[full_names]);
    JW_LIT(&w, "]},\"results\":[");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            JW_LIT(&w, ",");
        JW_LIT(&w, "{\"values\":[");
        for (size_t r = 0; r < nrows; r++) {
            const gof_text *e = &cols[i].values[r];
            if (r)
                JW_LIT(&w, ",");
            if (e->is_int)
                jw_put(&w, e->s, e->len);
            else
                jw_string(&w, e->s, e->len);
        }
        JW_LIT(&w, "],\"statuses\":[");
        for (size_t r = 0; r < nrows; r++)
            r ? JW_LIT(&w, ",\"PRESENT\"") : JW_LIT(&w, "\"PRESENT\"");
        JW_LIT(&w, "],\"event_timestamps\":[");
        for (size_t r = 0; r < nrows; r++)
            r ? JW_LIT(&w, ",\"1970-01-01T00:00:00Z\"") : JW_LIT(&w, "\"1970-01-01T00:00:00Z\"");
        JW_LIT(&w, "]}");
    }
    for (size_t f = 0; f < nf; f++) {
        JW_LIT(&w, ",{\"values\":[");
        for (size_t r = 0; r < nrows; r++) {
            const fs_online_value *v = &vals[r * nf + f];
            if (r)
                JW_LIT(&w, ",");
            if (v->status == FS_ONLINE_NOT_FOUND || v->status == FS_ONLINE_NULL_VALUE)
                JW_LIT(&w, "null");
            else if (v->type == FS_ONLINE_STRING)
                v->str ? jw_string(&w, v->str, v->str_len) : JW_LIT(&w, "null");
            else if (jt[r * nf + f][0]) /* formatted when the value was stored */
                jw_put(&w, jt[r * nf + f], strlen(jt[r * nf + f]));
            else
                JW_LIT(&w, "null");
        }
        JW_LIT(&w, "],\"statuses\":[");
        for (size_t r = 0; r < nrows; r++) {
            int st = vals[r * nf + f].status;
            if (st < 0 || st > FS_ONLINE_OUTSIDE_MAX_AGE)
                st = FS_ONLINE_NOT_FOUND;
            if (r)
                JW_LIT(&w, ",");
            jw_put(&w, status_json[st], status_json_len[st]);
        }
        JW_LIT(&w, "],\"event_timestamps\":[");
        for (size_t r = 0; r < nrows; r++) {
            if (r)
                JW_LIT(&w, ",");
            jw_time(&w, &tc, vals[r * nf + f].event_ts);
        }
        JW_LIT(&w, "]}");
    }
    JW_LIT(&w, "]}\n");
    if (!w.oom && jw_room(&w, 1)) {
        w.buf[w.len] = 0;
        out->status = 200;
        out->ctype = "application/json";
        out->body = w.buf;
        out->len = w.len;
        w.buf = NULL;
    } else {
        out->status = 500; /* fs_server_handle answers "out of memory" */
        out->body = NULL;
        out->len = 0;
    }
done:
    free(w.buf);
    fs_arena_free(&strings);
    if (buf != buf_small)
        free(buf);
    if (vals != vals_small)
        free(vals);
    if (jt != jt_small)
        free(jt);
}

/* The general reader: jansson, for every body gof_read leaves to it; the
 * refusals are worded here. */
static void get_online_features_json(fs_server *srv, const char *body, size_t len, fs_http_reply *out)
{
    json_t *req = parse_body(body, len, out);
    if (!req)
        return;
    struct qentry *owned = NULL; /* the query when the cache did not take it */
    gof_text *names = NULL, *values = NULL;
    gof_column *cols = NULL;
    char (*ints)[24] = NULL;
    size_t nnames = 0;
    json_t *features = json_object_get(req, "features");
    json_t *service = json_object_get(req, "feature_service");
    json_t *ents = json_object_get(req, "entities");
    json_t *full = json_object_get(req, "full_feature_names");
    gof_text svc = {0};
    if (features && service && !json_is_null(features) && !json_is_null(service)) {
        reply_error(out, 400, "give 'features' or 'feature_service', not both");
        goto done;
    }
    if (json_is_null(features))
        features = NULL;
    if (json_is_null(service))
        service = NULL;
    if (!features && !service) {
        reply_error(out, 400, "missing 'features' (a list of \"view:feature\") or 'feature_service' (a name)");
        goto done;
    }
    if (features) {
        if (!json_is_array(features)) {
            reply_error(out, 400, "'features' must be a list of \"view:feature\" strings, not %s",
                        json_type_name(features));
            goto done;
        }
        nnames = json_array_size(features);
        if (!nnames) {
            reply_error(out, 400, "'features' is empty");
            goto done;
        }
        if (!(names = calloc(nnames, sizeof *names))) {
            reply_error(out, 500, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < nnames; i++) {
            json_t *f = json_array_get(features, i);
            if (!json_is_string(f) || strlen(json_string_value(f)) != json_string_length(f)) {
                reply_error(out, 400, "features[%zu] must be a \"view:feature\" string, not %s", i,
                            json_is_string(f) ? "a string with a NUL byte" : json_type_name(f));
                goto done;
            }
            names[i].s = json_string_value(f);
            names[i].len = (uint32_t)json_string_length(f);
        }
    } else if (!json_is_string(service) || strlen(json_string_value(service)) != json_string_length(service)) {
        reply_error(out, 400, "'feature_service' must be a name (a string), not %s", json_type_name(service));
        goto done;
    } else {
        svc.s = json_string_value(service);
        svc.len = (uint32_t)json_string_length(service);
    }
    if (full && !json_is_boolean(full)) {
        reply_error(out, 400, "'full_feature_names' must be true or false, not %s", json_type_name(full));
        goto done;
    }
    int full_names = full && json_is_true(full);
    if (!ents || !json_is_object(ents)) {
        reply_error(out, 400, "missing 'entities': an object mapping each join key to a list of values%s",
                    ents ? " (it is not an object)" : "");
        goto done;
    }
    size_t ncols = json_object_size(ents), nrows = 0;
    const struct qentry *qe = gof_query(srv, names, nnames, service ? &svc : NULL, full_names, ncols, &owned, out);
    if (!qe)
        goto done;
    /* The entity columns, in the request's order. */
    if (!(cols = calloc(ncols, sizeof *cols))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    size_t c = 0;
    const char *key;
    json_t *val;
    json_object_foreach(ents, key, val) {
        if (!json_is_array(val)) {
            reply_error(out, 400, "entities.%s must be a list of values, not %s", key, json_type_name(val));
            goto done;
        }
        if (c == 0) {
            nrows = json_array_size(val);
            if (nrows && (!(values = calloc(ncols * nrows, sizeof *values)) ||
                          !(ints = calloc(ncols * nrows, sizeof *ints)))) {
                reply_error(out, 500, "out of memory");
                goto done;
            }
        } else if (json_array_size(val) != nrows) {
            reply_error(out, 400, "ragged entity lists: entities.%s has %zu values, entities.%s has %zu",
                        cols[0].name.s, nrows, key, json_array_size(val));
            goto done;
        }
        cols[c].values = values ? values + c * nrows : NULL;
        for (size_t i = 0; i < nrows; i++) {
            json_t *e = json_array_get(val, i);
            gof_text *t = &cols[c].values[i];
            if (json_is_string(e) && strlen(json_string_value(e)) == json_string_length(e)) {
                t->s = json_string_value(e);
                t->len = (uint32_t)json_string_length(e);
            } else if (json_is_integer(e)) {
                char *d = ints[c * nrows + i];
                t->len = (uint32_t)snprintf(d, sizeof ints[0], "%lld", (long long)json_integer_value(e));
                t->s = d;
                t->is_int = 1;
            } else {
                reply_error(out, 400, "entities.%s[%zu] must be a string or an integer, not %s", key, i,
                            json_type_name(e));
                goto done;
            }
        }
        cols[c].name.s = key;
        cols[c++].name.len = (uint32_t)strlen(key);
    }
    gof_answer(srv, qe, full_names, cols, ncols, nrows, out);
done:
    free(names);
    free(values);
    free(ints);
    free(cols);
    fs_server_query_free(owned);
    json_decref(req);
}

static void get_online_features(fs_server *srv, const char *body, size_t len, fs_http_reply *out)
{
    gof_request rq;
    if (srv->json_only || !gof_read(body, len, &rq)) {
        get_online_features_json(srv, body, len, out);
        return;
    }
    struct qentry *owned = NULL;
    const struct qentry *qe = gof_query(srv, rq.features, rq.nfeatures, rq.service.s ? &rq.service : NULL,
                                        rq.full_names, rq.ncols, &owned, out);
    if (qe)
        gof_answer(srv, qe, rq.full_names, rq.cols, rq.ncols, rq.nrows, out);
    fs_server_query_free(owned);
    gof_request_free(&rq);
}

/* ---- POST /push -------------------------------------------------------------------- */

static void push(fs_server *srv, const char *body, size_t len, fs_http_reply *out)
{
    json_t *req = parse_body(body, len, out);
    if (!req)
        return;
    json_t *src = json_object_get(req, "push_source_name"), *df = json_object_get(req, "df");
    json_t *to = json_object_get(req, "to");
    unsigned flags = 0;
    char *dftext = NULL;
    if (!src || !json_is_string(src) || strlen(json_string_value(src)) != json_string_length(src)) {
        reply_error(out, 400, "'push_source_name' must name a source (a string)%s",
                    src ? "" : ": it is missing");
        goto done;
    }
    if (!df || !json_is_object(df)) {
        reply_error(out, 400, "'df' must be an object mapping column names to lists of values%s",
                    df ? "" : ": it is missing");
        goto done;
    }
    const char *tos = to && !json_is_null(to) ? json_string_value(to) : "online";
    if (!tos) {
        reply_error(out, 400, "'to' must be \"online\", \"offline\" or \"online_and_offline\", not %s",
                    json_type_name(to));
        goto done;
    }
    if (strcmp(tos, "online") == 0)
        flags = FS_PUSH_ONLINE;
    else if (strcmp(tos, "offline") == 0)
        flags = FS_PUSH_OFFLINE;
    else if (strcmp(tos, "online_and_offline") == 0 || strcmp(tos, "both") == 0)
        flags = FS_PUSH_ONLINE_AND_OFFLINE;
    else {
        reply_error(out, 400, "'to' must be \"online\", \"offline\" or \"online_and_offline\", not \"%s\"", tos);
        goto done;
    }
    if ((flags & FS_PUSH_OFFLINE) && !srv->opts.no_compute_on_push)
        flags |= FS_PUSH_COMPUTE;
    if (srv->opts.validate_only)
        flags |= FS_PUSH_DRY_RUN;
    if (!(dftext = json_dumps(df, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    fs_push_result res;
    pthread_mutex_lock(&srv->write_mu);
    int rc = fs_push(srv->store, json_string_value(src), dftext, strlen(dftext), flags,
                     srv->opts.lock_wait_ms, &res);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rc == FS_OK ? "" : fs_errmsg(srv->store));
    pthread_mutex_unlock(&srv->write_mu);
    if (rc != FS_OK && rc != FS_E_PARTIAL) {
        if (rc == FS_E_PARSE && res.bad_row >= 0) {
            fs_strbuf sb = {0};
            fs_sb_puts(&sb, "{\"error\": ");
            put_json_string(&sb, msg, strlen(msg));
            fs_sb_printf(&sb, ", \"row\": %ld, \"column\": ", res.bad_row);
            if (res.bad_column[0])
                put_json_string(&sb, res.bad_column, strlen(res.bad_column));
            else
                fs_sb_puts(&sb, "null");
            fs_sb_puts(&sb, "}\n");
            reply_text(out, 400, &sb, "application/json");
        } else {
            reply_error(out, http_status(rc), "%s", msg);
        }
        goto done;
    }
    fs_strbuf sb = {0};
    fs_sb_printf(&sb, "{\"status\": \"%s\", \"rows\": %llu, \"offline_commit\": %llu, \"online_values\": %llu",
                 srv->opts.validate_only ? "validated" : "ok", (unsigned long long)res.rows,
                 (unsigned long long)res.seq, (unsigned long long)res.values);
    if (rc == FS_E_PARTIAL) {
        fs_sb_puts(&sb, ", \"warning\": ");
        put_json_string(&sb, msg, strlen(msg));
    }
    fs_sb_puts(&sb, "}\n");
    reply_text(out, 200, &sb, "application/json");
done:
    free(dftext);
    json_decref(req);
}

/* ---- POST /materialize, /materialize-incremental ---------------------------------- */

static int time_field(json_t *req, const char *name, int64_t *out, fs_http_reply *reply)
{
    json_t *v = json_object_get(req, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    char text[64], msg[200];
    const char *s;
    size_t len;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        s = text;
    } else {
        reply_error(reply, 400, "'%s' must be a time (RFC 3339 text or epoch number), not %s", name,
                    json_type_name(v));
        return -1;
    }
    if (fs_parse_time(s, len, out, msg, sizeof msg) != FS_OK) {
        reply_error(reply, 400, "'%s': %s", name, msg);
        return -1;
    }
    if (*out == 0) /* the epoch itself: 0 means "unbounded" to the store */
        *out = 1;
    return 0;
}

static void materialize(fs_server *srv, const char *body, size_t len, int incremental, fs_http_reply *out)
{
    json_t *req = parse_body(body, len, out);
    if (!req)
        return;
    const char **views = NULL;
    fs_materialize_opts o = {0};
    json_t *fv = json_object_get(req, "feature_views");
    if (fv && !json_is_null(fv) && !json_is_array(fv)) {
        reply_error(out, 400, "'feature_views' must be a list of view names, not %s", json_type_name(fv));
        goto done;
    }
    if (fv && json_is_array(fv) && json_array_size(fv)) {
        size_t n = json_array_size(fv);
        if (!(views = calloc(n, sizeof *views))) {
            reply_error(out, 500, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(fv, i);
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                reply_error(out, 400, "feature_views[%zu] must be a view name, not %s", i, json_type_name(v));
                goto done;
            }
            views[i] = json_string_value(v);
        }
        o.views = views;
        o.n_views = n;
    }
    if ((!incremental && time_field(req, "start_ts", &o.from, out)) || time_field(req, "end_ts", &o.to, out))
        goto done;
    if (o.from && o.to && o.from > o.to) {
        reply_error(out, 400, "'start_ts' is after 'end_ts'");
        goto done;
    }
    o.incremental = incremental;
    o.lock_wait_ms = srv->opts.lock_wait_ms;
    /* Names are checked even when nothing is written. */
    for (size_t i = 0; i < o.n_views; i++) {
        char *detail = NULL;
        fs_online_query *q = NULL;
        int rc = fs_online_prepare(srv->online, &views[i], 1, NULL, &q, &detail);
        fs_online_query_free(q);
        if (rc != FS_OK) {
            reply_error(out, http_status(rc), "%s", detail ? detail : fs_strerror(rc));
            fs_free(detail);
            goto done;
        }
    }
    fs_strbuf sb = {0};
    if (srv->opts.validate_only) {
        fs_sb_puts(&sb, "{\"status\": \"validated\"}\n");
        reply_text(out, 200, &sb, "application/json");
        goto done;
    }
    fs_materialize_result res;
    pthread_mutex_lock(&srv->write_mu);
    int rc = fs_materialize(srv->store, &o, &res);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rc == FS_OK ? "" : fs_errmsg(srv->store));
    pthread_mutex_unlock(&srv->write_mu);
    if (rc != FS_OK) {
        reply_error(out, http_status(rc), "%s", msg[0] ? msg : fs_strerror(rc));
        goto done;
    }
    fs_sb_printf(&sb, "{\"status\": \"ok\", \"views\": %zu, \"entities\": %llu, \"values\": %llu, "
                      "\"duration_ms\": %.3f}\n",
                 res.views, (unsigned long long)res.entities, (unsigned long long)res.values,
                 (double)res.duration_ns / 1e6);
    reply_text(out, 200, &sb, "application/json");
done:
    free(views);
    json_decref(req);
}

/* ---- routing ------------------------------------------------------------------------ */

static const struct {
    const char *path;
    int post; /* 1: POST; 0: GET (and HEAD) */
} routes[EP_OTHER] = {
    [EP_GET_ONLINE_FEATURES] = {"/get-online-features", 1},
    [EP_PUSH] = {"/push", 1},
    [EP_MATERIALIZE] = {"/materialize", 1},
    [EP_MATERIALIZE_INCREMENTAL] = {"/materialize-incremental", 1},
    [EP_HEALTH] = {"/health", 0},
    [EP_METRICS] = {"/metrics", 0},
    [EP_REGISTRY] = {"/registry", 0},
};

int fs_server_route(const char *path)
{
    for (int i = 0; i < EP_OTHER; i++)
        if (path && strcmp(path, routes[i].path) == 0)
            return i;
    return EP_OTHER;
}

void fs_server_handle(fs_server *srv, const char *method, const char *path, const char *body,
                      size_t len, fs_http_reply *out)
{
    memset(out, 0, sizeof *out);
    int ep = fs_server_route(path);
    out->endpoint = ep;
    if (ep == EP_OTHER) {
        fs_strbuf p = {0};
        put_json_string(&p, path ? path : "", path ? strlen(path) : 0);
        reply_error(out, 404, "no such endpoint: %s (see docs/http-api.md)", fs_sb_str(&p));
        fs_sb_free(&p);
        goto check;
    }
    int is_post = method && strcmp(method, "POST") == 0;
    int is_get = method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
    if (routes[ep].post ? !is_post : !is_get) {
        out->allow = routes[ep].post ? "POST" : "GET, HEAD";
        reply_error(out, 405, "%s takes %s", routes[ep].path, routes[ep].post ? "POST" : "GET");
        goto check;
    }
    fs_strbuf sb = {0};
    switch (ep) {
    case EP_GET_ONLINE_FEATURES: get_online_features(srv, body, len, out); break;
    case EP_PUSH: push(srv, body, len, out); break;
    case EP_MATERIALIZE: materialize(srv, body, len, 0, out); break;
    case EP_MATERIALIZE_INCREMENTAL: materialize(srv, body, len, 1, out); break;
    case EP_HEALTH:
        fs_sb_puts(&sb, "{\"status\": \"ok\"}\n");
        reply_text(out, 200, &sb, "application/json");
        break;
    case EP_METRICS:
        out->body = fs_server_metrics_text(srv, &out->len);
        out->status = out->body ? 200 : 500;
        out->ctype = "text/plain; version=0.0.4";
        break;
    case EP_REGISTRY: {
        char *json = NULL;
        int rc = fs_registry_json(srv->store, &json);
        if (rc != FS_OK) {
            reply_error(out, 500, "%s", fs_strerror(rc));
        } else {
            out->status = 200;
            out->body = json;
            out->len = strlen(json);
            out->ctype = "application/json";
        }
        break;
    }
    }
check:
    if (!out->body) { /* out of memory somewhere: a static answer */
        static const char oom[] = "{\"error\": \"out of memory\"}\n";
        out->status = 500;
        out->ctype = "application/json";
        out->body = malloc(sizeof oom);
        out->len = out->body ? sizeof oom - 1 : 0;
        if (out->body)
            memcpy(out->body, oom, sizeof oom);
    }
}
