/* Checkpoint cost: commits ROWS generated candles (100 symbols, one-minute
 * bars, 2-decimal random-walk prices, as gen_candles.py makes them) through
 * the write-ahead log in one batch, then times fs_engine_checkpoint, which
 * writes them as one-day chunk files. Prints seconds and ns per row.
 *
 *   make bench && build/release/bench/bench_checkpoint [ROWS] */
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
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t daily(void *ctx, const char *table)
{
    (void)ctx;
    (void)table;
    return 86400LL * 1000000000LL;
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 1000000;
    char tmpl[] = "/tmp/fstore-bench-cp-XXXXXX";
    char *dir = mkdtemp(tmpl);
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    if (!dir || fs_engine_open(dir, &o, &e, NULL, NULL) != FS_OK)
        return 1;
    static const fs_colspec cols[] = {{"symbol", FS_VT_STRING}, {"tf", FS_VT_STRING},
                                      {"ts", FS_VT_TIMESTAMP},  {"o", FS_VT_FLOAT64},
                                      {"h", FS_VT_FLOAT64},     {"l", FS_VT_FLOAT64},
                                      {"c", FS_VT_FLOAT64},     {"v", FS_VT_FLOAT64}};
    fs_batch *b = malloc(sizeof *b);
    fs_batch_init(b, cols, 8);
    uint64_t rng = 42;
    long per = rows / 100 > 0 ? rows / 100 : 1;
    for (long k = 0; k < rows; k++) {
        int s = (int)(k / per);
        long i = k % per;
        char key[32], sym[16];
        int sl = snprintf(sym, sizeof sym, "SYM%04dUSDT", s);
        int kl = snprintf(key, sizeof key, "%s:1m", sym);
        int64_t ts = (1704067200LL + i * 60) * 1000000000LL;
        long r = fs_batch_add_row(b, key, (size_t)kl, ts + 60000000000LL);
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double c = (double)(1000000 + (long)(rng >> 40) % 20000 - 10000) / 100.0;
        fs_batch_set_str(b, 0, (size_t)r, sym, (size_t)sl);
        fs_batch_set_str(b, 1, (size_t)r, "1m", 2);
        fs_batch_set_i64(b, 2, (size_t)r, ts);
        fs_batch_set_f64(b, 3, (size_t)r, c);
        fs_batch_set_f64(b, 4, (size_t)r, c + 1.25);
        fs_batch_set_f64(b, 5, (size_t)r, c - 1.5);
        fs_batch_set_f64(b, 6, (size_t)r, c + 0.25);
        fs_batch_set_f64(b, 7, (size_t)r, (double)((rng >> 20) % 1000000) / 100.0);
    }
    uint64_t seq;
    if (fs_engine_commit_owned(e, "candles", b, &seq, NULL) != FS_OK)
        return 2;
    double t0 = now_s(), c0 = cpu_s();
    fs_strbuf err = {0};
    int rc = fs_engine_checkpoint(e, daily, NULL, &err);
    double t = now_s() - t0, c = cpu_s() - c0;
    printf("checkpoint of %ld rows: %.3f s (CPU %.3f s), %.0f ns/row: %s\n", rows, t, c,
           t * 1e9 / (double)rows, rc == FS_OK ? "ok" : fs_sb_str(&err));
    fs_sb_free(&err);
    fs_engine_close(e, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0 || rc != FS_OK;
}
