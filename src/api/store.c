/* The public API's store handle: opening a data directory, applying
 * definitions, listing and describing them (fstore.h is the manual).
 *
 * The handle keeps the catalog it loaded; registry calls on one handle are
 * serialized by its mutex, and every failure leaves its detail in `errmsg`. */
#include "fstore.h"

#include "compute/expr.h"
#include "compute/indicator_spec.h"
#include "core/fileio.h"
#include "core/strbuf.h"
#include "registry/catalog.h"
#include "registry/defs_json.h"
#include "registry/load.h"
#include "api/store_internal.h"
#include "core/timeutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int fs_store_fail(fs_store *s, int rc, const char *msg)
{
    fs_sb_reset(&s->errmsg);
    fs_sb_puts(&s->errmsg, msg && *msg ? msg : fs_strerror(rc));
    return rc;
}

static char *take_detail(fs_strbuf *err, int rc)
{
    if (!err->len)
        fs_sb_puts(err, fs_strerror(rc));
    return fs_sb_take(err);
}

int fs_init(const char *dir, char **detail)
{
    if (detail)
        *detail = NULL;
    if (!dir || !*dir)
        return FS_E_INVAL;
    fs_strbuf err = {0};
    int rc = fs_catalog_init(dir, &err);
    if (rc != FS_OK && detail)
        *detail = take_detail(&err, rc);
    fs_sb_free(&err);
    return rc;
}

int fs_open(const char *dir, fs_store **out, char **detail)
{
    if (out)
        *out = NULL;
    if (detail)
        *detail = NULL;
    if (!dir || !*dir || !out)
        return FS_E_INVAL;
    fs_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return FS_E_NOMEM;
    }
    fs_strbuf err = {0};
    int rc = fs_catalog_load(dir, &s->cat, &err);
    if (rc != FS_OK) {
        if (detail)
            *detail = take_detail(&err, rc);
        fs_sb_free(&err);
        free(s->dir);
        free(s);
        return rc;
    }
    fs_sb_free(&err);
    pthread_mutex_init(&s->mu, NULL);
    s->writer_lock_fd = -1;
    *out = s;
    return FS_OK;
}

