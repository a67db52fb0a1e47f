/* fs_compute end to end, through the public API: candles ingested, views
 * computed, values read back and compared with the indicator modules run
 * directly on the same series (one code path: they must agree bit for bit);
 * incremental runs equal to a full run; a correction recomputing its entity;
 * a changed definition recomputing its view; no value stamped before its
 * candle closed; a failing view leaving the others stored; jobs recorded. */
#include "test.h"

#include "compute/indicator.h"
#include "compute/indicator_spec.h"
#include "core/timeutil.h"
#include "fstore.h"

#include <jansson.h>
#include <stdint.h>

static const char *DEFS_FMT =
    "views:\n"
    "  - name: tech\n"
    "    entity: market\n"
    "    source: candles\n"
    "    ttl: 0\n"
    "    features:\n"
    "      - {name: close, from: c}\n"
    "      - {name: sma_n, indicator: sma, params: {period: %d}}\n"
    "      - {name: ema_10, indicator: ema, params: {period: 10}}\n"
    "      - {name: rsi_14, indicator: rsi, params: {period: 14}}\n"
    "      - {name: macd, indicator: macd, output: macd}\n"
    "      - {name: macd_hist, indicator: macd, output: hist}\n"
    "      - {name: corr, indicator: correlation, params: {period: 10, reference: AAA}}\n"
    "      - {name: mom, expr: 'pct_change(close, 3) * 100'}\n"
    "      - {name: spread, expr: 'ema_10 - sma_n'}\n"
    "      - {name: smooth, expr: 'ewm(spread, 5)'}\n"
    "%s";

static const char *BAD_VIEW =
    "  - name: broken\n"
    "    entity: market\n"
    "    source: candles\n"
    "    features:\n"
    "      - {name: prev_tf, type: categorical, expr: 'lag(tf, 1)'}\n";

enum { N_ROWS = 600, HOUR = 3600 };
static const int64_t T0 = 1704067200; /* 2024-01-01T00:00:00Z */

/* A deterministic random walk per symbol. */
static double price(int sym, int i)
{
    double p = 100.0 + 10 * sym;
    uint64_t x = 88172645463325252ULL + (uint64_t)sym * 7919;
    for (int k = 0; k <= i; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p *= 1.0 + ((double)(x % 2001) - 1000.0) / 100000.0;
    }
    return p;
}

static const char *SYMS[] = {"AAA", "BBB", "CCC"};

/* Writes candles [from, to) of every symbol as CSV; `bump` adds to row `bump_row`'s close. */
static void write_csv(const char *path, int from, int to, int bump_row, double bump)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,tf,ts,o,h,l,c,v\n");
    for (int s = 0; s < 3; s++)
        for (int i = from; i < to; i++) {
            double c = price(s, i) + (i == bump_row ? bump : 0), o = price(s, i - 1 < 0 ? 0 : i - 1);
            double h = (c > o ? c : o) * 1.001, l = (c < o ? c : o) * 0.999;
            fprintf(f, "%s,1h,%lld,%.17g,%.17g,%.17g,%.17g,%d\n", SYMS[s],
                    (long long)(T0 + (int64_t)i * HOUR), o, h, l, c, 10 + i % 7);
        }
    fclose(f);
}

static fs_store *make_store(char **dir, int period, int with_bad)
{
    *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(*dir, NULL), FS_OK);
    CHECK_INT(fs_open(*dir, &s, NULL), FS_OK);
    char defs[4096];
    snprintf(defs, sizeof defs, DEFS_FMT, period, with_bad ? BAD_VIEW : "");
    int rc = fs_apply_text(s, "defs.yaml", defs, strlen(defs), 0, 0, NULL);
    if (rc != FS_OK)
        fprintf(stderr, "apply: %s\n", fs_errmsg(s));
    CHECK_INT(rc, FS_OK);
    return s;
}

static void ingest(fs_store *s, const char *dir, int from, int to, int bump_row, double bump)
{
    char path[512];
    snprintf(path, sizeof path, "%s/in.csv", dir);
    write_csv(path, from, to, bump_row, bump);
    fs_ingest_result r;
    CHECK_INT(fs_ingest_file(s, "candles", path, NULL, &r), FS_OK);
    CHECK_INT(r.rows_rejected, 0);
}

/* The latest version of every row of view `tech` for an entity, as JSON rows
 * [event_ts, seq, features...], one per event_ts. */
