/* Storage engine tests: the point-in-time rule against a brute-force
 * reference on randomized commits (many entities, exact ties on event_ts
 * across commits, TTL edges, known_at watermarks), the same answers after
 * reopening (WAL replay), SIGKILL during commits never losing an
 * acknowledged commit, and readers pinned to a watermark seeing one
 * unchanging state while a writer commits. Streamed commits (rows written
 * as chunk files part by part, one WAL record naming them): the same
 * answers as the reference before and after a checkpoint and a reopen,
 * ties inside one commit across parts, SIGKILL at each step leaving the
 * commit whole or absent (and no stray file), and an abort. Direct reads
 * (fs_entity_reader: chunk files read entity by entity without loading the
 * table), ranges and as-of lookups, against the reference, with columns some commits lack, before and
 * after the table is loaded. */
#include "test.h"

#include "fstore.h"
#include "storage/engine.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const fs_colspec COLS[] = {{"v", FS_VT_FLOAT64}, {"tag", FS_VT_STRING}};

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next(void) { return test_xorshift64(&rng); }

/* Everything committed, for the reference: (entity, ts, seq, value). */
typedef struct {
    int entity;
    int64_t ts;
    uint64_t seq;
    double v;
} ref_row;

static ref_row *all;
static size_t n_all, cap_all;

#define MIN_NS 60000000000LL

/* The rule of DESIGN.md, by brute force over every row. */
static int reference(int entity, int64_t t, int64_t ttl, uint64_t known_at, double *v)
{
    const ref_row *best = NULL;
    for (size_t i = 0; i < n_all; i++) {
        const ref_row *r = &all[i];
        if (r->entity != entity || r->ts > t || r->seq > known_at)
            continue;
        if (ttl > 0 && r->ts < t - ttl)
            continue;
        /* >= on seq: within one commit, the row written last wins */
        if (!best || r->ts > best->ts || (r->ts == best->ts && r->seq >= best->seq))
            best = r;
    }
    if (best)
        *v = best->v;
    return best != NULL;
}

static void commit_random(fs_engine *e, int n_entities, int rows)
{
    fs_batch b;
    fs_batch_init(&b, COLS, 2);
    for (int k = 0; k < rows; k++) {
        char key[32];
        int ent = (int)(next() % (uint64_t)n_entities);
        int kl = snprintf(key, sizeof key, "E%d:1m", ent);
        /* few distinct times, so exact ties across commits are common */
        int64_t ts = (int64_t)(next() % 200) * MIN_NS;
        long r = fs_batch_add_row(&b, key, (size_t)kl, ts);
        double v = (double)(next() % 1000000) / 100.0;
        fs_batch_set_f64(&b, 0, (size_t)r, v);
        fs_batch_set_str(&b, 1, (size_t)r, "x", 1);
    }
    uint64_t seq = 0;
    CHECK_INT(fs_engine_commit(e, "t", &b, &seq, NULL), FS_OK);
    for (size_t r = 0; r < b.n; r++) {
        if (n_all == cap_all) {
            cap_all = cap_all ? 2 * cap_all : 1024;
            all = realloc(all, cap_all * sizeof *all);
        }
        int ent = atoi(b.entity[r] + 1);
        all[n_all++] = (ref_row){ent, b.event_ts[r], seq, b.cols[0].f64[r]};
    }
    fs_batch_free(&b);
}

static int compare_queries(fs_engine *e, int n_entities, int queries, uint64_t last_seq)
{
    int mismatches = 0;
    for (int q = 0; q < queries; q++) {
        int ent = (int)(next() % (uint64_t)(n_entities + 1)); /* one entity never written */
        int64_t t = (int64_t)(next() % 220) * MIN_NS - MIN_NS * 5 + (int64_t)(next() % 3) * 1000;
        int64_t ttl = next() % 3 == 0 ? 0 : (int64_t)(next() % 30) * MIN_NS; /* hits the inclusive edge often */
        uint64_t known_at = next() % 2 ? FS_KNOWN_ALL : next() % (last_seq + 1);
        char key[32];
        snprintf(key, sizeof key, "E%d:1m", ent);
        double want = 0;
        int has = reference(ent, t, ttl, known_at, &want);
        fs_row_ref ref;
        int got = fs_engine_asof(e, "t", key, t, ttl, known_at, &ref);
        if (got != has || (got && ref.batch->cols[0].f64[ref.row] != want)) {
            if (mismatches++ < 5)
                fprintf(stderr, "  E%d t=%lld ttl=%lld known_at=%llu: want %d/%g got %d/%g\n", ent,
                        (long long)t, (long long)ttl, (unsigned long long)known_at, has, want, got,
                        got ? ref.batch->cols[0].f64[ref.row] : 0.0);
        }
    }
    return mismatches;
}

TEST(point_in_time_matches_reference)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 40; c++)
        commit_random(e, 30, 300);
    uint64_t last = fs_engine_last_seq(e);
    CHECK_INT(last, 40);
    CHECK_INT(compare_queries(e, 30, 20000, last), 0);
    fs_table_stats st;
    CHECK_INT(fs_engine_table_stats(e, "t", &st), FS_OK);
    CHECK_INT(st.rows, 40 * 300);
    fs_engine_close(e, NULL);

    /* The same answers after reopening: the head rebuilt from the WAL. */
    fs_engine_recovery rec;
    CHECK_INT(fs_engine_open(dir, &o, &e, &rec, NULL), FS_OK);
    CHECK_INT(rec.replayed_commits, 40);
    CHECK_INT(rec.last_seq, 40);
    CHECK_INT(compare_queries(e, 30, 20000, last), 0);
    /* and commits continue the sequence */
    commit_random(e, 30, 10);
    CHECK_INT(fs_engine_last_seq(e), 41);
    CHECK_INT(compare_queries(e, 30, 2000, 41), 0);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

