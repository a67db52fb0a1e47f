/* Cross-reference validation of a loaded registry.
 *
 * Checks what needs more than one definition: an entity named by a source
 * exists and its join keys are columns; a view's source has the view's
 * entity; `from:` columns exist with a compatible type; indicators, their
 * parameters, outputs and input columns are known; expressions parse and
 * type-check against the features and columns they name; services and
 * contracts name existing features; and features do not depend on
 * themselves through a cycle of expressions.
 *
 * Runs after the loader even when the loader found errors, so it must cope
 * with fields left NULL by a definition that failed to load. */
#include "registry/load.h"

#include "compute/expr.h"
#include "compute/indicator_spec.h"
#include "core/timeutil.h"
#include "fstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(r, d, at, ...) fs_reg_error((r), (d), (at), __VA_ARGS__)

/* The node of key `key` in a definition's mapping, or the definition. */
static const fs_node *at_key(const fs_node *def, const char *key)
{
    const fs_node *n = fs_node_get(def, key);
    return n ? n : def;
}

static int col_is_numeric(const fs_column_def *c)
{
    return c->type == FS_COL_INT64 || c->type == FS_COL_FLOAT64;
}

static void validate_source(const fs_registry *r, fs_diag *d, const fs_source_def *s)
{
    const fs_entity_def *e = s->entity ? fs_reg_entity(r, s->entity) : NULL;
    if (s->entity && !e)
        ERR(r, d, at_key(s->node, "entity"), "source '%s': unknown entity '%s'", s->name, s->entity);
    for (size_t i = 0; e && i < e->join_keys.n; i++) {
        const fs_column_def *c = fs_source_column(s, e->join_keys.items[i]);
        if (!c)
            ERR(r, d, at_key(s->node, "columns"),
                "source '%s': entity '%s' is keyed by '%s', which is not a column of the source",
                s->name, e->name, e->join_keys.items[i]);
        else if (c->type != FS_COL_STRING && c->type != FS_COL_INT64)
            ERR(r, d, c->node, "source '%s': join key column '%s' must be string or int64", s->name,
                c->name);
        else if (c->nullable)
            ERR(r, d, c->node, "source '%s': join key column '%s' cannot be nullable: every row "
                "must name its entity", s->name, c->name);
    }
    if (s->timestamp) {
        const fs_column_def *c = fs_source_column(s, s->timestamp);
        if (!c)
            ERR(r, d, at_key(s->node, "timestamp"), "source '%s': timestamp column '%s' is not a column",
                s->name, s->timestamp);
        else if (c->type != FS_COL_TIMESTAMP)
            ERR(r, d, at_key(s->node, "timestamp"),
                "source '%s': timestamp column '%s' must have type timestamp, not %s", s->name,
                s->timestamp, fs_col_type_name(c->type));
        else if (c->nullable)
            ERR(r, d, c->node, "source '%s': timestamp column '%s' cannot be nullable: every row "
                "needs its event time", s->name, c->name);
    }
    if (s->available_after && *s->available_after) {
        const fs_column_def *c = fs_source_column(s, s->available_after);
        int64_t ns;
        char msg[160];
        if (c) {
            if (c->type != FS_COL_STRING)
                ERR(r, d, at_key(s->node, "available_after"),
                    "source '%s': available_after column '%s' must be a string column holding "
                    "durations like '1h'",
                    s->name, c->name);
        } else if (fs_parse_duration(s->available_after, strlen(s->available_after), &ns, msg,
                                     sizeof msg) != FS_OK) {
            ERR(r, d, at_key(s->node, "available_after"),
                "source '%s': available_after '%s' is neither a column nor a duration (%s)", s->name,
                s->available_after, msg);
        }
    }
    if (s->confidence) {
        const fs_column_def *c = fs_source_column(s, s->confidence);
        if (!c)
            ERR(r, d, at_key(s->node, "confidence"), "source '%s': confidence column '%s' is not "
                "one of its columns", s->name, s->confidence);
        else if (c->type != FS_COL_FLOAT64)
            ERR(r, d, c->node, "source '%s': confidence column '%s' must have type float64, not %s",
                s->name, c->name, fs_col_type_name(c->type));
        else if (!c->min.set || !c->max.set || c->min.v < 0 || c->max.v > 1)
            ERR(r, d, c->node, "source '%s': confidence column '%s' must declare min and max "
                "within [0, 1] (min: 0, max: 1), so ingest rejects other values", s->name, c->name);
    }
}

/* ---- expressions --------------------------------------------------------- */

