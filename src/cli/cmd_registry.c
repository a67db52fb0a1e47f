/* Registry subcommands: init, apply, ls, describe, version. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/catalog.h"

static int run_init(cli *c)
{
    char *detail = NULL;
    int rc = fs_init(c->dir, &detail);
    if (rc != FS_OK) {
        cli_error(c, EXIT_FAIL, "%s", detail ? detail : fs_strerror(rc));
        free(detail);
        return EXIT_FAIL;
    }
    if (c->json)
        printf("{\"dir\": \"%s\", \"initialized\": true}\n", c->dir);
    else
        printf("Initialized fstore data directory %s\n", c->dir);
    return EXIT_OK;
}

const cli_command cmd_init = {
    .name = "init",
    .args = "",
    .summary = "create a data directory (--dir) with the built-in definitions",
    .help = "Creates the data directory and its catalog, holding the built-in entities\n"
            "'market' (symbol, tf) and 'signal' (signal_id) and the sources 'candles',\n"
            "'signals' and 'retrain_queue'. Running it on an existing data directory\n"
            "changes nothing.\n",
    .max_args = 0,
    .run = run_init,
};

static const char *const change_names[] = {"added", "changed", "removed", "unchanged"};
static const char change_marks[] = {'+', '~', '-', '='};

static int run_apply(cli *c)
{
    unsigned flags = cli_opt(c, "--dry-run") ? FS_APPLY_DRY_RUN : 0;
    int wait_ms = 10000;
    const char *w = cli_opt(c, "--lock-wait");
    if (w) {
        char *end;
        long v = strtol(w, &end, 10);
        if (*end || v < 0 || v > 86400000)
            return cli_error(c, EXIT_USAGE, "--lock-wait must be milliseconds, got '%s'", w);
        wait_ms = (int)v;
    }
    fs_apply_report *r = NULL;
    int rc = fs_apply_file(c->store, c->argv[0], flags, wait_ms, &r);
    if (rc != FS_OK) {
        const char *msg = fs_errmsg(c->store);
        int n = 1;
        for (const char *p = msg; *p; p++)
            n += *p == '\n';
        if (c->json) {
            json_t *o = json_object(), *errs = json_array();
            const char *line = msg;
            while (*line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                json_array_append_new(errs, json_stringn(line, len));
                line += len + (nl ? 1 : 0);
            }
            json_object_set_new(o, "status", json_string(fs_strerror(rc)));
            json_object_set_new(o, "errors", errs);
            cli_emit_json(o);
        } else {
            fprintf(stderr, "%s\n", msg);
        }
        if (rc == FS_E_INVALID_DEF || rc == FS_E_PARSE)
            cli_error(c, EXIT_FAIL, "%d error%s in %s; nothing was applied", n, n == 1 ? "" : "s",
                      c->argv[0]);
        else
            cli_error(c, EXIT_FAIL, "%s; nothing was applied", fs_strerror(rc));
        return EXIT_FAIL;
    }
    size_t changes = r->count[FS_CHANGE_ADDED] + r->count[FS_CHANGE_CHANGED] + r->count[FS_CHANGE_REMOVED];
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(c->argv[0]));
        json_object_set_new(o, "dry_run", json_boolean(flags & FS_APPLY_DRY_RUN));
        json_object_set_new(o, "generation", json_integer(r->generation));
        for (int k = 0; k < 4; k++)
            json_object_set_new(o, change_names[k], json_integer((json_int_t)r->count[k]));
        json_t *items = json_array();
        for (size_t i = 0; i < r->n_items; i++) {
            json_t *it = json_object();
            json_object_set_new(it, "kind", json_string(fs_kind_name(r->items[i].kind)));
            json_object_set_new(it, "name", json_string(r->items[i].name));
            json_object_set_new(it, "change", json_string(change_names[r->items[i].change]));
            json_object_set_new(it, "version", json_integer(r->items[i].version));
            json_array_append_new(items, it);
        }
        json_object_set_new(o, "items", items);
        cli_emit_json(o);
    } else if (!changes) {
        printf("Nothing to change: %zu definitions unchanged (catalog generation %lld)\n",
               r->count[FS_CHANGE_UNCHANGED], (long long)r->generation);
    } else {
        printf("%s %s%s:\n", flags & FS_APPLY_DRY_RUN ? "Would apply" : "Applied", c->argv[0],
               flags & FS_APPLY_DRY_RUN ? " (dry run, nothing written)" : "");
        for (int change = 0; change < 3; change++)
            for (size_t i = 0; i < r->n_items; i++)
                if ((int)r->items[i].change == change)
                    printf("  %c %-8s %s (v%d)\n", change_marks[change], fs_kind_name(r->items[i].kind),
                           r->items[i].name, r->items[i].version);
        if (r->count[FS_CHANGE_UNCHANGED]) {
            printf("  = unchanged:");
            int col = 14;
            for (size_t i = 0; i < r->n_items; i++)
                if (r->items[i].change == FS_CHANGE_UNCHANGED) {
                    int w2 = (int)strlen(r->items[i].name) + 1;
                    if (col + w2 > 100) {
                        printf("\n               ");
                        col = 15;
                    }
                    printf(" %s", r->items[i].name);
                    col += w2;
                }
            putchar('\n');
        }
        printf("%zu added, %zu changed, %zu removed, %zu unchanged", r->count[0], r->count[1],
               r->count[2], r->count[3]);
        if (!(flags & FS_APPLY_DRY_RUN))
            printf(" (catalog generation %lld)", (long long)r->generation);
        putchar('\n');
    }
    fs_apply_report_free(r);
    return EXIT_OK;
}

const cli_command cmd_apply = {
    .name = "apply",
    .args = "FILE",
    .summary = "validate a YAML definitions file and make the registry match it",
    .help = "The file is the whole desired registry: definitions it adds are added, those it\n"
            "changes get a new version (the old one is kept in their history), and those no\n"
            "longer in it are removed. Everything is validated first; any error changes\n"
            "nothing, and every error is listed as FILE:LINE:COLUMN: message.\n\n"
            "options:\n"
            "  --dry-run          show what would change, write nothing\n"
            "  --lock-wait MS     wait up to MS ms for another apply to finish (default 10000)\n",
    .opts = {{"--dry-run", 0}, {"--lock-wait", 1}},
    .min_args = 1,
    .max_args = 1,
    .run = run_apply,
    .needs_store = 1,
};

static int run_ls(cli *c)
{
    fs_list_filter f = {-1, cli_opt(c, "--category"), cli_opt(c, "--tag")};
    const char *kind = cli_opt(c, "--kind");
    if (kind && (f.kind = fs_kind_parse(kind)) < 0)
        return cli_error(c, EXIT_USAGE,
                         "unknown kind '%s' (entity, source, view, feature, service, contract)", kind);
    if (f.category && f.kind < 0)
        f.kind = FS_KIND_FEATURE; /* only features have categories */
    fs_def_info *rows = NULL;
    size_t n = 0;
    int rc = fs_list(c->store, &f, &rows, &n);
    if (rc != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "kind", json_string(fs_kind_name(rows[i].kind)));
            json_object_set_new(o, "name", json_string(rows[i].name));
            json_object_set_new(o, "version", json_integer(rows[i].version));
            json_object_set_new(o, "type", json_string(rows[i].type));
            json_object_set_new(o, "category", json_string(rows[i].category));
            json_object_set_new(o, "description", json_string(rows[i].description));
            json_array_append_new(a, o);
        }
        cli_emit_json(a);
    } else {
        int wname = 4;
        for (size_t i = 0; i < n; i++)
            if ((int)strlen(rows[i].name) > wname)
                wname = (int)strlen(rows[i].name);
        printf("%-8s  %-*s  %3s  %-11s  %-11s  %s\n", "KIND", wname, "NAME", "VER", "TYPE",
               "CATEGORY", "DESCRIPTION");
        for (size_t i = 0; i < n; i++) {
            const char *d = rows[i].description;
            int dl = (int)strlen(d);
            printf("%-8s  %-*s  %3d  %-11s  %-11s  %.*s%s\n", fs_kind_name(rows[i].kind), wname,
                   rows[i].name, rows[i].version, rows[i].type, rows[i].category, dl > 60 ? 57 : dl,
                   d, dl > 60 ? "..." : "");
        }
        printf("%zu definition%s\n", n, n == 1 ? "" : "s");
    }
    fs_free(rows);
    return EXIT_OK;
}