void fs_close(fs_store *s)
{
    if (!s)
        return;
    fs_engine_close(s->engine, NULL);
    fs_unlock(s->writer_lock_fd);
    fs_catalog_free(&s->cat);
    fs_sb_free(&s->errmsg);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

const char *fs_errmsg(const fs_store *s) { return s ? fs_sb_str(&s->errmsg) : ""; }
const char *fs_dir(const fs_store *s) { return s ? s->dir : NULL; }

/* ---- apply ---------------------------------------------------------------- */

int fs_apply_text(fs_store *s, const char *name, const char *text, size_t len, unsigned flags,
                  int lock_wait_ms, fs_apply_report **out)
{
    if (out)
        *out = NULL;
    if (!s || !name || (!text && len))
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    fs_diag diag = {0};
    int rc;
    fs_registry *next = fs_registry_load(name, text ? text : "", len, FS_LOAD_YAML_USER, &diag);
    if (!next) {
        /* Text that is not well-formed YAML is a parse error; anything else
         * is a problem with the definitions. */
        rc = diag.parse_errors ? FS_E_PARSE : FS_E_INVALID_DEF;
        fs_store_fail(s, rc, fs_diag_str(&diag));
        /* The detail is one line per error; drop the trailing newline. */
        if (s->errmsg.len && s->errmsg.buf[s->errmsg.len - 1] == '\n')
            s->errmsg.buf[--s->errmsg.len] = 0;
    } else {
        fs_strbuf err = {0};
        rc = fs_catalog_apply(s->dir, next, name, flags, lock_wait_ms, &s->cat, out, &err);
        if (rc != FS_OK)
            fs_store_fail(s, rc, fs_sb_str(&err));
        fs_sb_free(&err);
    }
    fs_diag_free(&diag);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int fs_apply_file(fs_store *s, const char *path, unsigned flags, int lock_wait_ms,
                  fs_apply_report **out)
{
    if (out)
        *out = NULL;
    if (!s || !path)
        return FS_E_INVAL;
    char *text = NULL;
    size_t len = 0;
    fs_strbuf err = {0};
    int rc = fs_read_file(path, &text, &len, &err);
    if (rc != FS_OK) {
        pthread_mutex_lock(&s->mu);
        fs_store_fail(s, rc, fs_sb_str(&err));
        pthread_mutex_unlock(&s->mu);
        fs_sb_free(&err);
        return rc;
    }
    fs_sb_free(&err);
    rc = fs_apply_text(s, path, text, len, flags, lock_wait_ms, out);
    free(text);
    return rc;
}

void fs_apply_report_free(fs_apply_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_items; i++)
        free((char *)r->items[i].name);
    free(r->items);
    free(r);
}

/* ---- listing -------------------------------------------------------------- */

static int has_tag(fs_strlist tags, const char *tag)
{
    for (size_t i = 0; i < tags.n; i++)
        if (strcmp(tags.items[i], tag) == 0)
            return 1;
    return 0;
}

typedef struct {
    fs_store *s;
    const fs_list_filter *f;
    fs_def_info *rows;
    size_t n, cap;
    fs_strbuf strings; /* all strings, offsets patched into pointers at the end */
    int oom;
} list_ctx;

/* The fields a listing shows for one definition; `vec` holds a vector type's
 * name (no static buffer: handles may list from several threads at once). */
static void def_summary(const fs_registry *r, fs_kind kind, const char *name, const char **category,
                        const char **type, const char **description, fs_strlist *tags,
                        char vec[32])
{
    *category = *type = *description = "";
    *tags = (fs_strlist){NULL, 0};
    switch (kind) {
    case FS_KIND_ENTITY: {
        const fs_entity_def *d = fs_reg_entity(r, name);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        *type = d->builtin ? "built-in" : "";
        break;
    }
    case FS_KIND_SOURCE: {
        const fs_source_def *d = fs_reg_source(r, name);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        *type = d->builtin ? "built-in" : "";
        break;
    }
    case FS_KIND_VIEW: {
        const fs_view_def *d = fs_reg_view(r, name);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        *type = d->online ? "online" : "offline";
        break;
    }
    case FS_KIND_FEATURE: {
        const fs_view_def *v;
        const fs_feature_def *d = fs_reg_feature(r, name, &v);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        *category = d->category ? d->category : "";
        if (d->type == FS_FT_VECTOR) {
            snprintf(vec, 32, "vector[%d]", d->vector_len);
            *type = vec;
        } else {
            *type = fs_feature_type_name(d->type);
        }
        if (!tags->n)
            *tags = v->tags; /* a feature carries its view's tags unless it has its own */
        break;
    }
    case FS_KIND_SERVICE: {
        const fs_service_def *d = fs_reg_service(r, name);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        break;
    }
    case FS_KIND_CONTRACT: {
        const fs_contract_def *d = fs_reg_contract(r, name);
        *description = d->description ? d->description : "";
        *tags = d->tags;
        break;
    }
    default: break;
    }
}

static void list_one(void *p, fs_kind kind, const char *name)
{
    list_ctx *c = p;
    const fs_list_filter *f = c->f;
    const char *category, *type, *description;
    fs_strlist tags;
    char vec[32];
    if (f && f->kind >= 0 && (int)kind != f->kind)
        return;
    def_summary(c->s->cat.reg, kind, name, &category, &type, &description, &tags, vec);
    if (f && f->category && (kind != FS_KIND_FEATURE || strcmp(category, f->category) != 0))
        return;
    if (f && f->tag && !has_tag(tags, f->tag))
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        fs_def_info *rows = realloc(c->rows, cap * sizeof *rows);
        if (!rows) {
            c->oom = 1;
            return;
        }
        c->rows = rows;
        c->cap = cap;
    }
    /* Strings are stored as offsets + 1 into `strings` until the end. */
    fs_def_info *row = &c->rows[c->n++];
    row->kind = kind;
    row->version = fs_catalog_version(&c->s->cat, kind, name);
    const char *fields[4] = {name, category, type, description};
    const char **slots[4] = {&row->name, &row->category, &row->type, &row->description};
    for (int i = 0; i < 4; i++) {
        *slots[i] = (const char *)(uintptr_t)(c->strings.len + 1);
        fs_sb_append(&c->strings, fields[i], strlen(fields[i]) + 1);
    }
}

