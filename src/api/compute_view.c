/* Computing one view: the worker pool over its entities (contract in
 * compute_internal.h; the job around it is in compute.c).
 *
 *  1. compile the view's plan (compute/view_plan.h) and load the states
 *     saved by the last run (compute/state_store.h);
 *  2. workers take entities one at a time: read the entity's source rows
 *     (one version per event_ts: the latest, since a correction replaces what
 *     it corrects), resume its state or start over, gather the plan's input
 *     series, run the plan in blocks, and append the rows it computed to
 *     their own batch;
 *  3. the batches are committed (one commit per worker), then the states are
 *     saved: a crash in between only makes the next run compute those rows
 *     again as new versions, never skip any.
 * The engine's read lock lets the workers read while nothing writes: commits
 * come after the workers have joined. */
#include "api/compute_internal.h"
#include "api/store_internal.h"

#include "compute/state_store.h"
#include "compute/view_plan.h"
#include "core/fileio.h"
#include "core/phase.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BLOCK_ROWS = 4096, MAX_SOURCE_COLUMNS = 64 };
/* Jobs expected to write at least this many rows stream them to chunk
 * files, each worker in parts of about STREAM_PART_BYTES of encoded chunks
 * (a part's files are written as its rows come, so the size bounds the
 * files, not memory); smaller ones commit through the write-ahead log. */
enum { STREAM_MIN_ROWS = 1 << 18 };
#define STREAM_PART_BYTES ((size_t)1 << 30)

/* One entity's source series, one row per event_ts. */
typedef struct {
    int64_t *ts;
    uint64_t *seq;
    double **cols; /* per plan input that reads the entity's own source */
    size_t n, cap;
} series;

typedef struct view_job view_job;

typedef struct {
    view_job *vj;
    fs_batch out; /* rows computed by this worker */
    /* A streamed job: the part this worker writes, and how many rows of
     * `out` (the current entity's) it has been handed. */
    fs_engine_part *part;
    size_t handed;
    void *scratch;
    unsigned char *state;
    double *in_buf, *out_buf; /* BLOCK_ROWS per input / output */
    double *conf_buf;         /* BLOCK_ROWS: confidence from other views' rows */
    double **in_ptrs, **out_ptrs; /* per input / output (+ confidence): its column in the buffers */
    series src, ref;
    char ref_key[256]; /* the entity whose series `ref` holds ("" none) */
    /* Direct readers of the source (see read_series), opened at the first
     * entity; direct_off: read through the engine's head instead. */
    fs_entity_reader *rd_src, *rd_ref;
    int direct_off;
    int rc;
    char err[256];
} worker;

/* A finished entity: what to save in the state file. */
typedef struct {
    int64_t last_ts;
    uint64_t last_seq, rows;
    unsigned char *state;
    int done;
} entity_result;

struct view_job {
    fs_store *s;
    const fs_view_plan *plan;
    fs_state_set *states;
    const char **keys;
    entity_result *results;
    size_t n_keys, next;
    pthread_mutex_t mu;
    int64_t from, to;
    uint64_t job_id;
    char table[256];
    int with_confidence; /* rows carry `_confidence` */
    const fs_compute_progress *progress;
    worker *reporter;
    /* A large job's rows go to chunk files in parts as workers fill them,
     * committed once at the end (engine.h "Streamed commit"): memory stays
     * bounded and the rows are not written twice (log, then chunks). */
    fs_engine_stream *stream;
    size_t part_bytes; /* STREAM_PART_BYTES, or FSTORE_COMPUTE_PART_BYTES (the tests' knob) */
    uint64_t entities_done, rows_done; /* under mu */
};

/* ---- reading a series ------------------------------------------------------- */

