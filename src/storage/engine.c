/* The storage engine: WAL-backed commits, the in-memory head, recovery and
 * point-in-time reads (contract in engine.h).
 *
 * Design:
 *  a) A commit's batch is serialized with seq 0 and appended to the WAL; the
 *     record's sequence number becomes the commit's seq, stamped on its rows
 *     when they enter the head (and again at replay). Commits are serialized
 *     by `commit_mu`, so the head receives them in seq order.
 *  b) The head keeps every committed batch whole (rows never move, so a
 *     fs_row_ref stays valid) and, per table and entity, an index of row
 *     positions sorted by (event_ts, seq). A new row goes after every row
 *     with event_ts <= its own: its seq is the largest so far, so that keeps
 *     the order without comparing seqs. In-order ingest appends.
 *  c) An as-of read binary-searches the last row with event_ts <= t, then
 *     walks back to the first row visible at known_at: in (event_ts, seq)
 *     order that row has the greatest visible event_ts and, among equal
 *     event_ts, the greatest seq. The TTL bound is checked on it last.
 *  d) Readers take the read lock; the writer takes the write lock only to
 *     publish rows into the index, after the WAL made them durable.
 *  e) A WAL record is: varint 1 (record format), svarint commit time (ns),
 *     then the serialized batch (batch.c), so `fstore log` can list commits
 *     with their time without a second file to keep in step.
 *  f) Checkpoints write chunk files, then the manifest (atomically), then
 *     trim the WAL: the manifest is the commit point. At open, chunk files
 *     load in checkpoint order, so every row enters the index with a seq
 *     at least that of the rows before it, as (b) needs; the WAL is replayed
 *     from the checkpoint on. A reader that read an old manifest while the
 *     writer trimmed the log sees a gap before the WAL's first record and
 *     opens again. Known limit: the head holds every row in memory (chunk
 *     files are loaded whole at open); reading chunk files lazily is next. */
#include "storage/engine.h"

#include "codec/buf.h"
#include "fstore.h"
#include "registry/catalog.h"

#include "core/fileio.h"
#include "core/timeutil.h"
#include "storage/chunk.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One row in an entity's index. event_ts is kept here too, so the binary
 * search of an as-of lookup walks one contiguous array instead of chasing
 * batch -> column pointers at every step (that tripled lookup time). */
typedef struct {
    int64_t ts;
    uint32_t batch, row;
} rowpos;

typedef struct {
    char *key;
    rowpos *rows;
    size_t n, cap;
} entity_rows;

typedef struct {
    char *name;
    fs_batch **batches;
    size_t nb, capb;
    entity_rows *ents;
    size_t ne, cape;
    size_t *slots; /* open-addressing map: entity key -> index+1 into ents (0 = empty) */
    size_t nslots;
    uint64_t rows;
    int64_t min_ts, max_ts;
    size_t cp_batches; /* batches [0, cp_batches) are in chunk files */
} table_head;

struct fs_engine {
    char *dir;
    fs_wal *wal;
    pthread_rwlock_t lock;
    pthread_mutex_t commit_mu;
    table_head *tables;
    size_t nt, capt;
    uint64_t last_seq;
    fs_commit_info *commits;
    size_t n_commits, cap_commits;
    uint64_t checkpoint_seq;
    json_t *chunks; /* the manifest's chunk list */
};

static table_head *find_table(fs_engine *e, const char *name);

static int record_commit(fs_engine *e, uint64_t seq, int64_t time_ns, const char *table, uint64_t rows)
{
    if (e->n_commits == e->cap_commits) {
        size_t cap = e->cap_commits ? 2 * e->cap_commits : 64;
        fs_commit_info *p = realloc(e->commits, cap * sizeof *p);
        if (!p)
            return FS_E_NOMEM;
        e->commits = p;
        e->cap_commits = cap;
    }
    table_head *t = find_table(e, table); /* its name outlives the commit list */
    e->commits[e->n_commits++] = (fs_commit_info){seq, time_ns, t ? t->name : "?", rows};
    return FS_OK;
}

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static table_head *find_table(fs_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nt; i++)
        if (strcmp(e->tables[i].name, name) == 0)
            return &e->tables[i];
    return NULL;
}

