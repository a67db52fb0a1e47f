/* expr_eval.h — evaluation of derived features (`expr:`): a checked fs_expr
 * is compiled once into an immutable program, which evaluates blocks of rows
 * column at a time against a small per-entity state.
 *
 *   fs_expr_prog *p;                      once per definition
 *   fs_expr_compile(e, &p, errbuf, sizeof errbuf);
 *   state   = malloc(fs_expr_state_size(p));           once per entity
 *   fs_expr_state_init(p, state);
 *   scratch = malloc(fs_expr_scratch_size(p, 4096));   once per thread
 *   fs_expr_eval(p, state, scratch, in, n, out);       per block, n <= 4096
 *
 * Determinism. Evaluating an entity's history in one block, in blocks of any
 * sizes, or one row at a time gives bit-identical results: scalar operators
 * are pure functions of their row, and window functions advance their state
 * row by row with the same arithmetic whatever the block boundaries. The state
 * is one contiguous block of plain data (no pointers), so it can be saved with
 * memcpy()/write() and resumed later, bit for bit. The windowed aggregates
 * (mean, std, zscore, sum, min_over, max_over) are recomputed from the window
 * each row, so their value is a function of the last n values alone: a run
 * that starts from a fresh state fs_expr_lookback() rows earlier gives the same
 * bits as one that has been running since the beginning. lag, delta and
 * pct_change have the same property; ewm, whose memory is unbounded, does not.
 *
 * Values. Every value is a double: numeric as is, boolean 0 or 1, string an
 * interned code (below), null (missing) NaN. Inputs are normalised when read:
 * NaN and ±Inf are null, a boolean input is 1 when nonzero. Results never
 * contain ±Inf: an operation whose result is not finite gives null, and every
 * null result is the same NaN (the bits of the C macro NAN), so results can be
 * compared with memcmp.
 *
 * Nulls. Arithmetic (+ - * / %, unary -) with a null operand is null; x / 0
 * and x % 0 are null; overflow to ±Inf is null. % is the floored modulo of
 * Python/NumPy: the result has the sign of the divisor (-7 % 3 == 2).
 * Comparisons (== != < <= > >=) with a null operand are null. and / or are
 * three-valued (Kleene, as in SQL): false and null = false, true or null =
 * true, otherwise null with a null operand; not null = null.
 * if(c, a, b): null when c is null (use coalesce(c, false) for SQL's "unknown
 * is not true"), else a or b. coalesce(a, b, ...): the first non-null argument,
 * null if all are. min(...) / max(...): null if any argument is null. abs,
 * sign, exp, sqrt, log, pow, clip: null in, null out; log(x) is null for
 * x <= 0, sqrt(x) for x < 0, pow(x, y) when the C result is NaN or ±Inf
 * (pow(-8, 1/3), pow(0, -1)), exp(x) when it overflows. clip(x, lo, hi) is
 * min(max(x, lo), hi), so hi wins when lo > hi. sign(x) is -1, 0 or 1.
 *
 * Window functions see every row of the entity, also rows where an enclosing
 * if() or coalesce() does not use their value. Over window n:
 *   lag(x, n)         x of n rows before; null for the first n rows.
 *   delta(x, n)       x - lag(x, n); pct_change(x, n) x / lag(x, n) - 1, null
 *                     when lag(x, n) is 0.
 *   mean, sum, std, zscore, min_over, max_over: over the last n rows, this one
 *                     included; null until n rows were seen and whenever a
 *                     value in the window is null (pandas' rolling default,
 *                     min_periods = n). The sum runs oldest to newest.
 *   std               SAMPLE standard deviation (ddof = 1, as pandas'
 *                     rolling().std()); null for n = 1. Computed each row from
 *                     the window by the corrected two-pass algorithm (no
 *                     running sums, so no catastrophic cancellation and no
 *                     drift); exactly 0 when all n values are equal.
 *   zscore(x, n)      (x - mean(x, n)) / std(x, n); null when std is 0.
 *   ewm(x, n)         alpha = 2 / (n + 1), seeded like TA-Lib's EMA: null
 *                     until n non-null values were seen, then their simple
 *                     mean, then prev + alpha * (x - prev). A null x gives null
 *                     and leaves the average unchanged (the row is skipped).
 *                     If the average overflows, the warm-up starts again.
 * mean, sum, std and zscore cost O(n) per row; min_over/max_over too.
 *
 * Strings (categorical features) are interned codes: the caller maps every
 * string to a finite double, equal strings to equal codes and different
 * strings to different codes, in one code space shared by its string inputs
 * and the string literals of the expression, which fs_expr_compile_ex
 * resolves through its `intern` callback. == and != compare codes; if,
 * coalesce and lag move them; a string-typed result is a code. Without a
 * callback (fs_expr_compile), an expression with a string literal does not
 * compile; string-typed inputs still do.
 *
 * Threads: a program is immutable; any number of threads may evaluate it at
 * once, each with its own scratch, and each entity's state used by one thread
 * at a time. */
