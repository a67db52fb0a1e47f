/* The point-in-time join of label rows against one stored table: for each
 * label (an entity key and a time t), the row DESIGN.md's rule selects: the
 * greatest event_ts <= t with seq <= known_at, event_ts >= t - ttl when
 * ttl > 0, ties on event_ts to the greatest seq (and, within a commit, the
 * row written last).
 *
 * Fast path: labels are grouped by entity (a hash of the key) and sorted by
 * time within each entity; each entity's stored rows, already in (event_ts,
 * seq) order, are read once and merged with its labels, so the work is
 * linear in labels + rows of the entities asked about, with no per-label
 * search from scratch. Entities are spread over `jobs` threads. */
#ifndef FS_PIT_JOIN_H
#define FS_PIT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "storage/engine.h"

/* Labels grouped by entity and sorted by time within each: built once and
 * shared by the joins of every table keyed the same way. */
typedef struct fs_label_groups fs_label_groups;

/* keys[i]: label i's entity key (NULL: the label is skipped); ts[i]: its
 * time. Both are borrowed: keep them alive while the groups are used.
 * @return FS_OK; FS_E_NOMEM. */
int fs_label_groups_build(const char *const *keys, const int64_t *ts, size_t n,
                          fs_label_groups **out);
void fs_label_groups_free(fs_label_groups *g);

/* out[i] (one per label of g) receives the row the rule selects for label i,
 * or batch NULL when none qualifies (or its key was NULL). When oldest_used
 * is not NULL it receives the smallest event_ts of any row selected
 * (INT64_MAX when none): what a later rebuild needs to still exist.
 * @return FS_OK; FS_E_NOMEM. */
int fs_pit_join(fs_engine *e, const char *table, int64_t ttl_ns, uint64_t known_at,
                const fs_label_groups *g, int jobs, fs_row_ref *out, int64_t *oldest_used);

#endif
