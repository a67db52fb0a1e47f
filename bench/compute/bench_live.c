/* In-process benchmark of the live compute path: the whole `technical` view of
 * examples/features.yaml (every indicator and expression feature of it, the
 * "default indicator set") updated for ONE new candle, as live trading does.
 *
 *   make bench && build/release/bench/bench_live [UPDATES [REPS [WARMUP [FEATURES_YAML]]]]
 *   (defaults: 1000000 updates, 7 repetitions, 5000 warm-up candles,
 *    examples/features.yaml, so run it from the repository root)
 *
 * What is timed: fs_view_plan_run(plan, state, scratch, in, 1, out) once per
 * new candle, the state warmed up beforehand on WARMUP candles: the per-candle
 * step of every indicator state plus the expression programs, with the input
 * pointers set for each candle (the caller's part of a live update). No
 * storage: reading the candle and writing the values are not in it.
 *
 * It prints, per repetition, the mean ns per update over UPDATES candles (one
 * clock read around the whole loop), and their median; then a per-call
 * latency distribution (each call timed on its own, clock overhead included
 * and reported); then the batch rate of the same plan over the same kind of
 * data in blocks of 4096 rows (the block size fs_compute uses), median of the
 * repetitions; and it checks that one-candle-at-a-time and batch give the
 * same bits (a benchmark that computed something else fast would measure
 * nothing). Data: a seeded random walk of 1-minute candles like
 * bench/ingest/gen_candles.py (prices with 2 decimals; weakly mean-reverting so
 * that ~16M steps stay realistic), plus a second series as correlation's
 * reference (BTCUSDT). No timing assertions. */
#include "compute/view_plan.h"
#include "core/diag.h"
#include "core/fileio.h"
#include "core/strbuf.h"
#include "registry/defs.h"
#include "registry/load.h"
#include "fstore.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- data: seeded random-walk candles ------------------------------------------ */