static json_t *view_rows_in(fs_store *s, const char *entity, int64_t from, int64_t to)
{
    char *text = NULL;
    CHECK_INT(fs_history_json(s, "tech", entity, from, to, 0, NULL, 0, FS_KNOWN_ALL_COMMITS, &text),
              FS_OK);
    json_t *o = json_loads(text ? text : "{}", 0, NULL);
    fs_free(text);
    json_t *rows = json_object_get(o, "rows"), *out = json_array();
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i), *last = json_array_get(out, json_array_size(out) - 1);
        if (last && json_equal(json_array_get(last, 0), json_array_get(r, 0)))
            json_array_set(out, json_array_size(out) - 1, r); /* a later version wins */
        else
            json_array_append(out, r);
    }
    json_decref(o);
    return out;
}

static json_t *view_rows(fs_store *s, const char *entity)
{
    return view_rows_in(s, entity, INT64_MIN, INT64_MAX);
}

static int column_of(fs_store *s, const char *name)
{
    char *text = NULL;
    fs_history_json(s, "tech", "AAA:1h", INT64_MIN, INT64_MAX, 1, NULL, 0, FS_KNOWN_ALL_COMMITS, &text);
    json_t *o = json_loads(text ? text : "{}", 0, NULL);
    fs_free(text);
    json_t *cols = json_object_get(o, "columns");
    int at = -1;
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_array_get(cols, i)), name) == 0)
            at = (int)i;
    json_decref(o);
    return at;
}

/* Values of one feature over the view rows (NaN for null). */
static double *feature_values(json_t *rows, int col)
{
    double *v = malloc((json_array_size(rows) + 1) * sizeof *v);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *x = json_array_get(json_array_get(rows, i), (size_t)col);
        v[i] = json_is_number(x) ? json_number_value(x) : NAN;
    }
    return v;
}

