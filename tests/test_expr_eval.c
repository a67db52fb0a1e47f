/* Tests of the expression evaluator (src/compute/expr_eval.h): every operator
 * and function on hand-checked rows with nulls, the window functions against
 * a brute-force reference computed from the whole array, bit-identical
 * results whatever the block sizes (one block, random blocks, one row at a
 * time), state persistence and restart after the lookback, string values as
 * interned codes, the ten derived features of examples/features.yaml, and the
 * error paths. */
#include <stdint.h>

#include "compute/expr.h"
#include "compute/expr_eval.h"
#include "core/diag.h"
#include "fstore.h"
#include "registry/defs.h"
#include "registry/load.h"
#include "test.h"

#define N NAN

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

/* Inputs by name: x y z a b numeric, c d boolean, s t string (interned
 * codes). Tests point these at their columns. */
static const double *g_x, *g_y, *g_z, *g_a, *g_b, *g_c, *g_d, *g_s, *g_t;

static const double *input_column(const char *name)
{
    static const struct {
        const char *name;
        const double **col;
    } map[] = {{"x", &g_x}, {"y", &g_y}, {"z", &g_z}, {"a", &g_a}, {"b", &g_b},
               {"c", &g_c}, {"d", &g_d}, {"s", &g_s}, {"t", &g_t}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, name) == 0)
            return *map[i].col;
    return NULL;
}

static int resolve_test(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    if (!strcmp(name, "c") || !strcmp(name, "d"))
        *type = FS_EXPR_BOOLEAN;
    else if (!strcmp(name, "s") || !strcmp(name, "t"))
        *type = FS_EXPR_STRING;
    else if (strlen(name) == 1 && strchr("xyzab", name[0]))
        *type = FS_EXPR_NUMERIC;
    else
        return 1;
    return 0;
}

static int resolve_numeric(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    (void)name;
    *type = FS_EXPR_NUMERIC;
    return 0;
}

/* String codes: 'bull' 1, 'bear' 2, 'flat' 3, 'up' 4, 'none' 5. */
static int intern_calls;

static int intern_test(void *ctx, const char *str, double *code)
{
    (void)ctx;
    static const char *const names[] = {"bull", "bear", "flat", "up", "none"};
    intern_calls++;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], str) == 0) {
            *code = (double)(i + 1);
            return 0;
        }
    return FS_E_NOTFOUND;
}

/* Parses, checks and compiles; a failure is a test failure (NULL result). */
static fs_expr_prog *compile_text(const char *text, fs_expr_resolve_fn resolve)
{
    fs_expr *e = NULL;
    fs_expr_error err;
    if (fs_expr_parse(text, &e, &err) != FS_OK) {
        fprintf(stderr, "  \"%s\": parse error col %d: %s\n", text, err.col, err.msg);
        CHECK(0);
        return NULL;
    }
    if (fs_expr_check(e, resolve, NULL, NULL, &err) != FS_OK) {
        fprintf(stderr, "  \"%s\": check error col %d: %s\n", text, err.col, err.msg);
        CHECK(0);
        fs_expr_free(e);
        return NULL;
    }
    fs_expr_prog *p = NULL;
    char msg[256];
    int rc = fs_expr_compile_ex(e, intern_test, NULL, &p, msg, sizeof msg);
    fs_expr_free(e);
    if (rc != FS_OK) {
        fprintf(stderr, "  \"%s\": compile error: %s\n", text, msg);
        CHECK_INT(rc, FS_OK);
        return NULL;
    }
    return p;
}

static void *xmalloc(size_t n)
{
    void *m = malloc(n ? n : 1);
    if (!m)
        abort();
    return m;
}

/* Input pointers of p, offset by `row`, from input_column(). */
static void bind_inputs(const fs_expr_prog *p, size_t row, const double **in)
{
    for (size_t i = 0; i < fs_expr_prog_input_count(p); i++) {
        const double *col = input_column(fs_expr_prog_input_name(p, i));
        CHECK(col != NULL);
        in[i] = col ? col + row : NULL;
    }
}

/* How to split n rows into blocks. */
typedef enum { ONE_BLOCK, EACH_ROW, RANDOM_BLOCKS } split;

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t xorshift64(void) { return test_xorshift64(&rng_state); }

static unsigned rnd(unsigned n)
{
    return (unsigned)(xorshift64() % n);
}

static double rnd_unit(void)
{
    return (double)(xorshift64() >> 11) / 9007199254740992.0;
}

/* Evaluates rows [0, n) of the globals with program p into out, starting
 * from `state` (advanced). Scratch is allocated for exactly each block's size
 * so that ASan sees any overrun. Returns the first non-OK status. */
static int eval_split(const fs_expr_prog *p, void *state, size_t n, split how, double *out)
{
    const double *in[16];
    for (size_t row = 0; row < n;) {
        size_t len = how == ONE_BLOCK ? n - row : how == EACH_ROW ? 1 : 1 + rnd(37);
        if (len > n - row)
            len = n - row;
        bind_inputs(p, row, in);
        void *scratch = xmalloc(fs_expr_scratch_size(p, len));
        int rc = fs_expr_eval(p, state, scratch, in, len, out + row);
        free(scratch);
        if (rc != FS_OK)
            return rc;
        row += len;
    }
    return FS_OK;
}

/* Evaluates text over the first n rows of the globals in one block. */
static int eval_text(const char *text, size_t n, double *out)
{
    fs_expr_prog *p = compile_text(text, resolve_test);
    if (!p)
        return FS_E_INVAL;
    void *state = xmalloc(fs_expr_state_size(p));
    fs_expr_state_init(p, state);
    int rc = eval_split(p, state, n, ONE_BLOCK, out);
    free(state);
    fs_expr_prog_free(p);
    return rc;
}

