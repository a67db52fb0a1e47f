/* The online store: materialize and look up (values, statuses, event_ts,
 * confidence, strings), persistence across a restart, incremental
 * materialization, pushes (validation, all-or-nothing, online and offline),
 * the compute hook, another process's writes picked up by refresh, damaged
 * files, query errors, lookups racing writers, and the consistency of
 * online values with training sets at random moments. */
#include "test.h"

#include "fstore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

static const int64_t BASE = 1700000000; /* epoch seconds */
#define NS 1000000000LL

static const char *DEFS =
    "entities:\n  - {name: asset, join_keys: [symbol]}\n"
    "  - {name: pair, join_keys: [symbol, venue]}\n"
    "sources:\n  - name: ticks\n    entity: asset\n    timestamp: ts\n    confidence: q\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
    "      - {name: x, type: float64}\n      - {name: y, type: float64, nullable: true}\n"
    "      - {name: n, type: int64}\n      - {name: tag, type: string, nullable: true}\n"
    "      - {name: q, type: float64, nullable: true, min: 0, max: 1}\n"
    "  - name: quotes\n    entity: pair\n    timestamp: ts\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: venue, type: string}\n"
    "      - {name: ts, type: timestamp}\n      - {name: bid, type: float64}\n"
    "views:\n"
    "  - name: fast\n    entity: asset\n    source: ticks\n    ttl: 30s\n    online: true\n"
    "    features:\n      - {name: x, from: x}\n      - {name: y, from: y}\n      - {name: n, from: n}\n"
    "      - {name: tag, type: categorical, from: tag}\n      - {name: x2, expr: \"x * 2 + 1\"}\n"
    "      - {name: sma3, indicator: sma, params: {period: 3}, input: x}\n"
    "  - {name: slow, entity: asset, source: ticks, ttl: 0, online: true, features: [{name: xs, from: x}]}\n"
    "  - {name: cold, entity: asset, source: ticks, online: false, features: [{name: x, from: x}]}\n"
    "  - {name: book, entity: pair, source: quotes, online: true,\n"
    "     features: [{name: bid, from: bid}, {name: bid2, expr: \"bid * 2\"}]}\n"
    "services:\n  - {name: svc, features: [fast, \"slow:xs\"]}\n  - {name: mixed, features: [\"book:bid\", \"fast:x\"]}\n";

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next(void) { return test_xorshift64(&rng); }

static fs_store *setup(char **dir)
{
    *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(*dir, NULL), FS_OK);
    CHECK_INT(fs_open(*dir, &s, NULL), FS_OK);
    CHECK_INT(fs_apply_text(s, "defs.yaml", DEFS, strlen(DEFS), 0, 0, NULL), FS_OK);
    return s;
}

static void ingest(fs_store *s, const char *dir, const char *source, const char *csv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/in-%d.csv", dir, (int)(next() % 1000000));
    FILE *f = fopen(path, "w");
    fputs(csv, f);
    fclose(f);
    fs_ingest_result r;
    CHECK_INT(fs_ingest_file(s, source, path, NULL, &r), FS_OK);
    CHECK_INT(r.rows_rejected, 0);
    unlink(path);
}

static const char *const FEATS[] = {"fast:x", "fast:y", "fast:n", "fast:tag", "fast:x2", "fast:sma3", "slow:xs"};
enum { NF = sizeof FEATS / sizeof FEATS[0] };

