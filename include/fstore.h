/* fstore.h — the public C API of fstore, a point-in-time feature store for
 * time-series machine learning. This header is the manual: every call lists
 * what it returns, who owns what, and what may be called from which thread.
 *
 * Conventions (they hold for every call below unless its comment says otherwise)
 *  - Handles are opaque. Every fallible call returns an int status: FS_OK (0)
 *    or a negative FS_E_* code; outputs come last and are written only on
 *    success.
 *  - fs_strerror(code) gives "FS_E_NAME: sentence". The handle also keeps a
 *    detail message for its last failure (fs_errmsg), which names the place:
 *    file:line:column, a field, an entity. A failure that found several
 *    problems (a YAML file with many mistakes) lists all of them, one per line.
 *  - Memory the library returns to the caller is freed with fs_free() unless
 *    the call says the memory is borrowed; borrowed memory stays valid until the
 *    next call on the same handle, and must not be modified or freed.
 *  - Thread safety: an fs_store handle may be shared between threads; calls on
 *    one handle are serialized internally. fs_errmsg() then reports the last
 *    failure of any thread: use one handle per thread when the detail matters.
 *    fs_strerror() and fs_version() are safe from any thread at any time.
 */
#ifndef FSTORE_H
#define FSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FSTORE_VERSION "0.1.0"

/* Status codes. Library errors live in their own negative band so that
 * positive errno values can never be mistaken for them. */
enum {
    FS_OK = 0,
    FS_E_INVAL = -30001,    /* an argument is invalid (NULL, out of range, malformed) */
    FS_E_NOMEM = -30002,    /* out of memory */
    FS_E_IO = -30003,       /* an operating-system I/O call failed (detail names the file) */
    FS_E_NOTFOUND = -30004, /* the named object does not exist */
    FS_E_PARSE = -30005,    /* input could not be parsed (detail names file:line:column) */
    FS_E_INVALID_DEF = -30006, /* definitions parsed but are inconsistent (detail lists each) */
    FS_E_BUSY = -30007,     /* another process holds the lock on the data directory */
    FS_E_CORRUPT = -30008,  /* stored data failed a consistency check */
    FS_E_EXISTS = -30009,   /* the object already exists */
    FS_E_NOSPACE = -30010,  /* the disk or a size limit is full; nothing was half-written */
    FS_E_VERSION = -30011,  /* stored data has a format version this build cannot read */
    FS_E_NOTDIR = -30012,   /* the path is not an initialized fstore data directory */
    FS_E_AMBIGUOUS = -30013, /* a name matches more than one object; qualify it by kind */
    FS_E_PARTIAL = -30014    /* part of a job failed (detail says what); the rest was stored */
};

/* "FS_E_NAME: sentence" for a status code; for an unknown code a generic text.
 * The returned string is static. Thread-safe. */
const char *fs_strerror(int code);

/* The library version, FSTORE_VERSION of the build. Static string. */
const char *fs_version(void);

/* Frees any memory this API handed to the caller. NULL is allowed. */
void fs_free(void *ptr);

/* ---------------------------------------------------------------------------
 * Data directory
 * ------------------------------------------------------------------------- */

typedef struct fs_store fs_store;

/* Creates an fstore data directory at `dir` (and its parents) holding an empty
 * catalog with the built-in definitions (entities `market` and `signal`,
 * sources `candles`, `signals`, `retrain_queue`). Initializing a directory that is already an
 * fstore data directory changes nothing and returns FS_OK, so scripts can call
 * it unconditionally.
 * @param[in] dir      path of the data directory
 * @param[out] detail  optional: on failure receives a message naming the path,
 *                     to be freed with fs_free(); may be NULL
 * @return FS_OK; FS_E_IO (cannot create or write); FS_E_NOTDIR (`dir` exists,
 *         is not empty and is not an fstore directory); FS_E_INVAL. */
int fs_init(const char *dir, char **detail);