#ifndef FS_EXPR_EVAL_H
#define FS_EXPR_EVAL_H

#include <stddef.h>

#include "compute/expr.h"

typedef struct fs_expr_prog fs_expr_prog;

/* Maps the string literal `str` (decoded, NUL-terminated) to its code.
 * Returns 0 and sets *code (a finite double) on success; nonzero on failure:
 * a negative FS_E_* status is passed on by fs_expr_compile, anything else
 * becomes FS_E_INVAL. */
typedef int (*fs_expr_intern_fn)(void *ctx, const char *str, double *code);

/* Compiles an expression on which fs_expr_check() succeeded. Reference i
 * (fs_expr_ref_name(e, i)) becomes input slot i. The node types are verified
 * again, so an expression whose check failed or was never run is rejected
 * (unless reading every name as numeric is itself well typed). The program
 * does not point into `e`, which may be freed afterwards. String literals
 * need fs_expr_compile_ex.
 * @param[out] out  on success the program, freed with fs_expr_prog_free();
 *                  on failure set to NULL
 * @param[out] err  on failure a NUL-terminated message (naming the column of
 *                  the offending node, "at col N"), truncated to errsz bytes;
 *                  "" on success; may be NULL
 * @return FS_OK; FS_E_INVAL (e or out NULL, expression not type-checked,
 *         string literal without interner, interner failure); FS_E_NOMEM. */
int fs_expr_compile(const fs_expr *e, fs_expr_prog **out, char *err, size_t errsz);

/* fs_expr_compile, with `intern` resolving the string literals (may be NULL
 * when there are none). */
int fs_expr_compile_ex(const fs_expr *e, fs_expr_intern_fn intern, void *intern_ctx, fs_expr_prog **out,
                       char *err, size_t errsz);

/* Frees a program. NULL is allowed. */
void fs_expr_prog_free(fs_expr_prog *p);

/* The type of the result. */
fs_expr_type fs_expr_prog_type(const fs_expr_prog *p);
/* The inputs: as many as fs_expr_ref_count() of the expression; their names
 * (copied from it) and types. Out of range: NULL / -1. */
size_t fs_expr_prog_input_count(const fs_expr_prog *p);
const char *fs_expr_prog_input_name(const fs_expr_prog *p, size_t i);
int fs_expr_prog_input_type(const fs_expr_prog *p, size_t i);
/* 1 if the expression has window functions (then it needs a state), else 0. */
int fs_expr_prog_has_windows(const fs_expr_prog *p);

/* Bytes of one entity's state: a header identifying the program, then for
 * each window function its position and, except for ewm, a ring of n doubles.
 * At least 8. The state has no pointers and is in the machine's native byte
 * order; it must be aligned for double (malloc'd memory is). */
size_t fs_expr_state_size(const fs_expr_prog *p);

/* Initialises a state for the first row of an entity (an empty history). */
void fs_expr_state_init(const fs_expr_prog *p, void *state);

/* Bytes of scratch for blocks of up to max_rows rows: a few columns of
 * max_rows doubles (columns are reused once their node is consumed). May be 0
 * (scratch may then be NULL); SIZE_MAX if the size would overflow. */
size_t fs_expr_scratch_size(const fs_expr_prog *p, size_t max_rows);

/* Evaluates n consecutive rows of one entity. in[slot] points to n values of
 * input slot `slot` (NaN for null); out receives n results. The scratch must
 * hold at least fs_expr_scratch_size(p, n) bytes (one sized for any max_rows
 * >= n does) and be aligned for double; out must not overlap the inputs or the
 * scratch. Allocates nothing. n == 0 does nothing.
 * @param state  the entity's state, advanced by n rows; may be NULL when the
 *               program has no window functions
 * @return FS_OK; FS_E_INVAL (a NULL argument that is needed); FS_E_CORRUPT
 *         (the state was not initialised for this program, or is damaged:
 *         nothing is evaluated and the state is unchanged). */
int fs_expr_eval(const fs_expr_prog *p, void *state, void *scratch, const double *const *in, size_t n,
                 double *out);

#endif
