/* A columnar batch: rows of one table, as ingest produces them, the WAL
 * carries them, the in-memory head holds them and chunk files store them.
 *
 * Every row has three system fields besides the table's columns:
 *  - entity:   the entity key, its join-key values joined by ':' ("BTCUSDT:1h");
 *  - event_ts: when the row became knowable, ns since the epoch (for candles
 *              the open time + tf; the source's own timestamp column is kept
 *              as an ordinary column);
 *  - seq:      the commit sequence number that stored it (created_ts); 0
 *              until the row is committed.
 * Strings (entity keys, string and json columns) live in the batch's arena. */
#ifndef FS_BATCH_H
#define FS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/arena.h"

/* Value types of stored columns (a json column is stored as a string). */
typedef enum { FS_VT_INT64 = 0, FS_VT_FLOAT64, FS_VT_STRING, FS_VT_BOOL, FS_VT_TIMESTAMP } fs_vtype;

typedef struct {
    const char *name; /* borrowed from the schema */
    fs_vtype type;
    int64_t *i64;     /* INT64 and TIMESTAMP */
    double *f64;      /* FLOAT64 */
    uint8_t *b;       /* BOOL: 0/1 */
    const char **s;   /* STRING: arena strings, NUL-terminated */
    uint32_t *slen;   /* STRING: lengths */
    uint8_t *valid;   /* 1 present, 0 null; every value slot is still initialized (0 / "") */
} fs_column;

typedef struct {
    size_t n, cap;
    const char **entity;
    uint32_t *entity_len;
    int64_t *event_ts;
    uint64_t *seq;
    size_t ncols;
    fs_column *cols;
    fs_arena arena; /* row strings: freed by fs_batch_clear */
    fs_arena meta;  /* names and table of a deserialized batch: live until fs_batch_free */
} fs_batch;

/* A column's name and type, to create a batch with. */
typedef struct {
    const char *name;
    fs_vtype type;
} fs_colspec;

/* Creates an empty batch with these columns (names borrowed: keep them alive). */
int fs_batch_init(fs_batch *b, const fs_colspec *cols, size_t ncols);
void fs_batch_free(fs_batch *b);
/* Makes room for `rows` rows in all (no growth, hence no copy, until
 * then). FS_OK or FS_E_NOMEM. */
int fs_batch_reserve(fs_batch *b, size_t rows);
/* Drops all rows, keeps the columns and capacity. */
void fs_batch_clear(fs_batch *b);

/* Adds one row with the system fields set and every column null; the caller
 * then fills values with the setters. Returns the row index, or -1 when out
 * of memory. */
long fs_batch_add_row(fs_batch *b, const char *entity, size_t entity_len, int64_t event_ts);
void fs_batch_set_i64(fs_batch *b, size_t col, size_t row, int64_t v);
void fs_batch_set_f64(fs_batch *b, size_t col, size_t row, double v);
void fs_batch_set_bool(fs_batch *b, size_t col, size_t row, int v);
/* Copies the string into the arena; -1 when out of memory. */
int fs_batch_set_str(fs_batch *b, size_t col, size_t row, const char *s, size_t len);
/* Removes the last row (a row that failed validation half-way). */
void fs_batch_pop_row(fs_batch *b);
/* Appends row `row` of `src` (same columns) to `dst`, seq included. */
int fs_batch_copy_row(fs_batch *dst, const fs_batch *src, size_t row);
/* The same between batches with different columns: dst column c takes src
 * column map[c] (of the same type), or stays null when map[c] < 0. */
int fs_batch_copy_row_cols(fs_batch *dst, const fs_batch *src, size_t row, const int *map);

/* Appends every row of `src` (the same columns) to `dst`, seq included,
 * sharing src's strings instead of copying them: src must outlive dst's use
 * of them. A columnar copy, for views that are written out and dropped.
 * FS_OK or FS_E_NOMEM. */
int fs_batch_append_shared(fs_batch *dst, const fs_batch *src);

/* Sorts rows by (entity, event_ts, seq): the order of chunk files, where
 * an as-of lookup is a binary search and a join is a merge. Stable. */
int fs_batch_sort(fs_batch *b);

/* Index of a column by name, -1 if absent. */
int fs_batch_col(const fs_batch *b, const char *name);

/* Serializes the batch (with `table`, column names and types: the record is
 * self-describing) for a WAL record, and reads one back. The decoded batch
 * owns its names and strings (in its arena); *table points into it too.
 * Decoding validates every count and length: FS_E_CORRUPT on bad input. */
int fs_batch_serialize(const fs_batch *b, const char *table, fs_wbuf *w);
int fs_batch_deserialize(const void *data, size_t len, const char **table, fs_batch *out);

#endif