static uint64_t rng_s = 0x9E3779B97F4A7C15ULL;
static double unit(void)
{
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return ((double)(rng_s >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2.0 * log(unit())) * cos(6.283185307179586 * unit()); }

typedef struct {
    double price, vol_scale, base; /* cents */
} walk;

/* One step of a walk's close: a random step plus a weak pull of the log price
 * back to its base (a stationary spread of about +-10%), so that millions of
 * steps never drift to a price of one cent, where rounding to cents would
 * freeze it and the indicators would see flat, degenerate candles. */
static double step(walk *w)
{
    double drift = 1e-4 * log(w->base / w->price);
    double c = rint(w->price * (1.0 + gauss() * w->vol_scale + drift));
    return c < 1 ? 1 : c;
}

enum { C_O, C_H, C_L, C_C, C_V, C_REF, N_COLS };

/* rows candles continuing walks w (this series) and rw (the reference's close) */
static void gen(walk *w, walk *rw, double **cols, size_t rows)
{
    for (size_t r = 0; r < rows; r++) {
        double o = w->price;
        double c = step(w);
        double hi = o > c ? o : c, lo = o < c ? o : c;
        double h = hi + floor(hi * w->vol_scale * unit());
        double l = lo - floor(lo * w->vol_scale * unit());
        if (l < 1)
            l = 1;
        cols[C_O][r] = o / 100;
        cols[C_H][r] = h / 100;
        cols[C_L][r] = l / 100;
        cols[C_C][r] = c / 100;
        cols[C_V][r] = floor(unit() * 1000000 + 1) / 100;
        w->price = c;
        rw->price = step(rw);
        cols[C_REF][r] = rw->price / 100;
    }
}

/* ---- helpers ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t fnv_bits(uint64_t h, double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    if (x != x)
        b = 0x7ff8000000000000ULL; /* one NaN */
    for (int i = 0; i < 8; i++) {
        h ^= (b >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_live: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    size_t updates = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    size_t warmup = argc > 3 ? (size_t)atol(argv[3]) : 5000;
    const char *yaml = argc > 4 ? argv[4] : "examples/features.yaml";
    const char *view_name = "technical";
    if (updates < 1 || reps < 1) {
        fprintf(stderr, "usage: bench_live [UPDATES [REPS [WARMUP [FEATURES_YAML]]]]\n");
        return 1;
    }

    /* The registry and the plan of the technical view. */
    char *text = NULL;
    size_t len = 0;
    fs_strbuf err = {0};
    if (fs_read_file(yaml, &text, &len, &err) != FS_OK) {
        fprintf(stderr, "bench_live: %s (run from the repository root or pass FEATURES_YAML)\n",
                fs_sb_str(&err));
        return 2;
    }
    fs_diag d = {0};
    fs_registry *reg = fs_registry_load(yaml, text, len, FS_LOAD_YAML_USER, &d);
    if (!reg) {
        fprintf(stderr, "bench_live: %s\n", fs_diag_str(&d));
        return 2;
    }
    const fs_view_def *v = fs_reg_view(reg, view_name);
    fs_view_plan *p = NULL;
    if (!v || fs_view_plan_build(reg, v, &p, &err) != FS_OK) {
        fprintf(stderr, "bench_live: view '%s': %s\n", view_name, v ? fs_sb_str(&err) : "not found");
        return 2;
    }
    size_t nin = p->n_inputs, nout = p->n_outputs + (size_t)p->has_confidence;

    /* Which generated column feeds each plan input. */
    int col_of[64];
    if (nin > 64)
        return 2;
    for (size_t i = 0; i < nin; i++) {
        const fs_plan_input *pi = &p->inputs[i];
        static const char *const names[] = {"o", "h", "l", "c", "v"};
        col_of[i] = -1;
        if (pi->kind == FS_PLAN_IN_REFERENCE && strcmp(pi->column, "c") == 0)
            col_of[i] = C_REF;
        for (int k = 0; k < 5 && pi->kind == FS_PLAN_IN_SOURCE; k++)
            if (strcmp(pi->column, names[k]) == 0)
                col_of[i] = k;
        if (col_of[i] < 0) {
            fprintf(stderr, "bench_live: no generated data for plan input %zu (kind %d, column %s)\n",
                    i, (int)pi->kind, pi->column);
            return 2;
        }
    }
    printf("view %s of %s: %zu computed features, %zu input series, state %zu bytes per entity, "
           "max lookback %d rows\n",
           view_name, yaml, p->n_outputs, nin, p->state_size, p->max_lookback);
    printf("features:");
    for (size_t k = 0; k < p->n_outputs; k++)
        printf(" %s", v->features[p->outputs[k]].name);
    printf("\n");

    enum { BLOCK = 4096 };
    size_t rows = updates > warmup ? updates : warmup;
    double *cols[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        cols[c] = xmalloc(rows * sizeof(double));
    walk w = {3456789, 0.0015, 3456789}, rw = {4200000, 0.001, 4200000};
    void *state = xmalloc(p->state_size), *state2 = xmalloc(p->state_size);
    void *scr1 = fs_view_plan_scratch_new(p, 1), *scrb = fs_view_plan_scratch_new(p, BLOCK);
    double *outbuf = xmalloc(nout * BLOCK * sizeof(double));
    double *out1[64], *outb[64];
    const double *in[64];
    for (size_t k = 0; k < nout; k++) {
        out1[k] = outbuf + k; /* one row each, laid side by side */
        outb[k] = outbuf + k * BLOCK;
    }
    if (!scr1 || !scrb)
        return 2;

    /* Warm-up: WARMUP candles, one at a time. */
    fs_view_plan_state_init(p, state);
    gen(&w, &rw, cols, warmup);
    for (size_t r = 0; r < warmup; r++) {
        for (size_t i = 0; i < nin; i++)
            in[i] = cols[col_of[i]] + r;
        fs_view_plan_run(p, state, scr1, in, 1, out1);
    }
    size_t valid = 0;
    for (size_t k = 0; k < p->n_outputs; k++)
        valid += isfinite(out1[k][0]);
    printf("after %zu warm-up candles: %zu of %zu features have a value\n", warmup, valid, p->n_outputs);

    /* 1. Live: one candle per call, REPS x UPDATES calls. */
    double *per = xmalloc((size_t)reps * sizeof(double));
    double sink = 0;
    printf("\nlive update (fs_view_plan_run, n = 1), %zu updates per repetition:\n", updates);
    for (int rep = 0; rep < reps; rep++) {
        gen(&w, &rw, cols, updates); /* untimed: the next candles */
        double t0 = now_ns();
        for (size_t r = 0; r < updates; r++) {
            for (size_t i = 0; i < nin; i++)
                in[i] = cols[col_of[i]] + r;
            fs_view_plan_run(p, state, scr1, in, 1, out1);
        }
        double t1 = now_ns();
        sink += out1[0][0];
        per[rep] = (t1 - t0) / (double)updates;
        printf("  rep %d: %.1f ns/update (%.2f M updates/s)\n", rep + 1, per[rep], 1e3 / per[rep]);
    }
    double live_med = median(per, (size_t)reps);

    /* 2. Per-call latency distribution (each call between two clock reads). */
    size_t nlat = updates < 200000 ? updates : 200000;
    double *lat = xmalloc(nlat * sizeof(double));
    gen(&w, &rw, cols, nlat);
    double c0 = now_ns();
    for (size_t r = 0; r < nlat; r++)
        lat[r] = now_ns();
    double clock_ns = (now_ns() - c0) / (double)nlat;
    for (size_t r = 0; r < nlat; r++) {
        for (size_t i = 0; i < nin; i++)
            in[i] = cols[col_of[i]] + r;
        double t0 = now_ns();
        fs_view_plan_run(p, state, scr1, in, 1, out1);
        lat[r] = now_ns() - t0;
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = lat[nlat / 2], p99 = lat[(size_t)(nlat * 0.99)], p999 = lat[(size_t)(nlat * 0.999)],
           pmax = lat[nlat - 1];

    /* 3. Batch: the same plan over blocks of 4096 rows. */
    printf("\nbatch (blocks of %d rows), %zu rows per repetition:\n", BLOCK, updates);
    double *bat = xmalloc((size_t)reps * sizeof(double));
    for (int rep = 0; rep < reps; rep++) {
        gen(&w, &rw, cols, updates);
        double t0 = now_ns();
        for (size_t b0 = 0; b0 < updates; b0 += BLOCK) {
            size_t n = updates - b0 < BLOCK ? updates - b0 : BLOCK;
            for (size_t i = 0; i < nin; i++)
                in[i] = cols[col_of[i]] + b0;
            fs_view_plan_run(p, state, scrb, in, n, outb);
        }
        double t1 = now_ns();
        sink += outb[0][0];
        bat[rep] = (double)updates / ((t1 - t0) / 1e9);
        printf("  rep %d: %.2f M rows/s (%.1f ns/row)\n", rep + 1, bat[rep] / 1e6, (t1 - t0) / (double)updates);
    }
    double batch_med = median(bat, (size_t)reps);

    /* 4. Same bits, one at a time and in blocks, from the same state. */
    size_t ncheck = updates < 100000 ? updates : 100000;
    gen(&w, &rw, cols, ncheck);
    memcpy(state2, state, p->state_size);
    uint64_t h_live = 1469598103934665603ULL, h_batch = h_live;
    size_t nonnan = 0;
    for (size_t r = 0; r < ncheck; r++) {
        for (size_t i = 0; i < nin; i++)
            in[i] = cols[col_of[i]] + r;
        fs_view_plan_run(p, state, scr1, in, 1, out1);
        for (size_t k = 0; k < nout; k++) {
            h_live = fnv_bits(h_live, out1[k][0]);
            nonnan += isfinite(out1[k][0]);
        }
    }
    for (size_t b0 = 0; b0 < ncheck; b0 += BLOCK) {
        size_t n = ncheck - b0 < BLOCK ? ncheck - b0 : BLOCK;
        for (size_t i = 0; i < nin; i++)
            in[i] = cols[col_of[i]] + b0;
        fs_view_plan_run(p, state2, scrb, in, n, outb);
        for (size_t r = 0; r < n; r++)
            for (size_t k = 0; k < nout; k++)
                h_batch = fnv_bits(h_batch, outb[k][r]);
    }
    int same = h_live == h_batch && memcmp(state, state2, p->state_size) == 0;

    printf("\nper-call latency over %zu calls (each between two clock reads; one clock read costs "
           "%.1f ns): p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns, max %.0f ns\n",
           nlat, clock_ns, p50, p99, p999, pmax);
    printf("check: %zu rows one at a time vs in blocks of %d: %s (%zu finite values; states %s)\n",
           ncheck, BLOCK, same ? "same bits" : "DIFFERENT", nonnan,
           memcmp(state, state2, p->state_size) == 0 ? "equal" : "differ");
    printf("\nRESULT live_ns_per_update_median=%.1f live_p50_ns=%.0f live_p99_ns=%.0f "
           "batch_rows_per_s_median=%.0f features=%zu reps=%d updates=%zu bits_equal=%d\n",
           live_med, p50, p99, batch_med, p->n_outputs, reps, updates, same);
    printf("(sink %g)\n", sink);

    for (int c = 0; c < N_COLS; c++)
        free(cols[c]);
    free(per);
    free(bat);
    free(lat);
    free(state);
    free(state2);
    free(scr1);
    free(scrb);
    free(outbuf);
    free(text);
    fs_view_plan_free(p);
    fs_registry_free(reg);
    fs_diag_free(&d);
    fs_sb_free(&err);
    return same ? 0 : 3;
}
