/* The catalog: versioned definitions in DIR/catalog.json.
 *
 * a) Versions are per definition ("kind/name"); a feature is its own
 *    definition ("feature/view:feature"), so changing one indicator's
 *    parameters bumps that feature, not every feature of its view. A view's
 *    own version changes when its attributes or its list of features change.
 * b) Two definitions are equal when their canonical JSON is byte-identical
 *    (defs_json.h); the previous canonical JSON goes into the history.
 * c) A removed definition keeps its record with "removed_at"; re-adding it
 *    continues its version numbers, so a version never names two things.
 * d) The file is replaced atomically under DIR/LOCK; apply re-reads it after
 *    taking the lock so two concurrent applies serialize cleanly. */
#include "registry/catalog.h"

#include "core/fileio.h"
#include "core/timeutil.h"
#include "registry/defs_json.h"
#include "registry/load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

static const char MARKER[] = "FSTORE";
static const char CATALOG[] = "catalog.json";
static const char LOCKFILE[] = "LOCK";

char *fs_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *def_key(fs_kind kind, const char *name)
{
    size_t n = strlen(name) + 16;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s/%s", fs_kind_name(kind), name);
    return k;
}

static json_t *now_json(void)
{
    char buf[FS_TIME_STRLEN];
    fs_format_time(fs_now_ns(), buf, sizeof buf);
    return json_string(buf);
}

/* Serializes and atomically writes the catalog document. */
static int write_catalog(const char *dir, json_t *doc, fs_strbuf *err)
{
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    char *path = fs_path_join(dir, CATALOG);
    int rc = FS_E_NOMEM;
    if (text && path) {
        size_t len = strlen(text);
        text[len] = '\n'; /* a text file ends with a newline; the NUL is not written */
        fs_fault_point("catalog-before-write");
        rc = fs_write_file_atomic(path, text, len + 1, err);
    }
    free(text);
    free(path);
    return rc;
}

/* Records version 1 of every definition of `reg` in a new "versions" map. */
typedef struct {
    const fs_registry *reg;
    json_t *versions;
    int64_t generation;
} init_ctx;