/* Opens the data directory `dir`, which fs_init() created.
 * On success *out is a handle to close with fs_close(). On failure *out is
 * set to NULL and, when `detail` is non-NULL, *detail receives a message to
 * free with fs_free().
 * @return FS_OK; FS_E_NOTDIR (not initialized); FS_E_VERSION (written by a newer
 *         fstore); FS_E_CORRUPT (catalog unreadable); FS_E_IO; FS_E_NOMEM. */
int fs_open(const char *dir, fs_store **out, char **detail);

/* Closes a handle. NULL is allowed. Borrowed memory from the handle becomes
 * invalid. Not to be called while another thread uses the handle. */
void fs_close(fs_store *store);

/* The detail message of the last failed call on this handle ("" if none).
 * Borrowed: valid until the next call on the handle. */
const char *fs_errmsg(const fs_store *store);

/* The data directory path the handle was opened with. Borrowed. */
const char *fs_dir(const fs_store *store);

/* ---------------------------------------------------------------------------
 * Registry: definitions from YAML, versioned in the catalog
 * ------------------------------------------------------------------------- */

/* Definition kinds. A feature's name is "view:feature". */
typedef enum {
    FS_KIND_ENTITY = 0,
    FS_KIND_SOURCE,
    FS_KIND_VIEW,
    FS_KIND_FEATURE,
    FS_KIND_SERVICE,
    FS_KIND_CONTRACT,
    FS_KIND_COUNT
} fs_kind;

/* "entity", "source", "view", "feature", "service", "contract"; NULL if out of range. */
const char *fs_kind_name(fs_kind kind);
/* The kind for its name (as above, or plural); -1 if unknown. */
int fs_kind_parse(const char *name);

/* What one apply did (or, with FS_APPLY_DRY_RUN, would do). */
typedef enum { FS_CHANGE_ADDED = 0, FS_CHANGE_CHANGED, FS_CHANGE_REMOVED, FS_CHANGE_UNCHANGED } fs_change;

typedef struct {
    fs_kind kind;
    fs_change change;
    const char *name;
    int version; /* the version after the apply; for a removal, the last version */
} fs_apply_item;

typedef struct {
    size_t count[4];      /* indexed by fs_change */
    size_t n_items;       /* every definition in the file and every one removed, sorted by kind then name */
    fs_apply_item *items;
    int64_t generation;   /* catalog generation after the apply (unchanged if nothing changed) */
} fs_apply_report;

#define FS_APPLY_DRY_RUN 1u /* validate and diff, write nothing */

/* Applies a YAML definitions file: the file is the whole desired registry, so
 * definitions in the catalog but not in the file are removed (built-ins
 * excepted). Everything is validated before anything changes: on any error the
 * catalog is left exactly as it was and fs_errmsg() lists every error found,
 * one per line, as "file:line:column: message". Each added or changed
 * definition gets a new version and its previous version is kept in its
 * history; applying the same file twice changes nothing the second time.
 * Concurrent applies from several processes are serialized by a lock on the
 * data directory: a second apply waits up to `lock_wait_ms` and then fails with
 * FS_E_BUSY. The catalog is replaced atomically (temp file, fsync, rename,
 * fsync of the directory): a crash leaves either the old or the new one.
 * @param[in] path   the YAML file ("-" is not accepted; read it yourself and
 *                   use fs_apply_text)
 * @param[out] out   the report, freed with fs_apply_report_free(); may be NULL
 * @return FS_OK; FS_E_PARSE (YAML syntax); FS_E_INVALID_DEF (definitions
 *         inconsistent); FS_E_BUSY; FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM. */
int fs_apply_file(fs_store *store, const char *path, unsigned flags, int lock_wait_ms,
                  fs_apply_report **out);

/* As fs_apply_file, for YAML text in memory; `name` is used in messages. */
int fs_apply_text(fs_store *store, const char *name, const char *text, size_t len,
                  unsigned flags, int lock_wait_ms, fs_apply_report **out);

void fs_apply_report_free(fs_apply_report *report);