static int same_value(double got, double want, double tol)
{
    if (isnan(want))
        return isnan(got);
    return !isnan(got) && fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

static int is_canonical_null(double v)
{
    double canon = NAN;
    return memcmp(&v, &canon, sizeof v) == 0;
}

/* Evaluates text over want_n rows (one block, then one row at a time, which
 * must agree bit for bit) and compares with want within tol. Every null in
 * the result must be the canonical NaN, and nothing may be infinite. */
static void check_eval(const char *file, int line, const char *text, const double *want, size_t n, double tol)
{
    double got[64], rows[64];
    if (n > 64)
        abort();
    int rc = eval_text(text, n, got);
    if (rc != FS_OK) {
        t_failed_checks++;
        fprintf(stderr, "  %s:%d: \"%s\": eval failed %d\n", file, line, text, rc);
        return;
    }
    fs_expr_prog *p = compile_text(text, resolve_test);
    if (p) {
        void *state = xmalloc(fs_expr_state_size(p));
        fs_expr_state_init(p, state);
        CHECK_INT(eval_split(p, state, n, EACH_ROW, rows), FS_OK);
        if (memcmp(got, rows, n * sizeof *got) != 0) {
            t_failed_checks++;
            fprintf(stderr, "  %s:%d: \"%s\": one row at a time differs from one block\n", file, line, text);
        }
        free(state);
        fs_expr_prog_free(p);
    }
    for (size_t i = 0; i < n; i++) {
        if (!same_value(got[i], want[i], tol) || isinf(got[i]) || (isnan(got[i]) && !is_canonical_null(got[i]))) {
            t_failed_checks++;
            fprintf(stderr, "  %s:%d: \"%s\" row %zu: got %.17g, want %.17g\n", file, line, text, i, got[i],
                    want[i]);
        }
    }
}

#define CHECK_EVAL_TOL(text, tol, ...)                                        \
    do {                                                                      \
        static const double want_[] = {__VA_ARGS__};                          \
        check_eval(__FILE__, __LINE__, (text), want_, sizeof want_ / sizeof want_[0], (tol)); \
    } while (0)

#define CHECK_EVAL(text, ...) CHECK_EVAL_TOL(text, 0.0, __VA_ARGS__)

/* ---------------------------------------------------------------------------
 * Scalar operators and functions
 * ------------------------------------------------------------------------- */

/* Nine rows shared by the scalar tests. c and d enumerate the 3 x 3 truth
 * table of two booleans with null. */
static const double X9[] = {1, -2, 0, N, 3, 4.5, -7, 1e300, 2};
static const double Y9[] = {2, 0, -3, 1, N, 1.5, 3, 1e300, -4};
static const double C9[] = {1, 1, 1, 0, 0, 0, N, N, N};
static const double D9[] = {1, 0, N, 1, 0, N, 1, 0, N};

static void use_rows9(void)
{
    g_x = X9, g_y = Y9, g_c = C9, g_d = D9;
}

TEST(test_arithmetic)
{
    use_rows9();
    CHECK_EVAL("x + y", 3, -2, -3, N, N, 6, -4, 2e300, -2);
    CHECK_EVAL("x - y", -1, -2, 3, N, N, 3, -10, 0, 6);
    CHECK_EVAL("x * y", 2, 0, 0, N, N, 6.75, -21, N /* overflow */, -8);
    CHECK_EVAL("x / y", 0.5, N /* by zero */, 0, N, N, 3, -7.0 / 3, 1, -0.5);
    /* floored modulo: the sign of the divisor */
    CHECK_EVAL("x % y", 1, N, 0, N, N, 0, 2, 0, -2);
    CHECK_EVAL("-x", -1, 2, 0, N, -3, -4.5, 7, -1e300, -2);
    CHECK_EVAL("+x", 1, -2, 0, N, 3, 4.5, -7, 1e300, 2);
    CHECK_EVAL("x * 1e10 * 1e300", N, N, 0, N, N, N, N, N, N); /* overflow */
    CHECK_EVAL("-7 % 3", 2, 2, 2, 2, 2, 2, 2, 2, 2);
    CHECK_EVAL("7 % -3", -2);
    CHECK_EVAL("-7.5 % 2", 0.5);
    CHECK_EVAL("1 / 0 + 1", N);
    CHECK_EVAL("0 / 0", N);
    CHECK_EVAL("2 * 3 + 4 / 8 - 1", 5.5);
}

TEST(test_comparisons)
{
    use_rows9();
    CHECK_EVAL("x < y", 1, 1, 0, N, N, 0, 1, 0, 0);
    CHECK_EVAL("x <= y", 1, 1, 0, N, N, 0, 1, 1, 0);
    CHECK_EVAL("x > y", 0, 0, 1, N, N, 1, 0, 0, 1);
    CHECK_EVAL("x >= y", 0, 0, 1, N, N, 1, 0, 1, 1);
    CHECK_EVAL("x == y", 0, 0, 0, N, N, 0, 0, 1, 0);
    CHECK_EVAL("x != y", 1, 1, 1, N, N, 1, 1, 0, 1);
    CHECK_EVAL("c == d", 1, 0, N, 0, 1, N, N, N, N);
    CHECK_EVAL("c != d", 0, 1, N, 1, 0, N, N, N, N);
    CHECK_EVAL("c == true", 1, 1, 1, 0, 0, 0, N, N, N);
}

TEST(test_logic_three_valued)
{
    use_rows9();
    /* rows: TT TF TN FT FF FN NT NF NN */
    CHECK_EVAL("c and d", 1, 0, N, 0, 0, 0, N, 0, N);
    CHECK_EVAL("c or d", 1, 1, 1, 1, 0, N, 1, N, N);
    CHECK_EVAL("not c", 0, 0, 0, 1, 1, 1, N, N, N);
    CHECK_EVAL("(not (c and d)) == (not c or not d)", 1, 1, N, 1, 1, 1, N, 1, N);
    CHECK_EVAL("c && !d || false", 0, 1, N, 0, 0, 0, 0, N, N);
    /* a boolean input is 1 when nonzero */
    static const double odd[] = {2, -0.5, 0, N};
    g_c = odd;
    CHECK_EVAL("c", 1, 1, 0, N);
    CHECK_EVAL("not c", 0, 0, 1, N);
}

TEST(test_if_coalesce)
{
    use_rows9();
    /* null condition -> null */
    CHECK_EVAL("if(c, x, y)", 1, -2, 0, 1, N, 1.5, N, N, N);
    CHECK_EVAL("if(coalesce(c, false), x, y)", 1, -2, 0, 1, N, 1.5, 3, 1e300, -4);
    CHECK_EVAL("if(x > y, x, y) * 2", 4, 0, 0, N, N, 9, 6, 2e300, 4);
    CHECK_EVAL("if(c, d, not d)", 1, 0, N, 0, 1, N, N, N, N);
    static const double A[] = {1, N, N, N, 5};
    static const double B[] = {2, 3, N, N, N};
    static const double Z[] = {N, 7, 8, N, 9};
    g_a = A, g_b = B, g_z = Z;
    CHECK_EVAL("coalesce(a, b, 0)", 1, 3, 0, 0, 5);
    CHECK_EVAL("coalesce(a, b, z)", 1, 3, 8, N, 5);
    CHECK_EVAL("coalesce(a, b)", 1, 3, N, N, 5);
    CHECK_EVAL("coalesce(a + b, z, -1)", 3, 7, 8, -1, 9);
    CHECK_EVAL("coalesce(a > 1, b > 2)", 0, 1, N, N, 1);
}

TEST(test_math_functions)
{
    static const double X[] = {4, -4, 0, N, 1, -0.5, 1e-300, 1000};
    g_x = X;
    CHECK_EVAL("abs(x)", 4, 4, 0, N, 1, 0.5, 1e-300, 1000);
    CHECK_EVAL("sign(x)", 1, -1, 0, N, 1, -1, 1, 1);
    CHECK_EVAL_TOL("log(x)", 1e-15, 1.3862943611198906, N, N, N, 0, N, -690.77552789821368, 6.9077552789821368);
    CHECK_EVAL_TOL("sqrt(x)", 1e-15, 2, N, 0, N, 1, N, 1e-150, 31.622776601683793);
    CHECK_EVAL_TOL("exp(x)", 1e-15, 54.598150033144236, 0.018315638888734179, 1, N, 2.7182818284590451,
                   0.60653065971263342, 1, N /* overflow */);
    CHECK_EVAL("pow(x, 2)", 16, 16, 0, N, 1, 0.25, 0, 1e6);
    CHECK_EVAL_TOL("pow(x, 0.5)", 1e-15, 2, N /* NaN in C */, 0, N, 1, N, 1e-150, 31.622776601683793);
    CHECK_EVAL_TOL("pow(x, -1)", 1e-15, 0.25, -0.25, N /* inf */, N, 1, -2, 1e300, 0.001);
    CHECK_EVAL("pow(x, 0)", 1, 1, 1, N /* null in, null out */, 1, 1, 1, 1);
    CHECK_EVAL("clip(x, -1, 2)", 2, -1, 0, N, 1, -0.5, 1e-300, 2);
    CHECK_EVAL("clip(x, 3, 1)", 1, 1, 1, N, 1, 1, 1, 1); /* lo > hi: hi wins */
    static const double Y[] = {1, N, 2, 3, 5, 0, 0, 0};
    g_y = Y;
    CHECK_EVAL("clip(1, y, 4)", 1, N, 2, 3, 4, 1, 1, 1);
    CHECK_EVAL("min(x, y)", 1, N, 0, N, 1, -0.5, 0, 0);
    CHECK_EVAL("max(x, y)", 4, N, 2, N, 5, 0, 1e-300, 1000);
    CHECK_EVAL("min(x, y, -2)", -2, N, -2, N, -2, -2, -2, -2);
    CHECK_EVAL("max(x, y, 3, 4.5)", 4.5, N, 4.5, N, 5, 4.5, 4.5, 1000);
    CHECK_EVAL("coalesce(min(x, y), 0)", 1, 0, 0, 0, 1, -0.5, 0, 0);
}

TEST(test_infinite_inputs_are_null)
{
    static const double X[] = {INFINITY, -INFINITY, N, -N, 1};
    g_x = X;
    CHECK_EVAL("x", N, N, N, N, 1);
    CHECK_EVAL("coalesce(x, 0)", 0, 0, 0, 0, 1);
    CHECK_EVAL("-x", N, N, N, N, -1);
    CHECK_EVAL("lag(x, 1)", N, N, N, N, N);
}

/* ---------------------------------------------------------------------------
 * Window functions, hand-checked
 * ------------------------------------------------------------------------- */

TEST(test_windows_hand_checked)
{
    static const double X[] = {1, 2, 4, N, 8, 16, 32};
    g_x = X;
    CHECK_EVAL("lag(x, 1)", N, 1, 2, 4, N, 8, 16);
    CHECK_EVAL("lag(x, 2)", N, N, 1, 2, 4, N, 8);
    CHECK_EVAL("lag(x, 7)", N, N, N, N, N, N, N);
    CHECK_EVAL("delta(x, 1)", N, 1, 2, N, N, 8, 16);
    CHECK_EVAL("delta(x, 2)", N, N, 3, N, 4, N, 24);
    CHECK_EVAL("pct_change(x, 1)", N, 1, 1, N, N, 1, 1);
    CHECK_EVAL("pct_change(x, 2)", N, N, 3, N, 1, N, 3);
    CHECK_EVAL("sum(x, 2)", N, 3, 6, N, N, 24, 48);
    CHECK_EVAL("sum(x, 1)", 1, 2, 4, N, 8, 16, 32);
    CHECK_EVAL("mean(x, 2)", N, 1.5, 3, N, N, 12, 24);
    CHECK_EVAL("min_over(x, 3)", N, N, 1, N, N, N, 8);
    CHECK_EVAL("max_over(x, 3)", N, N, 4, N, N, N, 32);
    CHECK_EVAL("min_over(x, 1)", 1, 2, 4, N, 8, 16, 32);
    /* sample std: {1,2,4} -> sqrt(7/3); {8,16,32} -> 8 * sqrt(7/3) */
    CHECK_EVAL_TOL("std(x, 3)", 1e-15, N, N, 1.5275252316519468, N, N, N, 12.220201853215574);
    CHECK_EVAL_TOL("zscore(x, 3)", 1e-15, N, N, 1.0910894511799619, N, N, N, 1.0910894511799619);
    CHECK_EVAL("std(x, 1)", N, N, N, N, N, N, N);
    CHECK_EVAL("zscore(x, 1)", N, N, N, N, N, N, N);
    /* ewm over 3: alpha 0.5, seeded with the mean of the first 3 values */
    static const double E[] = {1, 2, 3, N, 4, 5};
    g_x = E;
    CHECK_EVAL("ewm(x, 3)", N, N, 2, N, 3, 4);
    CHECK_EVAL("ewm(x, 1)", 1, 2, 3, N, 4, 5);
    static const double E2[] = {1, N, 2, 3};
    g_x = E2;
    CHECK_EVAL("ewm(x, 2)", N, N, 1.5, 2.5); /* alpha 2/3: 1.5 + (3 - 1.5) * 2/3 */
    /* pct_change over a zero is null */
    static const double Z[] = {0, 5, 10};
    g_x = Z;
    CHECK_EVAL("pct_change(x, 1)", N, N, 1);
    CHECK_EVAL("delta(x, 1)", N, 5, 5);
}

TEST(test_windows_constant)
{
    /* 0.1 * 3 / 3 is not 0.1 in doubles; a constant window still has std 0
     * exactly, and zscore is null there rather than noise. */
    static const double X[] = {0.1, 0.1, 0.1, 0.1, 0.7};
    g_x = X;
    CHECK_EVAL_TOL("std(x, 3)", 1e-14, N, N, 0, 0, 0.34641016151377546);
    CHECK_EVAL_TOL("zscore(x, 3)", 1e-14, N, N, N, N, 1.1547005383792517);
    CHECK_EVAL("std(x, 3) == 0", N, N, 1, 1, 0);
    CHECK_EVAL("min_over(x, 2) == max_over(x, 2)", N, 1, 1, 1, 0);
    /* a large offset does not ruin the std (no running sum of squares) */
    static const double Big[] = {1e9 + 1, 1e9 + 2, 1e9 + 4};
    g_x = Big;
    CHECK_EVAL_TOL("std(x, 3)", 1e-9, N, N, 1.5275252316519468);
}

TEST(test_nested_windows)
{
    static double X[40];
    for (int i = 0; i < 40; i++)
        X[i] = i * i;
    g_x = X;
    double out[40];
    CHECK_INT(eval_text("mean(lag(x, 5), 10)", 40, out), FS_OK);
    for (int t = 0; t < 40; t++) {
        if (t < 14) { /* fs_expr_lookback: 14 rows back */
            CHECK(isnan(out[t]));
            continue;
        }
        double s = 0;
        for (int j = t - 9; j <= t; j++)
            s += X[j - 5];
        CHECK(out[t] == s / 10);
    }
    CHECK_INT(eval_text("ewm(delta(x, 1), 3)", 40, out), FS_OK);
    /* delta(x, 1) = 2t - 1 from row 1; seed = mean of rows 1..3 (1, 3, 5) at row 3 */
    CHECK(isnan(out[0]) && isnan(out[1]) && isnan(out[2]));
    CHECK(out[3] == 3);
    CHECK(out[4] == (7 - 3) * 0.5 + 3);
    CHECK(out[5] == (9 - 5) * 0.5 + 5);
}

/* ---------------------------------------------------------------------------
 * Window functions against a brute-force reference over the whole array
 * ------------------------------------------------------------------------- */

static double ref_window(fs_expr_fn fn, const double *x, int t, int n)
{
    if (fn == FS_FN_LAG || fn == FS_FN_DELTA || fn == FS_FN_PCT_CHANGE) {
        double old = t >= n ? x[t - n] : N;
        if (fn == FS_FN_LAG)
            return old;
        if (isnan(old) || isnan(x[t]))
            return N;
        return fn == FS_FN_DELTA ? x[t] - old : old == 0 ? N : x[t] / old - 1;
    }
    if (t < n - 1)
        return N;
    double s = 0, lo = INFINITY, hi = -INFINITY;
    for (int j = t - n + 1; j <= t; j++) {
        if (isnan(x[j]))
            return N;
        s += x[j];
        lo = fmin(lo, x[j]);
        hi = fmax(hi, x[j]);
    }
    double m = s / n;
    switch (fn) {
    case FS_FN_SUM: return s;
    case FS_FN_MEAN: return m;
    case FS_FN_MIN_OVER: return lo;
    case FS_FN_MAX_OVER: return hi;
    default: break;
    }
    if (n < 2)
        return N;
    double ss = 0;
    for (int j = t - n + 1; j <= t; j++)
        ss += (x[j] - m) * (x[j] - m);
    double sd = lo == hi ? 0 : sqrt(ss / (n - 1));
    if (fn == FS_FN_STD)
        return sd;
    return sd == 0 ? N : (x[t] - m) / sd;
}

/* TA-Lib's EMA over the non-null values; null rows give null. */
static void ref_ewm(const double *x, int len, int n, double *out)
{
    double acc = 0;
    int seen = 0;
    for (int t = 0; t < len; t++) {
        out[t] = N;
        if (isnan(x[t]))
            continue;
        if (seen < n) {
            acc += x[t];
            if (++seen < n)
                continue;
            acc /= n;
        } else {
            acc = (x[t] - acc) * (2.0 / (n + 1)) + acc;
        }
        out[t] = acc;
    }
}

TEST(test_windows_vs_reference)
{
    enum { LEN = 400 };
    static double X[LEN], out[LEN], want[LEN];
    for (int i = 0; i < LEN; i++) {
        unsigned r = rnd(20);
        X[i] = r == 0 ? N : r == 1 ? 0 : r < 4 && i > 0 ? X[i - 1] /* runs of equal values */
                                                          : 100 + 50 * (rnd_unit() - 0.5);
    }
    g_x = X;
    static const fs_expr_fn fns[] = {FS_FN_LAG, FS_FN_DELTA, FS_FN_PCT_CHANGE, FS_FN_MEAN, FS_FN_STD,
                                     FS_FN_ZSCORE, FS_FN_SUM, FS_FN_MIN_OVER, FS_FN_MAX_OVER, FS_FN_EWM};
    static const int windows[] = {1, 2, 3, 7, 20};
    int compared = 0;
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            char text[64];
            snprintf(text, sizeof text, "%s(x, %d)", fs_expr_fn_name(fns[f]), windows[w]);
            CHECK_INT(eval_text(text, LEN, out), FS_OK);
            if (fns[f] == FS_FN_EWM)
                ref_ewm(X, LEN, windows[w], want);
            else
                for (int t = 0; t < LEN; t++)
                    want[t] = ref_window(fns[f], X, t, windows[w]);
            /* same summation order: sums and means agree exactly; std and
             * zscore are computed differently (corrected two-pass) */
            double tol = fns[f] == FS_FN_STD || fns[f] == FS_FN_ZSCORE ? 1e-9 : 0;
            int bad = 0;
            for (int t = 0; t < LEN; t++) {
                if (!same_value(out[t], want[t], tol)) {
                    if (bad++ < 3)
                        fprintf(stderr, "  %s row %d: got %.17g want %.17g\n", text, t, out[t], want[t]);
                }
                compared += !isnan(want[t]);
            }
            CHECK_INT(bad, 0);
        }
    }
    CHECK(compared > 5000); /* the data leaves enough full windows */
}