typedef struct {
    const fs_registry *r;
    const fs_view_def *view;
    const fs_source_def *source;
    const char *problem; /* why the last name did not resolve, for a better message */
} resolve_ctx;

static int feature_expr_type(const fs_feature_def *f, fs_expr_type *t)
{
    switch (f->type) {
    case FS_FT_NUMERIC: *t = FS_EXPR_NUMERIC; return 0;
    case FS_FT_BOOLEAN: *t = FS_EXPR_BOOLEAN; return 0;
    case FS_FT_CATEGORICAL: *t = FS_EXPR_STRING; return 0;
    default: return -1; /* timestamps and vectors have no expression type */
    }
}

/* Resolves `name` (a feature of this view, a column of its source, or
 * `view.feature` of another view of the same entity) to a feature or column. */
static const fs_feature_def *resolve_feature(const resolve_ctx *c, const char *name,
                                             const fs_view_def **view_out)
{
    const char *dot = strchr(name, '.');
    if (!dot) {
        *view_out = c->view;
        return fs_view_feature(c->view, name);
    }
    char vname[128];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof vname)
        return NULL;
    memcpy(vname, name, n);
    vname[n] = 0;
    const fs_view_def *v = fs_reg_view(c->r, vname);
    *view_out = v;
    return v ? fs_view_feature(v, dot + 1) : NULL;
}

static int resolve(void *ctx, const char *name, fs_expr_type *t)
{
    resolve_ctx *c = ctx;
    const fs_view_def *v = NULL;
    const fs_feature_def *f = resolve_feature(c, name, &v);
    c->problem = NULL;
    if (f) {
        if (v != c->view && v->entity && c->view->entity && strcmp(v->entity, c->view->entity) != 0) {
            c->problem = "it belongs to a view of another entity";
            return -1;
        }
        if (feature_expr_type(f, t) != 0) {
            c->problem = "timestamp and vector features cannot be used in expressions";
            return -1;
        }
        return 0;
    }
    if (strchr(name, '.') || !c->source)
        return -1;
    const fs_column_def *col = fs_source_column(c->source, name);
    if (!col)
        return -1;
    switch (col->type) {
    case FS_COL_INT64:
    case FS_COL_FLOAT64: *t = FS_EXPR_NUMERIC; return 0;
    case FS_COL_BOOL: *t = FS_EXPR_BOOLEAN; return 0;
    case FS_COL_STRING: *t = FS_EXPR_STRING; return 0;
    default: c->problem = "timestamp and json columns cannot be used in expressions"; return -1;
    }
}

/* Reports an expression error at its column inside the YAML value. */
static void expr_error(const fs_registry *r, fs_diag *d, const fs_feature_def *f, const char *view,
                       const fs_expr_error *err, const char *extra)
{
    const fs_node *n = at_key(f->node, "expr");
    fs_node where = n ? *n : (fs_node){0};
    /* The expression's column maps onto the line only for a one-line plain or
     * quoted scalar without escapes; otherwise the value's start is named. */
    if (where.line > 0 && !where.block && !strchr(f->expr, '\n') && !strchr(f->expr, '\\'))
        where.col += err->col - 1 + (where.quoted ? 1 : 0);
    ERR(r, d, n ? &where : NULL, "view '%s', feature '%s': expression column %d: %s%s", view,
        f->name, err->col, err->msg, extra ? extra : "");
}

/* ---- features ------------------------------------------------------------ */

static void validate_from(const fs_registry *r, fs_diag *d, const fs_view_def *v,
                          const fs_source_def *s, const fs_feature_def *f)
{
    const fs_column_def *c = fs_source_column(s, f->from);
    if (!c) {
        ERR(r, d, at_key(f->node, "from"), "view '%s', feature '%s': source '%s' has no column '%s'",
            v->name, f->name, s->name, f->from);
        return;
    }
    int ok;
    switch (f->type) {
    case FS_FT_NUMERIC: ok = col_is_numeric(c); break;
    case FS_FT_CATEGORICAL: ok = c->type == FS_COL_STRING; break;
    case FS_FT_BOOLEAN: ok = c->type == FS_COL_BOOL; break;
    case FS_FT_TIMESTAMP: ok = c->type == FS_COL_TIMESTAMP; break;
    default: ok = c->type == FS_COL_JSON || c->type == FS_COL_STRING; break; /* vectors as JSON arrays */
    }
    if (!ok)
        ERR(r, d, at_key(f->node, "from"),
            "view '%s', feature '%s': a %s feature cannot be taken from %s column '%s'", v->name,
            f->name, fs_feature_type_name(f->type), fs_col_type_name(c->type), c->name);
}

