/* Ingest parsing: CSV, JSON lines and exchange kline files -> rows of one
 * source, validated, in an fs_batch. docs/ingest.md documents the formats and
 * every validation rule for users; this header is the contract for code.
 *
 * A bad row never stops a load: it is counted and reported (line, column,
 * reason, original text) and the next row is read. Only input that is not of
 * the format at all (binary data with NUL bytes, a CSV without a header line
 * naming the source's columns, a "JSON lines" file whose first line is not an
 * object) fails the whole parse, with FS_E_PARSE, a message naming the file
 * and the reason in `err`, and every row this parse added removed again.
 *
 * Times: every row gets event_ts = the source's timestamp column + its
 * available_after (a duration, or the row's duration column: a candle opening
 * at 10:00 with tf "1h" has event_ts 11:00). The timestamp column itself is
 * stored as read.
 *
 * Two ways to call it:
 *  - fs_ingest_parse(): a whole buffer at once;
 *  - fs_ingest_begin() / fs_ingest_feed() (any number of pieces, cut
 *    anywhere, even inside a line or a quoted field) / fs_ingest_finish():
 *    a file read in pieces. Rows are appended as soon as their line is
 *    complete. A file-level failure removes every row added since begin, as
 *    long as the caller did not take them out of the batch meanwhile.
 * Neither is thread-safe on the same batch/report; separate parses are
 * independent. */
#ifndef FS_INGEST_PARSE_H
#define FS_INGEST_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/strbuf.h"
#include "registry/defs.h"
#include "storage/batch.h"

typedef enum {
    FS_FMT_CSV = 0, /* header line naming columns, then one row per line */
    FS_FMT_JSONL,   /* one JSON object per line, keys = column names */
    FS_FMT_KLINE    /* exchange kline CSV without header (candles only) */
} fs_ingest_format;

/* "csv", "jsonl", "kline"; NULL when out of range. */
const char *fs_ingest_format_name(fs_ingest_format fmt);
/* The format for its name ("csv", "jsonl" or "ndjson", "kline"; any case);
 * -1 if unknown. */
int fs_ingest_format_parse(const char *name);

/* One rejected row. Strings are NUL-terminated; `text` is the row as it was
 * in the file, without its line terminator (a quoted field may hold
 * newlines). */
typedef struct {
    uint64_t line;      /* 1-based line where the row starts */
    const char *column; /* the column at fault, or NULL for the whole row */
    const char *reason; /* "h: not a number: \"abc\"" (column first when there is one) */
    const char *text;
    size_t text_len;
} fs_ingest_reject;

/* Called for every rejected row (not capped); the pointers are valid only
 * during the call. A non-zero return aborts the parse with that status (use
 * it when writing the rejects file fails). */
typedef int (*fs_ingest_reject_fn)(void *ctx, const fs_ingest_reject *r);

typedef struct {
    const char *name;   /* file name for messages ("<input>" when NULL) */
    /* candles (or any source with such columns): every row's symbol / tf is
     * this value, whether the file has the column or not. Required for
     * FS_FMT_KLINE. Checked once: a bad value fails with FS_E_INVAL. */
    const char *symbol;
    const char *tf;
    size_t max_rows;    /* stop after this many good rows (0 = no limit) */
    int ignore_unknown; /* CSV header / JSON keys naming no column: skip instead of failing */
    size_t max_reasons; /* rejects kept in the report (0 = FS_INGEST_MAX_REASONS) */
    fs_ingest_reject_fn on_reject;
    void *reject_ctx;
} fs_ingest_options;

#define FS_INGEST_MAX_REASONS 10000

/* What a parse did. Zero-initialize it (or fs_ingest_report_init), free it
 * with fs_ingest_report_free. Several parses may add to one report. */
typedef struct {
    uint64_t rows_ok;       /* rows appended to the batch */
    uint64_t rows_rejected; /* exact, even beyond max_reasons */
    uint64_t lines;         /* lines read */
    int stopped;            /* 1 when max_rows stopped the parse early */
    fs_ingest_reject *rejects; /* the first max_reasons rejected rows */
    size_t n_rejects, cap_rejects, max_reasons;
    fs_arena arena;
} fs_ingest_report;

