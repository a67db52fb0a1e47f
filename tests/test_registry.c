/* Registry tests: the YAML loader (good files and every kind of mistake,
 * with exact file:line:column), validation, canonical JSON round trips, the
 * catalog's versioning and diff, crash safety of apply (the process killed
 * at each step of the atomic replace), concurrent applies, listing and
 * describe/lineage through the public API. */
#include "test.h"

#include "fstore.h"
#include "core/fileio.h"
#include "registry/catalog.h"
#include "registry/defs_json.h"
#include "registry/load.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A definitions file exercising every kind of definition. */
static const char GOOD[] =
    "entities:\n"
    "  - name: asset\n"
    "    join_keys: [symbol]\n"
    "sources:\n"
    "  - name: book\n"
    "    entity: market\n"
    "    timestamp: ts\n"
    "    retention: 90d\n"
    "    compress_after: 7d\n"
    "    columns:\n"
    "      - {name: symbol, type: string}\n"
    "      - {name: tf, type: string}\n"
    "      - {name: ts, type: timestamp}\n"
    "      - {name: bid, type: float64, min: 0}\n"
    "      - {name: ask, type: float64, min: 0}\n"
    "views:\n"
    "  - name: tech\n"
    "    entity: market\n"
    "    source: candles\n"
    "    ttl: 2h\n"
    "    online: true\n"
    "    tags: [trading]\n"
    "    features:\n"
    "      - {name: close, from: c, category: market}\n"
    "      - {name: rsi_14, indicator: rsi, params: {period: 14}, category: technical, min: 0, max: 100}\n"
    "      - {name: macd_sig, indicator: macd, params: {fast_period: 12, slow_period: 26, signal_period: 9}, output: signal, category: technical}\n"
    "      - {name: rsi_high, type: boolean, expr: rsi_14 > 70, category: technical}\n"
    "  - name: micro\n"
    "    entity: market\n"
    "    source: book\n"
    "    features:\n"
    "      - {name: spread_bps, expr: \"(ask - bid) / ((ask + bid) / 2) * 10000\", category: liquidity}\n"
    "      - {name: spread_vs_close, expr: spread_bps / tech.close, category: liquidity}\n"
    "services:\n"
    "  - name: live\n"
    "    features: [tech:rsi_14, micro]\n"
    "contracts:\n"
    "  - name: ranges\n"
    "    features:\n"
    "      - {feature: tech:rsi_14, type: numeric, min: 0, max: 100, max_null_ratio: 0.01, max_staleness: 2h}\n";

static fs_registry *load_yaml(const char *text, fs_diag *d)
{
    return fs_registry_load("defs.yaml", text, strlen(text), FS_LOAD_YAML_USER, d);
}

TEST(builtins_load)
{
    fs_diag d = {0};
    fs_registry *r = fs_registry_builtin(&d);
    CHECK(r != NULL);
    CHECK_STR(fs_diag_str(&d), "");
    if (r) {
        const fs_source_def *c = fs_reg_source(r, "candles");
        CHECK(c && c->builtin);
        CHECK_STR(c ? c->available_after : NULL, "tf");
        CHECK_STR(c ? c->timestamp : NULL, "ts");
        CHECK_INT(c ? c->n_columns : 0, 10);
        CHECK(fs_reg_source(r, "signals") && fs_reg_source(r, "retrain_queue"));
        const fs_entity_def *m = fs_reg_entity(r, "market");
        CHECK(m && m->join_keys.n == 2 && strcmp(m->join_keys.items[1], "tf") == 0);
    }
    fs_registry_free(r);
    fs_diag_free(&d);
}

TEST(good_file_loads_every_field)
{
    fs_diag d = {0};
    fs_registry *r = load_yaml(GOOD, &d);
    CHECK_STR(fs_diag_str(&d), "");
    CHECK(r != NULL);
    if (!r)
        return;
    const fs_view_def *v = fs_reg_view(r, "tech");
    CHECK(v && v->online && v->ttl_ns == 7200LL * 1000000000LL);
    const fs_feature_def *f = fs_reg_feature(r, "tech:macd_sig", NULL);
    CHECK(f && f->how == FS_PROD_INDICATOR && strcmp(f->output, "signal") == 0 && f->n_params == 3);
    f = fs_reg_feature(r, "tech:rsi_high", NULL);
    CHECK(f && f->type == FS_FT_BOOLEAN && f->how == FS_PROD_EXPR);
    const fs_source_def *s = fs_reg_source(r, "book");
    CHECK(s && s->retention_ns == 90LL * 86400 * 1000000000LL && s->compress_after_ns == 7LL * 86400 * 1000000000LL);
    CHECK(s && s->chunk_interval_ns == 86400LL * 1000000000LL); /* the default */
    CHECK_INT(r->n_entities, 3); /* two built-ins + asset */
    CHECK_INT(r->n_sources, 4);
    fs_registry_free(r);
    fs_diag_free(&d);
}