/* ---------------------------------------------------------------------------
 * Block sizes, state persistence, restart after the lookback
 * ------------------------------------------------------------------------- */

static const char *const property_exprs[] = {
    "mean(lag(x, 5), 10)",
    "ewm(delta(x, 1), 3)",
    "if(x > y, x, y) * 2",
    "coalesce(a, b, 0)",
    "zscore(x, 7) + std(y, 4)",
    "pct_change(x, 3)",
    "sum(x * y, 5) / max_over(abs(y), 6)",
    "min_over(x, 3) - lag(y, 2)",
    "if(c and x > 0, log(x), sqrt(abs(y)))",
    "clip(x % 3, -1, 1) + sign(y) + pow(abs(x), 0.5)",
    "ewm(x, 1) + ewm(y, 20)",
    "max(x, y, a) - min(a, b)",
    "lag(c, 2) or not c",
    "delta(mean(x, 3), 2)",
    "exp(x / 100) - 1",
    "std(x, 2)",
    "lag(s, 3) == s",
    "if(c, s, t) != t",
    "coalesce(lag(s, 1), 'none') == 'bull'",
    "x",
    "-lag(x, 4) + x * x - x / (y + 1)",
    "zscore(ewm(x, 5), 12) > 1 and not (y < 0)",
    "sum(sum(x, 3), 3) - mean(min_over(y, 4), 2)",
    "42",
};
#define N_PROPERTY (sizeof property_exprs / sizeof property_exprs[0])

