/* Training sets against a brute-force reference on randomized data: many
 * entities, several commits with corrections (same entity and event_ts,
 * later commit), duplicates inside one commit, labels before all data, on
 * row times, on TTL edges, duplicated labels, unknown entities, three views
 * with different TTLs, and a known_at watermark between commits. Also:
 * labels in random and in time order; a column retyped between commits (joined through the head); output
 * order, rejects, name collisions, runs rebuilt byte for byte after
 * later ingests and recomputation, and a rebuild refused after retention;
 * a label file large enough to be parsed on two threads giving every row,
 * line number and rejection in order. */
#include "test.h"

#include "fstore.h"
#include "training/labels.h"

#include <jansson.h>
#include <stdint.h>

enum { N_ENT = 20, N_COMMITS = 5, ROWS_PER_COMMIT = 400, N_LABELS = 3000 };
static const int64_t BASE = 1700000000; /* epoch seconds */

typedef struct {
    int ent, t, seq, order;
    double x, y;
} row;

static row rows[(N_COMMITS + 1) * ROWS_PER_COMMIT]; /* one more commit: retyped */
static int nrows;
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) { return test_xorshift64(&rng); }

static const char *DEFS =
    "entities:\n  - {name: asset, join_keys: [symbol]}\n"
    "sources:\n  - name: ticks\n    entity: asset\n    timestamp: ts\n"
    "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
    "      - {name: x, type: float64}\n      - {name: y, type: float64}\n"
    "views:\n"
    "  - {name: v0, entity: asset, source: ticks, ttl: 0, features: [{name: x, from: x}]}\n"
    "  - {name: v30, entity: asset, source: ticks, ttl: 30s, features: [{name: y, from: y}]}\n"
    "  - {name: v10, entity: asset, source: ticks, ttl: 10s, features: [{name: x10, from: x}]}\n"
    "  - {name: v5, entity: asset, source: ticks, ttl: 5s, features: [{name: x, from: x}]}\n";

/* The rule, by brute force: greatest ts <= t within the TTL, then greatest
 * seq, then the row written last. Returns the row index or -1. */
static int reference(int ent, int t, int ttl, int known_at)
{
    int best = -1;
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        if (r->ent != ent || r->seq > known_at || r->t > t || (ttl && r->t < t - ttl))
            continue;
        if (best < 0 || r->t > rows[best].t ||
            (r->t == rows[best].t && (r->seq > rows[best].seq ||
                                      (r->seq == rows[best].seq && r->order > rows[best].order))))
            best = i;
    }
    return best;
}

static fs_store *setup(char **dir)
{
    *dir = temp_dir();
    fs_store *s = NULL;
    CHECK_INT(fs_init(*dir, NULL), FS_OK);
    CHECK_INT(fs_open(*dir, &s, NULL), FS_OK);
    CHECK_INT(fs_apply_text(s, "defs.yaml", DEFS, strlen(DEFS), 0, 0, NULL), FS_OK);
    nrows = 0;
    for (int c = 1; c <= N_COMMITS; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/c%d.csv", *dir, c);
        FILE *f = fopen(path, "w");
        fprintf(f, "symbol,ts,x,y\n");
        for (int k = 0; k < ROWS_PER_COMMIT; k++) {
            row r = {(int)(next() % N_ENT), (int)(next() % 1000), c, k,
                     (double)(next() % 100000) / 7.0, (double)(next() % 1000) / 3.0};
            if (k && next() % 10 == 0) { /* the same entity and time again, in this commit */
                r.ent = rows[nrows - 1].ent;
                r.t = rows[nrows - 1].t;
            }
            rows[nrows++] = r;
            fprintf(f, "S%02d,%lld,%.17g,%.17g\n", r.ent, (long long)(BASE + r.t), r.x, r.y);
        }
        fclose(f);
        fs_ingest_result ir;
        CHECK_INT(fs_ingest_file(s, "ticks", path, NULL, &ir), FS_OK);
        CHECK_INT(ir.seq, c);
    }
    return s;
}

typedef struct {
    int ent, t;
} label;

static label labels[N_LABELS];

