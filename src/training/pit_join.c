/* Point-in-time join by entity-wise merge (contract in pit_join.h). */
#include "training/pit_join.h"

#include "core/bigmem.h"
#include "fstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *key;
    size_t first, count; /* its labels: order[first .. first+count) */
} entity_group;

/* One stored row, as the merge needs it. */
typedef struct {
    int64_t ts;
    uint64_t seq;
    fs_row_ref ref;
} stored_row;

typedef struct {
    stored_row *rows;
    size_t n, cap;
    int oom;
} row_buf;

struct fs_label_groups {
    size_t n;
    entity_group *groups;
    size_t ngroups;
    size_t *order;     /* label indices grouped by entity, by time within each */
    int64_t *order_ts; /* their times, in the same order: the merge reads them in sequence */
};

/* The rows the joins selected, copied out of what the readers read, so
 * that the tables are never held whole: per join one batch with a row per
 * label (row i for label i, so the output reads it in order), and per
 * worker an arena for the strings it copied; or, for a join through the
 * head, its array of references. */
struct fs_pit_rows {
    void **b; /* fs_batch * */
    size_t n, cap;
    void **strings; /* fs_arena * */
    size_t ns, caps;
    void **refs; /* fs_row_ref arrays */
    size_t nr, capr;
};

typedef struct {
    fs_engine *e;
    const char *table;
    const char *const *cols;
    size_t ncols;
    int direct;       /* read through fs_entity_reader (else: the head, via history) */
    fs_batch *chosen; /* direct: the selected row of label i is row i */
    fs_pit_rows *keep;
    int64_t ttl;
    uint64_t known_at;
    const entity_group *groups;
    size_t ngroups, next;
    const size_t *order;
    const int64_t *order_ts;
    fs_row_ref *out; /* through the head: per label */
    pthread_mutex_t mu;
    int rc;
    int64_t oldest;
} join_ctx;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int collect(void *p, fs_row_ref r)
{
    row_buf *b = p;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        stored_row *np = realloc(b->rows, cap * sizeof *np);
        if (!np) {
            b->oom = 1;
            return 1;
        }
        b->rows = np;
        b->cap = cap;
    }
    b->rows[b->n++] = (stored_row){r.batch->event_ts[r.row], r.batch->seq[r.row], r};
    return 0;
}

/* A label's time and index, for sorting an entity's labels. */
typedef struct {
    int64_t ts;
    size_t idx;
} timed_label;

/* The stored rows an entity's labels can see: from the first label's TTL
 * window (older rows can never be chosen) to the last label. */
static void entity_range(const join_ctx *c, const entity_group *g, int64_t *from, int64_t *to)
{
    int64_t lo = c->order_ts[g->first];
    *from = c->ttl > 0 && lo > INT64_MIN + c->ttl ? lo - c->ttl : INT64_MIN;
    int64_t hi = c->order_ts[g->first + g->count - 1];
    *to = hi == INT64_MAX ? INT64_MAX : hi + 1;
}

/* Copies the columns of row `row` of `src` into row `li` of `dst` (same
 * columns; nothing else of a row is read later). Strings go to the
 * worker's arena, or share the copy made for label `same_as` (>= 0) when
 * it chose the same row. */
static int put_row(fs_batch *dst, size_t li, const fs_batch *src, size_t row, fs_arena *strings,
                   long same_as)
{
    for (size_t k = 0; k < dst->ncols; k++) {
        fs_column *d = &dst->cols[k];
        const fs_column *sc = &src->cols[k];
        d->valid[li] = sc->valid[row];
        switch (d->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP: d->i64[li] = sc->i64[row]; break;
        case FS_VT_FLOAT64: d->f64[li] = sc->f64[row]; break;
        case FS_VT_BOOL: d->b[li] = sc->b[row]; break;
        case FS_VT_STRING:
            if (same_as >= 0) {
                d->s[li] = d->s[same_as];
                d->slen[li] = d->slen[same_as];
            } else if (sc->valid[row]) {
                if (!(d->s[li] = fs_arena_strndup(strings, sc->s[row], sc->slen[row])))
                    return FS_E_NOMEM;
                d->slen[li] = sc->slen[row];
            } else {
                d->s[li] = "";
                d->slen[li] = 0;
            }
            break;
        }
    }
    return FS_OK;
}