static table_head *get_table(fs_engine *e, const char *name)
{
    table_head *t = find_table(e, name);
    if (t)
        return t;
    if (e->nt == e->capt) {
        size_t cap = e->capt ? 2 * e->capt : 8;
        table_head *p = realloc(e->tables, cap * sizeof *p);
        if (!p)
            return NULL;
        e->tables = p;
        e->capt = cap;
    }
    t = &e->tables[e->nt];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return NULL;
    t->min_ts = INT64_MAX;
    t->max_ts = INT64_MIN;
    e->nt++;
    return t;
}

static entity_rows *find_entity(const table_head *t, const char *key, size_t len)
{
    if (!t->nslots)
        return NULL;
    size_t mask = t->nslots - 1;
    for (size_t i = hash_key(key, len) & mask;; i = (i + 1) & mask) {
        size_t s = t->slots[i];
        if (!s)
            return NULL;
        entity_rows *er = &t->ents[s - 1];
        if (strlen(er->key) == len && memcmp(er->key, key, len) == 0)
            return er;
    }
}

static int rehash(table_head *t, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < t->ne; k++) {
        size_t i = hash_key(t->ents[k].key, strlen(t->ents[k].key)) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = k + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static entity_rows *get_entity(table_head *t, const char *key, size_t len)
{
    entity_rows *er = find_entity(t, key, len);
    if (er)
        return er;
    if (t->ne == t->cape) {
        size_t cap = t->cape ? 2 * t->cape : 64;
        entity_rows *p = realloc(t->ents, cap * sizeof *p);
        if (!p)
            return NULL;
        t->ents = p;
        t->cape = cap;
    }
    er = &t->ents[t->ne];
    memset(er, 0, sizeof *er);
    if (!(er->key = malloc(len + 1)))
        return NULL;
    memcpy(er->key, key, len);
    er->key[len] = 0;
    t->ne++;
    if (2 * t->ne > t->nslots) { /* keep the map at most half full */
        if (rehash(t, t->nslots ? 2 * t->nslots : 128)) {
            t->ne--;
            free(er->key);
            return NULL;
        }
    } else {
        size_t i = hash_key(key, len) & (t->nslots - 1);
        while (t->slots[i])
            i = (i + 1) & (t->nslots - 1);
        t->slots[i] = t->ne;
    }
    return &t->ents[t->ne - 1];
}

static uint64_t row_seq(const table_head *t, rowpos p) { return t->batches[p.batch]->seq[p.row]; }

/* Index of the first row with event_ts > ts (upper bound). */
static size_t upper_bound(const entity_rows *er, int64_t ts)
{
    size_t lo = 0, hi = er->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (er->rows[mid].ts <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t lower_bound(const entity_rows *er, int64_t ts)
{
    size_t lo = 0, hi = er->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (er->rows[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Takes ownership of `b` (heap-allocated), stamps its rows with `seq` and
 * indexes them. Called under the write lock. */
static int head_add(fs_engine *e, const char *table, fs_batch *b, uint64_t seq /* 0: keep b's */)
{
    table_head *t = get_table(e, table);
    if (t && t->nb == t->capb) {
        size_t cap = t->capb ? 2 * t->capb : 64;
        fs_batch **p = realloc(t->batches, cap * sizeof *p);
        if (!p)
            t = NULL;
        else {
            t->batches = p;
            t->capb = cap;
        }
    }
    if (!t) { /* the batch is ours either way: nothing else will free it */
        fs_batch_free(b);
        free(b);
        return FS_E_NOMEM;
    }
    uint32_t bi = (uint32_t)t->nb;
    t->batches[t->nb++] = b;
    for (size_t r = 0; r < b->n; r++) {
        if (seq)
            b->seq[r] = seq;
        entity_rows *er = get_entity(t, b->entity[r], b->entity_len[r]);
        if (!er)
            return FS_E_NOMEM;
        if (er->n == er->cap) {
            size_t cap = er->cap ? 2 * er->cap : 16;
            rowpos *p = realloc(er->rows, cap * sizeof *p);
            if (!p)
                return FS_E_NOMEM;
            er->rows = p;
            er->cap = cap;
        }
        int64_t ts = b->event_ts[r];
        size_t at = er->n && er->rows[er->n - 1].ts > ts ? upper_bound(er, ts) : er->n;
        memmove(er->rows + at + 1, er->rows + at, (er->n - at) * sizeof *er->rows);
        er->rows[at] = (rowpos){ts, bi, (uint32_t)r};
        er->n++;
        t->rows++;
        if (ts < t->min_ts)
            t->min_ts = ts;
        if (ts > t->max_ts)
            t->max_ts = ts;
    }
    return FS_OK;
}

typedef struct {
    fs_engine *e;
    uint64_t commits;
    fs_strbuf *err;
} replay_ctx;

static int replay_one(void *p, uint64_t seq, const void *payload, size_t len)
{
    replay_ctx *c = p;
    fs_batch *b = malloc(sizeof *b);
    const char *table = NULL;
    if (!b)
        return FS_E_NOMEM;
    fs_rbuf r;
    uint64_t format = 0;
    int64_t time_ns = 0;
    fs_rbuf_init(&r, payload, len);
    int rc = fs_rbuf_varint(&r, &format) || format != 1 || fs_rbuf_svarint(&r, &time_ns)
                 ? FS_E_CORRUPT
                 : fs_batch_deserialize((const uint8_t *)payload + r.pos, len - r.pos, &table, b);
    if (rc != FS_OK) {
        /* The CRC matched, so this is not a torn write: refuse to guess. */
        fs_sb_printf(c->err, "write-ahead log record %llu (CRC valid) does not decode",
                     (unsigned long long)seq);
        free(b);
        return FS_E_CORRUPT;
    }
    uint64_t rows = b->n;
    rc = head_add(c->e, table, b, seq);
    if (rc == FS_OK)
        rc = record_commit(c->e, seq, time_ns, table, rows);
    if (rc != FS_OK)
        return rc;
    c->commits++;
    return FS_OK;
}

/* ---- manifest and chunk files ------------------------------------------------ */

/* Loads one chunk file whole into the head, keeping each row's seq. */
static int load_chunk(fs_engine *e, const char *path, const char *table, fs_strbuf *err)
{
    fs_chunk *ch = NULL;
    int rc = fs_chunk_open(path, &ch, err);
    if (rc != FS_OK)
        return rc;
    size_t ncols = 0;
    const fs_colspec *cols = fs_chunk_columns(ch, &ncols);
    fs_batch *b = malloc(sizeof *b);
    if (!b || fs_batch_init(b, cols, ncols) != FS_OK) {
        free(b);
        fs_chunk_close(ch);
        return FS_E_NOMEM;
    }
    /* The chunk's names die with it: the batch keeps its own copies. */
    for (size_t i = 0; i < ncols; i++)
        if (!(b->cols[i].name = fs_arena_strdup(&b->meta, cols[i].name)))
            rc = FS_E_NOMEM;
    if (rc == FS_OK)
        rc = fs_chunk_read_all(ch, b, err);
    fs_chunk_close(ch);
    if (rc == FS_OK)
        rc = head_add(e, table, b, 0);
    else {
        fs_batch_free(b);
        free(b);
    }
    return rc;
}

/* Reads DIR/manifest.json (absent: nothing checkpointed yet) and loads its
 * chunk files and commit log. */
static int load_manifest(fs_engine *e, fs_strbuf *err)
{
    char *path = fs_path_join(e->dir, "manifest.json"), *text = NULL;
    size_t len = 0;
    int rc = path ? fs_read_file(path, &text, &len, err) : FS_E_NOMEM;
    if (rc == FS_E_NOTFOUND) {
        fs_sb_reset(err);
        free(path);
        e->chunks = json_array();
        return FS_OK;
    }
    json_t *m = NULL;
    if (rc == FS_OK) {
        json_error_t je;
        m = json_loadb(text, len, 0, &je);
        json_t *chunks = json_object_get(m, "chunks");
        if (!m || json_integer_value(json_object_get(m, "format")) != 1 || !json_is_array(chunks)) {
            fs_sb_printf(err, "%s: not a valid manifest%s%s", path, m ? "" : ": ", m ? "" : je.text);
            rc = FS_E_CORRUPT;
        } else {
            e->checkpoint_seq = (uint64_t)json_integer_value(json_object_get(m, "checkpoint_seq"));
            e->chunks = json_incref(chunks);
            size_t i;
            json_t *ch;
            json_array_foreach(chunks, i, ch) {
                char *cp = fs_path_join(e->dir, json_string_value(json_object_get(ch, "file")));
                const char *table = json_string_value(json_object_get(ch, "table"));
                rc = cp && table ? load_chunk(e, cp, table, err) : FS_E_CORRUPT;
                free(cp);
                if (rc != FS_OK)
                    break;
            }
            json_t *cm;
            json_array_foreach(json_object_get(m, "commits"), i, cm) {
                if (rc != FS_OK)
                    break;
                const char *table = json_string_value(json_object_get(cm, "table"));
                rc = record_commit(e, (uint64_t)json_integer_value(json_object_get(cm, "seq")),
                                   (int64_t)json_integer_value(json_object_get(cm, "time")),
                                   table ? table : "?",
                                   (uint64_t)json_integer_value(json_object_get(cm, "rows")));
            }
        }
    }
    for (size_t t = 0; t < e->nt; t++)
        e->tables[t].cp_batches = e->tables[t].nb;
    e->last_seq = e->checkpoint_seq;
    json_decref(m);
    free(text);
    free(path);
    return rc;
}

int fs_engine_open(const char *dir, const fs_engine_options *opt, fs_engine **out,
                   fs_engine_recovery *rec, fs_strbuf *err)
{
    *out = NULL;
    fs_engine_recovery local;
    if (!rec)
        rec = &local;
    memset(rec, 0, sizeof *rec);
    fs_engine *e = calloc(1, sizeof *e);
    char *waldir = fs_path_join(dir, "wal");
    if (!e || !waldir || !(e->dir = strdup(dir))) {
        free(e);
        free(waldir);
        return FS_E_NOMEM;
    }
    pthread_rwlock_init(&e->lock, NULL);
    pthread_mutex_init(&e->commit_mu, NULL);
    fs_wal_options wo = {opt ? opt->sync : FS_SYNC_ALWAYS, 0, 0, opt && opt->read_only};
    int rc = load_manifest(e, err);
    if (rc == FS_OK)
        rc = fs_wal_open(waldir, &wo, &e->wal, &rec->wal, err);
    free(waldir);
    if (rc != FS_OK) {
        fs_engine_close(e, NULL);
        return rc;
    }
    /* The WAL must continue where the checkpoint ends; a gap means a reader
     * raced a checkpoint's trim (open again) or lost log segments. */
    uint64_t first = fs_wal_first_seq(e->wal);
    if (first > e->checkpoint_seq + 1 && fs_wal_last_seq(e->wal) >= first) {
        fs_sb_printf(err, "%s: the write-ahead log starts at commit %llu but the last checkpoint "
                          "is %llu%s",
                     dir, (unsigned long long)first, (unsigned long long)e->checkpoint_seq,
                     wo.read_only ? " (a checkpoint ran meanwhile: try again)" : "");
        fs_engine_close(e, NULL);
        return wo.read_only ? FS_E_BUSY : FS_E_CORRUPT;
    }
    replay_ctx c = {e, 0, err};
    rc = fs_wal_replay(e->wal, e->checkpoint_seq, replay_one, &c, err);
    if (rc != FS_OK) {
        fs_engine_close(e, NULL);
        return rc;
    }
    if (fs_wal_last_seq(e->wal) > e->last_seq)
        e->last_seq = fs_wal_last_seq(e->wal);
    if (!wo.read_only && fs_wal_last_seq(e->wal) < e->checkpoint_seq) {
        /* Trims keep the active segment, so the log always reaches the checkpoint. */
        fs_sb_printf(err, "%s: the write-ahead log ends at commit %llu, before the checkpoint %llu",
                     dir, (unsigned long long)fs_wal_last_seq(e->wal),
                     (unsigned long long)e->checkpoint_seq);
        fs_engine_close(e, NULL);
        return FS_E_CORRUPT;
    }
    rec->replayed_commits = c.commits;
    rec->last_seq = e->last_seq;
    *out = e;
    return FS_OK;
}

int fs_engine_close(fs_engine *e, fs_strbuf *err)
{
    if (!e)
        return FS_OK;
    int rc = fs_wal_close(e->wal, err);
    for (size_t i = 0; i < e->nt; i++) {
        table_head *t = &e->tables[i];
        for (size_t b = 0; b < t->nb; b++) {
            fs_batch_free(t->batches[b]);
            free(t->batches[b]);
        }
        for (size_t k = 0; k < t->ne; k++) {
            free(t->ents[k].key);
            free(t->ents[k].rows);
        }
        free(t->batches);
        free(t->ents);
        free(t->slots);
        free(t->name);
    }
    free(e->tables);
    free(e->commits);
    json_decref(e->chunks);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->commit_mu);
    free(e->dir);
    free(e);
    return rc;
}

int fs_engine_commit_owned(fs_engine *e, const char *table, fs_batch *rows, uint64_t *seq_out,
                           fs_strbuf *err)
{
    int rc = rows->n ? FS_OK : FS_E_INVAL;
    /* Column names must outlive the caller's schema: the batch keeps copies. */
    for (size_t c = 0; rc == FS_OK && c < rows->ncols; c++)
        if (!(rows->cols[c].name = fs_arena_strdup(&rows->meta, rows->cols[c].name)))
            rc = FS_E_NOMEM;
    for (size_t r = 0; r < rows->n; r++)
        rows->seq[r] = 0;
    fs_wbuf w = {0};
    int64_t now = fs_now_ns();
    if (rc == FS_OK) {
        fs_wbuf_varint(&w, 1);
        fs_wbuf_svarint(&w, now);
        rc = fs_batch_serialize(rows, table, &w);
    }
    if (rc != FS_OK) {
        fs_wbuf_free(&w);
        fs_batch_free(rows);
        free(rows);
        return rc;
    }
    uint64_t n = rows->n;
    pthread_mutex_lock(&e->commit_mu);
    uint64_t seq = 0;
    rc = fs_wal_append(e->wal, w.data, w.len, &seq, err);
    fs_wbuf_free(&w);
    if (rc != FS_OK) {
        pthread_mutex_unlock(&e->commit_mu);
        fs_batch_free(rows);
        free(rows);
        return rc;
    }
    pthread_rwlock_wrlock(&e->lock);
    rc = head_add(e, table, rows, seq); /* takes the batch */
    if (rc == FS_OK)
        rc = record_commit(e, seq, now, table, n);
    if (rc == FS_OK)
        e->last_seq = seq;
    pthread_rwlock_unlock(&e->lock);
    pthread_mutex_unlock(&e->commit_mu);
    if (rc != FS_OK) /* durable but not indexed: reopening replays it */
        fs_sb_printf(err, "commit %llu is durable but could not be indexed (out of memory); reopen",
                     (unsigned long long)seq);
    *seq_out = seq;
    return rc;
}

int fs_engine_commit(fs_engine *e, const char *table, fs_batch *rows, uint64_t *seq_out,
                     fs_strbuf *err)
{
    if (!rows->n)
        return FS_E_INVAL;
    fs_batch *copy = malloc(sizeof *copy);
    fs_colspec *spec = calloc(rows->ncols ? rows->ncols : 1, sizeof *spec);
    if (!copy || !spec)
        goto fail;
    for (size_t c = 0; c < rows->ncols; c++)
        spec[c] = (fs_colspec){rows->cols[c].name, rows->cols[c].type};
    if (fs_batch_init(copy, spec, rows->ncols) != FS_OK)
        goto fail;
    free(spec);
    for (size_t r = 0; r < rows->n; r++)
        if (fs_batch_copy_row(copy, rows, r)) {
            fs_batch_free(copy);
            free(copy);
            return FS_E_NOMEM;
        }
    int rc = fs_engine_commit_owned(e, table, copy, seq_out, err);
    if (rc == FS_OK)
        for (size_t r = 0; r < rows->n; r++)
            rows->seq[r] = *seq_out;
    return rc;
fail:
    free(copy);
    free(spec);
    return FS_E_NOMEM;
}

uint64_t fs_engine_last_seq(fs_engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
    uint64_t s = e->last_seq;
    pthread_rwlock_unlock(&e->lock);
    return s;
}

static const entity_rows *lookup(fs_engine *e, const char *table, const char *entity,
                                 const table_head **t_out)
{
    const table_head *t = find_table(e, table);
    *t_out = t;
    return t ? find_entity(t, entity, strlen(entity)) : NULL;
}

int fs_engine_asof(fs_engine *e, const char *table, const char *entity, int64_t t, int64_t ttl_ns,
                   uint64_t known_at, fs_row_ref *out)
{
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th;
    const entity_rows *er = lookup(e, table, entity, &th);
    int found = 0;
    if (er) {
        for (size_t i = upper_bound(er, t); i-- > 0;) {
            if (row_seq(th, er->rows[i]) > known_at)
                continue; /* stored after the watermark: invisible */
            int64_t ts = er->rows[i].ts;
            /* t - ttl computed without overflow for times near the limits */
            if (ttl_ns > 0 && ts < t && (uint64_t)t - (uint64_t)ts > (uint64_t)ttl_ns)
                break;
            out->batch = th->batches[er->rows[i].batch];
            out->row = er->rows[i].row;
            found = 1;
            break;
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return found;
}

int fs_engine_latest(fs_engine *e, const char *table, const char *entity, uint64_t known_at,
                     fs_row_ref *out)
{
    return fs_engine_asof(e, table, entity, INT64_MAX, 0, known_at, out);
}

int fs_engine_history(fs_engine *e, const char *table, const char *entity, int64_t from, int64_t to,
                      uint64_t known_at, size_t limit, fs_row_fn fn, void *ctx)
{
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th;
    const entity_rows *er = lookup(e, table, entity, &th);
    int rc = 0;
    size_t sent = 0;
    for (size_t i = er ? lower_bound(er, from) : 0; er && i < er->n; i++) {
        rowpos p = er->rows[i];
        if (p.ts >= to || (limit && sent >= limit))
            break;
        if (row_seq(th, p) > known_at)
            continue;
        sent++;
        if ((rc = fn(ctx, (fs_row_ref){th->batches[p.batch], p.row})) != 0)
            break;
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

int fs_engine_entities(fs_engine *e, const char *table, int (*fn)(void *ctx, const char *key),
                       void *ctx)
{
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    int rc = 0;
    for (size_t i = 0; t && i < t->ne && !rc; i++)
        rc = fn(ctx, t->ents[i].key);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

int fs_engine_commits(fs_engine *e, int (*fn)(void *ctx, const fs_commit_info *c), void *ctx)
{
    pthread_rwlock_rdlock(&e->lock);
    int rc = 0;
    for (size_t i = 0; i < e->n_commits && !rc; i++)
        rc = fn(ctx, &e->commits[i]);
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

uint64_t fs_engine_rows_since_checkpoint(fs_engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
    uint64_t n = 0;
    for (size_t t = 0; t < e->nt; t++)
        for (size_t b = e->tables[t].cp_batches; b < e->tables[t].nb; b++)
            n += e->tables[t].batches[b]->n;
    pthread_rwlock_unlock(&e->lock);
    return n;
}

/* Start of the chunk holding ts: floor division, also for times before 1970. */
static int64_t chunk_start(int64_t ts, int64_t interval)
{
    int64_t q = ts / interval;
    if (ts % interval < 0)
        q--;
    return q * interval;
}

typedef struct {
    int64_t start;
    fs_batch rows;
} pending_chunk;

/* Writes the new rows of one table as chunk files; appends their manifest
 * entries to `entries`. */
static int checkpoint_table(fs_engine *e, table_head *t, int64_t interval, uint64_t cp_seq,
                            json_t *entries, fs_strbuf *err)
{
    if (t->cp_batches == t->nb)
        return FS_OK;
    const fs_batch *first = t->batches[t->cp_batches];
    fs_colspec *spec = calloc(first->ncols ? first->ncols : 1, sizeof *spec);
    pending_chunk *pc = NULL;
    size_t npc = 0, cappc = 0;
    int rc = spec ? FS_OK : FS_E_NOMEM;
    for (size_t k = 0; spec && k < first->ncols; k++)
        spec[k] = (fs_colspec){first->cols[k].name, first->cols[k].type};
    for (size_t bi = t->cp_batches; rc == FS_OK && bi < t->nb; bi++) {
        const fs_batch *b = t->batches[bi];
        size_t last = 0;
        for (size_t r = 0; rc == FS_OK && r < b->n; r++) {
            int64_t st = chunk_start(b->event_ts[r], interval);
            if (!(npc && pc[last].start == st)) {
                for (last = 0; last < npc && pc[last].start != st; last++)
                    ;
                if (last == npc) {
                    if (npc == cappc) {
                        size_t cap = cappc ? 2 * cappc : 16;
                        pending_chunk *p = realloc(pc, cap * sizeof *p);
                        if (!p) {
                            rc = FS_E_NOMEM;
                            break;
                        }
                        pc = p;
                        cappc = cap;
                    }
                    pc[npc].start = st;
                    if (fs_batch_init(&pc[npc].rows, spec, first->ncols) != FS_OK) {
                        rc = FS_E_NOMEM;
                        break;
                    }
                    npc++;
                }
            }
            if (fs_batch_copy_row(&pc[last].rows, b, r))
                rc = FS_E_NOMEM;
        }
    }
    char *dir = NULL;
    if (rc == FS_OK) {
        size_t n = strlen(e->dir) + strlen(t->name) + 16;
        dir = malloc(n);
        if (!dir)
            rc = FS_E_NOMEM;
        else {
            snprintf(dir, n, "%s/chunks/%s", e->dir, t->name);
            rc = fs_mkdirs(dir, err);
        }
    }
    for (size_t i = 0; rc == FS_OK && i < npc; i++) {
        if ((rc = fs_batch_sort(&pc[i].rows)) != FS_OK)
            break;
        char rel[512], *path;
        /* start as offset binary so names sort by time; the checkpoint seq
         * keeps files of different checkpoints for one chunk apart */
        snprintf(rel, sizeof rel, "chunks/%s/%016" PRIx64 "-%016" PRIx64 ".chunk", t->name,
                 (uint64_t)pc[i].start ^ (UINT64_C(1) << 63), cp_seq);
        if (!(path = fs_path_join(e->dir, rel))) {
            rc = FS_E_NOMEM;
            break;
        }
        fs_chunk_meta meta = {t->name, pc[i].start, pc[i].start + interval, cp_seq};
        rc = fs_chunk_write(path, &pc[i].rows, &meta, err);
        fs_chunk *ch = NULL;
        fs_chunk_stats st = {0};
        if (rc == FS_OK && (rc = fs_chunk_open(path, &ch, err)) == FS_OK) {
            fs_chunk_get_stats(ch, &st);
            fs_chunk_close(ch);
        }
        free(path);
        if (rc != FS_OK)
            break;
        json_t *en = json_object();
        json_object_set_new(en, "table", json_string(t->name));
        json_object_set_new(en, "file", json_string(rel));
        json_object_set_new(en, "start", json_integer(pc[i].start));
        json_object_set_new(en, "end", json_integer(pc[i].start + interval));
        json_object_set_new(en, "max_seq", json_integer((json_int_t)cp_seq));
        json_object_set_new(en, "rows", json_integer((json_int_t)pc[i].rows.n));
        json_object_set_new(en, "bytes", json_integer((json_int_t)st.file_bytes));
        json_object_set_new(en, "raw_bytes", json_integer((json_int_t)st.raw_bytes));
        json_array_append_new(entries, en);
    }
    if (rc == FS_OK && dir) { /* the new table directory's entry itself */
        char *chunks = fs_path_join(e->dir, "chunks");
        rc = chunks ? fs_fsync_dir(chunks, err) : FS_E_NOMEM;
        free(chunks);
    }
    for (size_t i = 0; i < npc; i++)
        fs_batch_free(&pc[i].rows);
    free(pc);
    free(spec);
    free(dir);
    return rc;
}

/* Replaces DIR/manifest.json atomically: checkpoint seq, chunks, commit log. */
static int write_manifest(fs_engine *e, json_t *chunks, uint64_t cp_seq, fs_strbuf *err)
{
    json_t *m = json_object(), *commits = json_array();
    json_object_set_new(m, "format", json_integer(1));
    json_object_set_new(m, "checkpoint_seq", json_integer((json_int_t)cp_seq));
    json_object_set(m, "chunks", chunks);
    for (size_t i = 0; i < e->n_commits; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "seq", json_integer((json_int_t)e->commits[i].seq));
        json_object_set_new(c, "time", json_integer(e->commits[i].time_ns));
        json_object_set_new(c, "table", json_string(e->commits[i].table));
        json_object_set_new(c, "rows", json_integer((json_int_t)e->commits[i].rows));
        json_array_append_new(commits, c);
    }
    json_object_set_new(m, "commits", commits);
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    char *path = fs_path_join(e->dir, "manifest.json");
    int rc = text && path ? fs_write_file_atomic(path, text, strlen(text), err) : FS_E_NOMEM;
    free(text);
    free(path);
    return rc;
}

int fs_engine_checkpoint(fs_engine *e, fs_chunk_interval_fn interval, void *ctx, fs_strbuf *err)
{
    pthread_mutex_lock(&e->commit_mu); /* no commit while the head is split */
    uint64_t cp_seq = e->last_seq;
    int rc = FS_OK;
    if (cp_seq == e->checkpoint_seq)
        goto out;
    json_t *entries = json_array();
    /* Readers may run: the head is only read here, and published below. */
    for (size_t t = 0; rc == FS_OK && t < e->nt; t++) {
        int64_t iv = interval ? interval(ctx, e->tables[t].name) : 0;
        rc = checkpoint_table(e, &e->tables[t], iv > 0 ? iv : 86400LL * 1000000000LL, cp_seq,
                              entries, err);
    }
    if (rc != FS_OK) { /* the old manifest stands; stray files are harmless */
        json_decref(entries);
        goto out;
    }
    json_t *chunks = json_copy(e->chunks);
    json_array_extend(chunks, entries);
    json_decref(entries);
    fs_fault_point("checkpoint-before-manifest");
    if ((rc = write_manifest(e, chunks, cp_seq, err)) != FS_OK) {
        json_decref(chunks);
        goto out;
    }
    fs_fault_point("checkpoint-before-trim");
    pthread_rwlock_wrlock(&e->lock);
    json_decref(e->chunks);
    e->chunks = chunks;
    e->checkpoint_seq = cp_seq;
    for (size_t t = 0; t < e->nt; t++)
        e->tables[t].cp_batches = e->tables[t].nb;
    pthread_rwlock_unlock(&e->lock);
    rc = fs_wal_trim(e->wal, cp_seq, err);
out:
    pthread_mutex_unlock(&e->commit_mu);
    return rc;
}

int fs_engine_drop_chunks(fs_engine *e, const char *table, int64_t cutoff, uint64_t *chunks_out,
                          uint64_t *rows_out, fs_strbuf *err)
{
    *chunks_out = *rows_out = 0;
    pthread_mutex_lock(&e->commit_mu);
    json_t *keep = json_array(), *gone = json_array();
    size_t i;
    json_t *ch;
    json_array_foreach(e->chunks, i, ch) {
        int expired = strcmp(json_string_value(json_object_get(ch, "table")), table) == 0 &&
                      json_integer_value(json_object_get(ch, "end")) <= cutoff;
        json_array_append(expired ? gone : keep, ch);
    }
    int rc = FS_OK;
    if (json_array_size(gone)) {
        fs_fault_point("gc-before-manifest");
        rc = write_manifest(e, keep, e->checkpoint_seq, err);
    }
    if (rc == FS_OK && json_array_size(gone)) {
        /* The manifest no longer names them: deleting is now safe, and a
         * crash before it leaves only unreferenced files. */
        json_array_foreach(gone, i, ch) {
            char *p = fs_path_join(e->dir, json_string_value(json_object_get(ch, "file")));
            if (p && unlink(p) != 0 && errno != ENOENT)
                fs_sb_printf(err, "cannot remove %s: %s; ", p, strerror(errno));
            free(p);
            (*chunks_out)++;
            *rows_out += (uint64_t)json_integer_value(json_object_get(ch, "rows"));
        }
        pthread_rwlock_wrlock(&e->lock);
        json_decref(e->chunks);
        e->chunks = json_incref(keep);
        pthread_rwlock_unlock(&e->lock);
    }
    json_decref(keep);
    json_decref(gone);
    pthread_mutex_unlock(&e->commit_mu);
    return rc;
}

int fs_engine_table_storage(fs_engine *e, const char *table, fs_table_storage *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&e->lock);
    size_t i;
    json_t *ch;
    json_array_foreach(e->chunks, i, ch) {
        if (strcmp(json_string_value(json_object_get(ch, "table")), table) != 0)
            continue;
        out->chunks++;
        out->rows += (uint64_t)json_integer_value(json_object_get(ch, "rows"));
        out->file_bytes += (uint64_t)json_integer_value(json_object_get(ch, "bytes"));
        out->raw_bytes += (uint64_t)json_integer_value(json_object_get(ch, "raw_bytes"));
    }
    pthread_rwlock_unlock(&e->lock);
    return FS_OK;
}

int fs_engine_table_stats(fs_engine *e, const char *table, fs_table_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    if (t) {
        out->rows = t->rows;
        out->entities = t->ne;
        out->min_event_ts = t->min_ts;
        out->max_event_ts = t->max_ts;
    }
    pthread_rwlock_unlock(&e->lock);
    return t ? FS_OK : FS_E_NOTFOUND;
}
