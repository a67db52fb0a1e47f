/* Loader: document tree -> registry structs.
 *
 * Order of work:
 *  a) parse the text into a node tree (YAML or JSON) inside the registry's
 *     arena, so definitions can point at their nodes for error positions;
 *  b) for a user file, merge the built-ins in at the tree level (a re-declared
 *     built-in is an overlay that may only set policy keys);
 *  c) convert each section, checking what one definition can check alone
 *     (known keys, types of values, names, durations, bounds);
 *  d) run cross-reference validation (validate.c).
 * Every step reports all the problems it finds and keeps going. */
#include "registry/load.h"

#include "core/timeutil.h"
#include "fstore.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    fs_registry *r;
    fs_diag *diag;
} ld;

void fs_reg_error(const fs_registry *r, fs_diag *diag, const fs_node *at, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fs_diag_add(diag, r->file, at ? at->line : 0, at ? at->col : 0, "%s", msg);
}

#define ERR(L, at, ...) fs_reg_error((L)->r, (L)->diag, (at), __VA_ARGS__)

/* ---- scalar readers ---------------------------------------------------- */

static int is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '_'))
            return 0;
    return n <= 63;
}

/* A scalar's text, or NULL with an error naming what was expected. */
static const char *scalar(ld *L, const fs_node *n, const char *ctx, const char *key)
{
    if (n->kind != FS_NODE_SCALAR) {
        ERR(L, n, "%s: '%s' must be a scalar, got %s", ctx, key, fs_node_kind_name(n));
        return NULL;
    }
    return n->str;
}

/* The scalar value of an optional key: NULL when absent or null (or not a
 * scalar, which is reported); *node_out receives its node for messages. */
static const char *opt_scalar(ld *L, const fs_node *map, const char *key, const char *ctx,
                              const fs_node **node_out)
{
    const fs_node *n = fs_node_get(map, key);
    *node_out = n;
    if (!n || fs_node_is_null(n))
        return NULL;
    return scalar(L, n, ctx, key);
}

static const char *get_str(ld *L, const fs_node *map, const char *key, int required, const char *ctx)
{
    const fs_node *n = fs_node_get(map, key);
    if (!n || fs_node_is_null(n)) {
        if (required)
            ERR(L, map, "%s: missing required key '%s'", ctx, key);
        return NULL;
    }
    return scalar(L, n, ctx, key);
}

static const char *get_name(ld *L, const fs_node *map, const char *key, const char *ctx)
{
    const char *s = get_str(L, map, key, 1, ctx);
    if (s && !is_identifier(s)) {
        ERR(L, fs_node_get(map, key),
            "%s: '%s' is not a valid name (letters, digits and '_', not starting with a digit, "
            "at most 63 characters)",
            ctx, s);
        return NULL;
    }
    return s;
}

static int get_bool(ld *L, const fs_node *map, const char *key, int def, const char *ctx)
{
    const fs_node *n;
    const char *s = opt_scalar(L, map, key, ctx, &n);
    if (!s)
        return def;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes") || !strcmp(s, "on"))
        return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no") || !strcmp(s, "off"))
        return 0;
    ERR(L, n, "%s: '%s' must be true or false, got '%s'", ctx, key, s);
    return def;
}

static fs_opt_num get_num(ld *L, const fs_node *map, const char *key, const char *ctx)
{
    fs_opt_num o = {0, 0};
    const fs_node *n;
    const char *s = opt_scalar(L, map, key, ctx, &n);
    if (!s)
        return o;
    if (fs_parse_double(s, n->len, &o.v) != FS_OK || !isfinite(o.v))
        ERR(L, n, "%s: '%s' must be a finite number, got '%s'", ctx, key, s);
    else
        o.set = 1;
    return o;
}

static int64_t get_duration(ld *L, const fs_node *map, const char *key, int64_t def, const char *ctx)
{
    const fs_node *n;
    const char *s = opt_scalar(L, map, key, ctx, &n);
    if (!s)
        return def;
    int64_t ns;
    char msg[200];
    if (fs_parse_duration(s, n->len, &ns, msg, sizeof msg) != FS_OK) {
        ERR(L, n, "%s: '%s': %s", ctx, key, msg);
        return def;
    }
    return ns;
}

