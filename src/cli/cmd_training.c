/* Training-set subcommands: training-set (a point-in-time join of labels and
 * features, recorded as a run) and runs (list, show, rebuild bit for bit). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "a,b,c" in place into at most max names. */
static size_t split_commas(char *s, const char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
        if (*tok)
            out[n++] = tok;
    return n;
}

/* The command line as typed, for the run record. */
static char *command_line(const cli *c)
{
    size_t cap = 256, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int i = 0; i < c->raw_argc; i++) {
        size_t k = strlen(c->raw_argv[i]);
        while (len + k + 2 > cap) {
            char *p = realloc(s, cap *= 2);
            if (!p) {
                free(s);
                return NULL;
            }
            s = p;
        }
        if (i)
            s[len++] = ' ';
        memcpy(s + len, c->raw_argv[i], k + 1);
        len += k;
    }
    return s;
}

static void print_result(const cli *c, const fs_training_result *r, const char *out)
{
    if (c->json)
        printf("{\"run\": \"%s\", \"rows\": %llu, \"rejected\": %llu, \"known_at\": %llu, "
               "\"output_sha256\": \"%s\"}\n",
               r->run_id, (unsigned long long)r->rows, (unsigned long long)r->rejected,
               (unsigned long long)r->known_at, r->output_sha256);
    else
        printf("Run %s: %llu rows to %s (known at commit %llu, sha256 %.16s...)%s\n", r->run_id,
               (unsigned long long)r->rows, out, (unsigned long long)r->known_at, r->output_sha256,
               r->rejected ? "; some label rows were rejected" : "");
}

