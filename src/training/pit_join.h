/* The point-in-time join of label rows against one stored table: for each
 * label (an entity key and a time t), the row DESIGN.md's rule selects: the
 * greatest event_ts <= t with seq <= known_at, event_ts >= t - ttl when
 * ttl > 0, ties on event_ts to the greatest seq (and, within a commit, the
 * row written last).
 *
 * Fast path: labels are grouped by entity (a hash of the key) and sorted by
 * time within each entity; each entity's stored rows, already in (event_ts,
 * seq) order, are read once (only the columns asked for, only the chunk
 * segments of that entity and time range) and merged with its labels, so
 * the work is linear in labels + rows of the entities asked about, with no
 * per-label search from scratch, and memory holds one entity's rows per
 * thread plus the rows selected. Entities are spread over `jobs` threads. */
#ifndef FS_PIT_JOIN_H
#define FS_PIT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "storage/engine.h"

/* Labels grouped by entity and sorted by time within each: built once and
 * shared by the joins of every table keyed the same way. */
typedef struct fs_label_groups fs_label_groups;

/* keys[i * stride]: label i's entity key (NULL: the label is skipped), so
 * a column of the labels' cells serves as it is; ts[i]: its time. The keys
 * are borrowed (keep them alive while the groups are used); the times are
 * copied.
 * @return FS_OK; FS_E_NOMEM; FS_E_INVAL (4G labels or more). */
int fs_label_groups_build(const char *const *keys, size_t stride, const int64_t *ts, size_t n,
                          fs_label_groups **out);
void fs_label_groups_free(fs_label_groups *g);

/* Where the selected rows live until the output is written: the joins
 * copy them out of what they read, so no table is held whole. */
typedef struct fs_pit_rows fs_pit_rows;
fs_pit_rows *fs_pit_rows_new(void); /* NULL when out of memory */
void fs_pit_rows_free(fs_pit_rows *k);

/* The rows one join selected, one per label of g, with the columns `cols`
 * (valid until `keep` is freed). Rows are read entity by entity straight
 * from the chunk files (fs_entity_reader), and then `rows` holds them:
 * label i's row is row i, all of its columns null when no row qualifies
 * (or its key was NULL); only its columns are set, not its system fields.
 * Only when a column changed type between commits does the join read
 * through the engine's head: then `rows` is NULL and refs[i] points into
 * the head (batch NULL when none qualifies). */
typedef struct {
    const fs_batch *rows;
    const fs_row_ref *refs;
} fs_pit_selection;

/* Joins the labels of g with `table`. When oldest_used is not NULL it
 * receives the smallest event_ts of any row selected (INT64_MAX when
 * none): what a later rebuild needs to still exist.
 * @return FS_OK; FS_E_NOMEM; a chunk file's read error. */
int fs_pit_join(fs_engine *e, const char *table, const char *const *cols, size_t ncols,
                int64_t ttl_ns, uint64_t known_at, const fs_label_groups *g, int jobs,
                fs_pit_rows *keep, fs_pit_selection *sel, int64_t *oldest_used);

/* Label i's row of a selection, as a reference (batch NULL: none). */
static inline fs_row_ref fs_pit_selected(const fs_pit_selection *sel, size_t i)
{
    return sel->rows ? (fs_row_ref){sel->rows, i} : sel->refs[i];
}

#endif