typedef struct {
    int count;
    int64_t last_ts;
    uint64_t last_seq;
    int ordered;
} hist_ctx;

static int hist_row(void *p, fs_row_ref r)
{
    hist_ctx *h = p;
    int64_t ts = r.batch->event_ts[r.row];
    uint64_t seq = r.batch->seq[r.row];
    if (h->count && (ts < h->last_ts || (ts == h->last_ts && seq < h->last_seq)))
        h->ordered = 0;
    h->last_ts = ts;
    h->last_seq = seq;
    h->count++;
    return 0;
}

TEST(history_and_latest)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 10; c++)
        commit_random(e, 3, 200);
    for (int ent = 0; ent < 3; ent++) {
        char key[32];
        snprintf(key, sizeof key, "E%d:1m", ent);
        int64_t from = 50 * MIN_NS, to = 120 * MIN_NS;
        uint64_t known_at = 6;
        size_t want = 0;
        for (size_t i = 0; i < n_all; i++)
            want += all[i].entity == ent && all[i].ts >= from && all[i].ts < to && all[i].seq <= known_at;
        hist_ctx h = {0, 0, 0, 1};
        CHECK_INT(fs_engine_history(e, "t", key, from, to, known_at, 0, hist_row, &h), 0);
        CHECK_INT(h.count, want);
        CHECK(h.ordered);
        hist_ctx lim = {0, 0, 0, 1};
        fs_engine_history(e, "t", key, from, to, known_at, 5, hist_row, &lim);
        CHECK_INT(lim.count, want < 5 ? want : 5);
        double v;
        fs_row_ref r;
        int has = reference(ent, INT64_MAX, 0, FS_KNOWN_ALL, &v);
        CHECK_INT(fs_engine_latest(e, "t", key, FS_KNOWN_ALL, &r), has);
        CHECK_INT(fs_engine_latest(e, "t", key, 0, &r), 0); /* before the first commit */
        if (has)
            CHECK(r.batch->cols[0].f64[r.row] == v);
    }
    fs_row_ref r;
    CHECK_INT(fs_engine_latest(e, "nope", "E1:1m", FS_KNOWN_ALL, &r), 0);
    fs_batch empty;
    fs_batch_init(&empty, COLS, 2);
    uint64_t seq;
    CHECK_INT(fs_engine_commit(e, "t", &empty, &seq, NULL), FS_E_INVAL);
    fs_batch_free(&empty);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

/* A child commits 50-row batches with FS_SYNC_ALWAYS and reports each
 * acknowledged seq; killed at a pseudo-random moment, every acknowledged
 * commit must be back, whole, after reopening. */
TEST(sigkill_keeps_acknowledged_commits)
{
    int failures = 0;
    for (int round = 0; round < 20; round++) {
        char *dir = temp_dir();
        int fds[2];
        CHECK(pipe(fds) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            fs_engine *e = NULL;
            if (fs_engine_open(dir, NULL, &e, NULL, NULL) != FS_OK)
                _exit(3);
            fs_batch b;
            fs_batch_init(&b, COLS, 2);
            for (int64_t k = 0;; k++) {
                fs_batch_clear(&b);
                for (int r = 0; r < 50; r++) {
                    long i = fs_batch_add_row(&b, "E:1m", 4, (k * 50 + r) * MIN_NS);
                    fs_batch_set_f64(&b, 0, (size_t)i, (double)(k * 50 + r));
                }
                uint64_t seq;
                if (fs_engine_commit(e, "t", &b, &seq, NULL) != FS_OK)
                    _exit(4);
                if (write(fds[1], &seq, sizeof seq) != sizeof seq)
                    _exit(5);
            }
        }
        close(fds[1]);
        struct timespec ts = {0, (long)(next() % 30 + 2) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        uint64_t acked = 0, s;
        while (read(fds[0], &s, sizeof s) == sizeof s)
            acked = s;
        close(fds[0]);
        fs_engine *e = NULL;
        fs_engine_recovery rec;
        int rc = fs_engine_open(dir, NULL, &e, &rec, NULL);
        fs_table_stats st = {0};
        if (rc == FS_OK)
            fs_engine_table_stats(e, "t", &st);
        /* whole commits only: 50 rows each, at least every acknowledged one */
        if (rc != FS_OK || rec.last_seq < acked || st.rows != rec.last_seq * 50) {
            failures++;
            fprintf(stderr, "  round %d: rc %d acked %llu recovered %llu rows %llu\n", round, rc,
                    (unsigned long long)acked, (unsigned long long)rec.last_seq,
                    (unsigned long long)st.rows);
        }
        /* the values are the ones written: the last row of the last commit */
        fs_row_ref r;
        if (rc == FS_OK && rec.last_seq &&
            (fs_engine_latest(e, "t", "E:1m", FS_KNOWN_ALL, &r) != 1 ||
             r.batch->cols[0].f64[r.row] != (double)(rec.last_seq * 50 - 1)))
            failures++;
        fs_engine_close(e, NULL);
        rm_rf(dir);
        free(dir);
    }
    CHECK_INT(failures, 0);
}

typedef struct {
    fs_engine *e;
    int stop;
    int inconsistent;
    int reads;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        uint64_t pin = fs_engine_last_seq(a->e);
        fs_row_ref r1, r2;
        int h1 = fs_engine_latest(a->e, "t", "E:1m", pin, &r1);
        int h2 = fs_engine_latest(a->e, "t", "E:1m", pin, &r2);
        if (h1 != h2 || (h1 && (r1.batch != r2.batch || r1.row != r2.row)) ||
            (h1 && r1.batch->seq[r1.row] > pin))
            a->inconsistent++;
        a->reads++;
    }
    return NULL;
}

