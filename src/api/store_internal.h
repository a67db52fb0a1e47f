/* The store handle behind fstore.h, shared by the API's files (store.c:
 * registry; data.c: ingest and reads). */
#ifndef FS_STORE_INTERNAL_H
#define FS_STORE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "core/strbuf.h"
#include "fstore.h"
#include "registry/catalog.h"
#include "storage/engine.h"

struct fs_store {
    char *dir;
    fs_catalog cat;
    fs_strbuf errmsg;
    pthread_mutex_t mu;
    fs_engine *engine; /* NULL until the first data call */
    int writer;        /* engine opened for writing: the WRITER lock is held */
    int writer_lock_fd;
};

/* Sets the handle's detail message and returns rc. */
int fs_store_fail(fs_store *s, int rc, const char *msg);

/* Opens the handle's engine: read-only, or as the writer (data.c). Call
 * with s->mu held. */
int fs_store_engine(fs_store *s, int writer, int wait_ms);

/* Computed features of view V are stored in the engine table "view:V"
 * (sources and views may share a name; ':' is in no definition name). */
#define FS_VIEW_TABLE_PREFIX "view:"

/* The source whose policies (chunk interval, retention) a table follows:
 * the source itself, or the source of a view table. NULL when unknown. */
const fs_source_def *fs_table_source(const fs_registry *r, const char *table);

/* The chunk interval of an engine table (a source or a view table), for
 * checkpoints and streamed commits; ctx is the fs_store. */
int64_t fs_store_chunk_interval(void *ctx, const char *table);

/* Whether a view's computed features are up to date with its definition:
 * {"status": computed | never_computed | needs_recompute | ..., "reason",
 * "entities", "rows", "last_job"} (compute.c). New reference. */
json_t *fs_compute_status_json(fs_store *s, const fs_view_def *v);

#endif
