/* Building a training-set file from parsed labels and a resolved spec: the
 * half of a training-set build that a rebuild repeats exactly (the other
 * half, resolving names against the registry and recording the run, is in
 * api/training.c).
 *
 * The spec is a JSON array with one object per feature column: "header"
 * (the output column name), "table" and "column" (what it reads), "ttl_ns"
 * (the view's TTL) and "keys" (the join keys of its entity, label column
 * names). Columns reading the same table with the same TTL and keys share
 * one join; labels are grouped by entity once per distinct key set.
 *
 * Output: the label columns, then the feature columns; CSV (quoted only when
 * needed, nulls empty) or JSON lines. Rows are formatted in parallel in
 * batches and written in label order through one SHA-256, to a temporary
 * file renamed into place at the end (fsynced first). */
#ifndef FS_TRAINING_BUILD_H
#define FS_TRAINING_BUILD_H

#include <jansson.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "storage/engine.h"
#include "training/labels.h"

typedef struct {
    uint64_t rows;
    char sha[65]; /* hex SHA-256 of the file */
} fs_build_result;

/* Writes `out`. When expect_sha is not NULL and the result's hash differs,
 * nothing is renamed into place and FS_E_CORRUPT is returned (a rebuild that
 * would not be identical). `oldest` (an object) receives per table the
 * oldest event_ts of any row read.
 * @return FS_OK; FS_E_CORRUPT; FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM. */
int fs_trainset_build(fs_engine *e, json_t *spec, const fs_labels *labels, uint64_t known_at,
                      int jsonl_out, int jobs, const char *out, const char *expect_sha,
                      json_t *oldest, fs_build_result *res, fs_strbuf *err);

#endif
