/* Compiling a feature view into a plan, and running it over blocks of rows
 * (contract in view_plan.h).
 *
 * A run does two passes over the block, each a column at a time:
 *  1. every indicator group (features sharing indicator, parameters and
 *     input columns, such as the three outputs of one MACD) steps its state
 *     over its input columns, writing all its outputs;
 *  2. the features, in dependency order: an indicator feature copies its
 *     group's output column, an expression evaluates over the columns it
 *     names (source columns, other features of the block, other views).
 * Both keep their history in the entity's state, not in the block, which is
 * why the block size never changes a value. */
#include "compute/view_plan.h"

#include "compute/expr.h"
#include "compute/expr_eval.h"
#include "compute/indicator.h"
#include "compute/indicator_spec.h"
#include "fstore.h"
#include "registry/defs_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const fs_indicator_spec *spec;
    double params[FS_IND_MAX_PARAMS];
    const char *reference;           /* correlation's reference entity value, or NULL */
    int in[FS_IND_MAX_INPUTS + 1];   /* plan input per role (+ the reference series) */
    int n_in;
    size_t state_off;
    size_t out_col; /* first of spec->n_outputs scratch columns */
} ind_group;

typedef struct {
    size_t feature; /* index in view->features */
    int group, group_output;   /* indicator features */
    fs_expr *expr;             /* expr features */
    fs_expr_prog *prog;
    int *slot_input;           /* per expression slot: plan input, or -1 - feature index */
    size_t n_slots;
    size_t state_off;
    int lookback;
} step;

struct fs_plan_internal {
    int conf_input; /* plan input of the source's confidence column, or -1 */
    int conf_group; /* its rolling minimum (a rolling_min group), or -1: the input itself */
    ind_group *groups;
    size_t ng;
    step *steps; /* computed features in dependency order */
    size_t ns;
    size_t *feat_output; /* feature index -> output k, or SIZE_MAX */
    int *feat_input;     /* `from:` feature index -> plan input, or -1 */
    size_t n_group_cols;
    size_t expr_scratch; /* bytes: the largest expression's scratch per row */
    size_t max_slots;
};

