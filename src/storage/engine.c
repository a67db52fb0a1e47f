/* The storage engine: WAL-backed commits, the in-memory head, recovery and
 * point-in-time reads (contract in engine.h).
 *
 * Design:
 *  a) A commit's batch is serialized with seq 0 and appended to the WAL; the
 *     record's sequence number becomes the commit's seq, stamped on its rows
 *     when they enter the head (and again at replay). Commits are serialized
 *     by `commit_mu`, so the head receives them in seq order.
 *  b) The head keeps every batch it holds whole (rows never move, so a
 *     fs_row_ref stays valid) and, per table and entity, an index of row
 *     positions sorted by (event_ts, seq), event_ts in an array of its own
 *     (a binary search walks 8-byte keys, not 16-byte records). A committed
 *     row goes after every indexed row with event_ts <= its own: its seq is
 *     the largest so far, so that keeps the order without comparing seqs.
 *     In-order ingest appends. Chunk files read later merge by (event_ts,
 *     seq), see (g).
 *  c) An as-of read binary-searches (branch-free) the last row with
 *     event_ts <= t. When known_at is at least the entity's highest seq (the
 *     usual "everything committed"), that row is the answer; otherwise it
 *     walks back to the first row visible at known_at: in (event_ts, seq)
 *     order that row has the greatest visible event_ts and, among equal
 *     event_ts, the greatest seq. The TTL bound is checked on it last.
 *  d) Readers take the read lock; the writer takes the write lock only to
 *     publish rows into the index, after the WAL made them durable.
 *  e) WAL records (docs/storage-format.md): format 1 is varint 1, svarint
 *     commit time (ns), then the serialized batch (batch.c); format 2 is a
 *     streamed commit: varint 2, svarint time, the table, the row count and
 *     the chunk files that hold its rows, written and synced before the
 *     record. Either way one record is one commit: a streamed commit whose
 *     record never made it is a set of files nothing names (removed at the
 *     writer's next open).
 *  f) Checkpoints write chunk files, then the manifest (atomically), then
 *     trim the WAL: the manifest is the commit point. The WAL is replayed
 *     from the checkpoint on. A reader that read an old manifest while the
 *     writer trimmed the log sees a gap before the WAL's first record and
 *     opens again.
 *  g) Chunk files are read into the head lazily, a table at a time: the
 *     manifest's and those of streamed commits wait in `pending` until the
 *     first point-in-time read of their table, which loads that table's
 *     (decoded outside the write lock, merged into the index by (event_ts,
 *     seq) under it). So a writer that only ingests never reads the store's
 *     old rows, a streamed commit never holds its file in memory, and a
 *     table nobody looks up is never loaded. Once loaded, a table is in
 *     memory whole.
 *  h) Direct reads (fs_entity_reader) serve one entity at a time from the
 *     pending files themselves (their footer index, the entity's segments,
 *     only the columns asked for) plus the head, without loading: for
 *     readers that pass over a table once. `pend_lock` keeps `pending`
 *     still while they read; a load moves a table's rows into the head and
 *     drops its files from `pending` in one critical section under it, so
 *     a direct read sees every row once: in a file or in the head. */
#include "storage/engine.h"

#include "codec/buf.h"
#include "fstore.h"
#include "registry/catalog.h"

#include "core/fileio.h"
#include "core/timeutil.h"
#include "storage/chunk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where one indexed row lives. */
typedef struct {
    uint32_t batch, row;
} rowref;

/* One row in an entity's index. event_ts is kept here too, so a search
 * walks one contiguous array instead of chasing batch -> column pointers,
 * and the row it lands on is in the same cache line as its key. */
typedef struct {
    int64_t ts;
    uint32_t batch, row;
} rowpos;

/* One entity's rows in (event_ts, seq) order. */
typedef struct {
    char *key;
    uint32_t key_len;
    rowpos *rows;
    size_t n, cap;
    uint64_t max_seq; /* highest seq among the rows */
} entity_rows;

typedef struct {
    char *name;
    fs_batch **batches;
    uint8_t *in_chunk; /* batch i's rows are in chunk files already */
    size_t nb, capb;
    entity_rows *ents;
    size_t ne, cape;
    size_t *slots; /* open-addressing map: entity key -> index+1 into ents (0 = empty) */
    size_t nslots;
    uint64_t rows;
    int64_t min_ts, max_ts;
    size_t npend; /* chunk files of the table not read into the head yet */
} table_head;

/* A chunk file not read into the head yet. */
typedef struct {
    char *table;
    char *rel;     /* relative to the data directory, as the manifest names it */
    fs_chunk *ch;  /* opened by the first direct read (h), else NULL */
} pending_file;

struct fs_engine {
    char *dir;
    fs_wal *wal;
    int read_only;
    pthread_rwlock_t lock;
    pthread_mutex_t commit_mu;
    table_head *tables;
    size_t nt, capt;
    uint64_t last_seq;
    fs_commit_info *commits;
    size_t n_commits, cap_commits;
    uint64_t checkpoint_seq;
    json_t *chunks;   /* the manifest's chunk list */
    json_t *unlisted; /* chunk entries of streamed commits the manifest does not list yet */
    pthread_mutex_t load_mu; /* serializes loads and changes of `pending` */
    pthread_rwlock_t pend_lock; /* `pending` itself: written under load_mu too, read by direct reads */
    pending_file *pending;
    size_t npending, cap_pending; /* npending is also read without a lock (atomically) */
    fs_chunk **retired; /* handles of files loaded since: their keys may still be in use */
    size_t nretired, cap_retired;
    pthread_mutex_t err_mu;
    fs_strbuf read_err; /* why the last read of a chunk file failed (names the file) */
};

/* Keeps the message of a failed chunk file read for fs_engine_read_error
 * (reads return only a status) and passes it on to err. */
static void note_read_error(fs_engine *e, const fs_strbuf *msg, fs_strbuf *err)
{
    pthread_mutex_lock(&e->err_mu);
    fs_sb_reset(&e->read_err);
    fs_sb_puts(&e->read_err, fs_sb_str(msg));
    pthread_mutex_unlock(&e->err_mu);
    fs_sb_puts(err, fs_sb_str(msg));
}

void fs_engine_read_error(fs_engine *e, fs_strbuf *out)
{
    pthread_mutex_lock(&e->err_mu);
    if (e->read_err.len)
        fs_sb_printf(out, ": %s", fs_sb_str(&e->read_err));
    pthread_mutex_unlock(&e->err_mu);
}

static table_head *get_table(fs_engine *e, const char *name);

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
    table_head *t = get_table(e, table); /* its name outlives the commit list */
    if (!t)
        return FS_E_NOMEM;
    e->commits[e->n_commits++] = (fs_commit_info){seq, time_ns, t->name, rows};
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
        if (er->key_len == len && memcmp(er->key, key, len) == 0)
            return er;
    }
}

static int rehash(table_head *t, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < t->ne; k++) {
        size_t i = hash_key(t->ents[k].key, t->ents[k].key_len) & (nslots - 1);
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
    er->key_len = (uint32_t)len;
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

static uint64_t ref_seq(const table_head *t, rowpos p) { return t->batches[p.batch]->seq[p.row]; }

/* Index of the first row with event_ts > x (upper bound). Bars come at
 * regular times, so the first probe interpolates between the first and the
 * last event_ts and usually lands on the answer: one cache miss instead of
 * the ~17 dependent ones of a binary search over 100k rows. From the probe
 * it gallops (steps 1, 2, 4, ...) to a bracket and bisects it, so irregular
 * times cost O(log distance) and the worst case stays O(log n). */
static size_t upper_bound(const rowpos *a, size_t n, int64_t x)
{
    if (n == 0 || x < a[0].ts)
        return 0;
    if (x >= a[n - 1].ts)
        return n;
    /* a[0].ts <= x < a[n-1].ts: the answer is in [1, n-1] */
    double span = (double)((uint64_t)a[n - 1].ts - (uint64_t)a[0].ts);
    double off = (double)((uint64_t)x - (uint64_t)a[0].ts);
    size_t g = (size_t)(off / span * (double)(n - 1));
    if (g > n - 2)
        g = n - 2;
    size_t lo, hi;
    if (a[g].ts <= x) {
        lo = g;
        for (size_t step = 1;; step *= 2) {
            if (step >= n - 1 - lo) {
                hi = n - 1;
                break;
            }
            if (a[lo + step].ts > x) {
                hi = lo + step;
                break;
            }
            lo += step;
        }
    } else {
        hi = g;
        for (size_t step = 1;; step *= 2) {
            if (step >= hi) {
                lo = 0;
                break;
            }
            if (a[hi - step].ts <= x) {
                lo = hi - step;
                break;
            }
            hi -= step;
        }
    }
    /* a[lo].ts <= x < a[hi].ts */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].ts <= x)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Index of the first row with event_ts >= x: the upper bound of x - 1. */
static size_t lower_bound(const rowpos *a, size_t n, int64_t x)
{
    return x == INT64_MIN ? 0 : upper_bound(a, n, x - 1);
}

static int reserve_rows(entity_rows *er, size_t need)
{
    if (need <= er->cap)
        return 0;
    size_t cap = er->cap ? er->cap : 16;
    while (cap < need)
        cap *= 2;
    rowpos *p = realloc(er->rows, cap * sizeof *p);
    if (!p)
        return -1;
    er->rows = p;
    er->cap = cap;
    return 0;
}

/* Adds `b` (heap-allocated; the table takes it, also on failure) to the
 * table's batches. Returns its index, or -1. */
static long add_batch(table_head *t, fs_batch *b, int in_chunk)
{
    if (t->nb == t->capb) {
        size_t cap = t->capb ? 2 * t->capb : 64;
        fs_batch **p = realloc(t->batches, cap * sizeof *p);
        uint8_t *f = p ? realloc(t->in_chunk, cap) : NULL;
        if (p)
            t->batches = p;
        if (!f) {
            fs_batch_free(b);
            free(b);
            return -1;
        }
        t->in_chunk = f;
        t->capb = cap;
    }
    t->batches[t->nb] = b;
    t->in_chunk[t->nb] = (uint8_t)in_chunk;
    return (long)t->nb++;
}

/* ---- sorting row indexes (stable merge sort; C11 has no qsort_r) ---------- */

typedef int (*idx_cmp_fn)(const void *ctx, uint32_t a, uint32_t b);

