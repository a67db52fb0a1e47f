/* A feature view's computation, compiled once from its definition: which
 * input series it reads, which indicator states and expression programs it
 * runs, in what order, and how large one entity's saved state is.
 *
 * This is pure computation, no storage: the driver (api/compute.c) reads the
 * input series of one entity from storage, aligned row by row on the
 * source's event_ts, and calls fs_view_plan_run over them in blocks of any
 * size. Batch (a whole history in one block), incremental (a later run
 * resuming from the saved state) and live (one row at a time) execute the
 * same steps in the same order, so they give bit-identical values.
 *
 * State: one contiguous block of `state_size` bytes per entity with no
 * pointers inside (every indicator state and expression state laid end to
 * end), so the driver saves it with write() and resumes it with read(). A
 * state saved under a plan with another `hash` (a definition changed) must
 * not be resumed: the driver recomputes that view from the start.
 *
 * Threads: a plan is immutable after build; any number of threads may run it
 * at once, each with its own state and scratch. */
#ifndef FS_VIEW_PLAN_H
#define FS_VIEW_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "registry/defs.h"

/* Where one input series of a plan comes from. */
typedef enum {
    FS_PLAN_IN_SOURCE = 0, /* column `column` of the view's source, this entity */
    FS_PLAN_IN_REFERENCE,  /* column `column` of the view's source for another entity:
                              this entity's key with its first join-key value replaced
                              by `reference` (correlation against BTCUSDT), at the same
                              event_ts (NaN when that entity has no row then) */
    FS_PLAN_IN_VIEW        /* feature `column` of view `view` of this entity, as of this
                              row's event_ts (the point-in-time rule with that view's TTL) */
} fs_plan_input_kind;

typedef struct {
    fs_plan_input_kind kind;
    const char *column;
    const char *reference; /* FS_PLAN_IN_REFERENCE */
    const char *view;      /* FS_PLAN_IN_VIEW */
} fs_plan_input;

typedef struct fs_view_plan fs_view_plan;
struct fs_view_plan {
    const fs_registry *reg;
    const fs_view_def *view;
    const fs_source_def *source;
    fs_plan_input *inputs; /* the series the driver supplies, in this order */
    size_t n_inputs;
    /* The computed features (indicator and expr; `from:` features are read
     * from the source and not stored again), in view order: output k of a
     * run is feature view->features[outputs[k]]. */
    size_t *outputs;
    size_t n_outputs;
    /* When the source has a confidence column: the run writes one more
     * output, out[n_outputs], the row's confidence: the minimum confidence
     * of the source rows any feature of the row may read (the row and the
     * max_lookback rows before it); NaN while that window is filling. */
    int has_confidence;
    int max_lookback;  /* rows before a row that any feature may read */
    size_t state_size; /* bytes of one entity's state */
    uint64_t hash;     /* of the view's canonical definition and what it reads */
    struct fs_plan_internal *in;
};

/* Compiles view `v` of registry `r`. Fails with a message naming the view
 * and feature for what cannot be computed (an input column of a type that is
 * not numeric, a string-valued expression).
 * @return FS_OK; FS_E_INVALID_DEF; FS_E_NOMEM. */
int fs_view_plan_build(const fs_registry *r, const fs_view_def *v, fs_view_plan **out,
                       fs_strbuf *err);
void fs_view_plan_free(fs_view_plan *p);

/* 1 when the view has anything to compute (some indicator or expr feature). */
int fs_view_needs_compute(const fs_view_def *v);

/* Initializes one entity's state (state_size bytes, aligned for double). */
void fs_view_plan_state_init(const fs_view_plan *p, void *state);

/* Scratch for runs of up to max_rows rows: one per thread, reused for every
 * entity and block; free() it. NULL when out of memory. */
void *fs_view_plan_scratch_new(const fs_view_plan *p, size_t max_rows);

/* Runs n rows (n <= the scratch's max_rows): in[i][row] is input i (NaN:
 * missing), out[k][row] receives output k (NaN: no value, e.g. warming up).
 * @return FS_OK; FS_E_INVAL. */
int fs_view_plan_run(const fs_view_plan *p, void *state, void *scratch, const double *const *in,
                     size_t n, double *const *out);

#endif