static int run_training_set(cli *c)
{
    fs_training_opts o = {0};
    const char *feats = cli_opt(c, "--features");
    o.labels = cli_opt(c, "--labels");
    o.service = cli_opt(c, "--service");
    o.out = cli_opt(c, "--out");
    o.format = cli_opt(c, "--format");
    o.labels_format = cli_opt(c, "--labels-format");
    o.rejects_path = cli_opt(c, "--rejects");
    o.full_names = cli_opt(c, "--full-names") != NULL;
    if (!o.labels || !o.out || (!feats == !o.service))
        return cli_error(c, EXIT_USAGE, "needs --labels FILE, --out FILE, and --features or --service");
    /* --known-at: a commit seq (digits, below 1e9), else a time: the last
     * commit made by then. */
    const char *ka = cli_opt(c, "--known-at");
    if (ka) {
        char *end;
        unsigned long long v = strtoull(ka, &end, 10);
        if (*ka && !*end && v < 1000000000ULL)
            o.known_at = v;
        else if (cli_time_opt(c, "--known-at", 0, &o.known_at_time))
            return EXIT_USAGE;
    }
    const char *jobs = cli_opt(c, "--jobs");
    if (jobs && (o.jobs = atoi(jobs)) < 1)
        return cli_error(c, EXIT_USAGE, "--jobs must be a positive number");
    /* --labels signals: filters on the signals table. */
    const char *where = cli_opt(c, "--where");
    char wbuf[512] = "";
    if (where) {
        if (strcmp(o.labels, "signals") != 0)
            return cli_error(c, EXIT_USAGE, "--where filters --labels signals");
        snprintf(wbuf, sizeof wbuf, "%s", where);
        for (char *kv = strtok(wbuf, ","); kv; kv = strtok(NULL, ",")) {
            char *eq = strchr(kv, '=');
            if (!eq)
                return cli_error(c, EXIT_USAGE, "--where takes KEY=VALUE,... (model_id, symbol, tf), got '%s'", kv);
            *eq = 0;
            if (strcmp(kv, "model_id") == 0)
                o.where_model_id = eq + 1;
            else if (strcmp(kv, "symbol") == 0)
                o.where_symbol = eq + 1;
            else if (strcmp(kv, "tf") == 0)
                o.where_tf = eq + 1;
            else
                return cli_error(c, EXIT_USAGE, "--where: unknown key '%s' (model_id, symbol, tf)", kv);
        }
    }
    if (cli_time_opt(c, "--from", 0, &o.where_from) || cli_time_opt(c, "--to", 0, &o.where_to))
        return EXIT_USAGE;
    char *fcopy = feats ? strdup(feats) : NULL;
    const char *names[256];
    if (fcopy) {
        o.features = names;
        o.n_features = split_commas(fcopy, names, 256);
    }
    char *cmd = command_line(c);
    o.command_line = cmd;
    fs_training_result r;
    int rc = fs_training_set(c->store, &o, &r);
    free(fcopy);
    free(cmd);
    if (rc != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s; nothing was written", fs_errmsg(c->store));
    print_result(c, &r, o.out);
    if (r.rejected)
        fprintf(stderr, "fstore training-set: %llu label rows rejected%s%s\n",
                (unsigned long long)r.rejected, o.rejects_path ? " (see " : " (use --rejects FILE to see why)",
                o.rejects_path ? o.rejects_path : "");
    return r.rejected ? EXIT_PARTIAL : EXIT_OK;
}

const cli_command cmd_training_set = {
    .name = "training-set",
    .args = "",
    .summary = "build a point-in-time training set from a labels file, recorded as a run",
    .help = "For each label row (join keys, event_ts, other columns passed through) and each\n"
            "view: the row with the greatest event_ts <= the label's time, within the view's\n"
            "TTL (both bounds inclusive), stored by --known-at; ties to the latest commit;\n"
            "none: an empty cell. Rows keep the label file's order. See docs/training.md.\n\n"
            "options:\n"
            "  --labels FILE|-        CSV with a header, or JSON lines (.jsonl); or `signals`:\n"
            "                         the signals table, filtered by --where and --from/--to\n"
            "  --where K=V,...        signals: model_id, symbol, tf\n"
            "  --from T --to T        signals: T1 <= event_ts < T2\n"
            "  --labels-format F      csv or jsonl (default: by the file name)\n"
            "  --features v:f,v,...   features (a bare view name: all its features)\n"
            "  --service NAME         or a feature service's features\n"
            "  --full-names           columns named view__feature\n"
            "  --known-at SEQ|TIME    only rows stored by that commit, or by the last commit\n"
            "                         made at or before TIME (default: the latest)\n"
            "  --out FILE             the training set\n"
            "  --format F             csv (default) or jsonl\n"
            "  --rejects FILE         label rows that cannot be used, with their line\n"
            "  --jobs N               threads (default: one per core)\n",
    .opts = {{"--labels", 1}, {"--labels-format", 1}, {"--features", 1}, {"--service", 1},
             {"--full-names", 0}, {"--known-at", 1}, {"--out", 1}, {"--format", 1},
             {"--rejects", 1}, {"--jobs", 1}, {"--where", 1}, {"--from", 1}, {"--to", 1}},
    .min_args = 0,
    .max_args = 0,
    .run = run_training_set,
    .needs_store = 1,
};

static int run_runs(cli *c)
{
    const char *verb = c->argc ? c->argv[0] : "ls";
    char *json = NULL;
    if (strcmp(verb, "ls") == 0 || strcmp(verb, "show") == 0) {
        if (strcmp(verb, "show") == 0 && c->argc != 2)
            return cli_error(c, EXIT_USAGE, "usage: fstore runs show ID");
        if (fs_runs_json(c->store, c->argc == 2 ? c->argv[1] : NULL, &json) != FS_OK)
            return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
        if (c->json || strcmp(verb, "show") == 0) {
            if (c->json)
                cli_print_json(json);
            else
                cli_print_human(json);
        } else {
            json_t *o = json_loads(json, 0, NULL), *rows = json_array();
            json_t *in = json_object_get(o, "runs");
            for (size_t i = 0; i < json_array_size(in); i++) {
                json_t *r = json_array_get(in, i), *row = json_array();
                json_array_append_new(row, cli_cell(json_object_get(r, "id")));
                json_array_append_new(row, cli_cell(json_object_get(r, "time")));
                json_array_append_new(row, cli_cell(json_object_get(r, "known_at")));
                json_array_append_new(row, cli_cell(json_object_get(r, "rows")));
                char sha[20];
                snprintf(sha, sizeof sha, "%.12s", json_string_value(json_object_get(r, "output_sha256")));
                json_array_append_new(row, json_string(sha));
                json_t *cmd = json_object_get(r, "command");
                json_array_append_new(row, json_is_string(cmd) ? cli_cell(cmd) : json_string("-"));
                json_array_append_new(rows, row);
            }
            static const char *const hdr[] = {"RUN", "TIME", "KNOWN_AT", "ROWS", "SHA256", "COMMAND"};
            cli_print_table(hdr, 6, rows);
            json_decref(rows);
            json_decref(o);
        }
        fs_free(json);
        return EXIT_OK;
    }
    if (strcmp(verb, "rebuild") == 0) {
        const char *out = cli_opt(c, "--out");
        if (c->argc != 2 || !out)
            return cli_error(c, EXIT_USAGE, "usage: fstore runs rebuild ID --out FILE");
        fs_training_result r;
        if (fs_run_rebuild(c->store, c->argv[1], out, &r) != FS_OK)
            return cli_error(c, EXIT_FAIL, "%s; nothing was written", fs_errmsg(c->store));
        if (c->json)
            print_result(c, &r, out);
        else
            printf("Rebuilt run %s: %llu rows to %s, byte-identical (sha256 %.16s...)\n", r.run_id,
                   (unsigned long long)r.rows, out, r.output_sha256);
        return EXIT_OK;
    }
    return cli_error(c, EXIT_USAGE, "unknown runs command '%s' (ls, show ID, rebuild ID --out FILE)", verb);
}

const cli_command cmd_runs = {
    .name = "runs",
    .args = "[ls | show ID | rebuild ID --out FILE]",
    .summary = "list, show and rebuild recorded training-set runs",
    .help = "Every training-set build is a run: its command, definitions and their versions,\n"
            "the hash of its labels, the known_at watermark, the row count and the hash of\n"
            "its output. rebuild writes a byte-identical file, whatever was ingested,\n"
            "corrected or recomputed since; when retention dropped rows it read, it says so\n"
            "and writes nothing.\n",
    .opts = {{"--out", 1}},
    .min_args = 0,
    .max_args = 2,
    .run = run_runs,
    .needs_store = 1,
};