int fs_view_needs_compute(const fs_view_def *v)
{
    for (size_t i = 0; i < v->n_features; i++)
        if (v->features[i].how != FS_PROD_FROM)
            return 1;
    return 0;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* The plan input for (kind, column, extra), added when new. */
static int add_input(fs_view_plan *p, fs_plan_input_kind kind, const char *column, const char *extra)
{
    for (size_t i = 0; i < p->n_inputs; i++) {
        const fs_plan_input *in = &p->inputs[i];
        const char *x = kind == FS_PLAN_IN_REFERENCE ? in->reference : in->view;
        if (in->kind == kind && strcmp(in->column, column) == 0 &&
            (kind == FS_PLAN_IN_SOURCE || strcmp(x, extra) == 0))
            return (int)i;
    }
    fs_plan_input *grown = realloc(p->inputs, (p->n_inputs + 1) * sizeof *grown);
    if (!grown)
        return -1;
    p->inputs = grown;
    p->inputs[p->n_inputs] = (fs_plan_input){kind, column,
                                             kind == FS_PLAN_IN_REFERENCE ? extra : NULL,
                                             kind == FS_PLAN_IN_VIEW ? extra : NULL};
    return (int)p->n_inputs++;
}

/* A source column usable as a number: int64, float64, bool, timestamp. */
static int numeric_column(const fs_source_def *s, const char *name, fs_strbuf *err,
                          const fs_view_def *v, const fs_feature_def *f)
{
    const fs_column_def *c = fs_source_column(s, name);
    if (!c) {
        fs_sb_printf(err, "view '%s', feature '%s': source '%s' has no column '%s'", v->name,
                     f->name, s->name, name);
        return 0;
    }
    if (c->type == FS_COL_STRING || c->type == FS_COL_JSON) {
        fs_sb_printf(err, "view '%s', feature '%s': column '%s' is a %s; only numeric, bool and "
                          "timestamp columns can be computed on",
                     v->name, f->name, name, fs_col_type_name(c->type));
        return 0;
    }
    return 1;
}

static int build_group(fs_view_plan *p, const fs_feature_def *f, int *group_out, int *output_out,
                       fs_strbuf *err)
{
    struct fs_plan_internal *in = p->in;
    const fs_view_def *v = p->view;
    const fs_indicator_spec *spec = fs_indicator_find(f->indicator);
    if (!spec) {
        fs_sb_printf(err, "view '%s', feature '%s': unknown indicator '%s'", v->name, f->name,
                     f->indicator);
        return FS_E_INVALID_DEF;
    }
    ind_group g = {.spec = spec};
    fs_indicator_defaults(spec, g.params);
    char msg[256];
    for (size_t i = 0; i < f->n_params; i++) {
        int k = fs_indicator_param_index(spec, f->params[i].key);
        if (k < 0)
            continue; /* validation rejected unknown keys already */
        if (spec->params[k].type == FS_PARAM_STRING) {
            g.reference = f->params[i].value;
            continue;
        }
        if (fs_indicator_parse_param(spec, k, f->params[i].value, &g.params[k], msg, sizeof msg)) {
            fs_sb_printf(err, "view '%s', feature '%s': %s", v->name, f->name, msg);
            return FS_E_INVALID_DEF;
        }
    }
    for (int r = 0; r < spec->n_inputs; r++) {
        const char *col = fs_feature_input_column(f, spec, r);
        if (!numeric_column(p->source, col, err, v, f))
            return FS_E_INVALID_DEF;
        if ((g.in[g.n_in++] = add_input(p, FS_PLAN_IN_SOURCE, col, NULL)) < 0)
            return FS_E_NOMEM;
    }
    if (g.reference) { /* the same column of the reference entity */
        const char *col = fs_feature_input_column(f, spec, 0);
        if ((g.in[g.n_in++] = add_input(p, FS_PLAN_IN_REFERENCE, col, g.reference)) < 0)
            return FS_E_NOMEM;
    }
    int output = 0;
    if (f->output && (output = fs_indicator_output_index(spec, f->output)) < 0) {
        fs_sb_printf(err, "view '%s', feature '%s': indicator %s has no output '%s'", v->name,
                     f->name, spec->name, f->output);
        return FS_E_INVALID_DEF;
    }
    *output_out = output;
    for (size_t i = 0; i < in->ng; i++) { /* shared with an earlier feature? */
        ind_group *o = &in->groups[i];
        if (o->spec == spec && o->n_in == g.n_in &&
            memcmp(o->in, g.in, sizeof g.in) == 0 &&
            memcmp(o->params, g.params, sizeof g.params) == 0 &&
            (o->reference == g.reference ||
             (o->reference && g.reference && strcmp(o->reference, g.reference) == 0))) {
            *group_out = (int)i;
            return FS_OK;
        }
    }
    int rc = fs_indicator_check(spec, g.params, msg, sizeof msg);
    if (rc != FS_OK) {
        fs_sb_printf(err, "view '%s', feature '%s': %s", v->name, f->name, msg);
        return rc;
    }
    g.state_off = p->state_size;
    p->state_size += align8(fs_ind_state_size(spec, g.params));
    g.out_col = in->n_group_cols;
    in->n_group_cols += (size_t)spec->n_outputs;
    ind_group *grown = realloc(in->groups, (in->ng + 1) * sizeof *grown);
    if (!grown)
        return FS_E_NOMEM;
    in->groups = grown;
    in->groups[in->ng] = g;
    *group_out = (int)in->ng++;
    return FS_OK;
}

static fs_expr_type feature_expr_type(const fs_feature_def *f)
{
    return f->type == FS_FT_BOOLEAN ? FS_EXPR_BOOLEAN
           : f->type == FS_FT_CATEGORICAL ? FS_EXPR_STRING
                                          : FS_EXPR_NUMERIC;
}

/* Types of the names an expression of the view reads, as the registry's
 * validation saw them: features of this view, `view.feature` of another,
 * columns of the source. */
static int resolve_name(void *ctx, const char *name, fs_expr_type *type_out)
{
    const fs_view_plan *p = ctx;
    const fs_feature_def *f = NULL;
    const char *dot = strchr(name, '.');
    if (dot) {
        char q[512];
        snprintf(q, sizeof q, "%.*s:%s", (int)(dot - name), name, dot + 1);
        f = fs_reg_feature(p->reg, q, NULL);
    } else {
        f = fs_view_feature(p->view, name);
    }
    if (f) {
        *type_out = feature_expr_type(f);
        return 0;
    }
    const fs_column_def *c = dot ? NULL : fs_source_column(p->source, name);
    if (!c)
        return 1;
    *type_out = c->type == FS_COL_BOOL                                 ? FS_EXPR_BOOLEAN
                : c->type == FS_COL_STRING || c->type == FS_COL_JSON ? FS_EXPR_STRING
                                                                       : FS_EXPR_NUMERIC;
    return 0;
}

typedef struct {
    const fs_registry *r;
    fs_view_plan *p;
    int *state; /* per feature: 0 unvisited, 1 in progress, 2 done */
    fs_strbuf *err;
} order_ctx;

static int visit(order_ctx *c, size_t fi);

/* Binds expression slot `k` (name `name`) of step s. */
static int bind_slot(order_ctx *c, step *s, size_t k, const char *name, int *lookback)
{
    fs_view_plan *p = c->p;
    const fs_view_def *v = p->view;
    const fs_feature_def *f = &v->features[s->feature];
    const char *dot = strchr(name, '.');
    if (dot) { /* view.feature of another view of the same entity */
        char vname[256];
        size_t len = (size_t)(dot - name);
        if (len >= sizeof vname)
            len = sizeof vname - 1;
        memcpy(vname, name, len);
        vname[len] = 0;
        const fs_view_def *ov = fs_reg_view(c->r, vname);
        if (!ov) {
            fs_sb_printf(c->err, "view '%s', feature '%s': unknown view '%s'", v->name, f->name,
                         vname);
            return FS_E_INVALID_DEF;
        }
        int i = add_input(p, FS_PLAN_IN_VIEW, dot + 1, ov->name);
        if (i < 0)
            return FS_E_NOMEM;
        s->slot_input[k] = i;
        return FS_OK;
    }
    for (size_t j = 0; j < v->n_features; j++) {
        const fs_feature_def *g = &v->features[j];
        if (strcmp(g->name, name) != 0)
            continue;
        if (g->how == FS_PROD_FROM) {
            if (!numeric_column(p->source, g->from, c->err, v, g))
                return FS_E_INVALID_DEF;
            int i = add_input(p, FS_PLAN_IN_SOURCE, g->from, NULL);
            if (i < 0)
                return FS_E_NOMEM;
            s->slot_input[k] = i;
            return FS_OK;
        }
        int rc = visit(c, j);
        if (rc != FS_OK)
            return rc;
        for (size_t t = 0; t < p->in->ns; t++)
            if (p->in->steps[t].feature == j && p->in->steps[t].lookback > *lookback)
                *lookback = p->in->steps[t].lookback;
        s->slot_input[k] = -1 - (int)j;
        return FS_OK;
    }
    if (!numeric_column(p->source, name, c->err, v, f))
        return FS_E_INVALID_DEF;
    int i = add_input(p, FS_PLAN_IN_SOURCE, name, NULL);
    if (i < 0)
        return FS_E_NOMEM;
    s->slot_input[k] = i;
    return FS_OK;
}

/* Adds feature fi's step after the steps of the features it reads. */
static int visit(order_ctx *c, size_t fi)
{
    fs_view_plan *p = c->p;
    const fs_feature_def *f = &p->view->features[fi];
    if (c->state[fi] == 2)
        return FS_OK;
    if (c->state[fi] == 1) { /* the registry rejects cycles; never trust it blindly */
        fs_sb_printf(c->err, "view '%s': feature '%s' depends on itself", p->view->name, f->name);
        return FS_E_INVALID_DEF;
    }
    c->state[fi] = 1;
    step s = {.feature = fi, .group = -1};
    int rc = FS_OK;
    if (f->how == FS_PROD_INDICATOR) {
        rc = build_group(p, f, &s.group, &s.group_output, c->err);
        if (rc == FS_OK) {
            const ind_group *g = &p->in->groups[s.group];
            s.lookback = fs_ind_lookback(g->spec, g->params);
        }
    } else {
        fs_expr_error ee;
        if (fs_expr_parse(f->expr, &s.expr, &ee) != FS_OK ||
            fs_expr_check(s.expr, resolve_name, p, NULL, &ee) != FS_OK) {
            fs_sb_printf(c->err, "view '%s', feature '%s': expression column %d: %s", p->view->name,
                         f->name, ee.col, ee.msg);
            rc = FS_E_INVALID_DEF;
        }
        s.n_slots = rc == FS_OK ? fs_expr_ref_count(s.expr) : 0;
        if (rc == FS_OK && s.n_slots && !(s.slot_input = calloc(s.n_slots, sizeof *s.slot_input)))
            rc = FS_E_NOMEM;
        int deps = 0;
        for (size_t k = 0; rc == FS_OK && k < s.n_slots; k++)
            rc = bind_slot(c, &s, k, fs_expr_ref_name(s.expr, k), &deps);
        char msg[256];
        if (rc == FS_OK && fs_expr_compile(s.expr, &s.prog, msg, sizeof msg) != FS_OK) {
            fs_sb_printf(c->err, "view '%s', feature '%s': %s", p->view->name, f->name, msg);
            rc = FS_E_INVALID_DEF;
        }
        if (rc == FS_OK) {
            s.lookback = deps + fs_expr_lookback(s.expr);
            s.state_off = p->state_size;
            p->state_size += align8(fs_expr_state_size(s.prog));
            size_t scratch = fs_expr_scratch_size(s.prog, 1);
            if (scratch > p->in->expr_scratch)
                p->in->expr_scratch = scratch;
            if (s.n_slots > p->in->max_slots)
                p->in->max_slots = s.n_slots;
        }
    }
    if (rc == FS_OK) {
        step *grown = realloc(p->in->steps, (p->in->ns + 1) * sizeof *grown);
        if (!grown)
            rc = FS_E_NOMEM;
        else {
            p->in->steps = grown;
            p->in->steps[p->in->ns++] = s;
            if (s.lookback > p->max_lookback)
                p->max_lookback = s.lookback;
            c->state[fi] = 2;
            return FS_OK;
        }
    }
    fs_expr_prog_free(s.prog);
    fs_expr_free(s.expr);
    free(s.slot_input);
    return rc;
}

/* The row's confidence: a rolling minimum of the confidence column over
 * the widest window any feature reads. */
static int add_confidence(fs_view_plan *p)
{
    struct fs_plan_internal *in = p->in;
    p->has_confidence = 1;
    if ((in->conf_input = add_input(p, FS_PLAN_IN_SOURCE, p->source->confidence, NULL)) < 0)
        return FS_E_NOMEM;
    if (p->max_lookback < 1)
        return FS_OK; /* a window of one row: the confidence itself */
    ind_group g = {.spec = fs_indicator_find("rolling_min")};
    fs_indicator_defaults(g.spec, g.params);
    g.params[0] = p->max_lookback + 1;
    g.in[g.n_in++] = in->conf_input;
    g.state_off = p->state_size;
    p->state_size += align8(fs_ind_state_size(g.spec, g.params));
    g.out_col = in->n_group_cols;
    in->n_group_cols += (size_t)g.spec->n_outputs;
    ind_group *grown = realloc(in->groups, (in->ng + 1) * sizeof *grown);
    if (!grown)
        return FS_E_NOMEM;
    in->groups = grown;
    in->groups[in->ng] = g;
    in->conf_group = (int)in->ng++;
    return FS_OK;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (uint8_t)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t hash_def(uint64_t h, const fs_registry *r, fs_kind kind, const char *name)
{
    json_t *j = fs_def_to_json(r, kind, name);
    char *text = j ? fs_json_canonical(j) : NULL;
    h = fnv1a(fnv1a(h, name), text ? text : "?");
    free(text);
    json_decref(j);
    return h;
}

/* What the stored values depend on: the view, its features, its source and
 * every feature of another view it reads. */
static uint64_t plan_hash(const fs_registry *r, const fs_view_plan *p)
{
    char q[512];
    uint64_t h = 1469598103934665603ULL;
    h = hash_def(h, r, FS_KIND_VIEW, p->view->name);
    h = hash_def(h, r, FS_KIND_SOURCE, p->source->name);
    for (size_t i = 0; i < p->view->n_features; i++) {
        snprintf(q, sizeof q, "%s:%s", p->view->name, p->view->features[i].name);
        h = hash_def(h, r, FS_KIND_FEATURE, q);
    }
    for (size_t i = 0; i < p->n_inputs; i++)
        if (p->inputs[i].kind == FS_PLAN_IN_VIEW) {
            snprintf(q, sizeof q, "%s:%s", p->inputs[i].view, p->inputs[i].column);
            h = hash_def(h, r, FS_KIND_FEATURE, q);
        }
    return h;
}

int fs_view_plan_build(const fs_registry *r, const fs_view_def *v, fs_view_plan **out,
                       fs_strbuf *err)
{
    *out = NULL;
    fs_view_plan *p = calloc(1, sizeof *p);
    int *state = calloc(v->n_features + 1, sizeof *state);
    if (!p || !state || !(p->in = calloc(1, sizeof *p->in)) ||
        !(p->in->feat_output = malloc((v->n_features + 1) * sizeof *p->in->feat_output)) ||
        !(p->in->feat_input = malloc((v->n_features + 1) * sizeof *p->in->feat_input)) ||
        !(p->outputs = malloc((v->n_features + 1) * sizeof *p->outputs))) {
        free(state);
        fs_view_plan_free(p);
        return FS_E_NOMEM;
    }
    p->view = v;
    p->reg = r;
    p->source = fs_reg_source(r, v->source);
    int rc = FS_OK;
    if (!p->source) {
        fs_sb_printf(err, "view '%s': no source '%s'", v->name, v->source);
        rc = FS_E_INVALID_DEF;
    }
    order_ctx c = {r, p, state, err};
    for (size_t i = 0; rc == FS_OK && i < v->n_features; i++) {
        const fs_feature_def *f = &v->features[i];
        p->in->feat_output[i] = SIZE_MAX;
        p->in->feat_input[i] = -1;
        if (f->how != FS_PROD_FROM) {
            p->in->feat_output[i] = p->n_outputs;
            p->outputs[p->n_outputs++] = i;
        }
    }
    for (size_t i = 0; rc == FS_OK && i < v->n_features; i++)
        if (v->features[i].how != FS_PROD_FROM)
            rc = visit(&c, i);
    p->in->conf_input = p->in->conf_group = -1;
    if (rc == FS_OK && p->source->confidence)
        rc = add_confidence(p);
    free(state);
    if (rc != FS_OK) {
        fs_view_plan_free(p);
        return rc;
    }
    p->hash = plan_hash(r, p);
    *out = p;
    return FS_OK;
}

void fs_view_plan_free(fs_view_plan *p)
{
    if (!p)
        return;
    if (p->in) {
        for (size_t i = 0; i < p->in->ns; i++) {
            fs_expr_prog_free(p->in->steps[i].prog);
            fs_expr_free(p->in->steps[i].expr);
            free(p->in->steps[i].slot_input);
        }
        free(p->in->steps);
        free(p->in->groups);
        free(p->in->feat_output);
        free(p->in->feat_input);
        free(p->in);
    }
    free(p->inputs);
    free(p->outputs);
    free(p);
}

void fs_view_plan_state_init(const fs_view_plan *p, void *state)
{
    char *base = state;
    memset(base, 0, p->state_size);
    for (size_t i = 0; i < p->in->ng; i++) {
        const ind_group *g = &p->in->groups[i];
        fs_ind_init(g->spec, g->params, (fs_ind_state *)(base + g->state_off));
    }
    for (size_t i = 0; i < p->in->ns; i++)
        if (p->in->steps[i].prog)
            fs_expr_state_init(p->in->steps[i].prog, base + p->in->steps[i].state_off);
}

/* Scratch layout: [max_rows header][group output columns][expression
 * scratch][slot pointers]. */
typedef struct {
    size_t max_rows;
    size_t expr_bytes; /* the largest expression scratch for max_rows */
} scratch_head;

static size_t group_cols_off(void) { return align8(sizeof(scratch_head)); }

static size_t scratch_size(const fs_view_plan *p, size_t max_rows)
{
    size_t expr = 0;
    for (size_t i = 0; i < p->in->ns; i++)
        if (p->in->steps[i].prog) {
            size_t s = fs_expr_scratch_size(p->in->steps[i].prog, max_rows);
            if (s > expr)
                expr = s;
        }
    return group_cols_off() + align8(p->in->n_group_cols * max_rows * sizeof(double)) +
           align8(expr) + (p->in->max_slots + FS_IND_MAX_INPUTS + FS_IND_MAX_OUTPUTS + 2) *
                              sizeof(double *);
}

void *fs_view_plan_scratch_new(const fs_view_plan *p, size_t max_rows)
{
    scratch_head *h = calloc(1, scratch_size(p, max_rows));
    if (h) {
        h->max_rows = max_rows;
        for (size_t i = 0; i < p->in->ns; i++)
            if (p->in->steps[i].prog) {
                size_t b = fs_expr_scratch_size(p->in->steps[i].prog, max_rows);
                if (b > h->expr_bytes)
                    h->expr_bytes = b;
            }
    }
    return h;
}

int fs_view_plan_run(const fs_view_plan *p, void *state, void *scratch, const double *const *in,
                     size_t n, double *const *out)
{
    const scratch_head *h = scratch;
    if (!p || !state || !scratch || n == 0)
        return n == 0 ? FS_OK : FS_E_INVAL;
    size_t max_rows = h->max_rows;
    if (n > max_rows)
        return FS_E_INVAL;
    char *base = state;
    double *gcols = (double *)((char *)scratch + group_cols_off());
    char *expr_scratch = (char *)gcols + align8(p->in->n_group_cols * max_rows * sizeof(double));
    const double **ptrs = (const double **)(expr_scratch + align8(h->expr_bytes));

    for (size_t i = 0; i < p->in->ng; i++) {
        const ind_group *g = &p->in->groups[i];
        const double *gin[FS_IND_MAX_INPUTS + 1];
        double *gout[FS_IND_MAX_OUTPUTS];
        for (int k = 0; k < g->n_in; k++)
            gin[k] = in[g->in[k]];
        for (int k = 0; k < g->spec->n_outputs; k++)
            gout[k] = gcols + (g->out_col + (size_t)k) * max_rows;
        fs_ind_run((fs_ind_state *)(base + g->state_off), gin, n, gout);
    }
    for (size_t i = 0; i < p->in->ns; i++) {
        const step *s = &p->in->steps[i];
        double *dst = out[p->in->feat_output[s->feature]];
        if (s->group >= 0) {
            const ind_group *g = &p->in->groups[s->group];
            memcpy(dst, gcols + (g->out_col + (size_t)s->group_output) * max_rows, n * sizeof *dst);
            continue;
        }
        for (size_t k = 0; k < s->n_slots; k++) {
            int src = s->slot_input[k];
            ptrs[k] = src >= 0 ? in[src] : out[p->in->feat_output[(size_t)(-1 - src)]];
        }
        int rc = fs_expr_eval(s->prog, base + s->state_off, expr_scratch, ptrs, n, dst);
        if (rc != FS_OK)
            return rc;
    }
    if (p->has_confidence) {
        const struct fs_plan_internal *pi = p->in;
        const double *conf = pi->conf_group >= 0
                                 ? gcols + pi->groups[pi->conf_group].out_col * max_rows
                                 : in[pi->conf_input];
        memcpy(out[p->n_outputs], conf, n * sizeof *conf);
    }
    return FS_OK;
}