/* One row of a listing. */
typedef struct {
    fs_kind kind;
    const char *name;        /* "view:feature" for features */
    int version;
    const char *category;    /* features: category; others: "" */
    const char *type;        /* features: type; sources: "built-in" or ""; others: "" */
    const char *description;
} fs_def_info;

typedef struct {
    int kind;                /* an fs_kind, or -1 for all kinds */
    const char *category;    /* NULL for any; features only when set */
    const char *tag;         /* NULL for any: definitions carrying this tag */
} fs_list_filter;

/* Lists current definitions matching `filter` (NULL: all), sorted by kind then
 * name. *out is one allocation holding the array and its strings: free it with
 * fs_free(). */
int fs_list(fs_store *store, const fs_list_filter *filter, fs_def_info **out, size_t *n);

/* Describes one definition as JSON text: its fields, version, history of
 * earlier versions and, for views and features, the definitions it depends on
 * and those depending on it. `name` is a definition name, "view:feature", or
 * "KIND/NAME" to choose between definitions of different kinds sharing a name.
 * *json is freed with fs_free().
 * @return FS_OK; FS_E_NOTFOUND; FS_E_AMBIGUOUS (detail lists the kinds). */
int fs_describe(fs_store *store, const char *name, char **json);

/* The whole current registry as JSON text (what GET /registry serves). */
int fs_registry_json(fs_store *store, char **json);

/* ---------------------------------------------------------------------------
 * Data: ingest and point-in-time reads (embedded storage engine)
 * ------------------------------------------------------------------------- */

/* Times are int64 nanoseconds since the Unix epoch, UTC. */
#define FS_TIME_LATEST INT64_MAX  /* "now": the latest value */
#define FS_KNOWN_ALL_COMMITS UINT64_MAX /* known_at that sees every commit */

typedef struct {
    const char *format;       /* "csv" (default), "jsonl" or "kline" (docs/ingest.md) */
    const char *symbol, *tf;  /* candles: every row's symbol / tf (required for kline) */
    const char *rejects_path; /* write rejected rows here, one per line; NULL: don't */
    int lock_wait_ms;         /* wait this long for another writer (0: fail at once) */
    /* Called after each piece of input is parsed (about every MiB) and once
     * more at the end: bytes read so far, the input's size (0 when unknown,
     * e.g. a pipe) and rows accepted so far. Called on the ingesting thread,
     * with the store's lock held: it must not call back into the store. */
    void (*progress)(void *ctx, uint64_t bytes_done, uint64_t bytes_total, uint64_t rows);
    void *progress_ctx;
} fs_ingest_opts;

typedef struct {
    uint64_t seq;           /* the commit's sequence number (0 when nothing was stored) */
    uint64_t rows_ok;       /* rows stored */
    uint64_t rows_rejected; /* rows rejected (see the rejects file) */
} fs_ingest_result;

/* Ingests a file ("-" for standard input) into source `source` as ONE commit:
 * its good rows become visible together, durable before the call returns.
 * Bad rows do not stop the load: they are counted, and written to
 * opts->rejects_path with their line number and reason; the call still
 * returns FS_OK (check rows_rejected). A file that is not of the format at
 * all stores nothing and returns FS_E_PARSE. The handle becomes the data
 * directory's writer (an exclusive lock held until fs_close): a second
 * writer waits lock_wait_ms, then gets FS_E_BUSY. Full disk: FS_E_NOSPACE,
 * nothing of the commit stored.
 * @return FS_OK; FS_E_NOTFOUND (no such source); FS_E_PARSE; FS_E_INVAL
 *         (bad options, e.g. kline without symbol/tf); FS_E_BUSY; FS_E_IO;
 *         FS_E_NOSPACE; FS_E_NOMEM. */
int fs_ingest_file(fs_store *store, const char *source, const char *path, const fs_ingest_opts *opts,
                   fs_ingest_result *result);