enum { PROP_ROWS = 500 };
static double PX[PROP_ROWS], PY[PROP_ROWS], PA[PROP_ROWS], PB[PROP_ROWS], PC[PROP_ROWS], PS[PROP_ROWS],
    PT[PROP_ROWS];

static double rnd_value(void)
{
    switch (rnd(25)) {
    case 0:
    case 1: return N;
    case 2: return 0;
    case 3: return INFINITY;
    case 4: return 1e300;
    default: return 200 * (rnd_unit() - 0.3);
    }
}

static void property_data(void)
{
    for (int i = 0; i < PROP_ROWS; i++) {
        PX[i] = rnd_value();
        PY[i] = rnd_value();
        PA[i] = rnd(3) ? rnd_value() : N;
        PB[i] = rnd(3) ? rnd_value() : N;
        PC[i] = rnd(10) == 0 ? N : (double)rnd(2);
        PS[i] = rnd(10) == 0 ? N : (double)(1 + rnd(3));
        PT[i] = rnd(10) == 0 ? N : (double)(1 + rnd(3));
    }
    g_x = PX, g_y = PY, g_a = PA, g_b = PB, g_c = PC, g_d = PC, g_s = PS, g_t = PT;
}

TEST(test_block_sizes_bit_identical)
{
    property_data();
    static double one[PROP_ROWS], rows[PROP_ROWS], blocks[PROP_ROWS];
    for (size_t k = 0; k < N_PROPERTY; k++) {
        fs_expr_prog *p = compile_text(property_exprs[k], resolve_test);
        if (!p)
            continue;
        size_t ss = fs_expr_state_size(p);
        void *s1 = xmalloc(ss), *s2 = xmalloc(ss), *s3 = xmalloc(ss);
        fs_expr_state_init(p, s1);
        fs_expr_state_init(p, s2);
        fs_expr_state_init(p, s3);
        CHECK_INT(eval_split(p, s1, PROP_ROWS, ONE_BLOCK, one), FS_OK);
        CHECK_INT(eval_split(p, s2, PROP_ROWS, EACH_ROW, rows), FS_OK);
        for (int rep = 0; rep < 3; rep++) {
            fs_expr_state_init(p, s3);
            CHECK_INT(eval_split(p, s3, PROP_ROWS, RANDOM_BLOCKS, blocks), FS_OK);
            if (memcmp(one, blocks, sizeof one) != 0) {
                t_failed_checks++;
                fprintf(stderr, "  \"%s\": random blocks differ from one block\n", property_exprs[k]);
            }
        }
        if (memcmp(one, rows, sizeof one) != 0) {
            t_failed_checks++;
            fprintf(stderr, "  \"%s\": one row at a time differs from one block\n", property_exprs[k]);
        }
        /* and the states end equal too */
        CHECK(memcmp(s1, s2, ss) == 0);
        CHECK(memcmp(s1, s3, ss) == 0);
        /* the result holds values, only canonical nulls, no infinities */
        int values = 0;
        for (int i = 0; i < PROP_ROWS; i++) {
            CHECK(!isinf(one[i]));
            if (isnan(one[i]))
                CHECK(is_canonical_null(one[i]));
            else
                values++;
        }
        if (values == 0)
            fprintf(stderr, "  \"%s\": no value at all\n", property_exprs[k]);
        CHECK(values > 0);
        free(s1);
        free(s2);
        free(s3);
        fs_expr_prog_free(p);
    }
}

