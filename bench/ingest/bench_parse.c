/* Ingest parse throughput on one thread: reads a candles CSV (as
 * gen_candles.py writes it) into memory, then parses it with the built-in
 * candles source into a batch, in pieces of 1 MiB as `fstore ingest` feeds
 * it, and prints rows per second (wall and thread CPU time) and ns per row.
 * Nothing is stored: this isolates the parser from the WAL and chunk files.
 * The batch is reused from round to round (as ingest reuses its part
 * buffers), so round 1 also pays for first-touching its memory.
 *
 *   make bench && build/release/bench/bench_parse FILE.csv [ROUNDS] */
#include "core/diag.h"
#include "fstore.h"
#include "ingest/parse.h"
#include "registry/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_parse FILE.csv [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)len + 1);
    if (!data || fread(data, 1, (size_t)len, f) != (size_t)len)
        return 1;
    fclose(f);
    fs_diag d = {0};
    fs_registry *reg = fs_registry_builtin(&d);
    const fs_source_def *src = reg ? fs_reg_source(reg, "candles") : NULL;
    if (!src)
        return 1;
    double best = 0;
    fs_batch b;
    fs_ingest_batch_init(&b, src);
    if (getenv("BENCH_RESERVE"))
        fs_batch_reserve(&b, (size_t)atol(getenv("BENCH_RESERVE")));
    for (int k = 0; k < rounds; k++) {
        fs_ingest_report rep;
        fs_ingest_report_init(&rep);
        fs_strbuf err = {0};
        fs_batch_clear(&b);
        fs_ingest_parser *p = NULL;
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        int rc = fs_ingest_begin(&p, reg, src, FS_FMT_CSV, NULL, &b, &rep, &err);
        for (long off = 0; rc == FS_OK && off < len; off += 1 << 20)
            rc = fs_ingest_feed(p, data + off, (size_t)(len - off < (1 << 20) ? len - off : (1 << 20)));
        if (rc == FS_OK)
            rc = fs_ingest_finish(p);
        double w = clock_s(CLOCK_MONOTONIC) - w0, c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (rc != FS_OK) {
            fprintf(stderr, "parse failed: %s\n", fs_sb_str(&err));
            return 1;
        }
        printf("round %d: %llu rows (%llu rejected) in %.3f s wall, %.3f s CPU: %.0f rows/s CPU, "
               "%.0f ns/row\n",
               k + 1, (unsigned long long)rep.rows_ok, (unsigned long long)rep.rows_rejected, w, c,
               rep.rows_ok / c, c * 1e9 / (double)rep.rows_ok);
        if (rep.rows_ok / c > best)
            best = rep.rows_ok / c;
        fs_ingest_parser_free(p);
        fs_ingest_report_free(&rep);
        fs_sb_free(&err);
    }
    fs_batch_free(&b);
    printf("best: %.0f rows/s on one thread (CPU time)\n", best);
    free(data);
    fs_registry_free(reg);
    return 0;
}