static void msort_rec(uint32_t *a, uint32_t *tmp, size_t n, idx_cmp_fn cmp, const void *ctx)
{
    if (n <= 16) { /* insertion sort: stable */
        for (size_t i = 1; i < n; i++) {
            uint32_t x = a[i];
            size_t j = i;
            while (j > 0 && cmp(ctx, a[j - 1], x) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    msort_rec(a, tmp, h, cmp, ctx);
    msort_rec(a + h, tmp, n - h, cmp, ctx);
    if (cmp(ctx, a[h - 1], a[h]) <= 0)
        return; /* already in order: the common case */
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = cmp(ctx, a[j], tmp[i]) < 0 ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

static int msort(uint32_t *a, size_t n, idx_cmp_fn cmp, const void *ctx)
{
    size_t i = 1;
    while (i < n && cmp(ctx, a[i - 1], a[i]) <= 0)
        i++;
    if (i >= n)
        return FS_OK; /* sorted: nothing to do */
    uint32_t *tmp = malloc((n / 2 + 1) * sizeof *tmp);
    if (!tmp)
        return FS_E_NOMEM;
    msort_rec(a, tmp, n, cmp, ctx);
    free(tmp);
    return FS_OK;
}

/* ---- reading chunk files into the head (lazily, see g) ------------------- */

/* Room for n pending files. Under load_mu. */
static int reserve_pending(fs_engine *e, size_t n)
{
    if (n <= e->cap_pending)
        return FS_OK;
    size_t cap = e->cap_pending ? 2 * e->cap_pending : 64;
    if (cap < n)
        cap = n;
    pending_file *p = realloc(e->pending, cap * sizeof *p);
    if (!p)
        return FS_E_NOMEM;
    e->pending = p;
    e->cap_pending = cap;
    return FS_OK;
}

static int add_pending(fs_engine *e, const char *table, const char *rel)
{
    char *path = strdup(rel), *tcopy = strdup(table);
    int rc = path && tcopy ? FS_OK : FS_E_NOMEM;
    pthread_mutex_lock(&e->load_mu);
    if (rc == FS_OK)
        rc = reserve_pending(e, e->npending + 1);
    if (rc == FS_OK) {
        pthread_rwlock_wrlock(&e->pend_lock);
        pthread_rwlock_wrlock(&e->lock);
        table_head *t = get_table(e, table);
        if (t) {
            t->npend++;
            e->pending[e->npending] = (pending_file){tcopy, path, NULL};
            __atomic_store_n(&e->npending, e->npending + 1, __ATOMIC_RELEASE);
        } else
            rc = FS_E_NOMEM;
        pthread_rwlock_unlock(&e->lock);
        pthread_rwlock_unlock(&e->pend_lock);
    }
    pthread_mutex_unlock(&e->load_mu);
    if (rc != FS_OK) {
        free(path);
        free(tcopy);
    }
    return rc;
}

/* Decodes one chunk file whole into a new batch that owns its column names. */
static int read_chunk(const char *path, fs_batch **out, fs_strbuf *err)
{
    *out = NULL;
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
        rc = fs_batch_reserve(b, (size_t)fs_chunk_row_count(ch));
    if (rc == FS_OK)
        rc = fs_chunk_read_all(ch, b, err);
    fs_chunk_close(ch);
    if (rc != FS_OK) {
        fs_batch_free(b);
        free(b);
        return rc;
    }
    *out = b;
    return FS_OK;
}

/* New index entries of one entity while loading: (ts, seq, where). */
typedef struct {
    int64_t ts;
    uint64_t seq;
    rowref ref;
} newrow;

typedef struct {
    newrow *v;
    size_t n, cap;
} newrows;

/* Appends v to entity `ei`'s pending rows in acc (one slot per entity of
 * the table: *nacc grows to `cape`, new slots empty). -1 when out of memory. */
static int push_newrow(newrows **acc, size_t *nacc, size_t cape, size_t ei, newrow v)
{
    if (ei >= *nacc) {
        newrows *p = realloc(*acc, cape * sizeof *p);
        if (!p)
            return -1;
        memset(p + *nacc, 0, (cape - *nacc) * sizeof *p);
        *acc = p;
        *nacc = cape;
    }
    newrows *nr = &(*acc)[ei];
    if (nr->n == nr->cap) {
        size_t cap = nr->cap ? 2 * nr->cap : 256;
        newrow *p = realloc(nr->v, cap * sizeof *p);
        if (!p)
            return -1;
        nr->v = p;
        nr->cap = cap;
    }
    nr->v[nr->n++] = v;
    return 0;
}

static int cmp_newrow(const void *ctx, uint32_t a, uint32_t b)
{
    const newrow *v = ctx;
    if (v[a].ts != v[b].ts)
        return v[a].ts < v[b].ts ? -1 : 1;
    return v[a].seq < v[b].seq ? -1 : v[a].seq > v[b].seq;
}

/* Merges `nr` (rows of chunk files, any order) into the entity's index by
 * (event_ts, seq); equal keys keep load order. */
static int merge_entity(const table_head *t, entity_rows *er, newrows *nr)
{
    size_t k = nr->n;
    uint32_t *ord = malloc((k ? k : 1) * sizeof *ord);
    if (!ord)
        return FS_E_NOMEM;
    for (size_t i = 0; i < k; i++)
        ord[i] = (uint32_t)i;
    if (msort(ord, k, cmp_newrow, nr->v) != FS_OK) {
        free(ord);
        return FS_E_NOMEM;
    }
    size_t n = er->n, total = n + k;
    rowpos *m = malloc((total ? total : 1) * sizeof *m);
    if (!m) {
        free(ord);
        return FS_E_NOMEM;
    }
    size_t i = 0, j = 0, o = 0;
    while (i < n || j < k) {
        int take_old;
        if (i == n)
            take_old = 0;
        else if (j == k)
            take_old = 1;
        else {
            const newrow *x = &nr->v[ord[j]];
            take_old = er->rows[i].ts != x->ts ? er->rows[i].ts < x->ts
                                               : ref_seq(t, er->rows[i]) <= x->seq;
        }
        if (take_old) {
            m[o++] = er->rows[i++];
        } else {
            const newrow *x = &nr->v[ord[j++]];
            m[o++] = (rowpos){x->ts, x->ref.batch, x->ref.row};
            if (x->seq > er->max_seq)
                er->max_seq = x->seq;
        }
    }
    free(er->rows);
    er->rows = m;
    er->n = er->cap = total;
    free(ord);
    return FS_OK;
}

/* Takes ownership of `b` (heap-allocated), stamps its rows with `seq` and
 * indexes them; `seq` is above every indexed row's (b). A row whose
 * event_ts is not below its entity's last one is appended; the others
 * (corrections, files out of time order) are gathered per entity and merged
 * in one pass, so re-ingesting a stretch of history costs O(rows), not a
 * memmove per row. Called under the write lock. */
static int head_add(fs_engine *e, const char *table, fs_batch *b, uint64_t seq)
{
    table_head *t = get_table(e, table);
    if (!t) { /* the batch is ours either way: nothing else will free it */
        fs_batch_free(b);
        free(b);
        return FS_E_NOMEM;
    }
    long bl = add_batch(t, b, 0);
    if (bl < 0)
        return FS_E_NOMEM;
    uint32_t bi = (uint32_t)bl;
    entity_rows *er = NULL;
    newrows *acc = NULL; /* per entity index: rows to merge */
    size_t nacc = 0;
    int rc = FS_OK;
    for (size_t r = 0; r < b->n; r++) {
        b->seq[r] = seq;
        /* rows of one entity usually come together and share the key's copy */
        if (!er || !(r && b->entity[r] == b->entity[r - 1] && b->entity_len[r] == b->entity_len[r - 1]))
            if (!(er = get_entity(t, b->entity[r], b->entity_len[r]))) {
                rc = FS_E_NOMEM;
                break;
            }
        int64_t ts = b->event_ts[r];
        size_t ei = (size_t)(er - t->ents);
        if ((ei >= nacc || !acc[ei].n) && (!er->n || er->rows[er->n - 1].ts <= ts)) {
            if (reserve_rows(er, er->n + 1)) {
                rc = FS_E_NOMEM;
                break;
            }
            er->rows[er->n++] = (rowpos){ts, bi, (uint32_t)r};
        } else if (push_newrow(&acc, &nacc, t->cape, ei, (newrow){ts, seq, {bi, (uint32_t)r}})) {
            rc = FS_E_NOMEM;
            break;
        }
        if (seq > er->max_seq)
            er->max_seq = seq;
        t->rows++;
        if (ts < t->min_ts)
            t->min_ts = ts;
        if (ts > t->max_ts)
            t->max_ts = ts;
    }
    for (size_t k = 0; k < nacc; k++) {
        if (rc == FS_OK && acc[k].n)
            rc = merge_entity(t, &t->ents[k], &acc[k]);
        free(acc[k].v);
    }
    free(acc);
    return rc;
}

/* Keeps a handle of a file that left `pending` until close: entity keys
 * that fs_engine_entities handed out may point into it. */
static void retire_handle(fs_engine *e, fs_chunk *ch)
{
    if (!ch)
        return;
    if (e->nretired == e->cap_retired) {
        size_t cap = e->cap_retired ? 2 * e->cap_retired : 16;
        fs_chunk **p = realloc(e->retired, cap * sizeof *p);
        if (!p) {
            fs_chunk_close(ch); /* nothing else can be done; keys from it were copied by callers */
            return;
        }
        e->retired = p;
        e->cap_retired = cap;
    }
    e->retired[e->nretired++] = ch;
}

/* Removes the pending entries for which drop[i] is set. Called with
 * load_mu held and pend_lock and the engine lock held for writing. */
static void remove_pending(fs_engine *e, const uint8_t *drop)
{
    size_t k = 0;
    for (size_t i = 0; i < e->npending; i++) {
        pending_file *pf = &e->pending[i];
        if (!drop[i]) {
            e->pending[k++] = *pf;
            continue;
        }
        table_head *t = find_table(e, pf->table);
        if (t && t->npend)
            t->npend--;
        retire_handle(e, pf->ch);
        free(pf->table);
        free(pf->rel);
    }
    __atomic_store_n(&e->npending, k, __ATOMIC_RELEASE);
}

/* Reads the pending chunk files of `table` into the head. Files are decoded
 * without the write lock (readers go on); the index is merged under it,
 * and under pend_lock, so a direct read sees each row either in a pending
 * file or in the head, never in both or neither. On failure nothing is
 * added and the files stay pending: the next read tries again (and fails
 * the same way on a damaged file). */
static int load_pending(fs_engine *e, const char *table, fs_strbuf *err)
{
    pthread_mutex_lock(&e->load_mu);
    size_t np = e->npending, nsel = 0;
    fs_batch **bs = calloc(np ? np : 1, sizeof *bs);
    uint8_t *sel = calloc(np ? np : 1, 1);
    int rc = bs && sel ? FS_OK : FS_E_NOMEM;
    fs_strbuf msg = {0};
    for (size_t i = 0; rc == FS_OK && i < np; i++) {
        if (strcmp(e->pending[i].table, table) != 0)
            continue;
        sel[i] = 1;
        nsel++;
        char *path = fs_path_join(e->dir, e->pending[i].rel);
        rc = path ? read_chunk(path, &bs[i], &msg) : FS_E_NOMEM;
        free(path);
    }
    if (rc != FS_OK)
        note_read_error(e, &msg, err);
    fs_sb_free(&msg);
    if (rc != FS_OK || nsel == 0) {
        for (size_t i = 0; bs && i < np; i++)
            if (bs[i]) {
                fs_batch_free(bs[i]);
                free(bs[i]);
            }
        free(bs);
        free(sel);
        pthread_mutex_unlock(&e->load_mu);
        return rc;
    }
    pthread_rwlock_wrlock(&e->pend_lock);
    pthread_rwlock_wrlock(&e->lock);
    /* In load order: collect each entity's new rows, then merge. */
    newrows *acc = NULL;
    size_t nacc = 0;
    table_head *t = get_table(e, table);
    if (!t)
        rc = FS_E_NOMEM;
    for (size_t j = 0; rc == FS_OK && j < np; j++) {
        if (!bs[j])
            continue;
        fs_batch *b = bs[j];
        bs[j] = NULL;
        long bl = add_batch(t, b, 1);
        if (bl < 0) {
            rc = FS_E_NOMEM;
            break;
        }
        entity_rows *er = NULL;
        for (size_t r = 0; r < b->n; r++) {
            if (!er || r == 0 ||
                !(b->entity[r] == b->entity[r - 1] && b->entity_len[r] == b->entity_len[r - 1]))
                if (!(er = get_entity(t, b->entity[r], b->entity_len[r]))) {
                    rc = FS_E_NOMEM;
                    break;
                }
            size_t ei = (size_t)(er - t->ents);
            if (push_newrow(&acc, &nacc, t->cape, ei,
                            (newrow){b->event_ts[r], b->seq[r], {(uint32_t)bl, (uint32_t)r}})) {
                rc = FS_E_NOMEM;
                break;
            }
            t->rows++;
            if (b->event_ts[r] < t->min_ts)
                t->min_ts = b->event_ts[r];
            if (b->event_ts[r] > t->max_ts)
                t->max_ts = b->event_ts[r];
        }
    }
    for (size_t k = 0; rc == FS_OK && k < nacc && k < t->ne; k++) {
        entity_rows *er = &t->ents[k];
        newrows *nr = &acc[k];
        if (!nr->n)
            continue;
        /* The usual case: the new rows go after the old ones, in order. */
        int tail = 1;
        for (size_t q = 1; q < nr->n && tail; q++)
            tail = cmp_newrow(nr->v, (uint32_t)(q - 1), (uint32_t)q) <= 0;
        if (tail && er->n &&
            (er->rows[er->n - 1].ts > nr->v[0].ts ||
             (er->rows[er->n - 1].ts == nr->v[0].ts &&
              ref_seq(t, er->rows[er->n - 1]) > nr->v[0].seq)))
            tail = 0;
        if (tail) {
            if (reserve_rows(er, er->n + nr->n)) {
                rc = FS_E_NOMEM;
                break;
            }
            for (size_t q = 0; q < nr->n; q++) {
                er->rows[er->n + q] = (rowpos){nr->v[q].ts, nr->v[q].ref.batch, nr->v[q].ref.row};
                if (nr->v[q].seq > er->max_seq)
                    er->max_seq = nr->v[q].seq;
            }
            er->n += nr->n;
        } else if ((rc = merge_entity(t, er, nr)) != FS_OK)
            break;
    }
    for (size_t k = 0; k < nacc; k++)
        free(acc[k].v);
    free(acc);
    for (size_t i = 0; i < np; i++) {
        if (bs[i]) {
            fs_batch_free(bs[i]);
            free(bs[i]);
        }
    }
    free(bs);
    if (rc == FS_OK) /* in the same critical section: rows are in a file or in the head */
        remove_pending(e, sel);
    else /* out of memory half-way: the head is inconsistent; the caller's error says to reopen */
        fs_sb_printf(err, "out of memory reading chunk files into memory; reopen the store");
    pthread_rwlock_unlock(&e->lock);
    pthread_rwlock_unlock(&e->pend_lock);
    free(sel);
    pthread_mutex_unlock(&e->load_mu);
    return rc;
}

/* Reads `table`'s pending files into the head, if it has any. */
static int ensure_loaded(fs_engine *e, const char *table)
{
    if (!__atomic_load_n(&e->npending, __ATOMIC_ACQUIRE))
        return FS_OK;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    size_t np = t ? t->npend : 0;
    pthread_rwlock_unlock(&e->lock);
    return np ? load_pending(e, table, NULL) : FS_OK;
}

/* ---- write-ahead log records ------------------------------------------------ */

typedef struct {
    fs_engine *e;
    uint64_t commits;
    fs_strbuf *err;
} replay_ctx;

/* A streamed commit's record: its chunk files become pending and unlisted
 * (the next checkpoint lists them). Each file is opened, so a missing or
 * damaged one fails the open instead of a later read. */
static int replay_stream(replay_ctx *c, uint64_t seq, int64_t time_ns, fs_rbuf *r)
{
    fs_engine *e = c->e;
    uint64_t tlen, rows, nfiles;
    const uint8_t *tp;
    if (fs_rbuf_varint(r, &tlen) || tlen > r->len - r->pos || !(tp = fs_rbuf_take(r, (size_t)tlen)) ||
        fs_rbuf_varint(r, &rows) || fs_rbuf_varint(r, &nfiles) || nfiles > r->len - r->pos) {
        fs_sb_printf(c->err, "write-ahead log record %llu (CRC valid) does not decode",
                     (unsigned long long)seq);
        return FS_E_CORRUPT;
    }
    char *table = strndup((const char *)tp, (size_t)tlen);
    if (!table)
        return FS_E_NOMEM;
    int rc = FS_OK;
    uint64_t sum = 0;
    for (uint64_t i = 0; rc == FS_OK && i < nfiles; i++) {
        uint64_t rlen, frows, bytes, raw;
        int64_t start, end;
        const uint8_t *rp;
        if (fs_rbuf_varint(r, &rlen) || rlen > r->len - r->pos || !(rp = fs_rbuf_take(r, (size_t)rlen)) ||
            fs_rbuf_svarint(r, &start) || fs_rbuf_svarint(r, &end) || fs_rbuf_varint(r, &frows) ||
            fs_rbuf_varint(r, &bytes) || fs_rbuf_varint(r, &raw)) {
            fs_sb_printf(c->err, "write-ahead log record %llu (CRC valid) does not decode",
                         (unsigned long long)seq);
            rc = FS_E_CORRUPT;
            break;
        }
        char *rel = strndup((const char *)rp, (size_t)rlen), *path = rel ? fs_path_join(e->dir, rel) : NULL;
        fs_chunk *ch = NULL;
        if (!path)
            rc = FS_E_NOMEM;
        else if ((rc = fs_chunk_open(path, &ch, c->err)) == FS_E_NOTFOUND) {
            fs_sb_printf(c->err, " (named by commit %llu)", (unsigned long long)seq);
            rc = FS_E_CORRUPT;
        } else if (rc == FS_OK) {
            const fs_chunk_meta *m = fs_chunk_get_meta(ch);
            if (fs_chunk_row_count(ch) != frows || m->max_seq != seq || strcmp(m->table, table) != 0) {
                fs_sb_printf(c->err, "%s does not hold the rows that commit %llu names", path,
                             (unsigned long long)seq);
                rc = FS_E_CORRUPT;
            }
            fs_chunk_close(ch);
        }
        if (rc == FS_OK)
            rc = add_pending(e, table, rel);
        if (rc == FS_OK) {
            json_t *en = json_object();
            json_object_set_new(en, "table", json_string(table));
            json_object_set_new(en, "file", json_string(rel));
            json_object_set_new(en, "start", json_integer(start));
            json_object_set_new(en, "end", json_integer(end));
            json_object_set_new(en, "max_seq", json_integer((json_int_t)seq));
            json_object_set_new(en, "rows", json_integer((json_int_t)frows));
            json_object_set_new(en, "bytes", json_integer((json_int_t)bytes));
            json_object_set_new(en, "raw_bytes", json_integer((json_int_t)raw));
            json_array_append_new(e->unlisted, en);
        }
        sum += frows;
        free(rel);
        free(path);
    }
    if (rc == FS_OK && (r->pos != r->len || sum != rows)) {
        fs_sb_printf(c->err, "write-ahead log record %llu (CRC valid) does not decode",
                     (unsigned long long)seq);
        rc = FS_E_CORRUPT;
    }
    if (rc == FS_OK)
        rc = record_commit(e, seq, time_ns, table, rows);
    free(table);
    return rc;
}

static int replay_one(void *p, uint64_t seq, const void *payload, size_t len)
{
    replay_ctx *c = p;
    fs_rbuf r;
    uint64_t format = 0;
    int64_t time_ns = 0;
    fs_rbuf_init(&r, payload, len);
    int rc = FS_OK;
    if (fs_rbuf_varint(&r, &format) || (format != 1 && format != 2) || fs_rbuf_svarint(&r, &time_ns))
        rc = FS_E_CORRUPT;
    else if (format == 2) {
        if ((rc = replay_stream(c, seq, time_ns, &r)) == FS_OK)
            c->commits++;
        return rc; /* it says what went wrong */
    } else {
        fs_batch *b = malloc(sizeof *b);
        const char *table = NULL;
        if (!b)
            return FS_E_NOMEM;
        rc = fs_batch_deserialize((const uint8_t *)payload + r.pos, len - r.pos, &table, b);
        if (rc == FS_OK) {
            uint64_t rows = b->n;
            rc = head_add(c->e, table, b, seq); /* takes b */
            if (rc == FS_OK)
                rc = record_commit(c->e, seq, time_ns, table, rows);
            if (rc != FS_OK)
                return rc;
        } else
            free(b);
    }
    if (rc == FS_E_CORRUPT) {
        /* The CRC matched, so this is not a torn write: refuse to guess. */
        fs_sb_printf(c->err, "write-ahead log record %llu (CRC valid) does not decode",
                     (unsigned long long)seq);
        return FS_E_CORRUPT;
    }
    if (rc == FS_OK)
        c->commits++;
    return rc;
}

/* ---- manifest and open ------------------------------------------------------- */

/* Reads DIR/manifest.json (absent: nothing checkpointed yet): its chunk files
 * become pending, its commit log is loaded. */
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
                const char *file = json_string_value(json_object_get(ch, "file"));
                const char *table = json_string_value(json_object_get(ch, "table"));
                if (!file || !table) {
                    fs_sb_printf(err, "%s: chunk entry %zu has no file or table", path, i);
                    rc = FS_E_CORRUPT;
                    break;
                }
                if ((rc = add_pending(e, table, file)) != FS_OK)
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
    e->last_seq = e->checkpoint_seq;
    json_decref(m);
    free(text);
    free(path);
    return rc;
}

/* The writer at open: removes files under chunks/ that neither the manifest
 * nor a replayed commit names: the parts of a streamed commit whose record
 * never made it, a checkpoint's files written before its manifest. Nothing
 * reads them, so this only frees space. */
static void remove_strays(fs_engine *e)
{
    json_t *named = json_object(); /* a set of the names in use */
    json_t *lists[2] = {e->chunks, e->unlisted};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *ch;
        json_array_foreach(lists[l], i, ch) {
            const char *f = json_string_value(json_object_get(ch, "file"));
            if (f)
                json_object_set_new(named, f, json_true());
        }
    }
    char *cdir = fs_path_join(e->dir, "chunks");
    DIR *d = cdir ? opendir(cdir) : NULL;
    struct dirent *te;
    while (d && (te = readdir(d))) {
        if (te->d_name[0] == '.')
            continue;
        size_t n = strlen(cdir) + strlen(te->d_name) + 2;
        char *tdir = malloc(n);
        if (!tdir)
            break;
        snprintf(tdir, n, "%s/%s", cdir, te->d_name);
        DIR *td = opendir(tdir);
        struct dirent *fe;
        int removed = 0;
        while (td && (fe = readdir(td))) {
            size_t fl = strlen(fe->d_name);
            if (fe->d_name[0] == '.' ||
                !((fl > 6 && strcmp(fe->d_name + fl - 6, ".chunk") == 0) ||
                  (fl > 10 && strcmp(fe->d_name + fl - 10, ".chunk.tmp") == 0)))
                continue;
            size_t rn = strlen(te->d_name) + fl + 16;
            char *rel = malloc(rn);
            if (!rel)
                break;
            snprintf(rel, rn, "chunks/%s/%s", te->d_name, fe->d_name);
            if (named && !json_object_get(named, rel)) {
                char *p = fs_path_join(e->dir, rel);
                if (p && unlink(p) == 0)
                    removed = 1;
                free(p);
            }
            free(rel);
        }
        if (td)
            closedir(td);
        if (removed)
            fs_fsync_dir(tdir, NULL);
        free(tdir);
    }
    if (d)
        closedir(d);
    free(cdir);
    json_decref(named);
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
    if (!e || !waldir || !(e->dir = strdup(dir)) || !(e->unlisted = json_array())) {
        if (e)
            free(e->dir);
        free(e);
        free(waldir);
        return FS_E_NOMEM;
    }
    pthread_rwlock_init(&e->lock, NULL);
    pthread_mutex_init(&e->commit_mu, NULL);
    pthread_mutex_init(&e->load_mu, NULL);
    pthread_rwlock_init(&e->pend_lock, NULL);
    pthread_mutex_init(&e->err_mu, NULL);
    e->read_only = opt && opt->read_only;
    fs_wal_options wo = {opt ? opt->sync : FS_SYNC_ALWAYS, 0, 0, e->read_only};
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
    if (!e->read_only)
        remove_strays(e);
    if (rc != FS_OK) {
        fs_engine_close(e, NULL);
        return rc;
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
        free(t->in_chunk);
        free(t->ents);
        free(t->slots);
        free(t->name);
    }
    /* All the handles at once: neighbouring mappings go in one unmapping. */
    fs_chunk **handles = calloc(e->npending + e->nretired + 1, sizeof *handles);
    size_t nh = 0;
    for (size_t i = 0; i < e->npending; i++) {
        free(e->pending[i].table);
        free(e->pending[i].rel);
        if (handles)
            handles[nh++] = e->pending[i].ch;
        else
            fs_chunk_close(e->pending[i].ch);
    }
    free(e->pending);
    for (size_t i = 0; i < e->nretired; i++) {
        if (handles)
            handles[nh++] = e->retired[i];
        else
            fs_chunk_close(e->retired[i]);
    }
    fs_chunk_close_many(handles, nh);
    free(handles);
    free(e->retired);
    free(e->tables);
    free(e->commits);
    json_decref(e->chunks);
    json_decref(e->unlisted);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->commit_mu);
    pthread_mutex_destroy(&e->load_mu);
    pthread_rwlock_destroy(&e->pend_lock);
    pthread_mutex_destroy(&e->err_mu);
    fs_sb_free(&e->read_err);
    free(e->dir);
    free(e);
    return rc;
}

/* ---- commits -------------------------------------------------------------------- */

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
    if (fs_batch_reserve(copy, rows->n) != FS_OK) {
        fs_batch_free(copy);
        free(copy);
        return FS_E_NOMEM;
    }
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

/* ---- reads ---------------------------------------------------------------------- */

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
    int rc = ensure_loaded(e, table);
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th;
    const entity_rows *er = lookup(e, table, entity, &th);
    int found = 0;
    if (er) {
        size_t i = upper_bound(er->rows, er->n, t);
        if (known_at < er->max_seq) /* rows stored after the watermark are invisible */
            while (i > 0 && ref_seq(th, er->rows[i - 1]) > known_at)
                i--;
        if (i > 0) {
            rowpos p = er->rows[i - 1];
            /* t - ttl computed without overflow for times near the limits */
            if (!(ttl_ns > 0 && p.ts < t && (uint64_t)t - (uint64_t)p.ts > (uint64_t)ttl_ns)) {
                out->batch = th->batches[p.batch];
                out->row = p.row;
                found = 1;
            }
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
    int rc = ensure_loaded(e, table);
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th;
    const entity_rows *er = lookup(e, table, entity, &th);
    size_t sent = 0;
    if (er) {
        int all = known_at >= er->max_seq;
        for (size_t i = lower_bound(er->rows, er->n, from); i < er->n; i++) {
            rowpos p = er->rows[i];
            if (p.ts >= to || (limit && sent >= limit))
                break;
            if (!all && ref_seq(th, p) > known_at)
                continue;
            sent++;
            if ((rc = fn(ctx, (fs_row_ref){th->batches[p.batch], p.row})) != 0)
                break;
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

int fs_engine_scan(fs_engine *e, const char *table, const char *entity, int64_t from, int64_t to,
                   uint64_t known_at, fs_run_fn fn, void *ctx)
{
    int rc = ensure_loaded(e, table);
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th;
    const entity_rows *er = lookup(e, table, entity, &th);
    if (er) {
        int all = known_at >= er->max_seq;
        size_t i = lower_bound(er->rows, er->n, from), end = lower_bound(er->rows, er->n, to);
        while (i < end && rc == 0) {
            rowpos p = er->rows[i];
            if (!all && ref_seq(th, p) > known_at) {
                i++;
                continue;
            }
            /* the run: following index entries that are the next rows of the same batch */
            size_t k = i + 1;
            while (k < end && er->rows[k].batch == p.batch && er->rows[k].row == p.row + (k - i) &&
                   (all || ref_seq(th, er->rows[k]) <= known_at))
                k++;
            rc = fn(ctx, th->batches[p.batch], p.row, k - i);
            i = k;
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

/* A set of entity keys (borrowed), for counting each once over the head
 * and the footers of pending files. */
typedef struct {
    const char **key;
    uint32_t *len;
    size_t n, nslots;
} key_set;

/* Adds key; 1 when it was new, 0 when present, -1 when out of memory. */
static int key_set_add(key_set *ks, const char *key, size_t len)
{
    if (2 * (ks->n + 1) > ks->nslots) {
        size_t nslots = ks->nslots ? 2 * ks->nslots : 256;
        const char **k = calloc(nslots, sizeof *k);
        uint32_t *l = calloc(nslots, sizeof *l);
        if (!k || !l) {
            free(k);
            free(l);
            return -1;
        }
        for (size_t i = 0; i < ks->nslots; i++) {
            if (!ks->key[i])
                continue;
            size_t j = hash_key(ks->key[i], ks->len[i]) & (nslots - 1);
            while (k[j])
                j = (j + 1) & (nslots - 1);
            k[j] = ks->key[i];
            l[j] = ks->len[i];
        }
        free(ks->key);
        free(ks->len);
        ks->key = k;
        ks->len = l;
        ks->nslots = nslots;
    }
    size_t j = hash_key(key, len) & (ks->nslots - 1);
    for (; ks->key[j]; j = (j + 1) & (ks->nslots - 1))
        if (ks->len[j] == len && memcmp(ks->key[j], key, len) == 0)
            return 0;
    ks->key[j] = key;
    ks->len[j] = (uint32_t)len;
    ks->n++;
    return 1;
}

static void key_set_free(key_set *ks)
{
    free(ks->key);
    free(ks->len);
}

/* Opens the handles of `table`'s pending files that are not open yet (the
 * files stay pending: reads go to them directly, entity by entity). */
static int open_handles(fs_engine *e, const char *table, fs_strbuf *err)
{
    int missing = 0, rc = FS_OK;
    pthread_rwlock_rdlock(&e->pend_lock);
    for (size_t i = 0; i < e->npending && !missing; i++)
        missing = !e->pending[i].ch && strcmp(e->pending[i].table, table) == 0;
    pthread_rwlock_unlock(&e->pend_lock);
    if (!missing)
        return FS_OK;
    pthread_rwlock_wrlock(&e->pend_lock);
    for (size_t i = 0; i < e->npending && rc == FS_OK; i++) {
        pending_file *pf = &e->pending[i];
        if (pf->ch || strcmp(pf->table, table) != 0)
            continue;
        char *path = fs_path_join(e->dir, pf->rel);
        fs_strbuf msg = {0};
        rc = path ? fs_chunk_open(path, &pf->ch, &msg) : FS_E_NOMEM;
        if (rc != FS_OK)
            note_read_error(e, &msg, err);
        fs_sb_free(&msg);
        free(path);
    }
    pthread_rwlock_unlock(&e->pend_lock);
    return rc;
}

/* Takes pend_lock for reading with every pending file of `table` open (a
 * streamed commit may add files between opening and locking: try again). */
static int lock_pending(fs_engine *e, const char *table, fs_strbuf *err)
{
    for (;;) {
        int rc = open_handles(e, table, err);
        if (rc != FS_OK)
            return rc;
        pthread_rwlock_rdlock(&e->pend_lock);
        size_t i = 0;
        while (i < e->npending && (e->pending[i].ch || strcmp(e->pending[i].table, table) != 0))
            i++;
        if (i == e->npending)
            return FS_OK;
        pthread_rwlock_unlock(&e->pend_lock);
    }
}

int fs_engine_entities(fs_engine *e, const char *table, int (*fn)(void *ctx, const char *key),
                       void *ctx)
{
    int rc = lock_pending(e, table, NULL);
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    key_set seen = {0};
    for (size_t i = 0; t && i < t->ne && !rc; i++)
        if (t->ents[i].n) {
            int added = t->npend ? key_set_add(&seen, t->ents[i].key, t->ents[i].key_len) : 1;
            rc = added < 0 ? FS_E_NOMEM : fn(ctx, t->ents[i].key);
        }
    for (size_t i = 0; t && t->npend && i < e->npending && !rc; i++) {
        if (strcmp(e->pending[i].table, table) != 0)
            continue;
        fs_chunk *ch = e->pending[i].ch;
        for (size_t k = 0; k < fs_chunk_entity_count(ch) && !rc; k++) {
            const fs_chunk_entity *en = fs_chunk_entity_at(ch, k);
            int added = key_set_add(&seen, en->key, en->key_len);
            rc = added < 0 ? FS_E_NOMEM : added ? fn(ctx, en->key) : 0;
        }
    }
    key_set_free(&seen);
    pthread_rwlock_unlock(&e->lock);
    pthread_rwlock_unlock(&e->pend_lock);
    return rc;
}

/* ---- direct reads (h) --------------------------------------------------------- */

struct fs_entity_reader {
    fs_engine *e;
    char *table;
    fs_batch out, tmp; /* the rows read; tmp: their sorted copy when needed */
    size_t ncols;
    char **names;
    uint8_t *present; /* per column: the table had it somewhere at open */
    int *map;
    uint32_t *ord;
    size_t cap_ord;
    int *seg; /* per pending file: the entity's segment being read, or -1 */
    size_t cap_seg;
};

/* Where `r`'s columns are in a stored batch (-1: absent); FS_E_INVAL when
 * a type differs. */
static int map_batch(const fs_entity_reader *r, const fs_batch *b, int *map, fs_strbuf *err)
{
    for (size_t k = 0; k < r->ncols; k++) {
        map[k] = fs_batch_col(b, r->names[k]);
        if (map[k] >= 0 && b->cols[map[k]].type != r->out.cols[k].type) {
            fs_sb_printf(err, "table %s: column %s has different types in different commits",
                         r->table, r->names[k]);
            return FS_E_INVAL;
        }
    }
    return FS_OK;
}

static int map_chunk(const fs_entity_reader *r, const fs_chunk *ch, int *map, fs_strbuf *err)
{
    for (size_t k = 0; k < r->ncols; k++) {
        fs_vtype ty;
        map[k] = fs_chunk_column_index(ch, r->names[k], &ty);
        if (map[k] >= 0 && ty != r->out.cols[k].type) {
            fs_sb_printf(err, "table %s: column %s has different types in different files",
                         r->table, r->names[k]);
            return FS_E_INVAL;
        }
    }
    return FS_OK;
}

const fs_batch *fs_entity_reader_shape(const fs_entity_reader *r) { return &r->out; }

void fs_entity_reader_close(fs_entity_reader *r)
{
    if (!r)
        return;
    fs_batch_free(&r->out);
    fs_batch_free(&r->tmp);
    for (size_t k = 0; r->names && k < r->ncols; k++)
        free(r->names[k]);
    free(r->names);
    free(r->map);
    free(r->present);
    free(r->ord);
    free(r->seg);
    free(r->table);
    free(r);
}

int fs_entity_reader_has_column(const fs_entity_reader *r, size_t k)
{
    return k < r->ncols && r->present[k];
}

int fs_entity_reader_open(fs_engine *e, const char *table, const char *const *cols, size_t ncols,
                          fs_entity_reader **out, fs_strbuf *err)
{
    *out = NULL;
    fs_entity_reader *r = calloc(1, sizeof *r);
    fs_colspec *spec = calloc(ncols + 1, sizeof *spec);
    if (!r || !spec || !(r->table = strdup(table)) ||
        !(r->names = calloc(ncols + 1, sizeof *r->names)) || !(r->map = calloc(ncols + 1, sizeof *r->map)) ||
        !(r->present = calloc(ncols + 1, 1))) {
        free(spec);
        fs_entity_reader_close(r);
        return FS_E_NOMEM;
    }
    r->e = e;
    r->ncols = ncols;
    int rc = FS_OK;
    for (size_t k = 0; k < ncols && rc == FS_OK; k++)
        rc = (r->names[k] = strdup(cols[k])) ? FS_OK : FS_E_NOMEM;
    if (rc == FS_OK)
        rc = lock_pending(e, table, err);
    if (rc != FS_OK) {
        free(spec);
        fs_entity_reader_close(r);
        return rc;
    }
    /* Each column's type, from wherever the table has it. */
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    for (size_t k = 0; k < ncols && rc == FS_OK; k++) {
        int found = 0;
        spec[k] = (fs_colspec){r->names[k], FS_VT_FLOAT64};
        for (size_t b = 0; t && b < t->nb; b++) {
            int c = fs_batch_col(t->batches[b], cols[k]);
            if (c < 0)
                continue;
            fs_vtype ty = t->batches[b]->cols[c].type;
            if (found && ty != spec[k].type)
                rc = FS_E_INVAL;
            spec[k].type = ty;
            found = 1;
        }
        for (size_t i = 0; i < e->npending; i++) {
            fs_vtype ty;
            if (strcmp(e->pending[i].table, table) != 0 ||
                fs_chunk_column_index(e->pending[i].ch, cols[k], &ty) < 0)
                continue;
            if (found && ty != spec[k].type)
                rc = FS_E_INVAL;
            spec[k].type = ty;
            found = 1;
        }
        if (rc != FS_OK)
            fs_sb_printf(err, "table %s: column %s has different types in different commits",
                         table, cols[k]);
        r->present[k] = (uint8_t)found;
    }
    pthread_rwlock_unlock(&e->lock);
    pthread_rwlock_unlock(&e->pend_lock);
    if (rc == FS_OK)
        rc = fs_batch_init(&r->out, spec, ncols);
    if (rc == FS_OK)
        rc = fs_batch_init(&r->tmp, spec, ncols);
    free(spec);
    if (rc != FS_OK) {
        fs_entity_reader_close(r);
        return rc;
    }
    *out = r;
    return FS_OK;
}

static int cmp_ts_seq(const void *ctx, uint32_t x, uint32_t y)
{
    const fs_batch *b = ctx;
    if (b->event_ts[x] != b->event_ts[y])
        return b->event_ts[x] < b->event_ts[y] ? -1 : 1;
    return b->seq[x] < b->seq[y] ? -1 : b->seq[x] > b->seq[y];
}

/* Moves row `from` of b to row `to` (to < from), for filtering in place. */
static void move_row(fs_batch *b, size_t to, size_t from)
{
    b->entity[to] = b->entity[from];
    b->entity_len[to] = b->entity_len[from];
    b->event_ts[to] = b->event_ts[from];
    b->seq[to] = b->seq[from];
    for (size_t k = 0; k < b->ncols; k++) {
        fs_column *c = &b->cols[k];
        c->valid[to] = c->valid[from];
        switch (c->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: c->i64[to] = c->i64[from]; break;
        case FS_VT_FLOAT64: c->f64[to] = c->f64[from]; break;
        case FS_VT_BOOL: c->b[to] = c->b[from]; break;
        case FS_VT_STRING:
            c->s[to] = c->s[from];
            c->slen[to] = c->slen[from];
            break;
        }
    }
}

/* The index entry (and in *idx its position) of `entity` in pending file
 * pf when pf belongs to the reader's table and holds the entity, else NULL. */
static const fs_chunk_entity *pending_entity(const fs_entity_reader *r, pending_file *pf,
                                             const char *entity, size_t len, int *idx)
{
    if (strcmp(pf->table, r->table) != 0 || (*idx = fs_chunk_find_entity(pf->ch, entity, len)) < 0)
        return NULL;
    return fs_chunk_entity_at(pf->ch, (size_t)*idx);
}

/* Rows of the pending files, then of the head, for one entity with
 * from <= event_ts <= last, give or take the rest of the segments read
 * (unsorted between sources). Under pend_lock (read). */
static int gather_entity(fs_entity_reader *r, const char *entity, size_t len, int64_t from,
                         int64_t last, fs_strbuf *err)
{
    fs_engine *e = r->e;
    int rc = FS_OK;
    /* The segments to read first, so that the rows get room at once:
     * growing as they came copied the rows read so far and touched twice
     * the memory. */
    if (e->npending > r->cap_seg) {
        int *p = realloc(r->seg, e->npending * sizeof *p);
        if (!p)
            return FS_E_NOMEM;
        r->seg = p;
        r->cap_seg = e->npending;
    }
    size_t rows = r->out.n;
    for (size_t i = 0; i < e->npending; i++) {
        const fs_chunk_entity *en = pending_entity(r, &e->pending[i], entity, len, &r->seg[i]);
        if (en && en->max_ts >= from && en->min_ts <= last)
            rows += (size_t)en->rows;
        else
            r->seg[i] = -1;
    }
    if (fs_batch_reserve(&r->out, rows) != FS_OK)
        return FS_E_NOMEM;
    for (size_t i = 0; i < e->npending && rc == FS_OK; i++) {
        pending_file *pf = &e->pending[i];
        int idx = r->seg[i];
        if (idx < 0)
            continue;
        fs_strbuf msg = {0};
        if ((rc = map_chunk(r, pf->ch, r->map, &msg)) == FS_OK)
            rc = fs_chunk_read_entity_cols(pf->ch, idx, r->map, &r->out, &msg);
        if (rc != FS_OK)
            note_read_error(e, &msg, err);
        fs_sb_free(&msg);
    }
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, r->table);
    const entity_rows *er = t ? find_entity(t, entity, len) : NULL;
    const fs_batch *mapped = NULL;
    for (size_t i = er ? lower_bound(er->rows, er->n, from) : 0; er && i < er->n && rc == FS_OK; i++) {
        rowpos p = er->rows[i];
        if (p.ts > last)
            break;
        const fs_batch *b = t->batches[p.batch];
        if (b != mapped && (rc = map_batch(r, b, r->map, err)) != FS_OK)
            break;
        mapped = b;
        if (fs_batch_copy_row_cols(&r->out, b, p.row, r->map))
            rc = FS_E_NOMEM;
    }
    pthread_rwlock_unlock(&e->lock);
    return rc;
}

/* For an as-of read at t: an event_ts the answer cannot be older than. A
 * source whose rows of the entity start at or before t, all visible at
 * known_at, holds a candidate that old or newer; so do the head's rows.
 * Under pend_lock (read). */
static int64_t asof_floor(fs_entity_reader *r, const char *entity, size_t len, int64_t t,
                          uint64_t known_at)
{
    fs_engine *e = r->e;
    int64_t lo = INT64_MIN;
    for (size_t i = 0; i < e->npending; i++) {
        int idx;
        const fs_chunk_entity *en = pending_entity(r, &e->pending[i], entity, len, &idx);
        if (en && en->min_ts <= t && en->max_seq <= known_at && en->min_ts > lo)
            lo = en->min_ts;
    }
    pthread_rwlock_rdlock(&e->lock);
    const table_head *th = find_table(e, r->table);
    const entity_rows *er = th ? find_entity(th, entity, len) : NULL;
    if (er && known_at >= er->max_seq) {
        size_t i = upper_bound(er->rows, er->n, t);
        if (i > 0 && er->rows[i - 1].ts > lo)
            lo = er->rows[i - 1].ts;
    }
    pthread_rwlock_unlock(&e->lock);
    return lo;
}

/* Reads into r->out the rows of `entity` with from <= event_ts <= last that
 * known_at sees, in (event_ts, seq) order; as-of reads (asof set) raise
 * `from` to what can still hold the answer first. */
static int read_rows(fs_entity_reader *r, const char *entity, int64_t from, int64_t last,
                     uint64_t known_at, int asof, fs_strbuf *err)
{
    fs_batch *b = &r->out;
    fs_batch_clear(b);
    size_t len = strlen(entity);
    int rc = lock_pending(r->e, r->table, err);
    if (rc != FS_OK)
        return rc;
    if (asof)
        from = asof_floor(r, entity, len, last, known_at);
    rc = gather_entity(r, entity, len, from, last, err);
    pthread_rwlock_unlock(&r->e->pend_lock);
    if (rc != FS_OK) {
        fs_batch_clear(b);
        return rc;
    }
    /* Whole segments were read: keep [from, last] and what known_at sees. */
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->event_ts[i] >= from && b->event_ts[i] <= last && b->seq[i] <= known_at) {
            if (n != i)
                move_row(b, n, i);
            n++;
        }
    b->n = n;
    /* Sources in load order: sorted already unless files overlap in time
     * or the head holds older commits than a file. A stable sort keeps a
     * commit's rows in the order written. */
    size_t i = 1;
    while (i < n && cmp_ts_seq(b, (uint32_t)(i - 1), (uint32_t)i) <= 0)
        i++;
    if (i >= n)
        return FS_OK;
    if (n > r->cap_ord) {
        uint32_t *o = realloc(r->ord, n * sizeof *o);
        if (!o)
            return FS_E_NOMEM;
        r->ord = o;
        r->cap_ord = n;
    }
    for (size_t k = 0; k < n; k++)
        r->ord[k] = (uint32_t)k;
    if (msort(r->ord, n, cmp_ts_seq, b) != FS_OK)
        return FS_E_NOMEM;
    fs_batch_clear(&r->tmp);
    for (size_t k = 0; k < n; k++)
        if (fs_batch_copy_row(&r->tmp, b, r->ord[k]))
            return FS_E_NOMEM;
    fs_batch swap = r->out;
    r->out = r->tmp;
    r->tmp = swap;
    return FS_OK;
}

int fs_entity_reader_read(fs_entity_reader *r, const char *entity, int64_t from, int64_t to,
                          uint64_t known_at, const fs_batch **rows, fs_strbuf *err)
{
    int rc = FS_OK;
    if (to == INT64_MIN || to <= from) /* an empty range */
        fs_batch_clear(&r->out);
    else
        rc = read_rows(r, entity, from, to - 1, known_at, 0, err);
    *rows = &r->out;
    return rc;
}

int fs_entity_reader_asof(fs_entity_reader *r, const char *entity, int64_t t, uint64_t known_at,
                          const fs_batch **rows, size_t *row, fs_strbuf *err)
{
    int rc = read_rows(r, entity, INT64_MIN, t, known_at, 1, err);
    *rows = &r->out;
    if (rc != FS_OK)
        return rc;
    if (!r->out.n)
        return 0;
    *row = r->out.n - 1; /* the greatest (event_ts, seq); within a commit the row written last */
    return 1;
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
        for (size_t b = 0; b < e->tables[t].nb; b++)
            if (!e->tables[t].in_chunk[b])
                n += e->tables[t].batches[b]->n;
    pthread_rwlock_unlock(&e->lock);
    return n;
}

/* ---- writing rows as chunk files ------------------------------------------------ */

/* Start of the chunk holding ts: floor division, also for times before 1970. */
static int64_t chunk_start(int64_t ts, int64_t interval)
{
    int64_t q = ts / interval;
    if (ts % interval < 0)
        q--;
    return q * interval;
}

/* Order of rows inside one chunk file: entity (by its rank among the
 * batch's keys), event_ts, seq; the merge sort keeps equal rows in order. */
typedef struct {
    const fs_batch *b;
    const uint32_t *rank;
} row_order;

static int cmp_rows(const void *ctx, uint32_t x, uint32_t y)
{
    const row_order *o = ctx;
    const fs_batch *b = o->b;
    if (o->rank[x] != o->rank[y])
        return o->rank[x] < o->rank[y] ? -1 : 1;
    if (b->event_ts[x] != b->event_ts[y])
        return b->event_ts[x] < b->event_ts[y] ? -1 : 1;
    return b->seq[x] < b->seq[y] ? -1 : b->seq[x] > b->seq[y];
}

static int key_order(const fs_batch *b, uint32_t x, uint32_t y)
{
    uint32_t lx = b->entity_len[x], ly = b->entity_len[y];
    int c = memcmp(b->entity[x], b->entity[y], lx < ly ? lx : ly);
    return c ? c : lx < ly ? -1 : lx > ly;
}

static int cmp_keys(const void *ctx, uint32_t x, uint32_t y) { return key_order(ctx, x, y); }

/* rank[r]: the position of row r's entity key among the batch's distinct
 * keys in key order (the order of chunk files). */
static int entity_ranks(const fs_batch *b, uint32_t *rank)
{
    size_t n = b->n, nslots = 64, nd = 0;
    while (nslots < 2 * n)
        nslots *= 2;
    uint32_t *slots = calloc(nslots, sizeof *slots), *first = malloc((n ? n : 1) * sizeof *first);
    uint32_t *id = malloc((n ? n : 1) * sizeof *id), *order = NULL, *rank_of = NULL;
    int rc = slots && first && id ? FS_OK : FS_E_NOMEM;
    for (size_t r = 0; rc == FS_OK && r < n; r++) {
        if (r && b->entity[r] == b->entity[r - 1] && b->entity_len[r] == b->entity_len[r - 1]) {
            id[r] = id[r - 1];
            continue;
        }
        size_t i = hash_key(b->entity[r], b->entity_len[r]) & (nslots - 1);
        for (;; i = (i + 1) & (nslots - 1)) {
            uint32_t s = slots[i];
            if (!s) {
                first[nd] = (uint32_t)r;
                slots[i] = (uint32_t)++nd;
                id[r] = (uint32_t)(nd - 1);
                break;
            }
            if (key_order(b, first[s - 1], (uint32_t)r) == 0) {
                id[r] = s - 1;
                break;
            }
        }
    }
    if (rc == FS_OK && (!(order = malloc((nd ? nd : 1) * sizeof *order)) ||
                        !(rank_of = malloc((nd ? nd : 1) * sizeof *rank_of))))
        rc = FS_E_NOMEM;
    if (rc == FS_OK) {
        /* sort the distinct keys (as their first rows) */
        for (size_t k = 0; k < nd; k++)
            order[k] = first[k];
        rc = msort(order, nd, cmp_keys, b);
    }
    if (rc == FS_OK) {
        for (size_t k = 0; k < nd; k++)
            rank_of[id[order[k]]] = (uint32_t)k;
        for (size_t r = 0; r < n; r++)
            rank[r] = rank_of[id[r]];
    }
    free(slots);
    free(first);
    free(id);
    free(order);
    free(rank_of);
    return rc;
}

typedef struct {
    int64_t start;
    size_t count, off;
} bucket;

static int cmp_bucket(const void *a, const void *b)
{
    const bucket *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Writes rows [0, b->n) of `b` (one table) as chunk files, one per `interval`
 * of event_ts, each sorted by (entity, event_ts, seq) through an index (the
 * rows are not copied). Files are named
 * chunks/TABLE/START-SEQ[SUFFIX].chunk, written with `flags`; their manifest
 * entries are appended to `entries` (max_seq = `seq`). */
/* The name of a chunk file of `table` starting at `start`, relative to the
 * data directory: the start as offset binary so that names sort by time;
 * the seq (and a part's suffix) keep files of different checkpoints and
 * commits for one chunk apart. */
static void chunk_file_name(char *rel, size_t size, const char *table, int64_t start, uint64_t seq,
                            const char *suffix)
{
    snprintf(rel, size, "chunks/%s/%016" PRIx64 "-%016" PRIx64 "%s.chunk", table,
             (uint64_t)start ^ (UINT64_C(1) << 63), seq, suffix);
}

/* The manifest entry of a chunk file just written. */
static json_t *chunk_entry(const char *table, const char *rel, int64_t start, int64_t end,
                           uint64_t seq, const fs_chunk_stats *st)
{
    json_t *en = json_object();
    json_object_set_new(en, "table", json_string(table));
    json_object_set_new(en, "file", json_string(rel));
    json_object_set_new(en, "start", json_integer(start));
    json_object_set_new(en, "end", json_integer(end));
    json_object_set_new(en, "max_seq", json_integer((json_int_t)seq));
    json_object_set_new(en, "rows", json_integer((json_int_t)st->rows));
    json_object_set_new(en, "bytes", json_integer((json_int_t)st->file_bytes));
    json_object_set_new(en, "raw_bytes", json_integer((json_int_t)st->raw_bytes));
    return en;
}

static int write_interval_files(fs_engine *e, const char *table, const fs_batch *b, int64_t interval,
                                uint64_t seq, const char *suffix, int flags, json_t *entries,
                                fs_strbuf *err)
{
    size_t n = b->n;
    if (n == 0)
        return FS_OK;
    if (n > UINT32_MAX) {
        fs_sb_printf(err, "too many rows for one chunk write (%zu)", n);
        return FS_E_INVAL;
    }
    /* Bucket the rows by chunk (a small hash map on the start), stably. */
    size_t nslots = 64, nbk = 0, capbk = 16;
    uint32_t *slots = calloc(nslots, sizeof *slots), *bk_of = malloc(n * sizeof *bk_of);
    bucket *bk = malloc(capbk * sizeof *bk);
    uint32_t *idx = malloc(n * sizeof *idx), *rank = NULL;
    int rc = slots && bk_of && bk && idx ? FS_OK : FS_E_NOMEM;
    int64_t last_start = 0;
    uint32_t last_bk = UINT32_MAX;
    for (size_t r = 0; rc == FS_OK && r < n; r++) {
        int64_t st = chunk_start(b->event_ts[r], interval);
        if (last_bk != UINT32_MAX && st == last_start) {
            bk_of[r] = last_bk;
            bk[last_bk].count++;
            continue;
        }
        if (2 * (nbk + 1) > nslots) { /* grow the map */
            size_t ns = nslots * 2;
            uint32_t *s2 = calloc(ns, sizeof *s2);
            if (!s2) {
                rc = FS_E_NOMEM;
                break;
            }
            for (size_t k = 0; k < nbk; k++) {
                size_t i = hash_key((const char *)&bk[k].start, sizeof bk[k].start) & (ns - 1);
                while (s2[i])
                    i = (i + 1) & (ns - 1);
                s2[i] = (uint32_t)k + 1;
            }
            free(slots);
            slots = s2;
            nslots = ns;
        }
        size_t i = hash_key((const char *)&st, sizeof st) & (nslots - 1);
        while (slots[i] && bk[slots[i] - 1].start != st)
            i = (i + 1) & (nslots - 1);
        if (!slots[i]) {
            if (nbk == capbk) {
                bucket *p = realloc(bk, 2 * capbk * sizeof *p);
                if (!p) {
                    rc = FS_E_NOMEM;
                    break;
                }
                bk = p;
                capbk *= 2;
            }
            bk[nbk] = (bucket){st, 0, 0};
            slots[i] = (uint32_t)++nbk;
        }
        last_bk = slots[i] - 1;
        last_start = st;
        bk_of[r] = last_bk;
        bk[last_bk].count++;
    }
    if (rc == FS_OK) {
        size_t off = 0;
        for (size_t k = 0; k < nbk; k++) {
            bk[k].off = off;
            off += bk[k].count;
        }
        size_t *fill = calloc(nbk, sizeof *fill);
        if (!fill)
            rc = FS_E_NOMEM;
        for (size_t r = 0; rc == FS_OK && r < n; r++)
            idx[bk[bk_of[r]].off + fill[bk_of[r]]++] = (uint32_t)r;
        free(fill);
    }
    /* Sort each bucket when it is not in order already (ingest files
     * usually are). */
    for (size_t k = 0; rc == FS_OK && k < nbk; k++) {
        uint32_t *v = idx + bk[k].off;
        size_t cnt = bk[k].count, i = 1;
        for (; i < cnt; i++) {
            uint32_t x = v[i - 1], y = v[i];
            int c = b->entity[x] == b->entity[y] && b->entity_len[x] == b->entity_len[y]
                        ? 0
                        : key_order(b, x, y);
            if (c > 0 || (c == 0 && (b->event_ts[x] > b->event_ts[y] ||
                                     (b->event_ts[x] == b->event_ts[y] && b->seq[x] > b->seq[y]))))
                break;
        }
        if (i >= cnt)
            continue;
        if (!rank) {
            if (!(rank = malloc(n * sizeof *rank))) {
                rc = FS_E_NOMEM;
                break;
            }
            if ((rc = entity_ranks(b, rank)) != FS_OK)
                break;
        }
        row_order o = {b, rank};
        rc = msort(v, cnt, cmp_rows, &o);
    }
    if (rc == FS_OK)
        qsort(bk, nbk, sizeof *bk, cmp_bucket); /* files in time order */
    for (size_t k = 0; rc == FS_OK && k < nbk; k++) {
        char rel[600], *path;
        chunk_file_name(rel, sizeof rel, table, bk[k].start, seq, suffix);
        if (!(path = fs_path_join(e->dir, rel))) {
            rc = FS_E_NOMEM;
            break;
        }
        fs_chunk_meta meta = {table, bk[k].start, bk[k].start + interval, seq};
        fs_chunk_stats st = {0};
        rc = fs_chunk_write_rows(path, b, idx + bk[k].off, bk[k].count, &meta, flags, &st, err);
        free(path);
        if (rc != FS_OK)
            break;
        json_array_append_new(entries, chunk_entry(table, rel, bk[k].start, bk[k].start + interval,
                                                   seq, &st));
    }
    free(slots);
    free(bk_of);
    free(bk);
    free(idx);
    free(rank);
    return rc;
}

/* fdatasync of each file of `entries` (from index `from` on), then fsync of
 * the directories that hold them (and of chunks/ itself, for a new table
 * directory): the files are durable before anything names them. */
static int sync_files(fs_engine *e, json_t *entries, size_t from, fs_strbuf *err)
{
    size_t i;
    json_t *en;
    int rc = FS_OK;
    json_t *dirs = json_object();
    json_array_foreach(entries, i, en) {
        if (i < from)
            continue;
        const char *rel = json_string_value(json_object_get(en, "file"));
        char *path = fs_path_join(e->dir, rel);
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0 || fdatasync(fd) != 0) {
            int er = path ? errno : ENOMEM;
            fs_sb_printf(err, "cannot sync %s: %s", path ? path : rel, strerror(er));
            rc = er == ENOSPC || er == EDQUOT ? FS_E_NOSPACE : FS_E_IO;
        }
        if (fd >= 0)
            close(fd);
        free(path);
        if (rc != FS_OK)
            break;
        const char *slash = strrchr(rel, '/');
        if (slash) {
            char d[600];
            snprintf(d, sizeof d, "%.*s", (int)(slash - rel), rel);
            json_object_set_new(dirs, d, json_true());
        }
    }
    const char *d;
    json_t *v;
    json_object_foreach(dirs, d, v) {
        if (rc != FS_OK)
            break;
        char *p = fs_path_join(e->dir, d);
        rc = p ? fs_fsync_dir(p, err) : FS_E_NOMEM;
        free(p);
    }
    if (rc == FS_OK && json_object_size(dirs)) {
        char *p = fs_path_join(e->dir, "chunks");
        rc = p ? fs_fsync_dir(p, err) : FS_E_NOMEM;
        free(p);
    }
    json_decref(dirs);
    return rc;
}

/* Removes the files of `entries` (from index `from` on): they were written
 * for something that failed, and nothing names them. */
static void unlink_files(fs_engine *e, json_t *entries, size_t from)
{
    size_t i;
    json_t *en;
    json_array_foreach(entries, i, en) {
        if (i < from)
            continue;
        char *p = fs_path_join(e->dir, json_string_value(json_object_get(en, "file")));
        if (p)
            unlink(p);
        free(p);
    }
}

static int table_dir(fs_engine *e, const char *table, fs_strbuf *err)
{
    size_t n = strlen(e->dir) + strlen(table) + 16;
    char *dir = malloc(n);
    if (!dir)
        return FS_E_NOMEM;
    snprintf(dir, n, "%s/chunks/%s", e->dir, table);
    int rc = fs_mkdirs(dir, err);
    free(dir);
    return rc;
}

static int same_columns(const fs_batch *a, const fs_batch *b)
{
    if (a->ncols != b->ncols)
        return 0;
    for (size_t c = 0; c < a->ncols; c++)
        if (a->cols[c].type != b->cols[c].type || strcmp(a->cols[c].name, b->cols[c].name) != 0)
            return 0;
    return 1;
}

/* Writes the rows of the table's batches that are not in chunk files yet:
 * batches with the same columns are viewed as one (their arrays gathered,
 * strings shared, nothing re-encoded row by row) and written per interval;
 * manifest entries go to `entries`. */
static int checkpoint_table(fs_engine *e, table_head *t, int64_t interval, uint64_t cp_seq,
                            json_t *entries, fs_strbuf *err)
{
    int rc = FS_OK, made_dir = 0;
    unsigned group = 0;
    for (size_t bi = 0; rc == FS_OK && bi < t->nb;) {
        if (t->in_chunk[bi]) {
            bi++;
            continue;
        }
        const fs_batch *first = t->batches[bi];
        size_t end = bi + 1, rows = first->n;
        while (end < t->nb && !t->in_chunk[end] && same_columns(first, t->batches[end]))
            rows += t->batches[end++]->n;
        if (!made_dir && (rc = table_dir(e, t->name, err)) != FS_OK)
            break;
        made_dir = 1;
        char suffix[32] = "";
        if (group)
            snprintf(suffix, sizeof suffix, "-g%u", group);
        if (end == bi + 1) { /* one batch (one large commit): written as it is */
            rc = write_interval_files(e, t->name, first, interval, cp_seq, suffix, FS_CHUNK_NO_SYNC,
                                      entries, err);
            group++;
            bi = end;
            continue;
        }
        /* The group as one batch: column arrays concatenated, strings shared. */
        fs_colspec *spec = calloc(first->ncols ? first->ncols : 1, sizeof *spec);
        fs_batch g;
        if (!spec) {
            rc = FS_E_NOMEM;
            break;
        }
        for (size_t k = 0; k < first->ncols; k++)
            spec[k] = (fs_colspec){first->cols[k].name, first->cols[k].type};
        rc = fs_batch_init(&g, spec, first->ncols);
        free(spec);
        if (rc != FS_OK)
            break;
        if ((rc = fs_batch_reserve(&g, rows)) == FS_OK)
            for (size_t k = bi; k < end; k++)
                fs_batch_append_shared(&g, t->batches[k]);
        if (rc == FS_OK)
            rc = write_interval_files(e, t->name, &g, interval, cp_seq, suffix, FS_CHUNK_NO_SYNC,
                                      entries, err);
        fs_batch_free(&g);
        group++;
        bi = end;
    }
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

/* The checkpoint, with commit_mu held by the caller. */
static int checkpoint_locked(fs_engine *e, fs_chunk_interval_fn interval, void *ctx, fs_strbuf *err)
{
    uint64_t cp_seq = e->last_seq;
    int rc = FS_OK;
    if (cp_seq == e->checkpoint_seq)
        return FS_OK;
    json_t *entries = json_array();
    /* Readers may run: the head is only read here, and published below. */
    for (size_t t = 0; rc == FS_OK && t < e->nt; t++) {
        int64_t iv = interval ? interval(ctx, e->tables[t].name) : 0;
        rc = checkpoint_table(e, &e->tables[t], iv > 0 ? iv : 86400LL * 1000000000LL, cp_seq,
                              entries, err);
    }
    if (rc == FS_OK)
        rc = sync_files(e, entries, 0, err);
    if (rc != FS_OK) { /* the old manifest stands; the new files go */
        unlink_files(e, entries, 0);
        json_decref(entries);
        return rc;
    }
    /* The manifest lists the chunks of streamed commits, then the new ones. */
    json_t *chunks = json_copy(e->chunks);
    json_array_extend(chunks, e->unlisted);
    json_array_extend(chunks, entries);
    json_decref(entries);
    fs_fault_point("checkpoint-before-manifest");
    if ((rc = write_manifest(e, chunks, cp_seq, err)) != FS_OK) {
        json_decref(chunks);
        return rc;
    }
    fs_fault_point("checkpoint-before-trim");
    pthread_rwlock_wrlock(&e->lock);
    json_decref(e->chunks);
    e->chunks = chunks;
    json_array_clear(e->unlisted);
    e->checkpoint_seq = cp_seq;
    for (size_t t = 0; t < e->nt; t++)
        if (e->tables[t].nb)
            memset(e->tables[t].in_chunk, 1, e->tables[t].nb);
    pthread_rwlock_unlock(&e->lock);
    return fs_wal_trim(e->wal, cp_seq, err);
}

int fs_engine_checkpoint(fs_engine *e, fs_chunk_interval_fn interval, void *ctx, fs_strbuf *err)
{
    if (e->read_only)
        return FS_E_INVAL;
    pthread_mutex_lock(&e->commit_mu); /* no commit while the head is split */
    int rc = checkpoint_locked(e, interval, ctx, err);
    pthread_mutex_unlock(&e->commit_mu);
    return rc;
}

/* ---- streamed commits ------------------------------------------------------------ */

struct fs_engine_stream {
    fs_engine *e;
    char *table;
    int64_t interval;
    fs_chunk_interval_fn interval_fn;
    void *ctx;
    uint64_t seq; /* the commit's, reserved at begin */
    pthread_mutex_t mu; /* parts may be added from several threads */
    uint64_t rows;
    unsigned next_part;
    json_t *files; /* manifest entries of the parts written so far, each with its "part" */
};

int fs_engine_stream_begin(fs_engine *e, const char *table, fs_chunk_interval_fn interval, void *ctx,
                           fs_engine_stream **out, fs_strbuf *err)
{
    *out = NULL;
    if (e->read_only || !table || !*table)
        return FS_E_INVAL;
    fs_engine_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->table = strdup(table)) || !(s->files = json_array())) {
        if (s)
            free(s->table);
        free(s);
        return FS_E_NOMEM;
    }
    int64_t iv = interval ? interval(ctx, table) : 0;
    s->e = e;
    pthread_mutex_init(&s->mu, NULL);
    s->interval = iv > 0 ? iv : 86400LL * 1000000000LL;
    s->interval_fn = interval;
    s->ctx = ctx;
    int rc = table_dir(e, table, err);
    if (rc != FS_OK) {
        pthread_mutex_destroy(&s->mu);
        json_decref(s->files);
        free(s->table);
        free(s);
        return rc;
    }
    pthread_mutex_lock(&e->commit_mu); /* until commit or abort: the seq is ours */
    s->seq = fs_wal_last_seq(e->wal) + 1;
    *out = s;
    return FS_OK;
}

/* The files of part `index` (entries `mine`, taken) join the commit. */
static void stream_take_part(fs_engine_stream *s, json_t *mine, unsigned index, uint64_t rows)
{
    size_t i;
    json_t *en;
    json_array_foreach(mine, i, en) json_object_set_new(en, "part", json_integer(index));
    pthread_mutex_lock(&s->mu);
    json_array_extend(s->files, mine);
    s->rows += rows;
    if (index >= s->next_part)
        s->next_part = index + 1;
    pthread_mutex_unlock(&s->mu);
    json_decref(mine);
    fs_fault_point("stream-after-part");
}

int fs_engine_stream_add_part(fs_engine_stream *s, fs_batch *part, unsigned index, fs_strbuf *err)
{
    if (!part->n)
        return FS_OK;
    for (size_t r = 0; r < part->n; r++)
        part->seq[r] = s->seq;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "-p%u", index);
    json_t *mine = json_array();
    int rc = mine ? write_interval_files(s->e, s->table, part, s->interval, s->seq, suffix,
                                         FS_CHUNK_NO_SYNC, mine, err)
                  : FS_E_NOMEM;
    if (rc != FS_OK) {
        unlink_files(s->e, mine, 0);
        json_decref(mine);
        return rc;
    }
    stream_take_part(s, mine, index, part->n);
    return FS_OK;
}

static unsigned stream_next_index(fs_engine_stream *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned index = s->next_part++;
    pthread_mutex_unlock(&s->mu);
    return index;
}

int fs_engine_stream_add(fs_engine_stream *s, fs_batch *part, fs_strbuf *err)
{
    return fs_engine_stream_add_part(s, part, stream_next_index(s), err);
}

int64_t fs_engine_stream_chunk_start(const fs_engine_stream *s, int64_t ts)
{
    return chunk_start(ts, s->interval);
}

/* ---- a part written as its rows come ---------------------------------------- */

typedef struct {
    int64_t start;
    fs_chunk_builder *b;
} part_interval;

struct fs_engine_part {
    fs_engine_stream *s;
    part_interval *iv; /* sorted by start; each builder writes its file as it goes */
    size_t niv, cap;
    uint64_t rows;
    size_t bytes;
    unsigned index; /* taken at the part's first row: it names the files */
    int has_index;
};

int fs_engine_part_open(fs_engine_stream *s, fs_engine_part **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return FS_E_NOMEM;
    (*out)->s = s;
    return FS_OK;
}

/* Frees the builders (removing the files of unfinished ones) and empties
 * the part. */
static void part_reset(fs_engine_part *p)
{
    for (size_t i = 0; i < p->niv; i++)
        fs_chunk_builder_free(p->iv[i].b);
    p->niv = 0;
    p->rows = 0;
    p->bytes = 0;
    p->has_index = 0;
}

void fs_engine_part_free(fs_engine_part *p)
{
    if (!p)
        return;
    part_reset(p);
    free(p->iv);
    free(p);
}

/* The builder of the chunk that starts at `start`, made when missing. */
static int part_builder(fs_engine_part *p, const fs_batch *rows, int64_t start, fs_chunk_builder **out,
                        fs_strbuf *err)
{
    size_t lo = 0, hi = p->niv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->iv[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->niv && p->iv[lo].start == start) {
        *out = p->iv[lo].b;
        return FS_OK;
    }
    if (p->niv == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        part_interval *iv = realloc(p->iv, cap * sizeof *iv);
        if (!iv)
            return FS_E_NOMEM;
        p->iv = iv;
        p->cap = cap;
    }
    fs_colspec *cols = malloc((rows->ncols ? rows->ncols : 1) * sizeof *cols);
    if (!cols)
        return FS_E_NOMEM;
    for (size_t c = 0; c < rows->ncols; c++)
        cols[c] = (fs_colspec){rows->cols[c].name, rows->cols[c].type};
    fs_engine_stream *s = p->s;
    fs_chunk_meta meta = {s->table, start, start + s->interval, s->seq};
    fs_chunk_builder *b = NULL;
    int rc = fs_chunk_builder_new(NULL, &meta, cols, rows->ncols, &b, err);
    free(cols);
    if (rc != FS_OK)
        return rc;
    if (!p->has_index) {
        p->index = stream_next_index(s);
        p->has_index = 1;
    }
    char rel[600], suffix[32], *path;
    snprintf(suffix, sizeof suffix, "-p%u", p->index);
    chunk_file_name(rel, sizeof rel, s->table, start, s->seq, suffix);
    if (!(path = fs_path_join(s->e->dir, rel)))
        rc = FS_E_NOMEM;
    else
        rc = fs_chunk_builder_stream_to(b, path, err);
    free(path);
    if (rc != FS_OK) {
        fs_chunk_builder_free(b);
        return rc;
    }
    memmove(p->iv + lo + 1, p->iv + lo, (p->niv - lo) * sizeof *p->iv);
    p->iv[lo] = (part_interval){start, b};
    p->niv++;
    *out = b;
    return FS_OK;
}

int fs_engine_part_add(fs_engine_part *p, fs_batch *rows, size_t first, size_t n, fs_strbuf *err)
{
    if (first > rows->n || n > rows->n - first)
        return FS_E_INVAL;
    for (size_t r = first; r < first + n; r++)
        rows->seq[r] = p->s->seq;
    int rc = FS_OK;
    for (size_t i = first, j, end = first + n; rc == FS_OK && i < end; i = j) {
        /* a run of one entity in one chunk */
        int64_t st = chunk_start(rows->event_ts[i], p->s->interval);
        for (j = i + 1; j < end && rows->event_ts[j] < st + p->s->interval && rows->event_ts[j] >= st &&
                        (rows->entity[j] == rows->entity[i] ||
                         (rows->entity_len[j] == rows->entity_len[i] &&
                          memcmp(rows->entity[j], rows->entity[i], rows->entity_len[i]) == 0));
             j++)
            ;
        fs_chunk_builder *b = NULL;
        if ((rc = part_builder(p, rows, st, &b, err)) == FS_OK) {
            size_t before = fs_chunk_builder_bytes(b);
            if ((rc = fs_chunk_builder_add(b, rows, i, j - i, err)) == FS_OK) {
                p->rows += j - i;
                p->bytes += fs_chunk_builder_bytes(b) - before;
            }
        }
    }
    return rc;
}

size_t fs_engine_part_bytes(const fs_engine_part *p) { return p->bytes; }

int fs_engine_part_finish(fs_engine_part *p, fs_strbuf *err)
{
    if (!p->rows) {
        part_reset(p);
        return FS_OK;
    }
    fs_engine_stream *s = p->s;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "-p%u", p->index);
    json_t *mine = json_array();
    int rc = mine ? FS_OK : FS_E_NOMEM;
    for (size_t i = 0; rc == FS_OK && i < p->niv; i++) {
        char rel[600];
        chunk_file_name(rel, sizeof rel, s->table, p->iv[i].start, s->seq, suffix);
        fs_chunk_stats st = {0};
        rc = fs_chunk_builder_finish(p->iv[i].b, &st, err);
        if (rc == FS_OK)
            json_array_append_new(mine, chunk_entry(s->table, rel, p->iv[i].start,
                                                    p->iv[i].start + s->interval, s->seq, &st));
    }
    if (rc != FS_OK) {
        if (mine)
            unlink_files(s->e, mine, 0);
        json_decref(mine);
        part_reset(p);
        return rc;
    }
    stream_take_part(s, mine, p->index, p->rows);
    part_reset(p);
    return FS_OK;
}

/* Part order, stably: the files of a commit are listed (and read) in the
 * order of the file's text, which decides ties inside the commit. */
static int cmp_part(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    json_int_t px = json_integer_value(json_object_get(*x, "part")),
               py = json_integer_value(json_object_get(*y, "part"));
    if (px != py)
        return px < py ? -1 : 1;
    return json_integer_value(json_object_get(*x, "pos")) <
                   json_integer_value(json_object_get(*y, "pos"))
               ? -1
               : 1;
}

static int sort_parts(json_t *files)
{
    size_t n = json_array_size(files), i;
    json_t **v = malloc((n ? n : 1) * sizeof *v), *en;
    if (!v)
        return FS_E_NOMEM;
    json_array_foreach(files, i, en) {
        json_object_set_new(en, "pos", json_integer((json_int_t)i));
        v[i] = json_incref(en);
    }
    qsort(v, n, sizeof *v, cmp_part);
    json_array_clear(files);
    for (i = 0; i < n; i++) {
        json_object_del(v[i], "part");
        json_object_del(v[i], "pos");
        json_array_append_new(files, v[i]);
    }
    free(v);
    return FS_OK;
}

void fs_engine_stream_drop_parts(fs_engine_stream *s, unsigned from_index)
{
    pthread_mutex_lock(&s->mu);
    json_t *keep = json_array();
    size_t i;
    json_t *en;
    json_array_foreach(s->files, i, en) {
        if (json_integer_value(json_object_get(en, "part")) >= (json_int_t)from_index) {
            char *p = fs_path_join(s->e->dir, json_string_value(json_object_get(en, "file")));
            if (p)
                unlink(p);
            free(p);
            s->rows -= (uint64_t)json_integer_value(json_object_get(en, "rows"));
        } else
            json_array_append(keep, en);
    }
    json_decref(s->files);
    s->files = keep;
    pthread_mutex_unlock(&s->mu);
}

static void stream_free(fs_engine_stream *s)
{
    pthread_mutex_destroy(&s->mu);
    json_decref(s->files);
    free(s->table);
    free(s);
}

void fs_engine_stream_abort(fs_engine_stream *s)
{
    if (!s)
        return;
    unlink_files(s->e, s->files, 0);
    pthread_mutex_unlock(&s->e->commit_mu);
    stream_free(s);
}

int fs_engine_stream_commit(fs_engine_stream *s, uint64_t *seq_out, fs_strbuf *err)
{
    fs_engine *e = s->e;
    if (!s->rows) {
        fs_engine_stream_abort(s);
        return FS_E_INVAL;
    }
    /* 1. the parts durable (their names too), listed in file order */
    fs_fault_point("stream-before-sync");
    int rc = sort_parts(s->files);
    if (rc == FS_OK)
        rc = sync_files(e, s->files, 0, err);
    /* 2. the commit record: from here the commit is durable */
    fs_wbuf w = {0};
    int64_t now = fs_now_ns();
    size_t tlen = strlen(s->table), i;
    json_t *en;
    fs_wbuf_varint(&w, 2);
    fs_wbuf_svarint(&w, now);
    fs_wbuf_varint(&w, tlen);
    fs_wbuf_bytes(&w, s->table, tlen);
    fs_wbuf_varint(&w, s->rows);
    fs_wbuf_varint(&w, json_array_size(s->files));
    json_array_foreach(s->files, i, en) {
        const char *rel = json_string_value(json_object_get(en, "file"));
        fs_wbuf_varint(&w, strlen(rel));
        fs_wbuf_bytes(&w, rel, strlen(rel));
        fs_wbuf_svarint(&w, (int64_t)json_integer_value(json_object_get(en, "start")));
        fs_wbuf_svarint(&w, (int64_t)json_integer_value(json_object_get(en, "end")));
        fs_wbuf_varint(&w, (uint64_t)json_integer_value(json_object_get(en, "rows")));
        fs_wbuf_varint(&w, (uint64_t)json_integer_value(json_object_get(en, "bytes")));
        fs_wbuf_varint(&w, (uint64_t)json_integer_value(json_object_get(en, "raw_bytes")));
    }
    if (rc == FS_OK)
        rc = fs_wbuf_status(&w);
    uint64_t seq = 0;
    if (rc == FS_OK) {
        fs_fault_point("stream-before-commit-record");
        rc = fs_wal_append(e->wal, w.data, w.len, &seq, err);
    }
    fs_wbuf_free(&w);
    if (rc != FS_OK) { /* no record: nothing names the parts */
        fs_engine_stream_abort(s);
        return rc;
    }
    fs_fault_point("stream-after-commit-record");
    if (seq != s->seq) { /* cannot happen while commit_mu is held */
        fs_sb_printf(err, "streamed commit got seq %llu, expected %llu; reopen the store",
                     (unsigned long long)seq, (unsigned long long)s->seq);
        rc = FS_E_IO;
    }
    /* 3. visible: the parts wait for the first read (g); the next
     * checkpoint lists them in the manifest (the caller takes one) */
    json_array_foreach(s->files, i, en) {
        if (rc == FS_OK)
            rc = add_pending(e, s->table, json_string_value(json_object_get(en, "file")));
    }
    pthread_rwlock_wrlock(&e->lock);
    if (rc == FS_OK)
        rc = record_commit(e, seq, now, s->table, s->rows);
    e->last_seq = seq;
    json_array_extend(e->unlisted, s->files);
    pthread_rwlock_unlock(&e->lock);
    if (rc != FS_OK)
        fs_sb_printf(err, "%scommit %llu is durable but could not be published; reopen the store",
                     fs_sb_str(err)[0] ? ": " : "", (unsigned long long)seq);
    *seq_out = seq;
    pthread_mutex_unlock(&e->commit_mu);
    stream_free(s);
    return rc;
}

/* ---- retention and statistics --------------------------------------------------- */

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
        /* Not read into the head yet: they never will be. */
        json_t *gone_set = json_object();
        json_array_foreach(gone, i, ch) json_object_set_new(
            gone_set, json_string_value(json_object_get(ch, "file")), json_true());
        pthread_mutex_lock(&e->load_mu);
        uint8_t *drop = calloc(e->npending ? e->npending : 1, 1);
        if (drop) {
            for (size_t p = 0; p < e->npending; p++)
                drop[p] = json_object_get(gone_set, e->pending[p].rel) != NULL;
            pthread_rwlock_wrlock(&e->pend_lock);
            pthread_rwlock_wrlock(&e->lock);
            remove_pending(e, drop);
            pthread_rwlock_unlock(&e->lock);
            pthread_rwlock_unlock(&e->pend_lock);
        } else
            rc = FS_E_NOMEM;
        free(drop);
        pthread_mutex_unlock(&e->load_mu);
        json_decref(gone_set);
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

/* Reads the chunk files `files` (manifest entries, one table and one time
 * partition) into one batch. FS_E_INVAL when their columns differ (a source
 * whose definition changed between them: left as they are). */
static int read_group(fs_engine *e, json_t *files, fs_batch *b, fs_strbuf *err)
{
    size_t i;
    json_t *en;
    int rc = FS_OK, init = 0;
    json_array_foreach(files, i, en) {
        char *path = fs_path_join(e->dir, json_string_value(json_object_get(en, "file")));
        fs_chunk *ch = NULL;
        rc = path ? fs_chunk_open(path, &ch, err) : FS_E_NOMEM;
        free(path);
        if (rc != FS_OK)
            break;
        size_t ncols;
        const fs_colspec *cols = fs_chunk_columns(ch, &ncols);
        if (!init) {
            rc = fs_batch_init(b, cols, ncols);
            for (size_t c = 0; rc == FS_OK && c < ncols; c++) /* names outlive the chunk */
                if (!(b->cols[c].name = fs_arena_strdup(&b->meta, cols[c].name)))
                    rc = FS_E_NOMEM;
            init = rc == FS_OK;
        } else if (ncols != b->ncols) {
            rc = FS_E_INVAL;
        } else {
            for (size_t c = 0; c < ncols; c++)
                if (cols[c].type != b->cols[c].type || strcmp(cols[c].name, b->cols[c].name) != 0)
                    rc = FS_E_INVAL;
        }
        if (rc == FS_OK)
            rc = fs_chunk_read_all(ch, b, err);
        fs_chunk_close(ch);
        if (rc != FS_OK)
            break;
    }
    return rc;
}

/* The pending files by name: rel -> index in e->pending (a hash, so that
 * a store of many thousand files is not compared pairwise). Under load_mu;
 * NULL when out of memory. */
static json_t *pending_by_name(const fs_engine *e)
{
    json_t *m = json_object();
    for (size_t p = 0; m && p < e->npending; p++)
        if (json_object_set_new(m, e->pending[p].rel, json_integer((json_int_t)p)) != 0) {
            json_decref(m);
            return NULL;
        }
    return m;
}

/* Whether the files of a partition (manifest entries) are pending, not read
 * into the head: 1 all of them, 0 none, -1 some. */
static int group_pending(json_t *by_name, json_t *files)
{
    size_t i, in = 0;
    json_t *en;
    json_array_foreach(files, i, en)
        in += json_object_get(by_name, json_string_value(json_object_get(en, "file"))) != NULL;
    return in == json_array_size(files) ? 1 : in == 0 ? 0 : -1;
}

/* After a compaction's manifest names the merged files: the pending files
 * of each merged partition (merged[k] its old entries, added[k] the new
 * one) give way to the merged file, in one critical section, so a direct
 * read sees every row once. A partition read into the head meanwhile
 * (load_pending takes all of a table's files at once) keeps its rows
 * there, and its merged file is only for the next open. */
static int swap_pending(fs_engine *e, const char *table, json_t *merged, json_t *added)
{
    size_t ng = json_array_size(merged), nadd = 0;
    pthread_mutex_lock(&e->load_mu);
    uint8_t *drop = calloc(e->npending + 1, 1);
    int *swap = calloc(ng + 1, sizeof *swap);
    json_t *by_name = pending_by_name(e);
    int rc = drop && swap && by_name ? FS_OK : FS_E_NOMEM;
    for (size_t k = 0; rc == FS_OK && k < ng; k++)
        if ((swap[k] = group_pending(by_name, json_array_get(merged, k)) == 1))
            nadd++;
    if (rc == FS_OK)
        rc = reserve_pending(e, e->npending + nadd);
    pending_file *fresh = calloc(nadd + 1, sizeof *fresh);
    if (!fresh)
        rc = FS_E_NOMEM;
    for (size_t k = 0, a = 0; rc == FS_OK && k < ng; k++) {
        if (!swap[k])
            continue;
        size_t i;
        json_t *en;
        json_array_foreach(json_array_get(merged, k), i, en) {
            json_t *at = json_object_get(by_name, json_string_value(json_object_get(en, "file")));
            drop[json_integer_value(at)] = 1; /* all pending: checked above */
        }
        fresh[a].table = strdup(table);
        fresh[a].rel = strdup(json_string_value(json_object_get(json_array_get(added, k), "file")));
        if (!fresh[a].table || !fresh[a].rel)
            rc = FS_E_NOMEM;
        a++;
    }
    if (rc == FS_OK && nadd) {
        pthread_rwlock_wrlock(&e->pend_lock);
        pthread_rwlock_wrlock(&e->lock);
        table_head *t = get_table(e, table);
        if (t) {
            remove_pending(e, drop);
            for (size_t a = 0; a < nadd; a++)
                e->pending[e->npending + a] = fresh[a];
            t->npend += nadd;
            __atomic_store_n(&e->npending, e->npending + nadd, __ATOMIC_RELEASE);
            nadd = 0; /* handed over */
        } else
            rc = FS_E_NOMEM;
        pthread_rwlock_unlock(&e->lock);
        pthread_rwlock_unlock(&e->pend_lock);
    }
    for (size_t a = 0; fresh && a < nadd; a++) {
        free(fresh[a].table);
        free(fresh[a].rel);
    }
    free(fresh);
    free(swap);
    free(drop);
    json_decref(by_name);
    pthread_mutex_unlock(&e->load_mu);
    return rc;
}

int fs_engine_compact_chunks(fs_engine *e, const char *table, int64_t cutoff,
                             fs_chunk_interval_fn interval_fn, void *ctx, uint64_t *merged_out,
                             uint64_t *files_out, fs_strbuf *err)
{
    *merged_out = *files_out = 0;
    if (e->read_only)
        return FS_E_INVAL;
    int64_t interval = interval_fn ? interval_fn(ctx, table) : 0;
    if (interval <= 0)
        interval = 86400LL * 1000000000LL;
    /* A name no file has: a merged file may itself be merged again later. */
    char suffix[40];
    snprintf(suffix, sizeof suffix, "-m%llx", (unsigned long long)fs_now_ns());
    pthread_mutex_lock(&e->commit_mu);
    int rc = json_array_size(e->unlisted) ? checkpoint_locked(e, interval_fn, ctx, err) /* list streamed commits' files first */
                                          : FS_OK;
    json_t *groups = json_object(); /* start -> [entries] */
    size_t i;
    json_t *ch;
    json_array_foreach(e->chunks, i, ch) {
        if (strcmp(json_string_value(json_object_get(ch, "table")), table) != 0 ||
            json_integer_value(json_object_get(ch, "end")) > cutoff)
            continue;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(ch, "start")));
        json_t *g = json_object_get(groups, key);
        if (!g)
            json_object_set_new(groups, key, g = json_array());
        json_array_append(g, ch);
    }
    /* The table is not read into memory for this: a partition's files are
     * read, merged and written one partition at a time, and then the merged
     * file takes the place of the files it replaces among the pending ones
     * (swap_pending). Only a partition of which some files were read into
     * the head and some not (a streamed commit after the first read) needs
     * the whole table in the head first, so that none of its rows is lost
     * from view; then the merged files are only for the next open. */
    const char *gkey;
    json_t *gfiles;
    int mixed = 0;
    pthread_mutex_lock(&e->load_mu);
    json_t *by_name = pending_by_name(e);
    if (!by_name)
        rc = FS_E_NOMEM;
    json_object_foreach(groups, gkey, gfiles) mixed |= json_array_size(gfiles) > 1 && group_pending(by_name, gfiles) < 0;
    json_decref(by_name);
    pthread_mutex_unlock(&e->load_mu);
    if (rc == FS_OK && mixed)
        rc = ensure_loaded(e, table);
    json_t *chunks = json_copy(e->chunks), *added = json_array(), *gone = json_array();
    json_t *replaced = json_array(); /* per added file: the entries it replaces */
    int named = 0; /* the manifest names the merged files */
    const char *key;
    json_t *g;
    json_object_foreach(groups, key, g) {
        if (rc != FS_OK)
            break;
        if (json_array_size(g) < 2)
            continue; /* one file per partition already */
        fs_batch b = {0};
        uint64_t max_seq = 0;
        json_array_foreach(g, i, ch)
            if ((uint64_t)json_integer_value(json_object_get(ch, "max_seq")) > max_seq)
                max_seq = (uint64_t)json_integer_value(json_object_get(ch, "max_seq"));
        int grc = read_group(e, g, &b, err);
        if (grc == FS_E_INVAL) { /* different columns: keep the files as they are */
            fs_batch_free(&b);
            continue;
        }
        size_t before = json_array_size(added);
        rc = grc == FS_OK ? write_interval_files(e, table, &b, interval, max_seq, suffix, 0, added, err)
                          : grc;
        fs_batch_free(&b);
        if (rc == FS_OK && json_array_size(added) != before + 1) {
            fs_sb_printf(err, "compacting %s: rows outside their partition", table);
            rc = FS_E_CORRUPT;
        }
        if (rc == FS_OK) {
            json_array_extend(gone, g);
            json_array_append(replaced, g);
            ++*merged_out;
        }
    }
    json_decref(groups);
    if (rc == FS_OK && json_array_size(added)) {
        /* The manifest: every listed file but the merged ones, then the new files. */
        json_t *keep = json_array();
        json_array_foreach(chunks, i, ch) {
            int merged = 0;
            size_t k;
            json_t *x;
            json_array_foreach(gone, k, x) merged |= json_equal(x, ch);
            if (!merged)
                json_array_append(keep, ch);
        }
        json_array_extend(keep, added);
        fs_fault_point("compact-before-manifest");
        rc = write_manifest(e, keep, e->checkpoint_seq, err);
        if (rc == FS_OK) {
            pthread_rwlock_wrlock(&e->lock);
            json_decref(e->chunks);
            e->chunks = json_incref(keep);
            pthread_rwlock_unlock(&e->lock);
            named = 1;
            rc = swap_pending(e, table, replaced, added);
            if (rc != FS_OK) /* the manifest is right: a reopen reads the merged files */
                fs_sb_printf(err, "compacting %s: out of memory; reopen the store", table);
        }
        if (rc == FS_OK) {
            /* Only now may the old files go: a crash before leaves them unnamed. */
            json_array_foreach(gone, i, ch) {
                char *path = fs_path_join(e->dir, json_string_value(json_object_get(ch, "file")));
                if (path && unlink(path) == 0)
                    ++*files_out;
                free(path);
            }
        }
        json_decref(keep);
    }
    if (rc != FS_OK && !named)
        unlink_files(e, added, 0); /* the merged files nothing names */
    json_decref(chunks);
    json_decref(added);
    json_decref(gone);
    json_decref(replaced);
    pthread_mutex_unlock(&e->commit_mu);
    return rc;
}

int fs_engine_table_storage(fs_engine *e, const char *table, fs_table_storage *out)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&e->lock);
    json_t *lists[2] = {e->chunks, e->unlisted};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *ch;
        json_array_foreach(lists[l], i, ch) {
            if (strcmp(json_string_value(json_object_get(ch, "table")), table) != 0)
                continue;
            out->chunks++;
            out->rows += (uint64_t)json_integer_value(json_object_get(ch, "rows"));
            out->file_bytes += (uint64_t)json_integer_value(json_object_get(ch, "bytes"));
            out->raw_bytes += (uint64_t)json_integer_value(json_object_get(ch, "raw_bytes"));
        }
    }
    pthread_rwlock_unlock(&e->lock);
    return FS_OK;
}

