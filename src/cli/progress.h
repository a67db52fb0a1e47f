/* A progress bar on standard error, for long commands (ingest, compute).
 * Drawn only when standard error is a terminal and the work lasts: it stays
 * hidden for the first half second, redraws at most ten times a second, and
 * erases itself when done, so logs and pipes never see it.
 * FSTORE_PROGRESS=1 forces it on (every update, kept as a line in logs),
 * FSTORE_PROGRESS=0 off. */
#ifndef FS_CLI_PROGRESS_H
#define FS_CLI_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *label; /* "ingest", "compute" */
    const char *unit;  /* what `items` counts: "rows" */
    int enabled;       /* standard error is a terminal */
    int64_t start_ns, last_draw_ns;
    int drawn;
    int forced; /* FSTORE_PROGRESS=1 */
} cli_progress;

void cli_progress_init(cli_progress *p, const char *label, const char *unit);

/* done/total in bytes or steps (total 0: unknown, no bar, only counts);
 * items: rows so far. */
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total, uint64_t items);

/* Erases the bar if it was drawn. */
void cli_progress_end(cli_progress *p);

#endif
