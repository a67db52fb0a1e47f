/* Indicator computation (src/compute/indicator.h): streaming == batch bit for
 * bit, persisted states resume bit for bit, missing rows are skipped, and
 * the values match TA-Lib (tests/data/talib/, made by gen_reference.js with
 * TA-Lib's C code compiled to WebAssembly) to 1e-9 relative, with TA-Lib's
 * lookback. Indicators without a TA-Lib twin are also checked against
 * straightforward two-pass references computed here. Run from the
 * repository root (tests/run.sh does). */
#include "test.h"

#include <stdint.h>

#include "compute/indicator.h"
#include "compute/indicator_spec.h"
#include "fstore.h"

#define NROWS 2000
#define MAXREF 512 /* rows in the reference files, at most */

/* ---------- generated series ---------- */

typedef struct {
    size_t n;
    double *o, *h, *l, *c, *v, *ref;
} series;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}
static double grand(void)
{
    double u = urand();
    while (u <= 0.0)
        u = urand();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * urand());
}

static series series_alloc(size_t n)
{
    series s = {n, NULL, NULL, NULL, NULL, NULL, NULL};
    double **cols[] = {&s.o, &s.h, &s.l, &s.c, &s.v, &s.ref};
    for (int k = 0; k < 6; k++)
        *cols[k] = calloc(n ? n : 1, sizeof(double));
    return s;
}

static void series_free(series *s)
{
    free(s->o), free(s->h), free(s->l), free(s->c), free(s->v), free(s->ref);
}

/* A random walk with 2-decimal prices, a flat stretch (rows 700..759),
 * a few zero volumes, and (when with_missing) NaN or infinite values in
 * random inputs of some rows. */
static series make_series(size_t n, int with_missing)
{
    series s = series_alloc(n);
    rng_state = 0x9e3779b97f4a7c15ull;
    double c = 100.0, r = 50.0;
    for (size_t i = 0; i < n; i++) {
        double z = grand(), z2 = grand();
        double o = c;
        if (i >= 700 && i < 760) {
            s.o[i] = s.h[i] = s.l[i] = s.c[i] = o;
        } else {
            c = round(c * exp(0.012 * z) * 100.0) / 100.0;
            s.o[i] = o;
            s.c[i] = c;
            s.h[i] = round((fmax(o, c) + fabs(grand()) * 0.004 * c) * 100.0) / 100.0;
            s.l[i] = round((fmin(o, c) - fabs(grand()) * 0.004 * c) * 100.0) / 100.0;
        }
        r = round(r * exp(0.01 * (0.6 * z + 0.8 * z2)) * 100.0) / 100.0;
        s.ref[i] = r;
        s.v[i] = (i % 250 == 17) ? 0.0 : round(1000.0 * exp(0.5 * grand()));
    }
    if (with_missing) {
        double *cols[] = {s.o, s.h, s.l, s.c, s.v, s.ref};
        int event = 0;
        for (size_t i = 3; i < n; i += 37 + (size_t)(urand() * 40)) {
            int k = event++ % 6;
            cols[k][i] = (i % 3 == 0) ? INFINITY : NAN;
            if (i % 5 == 0) /* a run of missing rows */
                for (size_t j = i + 1; j < i + 4 && j < n; j++)
                    s.c[j] = NAN;
        }
    }
    return s;
}

/* The column an input role reads; correlation's second input is ref. */
static const double *role_column(const series *s, const fs_indicator_spec *spec, int i)
{
    if (i >= spec->n_inputs)
        return s->ref;
    const char *role = spec->inputs[i].role;
    if (strcmp(role, "high") == 0)
        return s->h;
    if (strcmp(role, "low") == 0)
        return s->l;
    if (strcmp(role, "volume") == 0)
        return s->v;
    if (strcmp(role, "open") == 0)
        return s->o;
    return s->c; /* price, close */
}

/* ---------- running an indicator ---------- */

typedef struct {
    const fs_indicator_spec *spec;
    double params[FS_IND_MAX_PARAMS];
} icase;

static icase case_of(const char *name, const double *p, int np)
{
    icase k;
    k.spec = fs_indicator_find(name);
    fs_indicator_defaults(k.spec, k.params);
    for (int i = 0; i < np; i++)
        k.params[i] = p[i];
    return k;
}

/* Outputs [k][row]. */
typedef struct {
    int n_out;
    size_t n;
    double *v[FS_IND_MAX_OUTPUTS];
} outputs;

static outputs outputs_alloc(const fs_indicator_spec *spec, size_t n)
{
    outputs o;
    o.n_out = spec->n_outputs;
    o.n = n;
    for (int k = 0; k < FS_IND_MAX_OUTPUTS; k++)
        o.v[k] = k < o.n_out ? calloc(n ? n : 1, sizeof(double)) : NULL;
    return o;
}

static void outputs_free(outputs *o)
{
    for (int k = 0; k < FS_IND_MAX_OUTPUTS; k++)
        free(o->v[k]);
}

