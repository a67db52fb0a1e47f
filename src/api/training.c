/* Training sets and runs (contracts in fstore.h).
 *
 * A build has two halves, so that a rebuild can reuse the second alone:
 *  1. resolve (here): feature names (or a service) against the current
 *     registry, into a "spec": for each output column the table and column
 *     it reads, the view's TTL and the join keys of its entity;
 *  2. build (training/build.h): labels + spec + known_at -> output file,
 *     through one point-in-time merge join per (table, TTL, entity).
 * A run records the spec, the labels (a copy), the watermark and the hashes,
 * so a rebuild depends on nothing that later applies or ingests change. */
#include "api/store_internal.h"

#include "core/fileio.h"
#include "core/phase.h"
#include "core/sha256.h"
#include "core/timeutil.h"
#include "training/build.h"
#include "training/labels.h"
#include "training/signals.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- resolving features --------------------------------------------------------- */

static int add_feature(const fs_registry *r, const fs_view_def *v, const fs_feature_def *f,
                       int full_names, json_t *cols)
{
    const fs_entity_def *ent = fs_reg_entity(r, v->entity);
    json_t *c = json_object(), *keys = json_array();
    char buf[600];
    snprintf(buf, sizeof buf, "%s:%s", v->name, f->name);
    json_object_set_new(c, "name", json_string(buf));
    if (full_names)
        snprintf(buf, sizeof buf, "%s__%s", v->name, f->name);
    else
        snprintf(buf, sizeof buf, "%s", f->name);
    json_object_set_new(c, "header", json_string(buf));
    if (f->how == FS_PROD_FROM) {
        json_object_set_new(c, "table", json_string(v->source));
        json_object_set_new(c, "column", json_string(f->from));
    } else {
        snprintf(buf, sizeof buf, "%s%s", FS_VIEW_TABLE_PREFIX, v->name);
        json_object_set_new(c, "table", json_string(buf));
        json_object_set_new(c, "column", json_string(f->name));
    }
    json_object_set_new(c, "ttl_ns", json_integer((json_int_t)v->ttl_ns));
    for (size_t k = 0; ent && k < ent->join_keys.n; k++)
        json_array_append_new(keys, json_string(ent->join_keys.items[k]));
    json_object_set_new(c, "keys", keys);
    json_array_append_new(cols, c);
    return FS_OK;
}

/* The spec's columns for names like "view:feature" or "view". */
static int resolve(fs_store *s, const char *const *names, size_t n, int full_names, json_t *cols,
                   json_t *defs, fs_strbuf *err)
{
    const fs_registry *r = s->cat.reg;
    fs_feature_ref *refs = NULL;
    size_t nrefs = 0, bad = 0;
    int rc = fs_reg_expand_features(r, names, n, &refs, &nrefs, &bad);
    if (rc == FS_E_NOTFOUND)
        fs_sb_printf(err, "unknown feature '%s' (write it as view:feature, or a view name)", names[bad]);
    if (rc != FS_OK)
        return rc;
    for (size_t i = 0; i < nrefs; i++) {
        const fs_view_def *v = refs[i].view;
        add_feature(r, v, refs[i].feature, full_names, cols);
        json_object_set_new(defs, v->name, json_integer(fs_catalog_version(&s->cat, FS_KIND_VIEW, v->name)));
    }
    free(refs);
    /* Versions of every feature read, and the bare-name collision check. */
    size_t i, j;
    json_t *c, *d;
    json_array_foreach(cols, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_object_set_new(defs, name, json_integer(fs_catalog_version(&s->cat, FS_KIND_FEATURE, name)));
        json_array_foreach(cols, j, d) {
            if (j >= i)
                break;
            if (strcmp(json_string_value(json_object_get(c, "header")),
                       json_string_value(json_object_get(d, "header"))) == 0) {
                fs_sb_printf(err, "features %s and %s would both be column '%s': use full names "
                                  "(--full-names: view__feature)",
                             json_string_value(json_object_get(d, "name")), name,
                             json_string_value(json_object_get(c, "header")));
                return FS_E_INVAL;
            }
        }
    }
    return FS_OK;
}