/* Feature values of one entity ("BTCUSDT:1h": join-key values joined by ':')
 * at time `at` (FS_TIME_LATEST for the latest) under the point-in-time rule
 * of DESIGN.md: the row with the greatest event_ts <= at, not older than the
 * view's TTL, stored at or before `known_at` (a commit sequence number, or
 * FS_KNOWN_ALL_COMMITS). `features` are "view:feature", or "view" for all of
 * its features. *json (free with
 * fs_free) is {"entity", "at", "known_at", "features": [{"feature", "value",
 * "event_ts", "seq", "status"}]} with status PRESENT, NOT_FOUND, NULL_VALUE,
 * OUTSIDE_MAX_AGE (at FS_TIME_LATEST: the newest value is returned but is
 * older than the view's TTL, measured from now) or NOT_COMPUTED (an
 * indicator or expression feature before `fstore compute` exists). A reading handle sees the commits made before its first
 * read; fs_refresh() moves it forward.
 * @return FS_OK; FS_E_NOTFOUND (unknown view or feature); FS_E_INVAL (the
 *         entity has the wrong number of join keys). */
int fs_get_json(fs_store *store, const char *entity, const char *const *features, size_t n_features,
                int64_t at, uint64_t known_at, char **json);

/* fs_get_json for the features of feature service `service` (a feature
 * vector: what a backtest asks for at each step). ENTITY is keyed like the
 * service's entity with the most join keys (BTCUSDT:1h); views of an entity
 * with fewer keys (asset: symbol) take theirs from it.
 * @return as fs_get_json; FS_E_NOTFOUND also for an unknown service. */
int fs_get_service_json(fs_store *store, const char *entity, const char *service, int64_t at,
                        uint64_t known_at, char **json);

/* Stored rows of `table` (a source) for one entity with from <= event_ts <
 * to, every version, in (event_ts, seq) order, at most `limit` (0: all);
 * `columns` NULL for all. *json: {"table", "entity", "columns", "rows":
 * [[event_ts, seq, values...], ...]}. */
int fs_history_json(fs_store *store, const char *table, const char *entity, int64_t from, int64_t to,
                    size_t limit, const char *const *columns, size_t n_columns, uint64_t known_at,
                    char **json);

/* The commits: {"commits": [{"seq", "time", "table", "rows"}]}. */
int fs_log_json(fs_store *store, char **json);

/* Writes every commit not yet in chunk files into compressed chunk files and
 * trims the write-ahead log (a checkpoint; ingest also takes one past 1M new
 * rows). Takes the writer lock like fs_ingest_file. */
int fs_compact(fs_store *store);

/* fs_compact, then the compression policy: for every source with
 * `compress_after` (and the tables of its views), the chunk files of each
 * time partition that ended more than that long ago are merged into one
 * file, compressed as one (docs/storage-format.md). *json (free with
 * fs_free; json may be NULL): {"checkpointed": true, "compressed":
 * [{"table", "partitions", "files_merged"}]}. Takes the writer lock. */
int fs_compact_json(fs_store *store, char **json);

/* Applies retention: for every source with a `retention` period, takes a
 * checkpoint, then drops the whole chunks whose time range ended more than
 * that period ago (as TimescaleDB's drop_chunks). The manifest is replaced
 * atomically before any file is deleted. *json (free with fs_free):
 * {"dropped": [{"source", "chunks", "rows"}]}. Takes the writer lock. */
int fs_gc(fs_store *store, char **json);

/* Makes a reading handle see commits made since its first read. */
int fs_refresh(fs_store *store);

/* ---------------------------------------------------------------------------
 * Computation: indicators and expressions into feature views
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *const *views; /* views to compute; NULL: every view with an
                                 indicator or expr feature */
    size_t n_views;
    int64_t from, to; /* compute rows with from <= event_ts < to; 0: unbounded */
    int jobs;         /* worker threads; 0: one per core */
    /* Called after each entity series with the series done and in all (over
     * every view of the job) and rows computed so far, on the calling thread,
     * with the store's lock held. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total, uint64_t rows);
    void *progress_ctx;
} fs_compute_opts;

typedef struct {
    uint64_t job;         /* the job's id (see fs_jobs_json) */
    uint64_t rows;        /* feature rows written */
    uint64_t entities;    /* entity series computed */
    size_t views_ok, views_failed;
    int64_t duration_ns;
} fs_compute_result;