TEST(test_state_persistence)
{
    property_data();
    static double whole[PROP_ROWS], resumed[PROP_ROWS];
    for (size_t k = 0; k < N_PROPERTY; k++) {
        fs_expr_prog *p = compile_text(property_exprs[k], resolve_test);
        if (!p)
            continue;
        size_t ss = fs_expr_state_size(p);
        void *live = xmalloc(ss), *saved = xmalloc(ss);
        fs_expr_state_init(p, live);
        CHECK_INT(eval_split(p, live, PROP_ROWS, ONE_BLOCK, whole), FS_OK);
        /* run 0..cut, save the state through a byte copy (as a file would),
         * scribble on the original, resume from the copy */
        size_t cut = 1 + rnd(PROP_ROWS - 2);
        fs_expr_state_init(p, live);
        CHECK_INT(eval_split(p, live, cut, RANDOM_BLOCKS, resumed), FS_OK);
        unsigned char *bytes = xmalloc(ss);
        memcpy(bytes, live, ss);
        memset(live, 0xA5, ss);
        memcpy(saved, bytes, ss);
        free(bytes);
        const double *in[16];
        bind_inputs(p, cut, in);
        void *scratch = xmalloc(fs_expr_scratch_size(p, PROP_ROWS - cut));
        CHECK_INT(fs_expr_eval(p, saved, scratch, in, PROP_ROWS - cut, resumed + cut), FS_OK);
        free(scratch);
        if (memcmp(whole, resumed, sizeof whole) != 0) {
            t_failed_checks++;
            fprintf(stderr, "  \"%s\": resuming from a saved state at row %zu differs\n", property_exprs[k], cut);
        }
        free(live);
        free(saved);
        fs_expr_prog_free(p);
    }
}

/* The value of a row depends only on the rows fs_expr_lookback() before it
 * (except ewm): starting from a fresh state that far back gives the same bits
 * as the run from the beginning. */
