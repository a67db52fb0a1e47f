/* The storage engine of one data directory: commits go to the write-ahead
 * log and then to an in-memory head; reads apply the point-in-time rule of
 * DESIGN.md over what is stored.
 *
 * Point-in-time rule, for entity e, time t, TTL d (0 = none) and watermark
 * known_at (FS_KNOWN_ALL = everything committed; 0 = before the first
 * commit, so nothing): among the rows of e with seq <= known_at, the one
 * with the greatest event_ts <= t, and event_ts >= t - d when d > 0 (both
 * bounds inclusive); among rows with that same event_ts, the greatest seq (a
 * correction committed later wins), and within one commit the row written
 * last. No such row: none.
 *
 * Concurrency: one writer, many readers. Rows are never modified once
 * committed, so a reader takes the read lock only while it looks rows up,
 * and pins `known_at` to see one consistent state across several reads.
 *
 * Memory: chunk files are read into memory a table at a time, at the first
 * point-in-time read of that table (fs_engine_asof, _latest, _history,
 * _scan): an engine that only commits never holds the store's older rows,
 * nor the rows of its own streamed commits, and a table nobody looks up is
 * never loaded. Direct reads (fs_entity_reader), fs_engine_entities and
 * fs_engine_table_stats read chunk files without loading them. A damaged
 * file fails the read that needs it (a negative FS_E_* status), not the
 * open. */
#ifndef FS_ENGINE_H
#define FS_ENGINE_H

#include <stdint.h>

#include "core/strbuf.h"
#include "storage/batch.h"
#include "storage/wal.h"

typedef struct fs_engine fs_engine;

/* known_at that sees every committed row. */
#define FS_KNOWN_ALL UINT64_MAX

typedef struct {
    fs_sync_policy sync; /* default FS_SYNC_ALWAYS */
    int read_only;       /* a reader: commits fail, the log is never modified */
} fs_engine_options;

/* What recovery did at open. */
typedef struct {
    uint64_t replayed_commits; /* WAL records replayed into the head */
    uint64_t last_seq;
    fs_wal_recovery wal;       /* wal.dropped_at set when a torn/corrupt tail was dropped */
} fs_engine_recovery;

/* Opens the engine of data directory `dir` (its WAL lives in DIR/wal) and
 * replays the log into the head. */
int fs_engine_open(const char *dir, const fs_engine_options *opt, fs_engine **out,
                   fs_engine_recovery *rec, fs_strbuf *err);
int fs_engine_close(fs_engine *e, fs_strbuf *err);

/* Commits `rows` to `table` as one commit: every row gets the commit's
 * sequence number, the batch is written to the WAL (durable before return
 * under FS_SYNC_ALWAYS) and added to the head. All or nothing: on failure no
 * row of the batch is stored or visible. The batch is left unchanged except
 * for its seq column. */
int fs_engine_commit(fs_engine *e, const char *table, fs_batch *rows, uint64_t *seq_out,
                     fs_strbuf *err);

/* As fs_engine_commit, but takes `rows` (a malloc'd fs_batch) instead of
 * copying it: the engine frees it, whatever the result. Ingest uses it so a
 * large file is held once, not twice. */
int fs_engine_commit_owned(fs_engine *e, const char *table, fs_batch *rows, uint64_t *seq_out,
                           fs_strbuf *err);

/* The last committed sequence number: a watermark for known_at. */
uint64_t fs_engine_last_seq(fs_engine *e);

/* A reference to one stored row. Valid while the engine is open (rows are
 * never moved or freed before close). */
typedef struct {
    const fs_batch *batch;
    size_t row;
} fs_row_ref;

/* The row of `entity` in `table` that the point-in-time rule selects.
 * Returns 1 and fills *out when there is one, 0 when none, <0 on error. */
int fs_engine_asof(fs_engine *e, const char *table, const char *entity, int64_t t, int64_t ttl_ns,
                   uint64_t known_at, fs_row_ref *out);

/* The latest row of entity (greatest event_ts, then seq) visible at known_at. */
int fs_engine_latest(fs_engine *e, const char *table, const char *entity, uint64_t known_at,
                     fs_row_ref *out);

/* Rows of entity with from <= event_ts < to, in (event_ts, seq) order, every
 * version included, visible at known_at; at most `limit` (0 = all). Calls fn
 * per row; a nonzero return stops and is returned. A chunk file that cannot
 * be read returns its FS_E_* status before any call. */
typedef int (*fs_row_fn)(void *ctx, fs_row_ref row);
int fs_engine_history(fs_engine *e, const char *table, const char *entity, int64_t from, int64_t to,
                      uint64_t known_at, size_t limit, fs_row_fn fn, void *ctx);

/* Column scans: as fs_engine_history, but fn gets runs of consecutive rows
 * of one batch (rows row0 .. row0 + n - 1 of `b`, in (event_ts, seq) order,
 * n >= 1), so a caller reads a column's array directly instead of one call
 * per row. A nonzero return stops and is returned. */
