/* The `fstore` command: global options, subcommand dispatch, usage.
 *
 * Global options (--dir, --json, --help) may stand before or after the
 * subcommand. The data directory is --dir, else $FSTORE_DIR, else
 * ./fstore-data. Exit codes: 0 ok, 1 usage error, 2 failure, 3 partial. */
#include "cli/cli.h"
#include "core/phase.h"

#include "core/diag.h"
#include "core/timeutil.h"

#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_command *const commands[] = {
    &cmd_init, &cmd_apply, &cmd_ls, &cmd_describe, &cmd_ingest, &cmd_get, &cmd_history, &cmd_log,
    &cmd_compact, &cmd_gc, &cmd_compute, &cmd_jobs,
    &cmd_training_set, &cmd_runs,
    &cmd_materialize, &cmd_serve,
    &cmd_version,
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

const char *cli_opt(const cli *c, const char *name)
{
    for (int i = 0; i < CLI_MAX_OPTS && c->cmd->opts[i].name; i++)
        if (strcmp(c->cmd->opts[i].name, name) == 0)
            return c->optval[i];
    return NULL;
}

int cli_error(const cli *c, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fstore%s%s: ", c && c->cmd ? " " : "", c && c->cmd ? c->cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void cli_print_json(const char *json) { printf("%s\n", json); }

void cli_emit_json(json_t *value)
{
    char *s = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (s)
        cli_print_json(s);
    free(s);
    json_decref(value);
}

static void print_value(FILE *out, const json_t *v, int indent);
static void print_object_item(FILE *out, const json_t *o, int indent);

static void print_scalar(FILE *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: fputs(json_string_value(v), out); break;
    case JSON_INTEGER: fprintf(out, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: fprintf(out, "%.17g", json_real_value(v)); break;
    case JSON_TRUE: fputs("true", out); break;
    case JSON_FALSE: fputs("false", out); break;
    default: fputs("-", out); break;
    }
}

static int is_scalar_list(const json_t *a)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_is_object(json_array_get(a, i)) || json_is_array(json_array_get(a, i)))
            return 0;
    return 1;
}

/* A reference {"kind", "name", "via"} is shown on one line. */
static int is_ref(const json_t *o)
{
    return json_is_object(o) && json_object_get(o, "kind") && json_object_get(o, "name") &&
           json_object_size(o) <= 3 && !json_object_get(o, "definition");
}

static void print_value(FILE *out, const json_t *v, int indent)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) {
            fprintf(out, "%*s%s:", indent, "", key);
            if (json_is_object(val) || (json_is_array(val) && !is_scalar_list(val))) {
                if (json_is_array(val) && json_array_size(val) == 0) {
                    fputs(" -\n", out);
                    continue;
                }
                fputc('\n', out);
                print_value(out, val, indent + 2);
            } else if (json_is_array(val)) {
                fputc(' ', out);
                if (!json_array_size(val))
                    fputs("-", out);
                for (size_t i = 0; i < json_array_size(val); i++) {
                    if (i)
                        fputs(", ", out);
                    print_scalar(out, json_array_get(val, i));
                }
                fputc('\n', out);
            } else {
                fputc(' ', out);
                print_scalar(out, val);
                fputc('\n', out);
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *it = json_array_get(v, i);
            if (is_ref(it)) {
                fprintf(out, "%*s- %s %s", indent, "", json_string_value(json_object_get(it, "kind")),
                       json_string_value(json_object_get(it, "name")));
                if (json_object_get(it, "via"))
                    fprintf(out, " (%s)", json_string_value(json_object_get(it, "via")));
                fputc('\n', out);
            } else if (json_is_object(it)) {
                /* "- " takes the place of the first key's indentation, as in YAML */
                fprintf(out, "%*s- ", indent, "");
                print_object_item(out, it, indent + 2);
            } else {
                fprintf(out, "%*s- ", indent, "");
                print_scalar(out, it);
                fputc('\n', out);
            }
        }
    } else {
        fprintf(out, "%*s", indent, "");
        print_scalar(out, v);
        fputc('\n', out);
    }
}

