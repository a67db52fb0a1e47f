/* Diagnostics list and the "did you mean" helper shared by every loader. */
#include "core/diag.h"

#include <stdio.h>
#include <string.h>

void fs_diag_add(fs_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
    if (file && line > 0 && col > 0)
        fs_sb_printf(&d->text, "%s:%d:%d: ", file, line, col);
    else if (file && line > 0)
        fs_sb_printf(&d->text, "%s:%d: ", file, line);
    else if (file)
        fs_sb_printf(&d->text, "%s: ", file);
    va_list ap;
    va_start(ap, fmt);
    fs_sb_vprintf(&d->text, fmt, ap);
    va_end(ap);
    fs_sb_puts(&d->text, "\n");
    d->count++;
}

const char *fs_diag_str(const fs_diag *d) { return fs_sb_str(&d->text); }

void fs_diag_free(fs_diag *d)
{
    fs_sb_free(&d->text);
    d->count = 0;
}

int fs_edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN)
        la = MAXLEN;
    if (lb > MAXLEN)
        lb = MAXLEN;
    int row[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *fs_suggest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = 1 << 30;
    for (size_t i = 0; i < n; i++) {
        int dist = fs_edit_distance(word, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    int limit = strlen(word) <= 4 ? 1 : 2;
    return best && best_d <= limit ? best : NULL;
}