TEST(readers_see_a_consistent_watermark)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    reader_arg args[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (reader_arg){e, 0, 0, 0};
        pthread_create(&th[i], NULL, reader, &args[i]);
    }
    fs_batch b;
    fs_batch_init(&b, COLS, 2);
    for (int k = 0; k < 300; k++) {
        fs_batch_clear(&b);
        long i = fs_batch_add_row(&b, "E:1m", 4, (int64_t)k * MIN_NS);
        fs_batch_set_f64(&b, 0, (size_t)i, k);
        uint64_t seq;
        fs_engine_commit(e, "t", &b, &seq, NULL);
    }
    for (int i = 0; i < 3; i++) {
        __atomic_store_n(&args[i].stop, 1, __ATOMIC_RELEASE);
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].inconsistent, 0);
        CHECK(args[i].reads > 0);
    }
    fs_batch_free(&b);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

static int count_commit(void *ctx, const fs_commit_info *c)
{
    uint64_t *n = ctx;
    if (c->seq == *n + 1 && strcmp(c->table, "t") == 0 && c->rows == 300 && c->time_ns > 0)
        (*n)++;
    return 0;
}

/* A read-only engine (another process's reader) sees the committed state
 * while the writer is open, never modifies the log, and cannot commit. */
TEST(read_only_reader_and_commit_log)
{
    char *dir = temp_dir();
    fs_engine *w = NULL, *r = NULL;
    fs_engine_options wo = {FS_SYNC_OFF, 0}, ro = {FS_SYNC_OFF, 1};
    CHECK_INT(fs_engine_open(dir, &ro, &r, NULL, NULL), FS_OK); /* nothing written yet */
    CHECK_INT(fs_engine_last_seq(r), 0);
    fs_engine_close(r, NULL);
    CHECK_INT(fs_engine_open(dir, &wo, &w, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 5; c++)
        commit_random(w, 10, 300);
    CHECK_INT(fs_engine_open(dir, &ro, &r, NULL, NULL), FS_OK);
    CHECK_INT(fs_engine_last_seq(r), 5);
    CHECK_INT(compare_queries(r, 10, 2000, 5), 0);
    uint64_t n = 0;
    CHECK_INT(fs_engine_commits(r, count_commit, &n), 0);
    CHECK_INT(n, 5);
    fs_batch b;
    fs_batch_init(&b, COLS, 2);
    fs_batch_add_row(&b, "E1:1m", 5, 0);
    uint64_t seq;
    CHECK(fs_engine_commit(r, "t", &b, &seq, NULL) != FS_OK);
    fs_batch_free(&b);
    fs_engine_close(r, NULL);
    fs_engine_close(w, NULL);
    rm_rf(dir);
    free(dir);
}

static int64_t hourly(void *ctx, const char *table)
{
    (void)ctx;
    (void)table;
    return 3600LL * 1000000000LL;
}

/* Checkpoints write chunk files and trim the log; reopening loads them and
 * replays only later commits: answers stay those of the reference. */
TEST(checkpoint_and_reopen)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 20; c++)
        commit_random(e, 20, 300);
    CHECK_INT(fs_engine_rows_since_checkpoint(e), 6000);
    CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
    CHECK_INT(fs_engine_rows_since_checkpoint(e), 0);
    fs_table_storage st;
    CHECK_INT(fs_engine_table_storage(e, "t", &st), FS_OK);
    CHECK_INT(st.rows, 6000);
    CHECK_INT(st.chunks, 4); /* 200 minutes of event times, hourly chunks */
    CHECK(st.file_bytes > 0 && st.file_bytes < st.raw_bytes);
    CHECK_INT(compare_queries(e, 20, 5000, 20), 0);
    for (int c = 0; c < 5; c++) /* after the checkpoint: in the WAL only */
        commit_random(e, 20, 300);
    CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
    commit_random(e, 20, 300);
    fs_engine_close(e, NULL);

    fs_engine_recovery rec;
    CHECK_INT(fs_engine_open(dir, &o, &e, &rec, NULL), FS_OK);
    CHECK_INT(rec.replayed_commits, 1); /* only the commit after the last checkpoint */
    CHECK_INT(fs_engine_last_seq(e), 26);
    CHECK_INT(compare_queries(e, 20, 20000, 26), 0);
    uint64_t n = 0;
    fs_engine_commits(e, count_commit, &n);
    CHECK_INT(n, 26);
    fs_table_stats ts;
    fs_engine_table_stats(e, "t", &ts);
    CHECK_INT(ts.rows, 26 * 300);
    commit_random(e, 20, 300); /* numbering continues after a checkpoint */
    CHECK_INT(fs_engine_last_seq(e), 27);
    fs_engine_close(e, NULL);
    /* a reader sees it all too */
    fs_engine_options ro = {FS_SYNC_OFF, 1};
    CHECK_INT(fs_engine_open(dir, &ro, &e, NULL, NULL), FS_OK);
    CHECK_INT(compare_queries(e, 20, 5000, 27), 0);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