void fs_ingest_report_init(fs_ingest_report *rep);
void fs_ingest_report_free(fs_ingest_report *rep);

/* Writes the stored rejects as the rejects file: one line per row,
 * "LINE<TAB>REASON<TAB>original text\n". Tabs and line breaks inside the
 * reason become spaces; line breaks inside the text are written as the two
 * characters \n (or \r). Returns 0, or -1 when writing fails (errno set).
 * fs_ingest_reject_write writes one reject the same way (for on_reject). */
int fs_ingest_rejects_write(const fs_ingest_report *rep, FILE *f);
int fs_ingest_reject_write(const fs_ingest_reject *r, FILE *f);

/* Initializes `b` with the columns of `src`, in order (json -> string). */
int fs_ingest_batch_init(fs_batch *b, const fs_source_def *src);

/* Parses a whole buffer. `out` holds the source's columns in order (see
 * fs_ingest_batch_init); good rows are appended. `opt` may be NULL.
 * @return FS_OK (even when rows were rejected: see rep); FS_E_PARSE (the input
 *         is not of the format; no row added; err says why); FS_E_INVAL
 *         (bad arguments or options: the batch does not match the source,
 *         kline for a source other than candles, a bad symbol/tf option);
 *         FS_E_NOMEM; or an on_reject callback's status. */
int fs_ingest_parse(const fs_registry *reg, const fs_source_def *src, fs_ingest_format fmt,
                    const fs_ingest_options *opt, const char *data, size_t len, fs_batch *out,
                    fs_ingest_report *rep, fs_strbuf *err);

/* Streaming: the same parse, fed in pieces. `reg`, `src`, `opt` (and the
 * strings it points to), `out`, `rep` and `err` must outlive the parser.
 * fs_ingest_feed / fs_ingest_finish return as fs_ingest_parse does; after a
 * failure every later call returns the same status. fs_ingest_finish reads
 * the last line (which needs no terminator). */
typedef struct fs_ingest_parser fs_ingest_parser;
int fs_ingest_begin(fs_ingest_parser **p, const fs_registry *reg, const fs_source_def *src,
                    fs_ingest_format fmt, const fs_ingest_options *opt, fs_batch *out,
                    fs_ingest_report *rep, fs_strbuf *err);
int fs_ingest_feed(fs_ingest_parser *p, const char *data, size_t len);
int fs_ingest_finish(fs_ingest_parser *p);
void fs_ingest_parser_free(fs_ingest_parser *p);

/* Sends the rows of later lines to `out` (the same columns) instead: a large
 * file is parsed into parts that the caller writes out and reuses. Rows
 * already appended to the previous batch are the caller's from now on (a
 * later file-level failure removes only rows of `out`; the caller discards
 * the earlier parts itself). FS_OK, or FS_E_INVAL when the columns differ. */
int fs_ingest_set_output(fs_ingest_parser *p, fs_batch *out);

/* Parsing one file in two halves at once. fs_ingest_clone makes a second
 * parser in the state `p` is in between records once it has read the
 * file's header (for CSV the column map; for every format the first-line
 * checks): fed the text that starts at a record boundary after the header,
 * it produces exactly the rows `p` would, into `out` with report `rep` and
 * options `opt` (its own reject callback). NULL when `p` has not read a
 * header yet or failed, or out of memory. */
fs_ingest_parser *fs_ingest_clone(const fs_ingest_parser *p, const fs_ingest_options *opt,
                                  fs_batch *out, fs_ingest_report *rep, fs_strbuf *err);
/* Where the next text fed starts: its line number (for rejects and
 * messages) and byte offset in the file (for messages). */
void fs_ingest_set_position(fs_ingest_parser *p, uint64_t line, uint64_t bytes);
/* The line number where the next record starts, and the bytes of an
 * incomplete record held back until more text comes (0 when everything fed
 * ended at a record boundary). */
uint64_t fs_ingest_next_line(const fs_ingest_parser *p);
size_t fs_ingest_pending(const fs_ingest_parser *p);

/* 1 if `s` is a valid candles symbol: 2 to 20 characters of A-Z and 0-9. */
int fs_ingest_symbol_ok(const char *s, size_t len);

#endif