TEST(test_restart_after_lookback)
{
    property_data();
    static double whole[PROP_ROWS], part[PROP_ROWS];
    int tested = 0;
    for (size_t k = 0; k < N_PROPERTY; k++) {
        if (strstr(property_exprs[k], "ewm"))
            continue;
        fs_expr *e = NULL;
        CHECK_INT(fs_expr_parse(property_exprs[k], &e, NULL), FS_OK);
        int lookback = fs_expr_lookback(e);
        fs_expr_free(e);
        fs_expr_prog *p = compile_text(property_exprs[k], resolve_test);
        if (!p)
            continue;
        void *state = xmalloc(fs_expr_state_size(p));
        fs_expr_state_init(p, state);
        CHECK_INT(eval_split(p, state, PROP_ROWS, ONE_BLOCK, whole), FS_OK);
        size_t from = 300 - (size_t)lookback;
        fs_expr_state_init(p, state);
        const double *in[16];
        bind_inputs(p, from, in);
        void *scratch = xmalloc(fs_expr_scratch_size(p, PROP_ROWS - from));
        CHECK_INT(fs_expr_eval(p, state, scratch, in, PROP_ROWS - from, part + from), FS_OK);
        free(scratch);
        CHECK(memcmp(whole + 300, part + 300, (PROP_ROWS - 300) * sizeof *whole) == 0);
        /* and one row less is not always enough */
        if (lookback > 0 && strstr(property_exprs[k], "lag(x, 5)")) {
            fs_expr_state_init(p, state);
            bind_inputs(p, from + 1, in);
            scratch = xmalloc(fs_expr_scratch_size(p, PROP_ROWS - from - 1));
            CHECK_INT(fs_expr_eval(p, state, scratch, in, PROP_ROWS - from - 1, part + from + 1), FS_OK);
            free(scratch);
            CHECK(isnan(part[300]));
        }
        tested++;
        free(state);
        fs_expr_prog_free(p);
    }
    CHECK(tested >= 15);
}

/* ---------------------------------------------------------------------------
 * Strings as interned codes
 * ------------------------------------------------------------------------- */

TEST(test_strings)
{
    static const double S[] = {1, 2, N, 1, 3};
    static const double T[] = {1, 1, 1, N, 2};
    g_s = S, g_t = T;
    intern_calls = 0;
    CHECK_EVAL("s == 'bull'", 1, 0, N, 1, 0);
    CHECK(intern_calls >= 1);
    CHECK_EVAL("s != 'bear'", 1, 0, N, 1, 1);
    CHECK_EVAL("s == t", 1, 0, N, N, 0);
    CHECK_EVAL("if(s == 'bull', 'up', s)", 4, 2, N, 4, 3);
    CHECK_EVAL("coalesce(s, 'none')", 1, 2, 5, 1, 3);
    CHECK_EVAL("lag(s, 1)", N, 1, 2, N, 1);
    CHECK_EVAL("lag(s, 1) != s", N, 1, N, N, 1);
    CHECK_EVAL("'bull' == 'bull'", 1);
    CHECK_EVAL("'bull' == 'flat'", 0);

    fs_expr_prog *p = compile_text("if(s == 'bull', s, t)", resolve_test);
    if (p) {
        CHECK_INT(fs_expr_prog_type(p), FS_EXPR_STRING);
        CHECK_INT(fs_expr_prog_input_count(p), 2);
        CHECK_STR(fs_expr_prog_input_name(p, 0), "s");
        CHECK_STR(fs_expr_prog_input_name(p, 1), "t");
        CHECK_INT(fs_expr_prog_input_type(p, 0), FS_EXPR_STRING);
        CHECK_INT(fs_expr_prog_input_type(p, 2), -1);
        CHECK(fs_expr_prog_input_name(p, 2) == NULL);
        CHECK_INT(fs_expr_prog_has_windows(p), 0);
    }
    fs_expr_prog_free(p);

    /* without an interner a string literal does not compile; a string input does */
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("s == 'bull'", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, resolve_test, NULL, NULL, NULL), FS_OK);
    char msg[256] = "x";
    p = (fs_expr_prog *)&msg; /* must be reset to NULL */
    CHECK_INT(fs_expr_compile(e, &p, msg, sizeof msg), FS_E_INVAL);
    CHECK(p == NULL);
    CHECK_CONTAINS(msg, "string literal 'bull' at col 6 needs an interning callback");
    fs_expr_free(e);
    e = NULL;
    CHECK_INT(fs_expr_parse("lag(s, 2) == t", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, resolve_test, NULL, NULL, NULL), FS_OK);
    CHECK_INT(fs_expr_compile(e, &p, msg, sizeof msg), FS_OK);
    CHECK_STR(msg, "");
    fs_expr_prog_free(p);
    fs_expr_free(e);
    /* an interner's failure is passed on */
    e = NULL;
    CHECK_INT(fs_expr_parse("s == 'sideways'", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, resolve_test, NULL, NULL, NULL), FS_OK);
    CHECK_INT(fs_expr_compile_ex(e, intern_test, NULL, &p, msg, sizeof msg), FS_E_NOTFOUND);
    CHECK_CONTAINS(msg, "cannot intern string literal 'sideways' at col 6");
    fs_expr_free(e);
}

static int intern_nan(void *ctx, const char *str, double *code)
{
    (void)ctx;
    (void)str;
    *code = NAN;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Error paths
 * ------------------------------------------------------------------------- */

static int compile_unchecked(const char *text, fs_expr_resolve_fn resolve, char *msg, size_t msgsz)
{
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse(text, &e, NULL), FS_OK);
    if (resolve)
        fs_expr_check(e, resolve, NULL, NULL, NULL); /* may fail */
    fs_expr_prog *p = (fs_expr_prog *)e;
    int rc = fs_expr_compile(e, &p, msg, msgsz);
    if (rc != FS_OK)
        CHECK(p == NULL);
    fs_expr_prog_free(p);
    fs_expr_free(e);
    return rc;
}