typedef int (*fs_run_fn)(void *ctx, const fs_batch *b, size_t row0, size_t n);
int fs_engine_scan(fs_engine *e, const char *table, const char *entity, int64_t from, int64_t to,
                   uint64_t known_at, fs_run_fn fn, void *ctx);

/* Direct reads: one entity's rows at a time, read straight from the chunk
 * files the engine has not loaded (only the segments of that entity, only
 * the columns asked for) and from the in-memory head, without loading the
 * table. For one-pass readers over many entities (training-set joins,
 * compute), which would otherwise hold whole tables in memory. One reader
 * per thread; several readers of one engine may run at once.
 *
 * `cols` are the columns wanted; each one's type is found in the table (a
 * column the table has nowhere reads as null, typed float64). FS_E_INVAL
 * when a column has different types in different commits (a redefinition
 * between them): read those through fs_engine_history instead. */
typedef struct fs_entity_reader fs_entity_reader;
int fs_entity_reader_open(fs_engine *e, const char *table, const char *const *cols, size_t ncols,
                          fs_entity_reader **out, fs_strbuf *err);
/* The rows of `entity` with from <= event_ts < to visible at known_at, every
 * version, in (event_ts, seq) order (rows of one commit in the order
 * written), as fs_engine_history sends them: *rows has the columns `cols`
 * in order and is valid until the next read or close. A chunk file that
 * cannot be read fails with its FS_E_* status (and a message in err). */
int fs_entity_reader_read(fs_entity_reader *r, const char *entity, int64_t from, int64_t to,
                          uint64_t known_at, const fs_batch **rows, fs_strbuf *err);
/* The row the point-in-time rule selects for `entity` at time t, with no
 * TTL: 1 with *rows (as above) and *row set, 0 when there is none, < 0 on
 * error. Reads only the chunk segments that can hold the answer (those of
 * the entity's newest rows up to t), not its whole history: for latest
 * values of many entities (materializing the online store). */
int fs_entity_reader_asof(fs_entity_reader *r, const char *entity, int64_t t, uint64_t known_at,
                          const fs_batch **rows, size_t *row, fs_strbuf *err);
/* Whether the table had column k of the reader anywhere when it was
 * opened (a column it has nowhere reads as null: this tells "absent" from
 * "null", for callers that treat an absent column differently). */
int fs_entity_reader_has_column(const fs_entity_reader *r, size_t k);
/* A batch with the reader's columns and their types (no rows before the
 * first read), to make batches of the same shape from. */
const fs_batch *fs_entity_reader_shape(const fs_entity_reader *r);
void fs_entity_reader_close(fs_entity_reader *r);

/* Calls fn for every entity key of `table` that has rows, in no particular
 * order (keys valid while the engine is open). Reads the index of chunk
 * files the engine has not loaded, not their rows. A nonzero return stops. */
int fs_engine_entities(fs_engine *e, const char *table, int (*fn)(void *ctx, const char *key),
                       void *ctx);

/* One commit, for `fstore log`. */
typedef struct {
    uint64_t seq;
    int64_t time_ns; /* when it was committed */
    const char *table;
    uint64_t rows;
} fs_commit_info;

/* Reads return a status only: this appends ": " and the message of the last
 * chunk file read that failed (which names the file and what was wrong), if
 * any, to `out`, for the caller's error message. */
void fs_engine_read_error(fs_engine *e, fs_strbuf *out);

/* Calls fn for every commit in seq order (valid during the call). */
int fs_engine_commits(fs_engine *e, int (*fn)(void *ctx, const fs_commit_info *c), void *ctx);

/* The chunk interval of a table in ns (the store answers from the registry). */
typedef int64_t (*fs_chunk_interval_fn)(void *ctx, const char *table);

/* Checkpoint: writes every row committed since the last checkpoint into
 * immutable chunk files (DIR/chunks/TABLE/START-SEQ.chunk, one per table and
 * time chunk), then replaces DIR/manifest.json atomically (checkpoint seq,
 * chunk list, commit log) and trims the WAL up to the checkpoint. A crash at
 * any step leaves either the old manifest (the WAL still holds everything;
 * stray chunk files are ignored) or the new one. Commits wait meanwhile;
 * reads go on. Returns FS_OK with nothing to do when no commit is new. */
int fs_engine_checkpoint(fs_engine *e, fs_chunk_interval_fn interval, void *ctx, fs_strbuf *err);

/* Streamed commit: one commit whose rows arrive in parts and never sit in
 * memory together (ingest of a large file). Each part is sorted and written
 * at once as chunk files that nothing names yet; fs_engine_stream_commit
 * makes them durable (fdatasync, directory fsync), then appends one WAL
 * record naming them (format 2): that record is the commit point, so the
 * commit is all or nothing. The rows become visible to reads at once (the
 * files are read into the head at the first read) and the manifest lists
 * them at the next checkpoint; take one after the commit. A crash before
 * the record leaves files that nothing names, which the writer's next open
 * deletes; fs_engine_stream_abort deletes them at once.
 *
 * begin reserves the next sequence number and holds the engine's commit
 * lock until commit or abort (other commits, checkpoints and retention
 * wait; reads go on), so call no committing function of this engine on the
 * thread that began the stream before it ends. fs_engine_stream_add may run
 * on other threads, also at once; it stamps the part's seq column
 * and leaves the batch otherwise unchanged (the caller may clear and reuse
 * it). Every part must hold the columns of the first. */
