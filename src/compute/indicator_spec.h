/* The indicator catalogue: one table, written from one list in
 * indicator_spec.c, naming every indicator fstore offers with its inputs,
 * parameters (type, default, valid range), outputs and the TA-Lib function it
 * matches. docs/indicators.md is the same table for people; a test keeps the
 * two in step.
 *
 * Who uses it
 *  - The registry validates a feature's `indicator:`, `params:`, `output:`,
 *    `input:`/`inputs:` against it (names, types, ranges, cross-parameter
 *    rules), and fills in defaults for parameters a feature leaves out.
 *  - The compute layer (a later issue) hangs each indicator's functions off the
 *    same entry: lookback, batch function, streaming state. The table is written
 *    with designated initializers, so members added to fs_indicator_spec later
 *    are NULL/0 in entries that do not set them yet, and nothing else changes.
 *
 * Parameter values travel as `double params[FS_IND_MAX_PARAMS]`, indexed like
 * spec->params: integers are stored exactly (all ranges are far below 2^53),
 * string parameters hold NAN there and their text is kept by the caller.
 *
 * Ownership and threads: every pointer returned here points into a static,
 * read-only table, valid for the life of the program; do not modify or free
 * it. All functions are safe to call from any thread at any time. */
#ifndef FS_INDICATOR_SPEC_H
#define FS_INDICATOR_SPEC_H

#include <stddef.h>

#define FS_IND_MAX_INPUTS 4
#define FS_IND_MAX_PARAMS 4
#define FS_IND_MAX_OUTPUTS 5
/* Longest string parameter value (an entity key such as "BTCUSDT:1h"). */
#define FS_IND_MAX_STRING 64

typedef enum {
    FS_PARAM_INT,   /* a whole number; written in YAML as 14 (14.0 and 1e2 are accepted) */
    FS_PARAM_REAL,  /* any finite number */
    FS_PARAM_STRING /* text, e.g. correlation's `reference` entity */
} fs_param_type;

typedef struct {
    const char *name;   /* key under `params:` in YAML, lowercase */
    fs_param_type type;
    double def;         /* default; NAN when `required` */
    double min, max;    /* inclusive valid range (INT and REAL) */
    int required;       /* 1: no default, a feature must give it */
    const char *doc;    /* one line for docs and `fstore describe` */
} fs_indicator_param;

typedef struct {
    const char *role;           /* "price", "open", "high", "low", "close" or "volume" */
    const char *default_column; /* the candles column it reads unless overridden: "c", "h", ... */
} fs_indicator_input;

typedef struct {
    const char *name; /* value of `output:` in YAML; "value" for single-output indicators */
    const char *doc;
} fs_indicator_output;

typedef struct fs_indicator_spec fs_indicator_spec;
struct fs_indicator_spec {
    const char *name;    /* value of `indicator:` in YAML: lowercase, stable */
    const char *summary; /* one line: what it computes, and how it differs from TA-Lib */
    const char *talib;   /* the TA-Lib function it matches ("RSI"), NULL when none */

    int n_inputs; /* the first n_inputs entries are set, the rest are zero */
    fs_indicator_input inputs[FS_IND_MAX_INPUTS];
    int n_params;
    fs_indicator_param params[FS_IND_MAX_PARAMS];
    int n_outputs;
    fs_indicator_output outputs[FS_IND_MAX_OUTPUTS];

    /* Cross-parameter rule (macd: fast_period < slow_period), or NULL when the
     * indicator has none. Called by fs_indicator_check() after every numeric
     * parameter was found in range. Returns 0, or nonzero after writing a
     * message into msg (msgsz may be 0). */
    int (*check)(const double *params, char *msg, size_t msgsz);

    /* Computing members (lookback, batch function, streaming state size,
     * init and step) are added here by the compute issue. */
};

/* Number of indicators in the catalogue. */
size_t fs_indicator_count(void);

/* The i-th indicator (0-based, in catalogue order), or NULL when i >= count. */
const fs_indicator_spec *fs_indicator_at(size_t i);

/* The indicator called `name` (exact, case-sensitive), or NULL if unknown
 * or name is NULL. */
const fs_indicator_spec *fs_indicator_find(const char *name);

/* The known indicator name closest to `name` (compared lowercased, by edit
 * distance: at most 1 for names of up to 4 characters, else 2), for a
 * "did you mean" hint; NULL when nothing is that close. "rsii" -> "rsi",
 * "RSI" -> "rsi". */
const char *fs_indicator_suggest(const char *name);

/* Index of the named input role / parameter / output in s, or -1 when s has
 * none of that name (or an argument is NULL). */
int fs_indicator_input_index(const fs_indicator_spec *s, const char *role);
int fs_indicator_param_index(const fs_indicator_spec *s, const char *param);
int fs_indicator_output_index(const fs_indicator_spec *s, const char *output);

/* Fills params[0..FS_IND_MAX_PARAMS) with s's defaults: NAN for required and
 * string parameters and for unused slots. */
void fs_indicator_defaults(const fs_indicator_spec *s, double params[FS_IND_MAX_PARAMS]);

/* Parses the YAML text of parameter `param_index` of s and checks it.
 *  INT:    a YAML number (14, +14, 14.0, 1e2; not 0x10, .inf, 1_000) that is
 *          whole and within [min, max];
 *  REAL:   a finite YAML number within [min, max];
 *  STRING: 1..FS_IND_MAX_STRING bytes, no whitespace or control characters;
 *          *value_out is set to NAN (the caller keeps the text).
 * Leading and trailing spaces are ignored.
 * @param[out] value_out  written only on success
 * @param[out] msg        on failure, a message naming the parameter, the
 *                        indicator and the rule, e.g. "param 'period' of rsi
 *                        must be an integer in [2, 100000], got 1.5";
 *                        truncated to msgsz (msg may be NULL when msgsz is 0)
 * @return 0; FS_E_INVALID_DEF (the value breaks the rule: msg says how);
 *         FS_E_INVAL (s, text or value_out NULL, or param_index out of range). */
int fs_indicator_parse_param(const fs_indicator_spec *s, int param_index, const char *text,
                             double *value_out, char *msg, size_t msgsz);

/* Checks a complete parameter vector (defaults overridden by parsed values):
 * every numeric parameter in range (and whole for INT), then s->check.
 * String parameters are not seen here: parse_param checks their text, and
 * the caller checks that required ones were given.
 * @return 0; FS_E_INVALID_DEF with a message in msg; FS_E_INVAL (NULL args). */
int fs_indicator_check(const fs_indicator_spec *s, const double *params, char *msg,
                       size_t msgsz);

/* "int", "real" or "string", for messages and docs. */
const char *fs_param_type_name(fs_param_type t);

#endif