TEST(test_compile_errors)
{
    char msg[256];
    fs_expr_prog *p = NULL;
    CHECK_INT(fs_expr_compile(NULL, &p, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "no expression");
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("1", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_compile(e, NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_expr_compile(e, &p, NULL, 0), FS_OK); /* err may be NULL */
    fs_expr_prog_free(p);
    fs_expr_free(e);

    /* never checked: the boolean operators still carry the parser's zero type */
    CHECK_INT(compile_unchecked("a and b", NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "not type-checked (fs_expr_check must succeed before fs_expr_compile)");
    CHECK_CONTAINS(msg, "'and' at col 3");
    CHECK_INT(compile_unchecked("x > 1", NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "not type-checked");
    CHECK_INT(compile_unchecked("if(x > 1, 2, 3)", NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "not type-checked");
    /* a failed check */
    CHECK_INT(compile_unchecked("c + 1", resolve_test, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "'+' at col 3 has operands boolean and numeric");
    CHECK_INT(compile_unchecked("mean(s, 3)", resolve_test, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "arguments of 'mean' at col 1");
    /* never checked, but well typed with every name numeric (documented) */
    CHECK_INT(compile_unchecked("x + 1", NULL, msg, sizeof msg), FS_OK);
    /* truncation of the message */
    char small[12];
    CHECK_INT(compile_unchecked("a or b", NULL, small, sizeof small), FS_E_INVAL);
    CHECK_INT(strlen(small), sizeof small - 1);

    /* two appearances of one name with different types (a tree no checker
     * leaves behind, forged here): refused */
    e = NULL;
    CHECK_INT(fs_expr_parse("coalesce(x, 1) > 0 and (x == x)", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, resolve_numeric, NULL, NULL, NULL), FS_OK);
    size_t nn = 0;
    const fs_expr_node *const *nodes = fs_expr_nodes(e, &nn);
    int forged = 0;
    for (size_t i = 0; i < nn; i++)
        if (nodes[i]->kind == FS_EN_REF && nodes[i]->col > 20) {
            ((fs_expr_node *)nodes[i])->type = FS_EXPR_BOOLEAN;
            forged++;
        }
    CHECK_INT(forged, 2);
    CHECK_INT(fs_expr_compile(e, &p, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "'x' at col 25 is boolean, elsewhere numeric");
    fs_expr_free(e);

    /* an interner giving a non-finite code */
    e = NULL;
    CHECK_INT(fs_expr_parse("s == 'bull'", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, resolve_test, NULL, NULL, NULL), FS_OK);
    CHECK_INT(fs_expr_compile_ex(e, intern_nan, NULL, &p, msg, sizeof msg), FS_E_INVAL);
    CHECK_CONTAINS(msg, "cannot intern");
    fs_expr_free(e);
}

TEST(test_eval_errors)
{
    static const double X[] = {1, 2, 3};
    g_x = X;
    fs_expr_prog *p = compile_text("mean(x, 2) + lag(x, 1)", resolve_test);
    fs_expr_prog *q = compile_text("mean(x, 2) + lag(x, 2)", resolve_test);
    fs_expr_prog *plain = compile_text("x * 2", resolve_test);
    if (!p || !q || !plain) {
        fs_expr_prog_free(p);
        fs_expr_prog_free(q);
        fs_expr_prog_free(plain);
        return;
    }
    CHECK_INT(fs_expr_prog_has_windows(p), 1);
    CHECK_INT(fs_expr_prog_has_windows(plain), 0);
    CHECK(fs_expr_state_size(plain) >= 8);
    CHECK_INT(fs_expr_state_size(NULL), 0);
    CHECK_INT(fs_expr_scratch_size(plain, 0), 0);
    CHECK_INT(fs_expr_scratch_size(p, SIZE_MAX / 2), SIZE_MAX);
    size_t ss = fs_expr_state_size(p);
    CHECK_INT(ss, fs_expr_state_size(q) - sizeof(double)); /* one more ring slot */
    void *state = xmalloc(ss), *scratch = xmalloc(fs_expr_scratch_size(p, 3));
    double out[3];
    const double *in[1] = {X};
    fs_expr_state_init(p, state);
    CHECK_INT(fs_expr_eval(NULL, state, scratch, in, 3, out), FS_E_INVAL);
    CHECK_INT(fs_expr_eval(p, state, scratch, in, 3, NULL), FS_E_INVAL);
    CHECK_INT(fs_expr_eval(p, NULL, scratch, in, 3, out), FS_E_INVAL); /* windows need a state */
    CHECK_INT(fs_expr_eval(p, state, NULL, in, 3, out), FS_E_INVAL);
    CHECK_INT(fs_expr_eval(p, state, scratch, NULL, 3, out), FS_E_INVAL);
    const double *in_null[1] = {NULL};
    CHECK_INT(fs_expr_eval(p, state, scratch, in_null, 3, out), FS_E_INVAL);
    CHECK_INT(fs_expr_eval(p, state, scratch, in, 0, out), FS_OK);
    /* no windows: no state needed */
    void *pscratch = xmalloc(fs_expr_scratch_size(plain, 3));
    CHECK_INT(fs_expr_eval(plain, NULL, pscratch, in, 3, out), FS_OK);
    CHECK(out[0] == 2 && out[1] == 4 && out[2] == 6);
    free(pscratch);

    /* a state of another program, or a damaged one: refused, left unchanged */
    unsigned char *before = xmalloc(ss);
    memcpy(before, state, ss);
    void *qstate = xmalloc(fs_expr_state_size(q));
    fs_expr_state_init(q, qstate);
    CHECK_INT(fs_expr_eval(p, qstate, scratch, in, 3, out), FS_E_CORRUPT);
    unsigned char *raw = state;
    raw[8] ^= 0x40; /* the first window's ring position, far out of range */
    CHECK_INT(fs_expr_eval(p, state, scratch, in, 3, out), FS_E_CORRUPT);
    raw[8] ^= 0x40;
    CHECK(memcmp(before, state, ss) == 0);
    raw[0] ^= 1; /* the program fingerprint */
    CHECK_INT(fs_expr_eval(p, state, scratch, in, 3, out), FS_E_CORRUPT);
    raw[0] ^= 1;
    CHECK_INT(fs_expr_eval(p, state, scratch, in, 3, out), FS_OK);
    CHECK(isnan(out[0]) && out[1] == 1.5 + 1 && out[2] == 2.5 + 2);
    /* programs differing only in names or constants have different states */
    fs_expr_prog *r = compile_text("mean(y, 2) + lag(y, 1)", resolve_test);
    if (r) {
        CHECK_INT(fs_expr_state_size(r), ss);
        CHECK_INT(fs_expr_eval(r, state, scratch, in, 3, out), FS_E_CORRUPT);
    }
    fs_expr_prog_free(r);
    free(before);
    free(qstate);
    free(state);
    free(scratch);
    fs_expr_prog_free(p);
    fs_expr_prog_free(q);
    fs_expr_prog_free(plain);
}

/* Scratch stays small: columns are reused as the tree is consumed. */
TEST(test_scratch_reuse)
{
    char text[2048] = "x";
    for (int i = 0; i < 100; i++)
        strcat(text, i % 2 ? " + x * 2" : " - y / 3");
    fs_expr_prog *p = compile_text(text, resolve_test);
    if (!p)
        return;
    size_t cols = fs_expr_scratch_size(p, 1) / sizeof(double);
    CHECK(cols >= 2);
    CHECK(cols <= 6);
    static double X[10], Y[10], out[10];
    for (int i = 0; i < 10; i++)
        X[i] = i, Y[i] = 3 * i;
    g_x = X, g_y = Y;
    void *scratch = xmalloc(fs_expr_scratch_size(p, 10));
    const double *in[2];
    bind_inputs(p, 0, in);
    CHECK_INT(fs_expr_eval(p, NULL, scratch, in, 10, out), FS_OK);
    for (int i = 0; i < 10; i++) {
        double want = X[i];
        for (int k = 0; k < 100; k++)
            want = k % 2 ? want + X[i] * 2 : want - Y[i] / 3;
        CHECK(out[i] == want);
    }
    free(scratch);
    fs_expr_prog_free(p);
    /* a lone input or literal needs no scratch */
    p = compile_text("x", resolve_test);
    if (p)
        CHECK_INT(fs_expr_scratch_size(p, 1000), 0);
    fs_expr_prog_free(p);
}

/* ---------------------------------------------------------------------------
 * The ten derived features of examples/features.yaml
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    double base, step; /* row r holds base + step * r */
} series;

typedef struct {
    const char *view, *feature;
    series in[4];
    int row;
    double want;
    int row2;
    double want2;
} example;

static const example examples[] = {
    {"market_stats", "market_cap_to_volume_ratio", {{"volume_24h", -100, 100}, {"market_cap", 50000, 0}},
     9, 50000.0 / 800, 1, 0 /* no volume */},
    {"technical", "price_momentum_1h", {{"close_price", 100, 1}}, 9, (109.0 / 108 - 1) * 100, 0, N},
    {"microstructure", "bid_ask_spread", {{"ask", 100.5, 0}, {"bid", 99.5, 0}, {"mid_price", 100, 0}}, 9, 100, 0,
     100},
    {"microstructure", "order_book_imbalance", {{"bid_size", 3, -1}, {"ask_size", 1, 0}}, 0, 0.5, 9,
     0 /* sizes -6 + 1 <= 0 */},
    {"sentiment", "sentiment_momentum", {{"sentiment_score", -0.5, 0.1}}, 9, 0.4, 3, N},
    {"sentiment", "engagement_to_followers", {{"followers", 0, 1000}, {"engagement", 50, 0}}, 9, 50.0 / 9000, 0,
     0},
    {"derivatives", "funding_rate_momentum", {{"funding_rate", 0.0001, 0.00001}}, 8, 0.00008, 7, N},
    {"derivatives", "oi_to_volume_ratio", {{"technical.volume", 10, -2}, {"open_interest", 1000, 10}}, 1, 1010.0 / 8,
     5, 0},
    /* 50 - 5 * 2 = 40; 4 ln(1 + 9) = 9.2103...; 2 ln(1000) = 13.8155... */
    {"microstructure", "liquidity_score", {{"bid_ask_spread", 2, 0}, {"depth_1pct", 90000, 0}, {"trade_count", 999, 0}},
     9, 40 + 4 * 2.302585092994046 + 2 * 6.907755278982137, 0, 40 + 4 * 2.302585092994046 + 2 * 6.907755278982137},
    /* 0.6 * 50 + 20 + 10 * sign(macd_hist) + clip(returns * 1000, -10, 10) */
    {"technical", "momentum_score", {{"rsi_14", 50, 0}, {"macd_hist", -1, 0.5}, {"returns", 0.002, 0.01}}, 0, 42, 9,
     30 + 20 + 10 + 10},
};

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *g = realloc(buf, cap + 1);
            if (!g)
                abort();
            buf = g;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

TEST(test_features_yaml_examples)
{
    size_t len = 0;
    char *text = read_file("examples/features.yaml", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    fs_diag d = {0};
    fs_registry *r = fs_registry_load("examples/features.yaml", text, len, FS_LOAD_YAML_USER, &d);
    CHECK(r != NULL);
    if (!r)
        fprintf(stderr, "  %s\n", fs_diag_str(&d));
    for (size_t k = 0; r && k < sizeof examples / sizeof examples[0]; k++) {
        const example *x = &examples[k];
        const fs_view_def *v = fs_reg_view(r, x->view);
        const fs_feature_def *f = v ? fs_view_feature(v, x->feature) : NULL;
        CHECK(f != NULL && f->how == FS_PROD_EXPR && f->expr);
        if (!f || !f->expr)
            continue;
        fs_expr *e = NULL;
        fs_expr_error err;
        fs_expr_type t;
        CHECK_INT(fs_expr_parse(f->expr, &e, &err), FS_OK);
        CHECK_INT(fs_expr_check(e, resolve_numeric, NULL, &t, &err), FS_OK);
        fs_expr_prog *p = NULL;
        char msg[256];
        CHECK_INT(fs_expr_compile(e, &p, msg, sizeof msg), FS_OK);
        fs_expr_free(e);
        if (!p)
            continue;
        CHECK_INT(fs_expr_prog_type(p), FS_EXPR_NUMERIC);
        /* ten rows of each input */
        enum { ROWS = 10 };
        double cols[4][ROWS], out[ROWS];
        const double *in[4] = {0};
        size_t ni = fs_expr_prog_input_count(p);
        CHECK(ni <= 4);
        for (size_t i = 0; i < ni && i < 4; i++) {
            const series *s = NULL;
            for (int j = 0; j < 4 && x->in[j].name; j++)
                if (strcmp(x->in[j].name, fs_expr_prog_input_name(p, i)) == 0)
                    s = &x->in[j];
            if (!s)
                fprintf(stderr, "  %s: no data for input '%s'\n", x->feature, fs_expr_prog_input_name(p, i));
            CHECK(s != NULL);
            for (int row = 0; row < ROWS; row++)
                cols[i][row] = s ? s->base + s->step * row : N;
            in[i] = cols[i];
        }
        void *state = xmalloc(fs_expr_state_size(p));
        void *scratch = xmalloc(fs_expr_scratch_size(p, ROWS));
        fs_expr_state_init(p, state);
        CHECK_INT(fs_expr_eval(p, state, scratch, in, ROWS, out), FS_OK);
        if (!same_value(out[x->row], x->want, 1e-12) || !same_value(out[x->row2], x->want2, 1e-12)) {
            t_failed_checks++;
            fprintf(stderr, "  %s:%s = %s: row %d got %.17g want %.17g; row %d got %.17g want %.17g\n", x->view,
                    x->feature, f->expr, x->row, out[x->row], x->want, x->row2, out[x->row2], x->want2);
        }
        free(state);
        free(scratch);
        fs_expr_prog_free(p);
    }
    fs_registry_free(r);
    fs_diag_free(&d);
    free(text);
}

int main(void)
{
    RUN(test_arithmetic);
    RUN(test_comparisons);
    RUN(test_logic_three_valued);
    RUN(test_if_coalesce);
    RUN(test_math_functions);
    RUN(test_infinite_inputs_are_null);
    RUN(test_windows_hand_checked);
    RUN(test_windows_constant);
    RUN(test_nested_windows);
    RUN(test_windows_vs_reference);
    RUN(test_block_sizes_bit_identical);
    RUN(test_state_persistence);
    RUN(test_restart_after_lookback);
    RUN(test_strings);
    RUN(test_compile_errors);
    RUN(test_eval_errors);
    RUN(test_scratch_reuse);
    RUN(test_features_yaml_examples);
    TEST_EXIT();
}