static void validate_indicator(const fs_registry *r, fs_diag *d, const fs_view_def *v,
                               const fs_source_def *s, const fs_feature_def *f)
{
    const char *ctxv = v->name, *ctxf = f->name;
    const fs_indicator_spec *spec = fs_indicator_find(f->indicator);
    if (!spec) {
        const char *hint = fs_indicator_suggest(f->indicator);
        ERR(r, d, at_key(f->node, "indicator"), "view '%s', feature '%s': unknown indicator '%s'%s%s%s",
            ctxv, ctxf, f->indicator, hint ? " (did you mean '" : "", hint ? hint : "",
            hint ? "'?)" : "");
        return;
    }
    if (f->type != FS_FT_NUMERIC)
        ERR(r, d, at_key(f->node, "type"), "view '%s', feature '%s': indicators produce numeric values, "
            "not %s", ctxv, ctxf, fs_feature_type_name(f->type));

    double params[FS_IND_MAX_PARAMS];
    fs_indicator_defaults(spec, params);
    int given[FS_IND_MAX_PARAMS] = {0};
    int params_ok = 1;
    const fs_node *pnode = at_key(f->node, "params");
    for (size_t i = 0; i < f->n_params; i++) {
        const fs_node *vn = at_key(pnode, f->params[i].key);
        int pi = fs_indicator_param_index(spec, f->params[i].key);
        if (pi < 0) {
            const char *names[FS_IND_MAX_PARAMS];
            for (int k = 0; k < spec->n_params; k++)
                names[k] = spec->params[k].name;
            const char *hint = fs_suggest(f->params[i].key, names, (size_t)spec->n_params);
            ERR(r, d, vn, "view '%s', feature '%s': %s has no parameter '%s'%s%s%s", ctxv, ctxf,
                spec->name, f->params[i].key, hint ? " (did you mean '" : "", hint ? hint : "",
                hint ? "'?)" : "");
            params_ok = 0;
            continue;
        }
        char msg[200];
        if (fs_indicator_parse_param(spec, pi, f->params[i].value, &params[pi], msg, sizeof msg) != 0) {
            ERR(r, d, vn, "view '%s', feature '%s': %s", ctxv, ctxf, msg);
            params_ok = 0;
        }
        given[pi] = 1;
    }
    for (int k = 0; k < spec->n_params; k++)
        if (spec->params[k].required && !given[k]) {
            ERR(r, d, f->node, "view '%s', feature '%s': %s needs parameter '%s' (%s)", ctxv, ctxf,
                spec->name, spec->params[k].name, spec->params[k].doc);
            params_ok = 0;
        }
    char msg[200];
    if (params_ok && fs_indicator_check(spec, params, msg, sizeof msg) != 0)
        ERR(r, d, pnode, "view '%s', feature '%s': %s", ctxv, ctxf, msg);

    if (spec->n_outputs > 1 && !f->output) {
        fs_strbuf names = {0};
        for (int k = 0; k < spec->n_outputs; k++)
            fs_sb_printf(&names, "%s%s", k ? ", " : "", spec->outputs[k].name);
        ERR(r, d, f->node, "view '%s', feature '%s': %s has several outputs; choose one with "
            "'output:' (%s)", ctxv, ctxf, spec->name, fs_sb_str(&names));
        fs_sb_free(&names);
    } else if (f->output && fs_indicator_output_index(spec, f->output) < 0) {
        ERR(r, d, at_key(f->node, "output"), "view '%s', feature '%s': %s has no output '%s'", ctxv,
            ctxf, spec->name, f->output);
    }

    /* Input columns: overrides first, then each role's default column. */
    const char *cols[FS_IND_MAX_INPUTS];
    for (int k = 0; k < spec->n_inputs; k++)
        cols[k] = spec->inputs[k].default_column;
    const fs_node *inode = f->node ? (fs_node_get(f->node, "inputs") ? at_key(f->node, "inputs")
                                                                     : at_key(f->node, "input"))
                                   : NULL;
    for (size_t i = 0; i < f->n_inputs; i++) {
        int ri;
        if (!*f->inputs[i].key) { /* `input: COLUMN` */
            if (spec->n_inputs != 1) {
                ERR(r, d, inode, "view '%s', feature '%s': %s reads %d inputs; map them with "
                    "'inputs: {role: column}'", ctxv, ctxf, spec->name, spec->n_inputs);
                continue;
            }
            ri = 0;
        } else if ((ri = fs_indicator_input_index(spec, f->inputs[i].key)) < 0) {
            ERR(r, d, at_key(inode, f->inputs[i].key), "view '%s', feature '%s': %s has no input "
                "'%s'", ctxv, ctxf, spec->name, f->inputs[i].key);
            continue;
        }
        cols[ri] = f->inputs[i].value;
    }
    for (int k = 0; k < spec->n_inputs; k++) {
        const fs_column_def *c = fs_source_column(s, cols[k]);
        if (!c)
            ERR(r, d, inode ? inode : f->node,
                "view '%s', feature '%s': input '%s' of %s reads column '%s', which source '%s' "
                "does not have; map it with 'input:' or 'inputs:'",
                ctxv, ctxf, spec->inputs[k].role, spec->name, cols[k], s->name);
        else if (!col_is_numeric(c))
            ERR(r, d, inode ? inode : f->node,
                "view '%s', feature '%s': input '%s' of %s reads %s column '%s'; it needs a "
                "numeric one",
                ctxv, ctxf, spec->inputs[k].role, spec->name, fs_col_type_name(c->type), c->name);
    }
}

