/* The fast path of POST /get-online-features: reads the request body the way
 * a client usually writes it (gof_reader.h says exactly which bodies) into
 * slices of the body, with no allocation for the usual sizes and no JSON
 * tree. Parsing the body with jansson took about half of the handler's time
 * (a tree of ~25 allocated values for 1 entity x 20 features, then walking
 * it). Anything this reader does not recognise in full, including every
 * malformed or refused body, makes it return 0 and the handler reads the
 * body with jansson as before: so the answers, and every error message,
 * stay those of the general reader (fuzz/fuzz_request.c compares the two). */
#include "server/gof_reader.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Skips whitespace, then takes byte ch. */
static int take(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != ch)
        return 0;
    c->p++;
    return 1;
}

/* A string of ASCII without escapes or control characters ('"' next). */
static int read_string(cursor *c, gof_text *out)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return 0;
    const char *s = ++c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            if ((size_t)(c->p - s) > UINT32_MAX)
                return 0;
            out->s = s;
            out->len = (uint32_t)(c->p - s);
            out->is_int = 0;
            c->p++;
            return 1;
        }
        if (ch < 0x20 || ch >= 0x80 || ch == '\\')
            return 0; /* controls, escapes, UTF-8: the general reader checks those */
        c->p++;
    }
    return 0;
}

/* An integer as JSON writes it (-?(0|[1-9][0-9]*), no fraction or
 * exponent), of at most 18 digits so that it fits an int64, and not "-0"
 * (whose value prints as "0"): its text is then what "%lld" prints of its
 * value. */
static int read_integer(cursor *c, gof_text *out)
{
    skip_ws(c);
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-')
        c->p++;
    const char *d = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    size_t nd = (size_t)(c->p - d);
    if (nd == 0 || nd > 18 || (nd > 1 && *d == '0') || (nd == 1 && *d == '0' && d != s))
        return 0;
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return 0; /* a real */
    out->s = s;
    out->len = (uint32_t)(c->p - s);
    out->is_int = 1;
    return 1;
}

static int push_value(gof_request *rq, const gof_text *v)
{
    if (rq->nvalues == rq->cap_values) {
        size_t cap = rq->cap_values * 2;
        gof_text *nv = malloc(cap * sizeof *nv);
        if (!nv)
            return 0;
        memcpy(nv, rq->values, rq->nvalues * sizeof *nv);
        if (rq->values != rq->inline_values)
            free(rq->values);
        rq->values = nv;
        rq->cap_values = cap;
    }
    rq->values[rq->nvalues++] = *v;
    return 1;
}

static int push_feature(gof_request *rq, const gof_text *f)
{
    if (rq->nfeatures == rq->cap_features) {
        size_t cap = rq->cap_features * 2;
        gof_text *nf = malloc(cap * sizeof *nf);
        if (!nf)
            return 0;
        memcpy(nf, rq->features, rq->nfeatures * sizeof *nf);
        if (rq->features != rq->inline_features)
            free(rq->features);
        rq->features = nf;
        rq->cap_features = cap;
    }
    rq->features[rq->nfeatures++] = *f;
    return 1;
}

/* "features": a non-empty list of strings. */
static int read_features(cursor *c, gof_request *rq)
{
    if (!take(c, '['))
        return 0;
    do {
        gof_text f;
        if (!read_string(c, &f) || !push_feature(rq, &f))
            return 0;
    } while (take(c, ','));
    return take(c, ']');
}

/* "entities": an object of lists of strings or integers, one length. */
static int read_entities(cursor *c, gof_request *rq)
{
    if (!take(c, '{'))
        return 0;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 1; /* no columns: the handler words that refusal */
    }
    do {
        if (rq->ncols == GOF_MAX_COLUMNS)
            return 0;
        gof_column *col = &rq->cols[rq->ncols];
        if (!read_string(c, &col->name) || !take(c, ':') || !take(c, '['))
            return 0;
        for (size_t i = 0; i < rq->ncols; i++)
            if (rq->cols[i].name.len == col->name.len && memcmp(rq->cols[i].name.s, col->name.s, col->name.len) == 0)
                return 0; /* a duplicate key: jansson refuses it */
        size_t first = rq->nvalues;
        skip_ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
        } else {
            do {
                gof_text v;
                skip_ws(c);
                if (c->p < c->end && *c->p == '"' ? !read_string(c, &v) : !read_integer(c, &v))
                    return 0;
                if (!push_value(rq, &v))
                    return 0;
            } while (take(c, ','));
            if (!take(c, ']'))
                return 0;
        }
        size_t n = rq->nvalues - first;
        if (rq->ncols == 0)
            rq->nrows = n;
        else if (n != rq->nrows)
            return 0; /* ragged: refused by the general reader */
        rq->ncols++;
    } while (take(c, ','));
    return take(c, '}');
}

static int is_key(const gof_text *k, const char *name)
{
    size_t n = strlen(name);
    return k->len == n && memcmp(k->s, name, n) == 0;
}

int gof_read(const char *body, size_t len, gof_request *rq)
{
    rq->features = rq->inline_features;
    rq->cap_features = GOF_INLINE_FEATURES;
    rq->nfeatures = 0;
    rq->service.s = NULL;
    rq->service.len = 0;
    rq->full_names = 0;
    rq->ncols = rq->nrows = 0;
    rq->values = rq->inline_values;
    rq->cap_values = GOF_INLINE_VALUES;
    rq->nvalues = 0;
    cursor c = {body, body + len};
    int seen_features = 0, seen_service = 0, seen_entities = 0, seen_full = 0;
    if (!body || !take(&c, '{'))
        goto general;
    do {
        gof_text key;
        if (!read_string(&c, &key) || !take(&c, ':'))
            goto general;
        skip_ws(&c);
        if (is_key(&key, "features") && !seen_features++) {
            if (!read_features(&c, rq))
                goto general;
        } else if (is_key(&key, "feature_service") && !seen_service++) {
            if (!read_string(&c, &rq->service))
                goto general;
        } else if (is_key(&key, "entities") && !seen_entities++) {
            if (!read_entities(&c, rq))
                goto general;
        } else if (is_key(&key, "full_feature_names") && !seen_full++) {
            if (c.end - c.p >= 4 && memcmp(c.p, "true", 4) == 0) {
                rq->full_names = 1;
                c.p += 4;
            } else if (c.end - c.p >= 5 && memcmp(c.p, "false", 5) == 0) {
                c.p += 5;
            } else {
                goto general;
            }
        } else {
            goto general; /* another member, or one given twice */
        }
    } while (take(&c, ','));
    if (!take(&c, '}'))
        goto general;
    skip_ws(&c);
    if (c.p != c.end || seen_features == seen_service || !seen_entities)
        goto general; /* trailing bytes; both or neither of features and service; no entities */
    /* Values were stored column after column, nrows each. */
    for (size_t i = 0; i < rq->ncols; i++)
        rq->cols[i].values = rq->values + i * rq->nrows;
    return 1;
general:
    gof_request_free(rq);
    return 0;
}

void gof_request_free(gof_request *rq)
{
    if (rq->features != rq->inline_features)
        free(rq->features);
    if (rq->values != rq->inline_values)
        free(rq->values);
    rq->features = rq->inline_features;
    rq->values = rq->inline_values;
    rq->nfeatures = rq->nvalues = 0;
}