TEST(test_materialize_and_lookup)
{
    char *dir;
    fs_store *s = setup(&dir);
    ingest(s, dir, "ticks",
           "symbol,ts,x,y,n,tag,q\n"
           "A,1700000000,1,10,1,red,0.5\n"
           "A,1700000010,2,,2,green,\n"
           "A,1700000020,4,30,3,,0.25\n"
           "B,1700000005,7,70,9,blue,1\n");
    fs_compute_result cr;
    CHECK_INT(fs_compute(s, NULL, &cr), FS_OK);
    fs_materialize_result mr;
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_OK);
    CHECK_INT(mr.views, 3); /* fast, slow, book */
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    char *detail = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    CHECK_INT(fs_online_prepare(on, FEATS, NF, NULL, &q, &detail), FS_OK);
    CHECK_INT(fs_online_query_size(q), NF);
    CHECK_INT(fs_online_query_nkeys(q), 1);
    CHECK_STR(fs_online_query_key(q, 0), "symbol");
    CHECK_STR(fs_online_query_feature(q, 4), "fast:x2");
    fs_online_value v[NF];
    char buf[64];
    int64_t now = (BASE + 25) * NS;
    CHECK_INT(fs_online_lookup(on, q, "A", now, v, buf, sizeof buf), FS_OK);
    CHECK_INT(v[0].status, FS_ONLINE_PRESENT);
    CHECK_INT(v[0].type, FS_ONLINE_DOUBLE);
    CHECK_NEAR(v[0].f64, 4, 0);
    CHECK_INT(v[0].event_ts, (BASE + 20) * NS);
    CHECK_NEAR(v[0].confidence, 0.25, 0);
    CHECK_INT(v[1].status, FS_ONLINE_PRESENT);
    CHECK_NEAR(v[1].f64, 30, 0);
    CHECK_INT(v[2].type, FS_ONLINE_INT64);
    CHECK_INT(v[2].i64, 3);
    CHECK_INT(v[3].status, FS_ONLINE_NULL_VALUE); /* the latest row's tag is null */
    CHECK_NEAR(v[4].f64, 9, 0);                    /* x2 = 4 * 2 + 1 */
    CHECK_NEAR(v[5].f64, (1 + 2 + 4) / 3.0, 1e-12); /* sma3 */
    CHECK_INT(v[5].event_ts, (BASE + 20) * NS);
    CHECK_NEAR(v[6].f64, 4, 0);
    /* Strings, and the TTL: 31 s later fast is stale, slow (ttl 0) never is. */
    CHECK_INT(fs_online_lookup(on, q, "B", (BASE + 36) * NS, v, buf, sizeof buf), FS_OK);
    CHECK_INT(v[3].type, FS_ONLINE_STRING);
    CHECK_STR(v[3].str, "blue");
    CHECK_INT(v[3].str_len, 4);
    CHECK_INT(v[0].status, FS_ONLINE_OUTSIDE_MAX_AGE);
    CHECK_NEAR(v[0].f64, 7, 0); /* the value is still given */
    CHECK_INT(v[6].status, FS_ONLINE_PRESENT);
    CHECK_INT(v[5].status, FS_ONLINE_NULL_VALUE); /* sma3 needs 3 rows */
    /* A string with no room for it. */
    CHECK_INT(fs_online_lookup(on, q, "B", now, v, buf, 3), FS_E_NOSPACE);
    CHECK(v[3].str == NULL);
    CHECK_NEAR(v[0].f64, 7, 0);
    /* Unknown entity; wrong key count. */
    CHECK_INT(fs_online_lookup(on, q, "Z", now, v, buf, sizeof buf), FS_OK);
    for (int i = 0; i < NF; i++)
        CHECK_INT(v[i].status, FS_ONLINE_NOT_FOUND);
    CHECK_INT(fs_online_lookup(on, q, "A:x", now, v, buf, sizeof buf), FS_E_INVAL);
    fs_online_query_free(q);
    /* A service; a view of a wider entity keys the query. */
    CHECK_INT(fs_online_prepare(on, NULL, 0, "svc", &q, NULL), FS_OK);
    CHECK_INT(fs_online_query_size(q), 7);
    fs_online_query_free(q);
    CHECK_INT(fs_online_prepare(on, NULL, 0, "mixed", &q, NULL), FS_OK);
    CHECK_INT(fs_online_query_nkeys(q), 2);
    CHECK_STR(fs_online_query_key(q, 1), "venue");
    ingest(s, dir, "quotes", "symbol,venue,ts,bid\nA,X,1700000001,99.5\n");
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A:X", now, v, buf, sizeof buf), FS_OK);
    CHECK_NEAR(v[0].f64, 99.5, 0);
    CHECK_NEAR(v[1].f64, 4, 0); /* fast:x keyed by the symbol part */
    fs_online_query_free(q);
    /* A computed feature of a source that records no confidence is fully
     * trusted (its view table has no _confidence column at all). */
    CHECK_INT(fs_compute(s, NULL, &cr), FS_OK);
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_OK);
    const char *bid2[] = {"book:bid2"};
    CHECK_INT(fs_online_prepare(on, bid2, 1, NULL, &q, NULL), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A:X", now, v, buf, sizeof buf), FS_OK);
    CHECK_INT(v[0].status, FS_ONLINE_PRESENT);
    CHECK_NEAR(v[0].f64, 199, 0);
    CHECK_NEAR(v[0].confidence, 1, 0);
    fs_online_query_free(q);
    /* Errors name the problem. */
    const char *bad1[] = {"fast:nope"}, *bad2[] = {"cold:x"}, *bad3[] = {"nope:x"};
    CHECK_INT(fs_online_prepare(on, bad1, 1, NULL, &q, &detail), FS_E_NOTFOUND);
    CHECK_CONTAINS(detail, "no feature 'nope'");
    fs_free(detail);
    CHECK_INT(fs_online_prepare(on, bad2, 1, NULL, &q, &detail), FS_E_INVAL);
    CHECK_CONTAINS(detail, "not online");
    fs_free(detail);
    CHECK_INT(fs_online_prepare(on, bad3, 1, NULL, &q, &detail), FS_E_NOTFOUND);
    fs_free(detail);
    CHECK_INT(fs_online_prepare(on, NULL, 0, "nosvc", &q, &detail), FS_E_NOTFOUND);
    fs_free(detail);
    CHECK(q == NULL);
    const char *notonline[] = {"cold"};
    fs_materialize_opts mo = {0};
    mo.views = notonline;
    mo.n_views = 1;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_E_INVAL);
    CHECK_CONTAINS(fs_errmsg(s), "not online");
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* A restart serves at once: the files hold everything. */
TEST(test_persisted)
{
    char *dir;
    fs_store *s = setup(&dir);
    ingest(s, dir, "ticks", "symbol,ts,x,y,n,tag,q\nA,1700000000,1.5,2.5,3,hi,0.75\n");
    fs_materialize_result mr;
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_OK);
    fs_close(s);
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    const char *f[] = {"fast:x", "fast:tag", "fast:n"};
    CHECK_INT(fs_online_prepare(on, f, 3, NULL, &q, NULL), FS_OK);
    fs_online_value v[3];
    char buf[16];
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 1) * NS, v, buf, sizeof buf), FS_OK);
    CHECK_NEAR(v[0].f64, 1.5, 0);
    CHECK_NEAR(v[0].confidence, 0.75, 0);
    CHECK_INT(v[0].seq, 1); /* the ingest's commit */
    CHECK_STR(v[1].str, "hi");
    CHECK_INT(v[2].i64, 3);
    /* The status names the point. */
    char *json = NULL;
    CHECK_INT(fs_online_status_json(s, &json), FS_OK);
    CHECK_CONTAINS(json, "\"materialized_to\": \"latest\"");
    fs_free(json);
    /* A damaged file is refused with its name. */
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    char path[600];
    snprintf(path, sizeof path, "%s/online/fast.bin", dir);
    FILE *fp = fopen(path, "r+b");
    fseek(fp, 20, SEEK_SET);
    fputc('#', fp);
    fclose(fp);
    CHECK_INT(fs_open(dir, &s, NULL), FS_OK);
    char *detail = NULL;
    CHECK_INT(fs_online_open(s, &on, &detail), FS_E_CORRUPT);
    CHECK_CONTAINS(detail, "fast.bin");
    fs_free(detail);
    /* Materializing again replaces it. */
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_E_CORRUPT);
    unlink(path);
    CHECK_INT(fs_materialize(s, NULL, &mr), FS_OK);
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(test_incremental_and_windows)
{
    char *dir;
    fs_store *s = setup(&dir);
    ingest(s, dir, "ticks", "symbol,ts,x,n\nA,1700000000,1,1\nB,1700000000,5,5\n");
    fs_materialize_opts mo = {0};
    fs_materialize_result mr;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    const char *f[] = {"slow:xs"};
    CHECK_INT(fs_online_prepare(on, f, 1, NULL, &q, NULL), FS_OK);
    fs_online_value v[1];
    ingest(s, dir, "ticks", "symbol,ts,x,n\nA,1700000010,2,2\n");
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 1, 0); /* not materialized yet */
    mo.incremental = 1;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    CHECK_INT(mr.entities, 2); /* A only, in both online views of ticks */
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 2, 0);
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    CHECK_INT(mr.entities, 0); /* nothing new */
    /* A late correction of an old row is new too (committed later). */
    ingest(s, dir, "ticks", "symbol,ts,x,n\nB,1700000000,6,6\n");
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "B", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 6, 0);
    /* Rebuild as of an earlier time: the state then. */
    mo.incremental = 0;
    mo.to = (BASE + 5) * NS;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 1, 0);
    /* A window merges newer values only. */
    mo.from = (BASE + 10) * NS;
    mo.to = 0;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 2, 0);
    mo.from = (BASE + 20) * NS;
    mo.to = (BASE + 10) * NS;
    CHECK_INT(fs_materialize(s, &mo, &mr), FS_E_INVAL);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(test_push)
{
    char *dir;
    fs_store *s = setup(&dir);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    const char *f[] = {"fast:x", "fast:n", "fast:x2"};
    CHECK_INT(fs_online_prepare(on, f, 3, NULL, &q, NULL), FS_OK);
    fs_online_value v[3];
    fs_push_result pr;
    /* A bad row rejects the whole push, and names the row and column. */
    const char *bad = "{\"symbol\": [\"A\", \"B\", \"C\"], \"ts\": [1700000000, 1700000000, 1700000000], "
                      "\"x\": [1, \"abc\", 3], \"n\": [1, 2, 3]}";
    CHECK_INT(fs_push(s, "ticks", bad, strlen(bad), FS_PUSH_ONLINE_AND_OFFLINE, 0, &pr), FS_E_PARSE);
    CHECK_INT(pr.bad_row, 1);
    CHECK_STR(pr.bad_column, "x");
    CHECK_CONTAINS(fs_errmsg(s), "df row 1");
    CHECK_CONTAINS(fs_errmsg(s), "not a number");
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 25) * NS, v, NULL, 0), FS_OK);
    CHECK_INT(v[0].status, FS_ONLINE_NOT_FOUND);
    char *log = NULL;
    CHECK_INT(fs_log_json(s, &log), FS_OK);
    CHECK(strstr(log, "\"seq\"") == NULL); /* no commit */
    fs_free(log);
    const char *ragged = "{\"symbol\": [\"A\"], \"x\": [1, 2]}";
    CHECK_INT(fs_push(s, "ticks", ragged, strlen(ragged), FS_PUSH_ONLINE, 0, &pr), FS_E_INVAL);
    CHECK_CONTAINS(fs_errmsg(s), "different lengths");
    CHECK_INT(fs_push(s, "nope", "{}", 2, FS_PUSH_ONLINE, 0, &pr), FS_E_NOTFOUND);
    CHECK_INT(fs_push(s, "ticks", "[1]", 3, FS_PUSH_ONLINE, 0, &pr), FS_E_INVAL);
    CHECK_INT(fs_push(s, "ticks", "{", 1, FS_PUSH_ONLINE, 0, &pr), FS_E_INVAL);
    const char *unknown = "{\"symbol\": [\"A\"], \"ts\": [1700000000], \"x\": [1], \"n\": [1], \"zz\": [0]}";
    CHECK_INT(fs_push(s, "ticks", unknown, strlen(unknown), FS_PUSH_ONLINE, 0, &pr), FS_E_PARSE);
    CHECK_CONTAINS(fs_errmsg(s), "zz");
    /* Online only: visible at once, nothing committed. */
    const char *good = "{\"symbol\": [\"A\", \"A\"], \"ts\": [1700000000, \"2023-11-14T22:13:30Z\"], "
                       "\"x\": [1.5, 2.5], \"n\": [1, 2]}";
    CHECK_INT(fs_push(s, "ticks", good, strlen(good), FS_PUSH_ONLINE, 0, &pr), FS_OK);
    CHECK_INT(pr.rows, 2);
    CHECK_INT(pr.seq, 0);
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 25) * NS, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 2.5, 0); /* the newer of the two rows */
    CHECK_INT(v[1].i64, 2);
    CHECK_INT(v[0].event_ts, (BASE + 10) * NS);
    CHECK_INT(v[2].status, FS_ONLINE_NOT_FOUND); /* computed features follow the offline store */
    /* Dry run: validated, nothing written. */
    const char *later = "{\"symbol\": [\"A\"], \"ts\": [1700000020], \"x\": [9], \"n\": [9]}";
    CHECK_INT(fs_push(s, "ticks", later, strlen(later), FS_PUSH_ONLINE_AND_OFFLINE | FS_PUSH_DRY_RUN, 0, &pr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 25) * NS, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 2.5, 0);
    /* Offline with compute: committed, computed, online. */
    CHECK_INT(fs_push(s, "ticks", later, strlen(later), FS_PUSH_ONLINE_AND_OFFLINE | FS_PUSH_COMPUTE, 0, &pr), FS_OK);
    CHECK(pr.seq > 0);
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 25) * NS, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 9, 0);
    CHECK_INT(v[0].seq, pr.seq);
    CHECK_INT(v[2].status, FS_ONLINE_PRESENT);
    CHECK_NEAR(v[2].f64, 19, 0);
    /* An older row does not replace a newer one online. */
    CHECK_INT(fs_push(s, "ticks", good, strlen(good), FS_PUSH_ONLINE, 0, &pr), FS_OK);
    CHECK_INT(fs_online_lookup(on, q, "A", (BASE + 25) * NS, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 9, 0);
    char *json = NULL;
    const char *gf[] = {"fast:x"};
    CHECK_INT(fs_get_json(s, "A", gf, 1, FS_TIME_LATEST, FS_KNOWN_ALL_COMMITS, &json), FS_OK);
    CHECK_CONTAINS(json, "\"value\": 9");
    fs_free(json);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* Another handle (another process, for the files) writes; refresh sees it. */
TEST(test_refresh_other_writer)
{
    char *dir;
    fs_store *s = setup(&dir);
    fs_store *other = NULL;
    CHECK_INT(fs_open(dir, &other, NULL), FS_OK);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    const char *f[] = {"slow:xs"};
    CHECK_INT(fs_online_prepare(on, f, 1, NULL, &q, NULL), FS_OK);
    ingest(other, dir, "ticks", "symbol,ts,x,n\nA,1700000000,3,1\n");
    fs_materialize_result mr;
    CHECK_INT(fs_materialize(other, NULL, &mr), FS_OK);
    fs_online_value v[1];
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_INT(v[0].status, FS_ONLINE_NOT_FOUND);
    CHECK_INT(fs_online_refresh(on), 3); /* fast, slow and book files are new */
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 3, 0);
    CHECK_INT(fs_online_refresh(on), 0);
    /* A push through `other` merges with what the file holds. */
    const char *p = "{\"symbol\": [\"B\"], \"ts\": [1700000000], \"x\": [4], \"n\": [1]}";
    fs_push_result pr;
    CHECK_INT(fs_push(other, "ticks", p, strlen(p), FS_PUSH_ONLINE, 0, &pr), FS_OK);
    CHECK_INT(fs_online_refresh(on), 2);
    CHECK_INT(fs_online_lookup(on, q, "A", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 3, 0);
    CHECK_INT(fs_online_lookup(on, q, "B", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 4, 0);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(other);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- lookups racing writers ------------------------------------------------------ */

typedef struct {
    fs_online *on;
    fs_online_query *q;
    atomic_int *stop;
    long lookups, torn, backwards;
} reader_ctx;

static void *reader(void *p)
{
    reader_ctx *c = p;
    double last = 0;
    while (!atomic_load(c->stop)) {
        fs_online_value v[2];
        if (fs_online_lookup(c->on, c->q, "R", 0, v, NULL, 0) != FS_OK)
            continue;
        c->lookups++;
        if (v[0].status == FS_ONLINE_NOT_FOUND)
            continue;
        if (v[0].f64 != (double)v[1].i64 || v[0].event_ts != v[1].event_ts)
            c->torn++; /* x and n of one row must come together */
        if (v[0].f64 < last)
            c->backwards++;
        last = v[0].f64;
    }
    return NULL;
}

TEST(test_concurrent_lookups)
{
    char *dir;
    fs_store *s = setup(&dir);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    const char *f[] = {"fast:x", "fast:n"};
    CHECK_INT(fs_online_prepare(on, f, 2, NULL, &q, NULL), FS_OK);
    atomic_int stop = 0;
    reader_ctx rc[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        rc[i] = (reader_ctx){on, q, &stop, 0, 0, 0};
        pthread_create(&t[i], NULL, reader, &rc[i]);
    }
    for (int k = 1; k <= 30; k++) {
        char p[200];
        snprintf(p, sizeof p, "{\"symbol\": [\"R\", \"S\"], \"ts\": [%lld, %lld], \"x\": [%d, 0], \"n\": [%d, 0]}",
                 (long long)(BASE + k), (long long)(BASE + k), k, k);
        fs_push_result pr;
        CHECK_INT(fs_push(s, "ticks", p, strlen(p), k % 3 ? FS_PUSH_ONLINE : FS_PUSH_ONLINE_AND_OFFLINE, 0, &pr), FS_OK);
        if (k % 10 == 0) {
            fs_materialize_opts mo = {0};
            mo.incremental = 1;
            fs_materialize_result mr;
            CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
        }
    }
    atomic_store(&stop, 1);
    long total = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(rc[i].torn, 0);
        CHECK_INT(rc[i].backwards, 0);
        total += rc[i].lookups;
    }
    CHECK(total > 0);
    fs_online_value v[2];
    CHECK_INT(fs_online_lookup(on, q, "R", 0, v, NULL, 0), FS_OK);
    CHECK_NEAR(v[0].f64, 30, 0);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- online == offline ------------------------------------------------------------ */

/* For random moments T: materialize as of T, look every entity up with
 * "now" = T, and build a training set with one label per entity at T. A
 * PRESENT value must be the training set's cell; any other status must be
 * an empty cell (null, or beyond the view's TTL). */
TEST(test_online_offline_consistency)
{
    enum { N_ENT = 12, N_COMMITS = 4, ROWS = 250, N_TIMES = 25 };
    char *dir;
    fs_store *s = setup(&dir);
    for (int c = 0; c < N_COMMITS; c++) {
        size_t cap = 64 * ROWS + 64, len = 0;
        char *csv = malloc(cap);
        len += (size_t)snprintf(csv + len, cap - len, "symbol,ts,x,y,n,tag,q\n");
        for (int k = 0; k < ROWS; k++) {
            int e = (int)(next() % N_ENT), t = (int)(next() % 1000);
            int ynull = next() % 8 == 0, tnull = next() % 5 == 0;
            char y[32] = "", tag[16] = "";
            if (!ynull)
                snprintf(y, sizeof y, "%.3f", (double)(next() % 100000) / 7.0);
            if (!tnull)
                snprintf(tag, sizeof tag, "t%d", (int)(next() % 4));
            len += (size_t)snprintf(csv + len, cap - len, "E%d,%lld,%.6f,%s,%d,%s,%.2f\n", e,
                                    (long long)(BASE + t), (double)(next() % 1000000) / 13.0, y,
                                    (int)(next() % 1000), tag, (double)(next() % 101) / 100.0);
        }
        ingest(s, dir, "ticks", csv);
        free(csv);
        if (c == 1) { /* compute in between: a correction makes an entity start over */
            fs_compute_result cr;
            CHECK_INT(fs_compute(s, NULL, &cr), FS_OK);
        }
    }
    fs_compute_result cr;
    CHECK_INT(fs_compute(s, NULL, &cr), FS_OK);
    fs_online *on = NULL;
    fs_online_query *q = NULL;
    CHECK_INT(fs_online_open(s, &on, NULL), FS_OK);
    CHECK_INT(fs_online_prepare(on, FEATS, NF, NULL, &q, NULL), FS_OK);
    char labels[600], out[600];
    snprintf(labels, sizeof labels, "%s/labels.csv", dir);
    snprintf(out, sizeof out, "%s/train.csv", dir);
    long compared = 0, present = 0, stale = 0;
    for (int it = 0; it < N_TIMES; it++) {
        int64_t T = BASE - 20 + (int64_t)(next() % 1060);
        if (it == 0)
            T = BASE + 999; /* the last row's time */
        fs_materialize_opts mo = {0};
        mo.to = T * NS;
        fs_materialize_result mr;
        CHECK_INT(fs_materialize(s, &mo, &mr), FS_OK);
        FILE *lf = fopen(labels, "w");
        fprintf(lf, "symbol,event_ts\n");
        for (int e = 0; e <= N_ENT; e++) /* E12 has no rows at all */
            fprintf(lf, "E%d,%lld\n", e, (long long)T);
        fclose(lf);
        fs_training_opts to = {0};
        to.labels = labels;
        to.features = FEATS;
        to.n_features = NF;
        to.full_names = 1;
        to.out = out;
        to.jobs = 1;
        fs_training_result tr;
        CHECK_INT(fs_training_set(s, &to, &tr), FS_OK);
        FILE *tf = fopen(out, "r");
        char line[4096];
        CHECK(fgets(line, sizeof line, tf) != NULL); /* header */
        for (int e = 0; e <= N_ENT; e++) {
            CHECK(fgets(line, sizeof line, tf) != NULL);
            line[strcspn(line, "\n")] = 0;
            char *cells[2 + NF], *p = line;
            for (int k = 0; k < 2 + NF; k++) {
                cells[k] = p;
                char *comma = strchr(p, ',');
                if (comma) {
                    *comma = 0;
                    p = comma + 1;
                } else {
                    p += strlen(p);
                }
            }
            char ent[16], buf[256];
            snprintf(ent, sizeof ent, "E%d", e);
            CHECK_STR(cells[0], ent);
            fs_online_value v[NF];
            CHECK_INT(fs_online_lookup(on, q, ent, T * NS, v, buf, sizeof buf), FS_OK);
            for (int f = 0; f < NF; f++) {
                const char *cell = cells[2 + f];
                compared++;
                if (v[f].status != FS_ONLINE_PRESENT) {
                    stale += v[f].status == FS_ONLINE_OUTSIDE_MAX_AGE;
                    if (*cell)
                        fprintf(stderr, "  T=%lld %s %s: online %s, training '%s'\n", (long long)T, ent,
                                FEATS[f], fs_online_status_name(v[f].status), cell);
                    CHECK(*cell == 0);
                    continue;
                }
                present++;
                char want[64];
                switch (v[f].type) {
                case FS_ONLINE_DOUBLE:
                    if (strtod(cell, NULL) != v[f].f64 || !*cell)
                        fprintf(stderr, "  T=%lld %s %s: online %.17g, training '%s'\n", (long long)T, ent,
                                FEATS[f], v[f].f64, cell);
                    CHECK(*cell && strtod(cell, NULL) == v[f].f64);
                    break;
                case FS_ONLINE_INT64:
                    snprintf(want, sizeof want, "%lld", (long long)v[f].i64);
                    CHECK_STR(cell, want);
                    break;
                case FS_ONLINE_STRING: CHECK_STR(cell, v[f].str); break;
                default: CHECK(0);
                }
            }
        }
        fclose(tf);
    }
    CHECK(present > 500); /* the comparison compared values, not only nulls */
    CHECK(stale > 10);    /* and the TTL edge was crossed */
    printf("  consistency: %ld cells compared, %ld present, %ld outside the TTL\n", compared, present, stale);
    fs_online_query_free(q);
    fs_online_close(on);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    RUN(test_materialize_and_lookup);
    RUN(test_persisted);
    RUN(test_incremental_and_windows);
    RUN(test_push);
    RUN(test_refresh_other_writer);
    RUN(test_concurrent_lookups);
    RUN(test_online_offline_consistency);
    TEST_EXIT();
}