/* A list of scalars; a single scalar is taken as a list of one. */
static fs_strlist get_strlist(ld *L, const fs_node *map, const char *key, const char *ctx)
{
    fs_strlist l = {NULL, 0};
    const fs_node *n = fs_node_get(map, key);
    if (!n || fs_node_is_null(n))
        return l;
    if (n->kind == FS_NODE_SCALAR) {
        l.items = fs_arena_alloc(&L->r->arena, sizeof *l.items);
        if (l.items)
            l.items[l.n++] = n->str;
        return l;
    }
    if (n->kind != FS_NODE_SEQ) {
        ERR(L, n, "%s: '%s' must be a list, got %s", ctx, key, fs_node_kind_name(n));
        return l;
    }
    l.items = fs_arena_alloc(&L->r->arena, (n->n ? n->n : 1) * sizeof *l.items);
    for (size_t i = 0; l.items && i < n->n; i++) {
        const fs_node *it = n->items[i];
        if (it->kind != FS_NODE_SCALAR) {
            ERR(L, it, "%s: items of '%s' must be scalars, got %s", ctx, key, fs_node_kind_name(it));
            continue;
        }
        for (size_t j = 0; j < l.n; j++)
            if (strcmp(l.items[j], it->str) == 0) {
                ERR(L, it, "%s: '%s' lists '%s' twice", ctx, key, it->str);
                goto next;
            }
        l.items[l.n++] = it->str;
    next:;
    }
    return l;
}

/* Reports keys of `map` not in `allowed` (NULL-terminated), with a hint. */
static void check_keys(ld *L, const fs_node *map, const char *const *allowed, const char *ctx)
{
    size_t n_allowed = 0;
    while (allowed[n_allowed])
        n_allowed++;
    for (size_t i = 0; i < map->n; i++) {
        const fs_node *k = map->items[2 * i];
        size_t j = 0;
        while (j < n_allowed && strcmp(allowed[j], k->str) != 0)
            j++;
        if (j < n_allowed)
            continue;
        const char *hint = fs_suggest(k->str, allowed, n_allowed);
        if (hint)
            ERR(L, k, "%s: unknown key '%s' (did you mean '%s'?)", ctx, k->str, hint);
        else
            ERR(L, k, "%s: unknown key '%s'", ctx, k->str);
    }
}