/* An object inside a list: its first line follows the "- " already printed,
 * so it is rendered to memory and its first indentation dropped. */
static void print_object_item(FILE *out, const json_t *o, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return;
    print_value(mem, o, indent);
    fclose(mem);
    fputs(buf + (len >= (size_t)indent ? (size_t)indent : 0), out);
    free(buf);
}

void cli_print_human(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    if (!j) {
        puts(json);
        return;
    }
    print_value(stdout, j, 0);
    json_decref(j);
}

static void usage(FILE *f)
{
    fprintf(f,
            "fstore %s: a point-in-time feature store for time-series machine learning\n\n"
            "usage: fstore [--dir DIR] [--json] COMMAND [ARGS]\n\ncommands:\n",
            fs_version());
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nglobal options:\n"
               "  --dir DIR  data directory (default: $FSTORE_DIR, else ./fstore-data)\n"
               "  --json     machine-readable output\n"
               "  --help     help for fstore or a command\n\n"
               "exit status: 0 success, 1 usage error, 2 failure, 3 partial success\n"
               "Run 'fstore COMMAND --help' for a command's options.\n");
}

static void command_help(const cli_command *cmd)
{
    printf("usage: fstore %s%s%s\n\n%s\n\n%s", cmd->name, *cmd->args ? " " : "", cmd->args,
           cmd->summary, cmd->help);
    printf("\nglobal options: --dir DIR, --json, --help\n");
}

/* Parses a time option; FS_TIME_LATEST when absent. Returns -1 on error. */
int cli_time_opt(cli *c, const char *name, int64_t dflt, int64_t *out)
{
    const char *v = cli_opt(c, name);
    *out = dflt;
    if (!v)
        return 0;
    char msg[200];
    if (fs_parse_time(v, strlen(v), out, msg, sizeof msg) != FS_OK) {
        cli_error(c, EXIT_USAGE, "%s: %s", name, msg);
        return -1;
    }
    return 0;
}

/* Prints rows of strings as an aligned table. */
void cli_print_table(const char *const *header, size_t ncols, json_t *rows /* array of arrays */)
{
    size_t w[32] = {0};
    ncols = ncols > 32 ? 32 : ncols;
    for (size_t k = 0; k < ncols; k++)
        w[k] = strlen(header[k]);
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ncols; k++) {
            const char *s = json_string_value(json_array_get(json_array_get(rows, i), k));
            if (s && strlen(s) > w[k])
                w[k] = strlen(s);
        }
    for (size_t k = 0; k < ncols; k++)
        printf("%-*s%s", (int)w[k], header[k], k + 1 < ncols ? "  " : "\n");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ncols; k++) {
            const char *s = json_string_value(json_array_get(json_array_get(rows, i), k));
            printf("%-*s%s", (int)w[k], s ? s : "", k + 1 < ncols ? "  " : "\n");
        }
}

/* A JSON value as text for a table cell. */
json_t *cli_cell(const json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: return json_string(json_string_value(v));
    case JSON_INTEGER: snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, sizeof buf, "%.15g", json_real_value(v)); break;
    case JSON_TRUE: return json_string("true");
    case JSON_FALSE: return json_string("false");
    default: return json_string("null");
    }
    return json_string(buf);
}

