/* Loading a registry: YAML or catalog JSON text -> validated definitions.
 *
 * A user file is merged with the built-in definitions (entities `market` and
 * `signal`, sources `candles`, `signals`, `retrain_queue`) first: a user file
 * may re-declare a built-in source only to set chunk_interval, retention,
 * compress_after, description, owner and tags, and a built-in entity only its
 * description and tags. The catalog holds a complete
 * registry written by fstore itself and is loaded as is.
 *
 * Every problem is reported to `diag` as "file:line:column: message" and
 * loading goes on to find the others; the result is NULL when there was any. */
#ifndef FS_LOAD_H
#define FS_LOAD_H

#include "core/diag.h"
#include "registry/defs.h"

typedef enum {
    FS_LOAD_YAML_USER = 0, /* a user's YAML file, merged with the built-ins */
    FS_LOAD_JSON_CATALOG   /* the catalog's registry document, complete as is */
} fs_load_mode;

fs_registry *fs_registry_load(const char *name, const char *text, size_t len, fs_load_mode mode,
                              fs_diag *diag);

/* The registry holding only the built-in definitions. */
fs_registry *fs_registry_builtin(fs_diag *diag);

/* The built-ins' YAML text (static). */
const char *fs_builtin_yaml(size_t *len);

/* 1 if `name` is a built-in definition of that kind (entity or source). */
int fs_is_builtin(int kind, const char *name);

/* Cross-reference validation (validate.c): entities, sources and columns
 * exist, indicators and their parameters are known, expressions parse and
 * type-check, services and contracts name existing features, no dependency
 * cycles. Errors go to diag; returns the number found. */
int fs_registry_validate(const fs_registry *r, fs_diag *diag);

/* Reports an error at a definition node ("file:line:col: " when it has a
 * position). Shared by load.c and validate.c. */
void fs_reg_error(const fs_registry *r, fs_diag *diag, const fs_node *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