/* Merges one entity's labels (sorted by time) with its rows read by a
 * direct reader; each label's row is copied into its row of c->chosen
 * (which new_chosen made null). */
static int merge_direct(join_ctx *c, const entity_group *g, fs_entity_reader *rd, fs_arena *strings,
                        int64_t *oldest)
{
    int64_t from, to;
    entity_range(c, g, &from, &to);
    const fs_batch *rows;
    int rc = fs_entity_reader_read(rd, g->key, from, to, c->known_at, &rows, NULL);
    if (rc != FS_OK)
        return rc;
    size_t j = 0, n = rows->n;
    long best = -1, put = -1, put_li = -1; /* the row chosen last, and the label it was put for */
    const int64_t *lts = c->order_ts + g->first;
    for (size_t k = 0; k < g->count; k++) {
        size_t li = c->order[g->first + k];
        int64_t t = lts[k];
        while (j < n && rows->event_ts[j] <= t) /* the reader shows only rows known_at sees */
            best = (long)j++;
        if (best >= 0 && (c->ttl <= 0 || rows->event_ts[best] >= t - c->ttl)) {
            if ((rc = put_row(c->chosen, li, rows, (size_t)best, strings, put == best ? put_li : -1)) != FS_OK)
                return rc;
            put = best;
            put_li = (long)li;
            if (rows->event_ts[best] < *oldest)
                *oldest = rows->event_ts[best];
        }
    }
    return FS_OK;
}

/* Merges one entity's labels (sorted by time) with its rows in the head. */
static int merge_entity(join_ctx *c, const entity_group *g, row_buf *buf, int64_t *oldest)
{
    buf->n = 0;
    int64_t from, to;
    entity_range(c, g, &from, &to);
    int rc = fs_engine_history(c->e, c->table, g->key, from, to, c->known_at, 0, collect, buf);
    if (buf->oom)
        return FS_E_NOMEM;
    if (rc < 0) /* a chunk file that cannot be read: fail, never answer from a gap */
        return rc;
    size_t j = 0;
    long best = -1;
    for (size_t k = 0; k < g->count; k++) {
        size_t li = c->order[g->first + k];
        int64_t t = c->order_ts[g->first + k];
        while (j < buf->n && buf->rows[j].ts <= t) {
            if (buf->rows[j].seq <= c->known_at)
                best = (long)j;
            j++;
        }
        if (best >= 0 && (c->ttl <= 0 || buf->rows[best].ts >= t - c->ttl)) {
            c->out[li] = buf->rows[best].ref;
            if (buf->rows[best].ts < *oldest)
                *oldest = buf->rows[best].ts;
        } else {
            c->out[li] = (fs_row_ref){NULL, 0};
        }
    }
    return FS_OK;
}

/* The batch of selected rows of one join: the reader's columns (names
 * owned by the batch: it outlives the reader) and one row per label, all
 * null until a merge puts a row there. Only the columns' validity and
 * values are ever written: the system fields' arrays are reserved but not
 * touched, so they cost no memory (tens of MB a join at 1M labels). */
