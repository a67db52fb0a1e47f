/* Saved computation states of one feature view, one per entity, so that the
 * next `fstore compute` resumes each entity where the last one stopped
 * instead of recomputing its history (DIR/compute/VIEW.state).
 *
 * File layout (little-endian): "FSCS", u32 format (1), u64 plan hash, u64
 * state size, u64 entity count; per entity: u32 key length, the key, i64
 * event_ts of the last row computed, u64 greatest source seq read, u64 rows
 * computed, the state bytes; then u32 CRC-32C of everything before it. The
 * file is replaced atomically after the commit of the rows it describes, so
 * a crash between the two only makes the next run recompute (never skip)
 * rows.
 *
 * A file written under another plan hash (a definition changed), of another
 * state size, or that fails its checksum loads as empty: everything is then
 * recomputed, which is always correct. */
#ifndef FS_STATE_STORE_H
#define FS_STATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

typedef struct {
    char *key;
    int64_t last_ts;   /* event_ts of the last row fed (INT64_MIN: none) */
    uint64_t last_seq; /* greatest seq of the source rows fed */
    uint64_t rows;     /* rows computed over all runs */
    unsigned char *state;
} fs_entity_state;

typedef struct {
    uint64_t hash;
    size_t state_size;
    fs_entity_state *ents; /* [0, sorted) sorted by key; puts of new keys append after */
    size_t n, cap, sorted;
    int discarded; /* the file existed but did not match: why is in `why` */
    char why[128];
} fs_state_set;

/* Loads `path` for a plan of this hash and state size. A missing file, or
 * one that does not match, gives an empty set (see `discarded`).
 * @return FS_OK; FS_E_NOMEM; FS_E_IO. */
int fs_state_load(const char *path, uint64_t hash, size_t state_size, fs_state_set *out,
                  fs_strbuf *err);

/* The entity's saved state, or NULL. */
fs_entity_state *fs_state_find(fs_state_set *s, const char *key);

/* Records the state of an entity (copying key and state), replacing any. */
int fs_state_put(fs_state_set *s, const char *key, int64_t last_ts, uint64_t last_seq,
                 uint64_t rows, const void *state);

/* Writes the set to `path` atomically (temp file, fsync, rename). */
int fs_state_save(const char *path, fs_state_set *s, fs_strbuf *err);

void fs_state_free(fs_state_set *s);

#endif
