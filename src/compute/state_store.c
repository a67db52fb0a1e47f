/* Saved per-entity computation states of a view (contract in state_store.h). */
#include "compute/state_store.h"

#include "codec/buf.h"
#include "core/crc32c.h"
#include "core/fileio.h"
#include "fstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_key(const void *a, const void *b)
{
    return strcmp(((const fs_entity_state *)a)->key, ((const fs_entity_state *)b)->key);
}

static void discard(fs_state_set *s, const char *why)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->ents[i].key);
        free(s->ents[i].state);
    }
    s->n = 0;
    s->discarded = 1;
    snprintf(s->why, sizeof s->why, "%s", why);
}

/* A new entry at the end (unsorted until the next save). */
static fs_entity_state *append_entry(fs_state_set *s, const char *key)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        fs_entity_state *p = realloc(s->ents, cap * sizeof *p);
        if (!p)
            return NULL;
        s->ents = p;
        s->cap = cap;
    }
    fs_entity_state *e = &s->ents[s->n];
    memset(e, 0, sizeof *e);
    if (!(e->key = strdup(key)) || !(e->state = malloc(s->state_size ? s->state_size : 1))) {
        free(e->key);
        return NULL;
    }
    s->n++;
    return e;
}

static void set_entry(fs_entity_state *e, size_t state_size, int64_t last_ts, uint64_t last_seq,
                      uint64_t rows, const void *state)
{
    e->last_ts = last_ts;
    e->last_seq = last_seq;
    e->rows = rows;
    memcpy(e->state, state, state_size);
}

int fs_state_load(const char *path, uint64_t hash, size_t state_size, fs_state_set *out,
                  fs_strbuf *err)
{
    memset(out, 0, sizeof *out);
    out->hash = hash;
    out->state_size = state_size;
    char *data = NULL;
    size_t len = 0;
    int rc = fs_read_file(path, &data, &len, err);
    if (rc == FS_E_NOTFOUND) {
        fs_sb_reset(err);
        return FS_OK;
    }
    if (rc != FS_OK)
        return rc;
    fs_rbuf r;
    uint32_t format = 0, crc = 0;
    uint64_t fhash = 0, fsize = 0, n = 0;
    char magic[4];
    for (int i = 0; len >= 4 && i < 4; i++) /* little-endian, as written */
        crc |= (uint32_t)(uint8_t)data[len - 4 + (size_t)i] << (8 * i);
    if (len < 4 || fs_crc32c(0, data, len - 4) != crc) {
        discard(out, "checksum mismatch");
        free(data);
        return FS_OK;
    }
    fs_rbuf_init(&r, data, len - 4);
    if (fs_rbuf_bytes(&r, magic, 4) || memcmp(magic, "FSCS", 4) || fs_rbuf_u32(&r, &format) ||
        format != 1 || fs_rbuf_u64(&r, &fhash) || fs_rbuf_u64(&r, &fsize) || fs_rbuf_u64(&r, &n)) {
        discard(out, "not a state file of this version");
    } else if (fhash != hash || fsize != state_size) {
        discard(out, "the definitions changed since the last run");
    } else {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t klen;
            int64_t last_ts;
            uint64_t last_seq, rows;
            const uint8_t *key, *st;
            if (fs_rbuf_u32(&r, &klen) || !(key = fs_rbuf_take(&r, klen)) ||
                fs_rbuf_u64(&r, (uint64_t *)&last_ts) || fs_rbuf_u64(&r, &last_seq) ||
                fs_rbuf_u64(&r, &rows) || !(st = fs_rbuf_take(&r, state_size))) {
                discard(out, "truncated");
                break;
            }
            char *k = malloc(klen + 1);
            if (!k) {
                free(data);
                fs_state_free(out);
                return FS_E_NOMEM;
            }
            memcpy(k, key, klen);
            k[klen] = 0;
            fs_entity_state *en = append_entry(out, k); /* the file holds each key once */
            if (en)
                set_entry(en, state_size, last_ts, last_seq, rows, st);
            rc = en ? FS_OK : FS_E_NOMEM;
            free(k);
            if (rc != FS_OK) {
                free(data);
                fs_state_free(out);
                return rc;
            }
        }
        if (out->n)
            qsort(out->ents, out->n, sizeof *out->ents, by_key);
        out->sorted = out->n;
    }
    free(data);
    return FS_OK;
}

fs_entity_state *fs_state_find(fs_state_set *s, const char *key)
{
    fs_entity_state probe = {.key = (char *)key};
    fs_entity_state *e = s->sorted ? bsearch(&probe, s->ents, s->sorted, sizeof *s->ents, by_key) : NULL;
    for (size_t i = s->sorted; !e && i < s->n; i++) /* put since the last sort */
        if (strcmp(s->ents[i].key, key) == 0)
            e = &s->ents[i];
    return e;
}

int fs_state_put(fs_state_set *s, const char *key, int64_t last_ts, uint64_t last_seq,
                 uint64_t rows, const void *state)
{
    fs_entity_state *e = fs_state_find(s, key);
    if (!e && !(e = append_entry(s, key)))
        return FS_E_NOMEM;
    set_entry(e, s->state_size, last_ts, last_seq, rows, state);
    return FS_OK;
}

int fs_state_save(const char *path, fs_state_set *s, fs_strbuf *err)
{
    if (s->n) /* qsort(NULL, 0, ...) is undefined */
        qsort(s->ents, s->n, sizeof *s->ents, by_key);
    s->sorted = s->n;
    fs_wbuf w = {0};
    fs_wbuf_bytes(&w, "FSCS", 4);
    fs_wbuf_u32(&w, 1);
    fs_wbuf_u64(&w, s->hash);
    fs_wbuf_u64(&w, s->state_size);
    fs_wbuf_u64(&w, s->n);
    for (size_t i = 0; i < s->n; i++) {
        const fs_entity_state *e = &s->ents[i];
        size_t klen = strlen(e->key);
        fs_wbuf_u32(&w, (uint32_t)klen);
        fs_wbuf_bytes(&w, e->key, klen);
        fs_wbuf_u64(&w, (uint64_t)e->last_ts);
        fs_wbuf_u64(&w, e->last_seq);
        fs_wbuf_u64(&w, e->rows);
        fs_wbuf_bytes(&w, e->state, s->state_size);
    }
    int rc = fs_wbuf_status(&w);
    if (rc == FS_OK) {
        fs_wbuf_u32(&w, fs_crc32c(0, w.data, w.len));
        rc = fs_wbuf_status(&w);
    }
    if (rc == FS_OK)
        rc = fs_write_file_atomic(path, w.data, w.len, err);
    fs_wbuf_free(&w);
    return rc;
}

void fs_state_free(fs_state_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->ents[i].key);
        free(s->ents[i].state);
    }
    free(s->ents);
    memset(s, 0, sizeof *s);
}
