/* Online subcommands: materialize (offline -> online store) and serve (the
 * HTTP feature server, docs/http-api.md). */
#include "cli/cli.h"

#include "core/timeutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int number_opt(cli *c, const char *name, long lo, long hi, long dflt, long *out)
{
    const char *v = cli_opt(c, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        cli_error(c, EXIT_USAGE, "%s must be a number in %ld..%ld, got '%s'", name, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* ---- materialize ------------------------------------------------------------------ */

static int run_materialize(cli *c)
{
    if (cli_opt(c, "--status")) {
        char *json = NULL;
        if (fs_online_status_json(c->store, &json) != FS_OK)
            return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
        if (c->json) {
            cli_print_json(json);
        } else {
            json_t *o = json_loads(json, 0, NULL), *rows = json_array();
            json_t *views = json_object_get(o, "views");
            for (size_t i = 0; i < json_array_size(views); i++) {
                json_t *v = json_array_get(views, i), *row = json_array();
                static const char *const keys[] = {"view", "entities", "features", "materialized_to",
                                                   "materialized_seq", "materialized_at"};
                for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
                    json_t *x = json_object_get(v, keys[k]);
                    json_array_append_new(row, x && !json_is_null(x) ? cli_cell(x) : json_string("-"));
                }
                json_array_append_new(rows, row);
            }
            static const char *const hdr[] = {"VIEW", "ENTITIES", "FEATURES", "MATERIALIZED_TO", "SEQ",
                                              "AT"};
            cli_print_table(hdr, 6, rows);
            json_decref(rows);
            json_decref(o);
        }
        fs_free(json);
        return EXIT_OK;
    }
    fs_materialize_opts o = {0};
    o.views = c->argc ? c->argv : NULL;
    o.n_views = (size_t)c->argc;
    o.incremental = cli_opt(c, "--incremental") != NULL;
    long wait;
    if (cli_time_opt(c, "--from", 0, &o.from) || cli_time_opt(c, "--to", 0, &o.to) ||
        number_opt(c, "--lock-wait", 0, 3600000, 10000, &wait))
        return EXIT_USAGE;
    if (o.incremental && o.from)
        return cli_error(c, EXIT_USAGE, "--incremental starts from the last materialized point: no --from");
    o.lock_wait_ms = (int)wait;
    fs_materialize_result r;
    int rc = fs_materialize(c->store, &o, &r);
    if (rc != FS_OK)
        return cli_error(c, rc == FS_E_NOTFOUND || rc == FS_E_INVAL ? EXIT_USAGE : EXIT_FAIL, "%s",
                         fs_errmsg(c->store));
    char to[FS_TIME_STRLEN] = "now";
    if (o.to)
        fs_format_time(o.to, to, sizeof to);
    if (c->json)
        printf("{\"views\": %zu, \"entities\": %llu, \"values\": %llu, \"duration_ms\": %.3f}\n", r.views,
               (unsigned long long)r.entities, (unsigned long long)r.values, (double)r.duration_ns / 1e6);
    else
        printf("Materialized %zu view%s %s%s: %llu entity rows, %llu values (%.1f ms)\n", r.views,
               r.views == 1 ? "" : "s", o.incremental ? "incrementally up to " : "as of ", to,
               (unsigned long long)r.entities, (unsigned long long)r.values, (double)r.duration_ns / 1e6);
    return EXIT_OK;
}

const cli_command cmd_materialize = {
    .name = "materialize",
    .args = "[VIEW...]",
    .summary = "load the latest feature values of online views into the online store",
    .help = "For every entity of the online views (or the views named), takes the row a\n"
            "point-in-time read gives at --to (default: now) from the source (its from:\n"
            "features) and from the computed features, and stores it in the online store\n"
            "(DIR/online/VIEW.bin, replaced atomically). A running `fstore serve` picks the\n"
            "new files up within a fraction of a second. `fstore compute` also updates the\n"
            "online views it computes.\n\n"
            "Without --from each view is rebuilt: it holds exactly the state as of --to.\n"
            "With --from, only rows with event_ts >= --from are merged in, and a value\n"
            "replaces the stored one only when it is newer.\n\n"
            "options:\n"
            "  --from T          merge rows with T <= event_ts (<= --to)\n"
            "  --to T            as of T (default: now)\n"
            "  --incremental     merge what is new since the last materialization (recorded\n"
            "                    per view: rows committed after it, or newer than its --to)\n"
            "  --status          show each online view: entities, last materialized point\n"
            "  --lock-wait MS    wait for another process writing the online store (10000)\n",
    .opts = {{"--from", 1}, {"--to", 1}, {"--incremental", 0}, {"--status", 0}, {"--lock-wait", 1}},
    .min_args = 0,
    .max_args = CLI_MAX_ARGS,
    .run = run_materialize,
    .needs_store = 1,
};

/* ---- serve ------------------------------------------------------------------------- */

static int run_serve(cli *c)
{
    long port, threads, max_body, wait;
    if (number_opt(c, "--port", 0, 65535, 6566, &port) || number_opt(c, "--threads", 0, 256, 0, &threads) ||
        number_opt(c, "--max-body", 1, 1L << 30, 1L << 20, &max_body) ||
        number_opt(c, "--lock-wait", 1, 3600000, 5000, &wait))
        return EXIT_USAGE;
    fs_server_opts o = {0};
    o.bind = cli_opt(c, "--bind");
    o.port = (int)port;
    o.threads = (int)threads;
    o.max_body = (size_t)max_body;
    o.lock_wait_ms = (int)wait;
    o.no_compute_on_push = cli_opt(c, "--no-compute-on-push") != NULL;
    /* SIGTERM and SIGINT are taken by sigwait below: block them before the
     * server's threads start, so that every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    fs_server *srv = NULL;
    char *detail = NULL;
    int rc = fs_server_start(c->store, &o, &srv, &detail);
    if (rc != FS_OK) {
        cli_error(c, rc == FS_E_INVAL ? EXIT_USAGE : EXIT_FAIL, "%s", detail ? detail : fs_strerror(rc));
        fs_free(detail);
        return rc == FS_E_INVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    char *status = NULL;
    size_t views = 0;
    if (fs_online_status_json(c->store, &status) == FS_OK) {
        json_t *j = json_loads(status, 0, NULL);
        views = json_array_size(json_object_get(j, "views"));
        json_decref(j);
        fs_free(status);
    }
    printf("fstore serve: listening on http://%s:%d (%zu online view%s; SIGTERM or Ctrl-C stops)\n",
           o.bind && strchr(o.bind, ':') ? "[::]" : o.bind ? o.bind : "127.0.0.1", fs_server_port(srv), views,
           views == 1 ? "" : "s");
    fflush(stdout);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    fprintf(stderr, "fstore serve: %s: finishing requests in flight, then stopping\n",
            sig == SIGINT ? "interrupted" : "terminated");
    fs_server_stop(srv, 10000);
    fprintf(stderr, "fstore serve: stopped\n");
    return EXIT_OK;
}

const cli_command cmd_serve = {
    .name = "serve",
    .args = "",
    .summary = "serve online features over HTTP (Feast's feature server API)",
    .help = "An HTTP/1.1 server with Feast's endpoints (docs/http-api.md):\n"
            "  POST /get-online-features  POST /push  POST /materialize\n"
            "  POST /materialize-incremental  GET /health  GET /metrics  GET /registry\n"
            "It serves the online store of the data directory, and reloads view files that\n"
            "`fstore materialize` replaces meanwhile. An offline push makes the server the\n"
            "data directory's writer until it stops (as ingest does). SIGTERM or SIGINT\n"
            "stops it gracefully: no new connection, requests in flight finish.\n\n"
            "options:\n"
            "  --port N             port (default 6566; 0: any free port, printed)\n"
            "  --bind ADDR          address to listen on (default 127.0.0.1)\n"
            "  --threads N          worker threads (default: one per core)\n"
            "  --max-body BYTES     larger request bodies get 413 (default 1048576)\n"
            "  --lock-wait MS       pushes wait this long for the writer lock (5000)\n"
            "  --no-compute-on-push offline pushes do not compute the online views of their\n"
            "                       source (by default their indicators follow each push)\n",
    .opts = {{"--port", 1}, {"--bind", 1}, {"--threads", 1}, {"--max-body", 1}, {"--lock-wait", 1},
             {"--no-compute-on-push", 0}},
    .min_args = 0,
    .max_args = 0,
    .run = run_serve,
    .needs_store = 1,
};
