/* Label files for training sets: CSV with a header, or JSON lines. Each row
 * has an `event_ts` (ISO-8601 or epoch s/ms/us/ns, as ingest reads times),
 * the join keys of the features' entities, and any other columns, which are
 * passed through to the output unchanged. Rows whose time does not parse or
 * whose key is missing are rejected with their line number; the rest are
 * kept in file order. */
#ifndef FS_LABELS_H
#define FS_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/strbuf.h"

typedef struct {
    char **names; /* column names, in file order (JSON lines: order of first appearance) */
    size_t ncols;
    size_t ts_col;     /* the event_ts column */
    size_t n;          /* rows kept */
    const char **cell; /* n * ncols: the text of each cell; NULL when absent or null */
    uint8_t *literal;  /* n * ncols: 1 when a JSON number or boolean (written unquoted in JSON) */
    int64_t *ts;       /* n: event_ts in ns */
    uint64_t *line;    /* n: line in the file */
    uint64_t rejected;
    char *text;        /* CSV: a copy of the file, the cells point into it */
    int plain;         /* CSV without a '"': no cell holds a comma, quote or line break */
    fs_arena arena;    /* names; JSON lines: the cells */
} fs_labels;

/* Parses `data` (the whole file). `required` names the columns every row
 * must have a value in (the join keys); a missing column fails the whole
 * file (FS_E_INVAL naming it), a missing value rejects the row. Rejected
 * rows go to `rejects` (may be NULL) as NAME:LINE<TAB>REASON.
 * @return FS_OK; FS_E_PARSE (not CSV / JSON lines at all: err says where);
 *         FS_E_INVAL (no event_ts or key column); FS_E_NOMEM. */
int fs_labels_parse(const char *name, const char *data, size_t len, int jsonl,
                    const char *const *required, size_t n_required, FILE *rejects, fs_labels *out,
                    fs_strbuf *err);

/* Index of a column, or -1. */
int fs_labels_col(const fs_labels *l, const char *name);

void fs_labels_free(fs_labels *l);

#endif