static int outputs_equal_bits(const outputs *a, const outputs *b)
{
    if (a->n_out != b->n_out || a->n != b->n)
        return 0;
    for (int k = 0; k < a->n_out; k++)
        if (memcmp(a->v[k], b->v[k], a->n * sizeof(double)) != 0)
            return 0;
    return 1;
}

static fs_ind_state *new_state(const icase *k)
{
    fs_ind_state *st = NULL;
    int rc = fs_ind_new(k->spec, k->params, &st);
    CHECK_INT(rc, 0);
    return st;
}

/* Batch over rows [from, from+n) of s into out (rows [from, from+n)). */
static void run_batch(fs_ind_state *st, const icase *k, const series *s, size_t from, size_t n,
                      outputs *out)
{
    const double *in[FS_IND_MAX_STEP_INPUTS];
    double *o[FS_IND_MAX_OUTPUTS];
    int n_in = fs_ind_n_inputs(k->spec);
    for (int i = 0; i < n_in; i++)
        in[i] = role_column(s, k->spec, i) + from;
    for (int j = 0; j < out->n_out; j++)
        o[j] = out->v[j] + from;
    fs_ind_run(st, in, n, o);
}

static outputs compute(const icase *k, const series *s)
{
    outputs out = outputs_alloc(k->spec, s->n);
    fs_ind_state *st = new_state(k);
    if (st)
        run_batch(st, k, s, 0, s->n, &out);
    fs_ind_free(st);
    return out;
}

/* Defaults and minimum-period variants of every indicator. */
static size_t all_cases(icase *out)
{
    size_t n = 0;
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        const fs_indicator_spec *s = fs_indicator_at(i);
        out[n].spec = s;
        fs_indicator_defaults(s, out[n].params);
        n++;
    }
    static const struct {
        const char *name;
        double p[3];
        int np;
    } variants[] = {
        {"sma", {2}, 1},          {"ema", {2}, 1},          {"wma", {2}, 1},
        {"rsi", {2}, 1},          {"macd", {2, 3, 1}, 3},   {"macd", {12, 26, 9}, 3},
        {"stoch", {1, 1, 1}, 3},  {"stoch", {14, 3, 3}, 3}, {"bbands", {2, 1, 0}, 3},
        {"bbands", {5, 1, 2.5}, 3}, {"atr", {1}, 1},        {"natr", {1}, 1},
        {"realized_vol", {2, 365}, 2}, {"vwap", {1}, 1},    {"volume_ratio", {2}, 1},
        {"returns", {3}, 1},      {"log_returns", {2}, 1},  {"zscore", {2}, 1},
        {"rolling_min", {2}, 1},  {"rolling_max", {2}, 1},  {"correlation", {2}, 1},
        {"ema", {20}, 1},         {"rsi", {14}, 1},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        out[n++] = case_of(variants[i].name, variants[i].p, variants[i].np);
    return n;
}

static size_t count_non_nan(const outputs *o, int k)
{
    size_t c = 0;
    for (size_t i = 0; i < o->n; i++)
        c += !isnan(o->v[k][i]);
    return c;
}

/* ---------- tests ---------- */

TEST(test_every_indicator_computable)
{
    CHECK_INT(fs_indicator_count(), 19);
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        const fs_indicator_spec *s = fs_indicator_at(i);
        double p[FS_IND_MAX_PARAMS];
        fs_indicator_defaults(s, p);
        int n_in = fs_ind_n_inputs(s);
        CHECK_INT(n_in, s->n_inputs + (strcmp(s->name, "correlation") == 0));
        CHECK(fs_ind_lookback(s, p) >= 0);
        size_t size = fs_ind_state_size(s, p);
        CHECK(size > 0 && size % 8 == 0);
        fs_ind_state *st = NULL;
        CHECK_INT(fs_ind_new(s, p, &st), 0);
        CHECK(st != NULL);
        if (!st)
            continue;
        CHECK(fs_ind_state_spec(st) == s);
        CHECK_INT(fs_ind_state_bytes(st), size);
        CHECK_INT(fs_ind_state_rows(st), 0);
        CHECK_INT(fs_ind_state_check(st, size), 0);
        fs_ind_free(st);
    }
}

