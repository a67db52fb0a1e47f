/* Materialization: offline store (the engine) -> online store, and the
 * hook that keeps the online store current after fs_compute (contracts in
 * fstore.h and online/hook.h).
 *
 * For each entity of a view, the point-in-time row as of `to` of the
 * source table (its `from:` features) and of the table "view:VIEW" (its
 * computed features) is taken with the engine's own as-of rule, the same
 * the training sets use: that is what makes online and offline agree. */
#include "online/hook.h"
#include "online/online.h"

#include "api/store_internal.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char **keys;
    size_t n, cap;
    int oom;
} keylist;

static int add_key(void *ctx, const char *key)
{
    keylist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        const char **p = realloc(l->keys, cap * sizeof *p);
        if (!p) {
            l->oom = 1;
            return 1;
        }
        l->keys = p;
        l->cap = cap;
    }
    l->keys[l->n++] = key;
    return 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A row's column positions, looked up by name once per stored batch. */
typedef struct {
    const fs_batch *batch;
    int col;
} colcache;

static int col_of(colcache *c, const fs_batch *b, const char *name)
{
    if (c->batch != b) {
        c->batch = b;
        c->col = name ? fs_batch_col(b, name) : -1;
    }
    return c->col;
}

static double conf_of(const fs_batch *b, int col, size_t row)
{
    if (col < 0)
        return 1.0; /* the source records no confidence: fully trusted */
    const fs_column *c = &b->cols[col];
    return c->valid[row] && c->type == FS_VT_FLOAT64 ? c->f64[row] : NAN;
}

/* Readers of the latest rows of a view's two tables: straight from the
 * chunk files, only the columns the view serves and only the newest
 * segment of each entity (fs_entity_reader_asof), instead of loading both
 * tables into memory whole. NULL reader (a column whose type changed
 * between commits): the engine's own as-of lookup. */
static fs_entity_reader *open_latest(fs_engine *e, const oview *v, int from_source)
{
    const char **cols = calloc(v->nf + 2, sizeof *cols);
    size_t n = 0;
    for (size_t f = 0; cols && f < v->nf; f++)
        if (!v->f[f].from == !from_source)
            cols[n++] = v->f[f].column;
    if (cols && from_source && v->src_conf)
        cols[n++] = v->src_conf;
    if (cols && !from_source)
        cols[n++] = "_confidence";
    fs_entity_reader *rd = NULL;
    if (cols && fs_entity_reader_open(e, from_source ? v->source : v->vtable, cols, n, &rd, NULL) != FS_OK)
        rd = NULL;
    free(cols);
    return rd;
}

/* The confidence column a table's rows are read with: NULL when it has none
 * (its values are then fully trusted, conf_of), also through a direct
 * reader, whose last column it is (open_latest) and which would read an
 * absent column as null. */
static const char *conf_column(const fs_entity_reader *rd, const char *name)
{
    if (!name || (rd && !fs_entity_reader_has_column(rd, fs_entity_reader_shape(rd)->ncols - 1)))
        return NULL;
    return name;
}

/* The row as of `to` (1), none (0) or an error (< 0). */
static int latest_row(fs_engine *e, fs_entity_reader *rd, const char *table, const char *key, int64_t to,
                      fs_row_ref *out)
{
    if (!rd)
        return fs_engine_asof(e, table, key, to, 0, FS_KNOWN_ALL, out);
    const fs_batch *b;
    size_t row = 0;
    int rc = fs_entity_reader_asof(rd, key, to, FS_KNOWN_ALL, &b, &row, NULL);
    if (rc == 1)
        *out = (fs_row_ref){b, row};
    return rc;
}