static int same_bits(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

TEST(compute_matches_indicator_modules)
{
    char *dir;
    fs_store *s = make_store(&dir, 20, 0);
    ingest(s, dir, 0, N_ROWS, -1, 0);
    fs_compute_result r;
    fs_compute_opts o = {.jobs = 2};
    CHECK_INT(fs_compute(s, &o, &r), FS_OK);
    CHECK_INT(r.rows, 3 * N_ROWS);
    CHECK_INT(r.entities, 3);
    CHECK_INT(r.views_ok, 1);
    CHECK(r.job >= 1);

    json_t *rows = view_rows(s, "BBB:1h");
    CHECK_INT(json_array_size(rows), N_ROWS);
    /* SMA and RSI through the indicator modules directly, on the same closes. */
    double close[N_ROWS], sma[N_ROWS], rsi[N_ROWS];
    for (int i = 0; i < N_ROWS; i++)
        close[i] = price(1, i);
    double p20[FS_IND_MAX_PARAMS], p14[FS_IND_MAX_PARAMS];
    const fs_indicator_spec *ssma = fs_indicator_find("sma"), *srsi = fs_indicator_find("rsi");
    fs_indicator_defaults(ssma, p20);
    p20[0] = 20;
    fs_indicator_defaults(srsi, p14);
    p14[0] = 14;
    fs_ind_state *a = NULL, *b = NULL;
    CHECK_INT(fs_ind_new(ssma, p20, &a), FS_OK);
    CHECK_INT(fs_ind_new(srsi, p14, &b), FS_OK);
    const double *in[1] = {close};
    double *out1[1] = {sma}, *out2[1] = {rsi};
    fs_ind_run(a, in, N_ROWS, out1);
    fs_ind_run(b, in, N_ROWS, out2);
    fs_ind_free(a);
    fs_ind_free(b);
    double *got_sma = feature_values(rows, column_of(s, "sma_n"));
    double *got_rsi = feature_values(rows, column_of(s, "rsi_14"));
    int diff = 0;
    for (int i = 0; i < N_ROWS; i++)
        diff += !same_bits(got_sma[i], sma[i]) || !same_bits(got_rsi[i], rsi[i]);
    CHECK_INT(diff, 0);
    CHECK(isnan(got_sma[18]) && !isnan(got_sma[19])); /* SMA(20): first value at row 19 */
    /* The expression over two computed features, checked by hand on one row. */
    double *ema = feature_values(rows, column_of(s, "ema_10"));
    double *spread = feature_values(rows, column_of(s, "spread"));
    CHECK(same_bits(spread[100], ema[100] - got_sma[100]));
    double *mom = feature_values(rows, column_of(s, "mom"));
    CHECK(fabs(mom[50] - (close[50] / close[47] - 1) * 100) < 1e-9);
    /* Correlation of AAA with itself is 1 wherever defined. */
    json_t *arows = view_rows(s, "AAA:1h");
    double *corr = feature_values(arows, column_of(s, "corr"));
    CHECK(fabs(corr[200] - 1.0) < 1e-9);
    /* No value is stamped before its candle closed: event_ts = open + 1h. */
    int early = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        int64_t ts;
        const char *t = json_string_value(json_array_get(json_array_get(rows, i), 0));
        fs_parse_time(t, strlen(t), &ts, NULL, 0);
        early += ts < (T0 + (int64_t)i * HOUR + HOUR) * 1000000000LL;
    }
    CHECK_INT(early, 0);
    free(got_sma), free(got_rsi), free(ema), free(spread), free(mom), free(corr);
    json_decref(rows);
    json_decref(arows);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* Full run vs. three incremental runs over the same data; one thread vs. four. */
TEST(incremental_equals_full)
{
    char *d1, *d2;
    fs_store *full = make_store(&d1, 20, 0), *inc = make_store(&d2, 20, 0);
    ingest(full, d1, 0, N_ROWS, -1, 0);
    fs_compute_result r;
    fs_compute_opts o1 = {.jobs = 1}, o4 = {.jobs = 4};
    CHECK_INT(fs_compute(full, &o1, &r), FS_OK);
    ingest(inc, d2, 0, 250, -1, 0);
    CHECK_INT(fs_compute(inc, &o4, &r), FS_OK);
    ingest(inc, d2, 250, 251, -1, 0);
    CHECK_INT(fs_compute(inc, &o4, &r), FS_OK);
    CHECK_INT(r.rows, 3); /* only the new candle of each symbol */
    CHECK_INT(fs_compute(inc, &o4, &r), FS_OK);
    CHECK_INT(r.rows, 0); /* nothing new */
    ingest(inc, d2, 251, N_ROWS, -1, 0);
    CHECK_INT(fs_compute(inc, &o4, &r), FS_OK);
    for (int sym = 0; sym < 3; sym++) {
        char key[32];
        snprintf(key, sizeof key, "%s:1h", SYMS[sym]);
        json_t *a = view_rows(full, key), *b = view_rows(inc, key);
        CHECK_INT(json_array_size(a), json_array_size(b));
        int diff = 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *ra = json_array_get(a, i), *rb = json_array_get(b, i);
            for (size_t c = 2; c < json_array_size(ra); c++) /* all but event_ts and seq */
                diff += !json_equal(json_array_get(ra, c), json_array_get(rb, c));
        }
        CHECK_INT(diff, 0);
        json_decref(a);
        json_decref(b);
    }
    fs_close(full);
    fs_close(inc);
    rm_rf(d1);
    rm_rf(d2);
    free(d1);
    free(d2);
}

/* 1-minute candles [from, to) of the three symbols, a random walk computed
 * incrementally (price() is quadratic: fine for 600 rows, not for 88,000). */
static void write_minutes_csv(const char *path, int from, int to)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,tf,ts,o,h,l,c,v\n");
    for (int s = 0; s < 3; s++) {
        double p = 100.0 + 10 * s;
        uint64_t x = 88172645463325252ULL + (uint64_t)s * 7919;
        for (int i = 0; i < to; i++) {
            double o = p;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p *= 1.0 + ((double)(x % 2001) - 1000.0) / 100000.0;
            if (i >= from)
                fprintf(f, "%s,1m,%lld,%.17g,%.17g,%.17g,%.17g,%d\n", SYMS[s],
                        (long long)(T0 + (int64_t)i * 60), o, (p > o ? p : o) * 1.001,
                        (p < o ? p : o) * 0.999, p, 10 + i % 7);
        }
    }
    fclose(f);
}

/* Rows of the commits to `table`, by fs_log_json. */
static long logged_rows(fs_store *s, const char *table)
{
    char *text = NULL;
    CHECK_INT(fs_log_json(s, &text), FS_OK);
    json_t *o = json_loads(text ? text : "{}", 0, NULL), *c;
    fs_free(text);
    long rows = 0;
    size_t i;
    json_array_foreach(json_object_get(o, "commits"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "table")), table) == 0)
            rows += (long)json_integer_value(json_object_get(c, "rows"));
    json_decref(o);
    return rows;
}