static void init_one(void *p, fs_kind kind, const char *name)
{
    init_ctx *c = p;
    char *key = def_key(kind, name);
    if (!key)
        return;
    json_t *rec = json_object();
    json_object_set_new(rec, "version", json_integer(1));
    json_object_set_new(rec, "generation", json_integer(c->generation));
    json_object_set_new(rec, "updated_at", now_json());
    json_object_set_new(rec, "history", json_array());
    json_object_set_new(c->versions, key, rec);
    free(key);
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

int fs_catalog_init(const char *dir, fs_strbuf *err)
{
    char *marker = fs_path_join(dir, MARKER);
    if (!marker)
        return FS_E_NOMEM;
    struct stat st;
    int rc = FS_OK;
    if (stat(marker, &st) == 0)
        goto out; /* already a data directory: nothing to do */
    if (stat(dir, &st) == 0 && (!S_ISDIR(st.st_mode) || !dir_is_empty(dir))) {
        fs_sb_printf(err, "%s exists and is not an fstore data directory (no %s file); "
                          "choose an empty or new directory",
                     dir, MARKER);
        rc = FS_E_NOTDIR;
        goto out;
    }
    if ((rc = fs_mkdirs(dir, err)) != FS_OK)
        goto out;

    fs_diag diag = {0};
    fs_registry *reg = fs_registry_builtin(&diag);
    if (!reg) { /* the built-ins are tested; this is a build defect */
        fs_sb_printf(err, "built-in definitions do not load: %s", fs_diag_str(&diag));
        fs_diag_free(&diag);
        rc = FS_E_INVALID_DEF;
        goto out;
    }
    fs_diag_free(&diag);
    json_t *doc = json_object();
    json_object_set_new(doc, "format", json_string("fstore-catalog"));
    json_object_set_new(doc, "format_version", json_integer(FS_CATALOG_FORMAT));
    json_object_set_new(doc, "generation", json_integer(1));
    json_object_set_new(doc, "updated_at", now_json());
    json_object_set_new(doc, "registry", fs_registry_to_json(reg));
    init_ctx c = {reg, json_object(), 1};
    fs_registry_foreach(reg, init_one, &c);
    json_object_set_new(doc, "versions", c.versions);
    json_t *applies = json_array();
    json_t *a = json_object();
    json_object_set_new(a, "generation", json_integer(1));
    json_object_set_new(a, "at", now_json());
    json_object_set_new(a, "source", json_string("init"));
    json_array_append_new(applies, a);
    json_object_set_new(doc, "applies", applies);
    fs_registry_free(reg);

    rc = write_catalog(dir, doc, err);
    json_decref(doc);
    /* The marker goes last: a directory with a marker always has a catalog. */
    if (rc == FS_OK) {
        static const char text[] = "fstore data directory\ncatalog-format 1\n";
        rc = fs_write_file_atomic(marker, text, sizeof text - 1, err);
    }
out:
    free(marker);
    return rc;
}

int fs_catalog_load(const char *dir, fs_catalog *out, fs_strbuf *err)
{
    memset(out, 0, sizeof *out);
    char *marker = fs_path_join(dir, MARKER), *path = fs_path_join(dir, CATALOG);
    char *text = NULL;
    size_t len = 0;
    int rc = FS_E_NOMEM;
    struct stat st;
    if (!marker || !path)
        goto out;
    if (stat(marker, &st) != 0) {
        fs_sb_printf(err, "%s is not an fstore data directory (run 'fstore init' or pass --dir)", dir);
        rc = FS_E_NOTDIR;
        goto out;
    }
    if ((rc = fs_read_file(path, &text, &len, err)) != FS_OK) {
        if (rc == FS_E_NOTFOUND)
            rc = FS_E_CORRUPT;
        goto out;
    }
    json_error_t je;
    out->doc = json_loadb(text, len, 0, &je);
    if (!out->doc) {
        fs_sb_printf(err, "%s:%d:%d: catalog is not valid JSON: %s", path, je.line, je.column, je.text);
        rc = FS_E_CORRUPT;
        goto out;
    }
    json_int_t fmt = json_integer_value(json_object_get(out->doc, "format_version"));
    if (fmt > FS_CATALOG_FORMAT) {
        fs_sb_printf(err, "%s has catalog format %lld; this fstore %s reads format %d or older",
                     path, (long long)fmt, FSTORE_VERSION, FS_CATALOG_FORMAT);
        rc = FS_E_VERSION;
        goto out;
    }
    json_t *reg = json_object_get(out->doc, "registry");
    if (fmt < 1 || !json_is_object(reg) || !json_is_object(json_object_get(out->doc, "versions"))) {
        fs_sb_printf(err, "%s: catalog lacks its format_version, registry or versions", path);
        rc = FS_E_CORRUPT;
        goto out;
    }
    char *regtext = json_dumps(reg, JSON_COMPACT | JSON_REAL_PRECISION(17));
    fs_diag diag = {0};
    out->reg = regtext ? fs_registry_load(path, regtext, strlen(regtext), FS_LOAD_JSON_CATALOG, &diag)
                       : NULL;
    free(regtext);
    if (!out->reg) {
        fs_sb_printf(err, "%s: stored registry does not load: %s", path, fs_diag_str(&diag));
        fs_diag_free(&diag);
        rc = FS_E_CORRUPT;
        goto out;
    }
    fs_diag_free(&diag);
    rc = FS_OK;
out:
    if (rc != FS_OK)
        fs_catalog_free(out);
    free(text);
    free(marker);
    free(path);
    return rc;
}

void fs_catalog_free(fs_catalog *c)
{
    json_decref(c->doc);
    fs_registry_free(c->reg);
    c->doc = NULL;
    c->reg = NULL;
}

json_t *fs_catalog_record(const fs_catalog *c, fs_kind kind, const char *name)
{
    char *key = def_key(kind, name);
    json_t *rec = key ? json_object_get(json_object_get(c->doc, "versions"), key) : NULL;
    free(key);
    return rec;
}

int fs_catalog_version(const fs_catalog *c, fs_kind kind, const char *name)
{
    json_t *rec = fs_catalog_record(c, kind, name);
    if (!rec || json_object_get(rec, "removed_at"))
        return 0;
    return (int)json_integer_value(json_object_get(rec, "version"));
}

int64_t fs_catalog_generation(const fs_catalog *c)
{
    return (int64_t)json_integer_value(json_object_get(c->doc, "generation"));
}

/* ---- apply ---------------------------------------------------------------- */

typedef struct {
    const fs_registry *old, *next;
    json_t *versions; /* being updated in place (a copy of the old catalog's) */
    int64_t generation;
    fs_apply_item *items;
    size_t n, cap;
    size_t count[4];
    int oom;
} diff_ctx;

static void add_item(diff_ctx *c, fs_kind kind, const char *name, fs_change change, int version)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        fs_apply_item *p = realloc(c->items, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->items = p;
        c->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        c->oom = 1;
        return;
    }
    c->items[c->n++] = (fs_apply_item){kind, change, copy, version};
    c->count[change]++;
}