/* Fills `t` for view v from the engine. */
static int fill_view(fs_store *s, oview *v, otab *t, int mode, int64_t from, int64_t to,
                     fs_materialize_result *res)
{
    fs_engine *e = s->engine;
    keylist kl = {0};
    int er = 0;
    if (v->any_from)
        er = fs_engine_entities(e, v->source, add_key, &kl);
    if (v->any_computed && er <= 0)
        er = fs_engine_entities(e, v->vtable, add_key, &kl);
    if (kl.oom || er) {
        free(kl.keys);
        return er < 0 ? er : FS_E_NOMEM; /* a chunk file that cannot be read, or add_key's 1 */
    }
    if (kl.n)
        qsort(kl.keys, kl.n, sizeof *kl.keys, by_str);
    colcache *cc = calloc(2 * v->nf + 2, sizeof *cc);
    if (!cc) {
        free(kl.keys);
        return FS_E_NOMEM;
    }
    colcache *conf_src = &cc[2 * v->nf], *conf_view = &cc[2 * v->nf + 1];
    int64_t seen_to = t->mat_to;
    uint64_t seen_seq = t->mat_seq;
    int rc = FS_OK;
    fs_entity_reader *rd[2] = {v->any_from ? open_latest(e, v, 1) : NULL,
                               v->any_computed ? open_latest(e, v, 0) : NULL};
    const char *src_conf = conf_column(rd[0], v->src_conf), *view_conf = conf_column(rd[1], "_confidence");
    for (size_t i = 0; rc == FS_OK && i < kl.n; i++) {
        if (i && strcmp(kl.keys[i], kl.keys[i - 1]) == 0)
            continue;
        const char *key = kl.keys[i];
        fs_row_ref rows[2];
        int has[2] = {0, 0};
        if (v->any_from)
            has[0] = latest_row(e, rd[0], v->source, key, to, &rows[0]);
        if (v->any_computed)
            has[1] = latest_row(e, rd[1], v->vtable, key, to, &rows[1]);
        if (has[0] < 0 || has[1] < 0) { /* a chunk file that cannot be read */
            rc = has[0] < 0 ? has[0] : has[1];
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (!has[k])
                continue;
            int64_t ts = rows[k].batch->event_ts[rows[k].row];
            uint64_t seq = rows[k].batch->seq[rows[k].row];
            if (mode == FS_MAT_MERGE && from && ts < from)
                has[k] = 0;
            if (mode == FS_MAT_INCREMENTAL && seq <= seen_seq && ts <= seen_to)
                has[k] = 0; /* seen by the last materialization */
        }
        if (!has[0] && !has[1])
            continue;
        res->entities++;
        long ent = fs_otab_upsert(t, key, strlen(key));
        if (ent < 0) {
            rc = FS_E_NOMEM;
            break;
        }
        for (size_t f = 0; f < v->nf && rc == FS_OK; f++) {
            int k = v->f[f].from ? 0 : 1;
            if (!has[k])
                continue;
            const fs_batch *b = rows[k].batch;
            size_t row = rows[k].row;
            int64_t ts = b->event_ts[row];
            uint64_t seq = b->seq[row];
            ocell *c = &t->cells[(size_t)ent * t->nf + f];
            if (mode != FS_MAT_REBUILD && !fs_ocell_older(c, ts, seq))
                continue;
            int col = col_of(&cc[2 * f + (size_t)k], b, v->f[f].column);
            int ccol = k == 0 ? col_of(conf_src, b, src_conf) : col_of(conf_view, b, view_conf);
            rc = fs_otab_set(t, (size_t)ent, f, b, col, row, ts, seq, conf_of(b, ccol, row));
            res->values++;
        }
    }
    fs_entity_reader_close(rd[0]);
    fs_entity_reader_close(rd[1]);
    free(cc);
    free(kl.keys);
    return rc;
}

int fs_online_materialize_locked(fs_store *s, const char *const *views, size_t n, int mode,
                                 int64_t from, int64_t to, int wait_ms, fs_materialize_result *res,
                                 fs_strbuf *err)
{
    const fs_registry *r = s->cat.reg;
    for (size_t i = 0; i < n; i++) {
        const fs_view_def *d = fs_reg_view(r, views[i]);
        if (!d) {
            fs_sb_printf(err, "no view named '%s' (see fstore ls --kind view)", views[i]);
            return FS_E_NOTFOUND;
        }
        if (!d->online) {
            fs_sb_printf(err, "view '%s' is not online (its definition says online: false)", views[i]);
            return FS_E_INVAL;
        }
    }
    fs_online *o = NULL;
    int rc = fs_online_acquire(s, &o, err);
    if (rc != FS_OK)
        return rc;
    int lockfd = -1;
    if ((rc = fs_online_write_begin(o, wait_ms, &lockfd, err)) != FS_OK) {
        fs_online_close(o);
        return rc;
    }
    if (!to)
        to = FS_TIME_LATEST;
    int64_t t0 = fs_now_ns();
    for (size_t i = 0; rc == FS_OK && i < o->nv; i++) {
        oview *v = &o->views[i];
        int wanted = n == 0;
        for (size_t k = 0; k < n && !wanted; k++)
            wanted = strcmp(views[k], v->name) == 0;
        if (!wanted)
            continue;
        otab *t = NULL;
        if ((rc = fs_online_edit(o, v, &t, err)) != FS_OK)
            break;
        if (mode == FS_MAT_REBUILD) { /* the state as of `to`, nothing else */
            otab *fresh = fs_otab_new(v->nf);
            if (!fresh) {
                fs_otab_free(t);
                rc = FS_E_NOMEM;
                break;
            }
            fresh->generation = t->generation;
            fs_otab_free(t);
            t = fresh;
        }
        if ((rc = fill_view(s, v, t, mode, from, to, res)) != FS_OK) {
            fs_sb_printf(err, "view '%s': cannot read its stored rows: %s", v->name, fs_strerror(rc));
            fs_engine_read_error(s->engine, err);
            fs_otab_free(t);
            break;
        }
        t->mat_to = to;
        t->mat_seq = fs_engine_last_seq(s->engine);
        t->mat_time = fs_now_ns();
        if ((rc = fs_online_commit_view(o, v, t, err)) != FS_OK)
            break;
        res->views++;
    }
    res->duration_ns = fs_now_ns() - t0;
    fs_online_write_end(o, lockfd);
    fs_online_close(o);
    return rc;
}