/* ---- runs ------------------------------------------------------------------------- */

static char *run_dir(const char *dir, const char *id)
{
    char name[128];
    snprintf(name, sizeof name, "runs/%s", id);
    return fs_path_join(dir, name);
}

static uint64_t next_run_id(const char *dir)
{
    uint64_t id = 1;
    for (;; id++) {
        char name[32];
        snprintf(name, sizeof name, "%" PRIu64, id);
        char *p = run_dir(dir, name);
        int exists = p && access(p, F_OK) == 0;
        free(p);
        if (!exists)
            return id;
    }
}

static void sha_hex(const void *data, size_t len, char out[65])
{
    fs_sha256 c;
    fs_sha256_init(&c);
    fs_sha256_update(&c, data, len);
    fs_sha256_hex(&c, out);
}

/* Reads a whole file or standard input ("-"). */
static int slurp(const char *path, char **data, size_t *len, fs_strbuf *err)
{
    if (strcmp(path, "-") != 0)
        return fs_read_file(path, data, len, err);
    size_t cap = 1 << 16;
    *len = 0;
    *data = malloc(cap);
    for (size_t n; *data && (n = fread(*data + *len, 1, cap - *len, stdin)) > 0;) {
        *len += n;
        if (*len == cap) {
            char *p = realloc(*data, cap *= 2);
            if (!p) {
                free(*data);
                *data = NULL;
            } else
                *data = p;
        }
    }
    return *data ? FS_OK : FS_E_NOMEM;
}

/* Every join key the spec's columns need. */
static size_t required_keys(json_t *cols, const char **out, size_t max)
{
    size_t n = 0, i, k;
    json_t *c, *key;
    json_array_foreach(cols, i, c) json_array_foreach(json_object_get(c, "keys"), k, key) {
        const char *name = json_string_value(key);
        size_t j = 0;
        while (j < n && strcmp(out[j], name) != 0)
            j++;
        if (j == n && n < max)
            out[n++] = name;
    }
    return n;
}

typedef struct {
    int64_t time;
    uint64_t seq;
} commit_at;

static int last_commit_by(void *ctx, const fs_commit_info *ci)
{
    commit_at *c = ctx;
    if (ci->time_ns <= c->time && ci->seq > c->seq)
        c->seq = ci->seq;
    return 0;
}

/* A run keeps a copy of its labels, durable, and their hash. Both are made
 * on a thread of their own while the labels are parsed and joined: writing
 * and syncing a large label file costs as much as a join. The copy goes to
 * DIR/runs/.labels-PID.tmp first and is renamed into the run's directory
 * once the run has an id (or removed if the build fails). */
typedef struct {
    const char *data;
    size_t len;
    char *tmp;
    char sha[65];
    int rc;
    fs_strbuf err;
    pthread_t tid;
    int started;
} label_copy;

static void *copy_labels(void *p)
{
    label_copy *c = p;
    sha_hex(c->data, c->len, c->sha);
    c->rc = fs_write_file_atomic(c->tmp, c->data, c->len, &c->err);
    return NULL;
}

/* Removes the label copies that builds killed mid-way left in DIR/runs
 * (their process is gone). */
static void remove_stale_copies(const char *runs)
{
    DIR *d = opendir(runs);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        if (strncmp(name, ".labels-", 8) != 0 || n < 13 || strcmp(name + n - 4, ".tmp") != 0)
            continue;
        char *end;
        long pid = strtol(name + 8, &end, 10);
        if (end != name + n - 4 || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to ask): its build may still need it */
        char *p = fs_path_join(runs, de->d_name);
        if (p)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
}