static void history_push(json_t *rec, json_t *old_spec, int64_t now_gen)
{
    json_t *h = json_object();
    json_object_set(h, "version", json_object_get(rec, "version"));
    json_object_set(h, "since", json_object_get(rec, "updated_at"));
    json_object_set_new(h, "until", now_json());
    json_object_set_new(h, "until_generation", json_integer(now_gen));
    json_object_set_new(h, "spec", old_spec);
    json_t *hist = json_object_get(rec, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(rec, "history", hist);
    }
    json_array_append_new(hist, h);
}

static void diff_next(void *p, fs_kind kind, const char *name)
{
    diff_ctx *c = p;
    json_t *nj = fs_def_to_json(c->next, kind, name);
    json_t *oj = fs_def_to_json(c->old, kind, name);
    char *ns = nj ? fs_json_canonical(nj) : NULL, *os = oj ? fs_json_canonical(oj) : NULL;
    char *key = def_key(kind, name);
    if (!nj || !ns || !key) {
        c->oom = 1;
        goto out;
    }
    json_t *rec = json_object_get(c->versions, key);
    if (os && strcmp(ns, os) == 0) {
        add_item(c, kind, name, FS_CHANGE_UNCHANGED,
                 (int)json_integer_value(json_object_get(rec, "version")));
        goto out;
    }
    int version;
    fs_change change;
    if (!rec) {
        rec = json_object();
        json_object_set_new(rec, "history", json_array());
        json_object_set_new(c->versions, key, rec);
        version = 1;
        change = FS_CHANGE_ADDED;
    } else {
        version = (int)json_integer_value(json_object_get(rec, "version")) + 1;
        change = oj ? FS_CHANGE_CHANGED : FS_CHANGE_ADDED; /* re-added after a removal */
        if (oj) {
            history_push(rec, oj, c->generation);
            oj = NULL; /* now owned by the history */
        }
        json_object_del(rec, "removed_at");
    }
    json_object_set_new(rec, "version", json_integer(version));
    json_object_set_new(rec, "generation", json_integer(c->generation));
    json_object_set_new(rec, "updated_at", now_json());
    add_item(c, kind, name, change, version);
out:
    json_decref(nj);
    json_decref(oj);
    free(ns);
    free(os);
    free(key);
}

static void diff_old(void *p, fs_kind kind, const char *name)
{
    diff_ctx *c = p;
    json_t *still = fs_def_to_json(c->next, kind, name);
    if (still) {
        json_decref(still);
        return;
    }
    char *key = def_key(kind, name);
    json_t *rec = key ? json_object_get(c->versions, key) : NULL;
    if (rec) {
        history_push(rec, fs_def_to_json(c->old, kind, name), c->generation);
        json_object_set_new(rec, "removed_at", now_json());
        json_object_set_new(rec, "generation", json_integer(c->generation));
    }
    add_item(c, kind, name, FS_CHANGE_REMOVED,
             rec ? (int)json_integer_value(json_object_get(rec, "version")) : 0);
    free(key);
}

