/* What compute.c (the job) needs of compute_view.c (one view's workers). */
#ifndef FS_COMPUTE_INTERNAL_H
#define FS_COMPUTE_INTERNAL_H

#include <stdint.h>

#include "core/strbuf.h"
#include "fstore.h"
#include "registry/defs.h"

/* Progress of a whole job, reported per entity series. */
typedef struct {
    void (*fn)(void *ctx, uint64_t done, uint64_t total, uint64_t rows);
    void *ctx;
    uint64_t entities_before, entities_total, rows_before;
} fs_compute_progress;

/* Computes view v with `jobs` threads for job `job_id`: its rows are
 * committed (table "view:NAME") and its per-entity states saved. Adds the
 * rows written and entities computed to *rows_out and *ents_out.
 * @return FS_OK; FS_E_INVALID_DEF (the view cannot be computed: err says
 *         which feature and why); FS_E_NOMEM; FS_E_IO. */
int fs_compute_view(fs_store *s, const fs_view_def *v, const fs_compute_opts *o, int jobs,
                    uint64_t job_id, const fs_compute_progress *progress, uint64_t *rows_out,
                    uint64_t *ents_out, fs_strbuf *err);

/* DIR/compute/VIEW.state (malloc'd). */
char *fs_compute_state_path(const char *dir, const char *view);

#endif