/* Computes feature views from their sources, in dependency order (a view
 * whose expressions read another view comes after it), each view's entities
 * in parallel. Incremental: each entity resumes from the state saved by the
 * last run (DIR/compute/VIEW.state), reading only source rows after it; a
 * changed definition, or a correction of a row already computed, makes that
 * view (or entity) start over. Rows are written as new versions (commits) of
 * the table "view:VIEW", one column per computed feature, stamped with the
 * source row's event_ts (when its data became knowable), never earlier.
 * The run is recorded as a job. A view that fails (a definition that cannot
 * be computed) fails the job, with its reason in the detail, and leaves the
 * other views' results committed.
 * @return FS_OK; FS_E_PARTIAL (some view failed: fs_errmsg names each);
 *         FS_E_NOTFOUND (unknown view);
 *         FS_E_BUSY (another writer); FS_E_IO; FS_E_NOMEM. */
int fs_compute(fs_store *store, const fs_compute_opts *opts, fs_compute_result *result);

/* ---------------------------------------------------------------------------
 * Training sets: point-in-time joins, recorded as reproducible runs
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *labels;       /* a CSV or JSON-lines file of label rows: the join keys of
                                 the features' entities, `event_ts`, and any other columns
                                 (passed through); "-" reads standard input; "signals": the
                                 rows of the built-in signals source, filtered by where_* */
    const char *where_model_id, *where_symbol, *where_tf; /* signals: NULL = any */
    int64_t where_from, where_to; /* signals: from <= event_ts < to; 0 = unbounded */
    const char *labels_format; /* "csv" or "jsonl"; NULL: by the file name (.jsonl/.ndjson), else csv */
    const char *const *features; /* "view:feature" or "view" (all its features) */
    size_t n_features;
    const char *service;      /* or a feature service's features (then features is NULL) */
    int full_names;           /* columns named view__feature (else the bare feature name) */
    uint64_t known_at;        /* a commit seq; FS_KNOWN_ALL_COMMITS (0 is treated so too):
                                 the latest commit at build time, recorded as the watermark */
    int64_t known_at_time;    /* instead: the last commit made at or before this time (ns);
                                 0: unused */
    const char *out;          /* output file */
    const char *format;       /* "csv" (default) or "jsonl" */
    const char *rejects_path; /* label rows that cannot be used, as LINE<TAB>REASON */
    int jobs;                 /* threads; 0: one per core */
    const char *command_line; /* recorded with the run (NULL: none) */
} fs_training_opts;

typedef struct {
    char run_id[40];        /* the run's id, for fs_run_rebuild */
    uint64_t rows;          /* label rows written */
    uint64_t rejected;      /* label rows rejected */
    uint64_t known_at;      /* the watermark used */
    char output_sha256[65]; /* hex digest of the output file */
} fs_training_result;

/* Builds a training set: for each label row and each view of the requested
 * features, the view's row for the label's entity with the greatest
 * event_ts <= the label's event_ts, no older than the view's TTL
 * (event_ts >= label time - ttl, both inclusive; ttl 0: no bound), stored
 * at or before `known_at`, ties on event_ts going to the latest commit; no
 * such row gives an empty cell. Output rows follow the label file's order;
 * columns: the label's columns as given, then one per feature. Label rows
 * with a missing key or an unparseable time are rejected (counted, written
 * to rejects_path with their line) and the call returns FS_OK; check
 * `rejected`. The build is recorded as a run (see fs_runs_json).
 * @return FS_OK; FS_E_NOTFOUND (unknown feature, view or service); FS_E_INVAL
 *         (bad options; two features with the same bare name without
 *         full_names; the label file lacks a join key column); FS_E_PARSE
 *         (the labels are not CSV/JSON lines at all); FS_E_IO; FS_E_NOMEM. */