/* Every mistake is reported, each at its own line and column. */
TEST(every_error_listed_with_position)
{
    const char *bad =
        "views:\n"                                                   /* 1 */
        "  - name: tech\n"                                           /* 2 */
        "    entity: market\n"                                       /* 3 */
        "    source: candles\n"                                      /* 4 */
        "    ttl: 2 hours\n"                                         /* 5 */
        "    onlne: true\n"                                          /* 6 */
        "    features:\n"                                            /* 7 */
        "      - name: rsi\n"                                        /* 8 */
        "        indicator: rsii\n"                                  /* 9 */
        "      - name: rsi_2\n"                                      /* 10 */
        "        indicator: rsi\n"                                   /* 11 */
        "        params: {period: 1}\n"                              /* 12 */
        "      - name: x\n"                                          /* 13 */
        "        expr: c + * 2\n"                                    /* 14 */
        "      - name: y\n"                                          /* 15 */
        "        category: technicl\n"                               /* 16 */
        "        from: nope\n"                                       /* 17 */
        "  - name: other\n"                                          /* 18 */
        "    entity: markt\n"                                        /* 19 */
        "    source: candles\n"                                      /* 20 */
        "    features:\n"                                            /* 21 */
        "      - {name: z, from: c}\n"                               /* 22 */
        "services:\n"                                                /* 23 */
        "  - name: s\n"                                              /* 24 */
        "    features: [tech:missing]\n";                            /* 25 */
    fs_diag d = {0};
    fs_registry *r = load_yaml(bad, &d);
    CHECK(r == NULL);
    const char *m = fs_diag_str(&d);
    CHECK_CONTAINS(m, "defs.yaml:5:10: view 'tech': 'ttl': ");
    CHECK_CONTAINS(m, "defs.yaml:6:5: view 'tech': unknown key 'onlne' (did you mean 'online'?)");
    CHECK_CONTAINS(m, "defs.yaml:9:20: view 'tech', feature 'rsi': unknown indicator 'rsii' (did you mean 'rsi'?)");
    CHECK_CONTAINS(m, "defs.yaml:12:26: view 'tech', feature 'rsi_2': param 'period' of rsi must be");
    /* the expression error points into the expression: '*' is its 5th character */
    CHECK_CONTAINS(m, "defs.yaml:14:19: view 'tech', feature 'x': expression column 5:");
    CHECK_CONTAINS(m, "defs.yaml:16:19: view 'tech', feature 'y': unknown category 'technicl'; did you mean 'technical'?");
    CHECK_CONTAINS(m, "defs.yaml:17:15: view 'tech', feature 'y': source 'candles' has no column 'nope'");
    CHECK_CONTAINS(m, "defs.yaml:19:13: view 'other': unknown entity 'markt'");
    CHECK_CONTAINS(m, "defs.yaml:25:15: service 's': unknown feature 'tech:missing'");
    CHECK_INT(d.count, 9);
    fs_diag_free(&d);
}

TEST(syntax_error_has_position)
{
    fs_diag d = {0};
    fs_registry *r = load_yaml("views:\n  - name: a\n    features: [x\n", &d);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d), "defs.yaml:4:1: YAML syntax error:");
    fs_diag_free(&d);

    fs_diag d2 = {0};
    r = load_yaml("views:\n  - name: a\n    name: b\n", &d2);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d2), "defs.yaml:3:5: duplicate key 'name' in this mapping");
    fs_diag_free(&d2);

    fs_diag d3 = {0};
    r = load_yaml("- just\n- a list\n", &d3);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d3), "the top level must be a mapping");
    fs_diag_free(&d3);
}