TEST(test_lookback_table)
{
    static const struct {
        const char *name;
        double p[3];
        int np;
        int lookback;
    } t[] = {
        {"sma", {20}, 1, 19},          {"sma", {30}, 1, 29},          {"ema", {20}, 1, 19},
        {"wma", {30}, 1, 29},          {"rsi", {14}, 1, 14},          {"rsi", {2}, 1, 2},
        {"macd", {12, 26, 9}, 3, 33},  {"macd", {3, 10, 1}, 3, 9},    {"stoch", {14, 3, 3}, 3, 17},
        {"stoch", {5, 3, 3}, 3, 8},    {"stoch", {1, 1, 1}, 3, 0},    {"bbands", {20, 2, 2}, 3, 19},
        {"atr", {14}, 1, 14},          {"atr", {1}, 1, 1},            {"natr", {14}, 1, 14},
        {"realized_vol", {20, 1}, 2, 20}, {"obv", {0}, 0, 0},         {"vwap", {20}, 1, 19},
        {"vwap", {1}, 1, 0},           {"volume_ratio", {20}, 1, 19}, {"returns", {1}, 1, 1},
        {"returns", {10}, 1, 10},      {"log_returns", {1}, 1, 1},    {"zscore", {20}, 1, 19},
        {"rolling_min", {30}, 1, 29},  {"rolling_max", {30}, 1, 29},  {"correlation", {30}, 1, 29},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        icase k = case_of(t[i].name, t[i].p, t[i].np);
        int lb = fs_ind_lookback(k.spec, k.params);
        if (lb != t[i].lookback)
            fprintf(stderr, "  lookback of %s\n", t[i].name);
        CHECK_INT(lb, t[i].lookback);
    }
}

TEST(test_invalid_params)
{
    const fs_indicator_spec *rsi = fs_indicator_find("rsi"), *macd = fs_indicator_find("macd");
    double p[FS_IND_MAX_PARAMS];
    fs_indicator_defaults(rsi, p);
    p[0] = 1; /* below rsi's minimum */
    CHECK_INT(fs_ind_lookback(rsi, p), -1);
    CHECK_INT(fs_ind_state_size(rsi, p), 0);
    fs_ind_state *st = (fs_ind_state *)&p; /* must be reset to NULL */
    CHECK_INT(fs_ind_new(rsi, p, &st), FS_E_INVALID_DEF);
    CHECK(st == NULL);
    p[0] = 14.5; /* not whole */
    CHECK_INT(fs_ind_new(rsi, p, &st), FS_E_INVALID_DEF);
    static double buf[64];
    CHECK_INT(fs_ind_init(rsi, p, (fs_ind_state *)buf), FS_E_INVALID_DEF);
    fs_indicator_defaults(macd, p);
    p[0] = 26; /* fast == slow */
    CHECK_INT(fs_ind_init(macd, p, (fs_ind_state *)buf), FS_E_INVALID_DEF);
    CHECK_INT(fs_ind_init(NULL, p, (fs_ind_state *)buf), FS_E_INVAL);
    CHECK_INT(fs_ind_init(macd, NULL, (fs_ind_state *)buf), FS_E_INVAL);
    CHECK_INT(fs_ind_init(macd, p, NULL), FS_E_INVAL);
    CHECK_INT(fs_ind_new(macd, p, NULL), FS_E_INVAL);
    CHECK_INT(fs_ind_lookback(NULL, p), -1);
    CHECK_INT(fs_ind_n_inputs(NULL), 0);
}

/* Batch (fs_ind_run over all rows, and in uneven chunks) == streaming
 * (fs_ind_step row by row), bit for bit, NaN positions included; the final
 * states are identical bytes too. */
TEST(test_batch_equals_stream)
{
    series s = make_series(NROWS, 1);
    icase cases[64];
    size_t nc = all_cases(cases);
    for (size_t ci = 0; ci < nc; ci++) {
        const icase *k = &cases[ci];
        fs_ind_state *a = new_state(k), *b = new_state(k), *c = new_state(k);
        if (!a || !b || !c) {
            fs_ind_free(a), fs_ind_free(b), fs_ind_free(c);
            continue;
        }
        outputs batch = outputs_alloc(k->spec, s.n), stream = outputs_alloc(k->spec, s.n),
                chunks = outputs_alloc(k->spec, s.n);
        run_batch(a, k, &s, 0, s.n, &batch);

        int n_in = fs_ind_n_inputs(k->spec);
        for (size_t r = 0; r < s.n; r++) {
            double in[FS_IND_MAX_STEP_INPUTS], out[FS_IND_MAX_OUTPUTS];
            for (int i = 0; i < n_in; i++)
                in[i] = role_column(&s, k->spec, i)[r];
            fs_ind_step(b, in, out);
            for (int j = 0; j < stream.n_out; j++)
                stream.v[j][r] = out[j];
        }
        for (size_t r = 0, len = 1; r < s.n; r += len, len = len * 3 % 101 + 1) {
            if (r + len > s.n)
                len = s.n - r;
            run_batch(c, k, &s, r, len, &chunks);
        }
        int same = outputs_equal_bits(&batch, &stream) && outputs_equal_bits(&batch, &chunks);
        size_t size = fs_ind_state_bytes(a);
        int same_state = memcmp(a, b, size) == 0 && memcmp(a, c, size) == 0;
        if (!same || !same_state)
            fprintf(stderr, "  %s (params %g %g %g): batch != stream\n", k->spec->name,
                    k->params[0], k->params[1], k->params[2]);
        CHECK(same);
        CHECK(same_state);
        for (int j = 0; j < batch.n_out; j++) /* it computed something */
            CHECK(count_non_nan(&batch, j) > s.n / 2);
        outputs_free(&batch), outputs_free(&stream), outputs_free(&chunks);
        fs_ind_free(a), fs_ind_free(b), fs_ind_free(c);
    }
    series_free(&s);
}

