/* Registry lookups, enum names and release. */
#include "registry/defs.h"

#include "fstore.h"

#include <stdlib.h>
#include <string.h>

#include "compute/indicator_spec.h"

static const char *const col_type_names[FS_COL_TYPE_COUNT] = {
    "int64", "float64", "string", "bool", "timestamp", "json",
};

const char *fs_col_type_name(fs_col_type t)
{
    return (unsigned)t < FS_COL_TYPE_COUNT ? col_type_names[t] : "?";
}

int fs_col_type_parse(const char *s)
{
    static const struct {
        const char *alias;
        fs_col_type t;
    } aliases[] = {
        {"int", FS_COL_INT64},      {"integer", FS_COL_INT64}, {"float", FS_COL_FLOAT64},
        {"double", FS_COL_FLOAT64}, {"text", FS_COL_STRING},   {"boolean", FS_COL_BOOL},
    };
    for (int t = 0; t < FS_COL_TYPE_COUNT; t++)
        if (strcmp(s, col_type_names[t]) == 0)
            return t;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(s, aliases[i].alias) == 0)
            return (int)aliases[i].t;
    return -1;
}

static const char *const feature_type_names[FS_FT_TYPE_COUNT] = {
    "numeric", "categorical", "boolean", "timestamp", "vector",
};

const char *fs_feature_type_name(fs_feature_type t)
{
    return (unsigned)t < FS_FT_TYPE_COUNT ? feature_type_names[t] : "?";
}

/* The categories of the system fstore replaces; a closed list so that
 * `fstore ls --category` finds everything of a kind. */
const char *const fs_feature_categories[] = {
    "market",    "liquidity", "orderflow", "derivatives", "sentiment",
    "onchain",   "technical", "quality",   "scoring",
};
const size_t fs_n_feature_categories = sizeof fs_feature_categories / sizeof fs_feature_categories[0];

#define FIND(arr, n, key)                                                                         \
    for (size_t i_ = 0; i_ < (n); i_++)                                                           \
        if (strcmp((arr)[i_].name, (key)) == 0)                                                   \
            return &(arr)[i_];                                                                    \
    return NULL

const fs_entity_def *fs_reg_entity(const fs_registry *r, const char *name) { FIND(r->entities, r->n_entities, name); }
const fs_source_def *fs_reg_source(const fs_registry *r, const char *name) { FIND(r->sources, r->n_sources, name); }
const fs_view_def *fs_reg_view(const fs_registry *r, const char *name) { FIND(r->views, r->n_views, name); }
const fs_service_def *fs_reg_service(const fs_registry *r, const char *name) { FIND(r->services, r->n_services, name); }
const fs_contract_def *fs_reg_contract(const fs_registry *r, const char *name) { FIND(r->contracts, r->n_contracts, name); }
const fs_column_def *fs_source_column(const fs_source_def *s, const char *name) { FIND(s->columns, s->n_columns, name); }
const fs_feature_def *fs_view_feature(const fs_view_def *v, const char *name) { FIND(v->features, v->n_features, name); }

const fs_feature_def *fs_reg_feature(const fs_registry *r, const char *qualified,
                                     const fs_view_def **view_out)
{
    const char *colon = strchr(qualified, ':');
    if (!colon)
        return NULL;
    for (size_t i = 0; i < r->n_views; i++) {
        const fs_view_def *v = &r->views[i];
        if (strlen(v->name) == (size_t)(colon - qualified) &&
            strncmp(v->name, qualified, (size_t)(colon - qualified)) == 0) {
            if (view_out)
                *view_out = v;
            return fs_view_feature(v, colon + 1);
        }
    }
    return NULL;
}

const char *fs_feature_input_column(const fs_feature_def *f, const fs_indicator_spec *spec,
                                    int role_index)
{
    const char *col = spec->inputs[role_index].default_column;
    for (size_t i = 0; i < f->n_inputs; i++)
        if ((!*f->inputs[i].key && spec->n_inputs == 1) ||
            strcmp(f->inputs[i].key, spec->inputs[role_index].role) == 0)
            col = f->inputs[i].value;
    return col;
}

int fs_reg_expand_features(const fs_registry *r, const char *const *names, size_t n,
                           fs_feature_ref **out, size_t *n_out, size_t *bad)
{
    *out = NULL;
    *n_out = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) { /* count first: one allocation */
        const fs_view_def *v = NULL;
        if (fs_reg_feature(r, names[i], &v))
            total++;
        else if (!strchr(names[i], ':') && (v = fs_reg_view(r, names[i])))
            total += v->n_features;
        else {
            *bad = i;
            return FS_E_NOTFOUND;
        }
    }
    fs_feature_ref *refs = malloc((total ? total : 1) * sizeof *refs);
    if (!refs)
        return FS_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const fs_view_def *v = NULL;
        const fs_feature_def *f = fs_reg_feature(r, names[i], &v);
        if (f)
            refs[k++] = (fs_feature_ref){v, f};
        else
            for (v = fs_reg_view(r, names[i]), f = v->features; f < v->features + v->n_features; f++)
                refs[k++] = (fs_feature_ref){v, f};
    }
    *out = refs;
    *n_out = k;
    return FS_OK;
}

void fs_registry_free(fs_registry *r)
{
    if (r) {
        fs_arena a = r->arena; /* the registry itself lives in its arena */
        fs_arena_free(&a);
    }
}
