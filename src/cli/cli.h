/* Shared pieces of the `fstore` command: parsed arguments, exit codes,
 * output helpers. Each group of subcommands lives in its own cmd_*.c. */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fstore.h"

/* Exit statuses: a fixed contract for scripts (docs/cli.md). */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_FAIL = 2, EXIT_PARTIAL = 3 };

#define CLI_MAX_OPTS 16
#define CLI_MAX_ARGS 64

/* One option a subcommand accepts. */
typedef struct {
    const char *name; /* "--category" */
    int takes_value;
} cli_optspec;

typedef struct cli cli;
typedef int (*cli_fn)(cli *c);

typedef struct {
    const char *name;
    const char *args;    /* synopsis of operands, e.g. "FILE" */
    const char *summary; /* one line for `fstore --help` */
    const char *help;    /* the rest of `fstore CMD --help` */
    cli_optspec opts[CLI_MAX_OPTS];
    int min_args, max_args;
    cli_fn run;
    int needs_store; /* open --dir before running */
} cli_command;

struct cli {
    const char *dir;
    int json;
    const cli_command *cmd;
    const char *argv[CLI_MAX_ARGS]; /* operands */
    int argc;
    const char *optval[CLI_MAX_OPTS]; /* per opts[] entry: value, "" for a flag, NULL if absent */
    fs_store *store;
    int raw_argc; /* the whole command line, for records (training runs) */
    const char *const *raw_argv;
};

/* The value of an option of the running command; NULL when not given. */
const char *cli_opt(const cli *c, const char *name);

/* Prints "fstore CMD: message" to stderr and returns `code`. */
int cli_error(const cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints a JSON text followed by a newline. */
void cli_print_json(const char *json);
/* Prints a JSON value (indented, keys in insertion order) and releases it. */
void cli_emit_json(json_t *value);

/* Renders JSON text for people: "key: value" lines, nested blocks indented. */
void cli_print_human(const char *json);

/* Parses time option `name` (ISO-8601 or epoch, docs/time.md) into *out,
 * or sets dflt when absent. Prints the error and returns -1 when bad. */
int cli_time_opt(cli *c, const char *name, int64_t dflt, int64_t *out);

/* Prints rows (a JSON array of arrays of strings) as an aligned table under
 * `header`. */
void cli_print_table(const char *const *header, size_t ncols, json_t *rows);

/* A JSON scalar as a table cell (a new string). */
json_t *cli_cell(const json_t *v);

/* Registry commands (cmd_registry.c) and data commands (cmd_data.c). */
extern const cli_command cmd_init, cmd_apply, cmd_ls, cmd_describe, cmd_version;
extern const cli_command cmd_ingest, cmd_get, cmd_history, cmd_log, cmd_compact, cmd_gc;
extern const cli_command cmd_compute, cmd_jobs; /* cmd_compute.c */
extern const cli_command cmd_training_set, cmd_runs; /* cmd_training.c */
extern const cli_command cmd_materialize, cmd_serve; /* cmd_serve.c */

#endif