/* A job of at least 2^18 rows streams them to chunk files, each worker in
 * parts (compute_view.c): the stored rows equal, bit for bit, those of a
 * store that computed the first 1,000 candles through the log and the rest
 * in one streamed part per worker, whatever the number of parts (parts end
 * between entities once they hold 64 KiB here: one part per entity, on two
 * workers) or of workers. */
TEST(streamed_parts_equal_logged_rows)
{
    enum { MINUTES = 88000 }; /* 3 x 88,000 rows: over the streaming threshold */
    char *dirs[3];
    fs_store *st[3];
    for (int k = 0; k < 3; k++) {
        st[k] = make_store(&dirs[k], 20, 0);
        char path[512];
        snprintf(path, sizeof path, "%s/in.csv", dirs[k]);
        write_minutes_csv(path, 0, k == 0 ? 1000 : MINUTES);
        fs_ingest_result ir;
        CHECK_INT(fs_ingest_file(st[k], "candles", path, NULL, &ir), FS_OK);
    }
    fs_compute_result r;
    fs_compute_opts o1 = {.jobs = 1}, o2 = {.jobs = 2};
    CHECK_INT(fs_compute(st[0], &o1, &r), FS_OK); /* 3,000 rows: through the log */
    char path[512];
    snprintf(path, sizeof path, "%s/in.csv", dirs[0]);
    write_minutes_csv(path, 1000, MINUTES);
    fs_ingest_result ir;
    CHECK_INT(fs_ingest_file(st[0], "candles", path, NULL, &ir), FS_OK);
    CHECK_INT(fs_compute(st[0], &o2, &r), FS_OK);
    CHECK_INT(r.rows, 3 * (MINUTES - 1000));
    setenv("FSTORE_COMPUTE_PART_BYTES", "65536", 1);
    CHECK_INT(fs_compute(st[1], &o2, &r), FS_OK);
    unsetenv("FSTORE_COMPUTE_PART_BYTES");
    CHECK_INT(r.rows, 3 * MINUTES);
    CHECK_INT(fs_compute(st[2], &o1, &r), FS_OK);
    /* Every row the commits hold, by the log. */
    for (int k = 1; k < 3; k++)
        CHECK_INT(logged_rows(st[k], "view:tech"), 3 * MINUTES);
    CHECK_INT(logged_rows(st[0], "view:tech"), 3 * MINUTES);
    /* Every row of BBB; of the others, windows of 3,000 minutes: the start
     * (the log's rows in st[0]), across the log/stream border, the middle
     * and the end (the first row closes at T0 + 1 min). */
    static const int windows[] = {1, 500, 40000, MINUTES - 3000};
    for (int k = 0; k < 3 * 4; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s:1m", SYMS[k / 4]);
        int whole = k / 4 == 1;
        if (whole && k % 4)
            continue;
        int64_t from = (T0 + (int64_t)(whole ? 0 : windows[k % 4]) * 60) * 1000000000LL,
                to = whole ? INT64_MAX : from + (int64_t)3000 * 60 * 1000000000LL;
        size_t want = whole ? MINUTES : 3000;
        json_t *a = view_rows_in(st[0], key, from, to), *b = view_rows_in(st[1], key, from, to),
               *c = view_rows_in(st[2], key, from, to);
        CHECK_INT(json_array_size(a), want);
        CHECK_INT(json_array_size(b), want);
        CHECK_INT(json_array_size(c), want);
        size_t diff = 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *ra = json_array_get(a, i), *rb = json_array_get(b, i), *rc = json_array_get(c, i);
            diff += !json_equal(json_array_get(ra, 0), json_array_get(rb, 0)) ||
                    !json_equal(json_array_get(ra, 0), json_array_get(rc, 0));
            for (size_t col = 2; col < json_array_size(ra); col++) /* all but seq */
                diff += !json_equal(json_array_get(ra, col), json_array_get(rb, col)) ||
                        !json_equal(json_array_get(ra, col), json_array_get(rc, col));
        }
        CHECK_INT(diff, 0);
        json_decref(a);
        json_decref(b);
        json_decref(c);
    }
    for (int k = 0; k < 3; k++) {
        fs_close(st[k]);
        rm_rf(dirs[k]);
        free(dirs[k]);
    }
}

/* A correction of an already computed candle recomputes that entity; a
 * definition change recomputes the view. */
