/* Canonical JSON of definitions (see defs_json.h for why one form). */
#include "registry/defs_json.h"

#include "compute/indicator_spec.h"
#include "core/timeutil.h"

#include <stdlib.h>
#include <string.h>

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

static void set_num(json_t *o, const char *key, fs_opt_num v)
{
    if (v.set)
        json_object_set_new(o, key, json_real(v.v));
}

static void set_duration(json_t *o, const char *key, int64_t ns)
{
    char buf[64];
    fs_format_duration(ns, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
}

static void set_list(json_t *o, const char *key, fs_strlist l)
{
    if (!l.n)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(a, json_string(l.items[i]));
    json_object_set_new(o, key, a);
}

static json_t *entity_json(const fs_entity_def *e)
{
    json_t *o = json_object();
    set_str(o, "name", e->name);
    set_list(o, "join_keys", e->join_keys);
    set_str(o, "description", e->description);
    set_list(o, "tags", e->tags);
    return o;
}

static json_t *source_json(const fs_source_def *s)
{
    json_t *o = json_object();
    set_str(o, "name", s->name);
    set_str(o, "entity", s->entity);
    set_str(o, "timestamp", s->timestamp);
    if (*s->available_after)
        set_str(o, "available_after", s->available_after);
    if (s->confidence)
        set_str(o, "confidence", s->confidence);
    set_duration(o, "chunk_interval", s->chunk_interval_ns);
    set_duration(o, "retention", s->retention_ns);
    set_duration(o, "compress_after", s->compress_after_ns);
    set_str(o, "description", s->description);
    set_str(o, "owner", s->owner);
    set_list(o, "tags", s->tags);
    json_t *cols = json_array();
    for (size_t i = 0; i < s->n_columns; i++) {
        const fs_column_def *c = &s->columns[i];
        json_t *co = json_object();
        set_str(co, "name", c->name);
        set_str(co, "type", fs_col_type_name(c->type));
        if (c->nullable)
            json_object_set_new(co, "nullable", json_true());
        set_num(co, "min", c->min);
        set_num(co, "max", c->max);
        set_str(co, "unit", c->unit);
        set_str(co, "description", c->description);
        json_array_append_new(cols, co);
    }
    json_object_set_new(o, "columns", cols);
    return o;
}

/* An indicator in full: every parameter (defaults filled in), the output
 * only when there is a choice, and every input role with its column, so that
 * writing a default explicitly is not a different definition. */
static void indicator_json(json_t *o, const fs_feature_def *f)
{
    set_str(o, "indicator", f->indicator);
    const fs_indicator_spec *spec = fs_indicator_find(f->indicator);
    if (!spec) { /* not valid: the loader reported it; keep what was written */
        json_t *p = json_object();
        for (size_t i = 0; i < f->n_params; i++)
            json_object_set_new(p, f->params[i].key, json_string(f->params[i].value));
        json_object_set_new(o, "params", p);
        set_str(o, "output", f->output);
        return;
    }
    json_t *p = json_object();
    for (int k = 0; k < spec->n_params; k++) {
        const fs_indicator_param *ps = &spec->params[k];
        const char *given = NULL;
        for (size_t i = 0; i < f->n_params; i++)
            if (strcmp(f->params[i].key, ps->name) == 0)
                given = f->params[i].value;
        double v = ps->def;
        char msg[8];
        if (ps->type == FS_PARAM_STRING) {
            if (given)
                json_object_set_new(p, ps->name, json_string(given));
            continue;
        }
        if (given && fs_indicator_parse_param(spec, k, given, &v, msg, sizeof msg) != 0) {
            json_object_set_new(p, ps->name, json_string(given));
            continue;
        }
        if (v != v)
            continue; /* a required parameter that is missing: reported by the loader */
        json_object_set_new(p, ps->name,
                            ps->type == FS_PARAM_INT ? json_integer((json_int_t)v) : json_real(v));
    }
    if (json_object_size(p))
        json_object_set_new(o, "params", p);
    else
        json_decref(p);
    if (spec->n_outputs > 1)
        set_str(o, "output", f->output);
    json_t *in = json_object();
    for (int k = 0; k < spec->n_inputs; k++)
        json_object_set_new(in, spec->inputs[k].role, json_string(fs_feature_input_column(f, spec, k)));
    json_object_set_new(o, "inputs", in);
}

static json_t *feature_json(const fs_feature_def *f)
{
    json_t *o = json_object();
    set_str(o, "name", f->name);
    if (f->type == FS_FT_VECTOR) {
        char t[32];
        snprintf(t, sizeof t, "vector[%d]", f->vector_len);
        set_str(o, "type", t);
    } else {
        set_str(o, "type", fs_feature_type_name(f->type));
    }
    set_str(o, "category", f->category);
    set_str(o, "unit", f->unit);
    set_num(o, "min", f->min);
    set_num(o, "max", f->max);
    set_str(o, "description", f->description);
    set_str(o, "owner", f->owner);
    set_list(o, "tags", f->tags);
    switch (f->how) {
    case FS_PROD_FROM: set_str(o, "from", f->from); break;
    case FS_PROD_INDICATOR: indicator_json(o, f); break;
    case FS_PROD_EXPR: set_str(o, "expr", f->expr); break;
    }
    return o;
}

static json_t *view_json(const fs_view_def *v, int inline_features)
{
    json_t *o = json_object();
    set_str(o, "name", v->name);
    set_str(o, "entity", v->entity);
    set_str(o, "source", v->source);
    set_duration(o, "ttl", v->ttl_ns);
    json_object_set_new(o, "online", json_boolean(v->online));
    set_str(o, "owner", v->owner);
    set_str(o, "description", v->description);
    set_list(o, "tags", v->tags);
    json_t *fl = json_array();
    for (size_t i = 0; i < v->n_features; i++)
        json_array_append_new(fl, inline_features ? feature_json(&v->features[i])
                                                  : json_string(v->features[i].name));
    json_object_set_new(o, "features", fl);
    return o;
}

static json_t *service_json(const fs_service_def *s)
{
    json_t *o = json_object();
    set_str(o, "name", s->name);
    set_str(o, "description", s->description);
    set_str(o, "owner", s->owner);
    set_list(o, "features", s->features);
    set_list(o, "tags", s->tags);
    return o;
}

static json_t *contract_json(const fs_contract_def *c)
{
    json_t *o = json_object();
    set_str(o, "name", c->name);
    set_str(o, "description", c->description);
    set_str(o, "owner", c->owner);
    set_list(o, "tags", c->tags);
    json_t *fl = json_array();
    for (size_t i = 0; i < c->n_expect; i++) {
        const fs_expectation *x = &c->expect[i];
        json_t *xo = json_object();
        set_str(xo, "feature", x->feature);
        set_str(xo, "type", x->type);
        set_num(xo, "min", x->min);
        set_num(xo, "max", x->max);
        set_num(xo, "max_null_ratio", x->max_null_ratio);
        if (x->max_staleness_ns)
            set_duration(xo, "max_staleness", x->max_staleness_ns);
        json_array_append_new(fl, xo);
    }
    json_object_set_new(o, "features", fl);
    return o;
}

json_t *fs_registry_to_json(const fs_registry *r)
{
    json_t *doc = json_object(), *a;
    a = json_array();
    for (size_t i = 0; i < r->n_entities; i++)
        json_array_append_new(a, entity_json(&r->entities[i]));
    json_object_set_new(doc, "entities", a);
    a = json_array();
    for (size_t i = 0; i < r->n_sources; i++)
        json_array_append_new(a, source_json(&r->sources[i]));
    json_object_set_new(doc, "sources", a);
    a = json_array();
    for (size_t i = 0; i < r->n_views; i++)
        json_array_append_new(a, view_json(&r->views[i], 1));
    json_object_set_new(doc, "views", a);
    a = json_array();
    for (size_t i = 0; i < r->n_services; i++)
        json_array_append_new(a, service_json(&r->services[i]));
    json_object_set_new(doc, "services", a);
    a = json_array();
    for (size_t i = 0; i < r->n_contracts; i++)
        json_array_append_new(a, contract_json(&r->contracts[i]));
    json_object_set_new(doc, "contracts", a);
    return doc;
}

json_t *fs_def_to_json(const fs_registry *r, fs_kind kind, const char *name)
{
    switch (kind) {
    case FS_KIND_ENTITY: {
        const fs_entity_def *d = fs_reg_entity(r, name);
        return d ? entity_json(d) : NULL;
    }
    case FS_KIND_SOURCE: {
        const fs_source_def *d = fs_reg_source(r, name);
        return d ? source_json(d) : NULL;
    }
    case FS_KIND_VIEW: {
        const fs_view_def *d = fs_reg_view(r, name);
        return d ? view_json(d, 0) : NULL;
    }
    case FS_KIND_FEATURE: {
        const fs_feature_def *d = fs_reg_feature(r, name, NULL);
        return d ? feature_json(d) : NULL;
    }
    case FS_KIND_SERVICE: {
        const fs_service_def *d = fs_reg_service(r, name);
        return d ? service_json(d) : NULL;
    }
    case FS_KIND_CONTRACT: {
        const fs_contract_def *d = fs_reg_contract(r, name);
        return d ? contract_json(d) : NULL;
    }
    default: return NULL;
    }
}

typedef struct {
    fs_kind kind;
    char *name;
} def_ref;

static int cmp_ref(const void *a, const void *b)
{
    const def_ref *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->name, y->name);
}

