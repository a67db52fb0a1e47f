/* fs_compute: ordering views by their dependencies, recording the job, and
 * reporting whether a view's stored values are current (contracts in
 * fstore.h and store_internal.h). One view's computation is in
 * compute_view.c. */
#include "api/compute_internal.h"
#include "api/jobs.h"
#include "api/store_internal.h"

#include "compute/state_store.h"
#include "compute/view_plan.h"
#include "core/fileio.h"
#include "core/phase.h"
#include "core/timeutil.h"
#include "online/hook.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- ordering views and the job ------------------------------------------------------ */

/* Views that view v reads through `other.feature` in its expressions. */
static int reads_view(const fs_view_def *v, const char *other)
{
    size_t len = strlen(other);
    for (size_t i = 0; i < v->n_features; i++) {
        const char *e = v->features[i].how == FS_PROD_EXPR ? v->features[i].expr : NULL;
        for (const char *p = e ? strstr(e, other) : NULL; p; p = strstr(p + 1, other))
            if (p[len] == '.' && (p == e || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                                              (p[-1] >= '0' && p[-1] <= '9'))))
                return 1;
    }
    return 0;
}

static void definitions_json(const fs_catalog *cat, const fs_view_def *v, json_t *defs)
{
    char q[512];
    json_object_set_new(defs, v->name, json_integer(fs_catalog_version(cat, FS_KIND_VIEW, v->name)));
    for (size_t i = 0; i < v->n_features; i++) {
        snprintf(q, sizeof q, "%s:%s", v->name, v->features[i].name);
        json_object_set_new(defs, q, json_integer(fs_catalog_version(cat, FS_KIND_FEATURE, q)));
    }
}

static int count_key(void *ctx, const char *key)
{
    (void)key;
    ++*(uint64_t *)ctx;
    return 0;
}

int fs_compute(fs_store *s, const fs_compute_opts *opts, fs_compute_result *result)
{
    if (!s || !result)
        return FS_E_INVAL;
    memset(result, 0, sizeof *result);
    fs_compute_opts o = opts ? *opts : (fs_compute_opts){0};
    pthread_mutex_lock(&s->mu);
    const fs_registry *r = s->cat.reg;
    fs_strbuf err = {0}, errors = {0};
    int rc = FS_OK;
    /* Which views, validated before anything runs. */
    const fs_view_def **todo = calloc(r->n_views + 1, sizeof *todo);
    size_t n = 0;
    if (!todo) {
        rc = FS_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < o.n_views; i++) {
        const fs_view_def *v = fs_reg_view(r, o.views[i]);
        if (!v) {
            fs_sb_printf(&err, "no view named '%s' (see fstore ls --kind view)", o.views[i]);
            rc = FS_E_NOTFOUND;
            goto out;
        }
    }
    /* Dependency order: repeatedly take a wanted view none of whose
     * dependencies is still waiting (the registry rejected cycles). */
    int *taken = calloc(r->n_views + 1, sizeof *taken);
    if (!taken) {
        rc = FS_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->n_views; i++) {
        int wanted = !o.n_views;
        for (size_t k = 0; k < o.n_views; k++)
            wanted |= strcmp(o.views[k], r->views[i].name) == 0;
        taken[i] = !wanted || !fs_view_needs_compute(&r->views[i]); /* 1: not to run */
    }
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < r->n_views; i++) {
            if (taken[i])
                continue;
            int ready = 1;
            for (size_t j = 0; j < r->n_views && ready; j++)
                if (j != i && !taken[j] && reads_view(&r->views[i], r->views[j].name))
                    ready = 0;
            if (ready) {
                todo[n++] = &r->views[i];
                taken[i] = 1;
                progress = 1;
            }
        }
    }
    free(taken);
    if ((rc = fs_store_engine(s, 1, 10000)) != FS_OK) {
        pthread_mutex_unlock(&s->mu);
        free(todo);
        fs_sb_free(&err);
        return rc;
    }
    int jobs = o.jobs > 0 ? o.jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > 64)
        jobs = 64;
    result->job = fs_jobs_next_id(s->dir);
    int64_t t0 = fs_now_ns();
    char started[FS_TIME_STRLEN];
    fs_format_time(t0, started, sizeof started);
    json_t *job = json_object(), *views = json_array(), *defs = json_object();
    json_object_set_new(job, "id", json_integer((json_int_t)result->job));
    json_object_set_new(job, "kind", json_string("compute"));
    json_object_set_new(job, "status", json_string("running"));
    json_object_set_new(job, "started", json_string(started));
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(views, json_string(todo[i]->name));
        definitions_json(&s->cat, todo[i], defs);
    }
    json_object_set_new(job, "views", views);
    json_object_set_new(job, "definitions", defs);
    if ((rc = fs_jobs_append(s->dir, job, &err)) != FS_OK) {
        json_decref(job);
        goto out;
    }
    json_t *errs = json_array();
    /* Progress counts entity series over the whole job. */
    fs_compute_progress prog = {o.progress, o.progress_ctx, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        fs_engine_entities(s->engine, todo[i]->source, count_key, &prog.entities_total);
    for (size_t i = 0; i < n; i++) {
        uint64_t rows = 0, ents = 0;
        fs_strbuf verr = {0};
        prog.rows_before = result->rows;
        int vrc = fs_compute_view(s, todo[i], &o, jobs, result->job, &prog, &rows, &ents, &verr);
        prog.entities_before += ents;
        result->rows += rows;
        result->entities += ents;
        if (vrc == FS_OK) {
            result->views_ok++;
        } else {
            result->views_failed++;
            const char *m = fs_sb_str(&verr);
            char line[600];
            snprintf(line, sizeof line, "%s", *m ? m : fs_strerror(vrc));
            json_array_append_new(errs, json_string(line));
            fs_sb_printf(&errors, "%s%s", fs_sb_str(&errors)[0] ? "\n" : "", line);
        }
        fs_sb_free(&verr);
    }
    if (o.progress)
        o.progress(o.progress_ctx, prog.entities_total, prog.entities_total, result->rows);
    fs_phase("commit");
    fs_online_after_compute(s, todo, n); /* online views: the online store follows (online/hook.h) */
    fs_phase("online store");
    result->duration_ns = fs_now_ns() - t0;
    json_object_set_new(job, "status", json_string(result->views_failed ? "failed" : "ok"));
    json_object_set_new(job, "duration_ms", json_integer((json_int_t)(result->duration_ns / 1000000)));
    json_object_set_new(job, "rows", json_integer((json_int_t)result->rows));
    json_object_set_new(job, "entities", json_integer((json_int_t)result->entities));
    json_object_set_new(job, "errors", errs);
    rc = fs_jobs_append(s->dir, job, &err);
    json_decref(job);
    if (rc == FS_OK && result->views_failed) {
        rc = FS_E_PARTIAL;
        fs_sb_reset(&err);
        fs_sb_puts(&err, fs_sb_str(&errors));
    }
out:
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
    pthread_mutex_unlock(&s->mu);
    free(todo);
    fs_sb_free(&err);
    fs_sb_free(&errors);
    return rc;
}

