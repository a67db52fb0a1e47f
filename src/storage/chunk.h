/* Immutable columnar chunk files (format version 1): the rows of one table
 * whose event_ts falls in [start, end), grouped by entity and sorted by
 * (event_ts, seq) inside each entity, compressed per column and per block.
 * The layout, field by field, is at the top of chunk.c and in
 * docs/storage-format.md ("Chunk files").
 *
 * Lifecycle: fs_chunk_write() creates a file once (atomically: temp file,
 * fsync, rename, fsync of the directory) and nothing ever modifies it again;
 * fs_chunk_open() maps it read-only and checks its header and footer index;
 * fs_chunk_read_entity() decodes one entity's segment (one contiguous byte
 * range) after checking the CRC-32C of every block in it; fs_chunk_close()
 * unmaps it.
 *
 * Errors: FS_E_INVAL (bad arguments, unsorted rows, a batch whose columns do
 * not match), FS_E_CORRUPT (any checksum or consistency failure: corrupt
 * data is reported, never returned), FS_E_VERSION (written by a newer
 * fstore), FS_E_IO / FS_E_NOSPACE / FS_E_NOTFOUND (the file system),
 * FS_E_NOMEM. Every failure appends a message naming the file (and, for data
 * blocks, the entity and column) to `err`, which may be NULL.
 *
 * Thread safety: an open fs_chunk is read-only; several threads may call the
 * read functions on it at once, each with its own output batch. */
#ifndef FS_CHUNK_H
#define FS_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "storage/batch.h"

/* Format version written by this build; files with a larger one are refused
 * with FS_E_VERSION. */
#define FS_CHUNK_VERSION 2

/* What a chunk holds, besides its rows. */
typedef struct {
    const char *table; /* table name (borrowed; in a read chunk, owned by it) */
    int64_t start;     /* event_ts range [start, end) that the chunk covers */
    int64_t end;
    uint64_t max_seq;  /* highest commit sequence number included */
} fs_chunk_meta;

/* Writes `rows` (sorted by (entity, event_ts, seq), every event_ts in
 * [meta->start, meta->end), every seq <= meta->max_seq) as a chunk file at
 * `path`, replacing it atomically. An empty batch writes a valid chunk with
 * no entities.
 * @return FS_OK; FS_E_INVAL (rows unsorted or out of the range, a column
 *         count or string longer than the format allows); FS_E_IO;
 *         FS_E_NOSPACE (nothing half-written); FS_E_NOMEM. */
int fs_chunk_write(const char *path, const fs_batch *rows, const fs_chunk_meta *meta,
                   fs_strbuf *err);

/* Sizes, for compression-ratio reporting. raw_bytes estimates the rows
 * uncompressed: per row the entity key length, 8 for event_ts, 8 for seq,
 * 8 per int64/float64/timestamp cell, 1 per bool cell and the byte length of
 * each string cell (nulls count as their type's width, strings as 0). */
typedef struct {
    uint64_t file_bytes;
    uint64_t raw_bytes;
    uint64_t rows;
    uint64_t entities;
} fs_chunk_stats;

/* fs_chunk_write_rows flag: write `path` directly (no temp file, no rename,
 * no fsync). For files that nothing names yet (the parts of a streamed
 * commit): the caller makes them durable (fdatasync, then the directory)
 * before anything refers to them. A failure removes the partial file. */
#define FS_CHUNK_NO_SYNC 1

/* As fs_chunk_write, for the rows idx[0..n) of `rows` in that order (idx
 * NULL: rows 0..n), so a caller writes a sorted selection without copying
 * it. `stats` (may be NULL) receives the file's sizes. */
int fs_chunk_write_rows(const char *path, const fs_batch *rows, const uint32_t *idx, size_t n,
                        const fs_chunk_meta *meta, int flags, fs_chunk_stats *stats,
                        fs_strbuf *err);

/* A chunk file written piece by piece: rows are checked and encoded as they
 * are added, so a caller that produces them one entity at a time (a compute
 * job) keeps only the encoded bytes, never all the rows of the file.
 * fs_chunk_write_rows is new + one add + write. */
typedef struct fs_chunk_builder fs_chunk_builder;
/* A builder for a chunk of `meta` (table, range and max_seq; copied) with
 * these columns (copied). `label` (the path, or NULL for the table) names it
 * in messages. @return FS_OK; FS_E_INVAL (empty range, a bad column);
 * FS_E_NOMEM. */
int fs_chunk_builder_new(const char *label, const fs_chunk_meta *meta, const fs_colspec *cols,
                         size_t ncols, fs_chunk_builder **out, fs_strbuf *err);
/* Adds rows first .. first + n of `rows`: the chunk's columns, sorted by
 * (entity, event_ts, seq), inside the range, seq <= max_seq, and every
 * entity after (in key order) those already added. Each entity becomes one
 * segment. @return FS_OK; FS_E_INVAL (naming the first bad row; nothing of
 * these rows is added); FS_E_NOMEM. */
int fs_chunk_builder_add(fs_chunk_builder *b, const fs_batch *rows, size_t first, size_t n,
                         fs_strbuf *err);
/* Rows added, and bytes encoded so far. */
uint64_t fs_chunk_builder_rows(const fs_chunk_builder *b);
size_t fs_chunk_builder_bytes(const fs_chunk_builder *b);
/* Writes the file of a builder not bound to one (flags: 0 or
 * FS_CHUNK_NO_SYNC, as fs_chunk_write_rows); `stats` (may be NULL) receives
 * its sizes. The builder is unchanged and still to be freed. */
