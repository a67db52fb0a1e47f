/* The online store: the latest row per (view, entity) of every view marked
 * `online: true`, in memory for lookups and persisted as one file per view
 * (DIR/online/VIEW.bin, docs/online.md describes the format).
 *
 * Structure
 *  - An otab is one view's table: entity keys (open addressing hash) and, per
 *    entity, one cell per feature of the view. A published otab is never
 *    modified: a writer clones it, applies its changes, writes the file, then
 *    swaps the view's pointer atomically, waits until every reader that may
 *    still hold the old table is done, and frees it. Readers announce
 *    themselves in a per-thread slot (two counters on a cache line of their
 *    own: no line is shared between reading threads, so lookups scale with
 *    threads), load the pointer and copy cells out. So a lookup never
 *    allocates, never waits for a file write or a writer, and never sees half
 *    an update.
 *  - Every feature cell carries its own event_ts, commit seq and confidence:
 *    a view's `from:` features come from the source table and its computed
 *    features from the table "view:VIEW", which can be at different times.
 *  - fs_online (the handle) belongs to one fs_store handle: opening it twice
 *    for the same store returns the same object (reference counted), so the
 *    store's own writes (materialize, compute, push) update the memory that
 *    lookups read. Other processes' writes are picked up by
 *    fs_online_refresh(), which reloads the files that changed.
 *  - Writers of one data directory, in any process, are serialized by an
 *    flock on DIR/online/LOCK; each re-reads a view's file when another
 *    process replaced it since, so no update is lost.
 */
#ifndef FS_ONLINE_H
#define FS_ONLINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/strbuf.h"
#include "fstore.h"
#include "registry/defs.h"
#include "storage/batch.h"

/* Bytes of a cell's JSON text: the longest is a quoted timestamp
 * ("2262-04-11T23:47:16.854775807Z", 32 bytes) plus the NUL. */
#define FS_OTAB_JT 34

/* A cell's state. */
enum { OC_NONE = 0, OC_VALUE = 1, OC_NULL = 2 };

typedef struct {
    int64_t ts;    /* event_ts */
    uint64_t seq;  /* the commit that stored it; 0 for an online-only push */
    double conf;   /* confidence; NaN when none was recorded */
    union {
        double f;
        int64_t i;
    } v;
    const char *s; /* FS_VT_STRING: in the table's arena */
    uint32_t slen;
    uint8_t state; /* OC_* */
    uint8_t type;  /* fs_vtype */
} ocell;

typedef struct {
    size_t nf;      /* cells per entity: the view's features */
    size_t n, cap;  /* entities */
    const char **keys;
    uint32_t *klen;
    uint64_t *khash;
    ocell *cells;   /* n * nf */
    char (*jt)[FS_OTAB_JT]; /* n * nf: each cell's value as JSON text (""
                               for none, null and strings), made when the
                               cell is set, so the server never formats */
    uint32_t *slots; /* index + 1, 0 = empty; nslots a power of two */
    size_t nslots;
    fs_arena arena; /* keys and strings */
    /* The recorded materialization point: rows with event_ts <= mat_to and
     * seq <= mat_seq were seen (INT64_MIN/0: never materialized). */
    int64_t mat_to;
    uint64_t mat_seq;
    int64_t mat_time; /* wall clock of the last materialization (0: never) */
    uint64_t generation; /* +1 per file write */
} otab;

/* One feature of an online view. */
typedef struct {
    char *name;   /* the feature's name */
    char *qname;  /* "view:feature" */
    int from;     /* 1: read from the source column `column`; 0: computed */
    char *column; /* the column in the table it is read from */
} ofeat;

typedef struct {
    char *name;
    char *source;  /* the source table */
    char *vtable;  /* "view:NAME" */
    char *src_conf; /* the source's confidence column, or NULL */
    int64_t ttl_ns;
    size_t nkeys;
    char **keys;   /* the join keys of its entity */
    size_t nf;
    ofeat *f;
    int any_from, any_computed;
    otab *_Atomic tab; /* published; never NULL; read between fs_online_read_begin/end */
    /* The file the table was loaded from or written to. */
    int has_file;
    dev_t dev;
    ino_t ino;
    int64_t mtime_ns;
    off_t size;
} oview;

struct fs_online {
    fs_store *store;
    char *dir;        /* DIR/online */
    int refs;
    size_t nv;
    oview *views;
    pthread_mutex_t wmu; /* serializes this process's writers and refreshes */
};

