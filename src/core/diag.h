/* Diagnostics: a list of error messages that each name their place
 * ("file:line:column: message"). Loaders report every problem they find
 * into one fs_diag instead of stopping at the first. */
#ifndef FS_DIAG_H
#define FS_DIAG_H

#include "core/strbuf.h"

typedef struct {
    fs_strbuf text;   /* messages, one per line */
    int count;
    int parse_errors; /* of count, those where the text was not even well-formed */
} fs_diag;

/* Adds "file:line:col: message". line/col are 1-based; 0 omits them. */
void fs_diag_add(fs_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
const char *fs_diag_str(const fs_diag *d);
void fs_diag_free(fs_diag *d);

/* Edit distance (Levenshtein) between two strings, capped at 64 characters;
 * used for "did you mean" hints. */
int fs_edit_distance(const char *a, const char *b);
/* The candidate closest to `word`, if close enough to be a plausible typo
 * (distance <= 2, or <= 1 for short words); NULL otherwise. */
const char *fs_suggest(const char *word, const char *const *candidates, size_t n);

#endif