static int grow(series *sr, size_t ncols)
{
    size_t cap = sr->cap ? 2 * sr->cap : 1024;
    int64_t *ts = realloc(sr->ts, cap * sizeof *ts);
    if (ts)
        sr->ts = ts;
    uint64_t *seq = realloc(sr->seq, cap * sizeof *seq);
    if (seq)
        sr->seq = seq;
    if (!ts || !seq)
        return -1;
    for (size_t c = 0; c < ncols; c++) {
        double *p = realloc(sr->cols[c], cap * sizeof *p);
        if (!p)
            return -1;
        sr->cols[c] = p;
    }
    sr->cap = cap;
    return 0;
}

static double cell(const fs_batch *b, int col, size_t row)
{
    if (col < 0 || !b->cols[col].valid[row])
        return NAN;
    const fs_column *c = &b->cols[col];
    switch (c->type) {
    case FS_VT_FLOAT64: return c->f64[row];
    case FS_VT_INT64:
    case FS_VT_TIMESTAMP: return (double)c->i64[row];
    case FS_VT_BOOL: return c->b[row];
    case FS_VT_STRING: return NAN;
    }
    return NAN;
}

/* Column positions are looked up by name once per stored batch. */
typedef struct {
    const fs_batch *batch;
    int cols[MAX_SOURCE_COLUMNS];
} col_cache;

typedef struct {
    series *sr;
    const char *const *names;
    size_t ncols;
    col_cache cache;
    int oom;
} collect_ctx;

static int collect_row(void *p, fs_row_ref r)
{
    collect_ctx *c = p;
    series *sr = c->sr;
    if (c->cache.batch != r.batch) {
        c->cache.batch = r.batch;
        for (size_t k = 0; k < c->ncols; k++)
            c->cache.cols[k] = fs_batch_col(r.batch, c->names[k]);
    }
    int64_t ts = r.batch->event_ts[r.row];
    size_t at = sr->n;
    if (at && sr->ts[at - 1] == ts)
        at--; /* a later version of the same event: it replaces the earlier one */
    else if (sr->n == sr->cap && grow(sr, c->ncols)) {
        c->oom = 1;
        return 1;
    } else
        sr->n++;
    sr->ts[at] = ts;
    sr->seq[at] = r.batch->seq[r.row];
    for (size_t k = 0; k < c->ncols; k++)
        sr->cols[k][at] = cell(r.batch, c->cache.cols[k], r.row);
    return 0;
}

/* Reads the entity's source rows into sr, one per event_ts (the latest
 * version). Straight from the chunk files through a direct reader of just
 * these columns (*rd, opened at the first call), so a job never loads the
 * source table whole; through the engine's head when a column changed type
 * between commits (*direct_off is then set for the rest of the job). */
static int read_series(fs_engine *e, fs_entity_reader **rd, int *direct_off, const char *table,
                       const char *entity, const char *const *names, size_t ncols, series *sr)
{
    sr->n = 0;
    if (ncols > MAX_SOURCE_COLUMNS)
        return FS_E_INVAL;
    if (!*rd && !*direct_off) {
        int rc = fs_entity_reader_open(e, table, names, ncols, rd, NULL);
        if (rc == FS_E_INVAL)
            *direct_off = 1;
        else if (rc != FS_OK)
            return rc;
    }
    if (*direct_off) {
        collect_ctx c = {sr, names, ncols, {0}, 0};
        int rc = fs_engine_history(e, table, entity, INT64_MIN, INT64_MAX, FS_KNOWN_ALL, 0, collect_row, &c);
        if (c.oom)
            return FS_E_NOMEM;
        return rc < 0 ? rc : FS_OK; /* a chunk file that cannot be read: never compute on a gap */
    }
    const fs_batch *b;
    int rc = fs_entity_reader_read(*rd, entity, INT64_MIN, INT64_MAX, FS_KNOWN_ALL, &b, NULL);
    if (rc != FS_OK)
        return rc;
    for (size_t r = 0; r < b->n; r++) {
        int64_t ts = b->event_ts[r];
        size_t at = sr->n;
        if (at && sr->ts[at - 1] == ts)
            at--; /* a later version of the same event: it replaces the earlier one */
        else if (sr->n == sr->cap && grow(sr, ncols))
            return FS_E_NOMEM;
        else
            sr->n++;
        sr->ts[at] = ts;
        sr->seq[at] = b->seq[r];
        for (size_t k = 0; k < ncols; k++)
            sr->cols[k][at] = cell(b, (int)k, r);
    }
    return FS_OK;
}