TEST(structural_mistakes)
{
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"views: {a: 1}\n", "'views' must be a list of definitions"},
        {"views:\n  - name: 9lives\n    entity: market\n    source: candles\n    features: [{name: a, from: c}]\n",
         "'9lives' is not a valid name"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n", "'features' must be a non-empty list"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a}]\n",
         "exactly one of 'from: COLUMN', 'indicator: NAME' or 'expr: EXPRESSION' (found 0)"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, expr: c}]\n",
         "(found 2)"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c}, {name: a, from: o}]\n",
         "feature 'a' declared twice"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, type: \"vector[0]\"}]\n",
         "vector length must be 1..65536"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, min: 5, max: 1}]\n",
         "min 5 is greater than max 1"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: symbol}]\n",
         "a numeric feature cannot be taken from string column 'symbol'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: macd}]\n",
         "macd has several outputs; choose one with 'output:' (macd, signal, hist)"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: macd, output: sig}]\n",
         "macd has no output 'sig'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: macd, output: signal, params: {fast_period: 30, slow_period: 26}}]\n",
         "fast_period (30) must be less than slow_period (26)"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: rsi, params: {perod: 3}}]\n",
         "rsi has no parameter 'perod' (did you mean 'period'?)"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: correlation, output: value}]\n",
         "correlation needs parameter 'reference'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: rsi, input: vwapp}]\n",
         "input 'price' of rsi reads column 'vwapp'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, indicator: atr, input: c}]\n",
         "atr reads 3 inputs"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, params: {period: 3}}]\n",
         "belong to indicator features"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, expr: c > 1}]\n",
         "the expression is boolean but the feature is declared numeric"},
        {"views:\n  - name: v\n    entity: asset\n    source: candles\n    features: [{name: a, from: c}]\n",
         "unknown entity 'asset'"},
        {"entities: [{name: asset, join_keys: [symbol]}]\n"
         "views:\n  - name: v\n    entity: asset\n    source: candles\n    features: [{name: a, from: c}]\n",
         "source 'candles' describes entity 'market', not the view's entity 'asset'"},
        {"sources:\n  - name: candles\n    retention: 30d\n    columns: [{name: x, type: int64}]\n",
         "'columns' of a built-in cannot be changed"},
        {"entities: [{name: market, join_keys: [symbol]}]\n", "join_keys of a built-in cannot be changed"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string}, {name: ts, type: string}]\n",
         "entity 'market' is keyed by 'tf', which is not a column of the source"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string}, {name: tf, type: string}, {name: ts, type: string}]\n",
         "timestamp column 'ts' must have type timestamp, not string"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    available_after: soon\n    columns: [{name: symbol, type: string}, {name: tf, type: string}, {name: ts, type: timestamp}]\n",
         "available_after 'soon' is neither a column nor a duration"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    retention: 7d\n    compress_after: 30d\n    columns: [{name: symbol, type: string}, {name: tf, type: string}, {name: ts, type: timestamp}]\n",
         "compress_after must be shorter than retention"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string}, {name: tf, type: strng}, {name: ts, type: timestamp}]\n",
         "unknown column type 'strng'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    ttl: 1M\n    features: [{name: a, from: c}]\n",
         "months and years have no fixed length"},
        {"contracts:\n  - name: c\n    features: [{feature: nope:x, max_null_ratio: 2}]\n",
         "max_null_ratio must be within [0, 1], got 2"},
        {"contracts:\n  - name: c\n    features: [{feature: nope:x}]\n", "contract 'c': unknown feature 'nope:x'"},
        {"services: [{name: s, features: []}]\n", "'features' must list at least one"},
        {"services: [{name: s, features: [a, a]}]\n", "'features' lists 'a' twice"},
        {"viewz: []\n", "unknown key 'viewz' (did you mean 'views'?)"},
        {"services: [{name: s, features: [v]}, {name: s, features: [v]}]\n", "service 's' is defined twice"},
        {"a: &x [*x]\n", "defs.yaml:1:4: nesting deeper than 64 levels (or a recursive alias)"},
        {"views: &x\n  - name: v\n    features: *x\n", "recursive alias"},
        {"sources: [{name: candles, retention: 1d}, {name: candles}]\n", "source 'candles' is defined twice"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, max: .inf}]\n",
         "'max' must be a finite number, got '.inf'"},
        {"views:\n  - name: v\n    entity: market\n    source: candles\n    features: [{name: a, from: c, type: boolean, min: 0}]\n",
         "min/max apply to numeric features only"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string, nullable: true}, {name: tf, type: string}, {name: ts, type: timestamp}]\n",
         "join key column 'symbol' cannot be nullable"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string}, {name: tf, type: string}, {name: ts, type: timestamp, nullable: true}]\n",
         "timestamp column 'ts' cannot be nullable"},
        {"sources:\n  - name: s\n    entity: market\n    timestamp: ts\n    columns: [{name: symbol, type: string}, {name: tf, type: string}, {name: ts, type: timestamp}, {name: e, type: json}]\n"
         "views:\n  - name: v\n    entity: market\n    source: s\n    features: [{name: emb, type: \"vector[3]\", from: e}]\n"
         "contracts:\n  - name: c\n    features: [{feature: v:emb, type: \"vector[4]\"}]\n",
         "expects v:emb to be vector[4], but it is declared vector[3]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_diag d = {0};
        fs_registry *r = load_yaml(cases[i].yaml, &d);
        CHECK(r == NULL);
        if (!strstr(fs_diag_str(&d), cases[i].expect))
            fprintf(stderr, "  case %zu: %s", i, fs_diag_str(&d));
        CHECK_CONTAINS(fs_diag_str(&d), cases[i].expect);
        fs_registry_free(r);
        fs_diag_free(&d);
    }
}

/* A forbidden key on a built-in is reported once, and not applied (which
 * would only add follow-on errors pointing into the built-ins' text). */
