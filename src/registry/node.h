/* A small document tree with positions: what the registry loader reads.
 * It is built from YAML (libyaml) for user files and from JSON (jansson) for
 * the catalog, so one loader validates both, and a definition round-trips
 * through the catalog exactly as it was applied. */
#ifndef FS_NODE_H
#define FS_NODE_H

#include <stddef.h>

#include "core/arena.h"
#include "core/diag.h"

typedef enum { FS_NODE_SCALAR, FS_NODE_SEQ, FS_NODE_MAP } fs_node_kind;

typedef struct fs_node fs_node;
struct fs_node {
    fs_node_kind kind;
    int line, col;   /* 1-based position in the source; 0 when it has none (JSON) */
    int quoted;      /* scalar was quoted: always a string, never null/bool/number */
    int block;       /* scalar was a block scalar (| or >): columns inside it do not map to the line */
    const char *str; /* scalar text, NUL-terminated (may contain NULs: see len) */
    size_t len;
    fs_node **items; /* SEQ: the items; MAP: key0, value0, key1, value1, ... */
    size_t n;        /* SEQ: item count; MAP: pair count */
};

/* Parses YAML text into a tree in `arena`. Syntax errors and duplicate keys
 * go to `diag` as "name:line:col: ..."; returns NULL when the text is not a
 * single YAML document (an empty document gives an empty map). */
fs_node *fs_node_from_yaml(fs_arena *arena, const char *name, const char *text, size_t len,
                           fs_diag *diag);

/* Parses JSON text into a tree (no positions). NULL with a message on error. */
fs_node *fs_node_from_json(fs_arena *arena, const char *name, const char *text, size_t len,
                           fs_diag *diag);

/* The value of `key` in a map, or NULL (also when `map` is not a map). */
const fs_node *fs_node_get(const fs_node *map, const char *key);
/* Plain scalar spelled as YAML null ("", "~", "null"). */
int fs_node_is_null(const fs_node *n);
/* "mapping", "sequence", "scalar": for messages. */
const char *fs_node_kind_name(const fs_node *n);

#endif