static int label_copy_start(label_copy *c, const char *dir, const char *data, size_t len, fs_strbuf *err)
{
    memset(c, 0, sizeof *c);
    c->data = data;
    c->len = len;
    char name[64];
    snprintf(name, sizeof name, "runs/.labels-%ld.tmp", (long)getpid());
    char *runs = fs_path_join(dir, "runs");
    int rc = runs ? fs_mkdirs(runs, err) : FS_E_NOMEM;
    if (rc == FS_OK)
        remove_stale_copies(runs);
    free(runs);
    if (rc == FS_OK && !(c->tmp = fs_path_join(dir, name)))
        rc = FS_E_NOMEM;
    if (rc == FS_OK && pthread_create(&c->tid, NULL, copy_labels, c) == 0)
        c->started = 1;
    else if (rc == FS_OK)
        copy_labels(c); /* no thread: do it here */
    return rc;
}

/* Waits for the copy; on FS_OK the file is at c->tmp. */
static int label_copy_wait(label_copy *c, fs_strbuf *err)
{
    if (c->started)
        pthread_join(c->tid, NULL);
    c->started = 0;
    if (c->rc != FS_OK)
        fs_sb_puts(err, fs_sb_str(&c->err));
    return c->rc;
}

/* Waits and removes what is left of the copy (nothing after its rename).
 * Safe on a copy never started. */
static void label_copy_drop(label_copy *c)
{
    if (c->started)
        pthread_join(c->tid, NULL);
    c->started = 0;
    if (c->tmp)
        unlink(c->tmp);
    free(c->tmp);
    c->tmp = NULL;
    fs_sb_free(&c->err);
}

static int is_jsonl_name(const char *path)
{
    size_t n = strlen(path);
    return (n > 6 && strcmp(path + n - 6, ".jsonl") == 0) ||
           (n > 7 && strcmp(path + n - 7, ".ndjson") == 0);
}