TEST(builtin_overlay_reports_once)
{
    fs_diag d = {0};
    fs_registry *r = load_yaml("sources:\n  - name: candles\n    columns: []\n", &d);
    CHECK(r == NULL);
    CHECK_INT(d.count, 1);
    CHECK_CONTAINS(fs_diag_str(&d), "defs.yaml:3:5: built-in source 'candles': 'columns' of a built-in cannot be changed");
    fs_diag_free(&d);
}

/* Expression errors inside block scalars name the value's start, not a
 * column past the end of some line. */
TEST(expression_error_positions)
{
    const char *y = "views:\n  - name: v\n    entity: market\n    source: candles\n    features:\n"
                    "      - name: a\n        expr: >-\n          c +\n          * 2\n"
                    "      - name: b\n        expr: \"c + ) \"\n";
    fs_diag d = {0};
    fs_registry *r = load_yaml(y, &d);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d), "defs.yaml:7:15: view 'v', feature 'a': expression column");
    CHECK_CONTAINS(fs_diag_str(&d), "defs.yaml:11:20: view 'v', feature 'b': expression column 5");
    fs_diag_free(&d);
}

TEST(hostile_yaml_fails_cleanly)
{
    /* 10000 nested flow sequences */
    size_t n = 10000;
    char *deep = malloc(2 * n + 16);
    strcpy(deep, "views: ");
    size_t k = strlen(deep);
    for (size_t i = 0; i < n; i++)
        deep[k++] = '[';
    for (size_t i = 0; i < n; i++)
        deep[k++] = ']';
    deep[k] = 0;
    fs_diag d = {0};
    fs_registry *r = load_yaml(deep, &d);
    CHECK(r == NULL);
    CHECK(d.count >= 1);
    free(deep);
    fs_diag_free(&d);

    /* a second document would be silently ignored: refused instead */
    fs_diag d2 = {0};
    r = load_yaml("views: []\n---\nviews: []\n", &d2);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d2), "defs.yaml:3:1: a second YAML document");
    fs_diag_free(&d2);

    /* empty file: only built-ins */
    fs_diag d3 = {0};
    r = load_yaml("", &d3);
    CHECK(r != NULL && r->n_views == 0 && r->n_sources == 3);
    fs_registry_free(r);
    fs_diag_free(&d3);
}

TEST(dependency_cycles_detected)
{
    const char *y =
        "views:\n"
        "  - name: v\n"
        "    entity: market\n"
        "    source: candles\n"
        "    features:\n"
        "      - {name: a, expr: b + 1}\n"
        "      - {name: b, expr: w.c * 2}\n"
        "  - name: w\n"
        "    entity: market\n"
        "    source: candles\n"
        "    features:\n"
        "      - {name: c, expr: v.a - 1}\n";
    fs_diag d = {0};
    fs_registry *r = load_yaml(y, &d);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d), "dependency cycle: v:a -> v:b -> w:c -> v:a");
    fs_diag_free(&d);

    fs_diag d2 = {0};
    r = load_yaml("views:\n  - name: v\n    entity: market\n    source: candles\n"
                  "    features: [{name: a, expr: a + 1}]\n", &d2);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_diag_str(&d2), "dependency cycle: v:a -> v:a");
    fs_diag_free(&d2);
}

TEST(canonical_json_round_trips)
{
    fs_diag d = {0};
    fs_registry *r = load_yaml(GOOD, &d);
    CHECK(r != NULL);
    if (!r)
        return;
    json_t *j1 = fs_registry_to_json(r);
    char *t1 = fs_json_canonical(j1);
    fs_registry *r2 = fs_registry_load("cat", t1, strlen(t1), FS_LOAD_JSON_CATALOG, &d);
    CHECK_STR(fs_diag_str(&d), "");
    CHECK(r2 != NULL);
    if (r2) {
        json_t *j2 = fs_registry_to_json(r2);
        char *t2 = fs_json_canonical(j2);
        CHECK_STR(t1, t2);
        free(t2);
        json_decref(j2);
    }
    /* Spelling a default or a number differently is not a different definition. */
    fs_registry_free(r2);
    const char *a = "views:\n  - name: v\n    entity: market\n    source: candles\n"
                    "    features: [{name: r, indicator: rsi}]\n"; /* period 14 is rsi's default */
    const char *b = "views:\n  - name: v\n    entity: market\n    source: candles\n    ttl: 0\n    online: false\n"
                    "    features: [{name: r, type: numeric, indicator: rsi, params: {period: 1.4e1}, input: c, output: value}]\n";
    fs_registry *ra = load_yaml(a, &d), *rb = load_yaml(b, &d);
    CHECK(ra && rb);
    if (ra && rb) {
        json_t *ja = fs_registry_to_json(ra), *jb = fs_registry_to_json(rb);
        char *sa = fs_json_canonical(ja), *sb = fs_json_canonical(jb);
        CHECK_STR(sa, sb);
        free(sa);
        free(sb);
        json_decref(ja);
        json_decref(jb);
    }
    fs_registry_free(ra);
    fs_registry_free(rb);
    free(t1);
    json_decref(j1);
    fs_registry_free(r);
    fs_diag_free(&d);
}