int fs_chunk_builder_write(fs_chunk_builder *b, const char *path, int flags, fs_chunk_stats *stats,
                           fs_strbuf *err);
/* Binds a builder that has no rows yet to the file `path`, created now:
 * from then on the builder appends its bytes to the file as they pile up
 * (it holds at most about half a MiB besides one add's rows), and
 * fs_chunk_builder_finish ends the file (as FS_CHUNK_NO_SYNC: the caller
 * makes it durable). Freed unfinished, it removes the file.
 * @return FS_OK; FS_E_INVAL (rows already added); FS_E_IO; FS_E_NOSPACE. */
int fs_chunk_builder_stream_to(fs_chunk_builder *b, const char *path, fs_strbuf *err);
/* Writes the rest of a bound builder's file, its index and its header.
 * @return FS_OK; FS_E_INVAL (not bound); FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM. */
int fs_chunk_builder_finish(fs_chunk_builder *b, fs_chunk_stats *stats, fs_strbuf *err);
void fs_chunk_builder_free(fs_chunk_builder *b);

/* Exact byte counts that the DOD, FOR and GORILLA codecs would write for
 * these values: the writer picks a block's codec from them and encodes only
 * the winner. Exported for the tests that hold them to the encoders. */
size_t fs_chunk_dod_size(const int64_t *v, size_t n);
size_t fs_chunk_for_size(const int64_t *v, size_t n);
size_t fs_chunk_gorilla_size(const double *v, size_t n);

typedef struct fs_chunk fs_chunk;

/* Opens and checks a chunk file: both magics, the version, the header CRC,
 * the footer CRC and the consistency of the entity index (sorted keys,
 * segments inside the file, row counts adding up). Data blocks are checked
 * when read. On success *out owns the mapping until fs_chunk_close().
 * @return FS_OK; FS_E_NOTFOUND; FS_E_IO; FS_E_CORRUPT; FS_E_VERSION;
 *         FS_E_NOMEM. */
int fs_chunk_open(const char *path, fs_chunk **out, fs_strbuf *err);
/* Unmaps and frees; NULL is allowed. Pointers obtained from the chunk
 * (meta, columns, entity keys) die with it. */
void fs_chunk_close(fs_chunk *c);
/* Closes n chunks at once (NULLs allowed): mappings that lie next to each
 * other are unmapped in one call. Each unmapping of pages a read touched
 * costs a TLB flush on every core the process ran on; closing a store of
 * thousands of files one by one took 0.2 s. */
void fs_chunk_close_many(fs_chunk **cs, size_t n);

/* Table name, range and max seq (pointers owned by the chunk). */
const fs_chunk_meta *fs_chunk_get_meta(const fs_chunk *c);
const char *fs_chunk_path(const fs_chunk *c);
uint64_t fs_chunk_row_count(const fs_chunk *c);
/* The chunk's columns, in file order: pass them to fs_batch_init() to make a
 * batch that fs_chunk_read_entity() accepts. Owned by the chunk. */
const fs_colspec *fs_chunk_columns(const fs_chunk *c, size_t *ncols);

/* One entry of the footer index. */
typedef struct {
    const char *key;  /* entity key, NUL-terminated (owned by the chunk) */
    uint32_t key_len;
    uint64_t rows;
    int64_t min_ts, max_ts; /* event_ts of the first and last row */
    uint64_t max_seq;       /* highest seq among the entity's rows */
    uint64_t seg_offset;    /* where its segment lies in the file, and its size */
    uint64_t seg_bytes;
} fs_chunk_entity;

size_t fs_chunk_entity_count(const fs_chunk *c);
/* Entry idx in [0, fs_chunk_entity_count()), in key order; NULL when out of
 * range. */
const fs_chunk_entity *fs_chunk_entity_at(const fs_chunk *c, size_t idx);
/* Index of the entity with this key (binary search on the sorted index),
 * -1 when the chunk has none. */
int fs_chunk_find_entity(fs_chunk *c, const char *key, size_t len);

/* Appends the rows of entity `idx` to `out`, whose columns must have the
 * chunk's names and types in the same order (else FS_E_INVAL). Every block of
 * the segment is checked against its CRC-32C, and decoded and validated, before
 * the first row is appended: on any failure `out` is left as it was.
 * Null cells come back null with the batch's zero value in the slot.
 * @return FS_OK; FS_E_INVAL; FS_E_CORRUPT ("PATH: entity E, column C:
 *         checksum mismatch", or the check that failed); FS_E_NOMEM. */
int fs_chunk_read_entity(fs_chunk *c, int idx, fs_batch *out, fs_strbuf *err);
/* Index of the chunk's column `name` (and its type in *type, which may be
 * NULL), -1 when the chunk has none. */
int fs_chunk_column_index(const fs_chunk *c, const char *name, fs_vtype *type);

/* As fs_chunk_read_entity, into a batch with other columns: column k of
 * `out` takes the chunk's column map[k] (its type must be the same, else
 * FS_E_INVAL), or comes back null when map[k] < 0. Only the blocks read are
 * checked: event_ts, seq and the mapped columns. For readers that want a
 * few columns of a wide table. */
int fs_chunk_read_entity_cols(fs_chunk *c, int idx, const int *map, fs_batch *out, fs_strbuf *err);

/* Appends every entity's rows, in file order (so `out` comes back sorted when
 * it was empty). On failure the rows of the entities read before the bad
 * one stay in `out`. */
int fs_chunk_read_all(fs_chunk *c, fs_batch *out, fs_strbuf *err);

void fs_chunk_get_stats(const fs_chunk *c, fs_chunk_stats *out);

#endif
