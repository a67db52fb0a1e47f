/* expr.h — the expression language of derived features: parsing and type
 * checking. A feature defined as `expr: "(ask - bid) / ((ask + bid) / 2)"`
 * is parsed once when definitions are applied; the tree is then checked
 * against the registry (which knows the type of every feature and column) and
 * handed to the evaluator. docs/expressions.md is the language reference.
 *
 * Lifecycle: fs_expr_parse() creates an fs_expr, fs_expr_free() releases it
 * and everything it points to. Every pointer returned by the functions below
 * (nodes, names, strings) is borrowed from the fs_expr: valid until
 * fs_expr_free(), not to be modified or freed. An fs_expr is not changed by
 * anything but fs_expr_check(), so several threads may read one at once as
 * long as none of them is checking it.
 *
 * Evaluation is not here, but the tree is laid out for it: fs_expr_nodes()
 * lists the nodes in post-order (children before their parent, root last)
 * and every node carries its index there (`id`). A vectorised evaluator can
 * therefore walk that array once per column batch, keeping one scratch
 * column per node id, with no recursion: a long chain `a + b + c + ...` makes
 * a tree as deep as it is long, and only the nesting of parentheses, calls and
 * unary operators is bounded (FS_EXPR_MAX_NESTING). */
#ifndef FS_EXPR_H
#define FS_EXPR_H

#include <stddef.h>

/* Value types of expressions. Feature types map as: numeric -> NUMERIC,
 * categorical -> STRING, boolean -> BOOLEAN; other feature types (timestamp,
 * vector) have no expression type. */
typedef enum { FS_EXPR_NUMERIC = 0, FS_EXPR_BOOLEAN, FS_EXPR_STRING } fs_expr_type;

/* Parentheses, function calls and unary operators may nest this deep. Deeper
 * input is rejected rather than risk the parser's stack. */
#define FS_EXPR_MAX_NESTING 64

/* The largest window length a window function accepts. A bound so that a typo
 * (`mean(x, 10000000000)`) fails when definitions are applied rather than as an
 * out-of-memory at compute time; raise it when a real feature needs more. */
#define FS_EXPR_MAX_WINDOW 1000000

/* The first error found. `col` is 1-based: the byte offset of the offending
 * token in the expression text plus one (the length of the text plus one for
 * "end of expression"). `msg` does not repeat the column, so a caller can place
 * the error as "file:line:col: msg" by adding the column to where the
 * expression starts in its file. */
typedef struct {
    int col;
    char msg[256];
} fs_expr_error;

typedef enum {
    FS_EN_NUM = 0, /* numeric literal: num */
    FS_EN_BOOL,    /* true / false: boolean */
    FS_EN_STR,     /* string literal: str (escapes decoded) */
    FS_EN_REF,     /* feature or column: str (the name as written), ref */
    FS_EN_UNARY,   /* op, args[0] */
    FS_EN_BINARY,  /* op, args[0] (left), args[1] (right) */
    FS_EN_CALL     /* fn, args[0..nargs-1], window */
} fs_expr_node_kind;

/* Operators. `||`, `&&` and `!` parse to FS_OP_OR, FS_OP_AND and FS_OP_NOT. */
typedef enum {
    FS_OP_OR = 0, FS_OP_AND, FS_OP_NOT,
    FS_OP_EQ, FS_OP_NE, FS_OP_LT, FS_OP_LE, FS_OP_GT, FS_OP_GE,
    FS_OP_ADD, FS_OP_SUB, FS_OP_MUL, FS_OP_DIV, FS_OP_MOD,
    FS_OP_NEG, FS_OP_POS, /* unary - and + */
    FS_OP_COUNT
} fs_expr_op;

/* Functions. The window functions (FS_FN_LAG and after) read the row history
 * of one entity; their second argument is a positive integer literal, kept in
 * the call node's `window`. */
typedef enum {
    FS_FN_IF = 0, FS_FN_ABS, FS_FN_LOG, FS_FN_EXP, FS_FN_SQRT, FS_FN_POW, FS_FN_SIGN,
    FS_FN_CLIP, FS_FN_MIN, FS_FN_MAX, FS_FN_COALESCE,
    FS_FN_LAG, FS_FN_DELTA, FS_FN_PCT_CHANGE, FS_FN_MEAN, FS_FN_STD, FS_FN_ZSCORE,
    FS_FN_EWM, FS_FN_SUM, FS_FN_MIN_OVER, FS_FN_MAX_OVER,
    FS_FN_COUNT
} fs_expr_fn;