int fs_list(fs_store *s, const fs_list_filter *filter, fs_def_info **out, size_t *n)
{
    if (!s || !out || !n)
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    list_ctx c = {s, filter, NULL, 0, 0, {0}, 0};
    fs_registry_foreach(s->cat.reg, list_one, &c);
    int rc = FS_OK;
    if (c.oom || c.strings.oom) {
        rc = fs_store_fail(s, FS_E_NOMEM, NULL);
        goto out;
    }
    /* One allocation: the rows, then the strings they point into. */
    size_t rows_size = c.n * sizeof *c.rows;
    char *block = malloc(rows_size + c.strings.len + 1);
    if (!block) {
        rc = fs_store_fail(s, FS_E_NOMEM, NULL);
        goto out;
    }
    fs_def_info *rows = (fs_def_info *)(void *)block;
    char *strings = block + rows_size;
    if (c.strings.len)
        memcpy(strings, c.strings.buf, c.strings.len);
    for (size_t i = 0; i < c.n; i++) {
        rows[i] = c.rows[i];
        rows[i].name = strings + ((uintptr_t)c.rows[i].name - 1);
        rows[i].category = strings + ((uintptr_t)c.rows[i].category - 1);
        rows[i].type = strings + ((uintptr_t)c.rows[i].type - 1);
        rows[i].description = strings + ((uintptr_t)c.rows[i].description - 1);
    }
    *out = rows;
    *n = c.n;
out:
    free(c.rows);
    fs_sb_free(&c.strings);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- describe and lineage -------------------------------------------------- */

static void push_ref(json_t *arr, const char *kind, const char *name, const char *how)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "name", json_string(name));
    if (how)
        json_object_set_new(o, "via", json_string(how));
    json_array_append_new(arr, o);
}

/* Features and columns an expression reads; `qualified` of a feature is
 * "view:feature", of a column "source.column". */
typedef void (*ref_fn)(void *ctx, int is_feature, const char *qualified);

static void expr_refs(const fs_registry *r, const fs_view_def *v, const fs_feature_def *f, ref_fn fn,
                      void *ctx)
{
    fs_expr *e = NULL;
    fs_expr_error err;
    if (fs_expr_parse(f->expr, &e, &err) != FS_OK)
        return;
    for (size_t i = 0; i < fs_expr_ref_count(e); i++) {
        const char *ref = fs_expr_ref_name(e, i);
        char q[256];
        const char *dot = strchr(ref, '.');
        if (dot) {
            snprintf(q, sizeof q, "%.*s:%s", (int)(dot - ref), ref, dot + 1);
            fn(ctx, 1, q);
        } else if (fs_view_feature(v, ref)) {
            snprintf(q, sizeof q, "%s:%s", v->name, ref);
            fn(ctx, 1, q);
        } else {
            snprintf(q, sizeof q, "%s.%s", v->source, ref);
            fn(ctx, 0, q);
        }
    }
    fs_expr_free(e);
    (void)r;
}

static void upstream_ref(void *ctx, int is_feature, const char *q)
{
    push_ref(ctx, is_feature ? "feature" : "column", q, "expr");
}

static void feature_upstream(const fs_registry *r, const fs_view_def *v, const fs_feature_def *f,
                             json_t *up)
{
    char q[256];
    switch (f->how) {
    case FS_PROD_FROM:
        snprintf(q, sizeof q, "%s.%s", v->source, f->from);
        push_ref(up, "column", q, "from");
        break;
    case FS_PROD_INDICATOR: {
        const fs_indicator_spec *spec = fs_indicator_find(f->indicator);
        for (int k = 0; spec && k < spec->n_inputs; k++) {
            snprintf(q, sizeof q, "%s.%s", v->source, fs_feature_input_column(f, spec, k));
            push_ref(up, "column", q, spec->inputs[k].role);
        }
        break;
    }
    case FS_PROD_EXPR: expr_refs(r, v, f, upstream_ref, up); break;
    }
    push_ref(up, "source", v->source, NULL);
}

typedef struct {
    const char *target; /* "view:feature" or, for a view, "view:" prefix */
    int is_view;
    int hit;
} match_ctx;

static void match_ref(void *ctx, int is_feature, const char *q)
{
    match_ctx *m = ctx;
    if (!is_feature)
        return;
    if (m->is_view ? strncmp(q, m->target, strlen(m->target)) == 0 : strcmp(q, m->target) == 0)
        m->hit = 1;
}