int fs_engine_table_stats(fs_engine *e, const char *table, fs_table_stats *out)
{
    memset(out, 0, sizeof *out);
    out->min_event_ts = INT64_MAX;
    out->max_event_ts = INT64_MIN;
    int rc = lock_pending(e, table, NULL);
    if (rc != FS_OK)
        return rc;
    pthread_rwlock_rdlock(&e->lock);
    const table_head *t = find_table(e, table);
    key_set seen = {0};
    size_t sources = 0;
    if (t && t->nb) {
        sources++;
        out->rows = t->rows;
        out->min_event_ts = t->min_ts;
        out->max_event_ts = t->max_ts;
        for (size_t i = 0; i < t->ne && rc == FS_OK; i++)
            if (t->ents[i].n && key_set_add(&seen, t->ents[i].key, t->ents[i].key_len) < 0)
                rc = FS_E_NOMEM;
    }
    for (size_t i = 0; t && t->npend && i < e->npending && rc == FS_OK; i++) {
        if (strcmp(e->pending[i].table, table) != 0)
            continue;
        fs_chunk *ch = e->pending[i].ch;
        sources++;
        out->rows += fs_chunk_row_count(ch);
        for (size_t k = 0; k < fs_chunk_entity_count(ch) && rc == FS_OK; k++) {
            const fs_chunk_entity *en = fs_chunk_entity_at(ch, k);
            if (en->min_ts < out->min_event_ts)
                out->min_event_ts = en->min_ts;
            if (en->max_ts > out->max_event_ts)
                out->max_event_ts = en->max_ts;
            if (key_set_add(&seen, en->key, en->key_len) < 0)
                rc = FS_E_NOMEM;
        }
    }
    out->entities = seen.n;
    key_set_free(&seen);
    pthread_rwlock_unlock(&e->lock);
    pthread_rwlock_unlock(&e->pend_lock);
    if (rc != FS_OK)
        return rc;
    if (!sources) {
        out->min_event_ts = out->max_event_ts = 0;
        return FS_E_NOTFOUND;
    }
    return FS_OK;
}