int fs_training_set(fs_store *store, const fs_training_opts *opts, fs_training_result *result);

/* Recorded runs. id NULL: every run, oldest first, {"runs": [...]}; else
 * that run: {"id", "time", "command", "known_at", "labels": {"sha256",
 * "rows"}, "definitions": {name: version}, "definitions_sha256",
 * "features": [...], "format", "full_names", "rows", "output_sha256"}. */
int fs_runs_json(fs_store *store, const char *id, char **json);

/* Rebuilds run `id` into `out`: the same labels (a copy kept with the run),
 * the same resolved features and TTLs and the same known_at watermark, so
 * the file is byte-identical to the original whatever was ingested,
 * corrected or recomputed since. When it cannot be (retention dropped rows
 * the run read), fails naming what is missing and writes nothing.
 * @return FS_OK; FS_E_NOTFOUND (no such run); FS_E_CORRUPT (the result would
 *         differ: fs_errmsg says why); FS_E_IO. */
int fs_run_rebuild(fs_store *store, const char *id, const char *out, fs_training_result *result);

/* The recorded jobs, oldest first: {"jobs": [{"id", "kind", "status"
 * ("running", "ok", "failed", "interrupted"), "started", "duration_ms",
 * "views", "rows", "errors", "definitions": {"view:feature": version}}]}. */
int fs_jobs_json(fs_store *store, char **json);

/* ===========================================================================
 * Online store and serving (docs/online.md, docs/http-api.md)
 *
 * The online store holds the latest row per (view, entity) of every view
 * marked `online: true`: in memory for lookups, and in DIR/online/VIEW.bin
 * (written atomically) so that a restart serves at once. It is fed by
 * fs_materialize, by fs_compute (for the online views it computes) and by
 * fs_push. Every value carries its event_ts, the commit that stored it and
 * its confidence.
 * ========================================================================= */

typedef struct {
    const char *const *views; /* online views to materialize; NULL: every online view */
    size_t n_views;
    /* from, to: rows with from <= event_ts <= to (0: unbounded; `to` 0 is
     * now). Without `from` (and not incremental) each view is REBUILT: it
     * then holds exactly, per entity, the row a point-in-time read at `to`
     * gives (entities without one are dropped). With `from`, or with
     * `incremental`, rows are MERGED: a value replaces the stored one only
     * when it is newer (event_ts, then commit). */
    int64_t from, to;
    /* From the last materialized point of each view (recorded in its file):
     * only rows not yet seen (committed after it, or newer than its `to`). */
    int incremental;
    int lock_wait_ms; /* wait this long for another process writing the online store */
} fs_materialize_opts;

typedef struct {
    size_t views;          /* views materialized */
    uint64_t entities;     /* entity rows looked at */
    uint64_t values;       /* feature values written or replaced */
    int64_t duration_ns;
} fs_materialize_result;

/* Materializes online views from the offline store (the engine, refreshed
 * first so every commit is seen) into the online store. The files are
 * replaced atomically, one per view; the in-memory store of this handle's
 * fs_online (if open) changes at once, other processes' at their next
 * fs_online_refresh.
 * @return FS_OK; FS_E_NOTFOUND (unknown view); FS_E_INVAL (a view is not
 *         online; from > to); FS_E_BUSY (another process writes the online
 *         store beyond lock_wait_ms); FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM. */
int fs_materialize(fs_store *store, const fs_materialize_opts *opts, fs_materialize_result *result);

/* The online store's state as JSON: {"views": [{"view", "entities",
 * "features", "materialized_to", "materialized_seq", "materialized_at",
 * "file"}]}. *json is freed with fs_free(). */
int fs_online_status_json(fs_store *store, char **json);

/* Push targets (Feast's PushMode). */
#define FS_PUSH_ONLINE 1u  /* the online store only */
#define FS_PUSH_OFFLINE 2u /* the offline store only: one commit */
#define FS_PUSH_ONLINE_AND_OFFLINE 3u
#define FS_PUSH_COMPUTE 4u /* with OFFLINE: then compute the online views that read the
                              source (incrementally), so their indicators follow */
