/* One online view's table and its file image (online.h; the format is in
 * docs/online.md).
 *
 * File: "FSONLINE" magic, u32 format version, then varints (LEB128) and
 * fixed little-endian fields (codec/buf.h), and last a u32 CRC-32C of every
 * byte before it:
 *   version 1: view name, svarint mat_to, varint mat_seq, svarint mat_time,
 *   varint generation, varint n_features, per feature (name, u8 type hint),
 *   varint n_entities, per entity: key, then per feature u8 state and, for a
 *   state other than NONE: svarint event_ts, varint seq, u64 confidence
 *   bits, u8 type, and for VALUE the value (f64 bits; svarint for int64,
 *   timestamp and bool; varint length + bytes for a string). */
#include "online/online.h"

#include "codec/buf.h"
#include "core/crc32c.h"
#include "core/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "FSONLINE"
#define FORMAT_VERSION 1u

otab *fs_otab_new(size_t nf)
{
    otab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nf = nf;
    t->mat_to = INT64_MIN;
    return t;
}

void fs_otab_free(otab *t)
{
    if (!t)
        return;
    free(t->keys);
    free(t->klen);
    free(t->khash);
    free(t->cells);
    free(t->jt);
    free(t->slots);
    fs_arena_free(&t->arena);
    free(t);
}

uint64_t fs_otab_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix for the low bits */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

long fs_otab_find(const otab *t, const char *key, size_t len, uint64_t hash)
{
    if (!t->nslots)
        return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (!s)
            return -1;
        size_t e = s - 1;
        if (t->khash[e] == hash && t->klen[e] == len && memcmp(t->keys[e], key, len) == 0)
            return (long)e;
    }
}

static int rehash(otab *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t e = 0; e < t->n; e++) {
        size_t i = t->khash[e] & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = (uint32_t)(e + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static int grow(otab *t, size_t cap)
{
    const char **keys = realloc(t->keys, cap * sizeof *keys);
    if (keys)
        t->keys = keys;
    uint32_t *klen = realloc(t->klen, cap * sizeof *klen);
    if (klen)
        t->klen = klen;
    uint64_t *khash = realloc(t->khash, cap * sizeof *khash);
    if (khash)
        t->khash = khash;
    ocell *cells = realloc(t->cells, cap * (t->nf ? t->nf : 1) * sizeof *cells);
    if (cells)
        t->cells = cells;
    char(*jt)[FS_OTAB_JT] = realloc(t->jt, cap * (t->nf ? t->nf : 1) * sizeof *jt);
    if (jt)
        t->jt = jt;
    if (!keys || !klen || !khash || !cells || !jt)
        return -1;
    t->cap = cap;
    return 0;
}

long fs_otab_upsert(otab *t, const char *key, size_t len)
{
    uint64_t h = fs_otab_hash(key, len);
    long e = fs_otab_find(t, key, len, h);
    if (e >= 0)
        return e;
    if (len > UINT32_MAX || t->n >= UINT32_MAX - 1)
        return -1;
    if (t->n == t->cap && grow(t, t->cap ? 2 * t->cap : 16))
        return -1;
    if ((t->n + 1) * 2 > t->nslots && rehash(t, t->nslots ? 2 * t->nslots : 32))
        return -1;
    char *k = fs_arena_strndup(&t->arena, key, len);
    if (!k)
        return -1;
    size_t n = t->n++;
    t->keys[n] = k;
    t->klen[n] = (uint32_t)len;
    t->khash[n] = h;
    memset(&t->cells[n * t->nf], 0, t->nf * sizeof(ocell));
    memset(&t->jt[n * t->nf], 0, t->nf * sizeof *t->jt);
    size_t mask = t->nslots - 1, i = h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = (uint32_t)(n + 1);
    return (long)n;
}

otab *fs_otab_clone(const otab *t)
{
    otab *c = fs_otab_new(t->nf);
    if (!c)
        return NULL;
    c->mat_to = t->mat_to;
    c->mat_seq = t->mat_seq;
    c->mat_time = t->mat_time;
    c->generation = t->generation;
    if (!t->n)
        return c;
    if (grow(c, t->n) || rehash(c, t->nslots ? t->nslots : 32)) {
        fs_otab_free(c);
        return NULL;
    }
    /* Keys and strings go into one arena block each (the arena packs them). */
    for (size_t e = 0; e < t->n; e++) {
        char *k = fs_arena_strndup(&c->arena, t->keys[e], t->klen[e]);
        if (!k) {
            fs_otab_free(c);
            return NULL;
        }
        c->keys[e] = k;
        c->klen[e] = t->klen[e];
        c->khash[e] = t->khash[e];
        for (size_t f = 0; f < t->nf; f++) {
            ocell cell = t->cells[e * t->nf + f];
            if (cell.state == OC_VALUE && cell.type == FS_VT_STRING) {
                char *s = fs_arena_strndup(&c->arena, cell.s, cell.slen);
                if (!s) {
                    fs_otab_free(c);
                    return NULL;
                }
                cell.s = s;
            }
            c->cells[e * t->nf + f] = cell;
        }
    }
    memcpy(c->jt, t->jt, t->n * t->nf * sizeof *t->jt);
    c->n = t->n;
    memcpy(c->slots, t->slots, t->nslots * sizeof *c->slots);
    return c;
}

size_t fs_json_number(double d, char *buf)
{
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 26, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d)
            return (size_t)n;
    }
    return 0;
}

