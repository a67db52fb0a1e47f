/* Document tree from YAML (through libyaml's document loader, which resolves
 * anchors and aliases) or JSON (through jansson). Depth is capped so that a
 * hostile file (deep nesting, a recursive alias) fails with a message
 * instead of exhausting the stack. */
#include "registry/node.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 64 };

typedef struct {
    fs_arena *arena;
    const char *name;
    fs_diag *diag;
    yaml_document_t *doc;
    int failed;
} yaml_ctx;

static fs_node *node_new(fs_arena *a, fs_node_kind kind, int line, int col)
{
    fs_node *n = fs_arena_alloc(a, sizeof *n);
    if (n) {
        n->kind = kind;
        n->line = line;
        n->col = col;
    }
    return n;
}

static fs_node *yaml_convert(yaml_ctx *c, yaml_node_t *y, int depth)
{
    int line = (int)y->start_mark.line + 1, col = (int)y->start_mark.column + 1;
    if (depth > MAX_DEPTH) {
        if (!c->failed)
            fs_diag_add(c->diag, c->name, line, col,
                        "nesting deeper than %d levels (or a recursive alias)", MAX_DEPTH);
        c->failed = 1;
        return NULL;
    }
    fs_node *n = NULL;
    switch (y->type) {
    case YAML_SCALAR_NODE:
        n = node_new(c->arena, FS_NODE_SCALAR, line, col);
        if (!n)
            break;
        n->str = fs_arena_strndup(c->arena, (const char *)y->data.scalar.value,
                                  y->data.scalar.length);
        n->len = y->data.scalar.length;
        n->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        n->block = y->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                   y->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        break;
    case YAML_SEQUENCE_NODE: {
        n = node_new(c->arena, FS_NODE_SEQ, line, col);
        if (!n)
            break;
        size_t count = (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
        n->items = fs_arena_alloc(c->arena, (count ? count : 1) * sizeof *n->items);
        for (size_t i = 0; i < count && n->items; i++) {
            yaml_node_t *child = yaml_document_get_node(c->doc, y->data.sequence.items.start[i]);
            n->items[n->n] = child ? yaml_convert(c, child, depth + 1) : NULL;
            if (!n->items[n->n])
                return NULL;
            n->n++;
        }
        break;
    }
    case YAML_MAPPING_NODE: {
        n = node_new(c->arena, FS_NODE_MAP, line, col);
        if (!n)
            break;
        size_t count = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        n->items = fs_arena_alloc(c->arena, (count ? 2 * count : 1) * sizeof *n->items);
        for (size_t i = 0; i < count && n->items; i++) {
            yaml_node_pair_t *p = &y->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
            if (!k || !v)
                return NULL;
            fs_node *key = yaml_convert(c, k, depth + 1);
            fs_node *val = yaml_convert(c, v, depth + 1);
            if (!key || !val)
                return NULL;
            if (key->kind != FS_NODE_SCALAR) {
                fs_diag_add(c->diag, c->name, key->line, key->col, "mapping keys must be scalars");
                c->failed = 1;
                continue;
            }
            if (fs_node_get(n, key->str)) {
                fs_diag_add(c->diag, c->name, key->line, key->col,
                            "duplicate key '%s' in this mapping", key->str);
                c->failed = 1;
                continue;
            }
            n->items[2 * n->n] = key;
            n->items[2 * n->n + 1] = val;
            n->n++;
        }
        break;
    }
    default:
        break;
    }
    if (!n && !c->failed) {
        fs_diag_add(c->diag, c->name, line, col, "out of memory");
        c->failed = 1;
    }
    return n;
}

fs_node *fs_node_from_yaml(fs_arena *arena, const char *name, const char *text, size_t len,
                           fs_diag *diag)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fs_diag_add(diag, name, 0, 0, "cannot initialize the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const char *ctx = parser.context ? parser.context : "";
        fs_diag_add(diag, name, (int)parser.problem_mark.line + 1,
                    (int)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
                    parser.problem ? parser.problem : "unknown problem", *ctx ? " " : "", ctx);
        diag->parse_errors++;
        yaml_parser_delete(&parser);
        return NULL;
    }
    fs_node *root = NULL;
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (!top) {
        root = node_new(arena, FS_NODE_MAP, 1, 1); /* an empty file defines nothing */
    } else {
        yaml_ctx c = {arena, name, diag, &doc, 0};
        root = yaml_convert(&c, top, 0);
        if (c.failed)
            root = NULL;
    }
    /* A second document in the stream would be silently ignored: refuse it. */
    if (root) {
        yaml_document_t extra;
        if (yaml_parser_load(&parser, &extra)) {
            if (yaml_document_get_root_node(&extra)) {
                yaml_node_t *x = yaml_document_get_root_node(&extra);
                fs_diag_add(diag, name, (int)x->start_mark.line + 1,
                            (int)x->start_mark.column + 1,
                            "a second YAML document ('---'): put all definitions in one document");
                root = NULL;
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

static fs_node *json_convert(fs_arena *a, json_t *j, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    fs_node *n;
    char buf[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        n = node_new(a, FS_NODE_MAP, 0, 0);
        size_t count = json_object_size(j);
        if (!n || !(n->items = fs_arena_alloc(a, (count ? 2 * count : 1) * sizeof *n->items)))
            return NULL;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val) {
            fs_node *k = node_new(a, FS_NODE_SCALAR, 0, 0);
            if (!k)
                return NULL;
            k->str = fs_arena_strdup(a, key);
            k->len = strlen(key);
            k->quoted = 1;
            n->items[2 * n->n] = k;
            if (!(n->items[2 * n->n + 1] = json_convert(a, val, depth + 1)))
                return NULL;
            n->n++;
        }
        return n;
    }
    case JSON_ARRAY: {
        n = node_new(a, FS_NODE_SEQ, 0, 0);
        size_t count = json_array_size(j);
        if (!n || !(n->items = fs_arena_alloc(a, (count ? count : 1) * sizeof *n->items)))
            return NULL;
        for (size_t i = 0; i < count; i++)
            if (!(n->items[n->n++] = json_convert(a, json_array_get(j, i), depth + 1)))
                return NULL;
        return n;
    }
    case JSON_STRING:
        n = node_new(a, FS_NODE_SCALAR, 0, 0);
        if (!n)
            return NULL;
        n->len = json_string_length(j);
        n->str = fs_arena_strndup(a, json_string_value(j), n->len);
        n->quoted = 1;
        return n->str ? n : NULL;
    case JSON_INTEGER: snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j)); break;
    case JSON_REAL: snprintf(buf, sizeof buf, "%.17g", json_real_value(j)); break;
    case JSON_TRUE: strcpy(buf, "true"); break;
    case JSON_FALSE: strcpy(buf, "false"); break;
    default: strcpy(buf, "null"); break;
    }
    n = node_new(a, FS_NODE_SCALAR, 0, 0);
    if (!n)
        return NULL;
    n->str = fs_arena_strdup(a, buf);
    n->len = strlen(buf);
    return n->str ? n : NULL;
}

fs_node *fs_node_from_json(fs_arena *arena, const char *name, const char *text, size_t len,
                           fs_diag *diag)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, 0, &e);
    if (!j) {
        fs_diag_add(diag, name, e.line, e.column, "JSON error: %s", e.text);
        diag->parse_errors++;
        return NULL;
    }
    fs_node *n = json_convert(arena, j, 0);
    json_decref(j);
    if (!n)
        fs_diag_add(diag, name, 0, 0, "JSON too deeply nested or out of memory");
    return n;
}

const fs_node *fs_node_get(const fs_node *map, const char *key)
{
    if (!map || map->kind != FS_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[2 * i]->str, key) == 0)
            return map->items[2 * i + 1];
    return NULL;
}

int fs_node_is_null(const fs_node *n)
{
    if (!n || n->kind != FS_NODE_SCALAR || n->quoted)
        return 0;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *fs_node_kind_name(const fs_node *n)
{
    switch (n->kind) {
    case FS_NODE_MAP: return "a mapping";
    case FS_NODE_SEQ: return "a list";
    default: return "a scalar";
    }
}