static void write_labels(const char *path)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "id,symbol,event_ts\n");
    for (int i = 0; i < N_LABELS; i++) {
        label l = {(int)(next() % (N_ENT + 2)), (int)(next() % 1300) - 150};
        int pick = (int)(next() % 6);
        if (pick == 0 && i) /* a duplicate of the previous label */
            l = labels[i - 1];
        else if (pick == 1) { /* exactly on a stored row's time */
            const row *r = &rows[next() % (uint64_t)nrows];
            l = (label){r->ent, r->t};
        } else if (pick == 2) { /* on a TTL edge: 10 or 30 s after a row, or one past */
            const row *r = &rows[next() % (uint64_t)nrows];
            int d = next() % 2 ? 10 : 30;
            l = (label){r->ent, r->t + d + (int)(next() % 2)};
        }
        labels[i] = l;
        fprintf(f, "%d,S%02d,%lld\n", i, l.ent, (long long)(BASE + l.t));
    }
    fclose(f);
}

static int by_time(const void *a, const void *b)
{
    const label *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* The labels of write_labels again, in time order (as files often come):
 * each entity's labels are then sorted already. */
static void rewrite_labels_by_time(const char *path, int quoted)
{
    qsort(labels, N_LABELS, sizeof *labels, by_time);
    FILE *f = fopen(path, "w");
    fprintf(f, "id,symbol,event_ts\n");
    for (int i = 0; i < N_LABELS; i++)
        fprintf(f, quoted ? "\"%d\",S%02d,%lld\n" : "%d,S%02d,%lld\n", i, labels[i].ent,
                (long long)(BASE + labels[i].t));
    fclose(f);
}

/* Reads the CSV output into cells[row][col] (strings). */
static int read_csv(const char *path, char ***cells, int ncols)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int n = 0;
    if (!f || !fgets(line, sizeof line, f)) { /* the header */
        if (f)
            fclose(f);
        return -1;
    }
    *cells = calloc((size_t)N_LABELS * (size_t)ncols, sizeof **cells);
    while (fgets(line, sizeof line, f) && n < N_LABELS) {
        line[strcspn(line, "\n")] = 0;
        char *p = line;
        for (int c = 0; c < ncols; c++) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = 0;
            (*cells)[n * ncols + c] = strdup(p);
            p = comma ? comma + 1 : p + strlen(p);
        }
        n++;
    }
    fclose(f);
    return n;
}