/* A cell's JSON text (strings are written by the server, escaped). */
static void cell_text(const ocell *c, char *out)
{
    out[0] = 0;
    if (c->state != OC_VALUE)
        return;
    switch (c->type) {
    case FS_VT_FLOAT64:
        if (isfinite(c->v.f))
            fs_json_number(c->v.f, out);
        else
            strcpy(out, "null");
        break;
    case FS_VT_INT64: snprintf(out, FS_OTAB_JT, "%lld", (long long)c->v.i); break;
    case FS_VT_BOOL: strcpy(out, c->v.i ? "true" : "false"); break;
    case FS_VT_TIMESTAMP:
        out[0] = '"';
        {
            size_t n = fs_format_time(c->v.i, out + 1, FS_OTAB_JT - 2);
            out[n + 1] = '"';
            out[n + 2] = 0;
        }
        break;
    default: break;
    }
}

int fs_ocell_older(const ocell *c, int64_t ts, uint64_t seq)
{
    return c->state == OC_NONE || ts > c->ts || (ts == c->ts && seq >= c->seq);
}

int fs_otab_set(otab *t, size_t ent, size_t f, const fs_batch *b, int col, size_t row, int64_t ts,
                uint64_t seq, double conf)
{
    ocell *c = &t->cells[ent * t->nf + f];
    char *jt = t->jt[ent * t->nf + f];
    jt[0] = 0;
    memset(c, 0, sizeof *c);
    c->ts = ts;
    c->seq = seq;
    c->conf = conf;
    if (col < 0 || !b->cols[col].valid[row]) {
        c->state = OC_NULL;
        c->type = col < 0 ? FS_VT_FLOAT64 : (uint8_t)b->cols[col].type;
        return FS_OK;
    }
    const fs_column *k = &b->cols[col];
    c->state = OC_VALUE;
    c->type = (uint8_t)k->type;
    switch (k->type) {
    case FS_VT_FLOAT64: c->v.f = k->f64[row]; break;
    case FS_VT_INT64:
    case FS_VT_TIMESTAMP: c->v.i = k->i64[row]; break;
    case FS_VT_BOOL: c->v.i = k->b[row] ? 1 : 0; break;
    case FS_VT_STRING: {
        char *s = fs_arena_strndup(&t->arena, k->s[row], k->slen[row]);
        if (!s)
            return FS_E_NOMEM;
        c->s = s;
        c->slen = k->slen[row];
        break;
    }
    }
    cell_text(c, jt);
    return FS_OK;
}