static int new_chosen(const fs_batch *like, size_t nlabels, fs_batch **out)
{
    *out = NULL;
    fs_batch *b = calloc(1, sizeof *b);
    fs_colspec *sp = calloc(like->ncols + 1, sizeof *sp);
    int rc = b && sp ? FS_OK : FS_E_NOMEM;
    for (size_t k = 0; rc == FS_OK && k < like->ncols; k++)
        sp[k] = (fs_colspec){like->cols[k].name, like->cols[k].type};
    if (rc == FS_OK)
        rc = fs_batch_init(b, sp, like->ncols);
    free(sp);
    for (size_t k = 0; rc == FS_OK && k < like->ncols; k++)
        if (!(b->cols[k].name = fs_arena_strdup(&b->meta, like->cols[k].name)))
            rc = FS_E_NOMEM;
    if (rc == FS_OK)
        rc = fs_batch_reserve(b, nlabels);
    if (rc != FS_OK) {
        if (b)
            fs_batch_free(b);
        free(b);
        return FS_E_NOMEM;
    }
    b->n = nlabels;
    for (size_t k = 0; k < b->ncols; k++)
        memset(b->cols[k].valid, 0, nlabels);
    *out = b;
    return FS_OK;
}

/* Appends p to a growable array of pointers; -1 when out of memory. */
static int push_ptr(void ***a, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        void **q = realloc(*a, nc * sizeof *q);
        if (!q)
            return -1;
        *a = q;
        *cap = nc;
    }
    (*a)[(*n)++] = p;
    return 0;
}

static void *worker(void *p)
{
    join_ctx *c = p;
    row_buf buf = {0};
    int64_t oldest = INT64_MAX;
    fs_entity_reader *rd = NULL;
    fs_arena *strings = NULL;
    int rc = FS_OK;
    if (c->direct) {
        rc = fs_entity_reader_open(c->e, c->table, c->cols, c->ncols, &rd, NULL);
        if (rc == FS_OK) {
            strings = calloc(1, sizeof *strings);
            pthread_mutex_lock(&c->mu);
            if (!strings || push_ptr(&c->keep->strings, &c->keep->ns, &c->keep->caps, strings)) {
                free(strings);
                rc = FS_E_NOMEM;
            }
            pthread_mutex_unlock(&c->mu);
        }
    }
    while (rc == FS_OK) {
        pthread_mutex_lock(&c->mu);
        size_t gi = c->next < c->ngroups && c->rc == FS_OK ? c->next++ : SIZE_MAX;
        pthread_mutex_unlock(&c->mu);
        if (gi == SIZE_MAX)
            break;
        rc = c->direct ? merge_direct(c, &c->groups[gi], rd, strings, &oldest)
                       : merge_entity(c, &c->groups[gi], &buf, &oldest);
    }
    pthread_mutex_lock(&c->mu);
    if (rc != FS_OK)
        c->rc = rc;
    if (oldest < c->oldest)
        c->oldest = oldest;
    pthread_mutex_unlock(&c->mu);
    fs_entity_reader_close(rd);
    free(buf.rows);
    return NULL;
}

/* Sorts v[0..n) by ts, stably: LSD radix sort, 8 bits a pass, of the
 * offset from the smallest time; a pass where every label has the same
 * byte is skipped (label times span far less than 64 bits). tmp: n more.
 * Called per entity, so that both arrays stay in cache. */
static void radix_by_time(timed_label *v, timed_label *tmp, size_t n)
{
    if (n < 2)
        return;
    int64_t lo = v[0].ts;
    for (size_t i = 1; i < n; i++)
        if (v[i].ts < lo)
            lo = v[i].ts;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[((uint64_t)v[i].ts - (uint64_t)lo) >> shift & 0xff]++;
        if (count[((uint64_t)v[0].ts - (uint64_t)lo) >> shift & 0xff] == n)
            continue; /* one byte value for all: nothing to do */
        size_t at = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[((uint64_t)v[i].ts - (uint64_t)lo) >> shift & 0xff]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
    }
}

/* Sorts one entity's labels (in label order) by time, stably (ties keep
 * label order, which changes no answer); labels already in time order, as
 * a file sorted by time gives them, are left as they are. */