/* Maximum join keys of an entity, and bytes of an entity key. */
#define FS_ONLINE_MAX_KEYS 8
#define FS_ONLINE_MAX_KEY 512

/* ---- tables (table.c) ---- */
otab *fs_otab_new(size_t nf);
void fs_otab_free(otab *t);
/* A deep copy (NULL when out of memory). */
otab *fs_otab_clone(const otab *t);
uint64_t fs_otab_hash(const char *key, size_t len);
/* The entity's index, or -1. */
long fs_otab_find(const otab *t, const char *key, size_t len, uint64_t hash);
/* The entity's index, added (with NONE cells) when absent; -1 when out of memory. */
long fs_otab_upsert(otab *t, const char *key, size_t len);
/* Sets a cell from a stored row's column (copying a string into the arena). */
int fs_otab_set(otab *t, size_t ent, size_t f, const fs_batch *b, int col, size_t row, int64_t ts,
                uint64_t seq, double conf);
/* The shortest decimal text that reads back as d exactly (JSON number
 * syntax; d finite); at most 25 bytes with the NUL. Returns the length. */
size_t fs_json_number(double d, char *buf);
/* 1 when a value stamped (ts, seq) should replace cell c: newer wins. */
int fs_ocell_older(const ocell *c, int64_t ts, uint64_t seq);
/* The file image of a table for view v; and its parse, mapping stored
 * features to v's by name (a feature not in the file stays NONE). */
int fs_otab_serialize(const oview *v, const otab *t, uint8_t **out, size_t *len);
int fs_otab_parse(const oview *v, const uint8_t *data, size_t len, otab **out, fs_strbuf *err);

/* ---- the handle (online.c) ---- */

/* The store's online handle (a new reference), created from the store's
 * registry when there is none. Call with s->mu held, or when no other thread
 * uses `s`. */
int fs_online_acquire(fs_store *s, fs_online **out, fs_strbuf *err);
/* The view of that name, or NULL. */
oview *fs_online_view(fs_online *o, const char *name);

/* Writing: fs_online_write_begin takes the directory's lock (waiting up to
 * wait_ms) and o->wmu; fs_online_edit returns a private copy of view v's
 * current table (re-read from disk when another process replaced the file);
 * fs_online_commit_view writes that copy to disk atomically and publishes
 * it (it takes the copy, whatever the result); fs_online_write_end releases. */
int fs_online_write_begin(fs_online *o, int wait_ms, int *lockfd, fs_strbuf *err);
int fs_online_edit(fs_online *o, oview *v, otab **copy, fs_strbuf *err);
int fs_online_commit_view(fs_online *o, oview *v, otab *copy, fs_strbuf *err);
void fs_online_write_end(fs_online *o, int lockfd);

/* Reading published tables: between begin and end, atomic_load(&v->tab)
 * stays valid. Cheap (two atomic adds on a line private to the thread); may
 * nest; never blocks. */
void *fs_online_read_begin(void);
void fs_online_read_end(void *token);

/* Lookup by join-key values (the parts of an entity key, in the query's key
 * order), as fs_online_lookup. */
int fs_online_lookup_parts(fs_online *o, const fs_online_query *q, const char *const *parts,
                           const size_t *lens, size_t nparts, int64_t now_ns, fs_online_value *out,
                           char *buf, size_t bufsz, size_t *needed);
/* The same, also copying each value's JSON text (see otab.jt; "" for
 * strings, nulls and values not found) into jt[i]. */
int fs_online_lookup_json(fs_online *o, const fs_online_query *q, const char *const *parts,
                          const size_t *lens, size_t nparts, int64_t now_ns, fs_online_value *out,
                          char (*jt)[FS_OTAB_JT], char *buf, size_t bufsz, size_t *needed);

/* Entities held by each view, for metrics: calls fn(view, entities). */
void fs_online_counts(fs_online *o, void (*fn)(void *ctx, const char *view, size_t n), void *ctx);

/* ---- materialization (materialize.c) ---- */

/* Materializes the online views among `views` (n 0: every online view) with
 * s->mu held and s->engine open. mode: 0 rebuild as of `to`; 1 merge rows
 * with from <= event_ts <= to, newer wins; 2 incremental (merge what was not
 * yet seen, from the recorded point). */
enum { FS_MAT_REBUILD = 0, FS_MAT_MERGE = 1, FS_MAT_INCREMENTAL = 2 };
int fs_online_materialize_locked(fs_store *s, const char *const *views, size_t n, int mode,
                                 int64_t from, int64_t to, int wait_ms, fs_materialize_result *res,
                                 fs_strbuf *err);

#endif
