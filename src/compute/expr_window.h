/* expr_window.h — the window functions of the expression evaluator
 * (internal to expr_eval.c; expr_eval.h documents their semantics).
 *
 * Each window function node owns one region of the entity's state: an
 * fs_expr_wstate followed, except for ewm, by a ring of `window` doubles.
 * Every field has a fixed width, so the layout does not depend on the
 * platform's size_t. */
#ifndef FS_EXPR_WINDOW_H
#define FS_EXPR_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "compute/expr.h"

typedef struct {
    uint64_t pos;   /* ring: index of the oldest value, the next to be overwritten */
    uint64_t nnull; /* ring: how many of its values are null (all of them at first) */
    uint64_t seen;  /* ewm: non-null values taken during the warm-up, up to window */
    double acc;     /* ewm: the sum of those values during the warm-up, then the average */
} fs_expr_wstate;

/* Bytes of the state of window function `fn` over `window` rows; 0 if it
 * would not fit a size_t. */
size_t fs_expr_window_state_size(fs_expr_fn fn, uint32_t window);

/* An empty history. */
void fs_expr_window_init(fs_expr_fn fn, uint32_t window, void *state);

/* 0 if the state's fields are in range (a damaged saved state must not make
 * the evaluator read outside it), -1 otherwise. */
int fs_expr_window_valid(fs_expr_fn fn, uint32_t window, const void *state);

/* Advances the state by n rows of x, writing the function's values to out
 * (which does not overlap x). alpha: ewm's smoothing factor. */
void fs_expr_window_run(fs_expr_fn fn, uint32_t window, double alpha, void *state, const double *x,
                        double *out, size_t n);

#endif
