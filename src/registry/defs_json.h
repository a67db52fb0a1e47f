/* Canonical JSON of definitions. One form serves the catalog (which reloads
 * it through the same loader), the apply diff (two definitions are the same
 * when their canonical JSON is byte-identical, so writing a default
 * explicitly, or `14.0` for `14`, is not a change), `fstore describe` and
 * GET /registry. Optional fields that are unset are omitted; durations are
 * written in their shortest form ("1h30m"); indicator parameters as numbers. */
#ifndef FS_DEFS_JSON_H
#define FS_DEFS_JSON_H

#include <jansson.h>

#include "fstore.h"
#include "registry/defs.h"

/* The whole registry in the shape of a definitions file; new reference. */
json_t *fs_registry_to_json(const fs_registry *r);

/* One definition. For a view, "features" lists feature names only (each
 * feature is versioned on its own); for a feature, `name` is "view:feature".
 * NULL when there is no such definition. New reference. */
json_t *fs_def_to_json(const fs_registry *r, fs_kind kind, const char *name);

/* Calls fn for every definition of the registry in canonical order (kind,
 * then name); for features the name is "view:feature". */
void fs_registry_foreach(const fs_registry *r,
                         void (*fn)(void *ctx, fs_kind kind, const char *name), void *ctx);

/* Canonical text of a JSON value (sorted keys, compact); free() it. */
char *fs_json_canonical(const json_t *j);

#endif