/* Run half, copy the state's bytes elsewhere, wipe the original, continue
 * from the copy: identical to an uninterrupted run. */
TEST(test_state_persistence)
{
    series s = make_series(NROWS, 1);
    icase cases[64];
    size_t nc = all_cases(cases);
    for (size_t ci = 0; ci < nc; ci++) {
        const icase *k = &cases[ci];
        outputs whole = compute(k, &s);
        outputs resumed = outputs_alloc(k->spec, s.n);
        fs_ind_state *first = new_state(k);
        if (!first) {
            outputs_free(&whole), outputs_free(&resumed);
            continue;
        }
        size_t half = s.n / 2 + 7, size = fs_ind_state_size(k->spec, k->params);
        run_batch(first, k, &s, 0, half, &resumed);
        double *copy = malloc(size); /* malloc alignment suits double */
        memcpy(copy, first, size);
        memset(first, 0xA5, size);
        fs_ind_free(first);
        fs_ind_state *st = (fs_ind_state *)copy;
        CHECK_INT(fs_ind_state_check(st, size), 0);
        run_batch(st, k, &s, half, s.n - half, &resumed);
        int same = outputs_equal_bits(&whole, &resumed);
        if (!same)
            fprintf(stderr, "  %s: resumed run differs\n", k->spec->name);
        CHECK(same);
        free(copy);
        outputs_free(&whole), outputs_free(&resumed);
    }
    series_free(&s);
}

TEST(test_state_check_rejects)
{
    icase k = case_of("rsi", (double[]){14}, 1);
    size_t size = fs_ind_state_size(k.spec, k.params);
    uint64_t *buf = calloc(1, size + 8);
    fs_ind_state *st = (fs_ind_state *)buf;
    CHECK_INT(fs_ind_init(k.spec, k.params, st), 0);
    CHECK_INT(fs_ind_state_check(st, size), 0);
    CHECK_INT(fs_ind_state_check(st, size + 8), FS_E_CORRUPT);
    CHECK_INT(fs_ind_state_check(st, 4), FS_E_CORRUPT);
    CHECK_INT(fs_ind_state_check(NULL, size), FS_E_INVAL);
    unsigned char *bytes = (unsigned char *)buf;
    unsigned char saved = bytes[4]; /* the layout version */
    bytes[4] ^= 0x7f;
    CHECK_INT(fs_ind_state_check(st, size), FS_E_VERSION);
    bytes[4] = saved;
    bytes[0] ^= 1; /* the magic */
    CHECK_INT(fs_ind_state_check(st, size), FS_E_CORRUPT);
    bytes[0] ^= 1;
    CHECK_INT(fs_ind_state_check(st, size), 0);
    free(buf);
}

/* A missing row (NaN or Inf in any input) changes nothing: the outputs at
 * the valid rows equal a run over the valid rows alone, and every output of
 * a missing row is NaN. */
TEST(test_missing_rows_are_skipped)
{
    series full = make_series(NROWS, 1);
    icase cases[64];
    size_t nc = all_cases(cases);
    for (size_t ci = 0; ci < nc; ci++) {
        const icase *k = &cases[ci];
        int n_in = fs_ind_n_inputs(k->spec);
        series dense = series_alloc(full.n);
        unsigned char *valid = calloc(full.n, 1);
        size_t m = 0, skipped = 0;
        for (size_t r = 0; r < full.n; r++) {
            int ok = 1;
            for (int i = 0; i < n_in; i++)
                ok &= isfinite(role_column(&full, k->spec, i)[r]) != 0;
            valid[r] = (unsigned char)ok;
            if (!ok) {
                skipped++;
                continue;
            }
            dense.o[m] = full.o[r], dense.h[m] = full.h[r], dense.l[m] = full.l[r];
            dense.c[m] = full.c[r], dense.v[m] = full.v[r], dense.ref[m] = full.ref[r];
            m++;
        }
        dense.n = m;
        CHECK(skipped >= 4);
        outputs a = compute(k, &full), b = compute(k, &dense);
        int ok = 1;
        for (size_t r = 0, j = 0; r < full.n; r++) {
            for (int o = 0; o < a.n_out; o++) {
                if (!valid[r])
                    ok &= isnan(a.v[o][r]) != 0;
                else
                    ok &= memcmp(&a.v[o][r], &b.v[o][j], sizeof(double)) == 0;
            }
            j += valid[r];
        }
        if (!ok)
            fprintf(stderr, "  %s: missing rows not skipped\n", k->spec->name);
        CHECK(ok);
        outputs_free(&a), outputs_free(&b);
        free(valid);
        series_free(&dense);
    }
    series_free(&full);
}

