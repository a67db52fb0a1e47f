/* `fstore training-set --labels signals`: the rows of the built-in signals
 * source that match the filters (model_id, symbol, tf, time range), as
 * stored by the watermark, written as a CSV label file in memory: event_ts,
 * then the source's columns, ordered by time (then by the row's text, so the
 * order never depends on storage). The run keeps that text as its labels, so
 * a rebuild never reads the table again. */
#ifndef FS_TRAINING_SIGNALS_H
#define FS_TRAINING_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "fstore.h"
#include "registry/defs.h"
#include "storage/engine.h"

/* *data (malloc'd, *len bytes) receives the CSV.
 * @return FS_OK; FS_E_NOTFOUND (no signals source); FS_E_NOMEM. */
int fs_signals_as_labels(fs_engine *e, const fs_source_def *signals, const fs_training_opts *o,
                         uint64_t known_at, char **data, size_t *len, fs_strbuf *err);

#endif