int fs_training_set(fs_store *s, const fs_training_opts *o, fs_training_result *result)
{
    if (!s || !o || !result || !o->labels || !o->out || (!o->n_features && !o->service))
        return FS_E_INVAL;
    memset(result, 0, sizeof *result);
    pthread_mutex_lock(&s->mu);
    fs_strbuf err = {0};
    json_t *cols = json_array(), *defs = json_object(), *oldest = json_object();
    char *data = NULL;
    size_t len = 0;
    fs_labels L = {0};
    FILE *rejects = NULL;
    label_copy lc = {0};
    int rc = FS_OK;
    int jsonl_out = o->format && strcmp(o->format, "jsonl") == 0;
    if (o->format && !jsonl_out && strcmp(o->format, "csv") != 0) {
        fs_sb_printf(&err, "unknown output format '%s' (csv, jsonl)", o->format);
        rc = FS_E_INVAL;
        goto out;
    }
    if (o->service) {
        const fs_service_def *sv = fs_reg_service(s->cat.reg, o->service);
        if (!sv) {
            fs_sb_printf(&err, "no feature service named '%s' (see fstore ls --kind service)", o->service);
            rc = FS_E_NOTFOUND;
            goto out;
        }
        rc = resolve(s, sv->features.items, sv->features.n, o->full_names, cols, defs, &err);
        json_object_set_new(defs, sv->name, json_integer(fs_catalog_version(&s->cat, FS_KIND_SERVICE, sv->name)));
    } else {
        rc = resolve(s, o->features, o->n_features, o->full_names, cols, defs, &err);
    }
    if (rc != FS_OK)
        goto out;
    int from_signals = strcmp(o->labels, "signals") == 0 && access("signals", F_OK) != 0;
    if ((rc = fs_store_engine(s, 0, 0)) != FS_OK)
        goto out_locked;
    uint64_t known = o->known_at && o->known_at != FS_KNOWN_ALL_COMMITS ? o->known_at
                                                                       : fs_engine_last_seq(s->engine);
    if (o->known_at_time) { /* the last commit made by then */
        commit_at c = {o->known_at_time, 0};
        fs_engine_commits(s->engine, last_commit_by, &c);
        known = c.seq;
    }
    fs_phase("open store");
    rc = from_signals ? fs_signals_as_labels(s->engine, fs_reg_source(s->cat.reg, "signals"), o, known,
                                           &data, &len, &err)
                      : slurp(o->labels, &data, &len, &err);
    if (rc != FS_OK)
        goto out;
    if (o->rejects_path && !(rejects = fopen(o->rejects_path, "w"))) {
        fs_sb_printf(&err, "cannot create %s: %s", o->rejects_path, strerror(errno));
        rc = FS_E_IO;
        goto out;
    }
    const char *req[32];
    size_t nreq = required_keys(cols, req, 32);
    int jsonl_in = !from_signals && (o->labels_format ? strcmp(o->labels_format, "jsonl") == 0
                                                      : is_jsonl_name(o->labels));
    const char *lname = strcmp(o->labels, "-") == 0 ? "<stdin>" : o->labels;
    fs_phase("read labels");
    if ((rc = label_copy_start(&lc, s->dir, data, len, &err)) != FS_OK)
        goto out;
    if ((rc = fs_labels_parse(lname, data, len, jsonl_in, req, nreq, rejects, &L, &err)) != FS_OK)
        goto out;
    fs_phase("parse labels");
    for (size_t i = 0; i < json_array_size(cols); i++) { /* a feature column named like a label column */
        const char *h = json_string_value(json_object_get(json_array_get(cols, i), "header"));
        if (fs_labels_col(&L, h) >= 0) {
            fs_sb_printf(&err, "feature column '%s' has the name of a label column: use --full-names", h);
            rc = FS_E_INVAL;
            goto out;
        }
    }
    fs_build_result bo;
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if ((rc = fs_trainset_build(s->engine, cols, &L, known, jsonl_out, jobs, o->out, NULL, oldest, &bo,
                                &err)) != FS_OK)
        goto out;
    /* Record the run: its spec, a copy of its labels, hashes. */
    uint64_t id = next_run_id(s->dir);
    snprintf(result->run_id, sizeof result->run_id, "%" PRIu64, id);
    char *rdir = run_dir(s->dir, result->run_id), *lpath = NULL, *jpath = NULL;
    rc = rdir ? fs_mkdirs(rdir, &err) : FS_E_NOMEM;
    if (rc == FS_OK)
        rc = label_copy_wait(&lc, &err);
    if (rc == FS_OK) {
        lpath = fs_path_join(rdir, jsonl_in ? "labels.jsonl" : "labels.csv");
        jpath = fs_path_join(rdir, "run.json");
        rc = lpath && jpath ? FS_OK : FS_E_NOMEM;
    }
    if (rc == FS_OK && rename(lc.tmp, lpath) != 0) {
        fs_sb_printf(&err, "cannot rename %s to %s: %s", lc.tmp, lpath, strerror(errno));
        rc = FS_E_IO;
    }
    if (rc == FS_OK)
        rc = fs_fsync_dir(rdir, &err);
    if (rc == FS_OK) {
        json_t *run = json_object(), *lab = json_object();
        char t[FS_TIME_STRLEN], h[65];
        fs_format_time(fs_now_ns(), t, sizeof t);
        json_object_set_new(run, "id", json_string(result->run_id));
        json_object_set_new(run, "time", json_string(t));
        json_object_set_new(run, "command", o->command_line ? json_string(o->command_line) : json_null());
        json_object_set_new(run, "known_at", json_integer((json_int_t)known));
        json_object_set_new(lab, "sha256", json_string(lc.sha));
        json_object_set_new(lab, "file", json_string(jsonl_in ? "labels.jsonl" : "labels.csv"));
        json_object_set_new(lab, "source", json_string(lname));
        json_object_set_new(lab, "rows", json_integer((json_int_t)L.n));
        json_object_set_new(lab, "rejected", json_integer((json_int_t)L.rejected));
        json_object_set_new(run, "labels", lab);
        json_object_set(run, "definitions", defs);
        char *dtext = json_dumps(defs, JSON_COMPACT | JSON_SORT_KEYS);
        sha_hex(dtext ? dtext : "", dtext ? strlen(dtext) : 0, h);
        free(dtext);
        json_object_set_new(run, "definitions_sha256", json_string(h));
        json_object_set(run, "features", cols);
        json_object_set_new(run, "format", json_string(jsonl_out ? "jsonl" : "csv"));
        json_object_set_new(run, "full_names", json_boolean(o->full_names));
        json_object_set_new(run, "rows", json_integer((json_int_t)bo.rows));
        json_object_set_new(run, "output_sha256", json_string(bo.sha));
        json_object_set(run, "oldest_event_ts", oldest);
        char *text = json_dumps(run, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        rc = text ? fs_write_file_atomic(jpath, text, strlen(text), &err) : FS_E_NOMEM;
        free(text);
        json_decref(run);
    }
    fs_phase("record run");
    free(rdir);
    free(lpath);
    free(jpath);
    result->rows = bo.rows;
    result->rejected = L.rejected;
    result->known_at = known;
    memcpy(result->output_sha256, bo.sha, sizeof bo.sha);
out:
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
out_locked:
    label_copy_drop(&lc);
    pthread_mutex_unlock(&s->mu);
    if (rejects)
        fclose(rejects);
    fs_labels_free(&L);
    free(data);
    json_decref(cols);
    json_decref(defs);
    json_decref(oldest);
    fs_sb_free(&err);
    return rc;
}

static json_t *load_run(const char *dir, const char *id, fs_strbuf *err)
{
    for (const char *p = id; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL; /* ids are numbers: nothing else may reach the path */
    char *rdir = run_dir(dir, id), *jpath = rdir ? fs_path_join(rdir, "run.json") : NULL, *text = NULL;
    size_t len;
    json_t *run = NULL;
    if (jpath && fs_read_file(jpath, &text, &len, err) == FS_OK)
        run = json_loadb(text, len, 0, NULL);
    free(text);
    free(jpath);
    free(rdir);
    return run;
}

int fs_runs_json(fs_store *s, const char *id, char **json)
{
    if (!s || !json)
        return FS_E_INVAL;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    fs_strbuf err = {0};
    json_t *o;
    int rc = FS_OK;
    if (id) {
        o = load_run(s->dir, id, &err);
        if (!o) {
            fs_sb_reset(&err);
            fs_sb_printf(&err, "no run '%s' (see fstore runs ls)", id);
            rc = fs_store_fail(s, FS_E_NOTFOUND, fs_sb_str(&err));
        }
    } else {
        o = json_object();
        json_t *arr = json_array();
        uint64_t last = next_run_id(s->dir);
        for (uint64_t i = 1; i < last; i++) {
            char name[32];
            snprintf(name, sizeof name, "%" PRIu64, i);
            json_t *r = load_run(s->dir, name, &err);
            fs_sb_reset(&err);
            if (r) {
                json_object_del(r, "features"); /* the listing stays short */
                json_object_del(r, "definitions");
                json_array_append_new(arr, r);
            }
        }
        json_object_set_new(o, "runs", arr);
    }
    if (o) {
        *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
    }
    pthread_mutex_unlock(&s->mu);
    fs_sb_free(&err);
    return rc != FS_OK ? rc : *json ? FS_OK : FS_E_NOMEM;
}

int fs_run_rebuild(fs_store *s, const char *run_id, const char *out, fs_training_result *result)
{
    if (!s || !run_id || !out || !result)
        return FS_E_INVAL;
    char id[sizeof result->run_id]; /* run_id may point into *result */
    snprintf(id, sizeof id, "%s", run_id);
    memset(result, 0, sizeof *result);
    pthread_mutex_lock(&s->mu);
    fs_strbuf err = {0};
    json_t *run = load_run(s->dir, id, &err), *oldest = json_object();
    fs_labels L = {0};
    char *data = NULL, *rdir = NULL, *lpath = NULL;
    size_t len = 0;
    int rc = FS_OK;
    if (!run) {
        fs_sb_reset(&err);
        fs_sb_printf(&err, "no run '%s' (see fstore runs ls)", id);
        rc = FS_E_NOTFOUND;
        goto out;
    }
    json_t *cols = json_object_get(run, "features"), *lab = json_object_get(run, "labels");
    const char *lfile = json_string_value(json_object_get(lab, "file"));
    rdir = run_dir(s->dir, id);
    lpath = rdir && lfile ? fs_path_join(rdir, lfile) : NULL;
    if (!lpath || (rc = fs_read_file(lpath, &data, &len, &err)) != FS_OK) {
        rc = rc != FS_OK ? rc : FS_E_CORRUPT;
        goto out;
    }
    char h[65];
    sha_hex(data, len, h);
    if (strcmp(h, json_string_value(json_object_get(lab, "sha256"))) != 0) {
        fs_sb_printf(&err, "run %s: its copy of the labels (%s) was modified", id, lpath);
        rc = FS_E_CORRUPT;
        goto out;
    }
    const char *req[32];
    size_t nreq = required_keys(cols, req, 32);
    if ((rc = fs_labels_parse(lfile, data, len, strstr(lfile, ".jsonl") != NULL, req, nreq, NULL, &L,
                              &err)) != FS_OK)
        goto out;
    if ((rc = fs_store_engine(s, 0, 0)) != FS_OK)
        goto out_locked;
    /* Data the run read that retention has dropped since: say what, not a different file. */
    const char *table;
    json_t *t;
    json_object_foreach(json_object_get(run, "oldest_event_ts"), table, t) {
        fs_table_stats st;
        int64_t need = (int64_t)json_integer_value(t);
        if (fs_engine_table_stats(s->engine, table, &st) != FS_OK || st.rows == 0 || st.min_event_ts > need) {
            char a[FS_TIME_STRLEN], b[FS_TIME_STRLEN];
            fs_format_time(need, a, sizeof a);
            if (st.rows)
                fs_format_time(st.min_event_ts, b, sizeof b);
            fs_sb_printf(&err, "run %s cannot be rebuilt: it read rows of %s from %s, but %s%s "
                               "(dropped by retention: fstore gc)",
                         id, table, a, st.rows ? "the oldest stored now is " : "none is stored now",
                         st.rows ? b : "");
            rc = FS_E_CORRUPT;
            goto out;
        }
    }
    fs_build_result bo;
    uint64_t known = (uint64_t)json_integer_value(json_object_get(run, "known_at"));
    int jsonl_out = strcmp(json_string_value(json_object_get(run, "format")), "jsonl") == 0;
    rc = fs_trainset_build(s->engine, cols, &L, known, jsonl_out, (int)sysconf(_SC_NPROCESSORS_ONLN),
                           out, json_string_value(json_object_get(run, "output_sha256")), oldest,
                           &bo, &err);
    if (rc == FS_OK) {
        snprintf(result->run_id, sizeof result->run_id, "%s", id);
        result->rows = bo.rows;
        result->known_at = known;
        memcpy(result->output_sha256, bo.sha, sizeof bo.sha);
    }
out:
    if (rc != FS_OK)
        fs_store_fail(s, rc, fs_sb_str(&err));
out_locked:
    pthread_mutex_unlock(&s->mu);
    fs_labels_free(&L);
    free(data);
    free(rdir);
    free(lpath);
    json_decref(run);
    json_decref(oldest);
    fs_sb_free(&err);
    return rc;
}
