/* In-process benchmark of the expression evaluator: rows per second of a few
 * derived features over generated data (ROWS rows, fixed seed), in blocks of
 * 4096 rows (batch) and one row at a time (live), the best of three runs.
 *
 *   make bench && build/release/bench/bench_expr [ROWS]
 *
 * It checks that both ways give the same bits (a benchmark that computed
 * something else fast would measure nothing). */
#include "compute/expr.h"
#include "compute/expr_eval.h"
#include "fstore.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double next_unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int numeric(void *ctx, const char *name, fs_expr_type *t)
{
    (void)ctx;
    (void)name;
    *t = FS_EXPR_NUMERIC;
    return 0;
}

static const char *const exprs[] = {
    "(ask - bid) / ((ask + bid) / 2) * 10000",
    "if(bid_size + ask_size > 0, (bid_size - ask_size) / (bid_size + ask_size), 0)",
    "clip(clip(50 - 5 * ask, 0, 50) + clip(4 * log(1 + bid / 10000), 0, 30), 0, 100)",
    "pct_change(ask, 1) * 100",
    "zscore(ask, 96)",
    "mean(lag(bid, 5), 10) - ewm(ask, 20)",
};

int main(int argc, char **argv)
{
    size_t rows = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    enum { BLOCK = 4096 };
    double *cols[4], *out_batch = malloc(rows * sizeof(double)), *out_live = malloc(rows * sizeof(double));
    static const char *const names[4] = {"bid", "ask", "bid_size", "ask_size"};
    for (int c = 0; c < 4; c++) {
        cols[c] = malloc(rows * sizeof(double));
        double level = 100 + c;
        for (size_t i = 0; i < rows && cols[c]; i++) {
            level += next_unit() - 0.5;
            cols[c][i] = next_unit() < 0.01 ? NAN : level;
        }
    }
    if (!out_batch || !out_live || !cols[0] || !cols[1] || !cols[2] || !cols[3])
        return 1;
    memset(out_batch, 0, rows * sizeof(double)); /* fault the pages in before timing */
    memset(out_live, 0, rows * sizeof(double));
    int bad = 0;
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        fs_expr *e = NULL;
        fs_expr_prog *p = NULL;
        char msg[256];
        if (fs_expr_parse(exprs[k], &e, NULL) != FS_OK || fs_expr_check(e, numeric, NULL, NULL, NULL) != FS_OK ||
            fs_expr_compile(e, &p, msg, sizeof msg) != FS_OK) {
            fprintf(stderr, "cannot compile %s\n", exprs[k]);
            return 1;
        }
        fs_expr_free(e);
        size_t ni = fs_expr_prog_input_count(p);
        int slot[8];
        for (size_t i = 0; i < ni; i++)
            for (int c = 0; c < 4; c++)
                if (!strcmp(names[c], fs_expr_prog_input_name(p, i)))
                    slot[i] = c;
        void *state = malloc(fs_expr_state_size(p));
        void *scratch = malloc(fs_expr_scratch_size(p, BLOCK) + 1);
        const double *in[8];
        double times[2];
        for (int live = 0; live < 2; live++) {
            double *out = live ? out_live : out_batch;
            size_t step = live ? 1 : BLOCK;
            times[live] = INFINITY;
            for (int rep = 0; rep < 3; rep++) { /* the best of three */
                fs_expr_state_init(p, state);
                double t0 = now_s();
                for (size_t r = 0; r < rows; r += step) {
                    size_t n = rows - r < step ? rows - r : step;
                    for (size_t i = 0; i < ni; i++)
                        in[i] = cols[slot[i]] + r;
                    if (fs_expr_eval(p, state, scratch, in, n, out + r) != FS_OK)
                        return 1;
                }
                double t = now_s() - t0;
                times[live] = t < times[live] ? t : times[live];
            }
        }
        int same = memcmp(out_batch, out_live, rows * sizeof(double)) == 0;
        bad += !same;
        printf("%-80s batch %7.1f Mrows/s  live %6.1f Mrows/s  %s\n", exprs[k], rows / times[0] / 1e6,
               rows / times[1] / 1e6, same ? "same bits" : "DIFFERENT");
        free(state);
        free(scratch);
        fs_expr_prog_free(p);
    }
    for (int c = 0; c < 4; c++)
        free(cols[c]);
    free(out_batch);
    free(out_live);
    return bad ? 1 : 0;
}