/* SIGKILL at each step of a checkpoint: reopening finds every commit. */
TEST(crash_during_checkpoint)
{
    static const char *const points[] = {"checkpoint-before-manifest", "checkpoint-before-trim"};
    for (int k = 0; k < 2; k++) {
        char *dir = temp_dir();
        fs_engine *e = NULL;
        fs_engine_options o = {FS_SYNC_ALWAYS, 0};
        CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
        n_all = 0;
        for (int c = 0; c < 6; c++)
            commit_random(e, 10, 200);
        CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
        for (int c = 0; c < 4; c++)
            commit_random(e, 10, 200);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("FSTORE_CRASH_AT", points[k], 1);
            fs_engine_checkpoint(e, hourly, NULL, NULL);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        fs_engine_close(e, NULL);
        CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
        CHECK_INT(fs_engine_last_seq(e), 10);
        CHECK_INT(compare_queries(e, 10, 5000, 10), 0);
        fs_engine_close(e, NULL);
        rm_rf(dir);
        free(dir);
    }
}


/* Fills `b` with `rows` random rows (few times: ties are common); returns
 * nothing, the caller records them once their seq is known. */
static void random_rows(fs_batch *b, int n_entities, int rows)
{
    for (int k = 0; k < rows; k++) {
        char key[32];
        int ent = (int)(next() % (uint64_t)n_entities);
        int kl = snprintf(key, sizeof key, "E%d:1m", ent);
        int64_t ts = (int64_t)(next() % 200) * MIN_NS;
        long r = fs_batch_add_row(b, key, (size_t)kl, ts);
        fs_batch_set_f64(b, 0, (size_t)r, (double)(next() % 1000000) / 100.0);
        fs_batch_set_str(b, 1, (size_t)r, "x", 1);
    }
}

static void record_rows(const fs_batch *b, uint64_t seq)
{
    for (size_t r = 0; r < b->n; r++) {
        if (n_all == cap_all) {
            cap_all = cap_all ? 2 * cap_all : 1024;
            all = realloc(all, cap_all * sizeof *all);
        }
        all[n_all++] = (ref_row){atoi(b->entity[r] + 1), b->event_ts[r], seq, b->cols[0].f64[r]};
    }
}

/* One streamed commit of `parts` parts of `rows` rows each; the reference
 * gets them in part order (the last row written wins a tie). */
static uint64_t commit_streamed(fs_engine *e, int n_entities, int parts, int rows)
{
    fs_engine_stream *st = NULL;
    CHECK_INT(fs_engine_stream_begin(e, "t", hourly, NULL, &st, NULL), FS_OK);
    fs_batch *saved = calloc((size_t)parts, sizeof *saved);
    for (int p = 0; p < parts; p++) {
        fs_batch_init(&saved[p], COLS, 2);
        random_rows(&saved[p], n_entities, rows);
        CHECK_INT(fs_engine_stream_add(st, &saved[p], NULL), FS_OK);
    }
    uint64_t seq = 0;
    CHECK_INT(fs_engine_stream_commit(st, &seq, NULL), FS_OK);
    for (int p = 0; p < parts; p++) {
        record_rows(&saved[p], seq);
        fs_batch_free(&saved[p]);
    }
    free(saved);
    return seq;
}

static int count_chunk_files(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/chunks/t", dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strstr(de->d_name, ".chunk") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Streamed commits between ordinary ones: the point-in-time rule holds
 * right after the commit (files read lazily), after the checkpoint that
 * lists them, after a reopen that replays the commit record (no checkpoint
 * since), and in a read-only engine. */
TEST(streamed_commits_match_reference)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 5; c++)
        commit_random(e, 20, 300);
    CHECK_INT(commit_streamed(e, 20, 4, 500), 6);
    commit_random(e, 20, 300);
    CHECK_INT(fs_engine_last_seq(e), 7);
    CHECK_INT(compare_queries(e, 20, 20000, 7), 0);
    fs_table_stats ts;
    CHECK_INT(fs_engine_table_stats(e, "t", &ts), FS_OK);
    CHECK_INT(ts.rows, 6 * 300 + 2000);
    fs_table_storage sto;
    CHECK_INT(fs_engine_table_storage(e, "t", &sto), FS_OK);
    CHECK_INT(sto.rows, 2000); /* the streamed rows are in chunk files already */
    /* a second streamed commit, then close without a checkpoint: reopening
     * replays its record */
    CHECK_INT(commit_streamed(e, 20, 3, 400), 8);
    CHECK_INT(compare_queries(e, 20, 5000, 8), 0);
    fs_engine_close(e, NULL);
    fs_engine_recovery rec;
    CHECK_INT(fs_engine_open(dir, &o, &e, &rec, NULL), FS_OK);
    CHECK_INT(rec.replayed_commits, 8);
    CHECK_INT(compare_queries(e, 20, 20000, 8), 0);
    CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
    CHECK_INT(fs_engine_table_storage(e, "t", &sto), FS_OK);
    CHECK_INT(sto.rows, 6 * 300 + 2000 + 1200);
    CHECK_INT(compare_queries(e, 20, 5000, 8), 0);
    commit_random(e, 20, 300);
    fs_engine_close(e, NULL);
    CHECK_INT(fs_engine_open(dir, &o, &e, &rec, NULL), FS_OK);
    CHECK_INT(rec.replayed_commits, 1);
    CHECK_INT(compare_queries(e, 20, 20000, 9), 0);
    uint64_t n = 0;
    fs_engine_commits(e, count_commit, &n);
    CHECK_INT(n, 5); /* the first five have 300 rows each: count_commit's pattern */
    fs_engine_close(e, NULL);
    fs_engine_options ro = {FS_SYNC_OFF, 1};
    CHECK_INT(fs_engine_open(dir, &ro, &e, NULL, NULL), FS_OK);
    CHECK_INT(compare_queries(e, 20, 5000, 9), 0);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