/* Definitions that read `name` (a feature "view:feature", or a whole view). */
static void downstream(const fs_registry *r, const char *name, int is_view, json_t *down)
{
    char target[256];
    snprintf(target, sizeof target, is_view ? "%s:" : "%s", name);
    size_t vlen = is_view ? strlen(name) : (size_t)(strchr(name, ':') - name);
    for (size_t i = 0; i < r->n_views; i++) {
        const fs_view_def *v = &r->views[i];
        for (size_t k = 0; k < v->n_features; k++) {
            const fs_feature_def *f = &v->features[k];
            if (f->how != FS_PROD_EXPR)
                continue;
            match_ctx m = {target, is_view, 0};
            expr_refs(r, v, f, match_ref, &m);
            char q[256];
            snprintf(q, sizeof q, "%s:%s", v->name, f->name);
            if (m.hit && strcmp(q, name) != 0 && !(is_view && strcmp(v->name, name) == 0))
                push_ref(down, "feature", q, "expr");
        }
    }
    for (size_t i = 0; i < r->n_services; i++) {
        const fs_service_def *s = &r->services[i];
        for (size_t k = 0; k < s->features.n; k++) {
            const char *it = s->features.items[k];
            int hit = is_view ? strncmp(it, name, vlen) == 0 && (it[vlen] == ':' || !it[vlen])
                              : strcmp(it, name) == 0 ||
                                    (strlen(it) == vlen && strncmp(it, name, vlen) == 0);
            if (hit) {
                push_ref(down, "service", s->name, NULL);
                break;
            }
        }
    }
    for (size_t i = 0; i < r->n_contracts; i++) {
        const fs_contract_def *c = &r->contracts[i];
        for (size_t k = 0; k < c->n_expect; k++) {
            const char *it = c->expect[k].feature;
            if (it && (is_view ? strncmp(it, target, strlen(target)) == 0 : strcmp(it, name) == 0)) {
                push_ref(down, "contract", c->name, NULL);
                break;
            }
        }
    }
}

static void lineage(const fs_registry *r, fs_kind kind, const char *name, json_t *up, json_t *down)
{
    switch (kind) {
    case FS_KIND_ENTITY:
        for (size_t i = 0; i < r->n_sources; i++)
            if (r->sources[i].entity && strcmp(r->sources[i].entity, name) == 0)
                push_ref(down, "source", r->sources[i].name, NULL);
        for (size_t i = 0; i < r->n_views; i++)
            if (r->views[i].entity && strcmp(r->views[i].entity, name) == 0)
                push_ref(down, "view", r->views[i].name, NULL);
        break;
    case FS_KIND_SOURCE: {
        const fs_source_def *s = fs_reg_source(r, name);
        push_ref(up, "entity", s->entity, NULL);
        for (size_t i = 0; i < r->n_views; i++)
            if (r->views[i].source && strcmp(r->views[i].source, name) == 0)
                push_ref(down, "view", r->views[i].name, NULL);
        break;
    }
    case FS_KIND_VIEW: {
        const fs_view_def *v = fs_reg_view(r, name);
        push_ref(up, "entity", v->entity, NULL);
        push_ref(up, "source", v->source, NULL);
        downstream(r, name, 1, down);
        break;
    }
    case FS_KIND_FEATURE: {
        const fs_view_def *v;
        const fs_feature_def *f = fs_reg_feature(r, name, &v);
        feature_upstream(r, v, f, up);
        downstream(r, name, 0, down);
        break;
    }
    case FS_KIND_SERVICE: {
        const fs_service_def *s = fs_reg_service(r, name);
        for (size_t k = 0; k < s->features.n; k++)
            push_ref(up, strchr(s->features.items[k], ':') ? "feature" : "view", s->features.items[k], NULL);
        break;
    }
    case FS_KIND_CONTRACT: {
        const fs_contract_def *c = fs_reg_contract(r, name);
        for (size_t k = 0; k < c->n_expect; k++)
            if (c->expect[k].feature)
                push_ref(up, "feature", c->expect[k].feature, NULL);
        break;
    }
    default: break;
    }
}