/* log_returns and realized_vol skip a price <= 0 like a missing row. */
TEST(test_nonpositive_price_is_missing)
{
    double with[] = {100, 101, 0, 102, -5, 103, 99, 98, 100};
    double without[] = {100, 101, 102, 103, 99, 98, 100};
    const char *names[] = {"log_returns", "realized_vol"};
    for (int t = 0; t < 2; t++) {
        icase k = case_of(names[t], (double[]){2}, 1);
        fs_ind_state *a = new_state(&k), *b = new_state(&k);
        if (!a || !b)
            continue;
        double oa[9], ob[7];
        const double *ia[1] = {with}, *ib[1] = {without};
        double *pa[1] = {oa}, *pb[1] = {ob};
        fs_ind_run(a, ia, 9, pa);
        fs_ind_run(b, ib, 7, pb);
        CHECK(isnan(oa[2]) && isnan(oa[4]));
        CHECK(memcmp(&oa[8], &ob[6], sizeof(double)) == 0 && !isnan(ob[6]));
        CHECK(memcmp(&oa[5], &ob[3], sizeof(double)) == 0);
        CHECK_INT(fs_ind_state_rows(a), 7);
        CHECK(memcmp(a, b, fs_ind_state_bytes(a)) == 0);
        fs_ind_free(a), fs_ind_free(b);
    }
}

/* ---------- TA-Lib reference files ---------- */

/* Reads up to maxrows lines of comma-separated numbers into cols[0..ncols). */
static size_t load_csv(const char *path, int skip_header, double **cols, int ncols, size_t maxrows)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s\n", path);
        return 0;
    }
    char line[4096];
    size_t n = 0;
    if (skip_header && !fgets(line, sizeof line, f))
        n = 0;
    while (n < maxrows && fgets(line, sizeof line, f)) {
        char *p = line;
        for (int k = 0; k < ncols; k++) {
            char *end;
            cols[k][n] = strtod(p, &end);
            p = (*end == ',') ? end + 1 : end;
        }
        n++;
    }
    fclose(f);
    return n;
}

typedef struct {
    char name[64], indicator[32], source[16];
    double params[FS_IND_MAX_PARAMS];
    int np, lookback;
} manifest_entry;

static size_t load_manifest(manifest_entry *m, size_t max)
{
    FILE *f = fopen("tests/data/talib/manifest.csv", "rb");
    CHECK(f != NULL);
    if (!f)
        return 0;
    char line[512];
    size_t n = 0;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (n < max && fgets(line, sizeof line, f)) {
        char *field[6];
        char *p = line;
        for (int i = 0; i < 6; i++) {
            field[i] = p;
            p += strcspn(p, ",\n");
            if (*p)
                *p++ = '\0';
        }
        manifest_entry *e = &m[n];
        snprintf(e->name, sizeof e->name, "%s", field[0]);
        snprintf(e->indicator, sizeof e->indicator, "%s", field[1]);
        snprintf(e->source, sizeof e->source, "%s", field[4]);
        e->np = 0;
        for (char *q = field[2]; *q && e->np < FS_IND_MAX_PARAMS;) {
            char *end;
            e->params[e->np++] = strtod(q, &end);
            q = (*end == ';') ? end + 1 : end;
            if (end == q && *q != '\0')
                break;
        }
        e->lookback = atoi(field[5]);
        n++;
    }
    fclose(f);
    return n;
}

static int close_to(double got, double want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want);
    return fabs(got - want) <= 1e-9 * fabs(want) + 1e-12;
}

static size_t leading_nans(const double *v, size_t n)
{
    size_t i = 0;
    while (i < n && isnan(v[i]))
        i++;
    return i;
}

