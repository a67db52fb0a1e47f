/* The feature server's endpoints: request JSON in, reply JSON out
 * (docs/http-api.md is the reference; server.h the structure). Every field
 * of a request is checked before anything is looked up or written, and
 * every refusal is a 4xx with {"error": "..."} naming the field. */
#include "server/server.h"

#include "core/arena.h"
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

/* JSON string contents (no quotes): ", \ and control characters escaped;
 * bytes that are not UTF-8 (error messages may quote raw input) become
 * U+FFFD, so that the answer is always valid JSON. */
static void put_json_chars(fs_strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)s + i, len - i);
            if (k) {
                i += k;
                continue;
            }
            fs_sb_append(sb, s + start, i - start);
            fs_sb_puts(sb, "\\ufffd");
            start = ++i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        fs_sb_append(sb, s + start, i - start);
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        fs_sb_puts(sb, esc);
        start = ++i;
    }
    fs_sb_append(sb, s + start, len - start);
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

struct qentry {
    struct qentry *next;
    uint64_t hash;
    char *key;
    size_t klen;
    fs_online_query *q;
};

int fs_server_query(fs_server *srv, const char *const *features, size_t n, const char *service,
                    const fs_online_query **q, fs_online_query **owned, char **detail)
{
    *q = NULL;
    *owned = NULL;
    /* The key: the service's name after a 0x01 byte, or each feature name
     * followed by a NUL (names hold no NUL: the handler refused those). */
    fs_strbuf key = {0};
    if (service) {
        fs_sb_append(&key, "\x01", 1);
        fs_sb_append(&key, service, strlen(service) + 1);
    } else {
        for (size_t i = 0; i < n; i++)
            fs_sb_append(&key, features[i], strlen(features[i]) + 1);
    }
    if (key.oom) {
        fs_sb_free(&key);
        return FS_E_NOMEM;
    }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < key.len; i++)
        h = (h ^ (uint8_t)key.buf[i]) * 1099511628211ULL;
    size_t b = h % QCACHE_BUCKETS;
    pthread_mutex_lock(&srv->qmu);
    for (struct qentry *e = srv->qbuckets ? srv->qbuckets[b] : NULL; e; e = e->next)
        if (e->hash == h && e->klen == key.len && memcmp(e->key, key.buf, key.len) == 0) {
            *q = e->q;
            break;
        }
    pthread_mutex_unlock(&srv->qmu);
    if (*q) {
        fs_sb_free(&key);
        return FS_OK;
    }
    fs_online_query *nq = NULL;
    int rc = fs_online_prepare(srv->online, features, n, service, &nq, detail);
    if (rc != FS_OK) { /* refusals are not cached: they are cheap and unbounded */
        fs_sb_free(&key);
        return rc;
    }
    struct qentry *e = NULL;
    pthread_mutex_lock(&srv->qmu);
    if (srv->qbuckets && srv->qcount < QCACHE_MAX && (e = calloc(1, sizeof *e))) {
        e->hash = h;
        e->klen = key.len;
        e->key = fs_sb_take(&key);
        e->q = nq;
        e->next = srv->qbuckets[b];
        srv->qbuckets[b] = e;
        srv->qcount++;
    }
    pthread_mutex_unlock(&srv->qmu);
    fs_sb_free(&key);
    *q = nq;
    if (!e)
        *owned = nq;
    return FS_OK;
}

void fs_server_query_cache_free(fs_server *srv)
{
    for (size_t b = 0; srv->qbuckets && b < QCACHE_BUCKETS; b++)
        for (struct qentry *e = srv->qbuckets[b], *next; e; e = next) {
            next = e->next;
            free(e->key);
            fs_online_query_free(e->q);
            free(e);
        }
    free(srv->qbuckets);
    srv->qbuckets = NULL;
}

size_t fs_server_query_buckets(void) { return QCACHE_BUCKETS; }

/* Recently formatted event times: the features of one view share their
 * row's time, and the rows of one bar theirs. */
typedef struct {
    int64_t ts[8];
    char text[8][FS_TIME_STRLEN];
    size_t len[8];
    unsigned next;
} ts_cache;

static void ts_text(ts_cache *c, int64_t ts, fs_strbuf *sb)
{
    for (int i = 0; i < 8; i++)
        if (c->len[i] && c->ts[i] == ts) {
            fs_sb_append(sb, c->text[i], c->len[i]);
            return;
        }
    unsigned i = c->next++ % 8;
    c->ts[i] = ts;
    c->len[i] = fs_format_time(ts, c->text[i], sizeof c->text[i]);
    fs_sb_append(sb, c->text[i], c->len[i]);
}

/* One entity key column of the request. */
typedef struct {
    const char *name;
    json_t *values;
} keycol;

