/* Point-in-time join by entity-wise merge (contract in pit_join.h). */
#include "training/pit_join.h"

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
    const char *const *keys;
    const int64_t *ts;
    size_t n;
    entity_group *groups;
    size_t ngroups;
    size_t *order; /* label indices grouped by entity, by time within each */
};

typedef struct {
    fs_engine *e;
    const char *table;
    int64_t ttl;
    uint64_t known_at;
    const int64_t *ts;
    const entity_group *groups;
    size_t ngroups, next;
    const size_t *order;
    fs_row_ref *out;
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

/* Label indices by their time (qsort_r: ctx is the times). */
static int by_time(const void *a, const void *b, void *ctx)
{
    const int64_t *sort_ts = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int64_t tx = sort_ts[x], ty = sort_ts[y];
    return tx < ty ? -1 : tx > ty ? 1 : (x > y) - (x < y);
}

/* Merges one entity's labels (sorted by time) with its rows. */
static int merge_entity(join_ctx *c, const entity_group *g, row_buf *buf, int64_t *oldest)
{
    buf->n = 0;
    int64_t lo = c->ts[c->order[g->first]];
    /* Rows older than the first label's TTL window can never be chosen. */
    int64_t from = c->ttl > 0 && lo > INT64_MIN + c->ttl ? lo - c->ttl : INT64_MIN;
    int64_t hi = c->ts[c->order[g->first + g->count - 1]];
    int64_t to = hi == INT64_MAX ? INT64_MAX : hi + 1;
    int rc = fs_engine_history(c->e, c->table, g->key, from, to, c->known_at, 0, collect, buf);
    if (buf->oom)
        return FS_E_NOMEM;
    if (rc < 0) /* a chunk file that cannot be read: fail, never answer from a gap */
        return rc;
    size_t j = 0;
    long best = -1;
    for (size_t k = 0; k < g->count; k++) {
        size_t li = c->order[g->first + k];
        int64_t t = c->ts[li];
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

static void *worker(void *p)
{
    join_ctx *c = p;
    row_buf buf = {0};
    int64_t oldest = INT64_MAX;
    int rc = FS_OK;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        size_t gi = c->next < c->ngroups && c->rc == FS_OK ? c->next++ : SIZE_MAX;
        pthread_mutex_unlock(&c->mu);
        if (gi == SIZE_MAX)
            break;
        if ((rc = merge_entity(c, &c->groups[gi], &buf, &oldest)) != FS_OK)
            break;
    }
    pthread_mutex_lock(&c->mu);
    if (rc != FS_OK)
        c->rc = rc;
    if (oldest < c->oldest)
        c->oldest = oldest;
    pthread_mutex_unlock(&c->mu);
    free(buf.rows);
    return NULL;
}

int fs_label_groups_build(const char *const *keys, const int64_t *ts, size_t n,
                          fs_label_groups **out)
{
    *out = NULL;
    fs_label_groups *g = calloc(1, sizeof *g);
    /* Entity of each label through an open-addressing map. */
    size_t nslots = 64;
    while (nslots < 2 * n + 2)
        nslots *= 2;
    size_t *slots = calloc(nslots, sizeof *slots); /* group index + 1 */
    size_t *gid = malloc((n + 1) * sizeof *gid);
    if (g) {
        g->keys = keys;
        g->ts = ts;
        g->n = n;
        g->groups = malloc((n + 1) * sizeof *g->groups);
        g->order = malloc((n + 1) * sizeof *g->order);
    }
    if (!g || !slots || !gid || !g->groups || !g->order) {
        free(slots);
        free(gid);
        fs_label_groups_free(g);
        return FS_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!keys[i]) {
            gid[i] = SIZE_MAX;
            continue;
        }
        size_t s = hash_str(keys[i]) & (nslots - 1);
        while (slots[s] && strcmp(g->groups[slots[s] - 1].key, keys[i]) != 0)
            s = (s + 1) & (nslots - 1);
        if (!slots[s]) {
            g->groups[g->ngroups] = (entity_group){keys[i], 0, 0};
            slots[s] = ++g->ngroups;
        }
        gid[i] = slots[s] - 1;
        g->groups[gid[i]].count++;
    }
    /* Counting sort by entity, then by time within each (stable: ties keep
     * label order, which does not change any answer). */
    size_t at = 0;
    for (size_t k = 0; k < g->ngroups; k++) {
        g->groups[k].first = at;
        at += g->groups[k].count;
        g->groups[k].count = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (gid[i] != SIZE_MAX) {
            entity_group *e = &g->groups[gid[i]];
            g->order[e->first + e->count++] = i;
        }
    for (size_t k = 0; k < g->ngroups; k++)
        qsort_r(g->order + g->groups[k].first, g->groups[k].count, sizeof *g->order, by_time,
                (void *)ts);
    free(slots);
    free(gid);
    *out = g;
    return FS_OK;
}

void fs_label_groups_free(fs_label_groups *g)
{
    if (!g)
        return;
    free(g->groups);
    free(g->order);
    free(g);
}

int fs_pit_join(fs_engine *e, const char *table, int64_t ttl_ns, uint64_t known_at,
                const fs_label_groups *g, int jobs, fs_row_ref *out, int64_t *oldest_used)
{
    join_ctx c = {.e = e, .table = table, .ttl = ttl_ns, .known_at = known_at, .ts = g->ts,
                  .groups = g->groups, .ngroups = g->ngroups, .order = g->order, .out = out,
                  .oldest = INT64_MAX};
    for (size_t i = 0; i < g->n; i++)
        out[i] = (fs_row_ref){NULL, 0};
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