/* ---- catalog through the public API --------------------------------------- */

static char *read_catalog(const char *dir)
{
    char *path = fs_path_join(dir, "catalog.json"), *data = NULL;
    size_t len;
    if (fs_read_file(path, &data, &len, NULL) != FS_OK)
        data = NULL;
    free(path);
    return data;
}

static int item_version(const fs_apply_report *r, const char *name, fs_change *change)
{
    for (size_t i = 0; i < r->n_items; i++)
        if (strcmp(r->items[i].name, name) == 0) {
            if (change)
                *change = r->items[i].change;
            return r->items[i].version;
        }
    return -1;
}

TEST(apply_diff_and_versions)
{
    char *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    CHECK_INT(fs_init(dir, NULL), FS_OK); /* idempotent */
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    if (!s)
        return;
    fs_apply_report *r = NULL;
    CHECK_INT(fs_apply_text(s, "v1.yaml", GOOD, strlen(GOOD), 0, 1000, &r), FS_OK);
    /* asset, book, tech, micro, 6 features, live, ranges */
    CHECK_INT(r->count[FS_CHANGE_ADDED], 12);
    CHECK_INT(r->count[FS_CHANGE_CHANGED], 0);
    CHECK_INT(r->count[FS_CHANGE_UNCHANGED], 5); /* the built-ins */
    CHECK_INT(r->generation, 2);
    fs_apply_report_free(r);

    /* The same file again: nothing changes and nothing is written. */
    char *before = read_catalog(dir);
    CHECK_INT(fs_apply_text(s, "v1.yaml", GOOD, strlen(GOOD), 0, 1000, &r), FS_OK);
    CHECK_INT(r->count[FS_CHANGE_ADDED] + r->count[FS_CHANGE_CHANGED] + r->count[FS_CHANGE_REMOVED], 0);
    CHECK_INT(r->count[FS_CHANGE_UNCHANGED], 17);
    CHECK_INT(r->generation, 2);
    fs_apply_report_free(r);
    char *after = read_catalog(dir);
    CHECK_STR(before, after);

    /* Change one indicator's parameter: that feature alone gets version 2. */
    char *v2 = strdup(GOOD);
    char *p = strstr(v2, "{period: 14}");
    memcpy(p, "{period: 21}", 12);
    CHECK_INT(fs_apply_text(s, "v2.yaml", v2, strlen(v2), 0, 1000, &r), FS_OK);
    fs_change ch = FS_CHANGE_ADDED;
    CHECK_INT(item_version(r, "tech:rsi_14", &ch), 2);
    CHECK_INT(ch, FS_CHANGE_CHANGED);
    CHECK_INT(item_version(r, "tech", &ch), 1);
    CHECK_INT(ch, FS_CHANGE_UNCHANGED);
    CHECK_INT(r->count[FS_CHANGE_CHANGED], 1);
    CHECK_INT(r->generation, 3);
    fs_apply_report_free(r);
    char *desc = NULL;
    CHECK_INT(fs_describe(s, "tech:rsi_14", &desc), FS_OK);
    CHECK_CONTAINS(desc, "\"version\": 2");
    CHECK_CONTAINS(desc, "\"period\": 14"); /* the old version, in the history */
    CHECK_CONTAINS(desc, "\"period\": 21");
    fs_free(desc);

    /* Remove the service and a feature: removed; the view's feature list changed. */
    char *v3 = strdup(v2);
    char *svc = strstr(v3, "services:");
    char *con = strstr(v3, "contracts:");
    memmove(svc, con, strlen(con) + 1);
    char *hi = strstr(v3, "      - {name: rsi_high");
    char *nl = strchr(hi, '\n');
    memmove(hi, nl + 1, strlen(nl + 1) + 1);
    CHECK_INT(fs_apply_text(s, "v3.yaml", v3, strlen(v3), 0, 1000, &r), FS_OK);
    CHECK_INT(item_version(r, "live", &ch), 1);
    CHECK_INT(ch, FS_CHANGE_REMOVED);
    CHECK_INT(item_version(r, "tech:rsi_high", &ch), 1);
    CHECK_INT(ch, FS_CHANGE_REMOVED);
    CHECK_INT(item_version(r, "tech", &ch), 2);
    CHECK_INT(ch, FS_CHANGE_CHANGED);
    CHECK_INT(r->count[FS_CHANGE_REMOVED], 2);
    fs_apply_report_free(r);
    CHECK_INT(fs_describe(s, "live", &desc), FS_E_NOTFOUND);

    /* Re-adding continues the version numbers: a version never names two things. */
    CHECK_INT(fs_apply_text(s, "v2.yaml", v2, strlen(v2), 0, 1000, &r), FS_OK);
    CHECK_INT(item_version(r, "live", &ch), 2);
    CHECK_INT(ch, FS_CHANGE_ADDED);
    CHECK_INT(item_version(r, "tech", &ch), 3);
    fs_apply_report_free(r);

    /* Dry run reports and writes nothing. */
    char *cat_before = read_catalog(dir);
    CHECK_INT(fs_apply_text(s, "v3.yaml", v3, strlen(v3), FS_APPLY_DRY_RUN, 1000, &r), FS_OK);
    CHECK_INT(r->count[FS_CHANGE_REMOVED], 2);
    fs_apply_report_free(r);
    char *cat_after = read_catalog(dir);
    CHECK_STR(cat_before, cat_after);

    /* A bad file changes nothing, and the detail lists the errors. */
    const char *bad = "views:\n  - name: tech\n    entity: market\n    source: nope\n    features: [{name: a, from: c}]\n";
    CHECK_INT(fs_apply_text(s, "bad.yaml", bad, strlen(bad), 0, 1000, &r), FS_E_INVALID_DEF);
    CHECK(r == NULL);
    CHECK_CONTAINS(fs_errmsg(s), "bad.yaml:4:13: view 'tech': unknown source 'nope'");
    CHECK_INT(fs_apply_text(s, "syntax.yaml", "a: [", 4, 0, 1000, &r), FS_E_PARSE);
    free(after);
    after = read_catalog(dir);
    CHECK_STR(cat_before, after);

    /* A new handle sees the same state from disk. */
    fs_store *s2 = NULL;
    CHECK_INT(fs_open(dir, &s2, NULL), FS_OK);
    CHECK_INT(fs_describe(s2, "view/tech", &desc), FS_OK);
    CHECK_CONTAINS(desc, "\"version\": 3");
    fs_free(desc);
    fs_close(s2);

    free(before);
    free(after);
    free(cat_before);
    free(cat_after);
    free(v2);
    free(v3);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* Kills a child process at a named step of apply; the catalog must then hold
 * exactly the old or exactly the new state, and open cleanly. */
static void crash_apply_at(const char *point, int expect_new)
{
    char *dir = temp_dir();
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    char *old = read_catalog(dir);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("FSTORE_CRASH_AT", point, 1);
        fs_store *s = NULL;
        if (fs_open(dir, &s, NULL) != FS_OK)
            _exit(3);
        fs_apply_text(s, "v1.yaml", GOOD, strlen(GOOD), 0, 1000, NULL);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    fs_store *s = NULL;
    char *detail = NULL;
    CHECK_INT(fs_open(dir, &s, &detail), FS_OK);
    if (detail)
        fprintf(stderr, "  %s\n", detail);
    free(detail);
    char *now = read_catalog(dir);
    char *desc = NULL;
    if (expect_new) {
        CHECK(strcmp(old, now) != 0);
        CHECK_INT(fs_describe(s, "tech:rsi_14", &desc), FS_OK);
    } else {
        CHECK_STR(old, now);
        CHECK_INT(fs_describe(s, "tech:rsi_14", &desc), FS_E_NOTFOUND);
    }
    fs_free(desc);
    /* and the store is usable afterwards: the apply can be redone */
    fs_apply_report *r = NULL;
    CHECK_INT(fs_apply_text(s, "v1.yaml", GOOD, strlen(GOOD), 0, 1000, &r), FS_OK);
    CHECK_INT(r ? (long long)r->count[FS_CHANGE_ADDED] : -1, expect_new ? 0 : 12);
    fs_apply_report_free(r);
    fs_close(s);
    free(old);
    free(now);
    rm_rf(dir);
    free(dir);
}

TEST(crash_during_apply_keeps_catalog_whole)
{
    crash_apply_at("catalog-before-write", 0);
    crash_apply_at("atomic-before-rename", 0);
    crash_apply_at("atomic-after-rename", 1);
}

TEST(concurrent_applies_serialize)
{
    char *dir = temp_dir();
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    /* A held lock makes a short-waiting apply fail with FS_E_BUSY and a message. */
    char *lock = fs_path_join(dir, "LOCK");
    int fd = -1;
    CHECK_INT(fs_lock(lock, 0, &fd, NULL), FS_OK);
    pid_t pid = fork();
    if (pid == 0) {
        fs_store *s = NULL;
        if (fs_open(dir, &s, NULL) != FS_OK)
            _exit(3);
        int rc = fs_apply_text(s, "v1.yaml", GOOD, strlen(GOOD), 0, 50, NULL);
        _exit(rc == FS_E_BUSY && strstr(fs_errmsg(s), "locked by another fstore process") ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fs_unlock(fd);

    /* Eight processes applying two different files at once: every apply
     * succeeds, and the catalog ends valid with one of the two states. */
    char *v2 = strdup(GOOD);
    memcpy(strstr(v2, "{period: 14}"), "{period: 21}", 12);
    pid_t kids[8];
    for (int i = 0; i < 8; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            fs_store *s = NULL;
            if (fs_open(dir, &s, NULL) != FS_OK)
                _exit(3);
            const char *t = i % 2 ? v2 : GOOD;
            int rc = FS_OK;
            for (int k = 0; k < 5 && rc == FS_OK; k++)
                rc = fs_apply_text(s, "x.yaml", t, strlen(t), 0, 20000, NULL);
            fs_close(s);
            _exit(rc == FS_OK ? 0 : 1);
        }
    }
    int all_ok = 1;
    for (int i = 0; i < 8; i++) {
        waitpid(kids[i], &st, 0);
        all_ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(all_ok);
    fs_store *s = NULL;
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    char *desc = NULL;
    CHECK_INT(fs_describe(s, "tech:rsi_14", &desc), FS_OK);
    /* every version bump is one apply that changed it: versions are dense */
    json_t *j = desc ? json_loads(desc, 0, NULL) : NULL;
    int version = (int)json_integer_value(json_object_get(j, "version"));
    CHECK_INT(json_array_size(json_object_get(j, "history")), version - 1);
    CHECK(version >= 1);
    json_decref(j);
    fs_free(desc);
    fs_close(s);
    free(v2);
    free(lock);
    rm_rf(dir);
    free(dir);
}

TEST(open_and_init_errors)
{
    char *dir = temp_dir();
    fs_store *s = (fs_store *)1;
    char *detail = NULL;
    CHECK_INT(fs_open(dir, &s, &detail), FS_E_NOTDIR);
    CHECK(s == NULL);
    CHECK_CONTAINS(detail, "is not an fstore data directory");
    free(detail);
    /* a non-empty directory that is not ours is not taken over */
    char *junk = fs_path_join(dir, "junk");
    FILE *f = fopen(junk, "w");
    fputs("x", f);
    fclose(f);
    CHECK_INT(fs_init(dir, &detail), FS_E_NOTDIR);
    CHECK_CONTAINS(detail, "exists and is not an fstore data directory");
    free(detail);
    unlink(junk);
    free(junk);

    CHECK_INT(fs_init(dir, NULL), FS_OK);
    char *cat = fs_path_join(dir, "catalog.json");
    /* a truncated catalog is reported as corrupt, naming the file */
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(fs_read_file(cat, &data, &len, NULL), FS_OK);
    CHECK_INT(fs_write_file_atomic(cat, data, len / 2, NULL), FS_OK);
    CHECK_INT(fs_open(dir, &s, &detail), FS_E_CORRUPT);
    CHECK_CONTAINS(detail, "catalog.json");
    free(detail);
    /* a catalog from a newer fstore is refused, not misread */
    const char *newer = "{\"format_version\": 99, \"registry\": {}, \"versions\": {}}";
    CHECK_INT(fs_write_file_atomic(cat, newer, strlen(newer), NULL), FS_OK);
    CHECK_INT(fs_open(dir, &s, &detail), FS_E_VERSION);
    CHECK_CONTAINS(detail, "format 99");
    free(detail);
    free(data);
    free(cat);
    CHECK_STR(fs_strerror(FS_E_NOTDIR), "FS_E_NOTDIR: not an fstore data directory");
    CHECK_CONTAINS(fs_strerror(12345), "FS_E_UNKNOWN");
    rm_rf(dir);
    free(dir);
}

static fs_store *store_with_good(char **dir)
{
    *dir = temp_dir();
    fs_store *s = NULL;
    if (fs_init(*dir, NULL) != FS_OK || fs_open(*dir, &s, NULL) != FS_OK)
        return NULL;
    if (fs_apply_text(s, "good.yaml", GOOD, strlen(GOOD), 0, 1000, NULL) != FS_OK) {
        fs_close(s);
        return NULL;
    }
    return s;
}

TEST(list_filters)
{
    char *dir;
    fs_store *s = store_with_good(&dir);
    CHECK(s != NULL);
    if (!s)
        return;
    fs_def_info *rows = NULL;
    size_t n = 0;
    CHECK_INT(fs_list(s, NULL, &rows, &n), FS_OK);
    CHECK_INT(n, 17);
    CHECK_INT(rows[0].kind, FS_KIND_ENTITY);
    CHECK_STR(rows[0].name, "asset"); /* sorted by kind, then name */
    fs_free(rows);
    fs_list_filter f = {-1, "liquidity", NULL};
    CHECK_INT(fs_list(s, &f, &rows, &n), FS_OK);
    CHECK_INT(n, 2);
    CHECK_STR(n ? rows[0].name : "", "micro:spread_bps");
    fs_free(rows);
    fs_list_filter t = {FS_KIND_FEATURE, NULL, "trading"}; /* features inherit their view's tags */
    CHECK_INT(fs_list(s, &t, &rows, &n), FS_OK);
    CHECK_INT(n, 4);
    fs_free(rows);
    fs_list_filter k = {FS_KIND_SOURCE, NULL, NULL};
    CHECK_INT(fs_list(s, &k, &rows, &n), FS_OK);
    CHECK_INT(n, 4);
    CHECK_STR(n ? rows[0].name : "", "book"); /* sorted by name */
    CHECK_STR(n ? rows[0].type : "", "");
    CHECK_STR(n > 1 ? rows[1].name : "", "candles");
    CHECK_STR(n > 1 ? rows[1].type : "", "built-in");
    fs_free(rows);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(describe_lineage)
{
    char *dir;
    fs_store *s = store_with_good(&dir);
    CHECK(s != NULL);
    if (!s)
        return;
    char *j = NULL;
    CHECK_INT(fs_describe(s, "tech:close", &j), FS_OK);
    /* close is read by micro:spread_vs_close through a qualified reference */
    CHECK_CONTAINS(j, "\"name\": \"candles.c\"");
    CHECK_CONTAINS(j, "\"name\": \"micro:spread_vs_close\"");
    fs_free(j);
    CHECK_INT(fs_describe(s, "tech:rsi_14", &j), FS_OK);
    CHECK_CONTAINS(j, "\"name\": \"tech:rsi_high\""); /* expression downstream */
    CHECK_CONTAINS(j, "\"name\": \"live\"");          /* service */
    CHECK_CONTAINS(j, "\"name\": \"ranges\"");        /* contract */
    fs_free(j);
    CHECK_INT(fs_describe(s, "micro", &j), FS_OK);
    CHECK_CONTAINS(j, "\"name\": \"book\"");
    CHECK_CONTAINS(j, "\"name\": \"live\"");
    fs_free(j);
    CHECK_INT(fs_describe(s, "nothing", &j), FS_E_NOTFOUND);
    CHECK_CONTAINS(fs_errmsg(s), "no definition named 'nothing'");
    /* a view named like a source: ambiguous until qualified */
    const char *amb = "views:\n  - name: candles\n    entity: market\n    source: candles\n"
                      "    features: [{name: c, from: c}]\n";
    CHECK_INT(fs_apply_text(s, "amb.yaml", amb, strlen(amb), 0, 1000, NULL), FS_OK);
    CHECK_INT(fs_describe(s, "candles", &j), FS_E_AMBIGUOUS);
    CHECK_CONTAINS(fs_errmsg(s), "source/candles view/candles");
    CHECK_INT(fs_describe(s, "view/candles", &j), FS_OK);
    CHECK_CONTAINS(j, "\"kind\": \"view\"");
    fs_free(j);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(builtin_source_policies_can_be_overridden)
{
    char *dir;
    fs_store *s = store_with_good(&dir);
    CHECK(s != NULL);
    if (!s)
        return;
    char *text = malloc(strlen(GOOD) + 200);
    sprintf(text, "%s", GOOD);
    char *src = strstr(text, "sources:\n") + strlen("sources:\n");
    const char *over = "  - name: candles\n    retention: 365d\n    compress_after: 7d\n";
    memmove(src + strlen(over), src, strlen(src) + 1);
    memcpy(src, over, strlen(over));
    fs_apply_report *r = NULL;
    CHECK_INT(fs_apply_text(s, "over.yaml", text, strlen(text), 0, 1000, &r), FS_OK);
    fs_change ch = FS_CHANGE_ADDED;
    CHECK_INT(r ? item_version(r, "candles", &ch) : -1, 2);
    CHECK_INT(ch, FS_CHANGE_CHANGED);
    fs_apply_report_free(r);
    char *j = NULL;
    CHECK_INT(fs_describe(s, "source/candles", &j), FS_OK);
    CHECK_CONTAINS(j, "\"retention\": \"52w1d\"");
    CHECK_CONTAINS(j, "\"builtin\": true");
    fs_free(j);
    free(text);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    RUN(builtins_load);
    RUN(good_file_loads_every_field);
    RUN(every_error_listed_with_position);
    RUN(syntax_error_has_position);
    RUN(structural_mistakes);
    RUN(builtin_overlay_reports_once);
    RUN(expression_error_positions);
    RUN(hostile_yaml_fails_cleanly);
    RUN(dependency_cycles_detected);
    RUN(canonical_json_round_trips);
    RUN(apply_diff_and_versions);
    RUN(crash_during_apply_keeps_catalog_whole);
    RUN(concurrent_applies_serialize);
    RUN(open_and_init_errors);
    RUN(list_filters);
    RUN(describe_lineage);
    RUN(builtin_source_policies_can_be_overridden);
    TEST_EXIT();
}