/* One node of the tree. Fields not listed for a kind are zero. */
typedef struct fs_expr_node fs_expr_node;
struct fs_expr_node {
    fs_expr_node_kind kind;
    int id;            /* index in fs_expr_nodes(); every child has a smaller id */
    int col;           /* 1-based column of the node's token: the literal, the
                          name, the operator, or the function name of a call */
    int len;           /* length in bytes of that token in the text */
    fs_expr_type type; /* literals: set by the parser; others: set by a
                          successful fs_expr_check(), meaningless before */
    double num;        /* FS_EN_NUM */
    int boolean;       /* FS_EN_BOOL: 0 or 1 */
    const char *str;   /* FS_EN_STR: the decoded value; FS_EN_REF: the name,
                          "feature" or "view.feature". NUL-terminated. */
    int ref;           /* FS_EN_REF: index in the reference list (fs_expr_ref_name) */
    fs_expr_op op;     /* FS_EN_UNARY, FS_EN_BINARY */
    fs_expr_fn fn;     /* FS_EN_CALL */
    int window;        /* FS_EN_CALL of a window function: its window length,
                          the value of the literal args[1]; otherwise 0 */
    int nargs;         /* children: 1 (unary), 2 (binary), the arguments (call) */
    fs_expr_node **args;
};

typedef struct fs_expr fs_expr;

/* Tells the type of a feature or column named in an expression. `name` is the
 * identifier as written: "rsi_14" or, for a feature of another view,
 * "spot.close". Returns 0 and sets *type_out when the name is known; nonzero
 * when it is not (fs_expr_check then fails with "unknown feature or column").
 * A feature whose type has no expression type should be reported as unknown. */
typedef int (*fs_expr_resolve_fn)(void *ctx, const char *name, fs_expr_type *type_out);

/* Parses `text` (NUL-terminated). Syntax, function names, argument counts and
 * window lengths are checked here, so a parsed tree is well formed; names and
 * types are checked by fs_expr_check().
 * @param[in] text   the expression
 * @param[out] out   on success the parsed expression, freed with
 *                   fs_expr_free(); on failure set to NULL
 * @param[out] err   on failure the first error; may be NULL
 * @return FS_OK; FS_E_PARSE (err says where and why); FS_E_NOMEM;
 *         FS_E_INVAL (text or out is NULL). */
int fs_expr_parse(const char *text, fs_expr **out, fs_expr_error *err);

/* Resolves every name through `resolve` (called once per distinct name, in
 * order of first appearance as the check reaches it) and checks the type
 * rules, setting each node's `type`. Stops at the first error. May be called
 * again, with another resolver; node types then reflect the last call.
 * @param[in] resolve  may be NULL when the expression names nothing; with
 *                     NULL, any name is unknown
 * @param[out] result  on success the type of the whole expression; may be NULL
 * @param[out] err     on failure the first error; may be NULL
 * @return FS_OK; FS_E_INVALID_DEF (unknown name or type error);
 *         FS_E_INVAL (e is NULL, or the resolver gave a type out of range). */
int fs_expr_check(fs_expr *e, fs_expr_resolve_fn resolve, void *ctx, fs_expr_type *result,
                  fs_expr_error *err);

/* The root node. */
const fs_expr_node *fs_expr_root(const fs_expr *e);

/* All nodes in post-order: children before their parent, the root last.
 * nodes[i]->id == i. *count receives the number of nodes. */
const fs_expr_node *const *fs_expr_nodes(const fs_expr *e, size_t *count);

/* The distinct names the expression refers to, in order of first appearance,
 * so the registry can build the dependency graph. fs_expr_ref_col gives the
 * column of the first appearance (for error messages). Out-of-range i: NULL / 0. */
size_t fs_expr_ref_count(const fs_expr *e);
const char *fs_expr_ref_name(const fs_expr *e, size_t i);
int fs_expr_ref_col(const fs_expr *e, size_t i);

/* The largest window length used by any window function; 0 if none. */
int fs_expr_max_window(const fs_expr *e);

/* How many rows before the current one the expression may read: what a
 * planner must re-read before the first row it computes. Nested windows add
 * up: mean(lag(x, 5), 10) reads 9 rows back from rows that each read 5 back,
 * so 14. lag, delta and pct_change over n read n rows back; mean, std, zscore,
 * sum, min_over, max_over and ewm over n read n - 1 (their window includes the
 * current row; ewm is given the warm-up of TA-Lib's EMA, which seeds from the
 * first n values, although its memory is in truth unbounded). */
int fs_expr_lookback(const fs_expr *e);

/* The expression as canonical text: every unary and binary operation in
 * parentheses, canonical operator spellings (`and`, `or`, `not`), numbers in
 * their shortest round-trip form, strings single-quoted, one space around
 * binary operators and after commas. Parsing the result gives the same tree,
 * so the text can be compared or hashed to tell whether a definition changed.
 * @param[out] out  a NUL-terminated string to free with free()
 * @return FS_OK; FS_E_NOMEM; FS_E_INVAL. */
int fs_expr_format(const fs_expr *e, char **out);

/* Names: "numeric", "boolean", "string"; the function name ("pct_change");
 * the operator's canonical spelling ("and", "<=", "-"). NULL if out of range. */
const char *fs_expr_type_name(fs_expr_type t);
const char *fs_expr_fn_name(fs_expr_fn fn);
const char *fs_expr_op_name(fs_expr_op op);

/* The argument counts of a function: *max_args is -1 when unbounded.
 * Returns 1 for a window function, 0 for another, -1 if out of range. */
int fs_expr_fn_info(fs_expr_fn fn, int *min_args, int *max_args);

/* Frees the expression and everything borrowed from it. NULL is allowed. */
void fs_expr_free(fs_expr *e);

#endif