/* ---- one entity ------------------------------------------------------------------ */

/* The key of the reference entity: `ref` in place of the first join-key value. */
static void reference_key(const char *key, const char *ref, char *out, size_t sz)
{
    const char *rest = strchr(key, ':');
    snprintf(out, sz, "%s%s", ref, rest ? rest : "");
}

/* Hands the rows of `out` not yet handed to the worker's part: all of them
 * when the entity is done (`all`), else those of the chunks the entity has
 * left behind (a chunk's rows of one entity go in one call). They are then
 * encoded while still in cache, instead of the whole batch being gathered
 * back from memory later. */
static int hand_rows(worker *w, int all)
{
    fs_batch *ob = &w->out;
    size_t cut = ob->n;
    if (!all && cut > w->handed) { /* back to the first row of the last chunk */
        int64_t last = fs_engine_stream_chunk_start(w->vj->stream, ob->event_ts[ob->n - 1]);
        size_t lo = w->handed, hi = ob->n;
        while (lo < hi) { /* the entity's rows ascend in event_ts */
            size_t mid = lo + (hi - lo) / 2;
            if (ob->event_ts[mid] < last)
                lo = mid + 1;
            else
                hi = mid;
        }
        cut = lo;
    }
    if (cut <= w->handed)
        return FS_OK;
    fs_strbuf perr = {0};
    int rc = fs_engine_part_add(w->part, ob, w->handed, cut - w->handed, &perr);
    if (rc != FS_OK)
        snprintf(w->err, sizeof w->err, "entity %.*s: writing computed rows: %s",
                 (int)ob->entity_len[w->handed], ob->entity[w->handed], fs_sb_str(&perr));
    fs_sb_free(&perr);
    w->handed = cut;
    return rc;
}