static void get_online_features(fs_server *srv, const char *body, size_t len, fs_http_reply *out)
{
    json_t *req = parse_body(body, len, out);
    if (!req)
        return;
    const fs_online_query *q = NULL;
    fs_online_query *owned = NULL; /* q when the cache did not take it */
    fs_online_value *vals = NULL;
    char(*jt)[FS_OTAB_JT] = NULL;
    keycol *cols = NULL;
    int *keymap = NULL;
    char **names = NULL;
    size_t nnames = 0;
    fs_arena strings = {0};
    fs_strbuf sb = {0};
    char *buf = NULL;
    json_t *features = json_object_get(req, "features");
    json_t *service = json_object_get(req, "feature_service");
    json_t *ents = json_object_get(req, "entities");
    json_t *full = json_object_get(req, "full_feature_names");
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
            names[i] = (char *)json_string_value(f);
        }
    } else if (!json_is_string(service) || strlen(json_string_value(service)) != json_string_length(service)) {
        reply_error(out, 400, "'feature_service' must be a name (a string), not %s", json_type_name(service));
        goto done;
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
    char *detail = NULL;
    int rc = fs_server_query(srv, (const char *const *)names, nnames, service ? json_string_value(service) : NULL,
                             &q, &owned, &detail);
    if (rc != FS_OK) {
        reply_error(out, http_status(rc), "%s", detail ? detail : fs_strerror(rc));
        fs_free(detail);
        goto done;
    }
    size_t nf = fs_online_query_size(q), nk = fs_online_query_nkeys(q);
    /* Output names: bare (the default) must not collide. */
    for (size_t i = 0; !full_names && i < nf; i++)
        for (size_t j = 0; j < i; j++) {
            const char *a = strchr(fs_online_query_feature(q, i), ':') + 1;
            const char *b = strchr(fs_online_query_feature(q, j), ':') + 1;
            if (strcmp(a, b) == 0) {
                reply_error(out, 400, "features %s and %s would both be named '%s': set "
                            "\"full_feature_names\": true (names become view__feature)",
                            fs_online_query_feature(q, j), fs_online_query_feature(q, i), a);
                goto done;
            }
        }
    /* The entity columns, in the request's order. */
    size_t ncols = json_object_size(ents), nrows = 0;
    if (!ncols) {
        reply_error(out, 400, "'entities' is empty: give the join keys %s%s", fs_online_query_key(q, 0),
                    nk > 1 ? " and the others of the features' entity" : "");
        goto done;
    }
    cols = calloc(ncols, sizeof *cols);
    keymap = calloc(nk + 1, sizeof *keymap);
    if (!cols || !keymap) {
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
        if (c == 0)
            nrows = json_array_size(val);
        else if (json_array_size(val) != nrows) {
            reply_error(out, 400, "ragged entity lists: entities.%s has %zu values, entities.%s has %zu",
                        cols[0].name, nrows, key, json_array_size(val));
            goto done;
        }
        for (size_t i = 0; i < json_array_size(val); i++) {
            json_t *e = json_array_get(val, i);
            if (!(json_is_string(e) && strlen(json_string_value(e)) == json_string_length(e)) &&
                !json_is_integer(e)) {
                reply_error(out, 400, "entities.%s[%zu] must be a string or an integer, not %s", key, i,
                            json_type_name(e));
                goto done;
            }
        }
        cols[c].name = key;
        cols[c++].values = val;
    }
    for (size_t k = 0; k < nk; k++) {
        const char *kn = fs_online_query_key(q, k);
        size_t i = 0;
        while (i < ncols && strcmp(cols[i].name, kn) != 0)
            i++;
        if (i == ncols) {
            fs_strbuf all = {0};
            for (size_t j = 0; j < nk; j++)
                fs_sb_printf(&all, "%s%s", j ? ", " : "", fs_online_query_key(q, j));
            reply_error(out, 400, "missing join key '%s' in 'entities' (the features are keyed by %s)", kn,
                        fs_sb_str(&all));
            fs_sb_free(&all);
            goto done;
        }
        keymap[k] = (int)i;
    }
    /* Look every entity up, then write the columns. */
    if (nrows && (!(vals = malloc(nrows * nf * sizeof *vals)) || !(jt = malloc(nrows * nf * sizeof *jt)))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    size_t bufsz = 4096;
    if (!(buf = malloc(bufsz))) {
        reply_error(out, 500, "out of memory");
        goto done;
    }
    int64_t now = fs_now_ns();
    for (size_t r = 0; r < nrows; r++) {
        const char *parts[FS_ONLINE_MAX_KEYS];
        size_t lens[FS_ONLINE_MAX_KEYS];
        char ints[FS_ONLINE_MAX_KEYS][24];
        for (size_t k = 0; k < nk && k < FS_ONLINE_MAX_KEYS; k++) {
            json_t *e = json_array_get(cols[keymap[k]].values, r);
            if (json_is_string(e)) {
                parts[k] = json_string_value(e);
                lens[k] = json_string_length(e);
            } else {
                lens[k] = (size_t)snprintf(ints[k], sizeof ints[k], "%lld", (long long)json_integer_value(e));
                parts[k] = ints[k];
            }
        }
        fs_online_value *row = &vals[r * nf];
        size_t needed = 0;
        rc = fs_online_lookup_json(srv->online, q, parts, lens, nk, now, row, &jt[r * nf], buf, bufsz, &needed);
        if (rc == FS_E_NOSPACE) {
            char *nb = realloc(buf, needed + 1);
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
            if (row[f].type == FS_ONLINE_STRING && row[f].str &&
                !(row[f].str = fs_arena_strndup(&strings, row[f].str, row[f].str_len))) {
                reply_error(out, 500, "out of memory");
                goto done;
            }
    }
    atomic_fetch_add(&srv->m.entities_looked_up, nrows);
    ts_cache tc = {{0}, {{0}}, {0}, 0}; /* the features of one row mostly share their time */
    /* {"metadata": {"feature_names": [...]}, "results": [{"values", "statuses", "event_timestamps"}]}:
     * one allocation of about its size (a value is at most 33 bytes, a
     * status 17, a time 33; strings grow the buffer as needed) */
    size_t estimate = 256 + ncols * (64 + nrows * 72) + nf * (96 + nrows * (34 + 18 + 34));
    if ((sb.buf = malloc(estimate))) {
        sb.cap = estimate;
        sb.len = 0;
        sb.buf[0] = 0;
    }
    fs_sb_puts(&sb, "{\"metadata\":{\"feature_names\":[");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            fs_sb_append(&sb, ",", 1);
        put_json_string(&sb, cols[i].name, strlen(cols[i].name));
    }
    for (size_t f = 0; f < nf; f++) {
        const char *qn = fs_online_query_feature(q, f), *colon = strchr(qn, ':');
        fs_sb_append(&sb, ",", 1);
        if (full_names) { /* view__feature, as Feast names them */
            fs_sb_append(&sb, "\"", 1);
            put_json_chars(&sb, qn, (size_t)(colon - qn));
            fs_sb_append(&sb, "__", 2);
            put_json_chars(&sb, colon + 1, strlen(colon + 1));
            fs_sb_append(&sb, "\"", 1);
        } else {
            put_json_string(&sb, colon + 1, strlen(colon + 1));
        }
    }
    fs_sb_puts(&sb, "]},\"results\":[");
    for (size_t i = 0; i < ncols; i++) {
        fs_sb_puts(&sb, i ? ",{\"values\":[" : "{\"values\":[");
        for (size_t r = 0; r < nrows; r++) {
            json_t *e = json_array_get(cols[i].values, r);
            if (r)
                fs_sb_append(&sb, ",", 1);
            if (json_is_string(e))
                put_json_string(&sb, json_string_value(e), json_string_length(e));
            else
                fs_sb_printf(&sb, "%lld", (long long)json_integer_value(e));
        }
        fs_sb_puts(&sb, "],\"statuses\":[");
        for (size_t r = 0; r < nrows; r++)
            fs_sb_puts(&sb, r ? ",\"PRESENT\"" : "\"PRESENT\"");
        fs_sb_puts(&sb, "],\"event_timestamps\":[");
        for (size_t r = 0; r < nrows; r++)
            fs_sb_puts(&sb, r ? ",\"1970-01-01T00:00:00Z\"" : "\"1970-01-01T00:00:00Z\"");
        fs_sb_puts(&sb, "]}");
    }
    for (size_t f = 0; f < nf; f++) {
        fs_sb_puts(&sb, ",{\"values\":[");
        for (size_t r = 0; r < nrows; r++) {
            const fs_online_value *v = &vals[r * nf + f];
            if (r)
                fs_sb_append(&sb, ",", 1);
            if (v->status == FS_ONLINE_NOT_FOUND || v->status == FS_ONLINE_NULL_VALUE)
                fs_sb_append(&sb, "null", 4);
            else if (v->type == FS_ONLINE_STRING)
                v->str ? put_json_string(&sb, v->str, v->str_len) : fs_sb_append(&sb, "null", 4);
            else /* formatted when the value was stored */
                fs_sb_puts(&sb, jt[r * nf + f][0] ? jt[r * nf + f] : "null");
        }
        fs_sb_puts(&sb, "],\"statuses\":[");
        for (size_t r = 0; r < nrows; r++) {
            if (r)
                fs_sb_append(&sb, ",", 1);
            fs_sb_append(&sb, "\"", 1);
            fs_sb_puts(&sb, fs_online_status_name(vals[r * nf + f].status));
            fs_sb_append(&sb, "\"", 1);
        }
        fs_sb_puts(&sb, "],\"event_timestamps\":[");
        for (size_t r = 0; r < nrows; r++) {
            fs_sb_append(&sb, r ? ",\"" : "\"", r ? 2 : 1);
            ts_text(&tc, vals[r * nf + f].event_ts, &sb);
            fs_sb_append(&sb, "\"", 1);
        }
        fs_sb_puts(&sb, "]}");
    }
    fs_sb_puts(&sb, "]}\n");
    reply_text(out, 200, &sb, "application/json");
done:
    fs_sb_free(&sb);
    fs_arena_free(&strings);
    free(buf);
    free(vals);
    free(cols);
    free(keymap);
    free(names);
    free(jt);
    fs_online_query_free(owned);
    json_decref(req);
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