int fs_materialize(fs_store *s, const fs_materialize_opts *opts, fs_materialize_result *result)
{
    if (!s || !result)
        return FS_E_INVAL;
    memset(result, 0, sizeof *result);
    fs_materialize_opts o = opts ? *opts : (fs_materialize_opts){0};
    if (o.n_views && !o.views)
        return FS_E_INVAL;
    int rc = fs_refresh(s); /* see every commit made so far */
    if (rc != FS_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    fs_strbuf err = {0};
    int64_t to = o.to ? o.to : FS_TIME_LATEST;
    if (o.from && o.from > to) {
        fs_sb_printf(&err, "--from is after --to");
        rc = FS_E_INVAL;
    } else if ((rc = fs_store_engine(s, 0, 0)) == FS_OK) {
        int mode = o.incremental ? FS_MAT_INCREMENTAL : o.from ? FS_MAT_MERGE : FS_MAT_REBUILD;
        rc = fs_online_materialize_locked(s, o.views, o.n_views, mode, o.from, to,
                                          o.lock_wait_ms > 0 ? o.lock_wait_ms : 10000, result, &err);
    }
    if (rc != FS_OK && err.len)
        fs_store_fail(s, rc, fs_sb_str(&err));
    pthread_mutex_unlock(&s->mu);
    fs_sb_free(&err);
    return rc;
}

void fs_online_after_compute(fs_store *s, const fs_view_def *const *views, size_t n)
{
    const char *names[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 256; i++)
        if (views[i]->online)
            names[k++] = views[i]->name;
    if (!k || !s->engine)
        return;
    fs_materialize_result res = {0};
    fs_strbuf err = {0};
    int rc = fs_online_materialize_locked(s, names, k, FS_MAT_INCREMENTAL, 0, FS_TIME_LATEST,
                                          10000, &res, &err);
    if (rc != FS_OK)
        fprintf(stderr, "fstore: warning: the online store was not updated after compute: %s "
                        "(run fstore materialize --incremental)\n",
                err.len ? fs_sb_str(&err) : fs_strerror(rc));
    fs_sb_free(&err);
}

static json_t *time_or_null(int64_t ns)
{
    if (ns == INT64_MIN || ns == 0)
        return json_null();
    if (ns == FS_TIME_LATEST)
        return json_string("latest");
    char buf[FS_TIME_STRLEN];
    fs_format_time(ns, buf, sizeof buf);
    return json_string(buf);
}

int fs_online_status_json(fs_store *s, char **json)
{
    if (!s || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    fs_online *o = NULL;
    fs_strbuf err = {0};
    int rc = fs_online_acquire(s, &o, &err);
    if (rc == FS_OK) {
        fs_online_refresh(o);
        json_t *doc = json_object(), *arr = json_array();
        for (size_t i = 0; i < o->nv; i++) {
            oview *v = &o->views[i];
            void *rd = fs_online_read_begin();
            const otab *t = atomic_load(&v->tab);
            json_t *it = json_object();
            json_object_set_new(it, "view", json_string(v->name));
            json_object_set_new(it, "entities", json_integer((json_int_t)t->n));
            json_object_set_new(it, "features", json_integer((json_int_t)v->nf));
            json_object_set_new(it, "materialized_to", time_or_null(t->mat_to));
            json_object_set_new(it, "materialized_seq", json_integer((json_int_t)t->mat_seq));
            json_object_set_new(it, "materialized_at", time_or_null(t->mat_time));
            json_object_set_new(it, "generation", json_integer((json_int_t)t->generation));
            fs_online_read_end(rd);
            char path[4200];
            snprintf(path, sizeof path, "%s/%s.bin", o->dir, v->name);
            json_object_set_new(it, "file", v->has_file ? json_string(path) : json_null());
            json_array_append_new(arr, it);
        }
        json_object_set_new(doc, "views", arr);
        *json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        rc = *json ? FS_OK : FS_E_NOMEM;
        fs_online_close(o);
    }
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
    fs_sb_free(&err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