TEST(corrections_and_definition_changes)
{
    char *d1, *d2;
    fs_store *s = make_store(&d1, 20, 0), *ref = make_store(&d2, 20, 0);
    ingest(s, d1, 0, N_ROWS, -1, 0);
    fs_compute_result r;
    CHECK_INT(fs_compute(s, NULL, &r), FS_OK);
    ingest(s, d1, 300, 301, 300, 5.0); /* candle 300 of every symbol, corrected */
    CHECK_INT(fs_compute(s, NULL, &r), FS_OK);
    CHECK_INT(r.rows, 3 * N_ROWS); /* each entity again, from its start */
    ingest(ref, d2, 0, N_ROWS, 300, 5.0);
    CHECK_INT(fs_compute(ref, NULL, &r), FS_OK);
    json_t *a = view_rows(s, "CCC:1h"), *b = view_rows(ref, "CCC:1h");
    int col = column_of(s, "ema_10"), diff = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        diff += !json_equal(json_array_get(json_array_get(a, i), (size_t)col),
                            json_array_get(json_array_get(b, i), (size_t)col));
    CHECK_INT(diff, 0);
    json_decref(a);
    json_decref(b);
    /* A new SMA period: the whole view is computed again with it. */
    char defs[4096];
    snprintf(defs, sizeof defs, DEFS_FMT, 5, "");
    CHECK_INT(fs_apply_text(s, "defs.yaml", defs, strlen(defs), 0, 0, NULL), FS_OK);
    CHECK_INT(fs_compute(s, NULL, &r), FS_OK);
    CHECK_INT(r.rows, 3 * N_ROWS);
    a = view_rows(s, "AAA:1h");
    double *sma = feature_values(a, column_of(s, "sma_n"));
    CHECK(isnan(sma[3]) && !isnan(sma[4])); /* SMA(5) */
    CHECK(fabs(sma[10] - (price(0, 6) + price(0, 7) + price(0, 8) + price(0, 9) + price(0, 10)) / 5) < 1e-9);
    free(sma);
    json_decref(a);
    fs_close(s);
    fs_close(ref);
    rm_rf(d1);
    rm_rf(d2);
    free(d1);
    free(d2);
}

TEST(failing_view_leaves_others_and_jobs_record_it)
{
    char *dir;
    fs_store *s = make_store(&dir, 20, 1);
    ingest(s, dir, 0, 100, -1, 0);
    fs_compute_result r;
    CHECK_INT(fs_compute(s, NULL, &r), FS_E_PARTIAL);
    CHECK_INT(r.views_ok, 1);
    CHECK_INT(r.views_failed, 1);
    CHECK_CONTAINS(fs_errmsg(s), "view 'broken', feature 'prev_tf'");
    json_t *rows = view_rows(s, "AAA:1h");
    CHECK_INT(json_array_size(rows), 100);
    json_decref(rows);
    const char *only[] = {"nope"};
    fs_compute_opts o = {.views = only, .n_views = 1};
    CHECK_INT(fs_compute(s, &o, &r), FS_E_NOTFOUND);
    char *jobs = NULL;
    CHECK_INT(fs_jobs_json(s, &jobs), FS_OK);
    json_t *j = json_loads(jobs, 0, NULL), *list = json_object_get(j, "jobs");
    CHECK_INT(json_array_size(list), 1);
    json_t *job = json_array_get(list, 0);
    CHECK_STR(json_string_value(json_object_get(job, "status")), "failed");
    CHECK_INT(json_integer_value(json_object_get(job, "rows")), 100 * 3);
    CHECK_CONTAINS(json_string_value(json_array_get(json_object_get(job, "errors"), 0)), "broken");
    CHECK(json_integer_value(json_object_get(json_object_get(job, "definitions"), "tech:sma_n")) >= 1);
    json_decref(j);
    fs_free(jobs);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}


/* A source's per-row confidence: `from:` features return their row's; a
 * computed row's is the minimum over the rows its features read. */
