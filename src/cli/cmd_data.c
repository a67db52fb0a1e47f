/* Data subcommands: ingest, get, history, log. */
#include "cli/cli.h"
#include "cli/progress.h"

#include "core/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int known_at_opt(cli *c, uint64_t *out)
{
    const char *v = cli_opt(c, "--known-at");
    *out = FS_KNOWN_ALL_COMMITS;
    if (!v)
        return 0;
    int64_t seq;
    if (fs_parse_int64(v, strlen(v), &seq) != FS_OK || seq < 0) {
        cli_error(c, EXIT_USAGE, "--known-at must be a commit sequence number (see fstore log), got '%s'", v);
        return -1;
    }
    *out = (uint64_t)seq;
    return 0;
}

static void ingest_progress(void *ctx, uint64_t done, uint64_t total, uint64_t rows)
{
    cli_progress_update(ctx, done, total, rows);
}

static int run_ingest(cli *c)
{
    fs_ingest_opts o = {0};
    o.format = cli_opt(c, "--format");
    if (o.format && strcmp(o.format, "binance") == 0)
        o.format = "kline"; /* the exchange's kline layout */
    o.symbol = cli_opt(c, "--symbol");
    o.tf = cli_opt(c, "--tf");
    o.rejects_path = cli_opt(c, "--rejects");
    o.lock_wait_ms = 10000;
    cli_progress bar;
    cli_progress_init(&bar, "ingest", "rows");
    o.progress = ingest_progress;
    o.progress_ctx = &bar;
    fs_ingest_result r;
    int rc = fs_ingest_file(c->store, c->argv[0], c->argv[1], &o, &r);
    cli_progress_end(&bar);
    if (rc != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s; nothing was stored", fs_errmsg(c->store));
    if (c->json) {
        printf("{\"source\": \"%s\", \"seq\": %llu, \"rows\": %llu, \"rejected\": %llu}\n", c->argv[0],
               (unsigned long long)r.seq, (unsigned long long)r.rows_ok,
               (unsigned long long)r.rows_rejected);
    } else if (r.rows_ok) {
        printf("Committed seq %llu: %llu row%s into %s", (unsigned long long)r.seq,
               (unsigned long long)r.rows_ok, r.rows_ok == 1 ? "" : "s", c->argv[0]);
        if (r.rows_rejected)
            printf(", %llu rejected%s%s", (unsigned long long)r.rows_rejected,
                   o.rejects_path ? " (see " : " (use --rejects FILE to see why)",
                   o.rejects_path ? o.rejects_path : "");
        printf("%s\n", r.rows_rejected && o.rejects_path ? ")" : "");
    } else {
        printf("Nothing stored: %llu rows rejected\n", (unsigned long long)r.rows_rejected);
    }
    return r.rows_rejected ? EXIT_PARTIAL : EXIT_OK;
}

const cli_command cmd_ingest = {
    .name = "ingest",
    .args = "SOURCE FILE|-",
    .summary = "load a CSV, JSON-lines or exchange kline file into a source, as one commit",
    .help = "Good rows are committed together and durable when the command returns; it prints\n"
            "the commit's sequence number. Bad rows do not stop the load: they are counted\n"
            "and, with --rejects, written there with their line number and reason; the\n"
            "command then exits 3. A file that is not of the format stores nothing (exit 2).\n\n"
            "options:\n"
            "  --format F         csv (default; a header names the columns), jsonl, or kline\n"
            "                     (alias binance: the exchange kline CSV without a header)\n"
            "  --symbol S --tf TF candles: the symbol and timeframe of every row\n"
            "  --rejects FILE     write rejected rows as LINE<TAB>REASON<TAB>ROW\n",
    .opts = {{"--format", 1}, {"--symbol", 1}, {"--tf", 1}, {"--rejects", 1}},
    .min_args = 2,
    .max_args = 2,
    .run = run_ingest,
    .needs_store = 1,
};

static int run_get(cli *c)
{
    int64_t at;
    uint64_t known_at;
    if (cli_time_opt(c, "--at", FS_TIME_LATEST, &at) || known_at_opt(c, &known_at))
        return EXIT_USAGE;
    char *json = NULL;
    const char *service = cli_opt(c, "--service");
    if (!service == (c->argc < 2))
        return cli_error(c, EXIT_USAGE, "name the features (VIEW:FEATURE...) or --service NAME, not both");
    int rc = service ? fs_get_service_json(c->store, c->argv[0], service, at, known_at, &json)
                     : fs_get_json(c->store, c->argv[0], c->argv + 1, (size_t)(c->argc - 1), at,
                                   known_at, &json);
    if (rc != FS_OK)
        return cli_error(c, rc == FS_E_INVAL ? EXIT_USAGE : EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
    } else {
        json_t *o = json_loads(json, 0, NULL), *rows = json_array();
        json_t *fs = json_object_get(o, "features");
        for (size_t i = 0; i < json_array_size(fs); i++) {
            json_t *f = json_array_get(fs, i), *row = json_array();
            json_array_append_new(row, cli_cell(json_object_get(f, "feature")));
            json_array_append_new(row, cli_cell(json_object_get(f, "value")));
            json_t *ts = json_object_get(f, "event_ts");
            json_array_append_new(row, ts ? cli_cell(ts) : json_string("-"));
            json_array_append_new(row, cli_cell(json_object_get(f, "status")));
            json_t *conf = json_object_get(f, "confidence");
            json_array_append_new(row, conf ? cli_cell(conf) : json_string("-"));
            json_array_append_new(rows, row);
        }
        static const char *const hdr[] = {"FEATURE", "VALUE", "EVENT_TS", "STATUS", "CONFIDENCE"};
        printf("%s at %s (known at commit %lld)\n", c->argv[0],
               json_string_value(json_object_get(o, "at")),
               (long long)json_integer_value(json_object_get(o, "known_at")));
        cli_print_table(hdr, 5, rows);
        json_decref(rows);
        json_decref(o);
    }
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_get = {
    .name = "get",
    .args = "ENTITY VIEW:FEATURE... | ENTITY --service NAME",
    .summary = "read feature values of one entity at a time (point in time)",
    .help = "ENTITY is the join-key values joined by ':' (BTCUSDT:1h). Each value is the one\n"
            "with the greatest event_ts <= --at (default: latest), not older than the view's\n"
            "TTL, among rows stored by commit --known-at or earlier (default: all).\n"
            "Features taken from a source column read it directly; indicator and expression\n"
            "features show NOT_COMPUTED until they are computed.\n\n"
            "options:\n"
            "  --at T             a time: ISO-8601 or epoch s/ms/us/ns (docs/time.md)\n"
            "  --known-at SEQ     ignore rows stored by later commits (see fstore log)\n"
            "  --service NAME     every feature of a feature service (a feature vector)\n",
    .opts = {{"--at", 1}, {"--known-at", 1}, {"--service", 1}},
    .min_args = 1,
    .max_args = CLI_MAX_ARGS,
    .run = run_get,
    .needs_store = 1,
};

static int run_history(cli *c)
{
    int64_t from, to;
    uint64_t known_at;
    if (cli_time_opt(c, "--from", INT64_MIN, &from) || cli_time_opt(c, "--to", INT64_MAX, &to) ||
        known_at_opt(c, &known_at))
        return EXIT_USAGE;
    size_t limit = 0;
    const char *l = cli_opt(c, "--limit");
    if (l) {
        int64_t v;
        if (fs_parse_int64(l, strlen(l), &v) != FS_OK || v <= 0)
            return cli_error(c, EXIT_USAGE, "--limit must be a positive number, got '%s'", l);
        limit = (size_t)v;
    }
    const char *cols[64];
    size_t ncols = 0;
    char *colbuf = NULL;
    const char *cl = cli_opt(c, "--columns");
    if (cl) {
        colbuf = strdup(cl);
        for (char *tok = strtok(colbuf, ","); tok && ncols < 64; tok = strtok(NULL, ","))
            cols[ncols++] = tok;
    }
    char *json = NULL;
    int rc = fs_history_json(c->store, c->argv[0], c->argv[1], from, to, limit, cl ? cols : NULL, ncols,
                             known_at, &json);
    free(colbuf);
    if (rc != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
    } else {
        json_t *o = json_loads(json, 0, NULL), *rows = json_array();
        json_t *names = json_object_get(o, "columns"), *in = json_object_get(o, "rows");
        const char *hdr[32];
        size_t nh = json_array_size(names) < 32 ? json_array_size(names) : 32;
        for (size_t k = 0; k < nh; k++)
            hdr[k] = json_string_value(json_array_get(names, k));
        for (size_t i = 0; i < json_array_size(in); i++) {
            json_t *src = json_array_get(in, i), *row = json_array();
            for (size_t k = 0; k < json_array_size(src); k++)
                json_array_append_new(row, cli_cell(json_array_get(src, k)));
            json_array_append_new(rows, row);
        }
        cli_print_table(hdr, nh, rows);
        printf("%zu row%s\n", json_array_size(in), json_array_size(in) == 1 ? "" : "s");
        json_decref(rows);
        json_decref(o);
    }
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_history = {
    .name = "history",
    .args = "TABLE ENTITY",
    .summary = "list the stored rows of one entity in a source, every version",
    .help = "Rows come in (event_ts, seq) order: a correction appears after the row it\n"
            "corrects, with a later seq. event_ts is when the row became knowable (for\n"
            "candles the open time + tf; the open time is the ts column).\n\n"
            "options:\n"
            "  --from T --to T    event_ts range, from inclusive, to exclusive\n"
            "  --limit N          at most N rows\n"
            "  --columns a,b      these columns only\n"
            "  --known-at SEQ     rows stored by that commit or earlier\n",
    .opts = {{"--from", 1}, {"--to", 1}, {"--limit", 1}, {"--columns", 1}, {"--known-at", 1}},
    .min_args = 2,
    .max_args = 2,
    .run = run_history,
    .needs_store = 1,
};

static int run_log(cli *c)
{
    char *json = NULL;
    if (fs_log_json(c->store, &json) != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
    } else {
        json_t *o = json_loads(json, 0, NULL), *rows = json_array();
        json_t *in = json_object_get(o, "commits");
        for (size_t i = 0; i < json_array_size(in); i++) {
            json_t *cm = json_array_get(in, i), *row = json_array();
            json_array_append_new(row, cli_cell(json_object_get(cm, "seq")));
            json_array_append_new(row, cli_cell(json_object_get(cm, "time")));
            json_array_append_new(row, cli_cell(json_object_get(cm, "table")));
            json_array_append_new(row, cli_cell(json_object_get(cm, "rows")));
            json_array_append_new(rows, row);
        }
        static const char *const hdr[] = {"SEQ", "TIME", "TABLE", "ROWS"};
        cli_print_table(hdr, 4, rows);
        json_decref(rows);
        json_decref(o);
    }
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_log = {
    .name = "log",
    .args = "",
    .summary = "list commits: sequence number, time, table, rows",
    .help = "",
    .max_args = 0,
    .run = run_log,
    .needs_store = 1,
};

static int run_compact(cli *c)
{
    char *json = NULL;
    if (fs_compact_json(c->store, &json) != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
    } else {
        printf("Checkpointed: every commit is in compressed chunk files; the log is trimmed\n");
        json_t *o = json_loads(json, 0, NULL), *it;
        size_t i;
        json_array_foreach(json_object_get(o, "compressed"), i, it)
            printf("Compressed %s: %lld partitions past compress_after, %lld files merged into them\n",
                   json_string_value(json_object_get(it, "table")),
                   (long long)json_integer_value(json_object_get(it, "partitions")),
                   (long long)json_integer_value(json_object_get(it, "files_merged")));
        json_decref(o);
    }
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_compact = {
    .name = "compact",
    .args = "",
    .summary = "write pending commits into compressed chunk files and trim the log",
    .help = "A checkpoint: rows still only in the write-ahead log go into immutable columnar\n"
            "chunk files (one per table and chunk interval), the manifest is replaced\n"
            "atomically, and the log is trimmed. Ingest also does this past 1M new rows.\n"
            "fstore describe SOURCE shows the chunks, bytes on disk and compression ratio.\n",
    .max_args = 0,
    .run = run_compact,
    .needs_store = 1,
};

static int run_gc(cli *c)
{
    char *json = NULL;
    if (fs_gc(c->store, &json) != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
    } else {
        json_t *o = json_loads(json, 0, NULL), *d = json_object_get(o, "dropped");
        if (!json_array_size(d))
            printf("No source has a retention period: nothing to drop\n");
        for (size_t i = 0; i < json_array_size(d); i++) {
            json_t *it = json_array_get(d, i);
            printf("%s: dropped %lld chunks, %lld rows\n", json_string_value(json_object_get(it, "source")),
                   (long long)json_integer_value(json_object_get(it, "chunks")),
                   (long long)json_integer_value(json_object_get(it, "rows")));
        }
        json_decref(o);
    }
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_gc = {
    .name = "gc",
    .args = "",
    .summary = "apply retention: drop whole chunks older than each source's retention",
    .help = "Takes a checkpoint, then for every source with a `retention` period drops the\n"
            "chunks whose time range ended longer ago than that (whole chunks, as\n"
            "TimescaleDB's drop_chunks). The manifest is replaced before files are deleted.\n",
    .max_args = 0,
    .run = run_gc,
    .needs_store = 1,
};
