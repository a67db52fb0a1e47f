/* In-process read benchmark of the storage engine: point-in-time (as-of)
 * lookups per second on one thread, and a full scan of one column, over
 * generated candles (SYMBOLS x BARS one-minute bars, fixed seed). The scan
 * runs twice: row by row through fs_engine_history (one callback per row)
 * and by runs through fs_engine_scan (one callback per run of consecutive
 * rows, summing the column array). Each figure comes with the thread's CPU
 * time too: on a busy machine wall time moves more than CPU time.
 *
 *   make bench && build/release/bench/bench_asof [SYMBOLS] [BARS] [LOOKUPS]
 *
 * Prints what it measured; it checks the answers against the generated data
 * (a benchmark that returned wrong values fast would measure nothing). */
#include "fstore.h"
#include "storage/engine.h"

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

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define MIN_NS 60000000000LL

static int scan_row(void *ctx, fs_row_ref r)
{
    double *sum = ctx;
    *sum += r.batch->cols[0].f64[r.row];
    return 0;
}

/* Four partial sums, as any column scan would: one would wait on the
 * latency of each addition (the values are whole numbers below 2^53, so the
 * total is exact in any order). */
static int scan_run(void *ctx, const fs_batch *b, size_t row0, size_t n)
{
    double *sum = ctx, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const double *v = b->cols[0].f64 + row0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += v[i];
        s1 += v[i + 1];
        s2 += v[i + 2];
        s3 += v[i + 3];
    }
    for (; i < n; i++)
        s0 += v[i];
    *sum += (s0 + s1) + (s2 + s3);
    return 0;
}

int main(int argc, char **argv)
{
    int symbols = argc > 1 ? atoi(argv[1]) : 100;
    int bars = argc > 2 ? atoi(argv[2]) : 100000;
    long lookups = argc > 3 ? atol(argv[3]) : 2000000;
    char tmpl[] = "/tmp/fstore-bench-asof-XXXXXX";
    char *dir = mkdtemp(tmpl);
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    if (!dir || fs_engine_open(dir, &o, &e, NULL, NULL) != FS_OK)
        return 1;
    static const fs_colspec cols[] = {{"c", FS_VT_FLOAT64}};
    double t0 = now_s();
    /* one commit per symbol; close = symbol * 1000 + bar, so answers are checkable */
    for (int s = 0; s < symbols; s++) {
        fs_batch *b = malloc(sizeof *b);
        fs_batch_init(b, cols, 1);
        char key[32];
        int kl = snprintf(key, sizeof key, "SYM%d:1m", s);
        for (int i = 0; i < bars; i++) {
            long r = fs_batch_add_row(b, key, (size_t)kl, (int64_t)(i + 1) * MIN_NS);
            fs_batch_set_f64(b, 0, (size_t)r, s * 1000.0 + i);
        }
        uint64_t seq;
        if (fs_engine_commit_owned(e, "candles", b, &seq, NULL) != FS_OK)
            return 2;
    }
    double t_load = now_s() - t0;
    long n_rows = (long)symbols * bars;

    /* random as-of lookups at times between bars (each answer is the bar before) */
    char (*keys)[32] = malloc((size_t)symbols * 32);
    for (int s = 0; s < symbols; s++)
        snprintf(keys[s], 32, "SYM%d:1m", s);
    long wrong = 0;
    t0 = now_s();
    double c0 = cpu_s();
    for (long q = 0; q < lookups; q++) {
        int s = (int)(next() % (uint64_t)symbols);
        int i = (int)(next() % (uint64_t)bars);
        fs_row_ref ref;
        int64_t t = (int64_t)(i + 1) * MIN_NS + MIN_NS / 2;
        if (fs_engine_asof(e, "candles", keys[s], t, 0, FS_KNOWN_ALL, &ref) != 1 ||
            ref.batch->cols[0].f64[ref.row] != s * 1000.0 + i)
            wrong++;
    }
    double t_asof = now_s() - t0, c_asof = cpu_s() - c0;

    /* full scan of one column, entity by entity */
    double sum = 0, want = 0, sum2 = 0;
    t0 = now_s();
    c0 = cpu_s();
    for (int s = 0; s < symbols; s++)
        fs_engine_history(e, "candles", keys[s], INT64_MIN, INT64_MAX, FS_KNOWN_ALL, 0, scan_row, &sum);
    double t_scan = now_s() - t0, c_scan = cpu_s() - c0;
    t0 = now_s();
    c0 = cpu_s();
    for (int s = 0; s < symbols; s++)
        fs_engine_scan(e, "candles", keys[s], INT64_MIN, INT64_MAX, FS_KNOWN_ALL, scan_run, &sum2);
    double t_runs = now_s() - t0, c_runs = cpu_s() - c0;
    for (int s = 0; s < symbols; s++)
        want += (double)bars * s * 1000.0 + (double)bars * (bars - 1) / 2.0;

    printf("rows %ld (%d symbols x %d bars); commit into the head %.2f s\n", n_rows, symbols, bars, t_load);
    printf("as-of lookups: %ld in %.3f s = %.2f M/s on one thread (CPU %.3f s = %.2f M/s; wrong "
           "answers: %ld)\n",
           lookups, t_asof, lookups / t_asof / 1e6, c_asof, lookups / c_asof / 1e6, wrong);
    printf("column scan, row by row (fs_engine_history): %ld values in %.3f s = %.1f M values/s "
           "(CPU %.1f M/s; sum %s)\n",
           n_rows, t_scan, n_rows / t_scan / 1e6, n_rows / c_scan / 1e6, sum == want ? "checked" : "WRONG");
    printf("column scan, by runs (fs_engine_scan): %ld values in %.3f s = %.1f M values/s "
           "(CPU %.1f M/s; sum %s)\n",
           n_rows, t_runs, n_rows / t_runs / 1e6, n_rows / c_runs / 1e6, sum2 == want ? "checked" : "WRONG");
    fs_engine_close(e, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 3;
    free(keys);
    return wrong || sum != want || sum2 != want ? 4 : 0;
}