/* Every row of every entity as a direct reader sees it (rows read straight
 * from the chunk files, or the head when loaded), hashed in order, plus
 * as-of answers against the reference: what a compaction must not change. */
static uint64_t direct_digest(fs_engine *e, int n_entities, uint64_t known, int *mismatches)
{
    const char *cols[] = {"v"};
    fs_entity_reader *rd = NULL;
    CHECK_INT(fs_entity_reader_open(e, "t", cols, 1, &rd, NULL), FS_OK);
    uint64_t h = 1469598103934665603ULL;
    for (int ent = 0; rd && ent <= n_entities; ent++) {
        char key[32];
        snprintf(key, sizeof key, "E%d:1m", ent);
        const fs_batch *rows = NULL;
        CHECK_INT(fs_entity_reader_read(rd, key, INT64_MIN, INT64_MAX, known, &rows, NULL), FS_OK);
        for (size_t i = 0; rows && i < rows->n; i++) {
            uint64_t parts[3] = {(uint64_t)rows->event_ts[i], rows->seq[i],
                                 (uint64_t)(rows->cols[0].f64[i] * 100)};
            for (int k = 0; k < 3; k++)
                h = (h ^ parts[k]) * 1099511628211ULL;
        }
        for (int q = 0; q < 20; q++) {
            int64_t t = (int64_t)(next() % 220) * MIN_NS;
            double want = 0;
            int has = reference(ent, t, 0, known, &want);
            size_t row = 0;
            int got = fs_entity_reader_asof(rd, key, t, known, &rows, &row, NULL);
            if (got != has || (got == 1 && rows->cols[0].f64[row] != want))
                ++*mismatches;
        }
    }
    fs_entity_reader_close(rd);
    return h;
}

/* fstore compact in a store read straight from its files (nothing in the
 * head): one partition at a time, and the merged files take the old ones'
 * place among the files to read, in the same engine and after a reopen. A
 * table read into the head before a streamed commit added files to the
 * same partitions takes the way through the head. */
TEST(compaction_keeps_reads)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    for (int c = 0; c < 6; c++) { /* six files per hourly partition */
        commit_random(e, 20, 300);
        CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
    }
    fs_engine_close(e, NULL);
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    int bad = 0;
    uint64_t before = direct_digest(e, 20, FS_KNOWN_ALL, &bad), before3 = direct_digest(e, 20, 3, &bad);
    CHECK_INT(bad, 0);
    fs_table_storage st;
    CHECK_INT(fs_engine_table_storage(e, "t", &st), FS_OK);
    CHECK_INT(st.chunks, 24);
    uint64_t merged = 0, removed = 0;
    fs_strbuf err = {0};
    CHECK_INT(fs_engine_compact_chunks(e, "t", INT64_MAX, hourly, NULL, &merged, &removed, &err), FS_OK);
    CHECK_INT(merged, 4);
    CHECK_INT(removed, 24);
    CHECK_INT(fs_engine_table_storage(e, "t", &st), FS_OK);
    CHECK_INT(st.chunks, 4);
    CHECK_INT(st.rows, 1800);
    CHECK(direct_digest(e, 20, FS_KNOWN_ALL, &bad) == before); /* the same engine, merged files */
    CHECK(direct_digest(e, 20, 3, &bad) == before3);
    CHECK_INT(bad, 0);
    CHECK_INT(compare_queries(e, 20, 5000, 6), 0); /* through the head: reads the merged files */
    fs_engine_close(e, NULL);
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    CHECK(direct_digest(e, 20, FS_KNOWN_ALL, &bad) == before);
    CHECK_INT(bad, 0);
    /* Read into the head, then a streamed commit: partitions now hold a file
     * in memory and a file not read yet. */
    CHECK_INT(compare_queries(e, 20, 2000, 6), 0);
    CHECK_INT(commit_streamed(e, 20, 3, 200), 7);
    uint64_t mixed = direct_digest(e, 20, FS_KNOWN_ALL, &bad);
    CHECK_INT(fs_engine_compact_chunks(e, "t", INT64_MAX, hourly, NULL, &merged, &removed, &err), FS_OK);
    CHECK_INT(merged, 4);
    CHECK(direct_digest(e, 20, FS_KNOWN_ALL, &bad) == mixed);
    CHECK_INT(bad, 0);
    CHECK_INT(compare_queries(e, 20, 5000, 7), 0);
    fs_engine_close(e, NULL);
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    CHECK(direct_digest(e, 20, FS_KNOWN_ALL, &bad) == mixed);
    CHECK_INT(bad, 0);
    CHECK_INT(compare_queries(e, 20, 5000, 7), 0);
    CHECK_INT(fs_engine_table_storage(e, "t", &st), FS_OK);
    CHECK_INT(st.chunks, 4);
    fs_engine_close(e, NULL);
    fs_sb_free(&err);
    rm_rf(dir);
    free(dir);
}