static fs_expr *validate_expr(const fs_registry *r, fs_diag *d, const fs_view_def *v,
                              const fs_source_def *s, const fs_feature_def *f)
{
    fs_expr *e = NULL;
    fs_expr_error err = {0, ""};
    if (fs_expr_parse(f->expr, &e, &err) != FS_OK) {
        expr_error(r, d, f, v->name, &err, NULL);
        return NULL;
    }
    resolve_ctx c = {r, v, s, NULL};
    fs_expr_type t;
    if (fs_expr_check(e, resolve, &c, &t, &err) != FS_OK) {
        char extra[160] = "";
        if (c.problem)
            snprintf(extra, sizeof extra, " (%s)", c.problem);
        expr_error(r, d, f, v->name, &err, extra);
        fs_expr_free(e);
        return NULL;
    }
    fs_expr_type want;
    if (feature_expr_type(f, &want) != 0 || want != t)
        ERR(r, d, at_key(f->node, "expr"), "view '%s', feature '%s': the expression is %s but the "
            "feature is declared %s", v->name, f->name, fs_expr_type_name(t),
            fs_feature_type_name(f->type));
    return e;
}

/* ---- dependency cycles --------------------------------------------------- */

typedef struct {
    const fs_view_def *view;
    const fs_feature_def *feature;
    fs_expr *expr;    /* parsed expression, or NULL */
    size_t *deps;     /* indices of features it reads */
    size_t n_deps;
    int color;        /* 0 unvisited, 1 on the stack, 2 done */
} graph_node;

static size_t node_index(graph_node *g, size_t n, const fs_view_def *v, const fs_feature_def *f)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].view == v && g[i].feature == f)
            return i;
    return n;
}

/* Depth-first search; on a back edge reports the cycle as a path. The depth
 * is bounded by the number of features. */
static int find_cycle(const fs_registry *r, fs_diag *d, graph_node *g, size_t n, size_t at,
                      size_t *stack, size_t depth)
{
    g[at].color = 1;
    stack[depth] = at;
    for (size_t k = 0; k < g[at].n_deps; k++) {
        size_t to = g[at].deps[k];
        if (g[to].color == 1) {
            fs_strbuf path = {0};
            size_t start = 0;
            while (stack[start] != to)
                start++;
            for (size_t i = start; i <= depth; i++)
                fs_sb_printf(&path, "%s:%s -> ", g[stack[i]].view->name, g[stack[i]].feature->name);
            fs_sb_printf(&path, "%s:%s", g[to].view->name, g[to].feature->name);
            ERR(r, d, at_key(g[to].feature->node, "expr"), "dependency cycle: %s", fs_sb_str(&path));
            fs_sb_free(&path);
            return 1;
        }
        if (g[to].color == 0 && find_cycle(r, d, g, n, to, stack, depth + 1))
            return 1;
    }
    g[at].color = 2;
    return 0;
}

/* ---- entry --------------------------------------------------------------- */

