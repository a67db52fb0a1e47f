/* The write-ahead log: an append-only sequence of records, each with a
 * sequence number and a CRC, in segment files under one directory. A write is
 * acknowledged only once its record is durable (by the sync policy), so a
 * killed process or a power cut loses no acknowledged write; recovery drops
 * a torn or corrupt tail and keeps everything before it.
 *
 * Sync policies (the trade-off is latency against the window of loss):
 *  - FS_SYNC_ALWAYS (default): append returns after fdatasync of its record.
 *    Concurrent appenders share one fdatasync (group commit): the first to
 *    find no sync in progress syncs everything written so far for all.
 *  - FS_SYNC_BATCH: append returns after write(); a sync runs once
 *    `batch_bytes` have accumulated or on fs_wal_sync(). A crash may lose the
 *    unsynced batch, never the records before it.
 *  - FS_SYNC_OFF: the kernel decides (bulk loads); fs_wal_sync() and close
 *    still sync. A crash may lose any record since the last sync.
 *
 * Thread safety: one fs_wal may be used by many threads; appends are
 * serialized, syncs are shared. One process at a time owns a WAL directory
 * (the store's lock guarantees it). */
#ifndef FS_WAL_H
#define FS_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

typedef enum { FS_SYNC_ALWAYS = 0, FS_SYNC_BATCH, FS_SYNC_OFF } fs_sync_policy;

typedef struct {
    fs_sync_policy policy;
    size_t batch_bytes;   /* FS_SYNC_BATCH: sync after this many bytes (default 1 MiB) */
    size_t segment_bytes; /* start a new segment file past this size (default 64 MiB) */
    int read_only;        /* scan and replay only: nothing is created, truncated or appended,
                             so a reader may open a log another process writes */
} fs_wal_options;

/* What opening found. */
typedef struct {
    uint64_t last_seq;      /* highest valid record (0: none) */
    uint64_t records;       /* valid records found */
    uint64_t dropped_bytes; /* bytes of torn/corrupt tail removed */
    char dropped_at[256];   /* "FILE at offset N: reason" when something was dropped */
} fs_wal_recovery;

typedef struct fs_wal fs_wal;

/* Opens (creating if needed) the WAL in `dir`, scans every segment, verifies
 * every record's CRC and truncates the first bad record and everything after
 * it (a torn write at the crash point, or corruption, which the caller should
 * warn about: `rec->dropped_at` names it). Sequence numbers continue after
 * the last valid one. opts may be NULL for the defaults. */
int fs_wal_open(const char *dir, const fs_wal_options *opts, fs_wal **out, fs_wal_recovery *rec,
                fs_strbuf *err);

/* Appends one record; *seq_out receives its sequence number (consecutive from
 * 1). Returns when the record is durable under FS_SYNC_ALWAYS. On failure
 * (FS_E_NOSPACE for a full disk or file-size limit, FS_E_IO) the segment is
 * cut back to before the record: nothing of it remains, and the WAL stays
 * usable. Payloads are at most 4 GiB - 1 (the length field is 32 bits). */
int fs_wal_append(fs_wal *w, const void *payload, size_t len, uint64_t *seq_out, fs_strbuf *err);

/* Makes every appended record durable (group commit with concurrent callers). */
int fs_wal_sync(fs_wal *w, fs_strbuf *err);

/* Calls fn for each valid record with seq > after_seq, in order. A nonzero
 * return from fn stops the replay and is returned. The payload pointer is
 * valid only during the call. */
typedef int (*fs_wal_fn)(void *ctx, uint64_t seq, const void *payload, size_t len);
int fs_wal_replay(fs_wal *w, uint64_t after_seq, fs_wal_fn fn, void *ctx, fs_strbuf *err);

/* Deletes whole segments whose records all have seq <= upto (after a
 * checkpoint has made them redundant). When upto covers every record, the
 * log first switches to a new empty segment, so nothing redundant is kept. */
int fs_wal_trim(fs_wal *w, uint64_t upto, fs_strbuf *err);

/* Sequence number of the first record the log still holds (after trims);
 * last_seq + 1 when it holds none. */
uint64_t fs_wal_first_seq(fs_wal *w);

/* Sequence number of the last appended record, and of the last durable one. */
uint64_t fs_wal_last_seq(fs_wal *w);
uint64_t fs_wal_durable_seq(fs_wal *w);
/* Number of fdatasync calls made (for tests of group commit). */
uint64_t fs_wal_sync_count(fs_wal *w);

/* Syncs and closes. NULL is allowed. */
int fs_wal_close(fs_wal *w, fs_strbuf *err);

#endif