json_t *fs_compute_status_json(fs_store *s, const fs_view_def *v)
{
    json_t *o = json_object();
    fs_view_plan *plan = NULL;
    fs_strbuf err = {0};
    if (!fs_view_needs_compute(v)) {
        json_object_set_new(o, "status", json_string("not_computed: every feature is read from the source"));
        return o;
    }
    if (fs_view_plan_build(s->cat.reg, v, &plan, &err) != FS_OK) {
        json_object_set_new(o, "status", json_string("cannot_compute"));
        json_object_set_new(o, "reason", json_string(fs_sb_str(&err)));
        fs_sb_free(&err);
        return o;
    }
    char *path = fs_compute_state_path(s->dir, v->name);
    fs_state_set st;
    if (path && fs_state_load(path, plan->hash, plan->state_size, &st, &err) == FS_OK) {
        uint64_t rows = 0;
        for (size_t i = 0; i < st.n; i++)
            rows += st.ents[i].rows;
        const char *status = st.discarded ? "needs_recompute" : st.n ? "computed" : "never_computed";
        json_object_set_new(o, "status", json_string(status));
        if (st.discarded)
            json_object_set_new(o, "reason", json_string(st.why));
        json_object_set_new(o, "entities", json_integer((json_int_t)st.n));
        json_object_set_new(o, "rows", json_integer((json_int_t)rows));
        fs_state_free(&st);
    }
    /* The last job that computed the view. */
    json_t *jobs = fs_jobs_list(s->dir, 1), *j;
    size_t i;
    json_array_foreach(jobs, i, j) {
        json_t *views = json_object_get(j, "views"), *vn;
        size_t k;
        json_array_foreach(views, k, vn)
            if (strcmp(json_string_value(vn), v->name) == 0)
                json_object_set(o, "last_job", json_object_get(j, "id"));
    }
    json_decref(jobs);
    free(path);
    fs_sb_free(&err);
    fs_view_plan_free(plan);
    return o;
}

int fs_jobs_json(fs_store *s, char **json)
{
    if (!s || !json)
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    /* A "running" job is live only if some process holds the writer lock. */
    char *wpath = fs_path_join(s->dir, "WRITER");
    int fd = -1, alive = s->writer;
    fs_strbuf err = {0};
    if (!alive && wpath && fs_lock(wpath, 0, &fd, &err) == FS_E_BUSY)
        alive = 1;
    if (fd >= 0)
        fs_unlock(fd);
    fs_sb_free(&err);
    free(wpath);
    json_t *o = json_object();
    json_object_set_new(o, "jobs", fs_jobs_list(s->dir, alive));
    *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    pthread_mutex_unlock(&s->mu);
    return *json ? FS_OK : FS_E_NOMEM;
}
