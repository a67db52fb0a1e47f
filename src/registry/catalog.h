/* The catalog: the durable, versioned registry of a data directory
 * (DIR/catalog.json, format in docs/storage-format.md).
 *
 * It holds the current registry in canonical JSON, and for every definition
 * ever applied ("kind/name") its current version and the history of its
 * earlier versions, plus a log of applies. It is only ever replaced whole and
 * atomically, under the directory lock, so readers never see a partial one
 * and a crash leaves the previous catalog in place. */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include <jansson.h>

#include "core/strbuf.h"
#include "fstore.h"
#include "registry/defs.h"

#define FS_CATALOG_FORMAT 1

typedef struct {
    json_t *doc;      /* the whole catalog file */
    fs_registry *reg; /* its registry, loaded and validated */
} fs_catalog;

/* Paths inside a data directory; malloc'd. */
char *fs_path_join(const char *dir, const char *name);

/* Creates the data directory and its first catalog (built-ins only); a
 * directory that is already initialized is left alone. */
int fs_catalog_init(const char *dir, fs_strbuf *err);

/* Reads DIR/catalog.json. FS_E_NOTDIR when DIR is not a data directory,
 * FS_E_VERSION for a newer format, FS_E_CORRUPT when it does not load. */
int fs_catalog_load(const char *dir, fs_catalog *out, fs_strbuf *err);
void fs_catalog_free(fs_catalog *c);

/* Current version of a definition; 0 when it does not exist. */
int fs_catalog_version(const fs_catalog *c, fs_kind kind, const char *name);
/* The version record {"version", "updated_at", "history": [...]} or NULL. Borrowed. */
json_t *fs_catalog_record(const fs_catalog *c, fs_kind kind, const char *name);
int64_t fs_catalog_generation(const fs_catalog *c);

/* Applies `next` (a validated registry) to the catalog of `dir`: takes the
 * lock, re-reads the catalog, diffs, and unless nothing changed or
 * FS_APPLY_DRY_RUN is set writes the new catalog atomically. On success
 * *cat is replaced by the new catalog (next is consumed either way). */
int fs_catalog_apply(const char *dir, fs_registry *next, const char *source_name, unsigned flags,
                     int lock_wait_ms, fs_catalog *cat, fs_apply_report **report, fs_strbuf *err);

#endif
