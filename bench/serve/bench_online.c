/* In-process online lookups (fs_online_lookup): the latency a trading
 * engine that embeds fstore pays per feature vector.
 *
 * Builds a store in a temporary directory: 1000 entities of a source with
 * 20 float64 columns, 10 rows each, an online view taking all 20; then
 * materializes it and times lookups of 20 features for random entities:
 * one call at a time (each timed: p50/p99/p99.9), in a tight loop (mean),
 * 100 entities per "request" (100 calls), and from 2 threads at once.
 *
 * usage: build/release/bench/bench_online [CALLS]   (default 2000000) */
#include "fstore.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { N_ENT = 1000, N_F = 20, ROWS = 10 };

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, int rc, fs_store *s)
{
    fprintf(stderr, "bench_online: %s: %s %s\n", what, fs_strerror(rc), s ? fs_errmsg(s) : "");
    exit(1);
}

static char keys[N_ENT][16];
static fs_online *on;
static fs_online_query *q;
static long calls = 2000000;

typedef struct {
    uint64_t seed;
    double ns_per_call;
    long present;
} worker;

static void *loop(void *p)
{
    worker *w = p;
    fs_online_value v[N_F];
    uint64_t x = w->seed;
    long present = 0;
    int64_t t0 = mono();
    for (long i = 0; i < calls; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        fs_online_lookup(on, q, keys[x % N_ENT], 0, v, NULL, 0);
        present += v[N_F - 1].status == FS_ONLINE_PRESENT;
    }
    w->ns_per_call = (double)(mono() - t0) / (double)calls;
    w->present = present;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        calls = atol(argv[1]);
    char dir[] = "/tmp/fstore-bench-online-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    fs_store *s = NULL;
    int rc;
    if ((rc = fs_init(dir, NULL)) != FS_OK || (rc = fs_open(dir, &s, NULL)) != FS_OK)
        die("open", rc, s);
    /* 20 float columns, an online view of all of them (TTL 0: always PRESENT). */
    char defs[8192];
    int n = snprintf(defs, sizeof defs,
                     "entities:\n  - {name: asset, join_keys: [symbol]}\n"
                     "sources:\n  - name: bars\n    entity: asset\n    timestamp: ts\n    columns:\n"
                     "      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n");
    for (int f = 1; f <= N_F; f++)
        n += snprintf(defs + n, sizeof defs - (size_t)n, "      - {name: f%02d, type: float64}\n", f);
    n += snprintf(defs + n, sizeof defs - (size_t)n,
                  "views:\n  - name: bench\n    entity: asset\n    source: bars\n    ttl: 0\n    online: true\n"
                  "    features:\n");
    for (int f = 1; f <= N_F; f++)
        n += snprintf(defs + n, sizeof defs - (size_t)n, "      - {name: f%02d, from: f%02d}\n", f, f);
    if ((rc = fs_apply_text(s, "bench.yaml", defs, strlen(defs), 0, 0, NULL)) != FS_OK)
        die("apply", rc, s);
    char path[256];
    snprintf(path, sizeof path, "%s/bars.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,ts");
    for (int k = 1; k <= N_F; k++)
        fprintf(f, ",f%02d", k);
    fprintf(f, "\n");
    for (int e = 0; e < N_ENT; e++) {
        snprintf(keys[e], sizeof keys[e], "S%06d", e);
        for (int r = 0; r < ROWS; r++) {
            fprintf(f, "%s,%d", keys[e], 1700000000 + r * 60);
            for (int k = 1; k <= N_F; k++)
                fprintf(f, ",%.4f", e + r * 0.01 + k * 0.0001);
            fprintf(f, "\n");
        }
    }
    fclose(f);
    fs_ingest_result ir;
    if ((rc = fs_ingest_file(s, "bars", path, NULL, &ir)) != FS_OK)
        die("ingest", rc, s);
    fs_materialize_result mr;
    if ((rc = fs_materialize(s, NULL, &mr)) != FS_OK)
        die("materialize", rc, s);
    if ((rc = fs_online_open(s, &on, NULL)) != FS_OK)
        die("online", rc, s);
    const char *names[N_F];
    char nb[N_F][16];
    for (int k = 0; k < N_F; k++) {
        snprintf(nb[k], sizeof nb[k], "bench:f%02d", k + 1);
        names[k] = nb[k];
    }
    if ((rc = fs_online_prepare(on, names, N_F, NULL, &q, NULL)) != FS_OK)
        die("prepare", rc, s);

    /* 1. Each call timed on its own (includes ~20-30 ns of clock reads). */
    long timed = calls < 1000000 ? calls : 1000000;
    int64_t *lat = malloc((size_t)timed * sizeof *lat);
    fs_online_value v[N_F];
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < 100000; i++) /* warm up */
        fs_online_lookup(on, q, keys[i % N_ENT], 0, v, NULL, 0);
    int64_t overhead = INT64_MAX;
    for (int i = 0; i < 1000; i++) {
        int64_t a = mono(), b = mono();
        if (b - a < overhead)
            overhead = b - a;
    }
    for (long i = 0; i < timed; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *k = keys[x % N_ENT];
        int64_t a = mono();
        fs_online_lookup(on, q, k, 0, v, NULL, 0);
        lat[i] = mono() - a;
    }
    qsort(lat, (size_t)timed, sizeof *lat, cmp64);
    printf("fstore in-process lookup, 1 entity x %d features (%ld calls, each timed; clock read ~%lld ns "
           "included):\n  p50 %lld ns, p99 %lld ns, p99.9 %lld ns, max %lld ns\n",
           N_F, timed, (long long)overhead, (long long)lat[timed / 2], (long long)lat[timed * 99 / 100],
           (long long)lat[timed * 999 / 1000], (long long)lat[timed - 1]);
    if (v[0].status != FS_ONLINE_PRESENT)
        die("lookup found nothing", FS_E_NOTFOUND, s);

    /* 2. A tight loop, one thread and two. */
    worker w[2] = {{1, 0, 0}, {2, 0, 0}};
    loop(&w[0]);
    printf("  tight loop, 1 thread: %.1f ns per lookup (%.2f M lookups/s)\n", w[0].ns_per_call,
           1e3 / w[0].ns_per_call);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, loop, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("  tight loop, 2 threads at once: %.1f and %.1f ns per lookup (%.2f M lookups/s together)\n",
           w[0].ns_per_call, w[1].ns_per_call, 1e3 / w[0].ns_per_call + 1e3 / w[1].ns_per_call);

    /* 3. 100 entities x 20 features, timed per batch. */
    long batches = timed / 100;
    for (long i = 0; i < batches; i++) {
        int64_t a = mono();
        for (int e = 0; e < 100; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            fs_online_lookup(on, q, keys[x % N_ENT], 0, v, NULL, 0);
        }
        lat[i] = mono() - a;
    }
    qsort(lat, (size_t)batches, sizeof *lat, cmp64);
    printf("fstore in-process lookup, 100 entities x %d features (%ld batches):\n  p50 %.1f us, p99 %.1f us, "
           "p99.9 %.1f us\n",
           N_F, batches, lat[batches / 2] / 1e3, lat[batches * 99 / 100] / 1e3, lat[batches * 999 / 1000] / 1e3);
    free(lat);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
