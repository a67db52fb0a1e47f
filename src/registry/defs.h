/* The registry's data model: entities, sources, feature views (with their
 * features), feature services and contracts, as loaded from YAML or from the
 * catalog. docs/definitions.md documents the YAML that fills these structs.
 *
 * A registry owns everything it points to through one arena. Definitions
 * loaded from a file keep a borrowed pointer to their document node (`node`)
 * so that cross-reference errors can name file:line:column; it is NULL for
 * built-ins and after the document is gone. */
#ifndef FS_DEFS_H
#define FS_DEFS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "registry/node.h"

/* Storage types of source columns. */
typedef enum {
    FS_COL_INT64 = 0,
    FS_COL_FLOAT64,
    FS_COL_STRING,
    FS_COL_BOOL,
    FS_COL_TIMESTAMP,
    FS_COL_JSON, /* JSON text kept as a string (signals.features) */
    FS_COL_TYPE_COUNT
} fs_col_type;

/* Feature types, as users see them. */
typedef enum {
    FS_FT_NUMERIC = 0,
    FS_FT_CATEGORICAL,
    FS_FT_BOOLEAN,
    FS_FT_TIMESTAMP,
    FS_FT_VECTOR,
    FS_FT_TYPE_COUNT
} fs_feature_type;

/* How a feature's values are produced. */
typedef enum { FS_PROD_FROM = 0, FS_PROD_INDICATOR, FS_PROD_EXPR } fs_produce;

typedef struct {
    const char *key, *value;
} fs_kv;

typedef struct {
    const char **items;
    size_t n;
} fs_strlist;

/* An optional numeric bound. */
typedef struct {
    int set;
    double v;
} fs_opt_num;

typedef struct {
    const char *name;
    fs_col_type type;
    int nullable;
    fs_opt_num min, max; /* ingest rejects values outside */
    const char *unit, *description;
    const fs_node *node;
} fs_column_def;

typedef struct {
    const char *name;
    fs_strlist join_keys;
    const char *description;
    fs_strlist tags;
    int builtin;
    const fs_node *node;
} fs_entity_def;

typedef struct {
    const char *name;
    const char *entity;
    const char *timestamp; /* column holding event time (for candles: the open time) */
    /* When a row becomes knowable, relative to `timestamp`: "" (at once), a
     * duration ("5m") or the name of a column holding a duration (candles:
     * "tf", so a 1h candle opening at 10:00 is knowable at 11:00). */
    const char *available_after;
    /* The float64 column holding each row's confidence in [0, 1] (how much
     * the provider trusts the row), or NULL: every row is fully trusted. */
    const char *confidence;
    int64_t chunk_interval_ns, retention_ns, compress_after_ns; /* 0 = never, for the last two */
    fs_column_def *columns;
    size_t n_columns;
    const char *description, *owner;
    fs_strlist tags;
    int builtin;
    const fs_node *node;
} fs_source_def;

typedef struct {
    const char *name;
    fs_feature_type type;
    int vector_len; /* FS_FT_VECTOR only */
    const char *category;
    const char *unit, *description, *owner;
    fs_opt_num min, max;
    fs_strlist tags;
    fs_produce how;
    const char *from;      /* FS_PROD_FROM: source column */
    const char *indicator; /* FS_PROD_INDICATOR */
    fs_kv *params;         /* as written, value canonicalized */
    size_t n_params;
    const char *output;    /* multi-output indicators */
    fs_kv *inputs;         /* role -> column overrides */
    size_t n_inputs;
    const char *expr;      /* FS_PROD_EXPR */
    const fs_node *node;
} fs_feature_def;

typedef struct {
    const char *name;
    const char *entity;
    const char *source;
    int64_t ttl_ns; /* 0 = values never expire */
    int online;
    const char *owner, *description;
    fs_strlist tags;
    fs_feature_def *features;
    size_t n_features;
    const fs_node *node;
} fs_view_def;

typedef struct {
    const char *name;
    const char *description, *owner;
    fs_strlist features; /* "view:feature" or "view" (all its features) */
    fs_strlist tags;
    const fs_node *node;
} fs_service_def;

typedef struct {
    const char *feature; /* "view:feature" */
    const char *type;    /* expected feature type name, or NULL */
    fs_opt_num min, max, max_null_ratio;
    int64_t max_staleness_ns; /* 0 = not checked */
    const fs_node *node;
} fs_expectation;

typedef struct {
    const char *name;
    const char *description, *owner;
    fs_expectation *expect;
    size_t n_expect;
    fs_strlist tags;
    const fs_node *node;
} fs_contract_def;

typedef struct fs_registry {
    fs_arena arena;
    const char *file; /* where it was loaded from, for messages */
    fs_entity_def *entities;
    size_t n_entities;
    fs_source_def *sources;
    size_t n_sources;
    fs_view_def *views;
    size_t n_views;
    fs_service_def *services;
    size_t n_services;
    fs_contract_def *contracts;
    size_t n_contracts;
} fs_registry;

/* Names of the enums above, as written in YAML. */
const char *fs_col_type_name(fs_col_type t);
int fs_col_type_parse(const char *s); /* -1 if unknown */
const char *fs_feature_type_name(fs_feature_type t);
extern const char *const fs_feature_categories[];
extern const size_t fs_n_feature_categories;

/* Lookups by name; NULL when absent. */
const fs_entity_def *fs_reg_entity(const fs_registry *r, const char *name);
const fs_source_def *fs_reg_source(const fs_registry *r, const char *name);
const fs_view_def *fs_reg_view(const fs_registry *r, const char *name);
const fs_service_def *fs_reg_service(const fs_registry *r, const char *name);
const fs_contract_def *fs_reg_contract(const fs_registry *r, const char *name);
const fs_column_def *fs_source_column(const fs_source_def *s, const char *name);
const fs_feature_def *fs_view_feature(const fs_view_def *v, const char *name);
/* "view:feature" -> feature (and its view in *view_out, may be NULL). */
const fs_feature_def *fs_reg_feature(const fs_registry *r, const char *qualified,
                                     const fs_view_def **view_out);

/* A feature and its view. */
typedef struct {
    const fs_view_def *view;
    const fs_feature_def *feature;
} fs_feature_ref;

/* Expands feature names as users write them, "view:feature" or "view" (all
 * of its features, in view order), into *out (malloc'd, free() it; NULL when
 * *n_out is 0). The one reading of such lists, for services, reads and
 * training sets.
 * @return FS_OK; FS_E_NOTFOUND (*bad: the index of a name that names
 *         nothing); FS_E_NOMEM. */
int fs_reg_expand_features(const fs_registry *r, const char *const *names, size_t n,
                           fs_feature_ref **out, size_t *n_out, size_t *bad);

/* The column an indicator feature reads for input role `role_index` of its
 * indicator: the feature's override (`inputs: {role: col}`, or `input: col`
 * for a single-input indicator), else the role's default column. */
struct fs_indicator_spec;
const char *fs_feature_input_column(const fs_feature_def *f, const struct fs_indicator_spec *spec,
                                    int role_index);

void fs_registry_free(fs_registry *r);

#endif