TEST(test_matches_talib)
{
    series s = series_alloc(MAXREF);
    double *cols[] = {s.o, s.h, s.l, s.c, s.v, s.ref};
    s.n = load_csv("tests/data/talib/ohlcv.csv", 1, cols, 6, MAXREF);
    CHECK(s.n >= 300);
    manifest_entry m[64];
    size_t nm = load_manifest(m, 64);
    CHECK(nm >= 30);
    int verbose = getenv("FSTORE_TEST_VERBOSE") != NULL;
    int seen[32] = {0}; /* catalogue entries covered */
    for (size_t e = 0; e < nm; e++) {
        icase k = case_of(m[e].indicator, m[e].params, m[e].np);
        CHECK(k.spec != NULL);
        if (!k.spec)
            continue;
        for (size_t i = 0; i < fs_indicator_count(); i++)
            if (fs_indicator_at(i) == k.spec)
                seen[i] = 1;
        /* the lookback is TA-Lib's outBegIdx */
        int lb = fs_ind_lookback(k.spec, k.params);
        if (lb != m[e].lookback)
            fprintf(stderr, "  %s: lookback %d, TA-Lib %d\n", m[e].name, lb, m[e].lookback);
        CHECK_INT(lb, m[e].lookback);

        outputs ref = outputs_alloc(k.spec, MAXREF);
        char path[160];
        snprintf(path, sizeof path, "tests/data/talib/%.64s.csv", m[e].name);
        size_t nr = load_csv(path, 0, ref.v, ref.n_out, MAXREF);
        CHECK_INT(nr, s.n);
        outputs got = compute(&k, &s);
        for (int o = 0; o < got.n_out; o++) {
            size_t bad = 0, exact = 0;
            double worst = 0;
            for (size_t r = 0; r < s.n; r++) {
                double g = got.v[o][r], w = ref.v[o][r];
                if (!close_to(g, w)) {
                    if (bad++ < 3)
                        fprintf(stderr, "  %s.%s row %zu: %.17g, TA-Lib %.17g\n", m[e].name,
                                k.spec->outputs[o].name, r, g, w);
                }
                exact += memcmp(&g, &w, sizeof g) == 0;
                if (!isnan(w) && !isnan(g) && fabs(g - w) / fmax(fabs(w), 1e-300) > worst)
                    worst = fabs(g - w) / fmax(fabs(w), 1e-300);
            }
            CHECK_INT(bad, 0);
            CHECK_INT(leading_nans(got.v[o], s.n), m[e].lookback);
            CHECK_INT(leading_nans(ref.v[o], s.n), m[e].lookback);
            if (verbose)
                fprintf(stderr, "  %-22s %-10s %-11s exact %3zu/%zu  max rel err %.3g\n",
                        m[e].name, k.spec->outputs[o].name, m[e].source, exact, s.n, worst);
        }
        outputs_free(&ref), outputs_free(&got);
    }
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        if (!seen[i])
            fprintf(stderr, "  no reference for %s\n", fs_indicator_at(i)->name);
        CHECK(seen[i]);
    }
    series_free(&s);
}

/* TA-Lib's NATR(1) is the raw true range; fstore's is 100 * TR / close. */
TEST(test_natr1_is_normalized)
{
    series s = series_alloc(MAXREF);
    double *cols[] = {s.o, s.h, s.l, s.c, s.v, s.ref};
    s.n = load_csv("tests/data/talib/ohlcv.csv", 1, cols, 6, MAXREF);
    double *tr = calloc(MAXREF, sizeof(double));
    CHECK_INT(load_csv("tests/data/talib/atr_1.csv", 0, &tr, 1, MAXREF), s.n);
    icase k = case_of("natr", (double[]){1}, 1);
    outputs got = compute(&k, &s);
    CHECK(isnan(got.v[0][0]));
    for (size_t r = 1; r < s.n; r++)
        CHECK(close_to(got.v[0][r], tr[r] / s.c[r] * 100.0));
    outputs_free(&got);
    free(tr);
    series_free(&s);
}

/* macd with signal_period 1 (talib-web's TA-Lib gets this one wrong): the
 * macd line is the same as with any other signal period, the signal is the
 * line itself up to rounding, and the lookback is slow - 1. */
TEST(test_macd_signal_1)
{
    series s = make_series(400, 0);
    icase k1 = case_of("macd", (double[]){3, 10, 1}, 3), k2 = case_of("macd", (double[]){3, 10, 2}, 3);
    outputs a = compute(&k1, &s), b = compute(&k2, &s);
    CHECK_INT(leading_nans(a.v[0], s.n), 9);
    for (size_t r = 10; r < s.n; r++) {
        CHECK(memcmp(&a.v[0][r], &b.v[0][r], sizeof(double)) == 0);
        CHECK_NEAR(a.v[1][r], a.v[0][r], 1e-12);
        CHECK_NEAR(a.v[2][r], 0.0, 1e-12);
    }
    outputs_free(&a), outputs_free(&b);
    series_free(&s);
}

/* ---------- independent references for the indicators without a twin ---------- */

static double window_mean(const double *x, size_t end, size_t p)
{
    double m = 0;
    for (size_t j = end + 1 - p; j <= end; j++)
        m += x[j];
    return m / (double)p;
}

static double window_pvar(const double *x, size_t end, size_t p)
{
    double m = window_mean(x, end, p), v = 0;
    for (size_t j = end + 1 - p; j <= end; j++)
        v += (x[j] - m) * (x[j] - m);
    return v / (double)p;
}

static int window_constant(const double *x, size_t end, size_t p)
{
    for (size_t j = end + 1 - p; j < end; j++)
        if (x[j] != x[end])
            return 0;
    return 1;
}