#define FS_PUSH_DRY_RUN 8u /* validate only: write nothing */

typedef struct {
    uint64_t rows;      /* rows pushed */
    uint64_t seq;       /* the offline commit (0: none) */
    uint64_t values;    /* online values written */
    long bad_row;       /* on FS_E_PARSE: the 0-based row at fault (-1: the whole push) */
    char bad_column[128]; /* and its column ("" when none) */
} fs_push_result;

/* Pushes rows into source `source`: `df_json` is a JSON object mapping
 * column names to equal-length arrays (Feast's push "df"), validated row by
 * row exactly as ingest validates a JSON-lines file (docs/ingest.md). One bad
 * row rejects the whole push: nothing is written, the call returns
 * FS_E_PARSE, fs_errmsg names the row and column, and result->bad_row /
 * bad_column say it for programs. With FS_PUSH_OFFLINE the rows are one
 * commit, durable before the call returns, and the handle becomes the data
 * directory's writer (as fs_ingest_file). With FS_PUSH_ONLINE the `from:`
 * features of every online view of the source are updated (newer values
 * win) and the view files rewritten before the call returns.
 * @return FS_OK; FS_E_NOTFOUND (no such source); FS_E_INVAL (not an object
 *         of arrays; arrays of different lengths; bad `to`); FS_E_PARSE (a
 *         bad row); FS_E_BUSY; FS_E_IO; FS_E_NOSPACE; FS_E_NOMEM. */
int fs_push(fs_store *store, const char *source, const char *df_json, size_t len, unsigned to,
            int lock_wait_ms, fs_push_result *result);

/* ---- In-process lookups: for a trading engine that embeds fstore --------------
 *
 *   fs_online *on;  fs_online_query *q;  fs_online_value v[20];
 *   fs_online_open(store, &on, NULL);
 *   fs_online_prepare(on, names, 20, NULL, &q, NULL);     // once
 *   fs_online_lookup(on, q, "BTCUSDT:1h", 0, v, NULL, 0); // per tick: no allocation
 *
 * Thread safety: an fs_online handle and a prepared query may be used by any
 * number of threads at once; lookups never allocate, never block on disk and
 * never see half an update (a writer publishes a view's new table at once). */

typedef struct fs_online fs_online;
typedef struct fs_online_query fs_online_query;

/* The online store of `store`: every online view's file is loaded. Opening
 * it again for the same handle returns the same object (reference counted;
 * close each open). The store handle must outlive it. Views applied after
 * the open are not seen: open again after fs_apply.
 * @return FS_OK; FS_E_CORRUPT (a view file fails its checksum: detail names
 *         it); FS_E_VERSION; FS_E_IO; FS_E_NOMEM. */
int fs_online_open(fs_store *store, fs_online **out, char **detail);
void fs_online_close(fs_online *online);

/* Reloads the view files that another process replaced since they were
 * read (a `fstore materialize` beside a server). Cheap when nothing changed:
 * one stat per view. Returns the number of views reloaded, or <0 on error. */
int fs_online_refresh(fs_online *online);

/* Resolves features once: `features` are "view:feature" or "view" (all its
 * features), or NULL with `service` the name of a feature service. Every
 * view must be online. An entity for the query is keyed like its widest
 * entity (the one with most join keys; every other view's keys must be among
 * them): fs_online_query_key() lists the join keys in order.
 * @return FS_OK; FS_E_NOTFOUND (unknown feature, view or service);
 *         FS_E_INVAL (a view is not online; views whose join keys no single
 *         entity key covers); FS_E_NOMEM. *detail (may be NULL; fs_free)
 *         says which. */
int fs_online_prepare(fs_online *online, const char *const *features, size_t n_features,
                      const char *service, fs_online_query **out, char **detail);
