/* The online store's hook in fs_compute: after a compute job, the online
 * views it computed are materialized (merged, newer values win) so that the
 * online store follows `fstore compute` without a separate materialize. */
#ifndef FS_ONLINE_HOOK_H
#define FS_ONLINE_HOOK_H

#include <stddef.h>

#include "fstore.h"
#include "registry/defs.h"

/* Call with s->mu held and s->engine open. A failure is reported on stderr
 * as a warning: the computed rows are stored either way, and `fstore
 * materialize` can be run again. */
void fs_online_after_compute(fs_store *s, const fs_view_def *const *views, size_t n);

#endif
