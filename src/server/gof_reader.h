/* A direct reader for the usual body of POST /get-online-features (see
 * gof_reader.c): the request's parts as (pointer, length) slices of the
 * body, without a JSON tree. handlers.c fills the same structure from
 * jansson for the bodies this reader leaves to it. */
#ifndef FS_GOF_READER_H
#define FS_GOF_READER_H

#include <stddef.h>
#include <stdint.h>

/* A slice of text: a feature name, a join key, an entity value. */
typedef struct {
    const char *s;
    uint32_t len;
    uint8_t is_int; /* entity values: an integer's digits, not a string's contents */
} gof_text;

/* One column of `entities`: its name and nrows values. */
typedef struct {
    gof_text name;
    gof_text *values;
} gof_column;

enum { GOF_INLINE_FEATURES = 64, GOF_INLINE_VALUES = 256, GOF_MAX_COLUMNS = 16 };

typedef struct {
    gof_text *features; /* nfeatures names; 0 when a service is named */
    size_t nfeatures;
    gof_text service;   /* s NULL when features are listed */
    int full_names;
    gof_column cols[GOF_MAX_COLUMNS];
    size_t ncols, nrows;
    /* storage: inline for the usual sizes, else malloc'd */
    gof_text *values; /* ncols * nrows, column after column */
    size_t nvalues, cap_values, cap_features;
    gof_text inline_features[GOF_INLINE_FEATURES];
    gof_text inline_values[GOF_INLINE_VALUES];
} gof_request;

/* Reads `body` when it is a JSON object holding only these members, each
 * once, in any order: "features" (a non-empty list of strings) or
 * "feature_service" (a string), "entities" (an object of at most
 * GOF_MAX_COLUMNS lists of strings or integers, all of one length) and
 * optionally "full_feature_names" (true or false); strings being ASCII
 * without escapes or control characters, integers at most 18 digits.
 * Returns 1 and fills *rq (release it with gof_request_free), or 0 for any
 * other body, valid or not: those go to the general reader (jansson), which
 * accepts the same requests as this one does and words each refusal. So
 * this reader changes no answer; it only skips building a JSON tree for the
 * common case. */
int gof_read(const char *body, size_t len, gof_request *rq);
void gof_request_free(gof_request *rq);

#endif