const cli_command cmd_ls = {
    .name = "ls",
    .args = "",
    .summary = "list definitions",
    .help = "options:\n"
            "  --kind KIND        entity, source, view, feature, service or contract\n"
            "  --category C       features of category C (market, technical, ...)\n"
            "  --tag T            definitions tagged T (a feature also matches its view's tags)\n",
    .opts = {{"--kind", 1}, {"--category", 1}, {"--tag", 1}},
    .max_args = 0,
    .run = run_ls,
    .needs_store = 1,
};

static int run_describe(cli *c)
{
    char *json = NULL;
    int rc = fs_describe(c->store, c->argv[0], &json);
    if (rc != FS_OK)
        return cli_error(c, EXIT_FAIL, "%s", fs_errmsg(c->store));
    if (c->json)
        cli_print_json(json);
    else
        cli_print_human(json);
    fs_free(json);
    return EXIT_OK;
}

const cli_command cmd_describe = {
    .name = "describe",
    .args = "NAME",
    .summary = "show a definition, its versions and its lineage",
    .help = "NAME is a view, a feature as VIEW:FEATURE, a service, source, entity or contract.\n"
            "When several kinds share the name, say which: KIND/NAME (e.g. source/candles).\n"
            "Shows the definition, its version and history, what it depends on and what\n"
            "uses it.\n",
    .min_args = 1,
    .max_args = 1,
    .run = run_describe,
    .needs_store = 1,
};

static int run_version(cli *c)
{
    if (c->json)
        printf("{\"version\": \"%s\", \"catalog_format\": %d}\n", fs_version(), FS_CATALOG_FORMAT);
    else
        printf("fstore %s (catalog format %d)\n", fs_version(), FS_CATALOG_FORMAT);
    return EXIT_OK;
}

const cli_command cmd_version = {
    .name = "version",
    .args = "",
    .summary = "print the version",
    .help = "",
    .max_args = 0,
    .run = run_version,
};