TEST(test_non_talib_against_two_pass)
{
    series s = make_series(NROWS, 0);
    size_t n = s.n;
    double *want = calloc(n, sizeof(double)), *lr = calloc(n, sizeof(double));
    for (size_t i = 1; i < n; i++)
        lr[i] = log(s.c[i] / s.c[i - 1]);
    const size_t periods[] = {2, 5, 20};
    for (size_t pi = 0; pi < 3; pi++) {
        size_t p = periods[pi];
        double dp = (double)p;
        struct {
            const char *name;
            double params[2];
            int np;
        } t[] = {
            {"zscore", {dp}, 1},       {"realized_vol", {dp, 8760}, 2}, {"log_returns", {dp}, 1},
            {"vwap", {dp}, 1},         {"volume_ratio", {dp}, 1},       {"vwap", {1}, 1},
        };
        for (size_t ti = 0; ti < sizeof t / sizeof t[0]; ti++) {
            icase k = case_of(t[ti].name, t[ti].params, t[ti].np);
            outputs got = compute(&k, &s);
            size_t q = (size_t)k.params[0];
            for (size_t i = 0; i < n; i++) {
                double w = NAN;
                if (strcmp(t[ti].name, "zscore") == 0) {
                    if (i + 1 >= q && !window_constant(s.c, i, q))
                        w = (s.c[i] - window_mean(s.c, i, q)) / sqrt(window_pvar(s.c, i, q));
                } else if (strcmp(t[ti].name, "realized_vol") == 0) {
                    if (i >= q)
                        w = sqrt(window_pvar(lr, i, q)) * sqrt(8760.0);
                } else if (strcmp(t[ti].name, "log_returns") == 0) {
                    if (i >= q)
                        w = log(s.c[i] / s.c[i - q]);
                } else if (strcmp(t[ti].name, "vwap") == 0) {
                    if (i + 1 >= q) {
                        double pv = 0, vv = 0;
                        for (size_t j = i + 1 - q; j <= i; j++) {
                            pv += (s.h[j] + s.l[j] + s.c[j]) / 3.0 * s.v[j];
                            vv += s.v[j];
                        }
                        w = vv != 0 ? pv / vv : NAN;
                    }
                } else if (i + 1 >= q) { /* volume_ratio */
                    double mean = window_mean(s.v, i, q);
                    w = mean != 0 ? s.v[i] / mean : NAN;
                }
                want[i] = w;
            }
            size_t bad = 0;
            for (size_t i = 0; i < n; i++) {
                if (!close_to(got.v[0][i], want[i]) && bad++ < 3)
                    fprintf(stderr, "  %s(%zu) row %zu: %.17g, two-pass %.17g\n", t[ti].name, q,
                            i, got.v[0][i], want[i]);
            }
            CHECK_INT(bad, 0);
            outputs_free(&got);
        }
    }
    free(want), free(lr);
    series_free(&s);
}

/* zscore on a price far from 0 with tiny moves (where E[x^2] - E[x]^2 in
 * plain running sums loses every digit) still agrees with the two-pass
 * value. */
TEST(test_zscore_large_offset)
{
    size_t n = 3000, p = 20;
    series s = series_alloc(n);
    rng_state = 12345;
    for (size_t i = 0; i < n; i++)
        s.c[i] = 1e8 + round(grand() * 1000.0) / 1000.0;
    icase k = case_of("zscore", (double[]){20}, 1);
    outputs got = compute(&k, &s);
    size_t bad = 0;
    for (size_t i = p - 1; i < n; i++) {
        double w = (s.c[i] - window_mean(s.c, i, p)) / sqrt(window_pvar(s.c, i, p));
        if (!(fabs(got.v[0][i] - w) <= 1e-6 * fmax(1.0, fabs(w))) && bad++ < 3)
            fprintf(stderr, "  row %zu: %.17g vs %.17g\n", i, got.v[0][i], w);
    }
    CHECK_INT(bad, 0);
    outputs_free(&got);
    series_free(&s);
}