int main(int argc, char **argv)
{
    /* Past a file-size limit the kernel would kill us with SIGXFSZ mid-write;
     * ignored, the write fails with EFBIG and the command fails cleanly with
     * nothing half-written, as on a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    fs_phase_start(); /* FSTORE_TIMINGS=1: phases timed from here */
    /* A command's large buffers (decoded segments, label tables, output)
     * are allocated and freed over and over: kept in the heap instead of
     * each being mapped and unmapped, they cost no page faults on reuse and
     * no TLB shootdowns across threads when freed (a fifth of a training
     * set's time went there). A command is short-lived: its peak RSS is
     * what it is either way. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    cli c = {0};
    c.raw_argc = argc;
    c.raw_argv = (const char *const *)argv;
    c.dir = getenv("FSTORE_DIR");
    if (!c.dir || !*c.dir)
        c.dir = "./fstore-data";
    int help = 0;
    const char *rest[CLI_MAX_ARGS * 2];
    int n_rest = 0;

    /* Pass 1: global options anywhere; the first operand names the command. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            c.json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
        } else if (strcmp(a, "--dir") == 0) {
            if (++i >= argc)
                return cli_error(NULL, EXIT_USAGE, "--dir needs a directory");
            c.dir = argv[i];
        } else if (strncmp(a, "--dir=", 6) == 0) {
            c.dir = a + 6;
        } else if (!c.cmd && a[0] != '-') {
            for (int k = 0; k < N_COMMANDS; k++)
                if (strcmp(commands[k]->name, a) == 0)
                    c.cmd = commands[k];
            if (!c.cmd) {
                const char *names[N_COMMANDS];
                for (int k = 0; k < N_COMMANDS; k++)
                    names[k] = commands[k]->name;
                const char *hint = fs_suggest(a, names, N_COMMANDS);
                cli_error(NULL, EXIT_USAGE, "unknown command '%s'%s%s%s", a,
                          hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
                fprintf(stderr, "Run 'fstore --help' for the list of commands.\n");
                return EXIT_USAGE;
            }
        } else if (n_rest < CLI_MAX_ARGS * 2) {
            rest[n_rest++] = a;
        } else {
            return cli_error(NULL, EXIT_USAGE, "too many arguments");
        }
    }
    if (!c.cmd) {
        usage(help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    if (help) {
        command_help(c.cmd);
        return EXIT_OK;
    }

    /* Pass 2: the command's own options and its operands. */
    for (int i = 0; i < n_rest; i++) {
        const char *a = rest[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            int k = 0;
            while (k < CLI_MAX_OPTS && c.cmd->opts[k].name &&
                   !(strlen(c.cmd->opts[k].name) == len && strncmp(c.cmd->opts[k].name, a, len) == 0))
                k++;
            if (k == CLI_MAX_OPTS || !c.cmd->opts[k].name)
                return cli_error(&c, EXIT_USAGE, "unknown option '%.*s' (see 'fstore %s --help')",
                                 (int)len, a, c.cmd->name);
            if (c.cmd->opts[k].takes_value) {
                if (eq)
                    c.optval[k] = eq + 1;
                else if (i + 1 < n_rest)
                    c.optval[k] = rest[++i];
                else
                    return cli_error(&c, EXIT_USAGE, "option '%s' needs a value", c.cmd->opts[k].name);
            } else {
                if (eq)
                    return cli_error(&c, EXIT_USAGE, "option '%s' takes no value", c.cmd->opts[k].name);
                c.optval[k] = "";
            }
        } else if (c.argc < CLI_MAX_ARGS) {
            c.argv[c.argc++] = a;
        }
    }
    if (c.argc < c.cmd->min_args || c.argc > c.cmd->max_args) {
        cli_error(&c, EXIT_USAGE, "%s", c.argc < c.cmd->min_args ? "missing arguments" : "too many arguments");
        fprintf(stderr, "usage: fstore %s %s\n", c.cmd->name, c.cmd->args);
        return EXIT_USAGE;
    }
    if (c.cmd->needs_store) {
        char *detail = NULL;
        int rc = fs_open(c.dir, &c.store, &detail);
        if (rc != FS_OK) {
            cli_error(&c, EXIT_FAIL, "%s", detail ? detail : fs_strerror(rc));
            free(detail);
            return EXIT_FAIL;
        }
    }
    int rc = c.cmd->run(&c);
    fs_close(c.store);
    return rc;
}