static int compute_entity(worker *w, size_t ki)
{
    view_job *vj = w->vj;
    const fs_view_plan *p = vj->plan;
    fs_engine *e = vj->s->engine;
    const char *key = vj->keys[ki];
    entity_result *res = &vj->results[ki];
    size_t nin = p->n_inputs;
    const char *names[MAX_SOURCE_COLUMNS];
    size_t n_src = 0;
    int src_of_input[MAX_SOURCE_COLUMNS];
    for (size_t i = 0; i < nin && i < MAX_SOURCE_COLUMNS; i++) {
        src_of_input[i] = -1;
        if (p->inputs[i].kind == FS_PLAN_IN_SOURCE) {
            src_of_input[i] = (int)n_src;
            names[n_src++] = p->inputs[i].column;
        }
    }
    int rc = read_series(e, &w->rd_src, &w->direct_off, p->source->name, key, names, n_src, &w->src);
    if (rc != FS_OK)
        return rc;
    series *sr = &w->src;
    /* Resume or start over. */
    const fs_entity_state *saved = fs_state_find(vj->states, key);
    size_t start = 0;
    int resume = 0;
    if (saved && vj->from == 0) {
        resume = 1;
        for (size_t i = 0; i < sr->n && resume; i++)
            if (sr->seq[i] > saved->last_seq && sr->ts[i] <= saved->last_ts)
                resume = 0; /* a correction of a computed row: compute the entity again */
    }
    if (resume) {
        memcpy(w->state, saved->state, p->state_size);
        while (start < sr->n && sr->ts[start] <= saved->last_ts)
            start++;
        res->rows = saved->rows;
    } else {
        fs_view_plan_state_init(p, w->state);
        res->rows = 0;
        if (vj->from) { /* warm up on the lookback before --from */
            while (start < sr->n && sr->ts[start] < vj->from)
                start++;
            start = start > (size_t)p->max_lookback ? start - (size_t)p->max_lookback : 0;
        }
    }
    size_t end = sr->n;
    if (vj->to)
        while (end > start && sr->ts[end - 1] >= vj->to)
            end--;
    /* The reference series of correlation, aligned on event_ts. */
    for (size_t i = 0; i < nin; i++) {
        if (p->inputs[i].kind != FS_PLAN_IN_REFERENCE)
            continue;
        char rkey[256];
        reference_key(key, p->inputs[i].reference, rkey, sizeof rkey);
        if (strcmp(rkey, w->ref_key) == 0)
            continue; /* this worker read it for the previous entity: every entity shares it */
        const char *col = p->inputs[i].column;
        if ((rc = read_series(e, &w->rd_ref, &w->direct_off, p->source->name, rkey, &col, 1, &w->ref)) !=
            FS_OK)
            return rc;
        snprintf(w->ref_key, sizeof w->ref_key, "%s", rkey);
    }
    uint64_t max_seq = resume ? saved->last_seq : 0;
    for (size_t i = 0; i < sr->n; i++)
        if (sr->seq[i] > max_seq)
            max_seq = sr->seq[i];
    double **in = w->in_ptrs, **out = w->out_ptrs;
    for (size_t i = 0; i < nin; i++)
        in[i] = w->in_buf + i * BLOCK_ROWS;
    for (size_t k = 0; k <= p->n_outputs; k++) /* + the plan's confidence output */
        out[k] = w->out_buf + k * BLOCK_ROWS;
    double *conf = w->conf_buf;
    size_t ref_pos = 0;
    for (size_t b0 = start; b0 < end; b0 += BLOCK_ROWS) {
        size_t n = end - b0 < BLOCK_ROWS ? end - b0 : BLOCK_ROWS;
        for (size_t r = 0; r < n; r++)
            conf[r] = 1.0; /* fully trusted unless an input says otherwise */
        for (size_t i = 0; i < nin; i++) {
            const fs_plan_input *pi = &p->inputs[i];
            for (size_t r = 0; r < n; r++) {
                int64_t ts = sr->ts[b0 + r];
                double v = NAN;
                if (pi->kind == FS_PLAN_IN_SOURCE) {
                    v = sr->cols[src_of_input[i]][b0 + r];
                } else if (pi->kind == FS_PLAN_IN_REFERENCE) {
                    while (ref_pos < w->ref.n && w->ref.ts[ref_pos] < ts)
                        ref_pos++;
                    if (ref_pos < w->ref.n && w->ref.ts[ref_pos] == ts)
                        v = w->ref.cols[0][ref_pos];
                } else { /* another view's feature, as of this row's time */
                    const fs_view_def *ov = fs_reg_view(vj->s->cat.reg, pi->view);
                    const fs_feature_def *of = ov ? fs_view_feature(ov, pi->column) : NULL;
                    char otable[256];
                    const char *col = pi->column;
                    if (of && of->how == FS_PROD_FROM) {
                        snprintf(otable, sizeof otable, "%s", ov->source);
                        col = of->from;
                    } else
                        snprintf(otable, sizeof otable, "%s%s", FS_VIEW_TABLE_PREFIX, pi->view);
                    fs_row_ref ref;
                    int found = ov ? fs_engine_asof(e, otable, key, ts, ov->ttl_ns, FS_KNOWN_ALL, &ref) : 0;
                    if (found < 0) /* a chunk file that cannot be read: never compute on a gap */
                        return found;
                    if (found == 1) {
                        v = cell(ref.batch, fs_batch_col(ref.batch, col), ref.row);
                        const fs_source_def *os = fs_reg_source(vj->s->cat.reg, ov->source);
                        const char *cc = of && of->how == FS_PROD_FROM ? (os ? os->confidence : NULL)
                                                                       : "_confidence";
                        double c = cc ? cell(ref.batch, fs_batch_col(ref.batch, cc), ref.row) : NAN;
                        if (c < conf[r]) /* NaN (no confidence recorded) compares false */
                            conf[r] = c;
                    }
                }
                in[i][r] = v;
            }
            if (pi->kind == FS_PLAN_IN_REFERENCE)
                ref_pos = 0; /* one reference input is all correlation has; rescan for another */
        }
        if ((rc = fs_view_plan_run(p, w->state, w->scratch, (const double *const *)in, n, out)) != FS_OK)
            return rc;
        /* Append the block's rows column by column (warm-up rows before
         * --from are read, not written). */
        int64_t lo = vj->from ? vj->from : INT64_MIN;
        size_t r0 = 0;
        while (r0 < n && sr->ts[b0 + r0] < lo)
            r0++;
        size_t m = n - r0;
        if (!m)
            continue;
        fs_batch *ob = &w->out;
        if (ob->n + m > ob->cap) { /* room for the entity's remaining rows, or double */
            size_t want = ob->n + (end - b0);
            if (fs_batch_reserve(ob, want > 2 * ob->cap ? want : 2 * ob->cap) != FS_OK)
                return FS_E_NOMEM;
        }
        size_t klen = strlen(key), base = ob->n;
        const char *k0 = base && ob->entity_len[base - 1] == klen &&
                                 memcmp(ob->entity[base - 1], key, klen) == 0
                             ? ob->entity[base - 1] /* rows of one entity share its key */
                             : fs_arena_strndup(&ob->arena, key, klen);
        if (!k0)
            return FS_E_NOMEM;
        for (size_t r = 0; r < m; r++) {
            ob->entity[base + r] = k0;
            ob->entity_len[base + r] = (uint32_t)klen;
        }
        memcpy(ob->event_ts + base, sr->ts + b0 + r0, m * sizeof(int64_t));
        memset(ob->seq + base, 0, m * sizeof(uint64_t));
        for (size_t k = 0; k < p->n_outputs; k++) {
            const double *src = out[k] + r0;
            double *dst = ob->cols[k].f64 + base;
            uint8_t *valid = ob->cols[k].valid + base;
            for (size_t r = 0; r < m; r++) {
                int ok = isfinite(src[r]);
                dst[r] = ok ? src[r] : 0;
                valid[r] = (uint8_t)ok;
            }
        }
        fs_column *jc = &ob->cols[p->n_outputs];
        for (size_t r = 0; r < m; r++) {
            jc->i64[base + r] = (int64_t)vj->job_id;
            jc->valid[base + r] = 1;
        }
        if (vj->with_confidence) {
            fs_column *cc = &ob->cols[p->n_outputs + 1];
            for (size_t r = 0; r < m; r++) {
                double c = conf[r0 + r];
                if (p->has_confidence && !(out[p->n_outputs][r0 + r] >= c))
                    c = out[p->n_outputs][r0 + r]; /* the smaller, or NaN while the window fills */
                int ok = isfinite(c);
                cc->f64[base + r] = ok ? c : 0;
                cc->valid[base + r] = (uint8_t)ok;
            }
        }
        ob->n += m;
        res->rows += m;
        if (vj->stream && (rc = hand_rows(w, 0)) != FS_OK)
            return rc;
    }
    res->last_ts = end ? sr->ts[end - 1] : INT64_MIN;
    if (resume && end <= start)
        res->last_ts = saved->last_ts;
    res->last_seq = max_seq;
    if (!(res->state = malloc(p->state_size ? p->state_size : 1)))
        return FS_E_NOMEM;
    memcpy(res->state, w->state, p->state_size);
    res->done = 1;
    return FS_OK;
}

