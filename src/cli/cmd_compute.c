/* Computation subcommands: compute (indicators and expressions into feature
 * views) and jobs (the record of every run). */
#include "cli/cli.h"
#include "cli/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void compute_progress(void *ctx, uint64_t done, uint64_t total, uint64_t rows)
{
    cli_progress_update(ctx, done, total, rows);
}

static int run_compute(cli *c)
{
    fs_compute_opts o = {0};
    o.views = c->argc ? c->argv : NULL;
    o.n_views = (size_t)c->argc;
    int64_t from, to;
    if (cli_time_opt(c, "--from", 0, &from) || cli_time_opt(c, "--to", 0, &to))
        return EXIT_USAGE;
    o.from = from;
    o.to = to;
    const char *jobs = cli_opt(c, "--jobs");
    if (jobs) {
        char *end;
        long n = strtol(jobs, &end, 10);
        if (*end || n < 1 || n > 64)
            return cli_error(c, EXIT_USAGE, "--jobs must be a number of threads in 1..64, got '%s'", jobs);
        o.jobs = (int)n;
    }
    cli_progress bar;
    cli_progress_init(&bar, "compute", "rows");
    o.progress = compute_progress;
    o.progress_ctx = &bar;
    fs_compute_result r;
    int rc = fs_compute(c->store, &o, &r);
    cli_progress_end(&bar);
    if (rc != FS_OK && rc != FS_E_PARTIAL)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        printf("{\"job\": %llu, \"rows\": %llu, \"entities\": %llu, \"views_ok\": %zu, "
               "\"views_failed\": %zu, \"duration_ms\": %lld}\n",
               (unsigned long long)r.job, (unsigned long long)r.rows,
               (unsigned long long)r.entities, r.views_ok, r.views_failed,
               (long long)(r.duration_ns / 1000000));
    } else {
        printf("Job %llu: %llu rows computed for %llu entity series in %zu view%s (%.2f s)\n",
               (unsigned long long)r.job, (unsigned long long)r.rows,
               (unsigned long long)r.entities, r.views_ok, r.views_ok == 1 ? "" : "s",
               (double)r.duration_ns / 1e9);
    }
    if (rc == FS_E_PARTIAL) {
        fprintf(stderr, "fstore compute: %zu view%s failed (other views were stored):\n%s\n",
                r.views_failed, r.views_failed == 1 ? "" : "s", fs_errmsg(c->store));
        return EXIT_PARTIAL;
    }
    return EXIT_OK;
}

const cli_command cmd_compute = {
    .name = "compute",
    .args = "[VIEW...]",
    .summary = "compute indicator and expression features of views from their sources",
    .help = "Computes every view with indicator or expr features (or the views named), in\n"
            "dependency order, entities in parallel. Incremental: each entity resumes where\n"
            "the last run stopped; a changed definition recomputes its view, a corrected\n"
            "source row its entity. Values are stamped with the source row's event_ts (for\n"
            "candles, the close), and written as new versions. Each run is a job (fstore jobs).\n"
            "Exit 3 when some view failed: the others are stored.\n\n"
            "options:\n"
            "  --from T --to T    compute rows with T1 <= event_ts < T2 only (warming up on\n"
            "                     the lookback before T1)\n"
            "  --jobs N           worker threads (default: one per core)\n",
    .opts = {{"--from", 1}, {"--to", 1}, {"--jobs", 1}},
    .min_args = 0,
    .max_args = CLI_MAX_ARGS,
    .run = run_compute,
    .needs_store = 1,
};

static int run_jobs(cli *c)
{
    char *json = NULL;
    if (fs_jobs_json(c->store, &json) != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        cli_print_json(json);
        fs_free(json);
        return EXIT_OK;
    }
    json_t *o = json_loads(json, 0, NULL), *rows = json_array();
    json_t *in = json_object_get(o, "jobs");
    for (size_t i = 0; i < json_array_size(in); i++) {
        json_t *j = json_array_get(in, i), *row = json_array();
        static const char *const keys[] = {"id", "kind", "status", "started", "duration_ms", "rows"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            json_t *v = json_object_get(j, keys[k]);
            json_array_append_new(row, v ? cli_cell(v) : json_string("-"));
        }
        json_t *views = json_object_get(j, "views"), *errs = json_object_get(j, "errors");
        char buf[512] = "";
        for (size_t k = 0; k < json_array_size(views); k++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", k ? "," : "",
                     json_string_value(json_array_get(views, k)));
        json_array_append_new(row, json_string(buf));
        buf[0] = 0;
        for (size_t k = 0; k < json_array_size(errs); k++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", k ? "; " : "",
                     json_string_value(json_array_get(errs, k)));
        json_array_append_new(row, json_string(buf[0] ? buf : "-"));
        json_array_append_new(rows, row);
    }
    static const char *const hdr[] = {"JOB", "KIND", "STATUS", "STARTED", "MS", "ROWS", "VIEWS", "ERRORS"};
    cli_print_table(hdr, 8, rows);
    json_decref(rows);
    json_decref(o);
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_jobs = {
    .name = "jobs",
    .args = "",
    .summary = "list computation jobs: status, rows written, duration, errors",
    .help = "Every run of fstore compute, oldest first, with the definitions (and their\n"
            "versions) it computed. A job whose process died shows as interrupted.\n",
    .min_args = 0,
    .max_args = 0,
    .run = run_jobs,
    .needs_store = 1,
};