int fs_describe(fs_store *s, const char *name, char **json)
{
    if (json)
        *json = NULL;
    if (!s || !name || !json)
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    const fs_registry *r = s->cat.reg;
    int want = -1;
    const char *slash = strchr(name, '/');
    if (slash) { /* "KIND/NAME" */
        char kind[32];
        snprintf(kind, sizeof kind, "%.*s", (int)(slash - name), name);
        want = fs_kind_parse(kind);
        if (want >= 0)
            name = slash + 1;
    }
    fs_kind found[FS_KIND_COUNT];
    int n_found = 0;
    for (int k = 0; k < FS_KIND_COUNT; k++) {
        if (want >= 0 && k != want)
            continue;
        if ((k == FS_KIND_FEATURE) != (strchr(name, ':') != NULL))
            continue;
        json_t *j = fs_def_to_json(r, (fs_kind)k, name);
        if (j)
            found[n_found++] = (fs_kind)k;
        json_decref(j);
    }
    int rc = FS_OK;
    if (n_found == 0) {
        fs_strbuf m = {0};
        fs_sb_printf(&m, "no definition named '%s'", name);
        rc = fs_store_fail(s, FS_E_NOTFOUND, fs_sb_str(&m));
        fs_sb_free(&m);
        goto out;
    }
    if (n_found > 1) {
        fs_strbuf m = {0};
        fs_sb_printf(&m, "'%s' names several definitions:", name);
        for (int i = 0; i < n_found; i++)
            fs_sb_printf(&m, " %s/%s", fs_kind_name(found[i]), name);
        fs_sb_puts(&m, "; say which with KIND/NAME");
        rc = fs_store_fail(s, FS_E_AMBIGUOUS, fs_sb_str(&m));
        fs_sb_free(&m);
        goto out;
    }
    fs_kind kind = found[0];
    json_t *o = json_object(), *up = json_array(), *down = json_array();
    json_object_set_new(o, "kind", json_string(fs_kind_name(kind)));
    json_object_set_new(o, "name", json_string(name));
    json_t *rec = fs_catalog_record(&s->cat, kind, name);
    json_object_set_new(o, "version", json_integer(fs_catalog_version(&s->cat, kind, name)));
    if (rec) {
        json_object_set(o, "updated_at", json_object_get(rec, "updated_at"));
        json_object_set(o, "history", json_object_get(rec, "history"));
    }
    json_object_set_new(o, "builtin", json_boolean(fs_is_builtin(kind, name)));
    json_object_set_new(o, "definition", fs_def_to_json(r, kind, name));
    lineage(r, kind, name, up, down);
    json_object_set_new(o, "depends_on", up);
    json_object_set_new(o, "used_by", down);
    if (kind == FS_KIND_VIEW || kind == FS_KIND_FEATURE) {
        const fs_view_def *v = NULL;
        const fs_feature_def *f = kind == FS_KIND_FEATURE ? fs_reg_feature(r, name, &v) : NULL;
        if (kind == FS_KIND_VIEW)
            v = fs_reg_view(r, name);
        if (v && (!f || f->how != FS_PROD_FROM))
            json_object_set_new(o, "computation", fs_compute_status_json(s, v));
    }
    if (kind == FS_KIND_SOURCE && fs_store_engine(s, 0, 0) == FS_OK) {
        fs_table_stats ts;
        fs_table_storage sto;
        json_t *so = json_object();
        char buf[64];
        if (fs_engine_table_stats(s->engine, name, &ts) == FS_OK) {
            json_object_set_new(so, "rows", json_integer((json_int_t)ts.rows));
            json_object_set_new(so, "entities", json_integer((json_int_t)ts.entities));
            fs_format_time(ts.min_event_ts, buf, sizeof buf);
            json_object_set_new(so, "oldest_event_ts", json_string(buf));
            fs_format_time(ts.max_event_ts, buf, sizeof buf);
            json_object_set_new(so, "newest_event_ts", json_string(buf));
        } else {
            json_object_set_new(so, "rows", json_integer(0));
        }
        fs_engine_table_storage(s->engine, name, &sto);
        json_object_set_new(so, "chunks", json_integer((json_int_t)sto.chunks));
        json_object_set_new(so, "rows_in_chunks", json_integer((json_int_t)sto.rows));
        json_object_set_new(so, "bytes_on_disk", json_integer((json_int_t)sto.file_bytes));
        json_object_set_new(so, "compression_ratio",
                            sto.file_bytes ? json_real((double)sto.raw_bytes / (double)sto.file_bytes)
                                           : json_null());
        json_object_set_new(o, "storage", so);
    }
    *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!*json)
        rc = fs_store_fail(s, FS_E_NOMEM, NULL);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int fs_registry_json(fs_store *s, char **json)
{
    if (json)
        *json = NULL;
    if (!s || !json)
        return FS_E_INVAL;
    pthread_mutex_lock(&s->mu);
    json_t *doc = fs_registry_to_json(s->cat.reg);
    json_object_set_new(doc, "generation", json_integer(fs_catalog_generation(&s->cat)));
    *json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(doc);
    int rc = *json ? FS_OK : fs_store_fail(s, FS_E_NOMEM, NULL);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