int fs_registry_validate(const fs_registry *r, fs_diag *d)
{
    int before = d->count;
    for (size_t i = 0; i < r->n_sources; i++)
        validate_source(r, d, &r->sources[i]);

    size_t n_nodes = 0;
    for (size_t i = 0; i < r->n_views; i++)
        n_nodes += r->views[i].n_features;
    graph_node *g = calloc(n_nodes ? n_nodes : 1, sizeof *g);
    size_t *stack = calloc(n_nodes ? n_nodes : 1, sizeof *stack);
    if (!g || !stack) {
        free(g);
        free(stack);
        fs_diag_add(d, r->file, 0, 0, "out of memory");
        return d->count - before;
    }
    size_t gi = 0;
    for (size_t i = 0; i < r->n_views; i++) {
        const fs_view_def *v = &r->views[i];
        const fs_entity_def *e = v->entity ? fs_reg_entity(r, v->entity) : NULL;
        const fs_source_def *s = v->source ? fs_reg_source(r, v->source) : NULL;
        if (v->entity && !e)
            ERR(r, d, at_key(v->node, "entity"), "view '%s': unknown entity '%s'", v->name, v->entity);
        if (v->source && !s)
            ERR(r, d, at_key(v->node, "source"), "view '%s': unknown source '%s'", v->name, v->source);
        if (e && s && s->entity && strcmp(s->entity, e->name) != 0)
            ERR(r, d, at_key(v->node, "source"),
                "view '%s': source '%s' describes entity '%s', not the view's entity '%s'", v->name,
                s->name, s->entity, e->name);
        for (size_t k = 0; k < v->n_features; k++, gi++) {
            const fs_feature_def *f = &v->features[k];
            g[gi].view = v;
            g[gi].feature = f;
            if (!s)
                continue; /* already reported: nothing to check the feature against */
            if (f->how == FS_PROD_FROM && f->from)
                validate_from(r, d, v, s, f);
            else if (f->how == FS_PROD_INDICATOR && f->indicator)
                validate_indicator(r, d, v, s, f);
            else if (f->how == FS_PROD_EXPR && f->expr)
                g[gi].expr = validate_expr(r, d, v, s, f);
        }
    }

    /* Edges: an expression reads the features it names. */
    for (size_t i = 0; i < n_nodes; i++) {
        fs_expr *e = g[i].expr;
        if (!e)
            continue;
        size_t nr = fs_expr_ref_count(e);
        g[i].deps = calloc(nr ? nr : 1, sizeof *g[i].deps);
        resolve_ctx c = {r, g[i].view, NULL, NULL};
        for (size_t k = 0; g[i].deps && k < nr; k++) {
            const fs_view_def *v = NULL;
            const fs_feature_def *f = resolve_feature(&c, fs_expr_ref_name(e, k), &v);
            size_t to = f ? node_index(g, n_nodes, v, f) : n_nodes;
            if (to < n_nodes)
                g[i].deps[g[i].n_deps++] = to;
        }
    }
    for (size_t i = 0; i < n_nodes; i++)
        if (g[i].color == 0 && find_cycle(r, d, g, n_nodes, i, stack, 0))
            break; /* one cycle is enough to report; it may be part of others */
    for (size_t i = 0; i < n_nodes; i++) {
        fs_expr_free(g[i].expr);
        free(g[i].deps);
    }
    free(g);
    free(stack);

    for (size_t i = 0; i < r->n_services; i++) {
        const fs_service_def *s = &r->services[i];
        for (size_t k = 0; k < s->features.n; k++) {
            const char *ref = s->features.items[k];
            int ok = strchr(ref, ':') ? fs_reg_feature(r, ref, NULL) != NULL
                                      : fs_reg_view(r, ref) != NULL;
            if (!ok)
                ERR(r, d, at_key(s->node, "features"), "service '%s': unknown %s '%s'", s->name,
                    strchr(ref, ':') ? "feature" : "view", ref);
        }
    }
    for (size_t i = 0; i < r->n_contracts; i++) {
        const fs_contract_def *c = &r->contracts[i];
        for (size_t k = 0; k < c->n_expect; k++) {
            const fs_expectation *x = &c->expect[k];
            if (!x->feature)
                continue;
            const fs_feature_def *f = fs_reg_feature(r, x->feature, NULL);
            if (!f) {
                ERR(r, d, at_key(x->node, "feature"),
                    "contract '%s': unknown feature '%s' (write it as view:feature)", c->name, x->feature);
                continue;
            }
            char declared[32];
            if (f->type == FS_FT_VECTOR)
                snprintf(declared, sizeof declared, "vector[%d]", f->vector_len);
            else
                snprintf(declared, sizeof declared, "%s", fs_feature_type_name(f->type));
            if (x->type && strcmp(x->type, declared) != 0)
                ERR(r, d, at_key(x->node, "type"),
                    "contract '%s': expects %s to be %s, but it is declared %s", c->name, x->feature,
                    x->type, declared);
        }
    }
    return d->count - before;
}