static int cmp_item(const void *a, const void *b)
{
    const fs_apply_item *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->name, y->name);
}

int fs_catalog_apply(const char *dir, fs_registry *next, const char *source_name, unsigned flags,
                     int lock_wait_ms, fs_catalog *cat, fs_apply_report **report, fs_strbuf *err)
{
    int lockfd = -1, rc;
    char *lockpath = fs_path_join(dir, LOCKFILE);
    fs_catalog cur = {0};
    diff_ctx c = {0};
    if (!lockpath) {
        rc = FS_E_NOMEM;
        goto out;
    }
    if ((rc = fs_lock(lockpath, lock_wait_ms, &lockfd, err)) != FS_OK)
        goto out;
    /* Another process may have applied since this handle was opened. */
    if ((rc = fs_catalog_load(dir, &cur, err)) != FS_OK)
        goto out;

    c.old = cur.reg;
    c.next = next;
    c.generation = fs_catalog_generation(&cur) + 1;
    c.versions = json_deep_copy(json_object_get(cur.doc, "versions"));
    fs_registry_foreach(next, diff_next, &c);
    fs_registry_foreach(cur.reg, diff_old, &c);
    if (c.oom || !c.versions) {
        rc = FS_E_NOMEM;
        goto out;
    }
    qsort(c.items, c.n, sizeof *c.items, cmp_item);

    int changed = c.count[FS_CHANGE_ADDED] + c.count[FS_CHANGE_CHANGED] + c.count[FS_CHANGE_REMOVED] > 0;
    int64_t generation = fs_catalog_generation(&cur);
    if (changed && !(flags & FS_APPLY_DRY_RUN)) {
        json_t *doc = json_deep_copy(cur.doc);
        json_object_set_new(doc, "generation", json_integer(c.generation));
        json_object_set_new(doc, "updated_at", now_json());
        json_object_set_new(doc, "registry", fs_registry_to_json(next));
        json_object_set(doc, "versions", c.versions);
        json_t *a = json_object();
        json_object_set_new(a, "generation", json_integer(c.generation));
        json_object_set_new(a, "at", now_json());
        json_object_set_new(a, "source", json_string(source_name));
        json_object_set_new(a, "added", json_integer((json_int_t)c.count[FS_CHANGE_ADDED]));
        json_object_set_new(a, "changed", json_integer((json_int_t)c.count[FS_CHANGE_CHANGED]));
        json_object_set_new(a, "removed", json_integer((json_int_t)c.count[FS_CHANGE_REMOVED]));
        json_t *applies = json_object_get(doc, "applies");
        if (!json_is_array(applies)) {
            applies = json_array();
            json_object_set_new(doc, "applies", applies);
        }
        json_array_append_new(applies, a);
        rc = write_catalog(dir, doc, err);
        if (rc != FS_OK) {
            json_decref(doc);
            goto out;
        }
        generation = c.generation;
        /* Adopt the new state: the registry we validated and the doc we wrote. */
        fs_catalog_free(cat);
        cat->doc = doc;
        cat->reg = next;
        next = NULL;
    } else {
        fs_catalog_free(cat); /* what is on disk now is the freshest view */
        *cat = cur;
        cur = (fs_catalog){0};
    }
    if (report) {
        fs_apply_report *r = calloc(1, sizeof *r);
        if (!r) {
            rc = FS_E_NOMEM;
            goto out;
        }
        memcpy(r->count, c.count, sizeof r->count);
        r->items = c.items;
        r->n_items = c.n;
        r->generation = generation;
        c.items = NULL;
        c.n = 0;
        *report = r;
    }
    rc = FS_OK;
out:
    for (size_t i = 0; i < c.n; i++)
        free((char *)c.items[i].name);
    free(c.items);
    json_decref(c.versions);
    fs_catalog_free(&cur);
    fs_registry_free(next);
    fs_unlock(lockfd);
    free(lockpath);
    return rc;
}