typedef struct fs_engine_stream fs_engine_stream;
int fs_engine_stream_begin(fs_engine *e, const char *table, fs_chunk_interval_fn interval, void *ctx,
                           fs_engine_stream **out, fs_strbuf *err);
int fs_engine_stream_add(fs_engine_stream *s, fs_batch *part, fs_strbuf *err);
/* The same with the part's place in the commit given: parts are read back in
 * `index` order (which decides between rows of one entity and event_ts in
 * one commit: the later part wins), whatever order they were added in, so
 * several threads may add the parts of different stretches of a file at
 * once. Each index once; fs_engine_stream_add takes the next free one. */
int fs_engine_stream_add_part(fs_engine_stream *s, fs_batch *part, unsigned index, fs_strbuf *err);
/* Removes the parts with index >= from_index (their files go): a stretch of
 * the input that must be read again. Not concurrently with adds. */
void fs_engine_stream_drop_parts(fs_engine_stream *s, unsigned from_index);

/* The start of the chunk (of the stream's table) that holds event_ts ts. */
int64_t fs_engine_stream_chunk_start(const fs_engine_stream *s, int64_t ts);

/* A part of a streamed commit whose rows are encoded as they come, for a
 * writer that produces them one entity at a time (a compute job): it keeps
 * the encoded chunks, one per chunk interval, never the rows. Rows are
 * added in (entity, event_ts) order, entities in key order, and all the
 * rows of one entity in one chunk in a single call (a call may end anywhere
 * else). fs_engine_part_finish writes the chunk files as the next part of
 * the commit (as fs_engine_stream_add) and leaves the part empty for more
 * rows. Each part is used by one thread; parts of one stream may run on
 * several. */
typedef struct fs_engine_part fs_engine_part;
int fs_engine_part_open(fs_engine_stream *s, fs_engine_part **out);
/* Adds rows first .. first + n of `rows` (their seq is set to the
 * commit's). @return FS_OK; FS_E_INVAL (out of order, outside the rules
 * above; err names the row); FS_E_NOMEM. */
int fs_engine_part_add(fs_engine_part *p, fs_batch *rows, size_t first, size_t n, fs_strbuf *err);
/* Encoded bytes held. */
size_t fs_engine_part_bytes(const fs_engine_part *p);
/* @return FS_OK; FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM (the part's files are
 * removed; its rows are dropped). */
int fs_engine_part_finish(fs_engine_part *p, fs_strbuf *err);
void fs_engine_part_free(fs_engine_part *p);
/* On FS_OK the commit is durable and visible (*seq_out its seq); on failure
 * nothing of it is stored. Frees the stream either way (committing a stream
 * without rows fails with FS_E_INVAL). */
int fs_engine_stream_commit(fs_engine_stream *s, uint64_t *seq_out, fs_strbuf *err);
/* Drops the parts written so far and frees the stream. NULL is allowed. */
void fs_engine_stream_abort(fs_engine_stream *s);

/* Retention: removes the chunks of `table` whose whole range ends at or
 * before `cutoff` from the manifest (atomically), then deletes their files.
 * Rows still in the write-ahead log are not touched: checkpoint first. The
 * head keeps the dropped rows until the engine is reopened, which the caller
 * does. Reports what went. */
int fs_engine_drop_chunks(fs_engine *e, const char *table, int64_t cutoff, uint64_t *chunks,
                          uint64_t *rows, fs_strbuf *err);

/* Compression policy (compress_after): merges the chunk files of `table`
 * whose range ends at or before `cutoff` into one file per time partition
 * (`interval` wide), recompressed as one: the many small files of streamed
 * ingests and successive checkpoints become one segment per partition, as
 * TimescaleDB's compress_chunk turns a chunk into compressed segments. The
 * merged files are durable before the manifest names them (atomically); the
 * old files are deleted after. Rows and reads are unchanged. One
 * partition is in memory at a time; the table is read into the head only
 * when a partition has files both in it and not yet read. Partitions
 * whose files have different columns are left alone. Reports partitions
 * merged and files removed. */
int fs_engine_compact_chunks(fs_engine *e, const char *table, int64_t cutoff,
                             fs_chunk_interval_fn interval, void *ctx, uint64_t *merged,
                             uint64_t *files_removed, fs_strbuf *err);

/* Rows committed since the last checkpoint (to decide when to take one). */
uint64_t fs_engine_rows_since_checkpoint(fs_engine *e);

/* Chunk files of a table, for describe. */
typedef struct {
    uint64_t chunks, rows, file_bytes, raw_bytes;
} fs_table_storage;
int fs_engine_table_storage(fs_engine *e, const char *table, fs_table_storage *out);

/* Per-table counts for describe. */
typedef struct {
    uint64_t rows, entities;
    int64_t min_event_ts, max_event_ts;
} fs_table_stats;
int fs_engine_table_stats(fs_engine *e, const char *table, fs_table_stats *out);

#endif