static int sort_group(size_t *order, int64_t *order_ts, size_t n, timed_label **scratch,
                      size_t *cap)
{
    size_t i = 1;
    while (i < n && order_ts[i - 1] <= order_ts[i])
        i++;
    if (i >= n)
        return FS_OK;
    if (2 * n > *cap) {
        timed_label *p = realloc(*scratch, 2 * n * sizeof *p);
        if (!p)
            return FS_E_NOMEM;
        *scratch = p;
        *cap = 2 * n;
    }
    timed_label *v = *scratch;
    for (size_t k = 0; k < n; k++)
        v[k] = (timed_label){order_ts[k], order[k]};
    radix_by_time(v, v + n, n);
    for (size_t k = 0; k < n; k++) {
        order[k] = v[k].idx;
        order_ts[k] = v[k].ts;
    }
    return FS_OK;
}

/* The group of `key` in the open-addressing map (grown as groups come),
 * added when new. SIZE_MAX when out of memory. */
static size_t group_of(fs_label_groups *g, size_t **slots, size_t *nslots, const char *key)
{
    if (2 * (g->ngroups + 1) > *nslots) {
        size_t ns = *nslots ? 2 * *nslots : 64;
        size_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return SIZE_MAX;
        for (size_t k = 0; k < g->ngroups; k++) {
            size_t s = hash_str(g->groups[k].key) & (ns - 1);
            while (sl[s])
                s = (s + 1) & (ns - 1);
            sl[s] = k + 1;
        }
        free(*slots);
        *slots = sl;
        *nslots = ns;
    }
    size_t s = hash_str(key) & (*nslots - 1);
    while ((*slots)[s] && strcmp(g->groups[(*slots)[s] - 1].key, key) != 0)
        s = (s + 1) & (*nslots - 1);
    if (!(*slots)[s]) {
        g->groups[g->ngroups] = (entity_group){key, 0, 0};
        (*slots)[s] = ++g->ngroups;
    }
    return (*slots)[s] - 1;
}

int fs_label_groups_build(const char *const *keys, size_t stride, const int64_t *ts, size_t n,
                          fs_label_groups **out)
{
    *out = NULL;
    if (n >= UINT32_MAX)
        return FS_E_INVAL; /* group numbers are 32-bit */
    fs_label_groups *g = calloc(1, sizeof *g);
    size_t *slots = NULL, nslots = 0, cap = 0;
    timed_label *scratch = NULL;
    if (g) {
        g->n = n;
        g->groups = malloc((n + 1) * sizeof *g->groups);
        g->order = fs_big_malloc((n + 1) * sizeof *g->order);
        g->order_ts = fs_big_malloc((n + 1) * sizeof *g->order_ts);
    }
    uint32_t *gid = fs_big_malloc((n + 1) * sizeof *gid); /* each label's group */
    int rc = g && g->groups && g->order && g->order_ts && gid ? FS_OK : FS_E_NOMEM;
    /* Each label's group; labels without a key take no part. */
    for (size_t i = 0; rc == FS_OK && i < n; i++) {
        const char *key = keys[i * stride];
        if (!key) {
            gid[i] = UINT32_MAX;
            continue;
        }
        size_t k = group_of(g, &slots, &nslots, key);
        if (k == SIZE_MAX) {
            rc = FS_E_NOMEM;
            break;
        }
        g->groups[k].count++;
        gid[i] = (uint32_t)k;
    }
    if (rc == FS_OK) {
        /* A counting sort by group keeps label order within each; then each
         * group is sorted by time on its own, small enough to stay in cache. */
        size_t at = 0;
        for (size_t k = 0; k < g->ngroups; k++) {
            g->groups[k].first = at;
            at += g->groups[k].count;
            g->groups[k].count = 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (gid[i] == UINT32_MAX)
                continue;
            entity_group *e = &g->groups[gid[i]];
            size_t pos = e->first + e->count++;
            g->order[pos] = i;
            g->order_ts[pos] = ts[i];
        }
        for (size_t k = 0; rc == FS_OK && k < g->ngroups; k++) {
            entity_group *e = &g->groups[k];
            rc = sort_group(g->order + e->first, g->order_ts + e->first, e->count, &scratch, &cap);
        }
    }
    free(gid);
    free(scratch);
    free(slots);
    if (rc != FS_OK) {
        fs_label_groups_free(g);
        return rc;
    }
    *out = g;
    return FS_OK;
}