static int count_any_commit(void *ctx, const fs_commit_info *c)
{
    (void)c;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* SIGKILL at each step of a streamed commit: before its record nothing of
 * it is visible after reopening and its files are gone; after the record it
 * is there whole. An abort leaves nothing either. */
TEST(streamed_commit_crash_points)
{
    static const char *const points[] = {"stream-after-part", "stream-before-sync",
                                         "stream-before-commit-record",
                                         "stream-after-commit-record", "checkpoint-before-manifest"};
    for (int k = 0; k < 5; k++) {
        char *dir = temp_dir();
        fs_engine *e = NULL;
        fs_engine_options o = {FS_SYNC_ALWAYS, 0};
        CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
        n_all = 0;
        for (int c = 0; c < 3; c++)
            commit_random(e, 10, 200);
        CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
        commit_random(e, 10, 200);
        int files_before = count_chunk_files(dir);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("FSTORE_CRASH_AT", points[k], 1);
            fs_engine_stream *st = NULL;
            if (fs_engine_stream_begin(e, "t", hourly, NULL, &st, NULL) != FS_OK)
                _exit(3);
            for (int p = 0; p < 3; p++) {
                fs_batch b;
                fs_batch_init(&b, COLS, 2);
                random_rows(&b, 10, 300);
                fs_engine_stream_add(st, &b, NULL);
                fs_batch_free(&b);
            }
            uint64_t seq;
            if (fs_engine_stream_commit(st, &seq, NULL) == FS_OK)
                fs_engine_checkpoint(e, hourly, NULL, NULL);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        fs_engine_close(e, NULL);
        CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
        fs_table_stats ts = {0};
        fs_engine_table_stats(e, "t", &ts);
        if (k < 3) { /* no record: nothing of it, and its files removed */
            CHECK_INT(fs_engine_last_seq(e), 4);
            CHECK_INT(ts.rows, 4 * 200);
            CHECK_INT(compare_queries(e, 10, 3000, 4), 0);
            CHECK_INT(count_chunk_files(dir), files_before);
        } else { /* the record made it: all 900 rows */
            CHECK_INT(fs_engine_last_seq(e), 5);
            CHECK_INT(ts.rows, 4 * 200 + 900);
            uint64_t n = 0;
            fs_engine_commits(e, count_any_commit, &n);
            CHECK_INT(n, 5);
        }
        /* the store goes on: a new commit, a checkpoint, a reopen */
        commit_random(e, 10, 200);
        CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
        uint64_t last = fs_engine_last_seq(e);
        fs_engine_close(e, NULL);
        CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
        CHECK_INT(fs_engine_last_seq(e), last);
        if (k < 3)
            CHECK_INT(compare_queries(e, 10, 3000, last), 0);
        fs_engine_close(e, NULL);
        rm_rf(dir);
        free(dir);
    }
    /* abort: the files go at once, the seq is not used */
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_all = 0;
    commit_random(e, 10, 100);
    fs_engine_stream *st = NULL;
    CHECK_INT(fs_engine_stream_begin(e, "t", hourly, NULL, &st, NULL), FS_OK);
    fs_batch b;
    fs_batch_init(&b, COLS, 2);
    random_rows(&b, 10, 300);
    CHECK_INT(fs_engine_stream_add(st, &b, NULL), FS_OK);
    CHECK(count_chunk_files(dir) > 0);
    fs_engine_stream_abort(st);
    CHECK_INT(count_chunk_files(dir), 0);
    commit_random(e, 10, 100);
    CHECK_INT(fs_engine_last_seq(e), 2);
    CHECK_INT(compare_queries(e, 10, 2000, 2), 0);
    fs_batch_free(&b);
    fs_engine_close(e, NULL);
    rm_rf(dir);
    free(dir);
}

/* ---- direct reads ---------------------------------------------------------------- */

/* The reference of direct reads: every row, with the optional int column w. */
typedef struct {
    int entity;
    int64_t ts;
    uint64_t seq;
    size_t order; /* commit order, to break ties within a commit */
    double v;
    int has_w;
    int64_t w;
    char tag[8];
} dref_row;

static dref_row *dref;
static size_t n_dref, cap_dref;

static const fs_colspec COLS_W[] = {{"v", FS_VT_FLOAT64}, {"tag", FS_VT_STRING}, {"w", FS_VT_INT64}};

/* Random rows; with_w: the batch has column w (some of its cells null). */
static void direct_rows(fs_batch *b, int with_w, int n_entities, int rows)
{
    fs_batch_init(b, with_w ? COLS_W : COLS, with_w ? 3 : 2);
    for (int k = 0; k < rows; k++) {
        char key[32], tag[8];
        int ent = (int)(next() % (uint64_t)n_entities);
        int kl = snprintf(key, sizeof key, "E%d:1m", ent);
        long r = fs_batch_add_row(b, key, (size_t)kl, (int64_t)(next() % 200) * MIN_NS);
        fs_batch_set_f64(b, 0, (size_t)r, (double)(next() % 1000000) / 100.0);
        int tl = snprintf(tag, sizeof tag, "t%d", (int)(next() % 7));
        fs_batch_set_str(b, 1, (size_t)r, tag, (size_t)tl);
        if (with_w && next() % 4)
            fs_batch_set_i64(b, 2, (size_t)r, (int64_t)(next() % 1000) - 500);
    }
}

static void direct_record(const fs_batch *b, uint64_t seq)
{
    for (size_t r = 0; r < b->n; r++) {
        if (n_dref == cap_dref) {
            cap_dref = cap_dref ? 2 * cap_dref : 1024;
            dref = realloc(dref, cap_dref * sizeof *dref);
        }
        dref_row *d = &dref[n_dref];
        *d = (dref_row){atoi(b->entity[r] + 1), b->event_ts[r], seq, n_dref, b->cols[0].f64[r], 0, 0, ""};
        snprintf(d->tag, sizeof d->tag, "%s", b->cols[1].s[r]);
        if (b->ncols > 2 && b->cols[2].valid[r]) {
            d->has_w = 1;
            d->w = b->cols[2].i64[r];
        }
        n_dref++;
    }
}

static void direct_commit(fs_engine *e, int with_w, int n_entities, int rows)
{
    fs_batch b;
    direct_rows(&b, with_w, n_entities, rows);
    uint64_t seq = 0;
    CHECK_INT(fs_engine_commit(e, "t", &b, &seq, NULL), FS_OK);
    direct_record(&b, seq);
    fs_batch_free(&b);
}

static void direct_stream(fs_engine *e, int with_w, int n_entities, int parts, int rows)
{
    fs_engine_stream *st = NULL;
    CHECK_INT(fs_engine_stream_begin(e, "t", hourly, NULL, &st, NULL), FS_OK);
    fs_batch *saved = calloc((size_t)parts, sizeof *saved);
    for (int p = 0; p < parts; p++) {
        direct_rows(&saved[p], with_w, n_entities, rows);
        CHECK_INT(fs_engine_stream_add(st, &saved[p], NULL), FS_OK);
    }
    uint64_t seq = 0;
    CHECK_INT(fs_engine_stream_commit(st, &seq, NULL), FS_OK);
    for (int p = 0; p < parts; p++) {
        direct_record(&saved[p], seq);
        fs_batch_free(&saved[p]);
    }
    free(saved);
}

static int by_ts_seq_order(const void *a, const void *b)
{
    const dref_row *x = *(const dref_row *const *)a, *y = *(const dref_row *const *)b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Random direct reads against the reference; returns the mismatches. */
static int compare_direct(fs_engine *e, int n_entities, int reads, uint64_t last_seq)
{
    const char *cols[] = {"w", "tag", "v", "nosuch"}; /* another order than stored, and one absent */
    fs_entity_reader *rd = NULL;
    CHECK_INT(fs_entity_reader_open(e, "t", cols, 4, &rd, NULL), FS_OK);
    if (!rd)
        return 1;
    const fs_batch *shape = fs_entity_reader_shape(rd);
    CHECK_INT(shape->cols[0].type, FS_VT_INT64);
    CHECK_INT(shape->cols[1].type, FS_VT_STRING);
    CHECK_INT(shape->cols[3].type, FS_VT_FLOAT64);
    const dref_row **want = malloc((n_dref + 1) * sizeof *want);
    int bad = 0;
    for (int q = 0; q < reads; q++) {
        int ent = (int)(next() % (uint64_t)(n_entities + 1)); /* one entity never written */
        int64_t from = next() % 4 ? (int64_t)(next() % 220) * MIN_NS - 5 * MIN_NS : INT64_MIN;
        int64_t to = next() % 4 ? from + (int64_t)(next() % 100) * MIN_NS : INT64_MAX;
        uint64_t known_at = next() % 2 ? FS_KNOWN_ALL : next() % (last_seq + 1);
        size_t nw = 0;
        for (size_t i = 0; i < n_dref; i++)
            if (dref[i].entity == ent && dref[i].ts >= from && dref[i].ts < to && dref[i].seq <= known_at)
                want[nw++] = &dref[i];
        qsort(want, nw, sizeof *want, by_ts_seq_order);
        char key[32];
        snprintf(key, sizeof key, "E%d:1m", ent);
        const fs_batch *got = NULL;
        int rc = fs_entity_reader_read(rd, key, from, to, known_at, &got, NULL);
        int ok = rc == FS_OK && got->n == nw;
        for (size_t i = 0; ok && i < nw; i++) {
            const dref_row *w = want[i];
            ok = got->event_ts[i] == w->ts && got->seq[i] == w->seq && got->cols[2].valid[i] &&
                 got->cols[2].f64[i] == w->v && got->cols[1].valid[i] &&
                 strcmp(got->cols[1].s[i], w->tag) == 0 && got->cols[1].slen[i] == strlen(w->tag) &&
                 got->cols[0].valid[i] == w->has_w && got->cols[0].i64[i] == (w->has_w ? w->w : 0) &&
                 !got->cols[3].valid[i] && got->entity_len[i] == strlen(key) &&
                 memcmp(got->entity[i], key, strlen(key)) == 0;
        }
        if (!ok && bad++ < 5)
            fprintf(stderr, "  direct read E%d [%lld, %lld) known_at %llu: rc %d, %zu rows, want %zu\n",
                    ent, (long long)from, (long long)to, (unsigned long long)known_at, rc,
                    got ? got->n : 0, nw);
        /* as of a time: the last of the reference's rows up to it */
        int64_t t = (int64_t)(next() % 220) * MIN_NS - 5 * MIN_NS;
        const dref_row *best = NULL;
        for (size_t i = 0; i < n_dref; i++) {
            const dref_row *d = &dref[i];
            if (d->entity == ent && d->ts <= t && d->seq <= known_at &&
                (!best || by_ts_seq_order(&d, &best) > 0))
                best = d;
        }
        size_t row = 0;
        int found = fs_entity_reader_asof(rd, key, t, known_at, &got, &row, NULL);
        ok = found == (best != NULL) &&
             (!best || (got->event_ts[row] == best->ts && got->seq[row] == best->seq &&
                        got->cols[2].f64[row] == best->v && strcmp(got->cols[1].s[row], best->tag) == 0));
        if (!ok && bad++ < 5)
            fprintf(stderr, "  direct as-of E%d t %lld known_at %llu: got %d, want %d\n", ent, (long long)t,
                    (unsigned long long)known_at, found, best != NULL);
    }
    free(want);
    fs_entity_reader_close(rd);
    return bad;
}

static int count_key(void *ctx, const char *key)
{
    (void)key;
    ++*(int *)ctx;
    return 0;
}

/* Direct reads see every source at once: rows in chunk files from a
 * checkpoint and from streamed commits (listed or not), rows only in the
 * log, corrections at the same event_ts in later commits, commits with and
 * without column w; before the table is loaded, after it is (everything in
 * the head), and in a read-only engine. Entities and statistics read from
 * the files' indexes agree with the loaded table's. */
TEST(direct_reads_match_reference)
{
    char *dir = temp_dir();
    fs_engine *e = NULL;
    fs_engine_options o = {FS_SYNC_OFF, 0};
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    n_dref = 0;
    for (int c = 0; c < 4; c++)
        direct_commit(e, c % 2, 15, 300);
    direct_stream(e, 1, 15, 3, 400);
    CHECK_INT(fs_engine_checkpoint(e, hourly, NULL, NULL), FS_OK);
    direct_commit(e, 0, 15, 300);
    direct_stream(e, 0, 15, 2, 300); /* in files the manifest does not list yet */
    direct_commit(e, 1, 15, 300);     /* in the log only */
    uint64_t last = fs_engine_last_seq(e);
    CHECK_INT(last, 8);
    fs_engine_close(e, NULL); /* reopen: nothing of t is loaded */
    CHECK_INT(fs_engine_open(dir, &o, &e, NULL, NULL), FS_OK);
    fs_table_stats before, after;
    int nkeys_before = 0, nkeys_after = 0;
    CHECK_INT(fs_engine_table_stats(e, "t", &before), FS_OK);
    fs_engine_entities(e, "t", count_key, &nkeys_before);
    CHECK_INT(before.rows, n_dref);
    CHECK_INT(compare_direct(e, 15, 3000, last), 0);
    /* a commit while files are still pending, then load the table by a
     * point-in-time read: the same answers from the head */
    direct_commit(e, 1, 15, 200);
    last = fs_engine_last_seq(e);
    CHECK_INT(compare_direct(e, 15, 1000, last), 0);
    fs_row_ref ref;
    CHECK(fs_engine_asof(e, "t", "E1:1m", INT64_MAX, 0, FS_KNOWN_ALL, &ref) >= 0);
    CHECK_INT(compare_direct(e, 15, 3000, last), 0);
    CHECK_INT(fs_engine_table_stats(e, "t", &after), FS_OK);
    fs_engine_entities(e, "t", count_key, &nkeys_after);
    CHECK_INT(after.rows, n_dref);
    CHECK_INT(after.entities, before.entities);
    CHECK_INT(after.min_event_ts, before.min_event_ts);
    CHECK(after.max_event_ts >= before.max_event_ts);
    CHECK_INT(nkeys_after, nkeys_before);
    CHECK_INT(nkeys_before, (int)before.entities);
    CHECK_INT(fs_engine_table_stats(e, "nosuch", &after), FS_E_NOTFOUND);
    fs_engine_close(e, NULL);
    fs_engine_options ro = {FS_SYNC_OFF, 1};
    CHECK_INT(fs_engine_open(dir, &ro, &e, NULL, NULL), FS_OK);
    CHECK_INT(compare_direct(e, 15, 2000, last), 0);
    fs_engine_close(e, NULL);
    free(dref);
    dref = NULL;
    cap_dref = 0;
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    RUN(point_in_time_matches_reference);
    RUN(history_and_latest);
    RUN(sigkill_keeps_acknowledged_commits);
    RUN(readers_see_a_consistent_watermark);
    RUN(read_only_reader_and_commit_log);
    RUN(checkpoint_and_reopen);
    RUN(crash_during_checkpoint);
    RUN(streamed_commits_match_reference);
    RUN(streamed_commit_crash_points);
    RUN(direct_reads_match_reference);
    RUN(compaction_keeps_reads);
    free(all);
    TEST_EXIT();
}