TEST(confidence_is_the_minimum_of_the_inputs)
{
    char *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    const char *bad =
        "entities:\n  - {name: asset, join_keys: [symbol]}\n"
        "sources:\n  - name: quotes\n    entity: asset\n    timestamp: ts\n    confidence: conf\n"
        "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
        "      - {name: px, type: float64}\n      - {name: conf, type: float64}\n";
    CHECK_INT(fs_apply_text(s, "bad.yaml", bad, strlen(bad), 0, 0, NULL), FS_E_INVALID_DEF);
    CHECK_CONTAINS(fs_errmsg(s), "confidence column 'conf' must declare min and max");
    const char *defs =
        "entities:\n  - {name: asset, join_keys: [symbol]}\n"
        "sources:\n  - name: quotes\n    entity: asset\n    timestamp: ts\n    confidence: conf\n"
        "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
        "      - {name: px, type: float64}\n      - {name: conf, type: float64, min: 0, max: 1}\n"
        "views:\n  - name: qv\n    entity: asset\n    source: quotes\n    features:\n"
        "      - {name: px, from: px}\n"
        "      - {name: sma3, indicator: sma, params: {period: 3}, input: px}\n"
        "      - {name: dbl, expr: 'px * 2'}\n";
    int rc = fs_apply_text(s, "defs.yaml", defs, strlen(defs), 0, 0, NULL);
    if (rc != FS_OK)
        fprintf(stderr, "apply: %s\n", fs_errmsg(s));
    CHECK_INT(rc, FS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/q.csv", dir);
    FILE *f = fopen(path, "w");
    static const double conf[] = {1, 1, 0.5, 1, 1, 1, 0.9};
    fprintf(f, "symbol,ts,px,conf\n");
    for (int i = 0; i < 7; i++)
        fprintf(f, "XYZ,%d,%d,%g\n", 1000 + i * 60, 10 + i, conf[i]);
    fclose(f);
    fs_ingest_result ir;
    CHECK_INT(fs_ingest_file(s, "quotes", path, NULL, &ir), FS_OK);
    fs_compute_result r;
    CHECK_INT(fs_compute(s, NULL, &r), FS_OK);
    /* Expected: px -> its row; sma3 (reads 3 rows) -> min over rows i-2..i. */
    static const double want_sma[] = {NAN, NAN, 0.5, 0.5, 0.5, 1, 0.9};
    const char *feats[] = {"qv:px", "qv:sma3"};
    for (int i = 0; i < 7; i++) {
        char *text = NULL;
        CHECK_INT(fs_get_json(s, "XYZ", feats, 2, (int64_t)(1000 + i * 60) * 1000000000LL,
                              FS_KNOWN_ALL_COMMITS, &text), FS_OK);
        json_t *o = json_loads(text, 0, NULL), *fs = json_object_get(o, "features");
        json_t *c0 = json_object_get(json_array_get(fs, 0), "confidence");
        json_t *c1 = json_object_get(json_array_get(fs, 1), "confidence");
        CHECK(json_is_number(c0) && json_number_value(c0) == conf[i]);
        if (isnan(want_sma[i]))
            CHECK(json_is_null(c1));
        else
            CHECK(json_is_number(c1) && json_number_value(c1) == want_sma[i]);
        json_decref(o);
        fs_free(text);
    }
    fs_close(s);
    rm_rf(dir);
    free(dir);
}


/* A view with more computed features than any fixed-size array would hold. */
TEST(wide_view)
{
    char *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(dir, NULL), FS_OK);
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    char defs[16384];
    int at = snprintf(defs, sizeof defs,
                      "views:\n  - name: wide\n    entity: market\n    source: candles\n    features:\n");
    for (int i = 0; i < 90; i++)
        at += snprintf(defs + at, sizeof defs - (size_t)at, "      - {name: f%d, expr: 'c * %d'}\n", i, i);
    CHECK_INT(fs_apply_text(s, "wide.yaml", defs, strlen(defs), 0, 0, NULL), FS_OK);
    ingest(s, dir, 0, 50, -1, 0);
    fs_compute_result r;
    CHECK_INT(fs_compute(s, NULL, &r), FS_OK);
    CHECK_INT(r.rows, 3 * 50);
    const char *f89[] = {"wide:f89"};
    char *text = NULL;
    CHECK_INT(fs_get_json(s, "BBB:1h", f89, 1, FS_TIME_LATEST, FS_KNOWN_ALL_COMMITS, &text), FS_OK);
    json_t *o = json_loads(text, 0, NULL);
    json_t *v = json_object_get(json_array_get(json_object_get(o, "features"), 0), "value");
    CHECK(json_is_number(v) && fabs(json_number_value(v) - price(1, 49) * 89) < 1e-6);
    json_decref(o);
    fs_free(text);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    RUN(wide_view);
    RUN(confidence_is_the_minimum_of_the_inputs);
    RUN(compute_matches_indicator_modules);
    RUN(incremental_equals_full);
    RUN(streamed_parts_equal_logged_rows);
    RUN(corrections_and_definition_changes);
    RUN(failing_view_leaves_others_and_jobs_record_it);
    TEST_EXIT();
}