/* Ends the worker's current part: its chunk files join the job's commit. */
static void finish_part(worker *w)
{
    fs_strbuf perr = {0};
    int rc = fs_engine_part_finish(w->part, &perr);
    if (rc != FS_OK && w->rc == FS_OK) {
        w->rc = rc;
        snprintf(w->err, sizeof w->err, "writing computed rows: %s", fs_sb_str(&perr));
    }
    fs_sb_free(&perr);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    view_job *vj = w->vj;
    int reporter = w == vj->reporter; /* progress is reported on the calling thread only */
    for (;;) {
        pthread_mutex_lock(&vj->mu);
        size_t ki = vj->next < vj->n_keys && w->rc == FS_OK ? vj->next++ : SIZE_MAX;
        uint64_t done = vj->entities_done, rows = vj->rows_done;
        pthread_mutex_unlock(&vj->mu);
        if (reporter && vj->progress && vj->progress->fn)
            vj->progress->fn(vj->progress->ctx, vj->progress->entities_before + done,
                             vj->progress->entities_total, vj->progress->rows_before + rows);
        if (ki == SIZE_MAX)
            break;
        size_t before = w->out.n;
        int rc = compute_entity(w, ki);
        if (rc == FS_OK && vj->stream)
            rc = hand_rows(w, 1); /* the rest of the entity */
        if (rc != FS_OK) {
            w->rc = rc;
            if (!w->err[0]) /* hand_rows wrote a more precise one */
                snprintf(w->err, sizeof w->err, "entity %s: %s", vj->keys[ki], fs_strerror(rc));
        }
        pthread_mutex_lock(&vj->mu);
        vj->entities_done++;
        vj->rows_done += w->out.n - before;
        pthread_mutex_unlock(&vj->mu);
        if (vj->stream) { /* the rows are in the part now */
            fs_batch_clear(&w->out);
            w->handed = 0;
            if (w->rc == FS_OK && fs_engine_part_bytes(w->part) >= vj->part_bytes)
                finish_part(w);
        }
    }
    if (w->rc == FS_OK && vj->stream) /* the last part, written in parallel too */
        finish_part(w);
    return NULL;
}