static const char *ctxf(ld *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ctxf(ld *L, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    const char *s = fs_arena_strdup(&L->r->arena, buf);
    return s ? s : "?";
}

/* The section `key` of the root as a list of mappings (NULL-safe). */
static const fs_node *section(ld *L, const fs_node *root, const char *key)
{
    const fs_node *n = fs_node_get(root, key);
    if (!n || fs_node_is_null(n))
        return NULL;
    if (n->kind != FS_NODE_SEQ) {
        ERR(L, n, "'%s' must be a list of definitions (each starting with '- name: ...'), got %s",
            key, fs_node_kind_name(n));
        return NULL;
    }
    for (size_t i = 0; i < n->n; i++)
        if (n->items[i]->kind != FS_NODE_MAP)
            ERR(L, n->items[i], "each item of '%s' must be a mapping with a 'name', got %s", key,
                fs_node_kind_name(n->items[i]));
    return n;
}

/* ---- conversion of each kind --------------------------------------------- */

static void load_entity(ld *L, const fs_node *m, fs_entity_def *e)
{
    static const char *const keys[] = {"name", "join_keys", "description", "tags", NULL};
    e->node = m;
    e->name = get_name(L, m, "name", "entity");
    const char *ctx = ctxf(L, "entity '%s'", e->name ? e->name : "?");
    check_keys(L, m, keys, ctx);
    e->join_keys = get_strlist(L, m, "join_keys", ctx);
    if (!e->join_keys.n)
        ERR(L, m, "%s: 'join_keys' must list at least one column", ctx);
    for (size_t i = 0; i < e->join_keys.n; i++)
        if (!is_identifier(e->join_keys.items[i]))
            ERR(L, fs_node_get(m, "join_keys"), "%s: join key '%s' is not a valid column name", ctx,
                e->join_keys.items[i]);
    e->description = get_str(L, m, "description", 0, ctx);
    e->tags = get_strlist(L, m, "tags", ctx);
    e->builtin = e->name && fs_is_builtin(FS_KIND_ENTITY, e->name);
}

static void load_column(ld *L, const fs_node *m, fs_column_def *c, const char *src)
{
    static const char *const keys[] = {"name", "type", "nullable", "min", "max",
                                       "unit", "description", NULL};
    c->node = m;
    if (m->kind != FS_NODE_MAP) {
        ERR(L, m, "source '%s': each column must be a mapping with 'name' and 'type'", src);
        return;
    }
    c->name = get_name(L, m, "name", ctxf(L, "source '%s' column", src));
    const char *ctx = ctxf(L, "source '%s', column '%s'", src, c->name ? c->name : "?");
    check_keys(L, m, keys, ctx);
    const char *t = get_str(L, m, "type", 1, ctx);
    if (t) {
        int ti = fs_col_type_parse(t);
        if (ti < 0)
            ERR(L, fs_node_get(m, "type"),
                "%s: unknown column type '%s' (int64, float64, string, bool, timestamp, json)", ctx, t);
        else
            c->type = (fs_col_type)ti;
    }
    c->nullable = get_bool(L, m, "nullable", 0, ctx);
    c->min = get_num(L, m, "min", ctx);
    c->max = get_num(L, m, "max", ctx);
    if (c->min.set && c->max.set && c->min.v > c->max.v)
        ERR(L, fs_node_get(m, "min"), "%s: min %g is greater than max %g", ctx, c->min.v, c->max.v);
    if ((c->min.set || c->max.set) && c->type != FS_COL_INT64 && c->type != FS_COL_FLOAT64)
        ERR(L, m, "%s: min/max apply to numeric columns only", ctx);
    c->unit = get_str(L, m, "unit", 0, ctx);
    c->description = get_str(L, m, "description", 0, ctx);
}

static void load_source(ld *L, const fs_node *m, fs_source_def *s)
{
    static const char *const keys[] = {"name",        "entity",    "timestamp",      "available_after",
                                       "chunk_interval", "retention", "compress_after", "columns",
                                       "confidence",  "description", "owner",        "tags",
                                       NULL};
    s->node = m;
    s->name = get_name(L, m, "name", "source");
    const char *ctx = ctxf(L, "source '%s'", s->name ? s->name : "?");
    check_keys(L, m, keys, ctx);
    s->entity = get_str(L, m, "entity", 1, ctx);
    s->timestamp = get_str(L, m, "timestamp", 1, ctx);
    s->available_after = get_str(L, m, "available_after", 0, ctx);
    if (!s->available_after)
        s->available_after = "";
    s->confidence = get_str(L, m, "confidence", 0, ctx);
    s->chunk_interval_ns = get_duration(L, m, "chunk_interval", 86400LL * 1000000000LL, ctx);
    if (s->chunk_interval_ns <= 0)
        ERR(L, fs_node_get(m, "chunk_interval"), "%s: chunk_interval must be positive", ctx);
    s->retention_ns = get_duration(L, m, "retention", 0, ctx);
    s->compress_after_ns = get_duration(L, m, "compress_after", 0, ctx);
    if (s->retention_ns && s->compress_after_ns && s->compress_after_ns >= s->retention_ns)
        ERR(L, fs_node_get(m, "compress_after"),
            "%s: compress_after must be shorter than retention, or chunks are dropped before "
            "they are compressed",
            ctx);
    s->description = get_str(L, m, "description", 0, ctx);
    s->owner = get_str(L, m, "owner", 0, ctx);
    s->tags = get_strlist(L, m, "tags", ctx);
    s->builtin = s->name && fs_is_builtin(FS_KIND_SOURCE, s->name);
    const fs_node *cols = fs_node_get(m, "columns");
    if (!cols || cols->kind != FS_NODE_SEQ || cols->n == 0) {
        ERR(L, cols ? cols : m, "%s: 'columns' must be a non-empty list of columns", ctx);
        return;
    }
    s->columns = fs_arena_alloc(&L->r->arena, cols->n * sizeof *s->columns);
    if (!s->columns)
        return;
    for (size_t i = 0; i < cols->n; i++) {
        fs_column_def *c = &s->columns[s->n_columns];
        load_column(L, cols->items[i], c, s->name ? s->name : "?");
        if (!c->name)
            continue;
        if (fs_source_column(s, c->name)) {
            ERR(L, cols->items[i], "%s: column '%s' declared twice", ctx, c->name);
            continue;
        }
        s->n_columns++;
    }
}

/* A mapping of scalars into key/value pairs (indicator params and inputs). */
static fs_kv *get_kvs(ld *L, const fs_node *map, const char *key, size_t *n, const char *ctx)
{
    *n = 0;
    const fs_node *m = fs_node_get(map, key);
    if (!m || fs_node_is_null(m))
        return NULL;
    if (m->kind != FS_NODE_MAP) {
        ERR(L, m, "%s: '%s' must be a mapping (e.g. {period: 14}), got %s", ctx, key,
            fs_node_kind_name(m));
        return NULL;
    }
    fs_kv *kv = fs_arena_alloc(&L->r->arena, (m->n ? m->n : 1) * sizeof *kv);
    for (size_t i = 0; kv && i < m->n; i++) {
        const fs_node *v = m->items[2 * i + 1];
        if (v->kind != FS_NODE_SCALAR) {
            ERR(L, v, "%s: %s.%s must be a scalar", ctx, key, m->items[2 * i]->str);
            continue;
        }
        kv[*n].key = m->items[2 * i]->str;
        kv[*n].value = v->str;
        (*n)++;
    }
    return kv;
}

static void parse_feature_type(ld *L, const fs_node *m, fs_feature_def *f, const char *ctx)
{
    const char *t = get_str(L, m, "type", 0, ctx);
    f->type = FS_FT_NUMERIC; /* the common case may be left implicit */
    if (!t)
        return;
    for (int i = 0; i < FS_FT_TYPE_COUNT; i++)
        if (i != FS_FT_VECTOR && strcmp(t, fs_feature_type_name((fs_feature_type)i)) == 0) {
            f->type = (fs_feature_type)i;
            return;
        }
    int len = 0, used = 0;
    if (sscanf(t, "vector[%d]%n", &len, &used) == 1 && t[used] == 0 && used > 0) {
        if (len < 1 || len > 65536)
            ERR(L, fs_node_get(m, "type"), "%s: vector length must be 1..65536, got %d", ctx, len);
        f->type = FS_FT_VECTOR;
        f->vector_len = len;
        return;
    }
    ERR(L, fs_node_get(m, "type"),
        "%s: unknown type '%s' (numeric, categorical, boolean, timestamp, vector[N])", ctx, t);
}

static void load_feature(ld *L, const fs_node *m, fs_feature_def *f, const char *view)
{
    static const char *const keys[] = {"name",   "type",   "category",  "unit", "min",
                                       "max",    "description", "tags",  "owner", "from",
                                       "indicator", "params", "output", "input", "inputs",
                                       "expr",   NULL};
    f->node = m;
    f->name = get_name(L, m, "name", ctxf(L, "view '%s' feature", view));
    const char *ctx = ctxf(L, "view '%s', feature '%s'", view, f->name ? f->name : "?");
    check_keys(L, m, keys, ctx);
    parse_feature_type(L, m, f, ctx);
    f->category = get_str(L, m, "category", 0, ctx);
    if (f->category) {
        size_t i = 0;
        while (i < fs_n_feature_categories && strcmp(fs_feature_categories[i], f->category) != 0)
            i++;
        if (i == fs_n_feature_categories) {
            const char *hint = fs_suggest(f->category, fs_feature_categories, fs_n_feature_categories);
            ERR(L, fs_node_get(m, "category"),
                "%s: unknown category '%s'%s%s%s (market, liquidity, orderflow, derivatives, "
                "sentiment, onchain, technical, quality, scoring)",
                ctx, f->category, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        }
    }
    f->unit = get_str(L, m, "unit", 0, ctx);
    f->description = get_str(L, m, "description", 0, ctx);
    f->owner = get_str(L, m, "owner", 0, ctx);
    f->tags = get_strlist(L, m, "tags", ctx);
    f->min = get_num(L, m, "min", ctx);
    f->max = get_num(L, m, "max", ctx);
    if (f->min.set && f->max.set && f->min.v > f->max.v)
        ERR(L, fs_node_get(m, "min"), "%s: min %g is greater than max %g", ctx, f->min.v, f->max.v);
    if ((f->min.set || f->max.set) && f->type != FS_FT_NUMERIC)
        ERR(L, m, "%s: min/max apply to numeric features only", ctx);

    f->from = get_str(L, m, "from", 0, ctx);
    f->indicator = get_str(L, m, "indicator", 0, ctx);
    f->expr = get_str(L, m, "expr", 0, ctx);
    int ways = (f->from != NULL) + (f->indicator != NULL) + (f->expr != NULL);
    if (ways != 1)
        ERR(L, m,
            "%s: say how the feature is produced with exactly one of 'from: COLUMN', "
            "'indicator: NAME' or 'expr: EXPRESSION' (found %d)",
            ctx, ways);
    f->how = f->indicator ? FS_PROD_INDICATOR : f->expr ? FS_PROD_EXPR : FS_PROD_FROM;
    f->params = get_kvs(L, m, "params", &f->n_params, ctx);
    f->output = get_str(L, m, "output", 0, ctx);
    f->inputs = get_kvs(L, m, "inputs", &f->n_inputs, ctx);
    const char *input = get_str(L, m, "input", 0, ctx);
    if (input) { /* `input: COLUMN` is shorthand for the single input role */
        if (f->n_inputs)
            ERR(L, fs_node_get(m, "input"), "%s: give either 'input' or 'inputs', not both", ctx);
        f->inputs = fs_arena_alloc(&L->r->arena, sizeof *f->inputs);
        if (f->inputs) {
            f->inputs[0].key = "";
            f->inputs[0].value = input;
            f->n_inputs = 1;
        }
    }
    if (f->how != FS_PROD_INDICATOR && (f->n_params || f->output || f->n_inputs))
        ERR(L, m, "%s: 'params', 'output', 'input' and 'inputs' belong to indicator features", ctx);
}

static void load_view(ld *L, const fs_node *m, fs_view_def *v)
{
    static const char *const keys[] = {"name",  "entity", "source", "ttl",      "online",
                                       "owner", "description", "tags", "features", NULL};
    v->node = m;
    v->name = get_name(L, m, "name", "view");
    const char *ctx = ctxf(L, "view '%s'", v->name ? v->name : "?");
    check_keys(L, m, keys, ctx);
    v->entity = get_str(L, m, "entity", 1, ctx);
    v->source = get_str(L, m, "source", 1, ctx);
    v->ttl_ns = get_duration(L, m, "ttl", 0, ctx);
    v->online = get_bool(L, m, "online", 0, ctx);
    v->owner = get_str(L, m, "owner", 0, ctx);
    v->description = get_str(L, m, "description", 0, ctx);
    v->tags = get_strlist(L, m, "tags", ctx);
    const fs_node *fl = fs_node_get(m, "features");
    if (!fl || fl->kind != FS_NODE_SEQ || fl->n == 0) {
        ERR(L, fl ? fl : m, "%s: 'features' must be a non-empty list of features", ctx);
        return;
    }
    v->features = fs_arena_alloc(&L->r->arena, fl->n * sizeof *v->features);
    for (size_t i = 0; v->features && i < fl->n; i++) {
        const fs_node *fm = fl->items[i];
        if (fm->kind != FS_NODE_MAP) {
            ERR(L, fm, "%s: each feature must be a mapping with a 'name'", ctx);
            continue;
        }
        fs_feature_def *f = &v->features[v->n_features];
        load_feature(L, fm, f, v->name ? v->name : "?");
        if (!f->name)
            continue;
        if (fs_view_feature(v, f->name)) {
            ERR(L, fm, "%s: feature '%s' declared twice", ctx, f->name);
            continue;
        }
        v->n_features++;
    }
}

static void load_service(ld *L, const fs_node *m, fs_service_def *s)
{
    static const char *const keys[] = {"name", "description", "owner", "features", "tags", NULL};
    s->node = m;
    s->name = get_name(L, m, "name", "service");
    const char *ctx = ctxf(L, "service '%s'", s->name ? s->name : "?");
    check_keys(L, m, keys, ctx);
    s->description = get_str(L, m, "description", 0, ctx);
    s->owner = get_str(L, m, "owner", 0, ctx);
    s->tags = get_strlist(L, m, "tags", ctx);
    s->features = get_strlist(L, m, "features", ctx);
    if (!s->features.n)
        ERR(L, m, "%s: 'features' must list at least one 'view:feature' or 'view'", ctx);
}

static void load_expectation(ld *L, const fs_node *m, fs_expectation *x, const char *contract)
{
    static const char *const keys[] = {"feature", "type", "min", "max",
                                       "max_null_ratio", "max_staleness", NULL};
    x->node = m;
    const char *ctx = ctxf(L, "contract '%s' expectation", contract);
    if (m->kind != FS_NODE_MAP) {
        ERR(L, m, "%s: must be a mapping with a 'feature'", ctx);
        return;
    }
    check_keys(L, m, keys, ctx);
    x->feature = get_str(L, m, "feature", 1, ctx);
    x->type = get_str(L, m, "type", 0, ctx);
    x->min = get_num(L, m, "min", ctx);
    x->max = get_num(L, m, "max", ctx);
    if (x->min.set && x->max.set && x->min.v > x->max.v)
        ERR(L, fs_node_get(m, "min"), "%s: min %g is greater than max %g", ctx, x->min.v, x->max.v);
    x->max_null_ratio = get_num(L, m, "max_null_ratio", ctx);
    if (x->max_null_ratio.set && (x->max_null_ratio.v < 0 || x->max_null_ratio.v > 1))
        ERR(L, fs_node_get(m, "max_null_ratio"), "%s: max_null_ratio must be within [0, 1], got %g",
            ctx, x->max_null_ratio.v);
    x->max_staleness_ns = get_duration(L, m, "max_staleness", 0, ctx);
}

static void load_contract(ld *L, const fs_node *m, fs_contract_def *c)
{
    static const char *const keys[] = {"name", "description", "owner", "features", "tags", NULL};
    c->node = m;
    c->name = get_name(L, m, "name", "contract");
    const char *ctx = ctxf(L, "contract '%s'", c->name ? c->name : "?");
    check_keys(L, m, keys, ctx);
    c->description = get_str(L, m, "description", 0, ctx);
    c->owner = get_str(L, m, "owner", 0, ctx);
    c->tags = get_strlist(L, m, "tags", ctx);
    const fs_node *fl = fs_node_get(m, "features");
    if (!fl || fl->kind != FS_NODE_SEQ || fl->n == 0) {
        ERR(L, fl ? fl : m, "%s: 'features' must be a non-empty list of expectations", ctx);
        return;
    }
    c->expect = fs_arena_alloc(&L->r->arena, fl->n * sizeof *c->expect);
    for (size_t i = 0; c->expect && i < fl->n; i++)
        load_expectation(L, fl->items[i], &c->expect[c->n_expect++], c->name ? c->name : "?");
}

/* ---- built-in merge ------------------------------------------------------ */

/* Keys a user may set when re-declaring a built-in. */
static const char *const source_overlay_keys[] = {"name", "chunk_interval", "retention",
                                                  "compress_after", "description", "owner",
                                                  "tags", NULL};
static const char *const entity_overlay_keys[] = {"name", "join_keys", "description", "tags", NULL};

static const fs_node *find_named(const fs_node *list, const char *name)
{
    for (size_t i = 0; list && i < list->n; i++) {
        const fs_node *nm = fs_node_get(list->items[i], "name");
        if (nm && nm->kind == FS_NODE_SCALAR && strcmp(nm->str, name) == 0)
            return list->items[i];
    }
    return NULL;
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* base with the allowed pairs of `over` replacing or adding keys (the others
 * were reported; applying them would only add follow-on errors). */
static fs_node *overlay(fs_arena *a, const fs_node *base, const fs_node *over,
                        const char *const *allowed)
{
    fs_node *m = fs_arena_alloc(a, sizeof *m);
    if (!m)
        return NULL;
    *m = *over; /* positions of the user's declaration */
    m->items = fs_arena_alloc(a, 2 * (base->n + over->n) * sizeof *m->items);
    if (!m->items)
        return NULL;
    m->n = 0;
    for (size_t i = 0; i < base->n; i++) {
        const char *key = base->items[2 * i]->str;
        const fs_node *v = in_list(allowed, key) ? fs_node_get(over, key) : NULL;
        m->items[2 * m->n] = base->items[2 * i];
        m->items[2 * m->n + 1] = v ? (fs_node *)v : base->items[2 * i + 1];
        m->n++;
    }
    for (size_t i = 0; i < over->n; i++)
        if (in_list(allowed, over->items[2 * i]->str) && !fs_node_get(base, over->items[2 * i]->str)) {
            m->items[2 * m->n] = over->items[2 * i];
            m->items[2 * m->n + 1] = over->items[2 * i + 1];
            m->n++;
        }
    return m;
}

/* The section of the merged document: built-ins (possibly overlaid) first,
 * then the user's own definitions. */
static fs_node *merge_section(ld *L, const fs_node *builtin, const fs_node *user,
                              const char *const *overlay_keys, const char *what)
{
    fs_arena *a = &L->r->arena;
    fs_node *out = fs_arena_alloc(a, sizeof *out);
    size_t cap = (builtin ? builtin->n : 0) + (user ? user->n : 0);
    if (!out || !(out->items = fs_arena_alloc(a, (cap ? cap : 1) * sizeof *out->items)))
        return NULL;
    out->kind = FS_NODE_SEQ;
    for (size_t i = 0; builtin && i < builtin->n; i++) {
        const fs_node *b = builtin->items[i];
        const fs_node *u = find_named(user, fs_node_get(b, "name")->str);
        if (u && u->kind == FS_NODE_MAP) {
            const char *ctx = ctxf(L, "built-in %s '%s'", what, fs_node_get(b, "name")->str);
            for (size_t k = 0; k < u->n; k++) {
                const char *key = u->items[2 * k]->str;
                if (!in_list(overlay_keys, key))
                    ERR(L, u->items[2 * k],
                        "%s: '%s' of a built-in cannot be changed; a re-declaration may set only "
                        "%s",
                        ctx, key, what[0] == 's' ? "chunk_interval, retention, compress_after, "
                                                    "description, owner and tags"
                                                  : "description and tags");
            }
            const fs_node *jk = fs_node_get(u, "join_keys");
            if (jk) { /* re-stating the built-in's keys is fine, changing them is not */
                const fs_node *bj = fs_node_get(b, "join_keys");
                int same = jk->kind == FS_NODE_SEQ && jk->n == bj->n;
                for (size_t k = 0; same && k < jk->n; k++)
                    same = jk->items[k]->kind == FS_NODE_SCALAR &&
                           strcmp(jk->items[k]->str, bj->items[k]->str) == 0;
                if (!same)
                    ERR(L, jk, "%s: join_keys of a built-in cannot be changed", ctx);
            }
            out->items[out->n++] = overlay(a, b, u, overlay_keys);
        } else {
            out->items[out->n++] = (fs_node *)b;
        }
    }
    for (size_t i = 0; user && i < user->n; i++) {
        const fs_node *u = user->items[i];
        const fs_node *nm = fs_node_get(u, "name");
        if (builtin && nm && nm->kind == FS_NODE_SCALAR && find_named(builtin, nm->str)) {
            if (find_named(user, nm->str) != u) /* only the first was overlaid */
                ERR(L, u, "%s '%s' is defined twice", what, nm->str);
            continue;
        }
        out->items[out->n++] = (fs_node *)u;
    }
    return out;
}

/* ---- entry point --------------------------------------------------------- */

#define LOAD_SECTION(L, list, arr, cnt, fn, kindname)                                               \
    do {                                                                                          \
        if (list) {                                                                               \
            (arr) = fs_arena_alloc(&(L)->r->arena, ((list)->n ? (list)->n : 1) * sizeof *(arr));  \
            for (size_t i_ = 0; (arr) && i_ < (list)->n; i_++) {                                  \
                if ((list)->items[i_]->kind != FS_NODE_MAP)                                       \
                    continue;                                                                     \
                fn((L), (list)->items[i_], &(arr)[(cnt)]);                                          \
                if (!(arr)[(cnt)].name)                                                             \
                    continue;                                                                     \
                int dup_ = 0;                                                                     \
                for (size_t j_ = 0; j_ < (cnt); j_++)                                               \
                    dup_ |= strcmp((arr)[j_].name, (arr)[(cnt)].name) == 0;                         \
                if (dup_) {                                                                       \
                    ERR((L), (list)->items[i_], "%s '%s' is defined twice", kindname,             \
                        (arr)[(cnt)].name);                                                         \
                    continue;                                                                     \
                }                                                                                 \
                (cnt)++;                                                                            \
            }                                                                                     \
        }                                                                                         \
    } while (0)

fs_registry *fs_registry_load(const char *name, const char *text, size_t len, fs_load_mode mode,
                              fs_diag *diag)
{
    fs_arena arena = {0};
    fs_registry *r = fs_arena_alloc(&arena, sizeof *r);
    if (!r) {
        fs_diag_add(diag, name, 0, 0, "out of memory");
        fs_arena_free(&arena);
        return NULL;
    }
    r->arena = arena;
    r->file = fs_arena_strdup(&r->arena, name);
    int before = diag->count;
    ld L = {r, diag};

    const fs_node *root = mode == FS_LOAD_JSON_CATALOG
                              ? fs_node_from_json(&r->arena, name, text, len, diag)
                              : fs_node_from_yaml(&r->arena, name, text, len, diag);
    if (!root)
        goto fail;
    if (root->kind != FS_NODE_MAP) {
        ERR(&L, root, "the top level must be a mapping with entities, sources, views, services "
                      "and contracts, got %s",
            fs_node_kind_name(root));
        goto fail;
    }
    static const char *const top_keys[] = {"entities", "sources", "views", "services", "contracts", NULL};
    check_keys(&L, root, top_keys, "definitions file");

    const fs_node *entities = section(&L, root, "entities");
    const fs_node *sources = section(&L, root, "sources");
    if (mode == FS_LOAD_YAML_USER) {
        size_t blen;
        const char *btext = fs_builtin_yaml(&blen);
        const fs_node *broot = fs_node_from_yaml(&r->arena, "<built-in>", btext, blen, diag);
        if (!broot)
            goto fail;
        entities = merge_section(&L, fs_node_get(broot, "entities"), entities, entity_overlay_keys,
                                 "entity");
        sources = merge_section(&L, fs_node_get(broot, "sources"), sources, source_overlay_keys,
                                "source");
    }
    const fs_node *views = section(&L, root, "views");
    const fs_node *services = section(&L, root, "services");
    const fs_node *contracts = section(&L, root, "contracts");

    LOAD_SECTION(&L, entities, r->entities, r->n_entities, load_entity, "entity");
    LOAD_SECTION(&L, sources, r->sources, r->n_sources, load_source, "source");
    LOAD_SECTION(&L, views, r->views, r->n_views, load_view, "view");
    LOAD_SECTION(&L, services, r->services, r->n_services, load_service, "service");
    LOAD_SECTION(&L, contracts, r->contracts, r->n_contracts, load_contract, "contract");

    /* Cross-references are checked even after local errors, so one run
     * reports everything; validation skips fields that failed to load. */
    fs_registry_validate(r, diag);
    if (diag->count != before)
        goto fail;
    return r;
fail:
    fs_registry_free(r);
    return NULL;
}