void fs_registry_foreach(const fs_registry *r, void (*fn)(void *ctx, fs_kind kind, const char *name),
                         void *ctx)
{
    size_t n = r->n_entities + r->n_sources + r->n_views + r->n_services + r->n_contracts;
    for (size_t i = 0; i < r->n_views; i++)
        n += r->views[i].n_features;
    def_ref *refs = calloc(n ? n : 1, sizeof *refs);
    if (!refs)
        return;
    size_t k = 0;
#define ADD(kind_, arr, cnt)                                                                      \
    for (size_t i = 0; i < (cnt); i++)                                                            \
        refs[k++] = (def_ref){(kind_), strdup((arr)[i].name)};
    ADD(FS_KIND_ENTITY, r->entities, r->n_entities)
    ADD(FS_KIND_SOURCE, r->sources, r->n_sources)
    ADD(FS_KIND_VIEW, r->views, r->n_views)
    ADD(FS_KIND_SERVICE, r->services, r->n_services)
    ADD(FS_KIND_CONTRACT, r->contracts, r->n_contracts)
#undef ADD
    for (size_t i = 0; i < r->n_views; i++)
        for (size_t j = 0; j < r->views[i].n_features; j++) {
            size_t len = strlen(r->views[i].name) + strlen(r->views[i].features[j].name) + 2;
            char *s = malloc(len);
            if (s)
                snprintf(s, len, "%s:%s", r->views[i].name, r->views[i].features[j].name);
            refs[k++] = (def_ref){FS_KIND_FEATURE, s};
        }
    size_t ok = 0;
    for (size_t i = 0; i < k; i++)
        if (refs[i].name)
            refs[ok++] = refs[i];
    qsort(refs, ok, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < ok; i++) {
        fn(ctx, refs[i].kind, refs[i].name);
        free(refs[i].name);
    }
    free(refs);
}

char *fs_json_canonical(const json_t *j)
{
    return json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
}