/* ---- the file ------------------------------------------------------------------- */

static void put_str(fs_wbuf *w, const char *s, size_t len)
{
    fs_wbuf_varint(w, len);
    fs_wbuf_bytes(w, s, len);
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int fs_otab_serialize(const oview *v, const otab *t, uint8_t **out, size_t *len)
{
    fs_wbuf w = {0};
    fs_wbuf_bytes(&w, MAGIC, 8);
    fs_wbuf_u32(&w, FORMAT_VERSION);
    put_str(&w, v->name, strlen(v->name));
    fs_wbuf_svarint(&w, t->mat_to);
    fs_wbuf_varint(&w, t->mat_seq);
    fs_wbuf_svarint(&w, t->mat_time);
    fs_wbuf_varint(&w, t->generation);
    fs_wbuf_varint(&w, t->nf);
    for (size_t f = 0; f < t->nf; f++) {
        put_str(&w, v->f[f].name, strlen(v->f[f].name));
        fs_wbuf_u8(&w, (uint8_t)v->f[f].from);
    }
    fs_wbuf_varint(&w, t->n);
    for (size_t e = 0; e < t->n; e++) {
        put_str(&w, t->keys[e], t->klen[e]);
        for (size_t f = 0; f < t->nf; f++) {
            const ocell *c = &t->cells[e * t->nf + f];
            fs_wbuf_u8(&w, c->state);
            if (c->state == OC_NONE)
                continue;
            fs_wbuf_svarint(&w, c->ts);
            fs_wbuf_varint(&w, c->seq);
            fs_wbuf_u64(&w, dbits(c->conf));
            fs_wbuf_u8(&w, c->type);
            if (c->state != OC_VALUE)
                continue;
            switch (c->type) {
            case FS_VT_FLOAT64: fs_wbuf_u64(&w, dbits(c->v.f)); break;
            case FS_VT_STRING: put_str(&w, c->s, c->slen); break;
            default: fs_wbuf_svarint(&w, c->v.i); break;
            }
        }
    }
    fs_wbuf_u32(&w, fs_crc32c(0, w.data, w.len));
    if (fs_wbuf_status(&w) != FS_OK) {
        fs_wbuf_free(&w);
        return FS_E_NOMEM;
    }
    *out = w.data;
    *len = w.len;
    return FS_OK;
}

static int get_str(fs_rbuf *r, const char **s, size_t *len)
{
    uint64_t n;
    if (fs_rbuf_varint(r, &n) || n > r->len - r->pos)
        return -1;
    *s = (const char *)fs_rbuf_take(r, (size_t)n);
    *len = (size_t)n;
    return *s || n == 0 ? 0 : -1;
}

int fs_otab_parse(const oview *v, const uint8_t *data, size_t len, otab **out, fs_strbuf *err)
{
    *out = NULL;
    if (len < 16 || memcmp(data, MAGIC, 8) != 0) {
        fs_sb_printf(err, "not an online store file (no FSONLINE header)");
        return FS_E_CORRUPT;
    }
    uint32_t crc = 0;
    fs_rbuf cr;
    fs_rbuf_init(&cr, data + len - 4, 4);
    fs_rbuf_u32(&cr, &crc);
    if (fs_crc32c(0, data, len - 4) != crc) {
        fs_sb_printf(err, "checksum mismatch (the file is damaged)");
        return FS_E_CORRUPT;
    }
    fs_rbuf r;
    fs_rbuf_init(&r, data + 8, len - 12);
    uint32_t version;
    fs_rbuf_u32(&r, &version);
    if (version != FORMAT_VERSION) {
        fs_sb_printf(err, "format version %u (this build reads %u)", version, FORMAT_VERSION);
        return FS_E_VERSION;
    }
    const char *name;
    size_t nlen;
    uint64_t nf = 0, n = 0, gen = 0, mseq = 0;
    int64_t mto = 0, mtime = 0;
    if (get_str(&r, &name, &nlen) || fs_rbuf_svarint(&r, &mto) || fs_rbuf_varint(&r, &mseq) ||
        fs_rbuf_svarint(&r, &mtime) || fs_rbuf_varint(&r, &gen) || fs_rbuf_varint(&r, &nf) ||
        nf > 100000) {
        fs_sb_printf(err, "truncated header");
        return FS_E_CORRUPT;
    }
    int *map = calloc(nf + 1, sizeof *map); /* stored feature -> the view's, or -1 */
    otab *t = fs_otab_new(v->nf);
    int rc = map && t ? FS_OK : FS_E_NOMEM;
    for (uint64_t f = 0; rc == FS_OK && f < nf; f++) {
        const char *fname;
        size_t flen;
        uint8_t hint;
        if (get_str(&r, &fname, &flen) || fs_rbuf_u8(&r, &hint)) {
            rc = FS_E_CORRUPT;
            break;
        }
        map[f] = -1;
        for (size_t k = 0; k < v->nf; k++)
            if (strlen(v->f[k].name) == flen && memcmp(v->f[k].name, fname, flen) == 0)
                map[f] = (int)k;
    }
    if (rc == FS_OK && fs_rbuf_varint(&r, &n))
        rc = FS_E_CORRUPT;
    for (uint64_t e = 0; rc == FS_OK && e < n; e++) {
        const char *key;
        size_t klen;
        if (get_str(&r, &key, &klen)) {
            rc = FS_E_CORRUPT;
            break;
        }
        long ent = fs_otab_upsert(t, key, klen);
        if (ent < 0) {
            rc = FS_E_NOMEM;
            break;
        }
        for (uint64_t f = 0; rc == FS_OK && f < nf; f++) {
            ocell c = {0};
            uint64_t conf = 0, fb = 0;
            if (fs_rbuf_u8(&r, &c.state) || c.state > OC_NULL) {
                rc = FS_E_CORRUPT;
                break;
            }
            if (c.state == OC_NONE)
                continue;
            if (fs_rbuf_svarint(&r, &c.ts) || fs_rbuf_varint(&r, &c.seq) || fs_rbuf_u64(&r, &conf) ||
                fs_rbuf_u8(&r, &c.type) || c.type > FS_VT_TIMESTAMP) {
                rc = FS_E_CORRUPT;
                break;
            }
            memcpy(&c.conf, &conf, sizeof c.conf);
            if (c.state == OC_VALUE) {
                if (c.type == FS_VT_FLOAT64) {
                    if (fs_rbuf_u64(&r, &fb))
                        rc = FS_E_CORRUPT;
                    memcpy(&c.v.f, &fb, sizeof c.v.f);
                } else if (c.type == FS_VT_STRING) {
                    const char *s;
                    size_t sl;
                    char *copy = NULL;
                    if (get_str(&r, &s, &sl) || sl > UINT32_MAX)
                        rc = FS_E_CORRUPT;
                    else if (!(copy = fs_arena_strndup(&t->arena, s ? s : "", sl)))
                        rc = FS_E_NOMEM;
                    c.s = copy;
                    c.slen = (uint32_t)sl;
                } else if (fs_rbuf_svarint(&r, &c.v.i)) {
                    rc = FS_E_CORRUPT;
                }
            }
            if (rc == FS_OK && map[f] >= 0) {
                size_t at = (size_t)ent * t->nf + (size_t)map[f];
                t->cells[at] = c;
                cell_text(&c, t->jt[at]);
            }
        }
    }
    if (rc == FS_OK && r.pos != r.len)
        rc = FS_E_CORRUPT;
    if (rc != FS_OK) {
        if (rc == FS_E_CORRUPT)
            fs_sb_printf(err, "malformed content");
        free(map);
        fs_otab_free(t);
        return rc;
    }
    free(map);
    t->mat_to = mto;
    t->mat_seq = mseq;
    t->mat_time = mtime;
    t->generation = gen;
    *out = t;
    return FS_OK;
}