/* ---- one view -------------------------------------------------------------------- */

static int add_key(void *ctx, const char *key)
{
    view_job *vj = ctx;
    const char **p = realloc(vj->keys, (vj->n_keys + 1) * sizeof *p);
    if (!p)
        return 1;
    vj->keys = p;
    vj->keys[vj->n_keys++] = key;
    return 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *fs_compute_state_path(const char *dir, const char *view)
{
    char name[300];
    snprintf(name, sizeof name, "compute/%s.state", view);
    return fs_path_join(dir, name);
}

int fs_compute_view(fs_store *s, const fs_view_def *v, const fs_compute_opts *o, int jobs,
                    uint64_t job_id, const fs_compute_progress *progress, uint64_t *rows_out,
                    uint64_t *ents_out, fs_strbuf *err)
{
    fs_view_plan *plan = NULL;
    int rc = fs_view_plan_build(s->cat.reg, v, &plan, err);
    if (rc != FS_OK)
        return rc;
    view_job vj = {.s = s, .plan = plan, .from = o->from, .to = o->to, .job_id = job_id,
                   .progress = progress};
    pthread_mutex_init(&vj.mu, NULL);
    snprintf(vj.table, sizeof vj.table, "%s%s", FS_VIEW_TABLE_PREFIX, v->name);
    fs_state_set states;
    char *spath = fs_compute_state_path(s->dir, v->name);
    if (plan->n_inputs > MAX_SOURCE_COLUMNS) { /* read_series gathers at most that many */
        fs_sb_printf(err, "view '%s' reads %zu input series; at most %d are supported", v->name,
                     plan->n_inputs, MAX_SOURCE_COLUMNS);
        free(spath);
        pthread_mutex_destroy(&vj.mu);
        fs_view_plan_free(plan);
        return FS_E_INVALID_DEF;
    }
    worker *ws = NULL;
    fs_colspec *cols = NULL;
    if (!spath) {
        rc = FS_E_NOMEM;
        goto out;
    }
    if ((rc = fs_state_load(spath, plan->hash, plan->state_size, &states, err)) != FS_OK) {
        spath[0] = 0; /* nothing loaded: nothing to free below but the set */
        goto out;
    }
    vj.states = &states;
    int er = fs_engine_entities(s->engine, v->source, add_key, &vj);
    if (er) { /* add_key's 1 (out of memory), or the engine's status (a chunk it cannot read) */
        rc = er < 0 ? er : FS_E_NOMEM;
        if (er < 0) {
            fs_sb_printf(err, "view '%s': cannot read source '%s': %s", v->name, v->source,
                         fs_strerror(er));
            fs_engine_read_error(s->engine, err);
        }
        goto free_states;
    }
    /* Entities in key order: the same work in the same order on every run. */
    if (vj.n_keys)
        qsort(vj.keys, vj.n_keys, sizeof *vj.keys, by_str);
    vj.results = calloc(vj.n_keys + 1, sizeof *vj.results);
    if (jobs > (int)vj.n_keys)
        jobs = vj.n_keys ? (int)vj.n_keys : 1;
    ws = calloc((size_t)jobs, sizeof *ws);
    cols = calloc(plan->n_outputs + 2, sizeof *cols);
    if (!vj.results || !ws || !cols) {
        rc = FS_E_NOMEM;
        goto free_states;
    }
    for (size_t k = 0; k < plan->n_outputs; k++)
        cols[k] = (fs_colspec){v->features[plan->outputs[k]].name, FS_VT_FLOAT64};
    cols[plan->n_outputs] = (fs_colspec){"_job", FS_VT_INT64};
    vj.with_confidence = plan->has_confidence;
    for (size_t i = 0; i < plan->n_inputs; i++)
        vj.with_confidence |= plan->inputs[i].kind == FS_PLAN_IN_VIEW;
    if (vj.with_confidence)
        cols[plan->n_outputs + 1] = (fs_colspec){"_confidence", FS_VT_FLOAT64};
    for (int t = 0; t < jobs; t++) {
        worker *w = &ws[t];
        w->vj = &vj;
        if (fs_batch_init(&w->out, cols, plan->n_outputs + 1 + (size_t)vj.with_confidence) != FS_OK ||
            !(w->conf_buf = malloc(BLOCK_ROWS * sizeof(double))) ||
            !(w->in_ptrs = calloc(plan->n_inputs + 1, sizeof *w->in_ptrs)) ||
            !(w->out_ptrs = calloc(plan->n_outputs + 2, sizeof *w->out_ptrs)) ||
            !(w->scratch = fs_view_plan_scratch_new(plan, BLOCK_ROWS)) ||
            !(w->state = malloc(plan->state_size ? plan->state_size : 1)) ||
            !(w->in_buf = malloc((plan->n_inputs + 1) * BLOCK_ROWS * sizeof(double))) ||
            !(w->out_buf = malloc((plan->n_outputs + 1) * BLOCK_ROWS * sizeof(double))) ||
            !(w->src.cols = calloc(MAX_SOURCE_COLUMNS, sizeof(double *))) ||
            !(w->ref.cols = calloc(1, sizeof(double *))))
            rc = FS_E_NOMEM;
    }
    if (rc != FS_OK)
        goto free_workers;
    /* Rows to expect: the source's rows not yet computed. */
    fs_table_stats st;
    uint64_t done_rows = 0;
    for (size_t k = 0; k < states.n; k++)
        done_rows += states.ents[k].rows;
    if (fs_engine_table_stats(s->engine, v->source, &st) == FS_OK && st.rows > done_rows &&
        st.rows - done_rows >= STREAM_MIN_ROWS)
        rc = fs_engine_stream_begin(s->engine, vj.table, fs_store_chunk_interval, s, &vj.stream, err);
    for (int t = 0; rc == FS_OK && vj.stream && t < jobs; t++)
        rc = fs_engine_part_open(vj.stream, &ws[t].part);
    const char *pb = getenv("FSTORE_COMPUTE_PART_BYTES");
    vj.part_bytes = pb && atol(pb) > 0 ? (size_t)atol(pb) : STREAM_PART_BYTES;
    if (rc != FS_OK)
        goto free_workers;
    fs_phase("list entities");
    vj.reporter = &ws[0]; /* before any worker starts: they read it */
    pthread_t *tids = calloc((size_t)jobs, sizeof *tids);
    int started = 0;
    if (!tids)
        rc = FS_E_NOMEM;
    for (int t = 1; rc == FS_OK && t < jobs; t++, started++)
        if (pthread_create(&tids[t], NULL, worker_main, &ws[t]) != 0)
            break;
    worker_main(&ws[0]); /* the calling thread works too */
    for (int t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
    for (int t = 0; t < jobs && rc == FS_OK; t++)
        if (ws[t].rc != FS_OK) {
            rc = ws[t].rc;
            fs_sb_printf(err, "view '%s': %s", v->name, ws[t].err);
        }
    fs_phase("compute");
    /* Commit what the workers computed, then save the states. */
    if (vj.stream) {
        uint64_t seq, streamed = vj.rows_done; /* every row is in a part's files */
        if (rc == FS_OK && streamed) {
            rc = fs_engine_stream_commit(vj.stream, &seq, err);
            vj.stream = NULL;
            fs_strbuf cerr = {0}; /* the manifest lists the new files: a failure here loses nothing */
            if (rc == FS_OK && fs_engine_checkpoint(s->engine, fs_store_chunk_interval, s, &cerr) != FS_OK)
                fprintf(stderr, "fstore: warning: checkpoint after compute failed: %s\n", fs_sb_str(&cerr));
            fs_sb_free(&cerr);
        }
        fs_engine_stream_abort(vj.stream); /* an error, or nothing to commit */
        vj.stream = NULL;
        *rows_out += streamed;
    }
    for (int t = 0; t < jobs && rc == FS_OK; t++) {
        uint64_t seq;
        size_t n_rows = ws[t].out.n;
        if (n_rows) { /* hand the batch over: the engine keeps it, no copy */
            fs_batch *owned = malloc(sizeof *owned);
            if (!owned) {
                rc = FS_E_NOMEM;
                break;
            }
            *owned = ws[t].out;
            memset(&ws[t].out, 0, sizeof ws[t].out);
            rc = fs_engine_commit_owned(s->engine, vj.table, owned, &seq, err);
        }
        *rows_out += n_rows;
    }
    for (size_t k = 0; k < vj.n_keys && rc == FS_OK; k++) {
        entity_result *r = &vj.results[k];
        if (r->done) {
            rc = fs_state_put(&states, vj.keys[k], r->last_ts, r->last_seq, r->rows, r->state);
            ++*ents_out;
        }
    }
    if (rc == FS_OK) {
        char *cdir = fs_path_join(s->dir, "compute");
        rc = cdir ? fs_mkdirs(cdir, err) : FS_E_NOMEM;
        free(cdir);
    }
    if (rc == FS_OK)
        rc = fs_state_save(spath, &states, err);
free_workers:
    fs_engine_stream_abort(vj.stream); /* still open only on an error path */
    for (int t = 0; ws && t < jobs; t++) {
        worker *w = &ws[t];
        fs_entity_reader_close(w->rd_src);
        fs_entity_reader_close(w->rd_ref);
        fs_engine_part_free(w->part);
        fs_batch_free(&w->out);
        free(w->scratch);
        free(w->state);
        free(w->in_buf);
        free(w->out_buf);
        free(w->conf_buf);
        free(w->in_ptrs);
        free(w->out_ptrs);
        for (size_t c = 0; w->src.cols && c < MAX_SOURCE_COLUMNS; c++)
            free(w->src.cols[c]);
        free(w->src.cols);
        free(w->src.ts);
        free(w->src.seq);
        if (w->ref.cols)
            free(w->ref.cols[0]);
        free(w->ref.cols);
        free(w->ref.ts);
        free(w->ref.seq);
    }
free_states:
    for (size_t k = 0; vj.results && k < vj.n_keys; k++)
        free(vj.results[k].state);
    fs_state_free(&states);
out:
    free(ws);
    free(cols);
    free(vj.results);
    free(vj.keys);
    free(spath);
    pthread_mutex_destroy(&vj.mu);
    fs_view_plan_free(plan);
    return rc;
}