void fs_label_groups_free(fs_label_groups *g)
{
    if (!g)
        return;
    free(g->groups);
    free(g->order);
    free(g->order_ts);
    free(g);
}

fs_pit_rows *fs_pit_rows_new(void) { return calloc(1, sizeof(fs_pit_rows)); }

void fs_pit_rows_free(fs_pit_rows *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        fs_batch_free((fs_batch *)k->b[i]);
        free(k->b[i]);
    }
    for (size_t i = 0; i < k->ns; i++) {
        fs_arena_free((fs_arena *)k->strings[i]);
        free(k->strings[i]);
    }
    for (size_t i = 0; i < k->nr; i++)
        free(k->refs[i]);
    free(k->b);
    free(k->strings);
    free(k->refs);
    free(k);
}

int fs_pit_join(fs_engine *e, const char *table, const char *const *cols, size_t ncols,
                int64_t ttl_ns, uint64_t known_at, const fs_label_groups *g, int jobs,
                fs_pit_rows *keep, fs_pit_selection *sel, int64_t *oldest_used)
{
    join_ctx c = {.e = e, .table = table, .cols = cols, .ncols = ncols, .keep = keep,
                  .ttl = ttl_ns, .known_at = known_at, .groups = g->groups,
                  .ngroups = g->ngroups, .order = g->order, .order_ts = g->order_ts,
                  .oldest = INT64_MAX};
    *sel = (fs_pit_selection){NULL, NULL};
    /* Directly from the chunk files, unless a column changed type between
     * commits: then through the head, which keeps each batch's own types. */
    fs_entity_reader *probe = NULL;
    int prc = fs_entity_reader_open(e, table, cols, ncols, &probe, NULL);
    if (prc == FS_OK) {
        prc = new_chosen(fs_entity_reader_shape(probe), g->n, &c.chosen);
        if (prc == FS_OK && push_ptr(&keep->b, &keep->n, &keep->cap, c.chosen)) {
            fs_batch_free(c.chosen);
            free(c.chosen);
            prc = FS_E_NOMEM;
        }
        if (prc != FS_OK) {
            fs_entity_reader_close(probe);
            return prc;
        }
        c.direct = 1;
    }
    fs_entity_reader_close(probe);
    if (prc != FS_OK && prc != FS_E_INVAL)
        return prc;
    if (c.direct) {
        sel->rows = c.chosen;
    } else { /* labels without a key are in no group: none stays unset */
        if (!(c.out = fs_big_malloc((g->n + 1) * sizeof *c.out)) ||
            push_ptr(&keep->refs, &keep->nr, &keep->capr, c.out)) {
            free(c.out);
            return FS_E_NOMEM;
        }
        for (size_t i = 0; i < g->n; i++)
            c.out[i] = (fs_row_ref){NULL, 0};
        sel->refs = c.out;
    }
    pthread_mutex_init(&c.mu, NULL);
    if (jobs < 1)
        jobs = 1;
    if ((size_t)jobs > c.ngroups)
        jobs = c.ngroups ? (int)c.ngroups : 1;
    pthread_t tids[64];
    int started = 0;
    for (int t = 1; t < jobs && t < 64; t++, started++)
        if (pthread_create(&tids[t], NULL, worker, &c) != 0)
            break;
    worker(&c);
    for (int t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    pthread_mutex_destroy(&c.mu);
    if (oldest_used)
        *oldest_used = c.oldest;
    return c.rc;
}