/* Constant input: zero ranges and variances everywhere. */
TEST(test_constant_series)
{
    size_t n = 120;
    series s = series_alloc(n);
    for (size_t i = 0; i < n; i++) {
        s.o[i] = s.c[i] = 100.25;
        s.h[i] = 101.0;
        s.l[i] = 99.5;
        s.v[i] = 500;
        s.ref[i] = 7.0 + (double)(i % 3); /* correlation of a constant with anything: 0 */
    }
    icase cases[64];
    size_t nc = all_cases(cases);
    for (size_t ci = 0; ci < nc; ci++) {
        const icase *k = &cases[ci];
        const char *name = k->spec->name;
        outputs o = compute(k, &s);
        int lb = fs_ind_lookback(k->spec, k->params);
        double last = o.v[0][n - 1];
        CHECK_INT(leading_nans(o.v[0], n), strcmp(name, "zscore") == 0 ? (int)n : lb);
        if (!strcmp(name, "sma") || !strcmp(name, "ema") || !strcmp(name, "wma") ||
            !strcmp(name, "rolling_min") || !strcmp(name, "rolling_max"))
            CHECK_NEAR(last, 100.25, 1e-9);
        else if (!strcmp(name, "rsi") || !strcmp(name, "correlation") || !strcmp(name, "returns") ||
                 !strcmp(name, "log_returns") || !strcmp(name, "realized_vol"))
            CHECK(last == 0.0);
        else if (!strcmp(name, "macd"))
            CHECK(fabs(o.v[0][n - 1]) < 1e-12 && fabs(o.v[1][n - 1]) < 1e-12);
        else if (!strcmp(name, "stoch")) /* close is not at the low: the range is h-l */
            CHECK_NEAR(last, 100.0 * (100.25 - 99.5) / (101.0 - 99.5), 1e-9);
        else if (!strcmp(name, "bbands")) {
            CHECK(o.v[0][n - 1] == o.v[1][n - 1] && o.v[2][n - 1] == o.v[1][n - 1]);
            CHECK(isnan(o.v[3][n - 1])); /* percent_b: bands collapsed */
            CHECK(o.v[4][n - 1] == 0.0);
        } else if (!strcmp(name, "atr"))
            CHECK_NEAR(last, 1.5, 1e-12);
        else if (!strcmp(name, "natr"))
            CHECK_NEAR(last, 1.5 / 100.25 * 100.0, 1e-12);
        else if (!strcmp(name, "obv"))
            CHECK(last == 500.0);
        else if (!strcmp(name, "vwap"))
            CHECK_NEAR(last, (101.0 + 99.5 + 100.25) / 3.0, 1e-9);
        else if (!strcmp(name, "volume_ratio"))
            CHECK_NEAR(last, 1.0, 1e-12);
        else if (!strcmp(name, "zscore"))
            CHECK(isnan(last));
        else
            CHECK(!"an indicator without a constant-series expectation");
        outputs_free(&o);
    }
    series_free(&s);
}

/* Fewer rows than the lookback: all NaN; one more row gives a value. */
TEST(test_shorter_than_lookback)
{
    series s = make_series(200, 0);
    icase cases[64];
    size_t nc = all_cases(cases);
    for (size_t ci = 0; ci < nc; ci++) {
        const icase *k = &cases[ci];
        size_t lb = (size_t)fs_ind_lookback(k->spec, k->params);
        series part = s;
        part.n = lb;
        outputs o = compute(k, &part);
        for (int j = 0; j < o.n_out; j++)
            CHECK_INT(count_non_nan(&o, j), 0);
        outputs_free(&o);
        part.n = lb + 1;
        o = compute(k, &part);
        CHECK(!isnan(o.v[0][lb]));
        outputs_free(&o);
    }
    series_free(&s);
}

/* Zero volume: vwap and volume_ratio are NaN when the window traded nothing. */
TEST(test_zero_volume)
{
    double h[] = {10, 11, 12, 13, 14, 15}, l[] = {9, 10, 11, 12, 13, 14},
           c[] = {9.5, 10.5, 11.5, 12.5, 13.5, 14.5}, v[] = {5, 0, 0, 0, 7, 0};
    icase kv = case_of("vwap", (double[]){3}, 1), kr = case_of("volume_ratio", (double[]){3}, 1);
    fs_ind_state *a = new_state(&kv), *b = new_state(&kr);
    if (!a || !b)
        return;
    double ov[6], orat[6];
    const double *iv[] = {h, l, c, v}, *ir[] = {v};
    double *pv[] = {ov}, *pr[] = {orat};
    fs_ind_run(a, iv, 6, pv);
    fs_ind_run(b, ir, 6, pr);
    CHECK_NEAR(ov[2], (9 + 10 + 9.5) / 3.0, 1e-12); /* only bar 0 traded */
    CHECK(isnan(ov[3]));                            /* bars 1..3 traded nothing */
    CHECK_NEAR(ov[4], (14 + 13 + 13.5) / 3.0, 1e-12);
    CHECK(orat[2] == 0.0 && isnan(orat[3]));
    CHECK_NEAR(orat[4], 3.0, 1e-12);
    fs_ind_free(a), fs_ind_free(b);
}

/* docs/indicators.md's Computation section names every indicator. */
TEST(test_docs_computation_section)
{
    FILE *f = fopen("docs/indicators.md", "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *sec = strstr(doc, "\n## Computation");
    CHECK(sec != NULL);
    if (!sec)
        return;
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        char key[64];
        snprintf(key, sizeof key, "\n| `%s` |", fs_indicator_at(i)->name);
        CHECK_CONTAINS(sec, key);
    }
}

int main(void)
{
    RUN(test_every_indicator_computable);
    RUN(test_lookback_table);
    RUN(test_invalid_params);
    RUN(test_batch_equals_stream);
    RUN(test_state_persistence);
    RUN(test_state_check_rejects);
    RUN(test_missing_rows_are_skipped);
    RUN(test_nonpositive_price_is_missing);
    RUN(test_matches_talib);
    RUN(test_natr1_is_normalized);
    RUN(test_macd_signal_1);
    RUN(test_non_talib_against_two_pass);
    RUN(test_zscore_large_offset);
    RUN(test_constant_series);
    RUN(test_shorter_than_lookback);
    RUN(test_zero_volume);
    RUN(test_docs_computation_section);
    TEST_EXIT();
}