static int check_against_reference(const char *out, int known_at)
{
    char **cells = NULL;
    int n = read_csv(out, &cells, 6), bad = 0;
    CHECK_INT(n, N_LABELS);
    for (int i = 0; i < n && i < N_LABELS; i++) {
        char want_id[16];
        snprintf(want_id, sizeof want_id, "%d", i);
        bad += strcmp(cells[i * 6], want_id) != 0; /* label order kept */
        static const int ttl[3] = {0, 30, 10};
        for (int v = 0; v < 3; v++) {
            int ri = labels[i].ent < N_ENT ? reference(labels[i].ent, labels[i].t, ttl[v], known_at) : -1;
            const char *got = cells[i * 6 + 3 + v];
            if (ri < 0) {
                if (*got) {
                    bad++;
                    fprintf(stderr, "  label %d view %d: got '%s', want empty\n", i, v, got);
                }
                continue;
            }
            double want = v == 1 ? rows[ri].y : rows[ri].x;
            if (!*got || strtod(got, NULL) != want) {
                if (bad < 5)
                    fprintf(stderr, "  label %d (S%02d t=%d) view %d: got '%s', want %.17g\n", i,
                            labels[i].ent, labels[i].t, v, got, want);
                bad++;
            }
        }
    }
    for (int i = 0; cells && i < N_LABELS * 6; i++)
        free(cells[i]);
    free(cells);
    return bad;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *d = malloc((size_t)n + 1);
    if (fread(d, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    d[n] = 0;
    fclose(f);
    return d;
}

TEST(matches_brute_force_reference)
{
    char *dir;
    fs_store *s = setup(&dir);
    char lpath[512], out[512];
    snprintf(lpath, sizeof lpath, "%s/labels.csv", dir);
    snprintf(out, sizeof out, "%s/train.csv", dir);
    write_labels(lpath);
    const char *feats[] = {"v0:x", "v30:y", "v10:x10"};
    for (int known = 3; known <= N_COMMITS; known += 2) {
        char sha1[65] = "";
        for (int jobs = 1; jobs <= 3; jobs += 2) {
            fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 3,
                                  .known_at = (uint64_t)known, .out = out, .jobs = jobs};
            fs_training_result r;
            CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
            CHECK_INT(r.rows, N_LABELS);
            CHECK_INT(r.known_at, known);
            CHECK_INT(check_against_reference(out, known), 0);
            if (jobs == 1)
                memcpy(sha1, r.output_sha256, sizeof sha1);
            else
                CHECK_STR(r.output_sha256, sha1); /* threads never change a byte */
        }
    }
    rewrite_labels_by_time(lpath, 0);
    fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 3, .out = out, .jobs = 2};
    fs_training_result r, rq;
    CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
    CHECK_INT(check_against_reference(out, N_COMMITS), 0);
    /* A quote anywhere sends every row through the general CSV writer: the
     * same cells give the same bytes. */
    rewrite_labels_by_time(lpath, 1);
    CHECK_INT(fs_training_set(s, &o, &rq), FS_OK);
    CHECK_STR(rq.output_sha256, r.output_sha256);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* A column whose type changed between commits (float64, then int64 after a
 * re-apply) is joined through the head, next to a column read straight
 * from the chunk files, and both still match the reference. */
TEST(column_retyped_between_commits)
{
    char *dir;
    fs_store *s = setup(&dir);
    char *defs = strdup(DEFS), *at = strstr(defs, "{name: x, type: float64}");
    CHECK(at != NULL);
    memcpy(at, "{name: x, type: int64  }", strlen("{name: x, type: int64  }"));
    CHECK_INT(fs_apply_text(s, "defs.yaml", defs, strlen(defs), 0, 0, NULL), FS_OK);
    free(defs);
    char path[512], lpath[512], out[512];
    snprintf(path, sizeof path, "%s/c6.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,ts,x,y\n");
    for (int k = 0; k < ROWS_PER_COMMIT; k++) {
        row r = {(int)(next() % N_ENT), (int)(next() % 1000), N_COMMITS + 1, k,
                 (double)(next() % 100000), (double)(next() % 1000) / 3.0};
        rows[nrows++] = r;
        fprintf(f, "S%02d,%lld,%.0f,%.17g\n", r.ent, (long long)(BASE + r.t), r.x, r.y);
    }
    fclose(f);
    fs_ingest_result ir;
    CHECK_INT(fs_ingest_file(s, "ticks", path, NULL, &ir), FS_OK);
    CHECK_INT(ir.seq, N_COMMITS + 1);
    snprintf(lpath, sizeof lpath, "%s/labels.csv", dir);
    snprintf(out, sizeof out, "%s/train.csv", dir);
    write_labels(lpath);
    const char *feats[] = {"v0:x", "v30:y", "v10:x10"};
    for (int known = N_COMMITS; known <= N_COMMITS + 1; known++) {
        fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 3,
                              .known_at = (uint64_t)known, .out = out, .jobs = 2};
        fs_training_result r;
        CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
        CHECK_INT(r.rows, N_LABELS);
        CHECK_INT(check_against_reference(out, known), 0);
    }
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(runs_rebuild_byte_identical)
{
    char *dir;
    fs_store *s = setup(&dir);
    char lpath[512], out[512], again[512];
    snprintf(lpath, sizeof lpath, "%s/labels.csv", dir);
    snprintf(out, sizeof out, "%s/train.jsonl", dir);
    snprintf(again, sizeof again, "%s/again.jsonl", dir);
    write_labels(lpath);
    const char *feats[] = {"v0", "v30:y"};
    fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 2, .out = out,
                          .format = "jsonl", .full_names = 1, .command_line = "test"};
    fs_training_result r;
    CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
    CHECK_INT(r.known_at, N_COMMITS); /* the watermark defaults to the latest commit */
    char *first = slurp(out);
    /* Later: a correction of every stored row, and a new view definition. */
    char path[512];
    snprintf(path, sizeof path, "%s/fix.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "symbol,ts,x,y\n");
    for (int i = 0; i < nrows; i++)
        fprintf(f, "S%02d,%lld,1,2\n", rows[i].ent, (long long)(BASE + rows[i].t));
    fclose(f);
    fs_ingest_result ir;
    CHECK_INT(fs_ingest_file(s, "ticks", path, NULL, &ir), FS_OK);
    const char *defs2 = "entities:\n  - {name: asset, join_keys: [symbol]}\n"
        "sources:\n  - name: ticks\n    entity: asset\n    timestamp: ts\n"
        "    columns:\n      - {name: symbol, type: string}\n      - {name: ts, type: timestamp}\n"
        "      - {name: x, type: float64}\n      - {name: y, type: float64}\n"
        "views:\n  - {name: v0, entity: asset, source: ticks, ttl: 5s, features: [{name: x, from: y}]}\n"
        "  - {name: v30, entity: asset, source: ticks, ttl: 1s, features: [{name: y, from: x}]}\n";
    CHECK_INT(fs_apply_text(s, "defs2.yaml", defs2, strlen(defs2), 0, 0, NULL), FS_OK);
    fs_training_result r2;
    CHECK_INT(fs_run_rebuild(s, r.run_id, again, &r2), FS_OK);
    char *second = slurp(again);
    CHECK(first && second && strcmp(first, second) == 0);
    CHECK_STR(r2.output_sha256, r.output_sha256);
    /* A fresh build now differs: the rebuild really pinned the past. */
    CHECK_INT(fs_training_set(s, &o, &r2), FS_OK);
    CHECK(strcmp(r2.output_sha256, r.output_sha256) != 0);
    char *json = NULL;
    CHECK_INT(fs_runs_json(s, r.run_id, &json), FS_OK);
    CHECK_CONTAINS(json, "\"known_at\": 5");
    CHECK_CONTAINS(json, "\"v30:y\": 1");
    CHECK_CONTAINS(json, r.output_sha256);
    fs_free(json);
    CHECK_INT(fs_runs_json(s, NULL, &json), FS_OK);
    CHECK_CONTAINS(json, "\"id\": \"2\"");
    fs_free(json);
    CHECK_INT(fs_run_rebuild(s, "99", again, &r2), FS_E_NOTFOUND);
    CHECK_INT(fs_run_rebuild(s, "../1", again, &r2), FS_E_NOTFOUND);
    free(first);
    free(second);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* Rows too long for the fast CSV writer's buffer (a 300-character label
 * cell on every other row) are written in full by the general one: each
 * row keeps its cell, and the feature values are those of the same labels
 * with a short cell. */
TEST(long_label_cells)
{
    char *dir;
    fs_store *s = setup(&dir);
    char lpath[2][512], out[2][512];
    char longcell[301];
    memset(longcell, 'q', 300);
    longcell[300] = 0;
    for (int v = 0; v < 2; v++) {
        snprintf(lpath[v], sizeof lpath[v], "%s/labels%d.csv", dir, v);
        snprintf(out[v], sizeof out[v], "%s/out%d.csv", dir, v);
        FILE *f = fopen(lpath[v], "w");
        fprintf(f, "note,symbol,event_ts\n");
        for (int i = 0; i < 200; i++)
            fprintf(f, "%s,S%02d,%lld\n", v && i % 2 ? longcell : "n", i % N_ENT,
                    (long long)(BASE + 5 * i));
        fclose(f);
        const char *feats[] = {"v0:x", "v30:y"};
        fs_training_opts o = {.labels = lpath[v], .features = feats, .n_features = 2, .out = out[v], .jobs = 2};
        fs_training_result r;
        CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
        CHECK_INT(r.rows, 200);
    }
    char *a = slurp(out[0]), *b = slurp(out[1]);
    CHECK(a && b);
    char *pa = a ? strchr(a, '\n') : NULL, *pb = b ? strchr(b, '\n') : NULL;
    for (int i = 0; pa && pb && i < 200; i++) {
        pa++;
        pb++;
        const char *want_note = i % 2 ? longcell : "n";
        size_t nl = strlen(want_note);
        CHECK(strncmp(pb, want_note, nl) == 0 && pb[nl] == ',');
        CHECK(pa[1] == ','); /* "n," */
        /* after the note: the same symbol, time and features */
        char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        CHECK(ea && eb && ea - (pa + 1) == eb - (pb + nl));
        if (ea && eb)
            CHECK(memcmp(pa + 1, pb + nl, (size_t)(ea - pa - 1)) == 0);
        pa = ea;
        pb = eb;
    }
    free(a);
    free(b);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

TEST(rejects_collisions_and_errors)
{
    char *dir;
    fs_store *s = setup(&dir);
    char lpath[512], out[512], rej[512];
    snprintf(lpath, sizeof lpath, "%s/l.csv", dir);
    snprintf(out, sizeof out, "%s/o.csv", dir);
    snprintf(rej, sizeof rej, "%s/rej.txt", dir);
    FILE *f = fopen(lpath, "w");
    fprintf(f, "symbol,event_ts,note\nS01,1700000500,\"a, quoted\"\n,1700000500,x\nS02,yesterday,y\nS03,1700000999,z\n");
    fclose(f);
    const char *feats[] = {"v0:x"};
    fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 1, .out = out,
                          .rejects_path = rej};
    fs_training_result r;
    CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
    CHECK_INT(r.rows, 2);
    CHECK_INT(r.rejected, 2);
    char *rtext = slurp(rej), *otext = slurp(out);
    CHECK_CONTAINS(rtext, "l.csv:3\tsymbol: missing join key");
    CHECK_CONTAINS(rtext, "l.csv:4\tevent_ts:");
    CHECK_CONTAINS(otext, "symbol,event_ts,note,x\nS01,1700000500,\"a, quoted\",");
    free(rtext);
    free(otext);
    /* Two features with the same bare name. */
    const char *two[] = {"v0:x", "v5:x"};
    o.features = two;
    o.n_features = 2;
    CHECK_INT(fs_training_set(s, &o, &r), FS_E_INVAL);
    CHECK_CONTAINS(fs_errmsg(s), "would both be column 'x'");
    o.full_names = 1;
    CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
    /* A label file without the join key column, and an unknown feature. */
    f = fopen(lpath, "w");
    fprintf(f, "sym,event_ts\nS01,1700000500\n");
    fclose(f);
    o.n_features = 1;
    CHECK_INT(fs_training_set(s, &o, &r), FS_E_INVAL);
    CHECK_CONTAINS(fs_errmsg(s), "no column 'symbol'");
    const char *unknown[] = {"v0:nope"};
    o.features = unknown;
    CHECK_INT(fs_training_set(s, &o, &r), FS_E_NOTFOUND);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* Retention dropped what a run read: the rebuild says so and writes nothing. */
TEST(rebuild_refused_after_retention)
{
    char *dir;
    fs_store *s = setup(&dir);
    char lpath[512], out[512], again[512];
    snprintf(lpath, sizeof lpath, "%s/labels.csv", dir);
    snprintf(out, sizeof out, "%s/train.csv", dir);
    snprintf(again, sizeof again, "%s/again.csv", dir);
    write_labels(lpath);
    const char *feats[] = {"v0:x"};
    fs_training_opts o = {.labels = lpath, .features = feats, .n_features = 1, .out = out};
    fs_training_result r;
    CHECK_INT(fs_training_set(s, &o, &r), FS_OK);
    char *defs = malloc(strlen(DEFS) + 64);
    const char *at = strstr(DEFS, "    columns:");
    snprintf(defs, strlen(DEFS) + 64, "%.*s    retention: 1d\n%s", (int)(at - DEFS), DEFS, at);
    CHECK_INT(fs_apply_text(s, "ret.yaml", defs, strlen(defs), 0, 0, NULL), FS_OK);
    char *json = NULL;
    CHECK_INT(fs_gc(s, &json), FS_OK);
    CHECK_CONTAINS(json, "\"source\": \"ticks\"");
    fs_free(json);
    CHECK_INT(fs_run_rebuild(s, r.run_id, again, &r), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_errmsg(s), "cannot be rebuilt: it read rows of ticks from");
    CHECK_CONTAINS(fs_errmsg(s), "retention");
    FILE *f = fopen(again, "r");
    CHECK(f == NULL); /* nothing written */
    if (f)
        fclose(f);
    free(defs);
    fs_close(s);
    rm_rf(dir);
    free(dir);
}

/* A label CSV over the two-thread size (4 MiB), with blank lines and
 * rejected rows in both halves: every kept row with its values and line,
 * the rejections counted and written in line order. */
TEST(large_label_file_parses_in_order)
{
    enum { N = 200000 };
    fs_strbuf csv = {0}, want_rej = {0};
    fs_sb_puts(&csv, "lid,symbol,event_ts,target\n");
    uint64_t line = 1;
    size_t kept = 0, rejected = 0;
    size_t *kept_i = malloc(N * sizeof *kept_i);
    uint64_t *kept_line = malloc(N * sizeof *kept_line);
    for (size_t i = 0; i < N; i++) {
        if (i % 1000 == 999) { /* a blank line: neither a row nor a rejection */
            fs_sb_puts(&csv, "\n");
            line++;
        }
        line++;
        if (i % 7919 == 13) {
            fs_sb_printf(&csv, "%zu,S%zu\n", i, i % 50);
            fs_sb_printf(&want_rej, "labels.csv:%llu\t2 fields, the header has 4\n", (unsigned long long)line);
            rejected++;
        } else if (i % 10007 == 5) {
            fs_sb_printf(&csv, "%zu,S%zu,nope,0.5\n", i, i % 50);
            rejected++;
        } else if (i % 6007 == 3) {
            fs_sb_printf(&csv, "%zu,,%zu,0.5\n", i, 1700000000 + i);
            fs_sb_printf(&want_rej, "labels.csv:%llu\tsymbol: missing join key\n", (unsigned long long)line);
            rejected++;
        } else {
            fs_sb_printf(&csv, "%zu,S%zu,%zu,0.%06zu\n", i, i % 50, 1700000000 + i, i);
            kept_i[kept] = i;
            kept_line[kept++] = line;
        }
    }
    CHECK(csv.len >= (size_t)4 << 20);
    FILE *rej = tmpfile();
    const char *req[] = {"symbol"};
    fs_labels L;
    fs_strbuf err = {0};
    CHECK_INT(fs_labels_parse("labels.csv", csv.buf, csv.len, 0, req, 1, rej, &L, &err), FS_OK);
    CHECK_INT(L.n, kept);
    CHECK_INT(L.rejected, rejected);
    size_t bad = 0;
    for (size_t k = 0; k < L.n && k < kept; k++) {
        char lid[32], ts[32];
        snprintf(lid, sizeof lid, "%zu", kept_i[k]);
        snprintf(ts, sizeof ts, "%zu", 1700000000 + kept_i[k]);
        bad += strcmp(L.cell[k * L.ncols], lid) != 0 || strcmp(L.cell[k * L.ncols + 2], ts) != 0 ||
               L.line[k] != kept_line[k] ||
               L.ts[k] != (int64_t)(1700000000 + kept_i[k]) * 1000000000LL;
    }
    CHECK_INT(bad, 0);
    /* the rejections in line order (the bad-time ones say more: their lines only) */
    rewind(rej);
    char buf[256];
    fs_strbuf got = {0};
    uint64_t prev = 0, unordered = 0;
    while (fgets(buf, sizeof buf, rej)) {
        uint64_t at = strtoull(buf + strlen("labels.csv:"), NULL, 10);
        unordered += at <= prev;
        prev = at;
        if (!strstr(buf, "event_ts"))
            fs_sb_puts(&got, buf);
    }
    CHECK_INT(unordered, 0);
    CHECK_STR(fs_sb_str(&got), fs_sb_str(&want_rej));
    fclose(rej);
    fs_labels_free(&L);
    fs_sb_free(&csv);
    fs_sb_free(&want_rej);
    fs_sb_free(&got);
    fs_sb_free(&err);
    free(kept_i);
    free(kept_line);
}

int main(void)
{
    RUN(rebuild_refused_after_retention);
    RUN(matches_brute_force_reference);
    RUN(column_retyped_between_commits);
    RUN(runs_rebuild_byte_identical);
    RUN(long_label_cells);
    RUN(rejects_collisions_and_errors);
    RUN(large_label_file_parses_in_order);
    TEST_EXIT();
}