void fs_online_query_free(fs_online_query *query);
/* The query's features ("view:feature", in order) and its join keys. Borrowed. */
size_t fs_online_query_size(const fs_online_query *query);
const char *fs_online_query_feature(const fs_online_query *query, size_t i);
size_t fs_online_query_nkeys(const fs_online_query *query);
const char *fs_online_query_key(const fs_online_query *query, size_t i);

/* Status of a looked-up value (as Feast's FieldStatus). */
typedef enum {
    FS_ONLINE_NOT_FOUND = 0,      /* no value for this entity */
    FS_ONLINE_PRESENT = 1,
    FS_ONLINE_NULL_VALUE = 2,     /* the stored value is null */
    FS_ONLINE_OUTSIDE_MAX_AGE = 3 /* now - event_ts > the view's TTL; the value is still given */
} fs_online_status;

/* Value types. */
typedef enum {
    FS_ONLINE_NONE = 0, /* NOT_FOUND or NULL_VALUE */
    FS_ONLINE_DOUBLE,
    FS_ONLINE_INT64,
    FS_ONLINE_BOOL,      /* in i64: 0 or 1 */
    FS_ONLINE_TIMESTAMP, /* in i64: ns since the epoch */
    FS_ONLINE_STRING     /* str/str_len, NUL-terminated, in the caller's buffer */
} fs_online_type;

typedef struct {
    int status;        /* fs_online_status */
    int type;          /* fs_online_type */
    double f64;
    int64_t i64;
    const char *str;   /* NULL when the buffer had no room for it */
    size_t str_len;
    int64_t event_ts;  /* when the value became knowable (0 when NOT_FOUND) */
    uint64_t seq;      /* the commit that stored it (0: an online-only push) */
    double confidence; /* NaN when none was recorded */
} fs_online_value;

/* Looks up the query's features for one entity: its join-key values joined
 * by ':' ("BTCUSDT:1h"), in fs_online_query_key order. out[i] receives
 * feature i. `now_ns` is the time statuses are judged at (0: the clock).
 * String values are copied into buf (bufsz bytes; may be NULL/0 when no
 * feature is a string). Allocates nothing; thread-safe.
 * @return FS_OK; FS_E_INVAL (NULL argument, wrong number of key values);
 *         FS_E_NOSPACE (buf too small: the strings that did not fit have
 *         str NULL, every other field is set). */
int fs_online_lookup(fs_online *online, const fs_online_query *query, const char *entity,
                     int64_t now_ns, fs_online_value *out, char *buf, size_t bufsz);

/* "PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE". Static. */
const char *fs_online_status_name(int status);

/* ---- The HTTP feature server (docs/http-api.md) -------------------------- */

typedef struct {
    const char *bind;     /* address to listen on; NULL: 127.0.0.1 */
    int port;             /* 0: any free port (see fs_server_port) */
    int threads;          /* worker threads; 0: one per core */
    size_t max_body;      /* request bodies larger than this get 413; 0: 1 MiB */
    int lock_wait_ms;     /* pushes and materializations wait this long for locks; 0: 5000 */
    int no_compute_on_push; /* offline pushes do not compute the online views of the source */
    int validate_only;    /* push and materialize validate and write nothing (tests, fuzzing) */
} fs_server_opts;

typedef struct fs_server fs_server;

/* Starts the server on its own threads: it serves `store`'s online store,
 * refreshed from disk a few times a second. The store must outlive it.
 * @return FS_OK; FS_E_IO (cannot listen: detail says why); FS_E_INVAL; FS_E_NOMEM. */
int fs_server_start(fs_store *store, const fs_server_opts *opts, fs_server **out, char **detail);
/* The port it listens on. */
int fs_server_port(const fs_server *server);
/* Stops gracefully: no new connection is accepted, requests in flight
 * finish (for up to `grace_ms`), then the threads stop. Every write a
 * request made is complete (pushes and materializations write before they
 * answer). NULL is allowed. */
void fs_server_stop(fs_server *server, int grace_ms);

#ifdef __cplusplus
}
#endif
#endif /* FSTORE_H */
