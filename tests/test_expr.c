/* Tests of the derived-feature expression language (src/compute/expr.h):
 * tree shape through the canonical formatter, every function's arity, window
 * literals, every type rule, references and lookback, exact error columns,
 * hostile input, and a fixed-seed fuzz loop with a round-trip property
 * (format(parse(format(parse(s)))) == format(parse(s))). */
#include <limits.h>
#include <locale.h>

#include "compute/expr.h"
#include "fstore.h"
#include "test.h"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

/* The canonical form of text, or "ERR <col>: <msg>" when it does not parse.
 * Returns a static buffer. */
static const char *canon(const char *text)
{
    static char out[4096];
    fs_expr *e = NULL;
    fs_expr_error err;
    int rc = fs_expr_parse(text, &e, &err);
    if (rc != FS_OK) {
        snprintf(out, sizeof out, "ERR %d: %s", err.col, err.msg);
        if (e)
            snprintf(out, sizeof out, "BUG: out set on failure");
        return out;
    }
    char *s = NULL;
    if (fs_expr_format(e, &s) != FS_OK)
        snprintf(out, sizeof out, "BUG: format failed");
    else
        snprintf(out, sizeof out, "%s", s);
    free(s);
    fs_expr_free(e);
    return out;
}

/* Parses text expecting FS_E_PARSE at col with exactly msg. */
#define CHECK_PARSE_ERR(text, col_, msg_)                                     \
    do {                                                                      \
        fs_expr *e_ = NULL;                                                   \
        fs_expr_error err_;                                                   \
        int rc_ = fs_expr_parse((text), &e_, &err_);                          \
        CHECK_INT(rc_, FS_E_PARSE);                                           \
        CHECK(e_ == NULL);                                                    \
        CHECK_INT(err_.col, (col_));                                          \
        CHECK_STR(err_.msg, (msg_));                                          \
        fs_expr_free(e_);                                                     \
    } while (0)

/* A resolver over a fixed table; counts its calls. */
typedef struct {
    const char *name;
    fs_expr_type type;
} name_type;

static const name_type known[] = {
    {"price", FS_EXPR_NUMERIC},       {"vol", FS_EXPR_NUMERIC},    {"up", FS_EXPR_BOOLEAN},
    {"down", FS_EXPR_BOOLEAN},        {"regime", FS_EXPR_STRING},  {"side", FS_EXPR_STRING},
    {"spot.close", FS_EXPR_NUMERIC},  {"spot.regime", FS_EXPR_STRING},
};

static int resolve_calls;

static int resolve_known(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    resolve_calls++;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(known[i].name, name) == 0) {
            *type = known[i].type;
            return 0;
        }
    }
    return 1;
}

static int resolve_all_numeric(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    (void)name;
    *type = FS_EXPR_NUMERIC;
    return 0;
}

static int resolve_all_string(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    (void)name;
    *type = FS_EXPR_STRING;
    return 0;
}

/* "c" is a boolean (a condition), every other name numeric. */
static int resolve_c_bool(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    *type = strcmp(name, "c") == 0 ? FS_EXPR_BOOLEAN : FS_EXPR_NUMERIC;
    return 0;
}

static int resolve_bad_type(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    (void)name;
    *type = (fs_expr_type)7;
    return 0;
}

/* Parses and checks with resolve_known. Returns the check status; *type and
 * err are filled. A parse failure is a test failure. */
static int check_text(const char *text, fs_expr_type *type, fs_expr_error *err)
{
    fs_expr *e = NULL;
    int rc = fs_expr_parse(text, &e, err);
    if (rc != FS_OK) {
        fprintf(stderr, "  unexpected parse error in \"%s\": col %d: %s\n", text, err->col, err->msg);
        CHECK_INT(rc, FS_OK);
        return rc;
    }
    rc = fs_expr_check(e, resolve_known, NULL, type, err);
    fs_expr_free(e);
    return rc;
}

#define CHECK_TYPE_OK(text, want)                                             \
    do {                                                                      \
        fs_expr_type t_ = (fs_expr_type)-1;                                   \
        fs_expr_error err_;                                                   \
        int rc_ = check_text((text), &t_, &err_);                             \
        if (rc_ != FS_OK)                                                     \
            fprintf(stderr, "  \"%s\": col %d: %s\n", (text), err_.col,      \
                    err_.msg);                                                \
        CHECK_INT(rc_, FS_OK);                                                \
        CHECK_STR(fs_expr_type_name(t_), fs_expr_type_name(want));            \
    } while (0)

#define CHECK_TYPE_ERR(text, col_, msg_)                                      \
    do {                                                                      \
        fs_expr_type t_;                                                      \
        fs_expr_error err_;                                                   \
        CHECK_INT(check_text((text), &t_, &err_), FS_E_INVALID_DEF);          \
        CHECK_INT(err_.col, (col_));                                          \
        CHECK_STR(err_.msg, (msg_));                                          \
    } while (0)

static uint64_t rng_state;

static uint64_t xorshift64(void) { return test_xorshift64(&rng_state); }

static unsigned rnd(unsigned n)
{
    return (unsigned)(xorshift64() % n);
}

/* ---------------------------------------------------------------------------
 * Literals and tree shape
 * ------------------------------------------------------------------------- */

TEST(test_literals)
{
    static const struct {
        const char *text;
        double value;
        const char *canon;
    } nums[] = {
        {"123", 123, "123"},        {"1.5", 1.5, "1.5"},         {".5", 0.5, "0.5"},
        {"1e-3", 0.001, "0.001"},   {"2.5E+4", 25000, "25000"},  {"0.1", 0.1, "0.1"},
        {"007", 7, "7"},            {"1e300", 1e300, "1e+300"},  {"  42  ", 42, "42"},
        {"0", 0, "0"},              {"3.141592653589793", 3.141592653589793, "3.141592653589793"},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        fs_expr *e = NULL;
        CHECK_INT(fs_expr_parse(nums[i].text, &e, NULL), FS_OK);
        const fs_expr_node *n = fs_expr_root(e);
        CHECK(n != NULL);
        if (n) {
            CHECK_INT(n->kind, FS_EN_NUM);
            CHECK(n->num == nums[i].value);
            CHECK_INT(n->type, FS_EXPR_NUMERIC);
        }
        CHECK_STR(canon(nums[i].text), nums[i].canon);
        fs_expr_free(e);
    }

    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("true", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->kind, FS_EN_BOOL);
    CHECK_INT(fs_expr_root(e)->boolean, 1);
    CHECK_INT(fs_expr_root(e)->type, FS_EXPR_BOOLEAN);
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("false", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->boolean, 0);
    fs_expr_free(e);

    /* Strings: both quotes, the three escapes, the other quote kept as is. */
    CHECK_INT(fs_expr_parse("'bull'", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->kind, FS_EN_STR);
    CHECK_STR(fs_expr_root(e)->str, "bull");
    CHECK_INT(fs_expr_root(e)->type, FS_EXPR_STRING);
    CHECK_INT(fs_expr_root(e)->col, 1);
    CHECK_INT(fs_expr_root(e)->len, 6);
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("\"it's \\\"x\\\" \\\\ \\'\"", &e, NULL), FS_OK);
    CHECK_STR(fs_expr_root(e)->str, "it's \"x\" \\ '");
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("''", &e, NULL), FS_OK);
    CHECK_STR(fs_expr_root(e)->str, "");
    fs_expr_free(e);
    CHECK_STR(canon("\"it's\" == 'a\\\\b'"), "('it\\'s' == 'a\\\\b')");
    CHECK_STR(canon("'caf\xC3\xA9'"), "'caf\xC3\xA9'"); /* UTF-8 passes through */
}

TEST(test_precedence_and_associativity)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a + b * c", "(a + (b * c))"},
        {"a * b + c", "((a * b) + c)"},
        {"a - b - c", "((a - b) - c)"},
        {"a / b * c % d", "(((a / b) * c) % d)"},
        {"a%b*c", "((a % b) * c)"},
        {"1 + 2 * 3 - 4 / 5", "((1 + (2 * 3)) - (4 / 5))"},
        {"-a * b", "((-a) * b)"},
        {"- -a", "(-(-a))"},
        {"--a", "(-(-a))"},
        {"2 - -3", "(2 - (-3))"},
        {"+a - +b", "((+a) - (+b))"},
        {"-a < -b", "((-a) < (-b))"},
        {"-pow(x, 2)", "(-pow(x, 2))"},
        {"a * (b + c)", "(a * (b + c))"},
        {"((((a))))", "a"},
        {"a or b and c", "(a or (b and c))"},
        {"a and b or c", "((a and b) or c)"},
        {"a or b or c", "((a or b) or c)"},
        {"a and b and c", "((a and b) and c)"},
        {"a || b && !c", "(a or (b and (not c)))"},
        {"!a || b", "((not a) or b)"},
        {"not a and b", "((not a) and b)"},
        {"not not a", "(not (not a))"},
        {"not a == b", "(not (a == b))"},
        {"not a < b and c", "((not (a < b)) and c)"},
        {"a < b + 1 and c", "((a < (b + 1)) and c)"},
        {"a == b and c != d", "((a == b) and (c != d))"},
        {"a<=b or a>=b", "((a <= b) or (a >= b))"},
        {"(a < b) == (c < d)", "((a < b) == (c < d))"},
        {"x >= 1.5e3 or y <= .5", "((x >= 1500) or (y <= 0.5))"},
        {"(ask - bid) / ((ask + bid) / 2) * 10000", "(((ask - bid) / ((ask + bid) / 2)) * 10000)"},
        {"if(a > b, 'x', \"y\")", "if((a > b), 'x', 'y')"},
        {"min(a, b, c) + max(a,b)", "(min(a, b, c) + max(a, b))"},
        {"mean(close, 20) > lag(close, 1)", "(mean(close, 20) > lag(close, 1))"},
        {"regime == 'bull'", "(regime == 'bull')"},
        {"abs (x)", "abs(x)"},
        {"a\t+\nb\r\n*  c", "(a + (b * c))"},
        {"not(a)", "(not a)"},
        {"mean", "mean"}, /* a function name without '(' is a name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(canon(cases[i].in), cases[i].out);

    /* The tree itself, for one case: a - b * c */
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("a - b * c", &e, NULL), FS_OK);
    const fs_expr_node *r = fs_expr_root(e);
    CHECK_INT(r->kind, FS_EN_BINARY);
    CHECK_INT(r->op, FS_OP_SUB);
    CHECK_INT(r->col, 3);
    CHECK_INT(r->len, 1);
    CHECK_INT(r->nargs, 2);
    CHECK_INT(r->args[0]->kind, FS_EN_REF);
    CHECK_STR(r->args[0]->str, "a");
    CHECK_INT(r->args[1]->kind, FS_EN_BINARY);
    CHECK_INT(r->args[1]->op, FS_OP_MUL);
    CHECK_INT(r->args[1]->col, 7);
    CHECK_STR(r->args[1]->args[1]->str, "c");
    CHECK_INT(r->args[1]->args[1]->col, 9);
    fs_expr_free(e);

    /* The alternative spellings give the canonical operators. */
    CHECK_INT(fs_expr_parse("a && b || !c", &e, NULL), FS_OK);
    r = fs_expr_root(e);
    CHECK_INT(r->op, FS_OP_OR);
    CHECK_INT(r->len, 2);
    CHECK_INT(r->args[0]->op, FS_OP_AND);
    CHECK_INT(r->args[1]->kind, FS_EN_UNARY);
    CHECK_INT(r->args[1]->op, FS_OP_NOT);
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("-x", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->op, FS_OP_NEG);
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("+x", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->op, FS_OP_POS);
    fs_expr_free(e);
}

TEST(test_postorder)
{
    fs_expr *e = NULL;
    const char *text = "if(a > mean(b, 3), -c * 2, coalesce(d, e, 1)) + lag(f, 1)";
    CHECK_INT(fs_expr_parse(text, &e, NULL), FS_OK);
    size_t n = 0;
    const fs_expr_node *const *nodes = fs_expr_nodes(e, &n);
    CHECK_INT(n, 18);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(nodes[i]->id, (int)i);
        for (int a = 0; a < nodes[i]->nargs; a++)
            CHECK(nodes[i]->args[a]->id < nodes[i]->id);
    }
    CHECK(nodes[n - 1] == fs_expr_root(e));
    /* Left to right, children first. */
    CHECK_STR(nodes[0]->str, "a");
    CHECK_STR(nodes[1]->str, "b");
    CHECK_INT(nodes[2]->kind, FS_EN_NUM);
    CHECK_INT(nodes[3]->fn, FS_FN_MEAN);
    CHECK_INT(nodes[3]->window, 3);
    CHECK_INT(nodes[4]->op, FS_OP_GT);
    fs_expr_free(e);
}

/* ---------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------- */

TEST(test_function_arity)
{
    for (int fn = 0; fn < FS_FN_COUNT; fn++) {
        int min = -5, max = -5;
        int win = fs_expr_fn_info((fs_expr_fn)fn, &min, &max);
        CHECK(win == 0 || win == 1);
        CHECK(min >= 1);
        const char *name = fs_expr_fn_name((fs_expr_fn)fn);
        int hi = max < 0 ? min + 3 : max + 2;
        for (int k = 0; k <= hi; k++) {
            char text[256];
            int o = snprintf(text, sizeof text, "1 + %s(", name);
            for (int a = 0; a < k; a++)
                o += snprintf(text + o, sizeof text - (size_t)o, "%s%s", a ? ", " : "",
                              win && a == 1 ? "3" : (fn == FS_FN_IF && a == 0 ? "c" : "x"));
            snprintf(text + o, sizeof text - (size_t)o, ")");
            int ok = k >= min && (max < 0 || k <= max);
            fs_expr *e = NULL;
            fs_expr_error err;
            int rc = fs_expr_parse(text, &e, &err);
            if (ok) {
                CHECK_INT(rc, FS_OK);
                if (rc == FS_OK) {
                    const fs_expr_node *call = fs_expr_root(e)->args[1];
                    CHECK_INT(call->kind, FS_EN_CALL);
                    CHECK_INT(call->fn, fn);
                    CHECK_INT(call->nargs, k);
                    CHECK_INT(call->col, 5);
                    CHECK_INT(call->len, (int)strlen(name));
                    CHECK_INT(call->window, win ? 3 : 0);
                    CHECK_INT(fs_expr_max_window(e), win ? 3 : 0);
                    fs_expr_type t;
                    CHECK_INT(fs_expr_check(e, resolve_c_bool, NULL, &t, NULL), FS_OK);
                    CHECK_INT(t, FS_EXPR_NUMERIC);
                }
            } else {
                char want[256];
                if (max < 0)
                    snprintf(want, sizeof want, "'%s' takes at least %d arguments, got %d", name, min, k);
                else
                    snprintf(want, sizeof want, "'%s' takes %d argument%s, got %d", name, min,
                             min == 1 ? "" : "s", k);
                CHECK_INT(rc, FS_E_PARSE);
                CHECK_INT(err.col, 5);
                CHECK_STR(err.msg, want);
            }
            fs_expr_free(e);
        }
    }
    /* The messages people will actually see. */
    CHECK_PARSE_ERR("lag(x)", 1, "'lag' takes 2 arguments, got 1");
    CHECK_PARSE_ERR("abs()", 1, "'abs' takes 1 argument, got 0");
    CHECK_PARSE_ERR("min(x)", 1, "'min' takes at least 2 arguments, got 1");
    CHECK_PARSE_ERR("if(a, b)", 1, "'if' takes 3 arguments, got 2");
    CHECK_PARSE_ERR("pow(a, b, c)", 1, "'pow' takes 2 arguments, got 3");
    /* An arity error is reported before a bad token that follows the call. */
    CHECK_PARSE_ERR("abs() 1.2.3", 1, "'abs' takes 1 argument, got 0");
}

TEST(test_function_names)
{
    static const char *const names[FS_FN_COUNT] = {
        "if", "abs", "log", "exp", "sqrt", "pow", "sign", "clip", "min", "max", "coalesce",
        "lag", "delta", "pct_change", "mean", "std", "zscore", "ewm", "sum", "min_over", "max_over",
    };
    for (int fn = 0; fn < FS_FN_COUNT; fn++) {
        CHECK_STR(fs_expr_fn_name((fs_expr_fn)fn), names[fn]);
        CHECK_INT(fs_expr_fn_info((fs_expr_fn)fn, NULL, NULL), fn >= FS_FN_LAG);
    }
    CHECK(fs_expr_fn_name(FS_FN_COUNT) == NULL);
    CHECK(fs_expr_fn_name((fs_expr_fn)-1) == NULL);
    CHECK_INT(fs_expr_fn_info(FS_FN_COUNT, NULL, NULL), -1);

    CHECK_PARSE_ERR("sqr(x)", 1, "unknown function 'sqr' (did you mean 'sqrt'?)");
    CHECK_PARSE_ERR("1 + avg(x, 3)", 5, "unknown function 'avg' (did you mean 'mean'?)");
    CHECK_PARSE_ERR("ABS(x)", 1, "unknown function 'ABS' (did you mean 'abs'?)");
    CHECK_PARSE_ERR("Mean(x, 3)", 1, "unknown function 'Mean' (did you mean 'mean'?)");
    CHECK_PARSE_ERR("zscor(x, 3)", 1, "unknown function 'zscor' (did you mean 'zscore'?)");
    CHECK_PARSE_ERR("pct_chang(x, 3)", 1, "unknown function 'pct_chang' (did you mean 'pct_change'?)");
    CHECK_PARSE_ERR("maxover(x, 3)", 1, "unknown function 'maxover' (did you mean 'max_over'?)");
    CHECK_PARSE_ERR("ema(x, 3)", 1, "unknown function 'ema' (did you mean 'ewm'?)");
    CHECK_PARSE_ERR("frobnicate(x)", 1, "unknown function 'frobnicate'");
    CHECK_PARSE_ERR("x + spot.close(x)", 5, "unknown function 'spot.close'");
}

TEST(test_window_literals)
{
    CHECK_PARSE_ERR("mean(x, 0)", 9, "window length of 'mean' must be a positive integer literal, got '0'");
    CHECK_PARSE_ERR("mean(x, -1)", 9, "window length of 'mean' must be a positive integer literal, got '-1'");
    CHECK_PARSE_ERR("mean(x, n)", 9, "window length of 'mean' must be a positive integer literal, got 'n'");
    CHECK_PARSE_ERR("mean(x, 2.5)", 9, "window length of 'mean' must be a positive integer literal, got '2.5'");
    CHECK_PARSE_ERR("mean(x, 2.0)", 9, "window length of 'mean' must be a positive integer literal, got '2.0'");
    CHECK_PARSE_ERR("mean(x, 1e2)", 9, "window length of 'mean' must be a positive integer literal, got '1e2'");
    CHECK_PARSE_ERR("lag(x,  1 + 1 )", 9, "window length of 'lag' must be a positive integer literal, got '1 + 1'");
    CHECK_PARSE_ERR("std(x, '5')", 8, "window length of 'std' must be a positive integer literal, got ''5''");
    CHECK_PARSE_ERR("lag(x, (5))", 8, "window length of 'lag' must be a positive integer literal, got '(5)'");
    CHECK_PARSE_ERR("ewm(x, 2000000)", 8, "window length of 'ewm' must be at most 1000000, got 2000000");
    CHECK_PARSE_ERR("a + sum(x, abs(3))", 12,
                    "window length of 'sum' must be a positive integer literal, got 'abs(3)'");

    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("mean(x,   20  )", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_root(e)->window, 20);
    CHECK_INT(fs_expr_root(e)->args[1]->kind, FS_EN_NUM);
    CHECK(fs_expr_root(e)->args[1]->num == 20);
    fs_expr_free(e);
    CHECK_INT(fs_expr_parse("lag(x, 1000000)", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_max_window(e), 1000000);
    fs_expr_free(e);
    /* Every window function checks its literal. */
    for (int fn = FS_FN_LAG; fn < FS_FN_COUNT; fn++) {
        char text[64], want[128];
        snprintf(text, sizeof text, "%s(x, 0)", fs_expr_fn_name((fs_expr_fn)fn));
        snprintf(want, sizeof want, "window length of '%s' must be a positive integer literal, got '0'",
                 fs_expr_fn_name((fs_expr_fn)fn));
        CHECK_PARSE_ERR(text, (int)strlen(fs_expr_fn_name((fs_expr_fn)fn)) + 5, want);
    }
}

/* ---------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------- */

TEST(test_type_rules_ok)
{
    CHECK_TYPE_OK("price + vol * 2 - vol / price % 3", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("-price", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("+price", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("price > vol", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("price <= 1 or price >= 2 or price < 3 or price > 4", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("price % 2 == 0", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("regime == 'bull'", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("regime != spot.regime", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("up == down", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("up != true", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("up and not down", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("!up || down && up", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("if(up, price, vol)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("if(up, regime, 'flat')", FS_EXPR_STRING);
    CHECK_TYPE_OK("if(price > 0, up, false)", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("coalesce(regime, spot.regime, 'flat')", FS_EXPR_STRING);
    CHECK_TYPE_OK("coalesce(price, 0)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("coalesce(up, down, false)", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("abs(price) + log(price) + exp(price) + sqrt(price) + sign(price)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("pow(price, 2) + clip(price, -1, 1) + min(price, vol, 3) + max(1, 2)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("lag(regime, 1)", FS_EXPR_STRING);
    CHECK_TYPE_OK("lag(up, 2) or up", FS_EXPR_BOOLEAN);
    CHECK_TYPE_OK("lag(price, 1)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("delta(price, 1) + pct_change(price, 1) + mean(price, 3) + std(price, 3)", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("zscore(price, 3) + ewm(price, 3) + sum(price, 3) + min_over(price, 3) + max_over(price, 3)",
                  FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("spot.close / price - 1", FS_EXPR_NUMERIC);
    CHECK_TYPE_OK("'a' == 'b'", FS_EXPR_BOOLEAN);

    /* Every node is typed after a check. */
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("if(up, price + 1, 0) > 2", &e, NULL), FS_OK);
    fs_expr_type t;
    CHECK_INT(fs_expr_check(e, resolve_known, NULL, &t, NULL), FS_OK);
    const fs_expr_node *r = fs_expr_root(e);
    CHECK_INT(r->type, FS_EXPR_BOOLEAN);
    CHECK_INT(r->args[0]->type, FS_EXPR_NUMERIC);
    CHECK_INT(r->args[0]->args[0]->type, FS_EXPR_BOOLEAN);
    CHECK_INT(r->args[0]->args[1]->type, FS_EXPR_NUMERIC);
    fs_expr_free(e);
}

TEST(test_type_rules_errors)
{
    CHECK_TYPE_ERR("price and up", 7, "type error: 'and' needs boolean operands, left is numeric");
    CHECK_TYPE_ERR("up or price", 4, "type error: 'or' needs boolean operands, right is numeric");
    CHECK_TYPE_ERR("up && regime", 4, "type error: 'and' needs boolean operands, right is string");
    CHECK_TYPE_ERR("not price", 1, "type error: 'not' needs a boolean operand, got numeric");
    CHECK_TYPE_ERR("!regime", 1, "type error: 'not' needs a boolean operand, got string");
    CHECK_TYPE_ERR("-regime", 1, "type error: unary '-' needs a numeric operand, got string");
    CHECK_TYPE_ERR("+up", 1, "type error: unary '+' needs a numeric operand, got boolean");
    CHECK_TYPE_ERR("price + regime", 7, "type error: '+' needs numeric operands, right is string");
    CHECK_TYPE_ERR("up * 2", 4, "type error: '*' needs numeric operands, left is boolean");
    CHECK_TYPE_ERR("1 - up", 3, "type error: '-' needs numeric operands, right is boolean");
    CHECK_TYPE_ERR("'a' / 2", 5, "type error: '/' needs numeric operands, left is string");
    CHECK_TYPE_ERR("price % true", 7, "type error: '%' needs numeric operands, right is boolean");
    CHECK_TYPE_ERR("regime < 'b'", 8, "type error: '<' needs numeric operands, left is string");
    CHECK_TYPE_ERR("price <= up", 7, "type error: '<=' needs numeric operands, right is boolean");
    CHECK_TYPE_ERR("up > 1", 4, "type error: '>' needs numeric operands, left is boolean");
    CHECK_TYPE_ERR("1 >= 'x'", 3, "type error: '>=' needs numeric operands, right is string");
    CHECK_TYPE_ERR("price == regime", 7,
                   "type error: '==' compares values of one type, left is numeric and right is string");
    CHECK_TYPE_ERR("up != 1", 4, "type error: '!=' compares values of one type, left is boolean and right is numeric");
    CHECK_TYPE_ERR("if(price, 1, 2)", 1, "type error: the condition of 'if' must be boolean, got numeric");
    CHECK_TYPE_ERR("if(up, 1, 'a')", 1, "type error: the branches of 'if' must have the same type, got numeric and string");
    CHECK_TYPE_ERR("coalesce(price, regime)", 1,
                   "type error: the arguments of 'coalesce' must have the same type, argument 1 is numeric "
                   "and argument 2 is string");
    CHECK_TYPE_ERR("coalesce(up, down, 0)", 1,
                   "type error: the arguments of 'coalesce' must have the same type, argument 1 is boolean "
                   "and argument 3 is numeric");
    CHECK_TYPE_ERR("sqrt(regime)", 1, "type error: 'sqrt' needs a numeric argument, got string");
    CHECK_TYPE_ERR("abs(up)", 1, "type error: 'abs' needs a numeric argument, got boolean");
    CHECK_TYPE_ERR("log(up)", 1, "type error: 'log' needs a numeric argument, got boolean");
    CHECK_TYPE_ERR("exp(up)", 1, "type error: 'exp' needs a numeric argument, got boolean");
    CHECK_TYPE_ERR("sign(up)", 1, "type error: 'sign' needs a numeric argument, got boolean");
    CHECK_TYPE_ERR("pow(price, up)", 1, "type error: 'pow' needs numeric arguments, argument 2 is boolean");
    CHECK_TYPE_ERR("clip(price, 0, 'x')", 1, "type error: 'clip' needs numeric arguments, argument 3 is string");
    CHECK_TYPE_ERR("1 + min(price, vol, regime)", 5, "type error: 'min' needs numeric arguments, argument 3 is string");
    CHECK_TYPE_ERR("max(up, 1)", 1, "type error: 'max' needs numeric arguments, argument 1 is boolean");
    for (int fn = FS_FN_DELTA; fn < FS_FN_COUNT; fn++) {
        char text[64], want[128];
        snprintf(text, sizeof text, "%s(regime, 5)", fs_expr_fn_name((fs_expr_fn)fn));
        snprintf(want, sizeof want, "type error: '%s' needs a numeric series, got string",
                 fs_expr_fn_name((fs_expr_fn)fn));
        CHECK_TYPE_ERR(text, 1, want);
    }
    CHECK_TYPE_ERR("1 + (price and up)", 12, "type error: 'and' needs boolean operands, left is numeric");

    /* Unknown names, with the column of the first appearance. */
    CHECK_TYPE_ERR("price + foo", 9, "unknown feature or column 'foo'");
    CHECK_TYPE_ERR("spot.nope > 1", 1, "unknown feature or column 'spot.nope'");
    CHECK_TYPE_ERR("True and up", 1, "unknown feature or column 'True' (keywords are lowercase: did you mean 'true'?)");
    CHECK_TYPE_ERR("mean + 1", 1, "unknown feature or column 'mean' (it is a function: did you forget its arguments?)");

    /* The first error in source order, innermost first. */
    CHECK_TYPE_ERR("foo + (1 + 'a')", 1, "unknown feature or column 'foo'");
    CHECK_TYPE_ERR("(1 + 'a') + foo", 4, "type error: '+' needs numeric operands, right is string");
    CHECK_TYPE_ERR("(up + 1) and (price or up)", 5, "type error: '+' needs numeric operands, left is boolean");
}

TEST(test_check_resolver)
{
    fs_expr *e = NULL;
    fs_expr_error err;
    fs_expr_type t;

    /* One resolver call per distinct name. */
    CHECK_INT(fs_expr_parse("price + price * vol - price", &e, NULL), FS_OK);
    resolve_calls = 0;
    CHECK_INT(fs_expr_check(e, resolve_known, NULL, &t, &err), FS_OK);
    CHECK_INT(resolve_calls, 2);
    /* Checking again resolves again (the registry may have changed). */
    resolve_calls = 0;
    CHECK_INT(fs_expr_check(e, resolve_known, NULL, &t, &err), FS_OK);
    CHECK_INT(resolve_calls, 2);
    /* Another resolver, other types. */
    CHECK_INT(fs_expr_check(e, resolve_all_string, NULL, &t, &err), FS_E_INVALID_DEF);
    CHECK_INT(err.col, 15);
    CHECK_STR(err.msg, "type error: '*' needs numeric operands, left is string");
    CHECK_INT(fs_expr_check(e, resolve_all_numeric, NULL, &t, &err), FS_OK);
    CHECK_INT(t, FS_EXPR_NUMERIC);
    /* NULL resolver: every name is unknown. */
    CHECK_INT(fs_expr_check(e, NULL, NULL, &t, &err), FS_E_INVALID_DEF);
    CHECK_INT(err.col, 1);
    CHECK_STR(err.msg, "unknown feature or column 'price'");
    /* A resolver giving a type out of range is a caller bug. */
    CHECK_INT(fs_expr_check(e, resolve_bad_type, NULL, &t, &err), FS_E_INVAL);
    CHECK_STR(err.msg, "the resolver gave 'price' an invalid type (7)");
    /* err and result may be NULL. */
    CHECK_INT(fs_expr_check(e, resolve_known, NULL, NULL, NULL), FS_OK);
    fs_expr_free(e);

    CHECK_INT(fs_expr_parse("1 + 2 > 2", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_check(e, NULL, NULL, &t, NULL), FS_OK);
    CHECK_INT(t, FS_EXPR_BOOLEAN);
    fs_expr_free(e);

    CHECK_INT(fs_expr_check(NULL, resolve_known, NULL, &t, &err), FS_E_INVAL);
}

/* ---------------------------------------------------------------------------
 * References and windows
 * ------------------------------------------------------------------------- */

TEST(test_qualified_refs)
{
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("spot.close - perp.close + spot.close / basis", &e, NULL), FS_OK);
    CHECK_INT(fs_expr_ref_count(e), 3);
    CHECK_STR(fs_expr_ref_name(e, 0), "spot.close");
    CHECK_STR(fs_expr_ref_name(e, 1), "perp.close");
    CHECK_STR(fs_expr_ref_name(e, 2), "basis");
    CHECK_INT(fs_expr_ref_col(e, 0), 1);
    CHECK_INT(fs_expr_ref_col(e, 1), 14);
    CHECK_INT(fs_expr_ref_col(e, 2), 40);
    CHECK(fs_expr_ref_name(e, 3) == NULL);
    CHECK_INT(fs_expr_ref_col(e, 3), 0);
    /* Both appearances of spot.close share one reference. */
    const fs_expr_node *r = fs_expr_root(e);
    const fs_expr_node *first = r->args[0]->args[0], *second = r->args[1]->args[0];
    CHECK_STR(first->str, "spot.close");
    CHECK_INT(first->ref, 0);
    CHECK_INT(second->ref, 0);
    CHECK_INT(second->col, 27);
    CHECK_INT(second->len, 10);
    CHECK_INT(r->args[0]->args[1]->ref, 1);
    fs_expr_free(e);
    CHECK_STR(canon("a._b+_x.y9"), "(a._b + _x.y9)");
    CHECK_STR(canon("and_x.or_y"), "and_x.or_y");
    CHECK_STR(canon("v.and"), "v.and"); /* only an unqualified name can be a keyword */

    CHECK_PARSE_ERR("a.b.c", 1, "a name has at most one '.' (view.feature), found 'a.b.c'");
    CHECK_PARSE_ERR("x + a.b.c.d", 5, "a name has at most one '.' (view.feature), found 'a.b.c.d'");
    CHECK_PARSE_ERR("a.", 3, "expected a feature name after 'a.'");
    CHECK_PARSE_ERR("a.1", 3, "expected a feature name after 'a.'");
    CHECK_PARSE_ERR("view. close", 6, "expected a feature name after 'view.'");
    CHECK_PARSE_ERR("a .b", 3, "unexpected character '.'");
}

TEST(test_refs_and_windows)
{
    fs_expr *e = NULL;
    const char *text = "mean(x, 20) + lag(y, 5) - x + zscore(spot.close, 50) * y";
    CHECK_INT(fs_expr_parse(text, &e, NULL), FS_OK);
    CHECK_INT(fs_expr_ref_count(e), 3);
    CHECK_STR(fs_expr_ref_name(e, 0), "x");
    CHECK_STR(fs_expr_ref_name(e, 1), "y");
    CHECK_STR(fs_expr_ref_name(e, 2), "spot.close");
    CHECK_INT(fs_expr_ref_col(e, 0), 6);
    CHECK_INT(fs_expr_ref_col(e, 1), 19);
    CHECK_INT(fs_expr_ref_col(e, 2), 38);
    CHECK_INT(fs_expr_max_window(e), 50);
    CHECK_INT(fs_expr_lookback(e), 49);
    fs_expr_free(e);

    static const struct {
        const char *text;
        int max_window, lookback;
    } cases[] = {
        {"a + b", 0, 0},
        {"lag(x, 1)", 1, 1},
        {"sum(x, 1)", 1, 0},
        {"mean(lag(x, 5), 10)", 10, 14},
        {"lag(lag(x, 1), 1)", 1, 2},
        {"delta(mean(x, 3), 2)", 3, 4},
        {"pct_change(x, 4) + std(x, 30)", 30, 29},
        {"ewm(x, 10)", 10, 9},
        {"max_over(x, 7) - min_over(zscore(x, 3), 7)", 7, 8},
        {"if(lag(up, 3), mean(x, 2), 0)", 3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(fs_expr_parse(cases[i].text, &e, NULL), FS_OK);
        CHECK_INT(fs_expr_max_window(e), cases[i].max_window);
        CHECK_INT(fs_expr_lookback(e), cases[i].lookback);
        fs_expr_free(e);
    }
}

/* ---------------------------------------------------------------------------
 * Syntax errors and their columns
 * ------------------------------------------------------------------------- */

TEST(test_error_columns)
{
    CHECK_PARSE_ERR("", 1, "empty expression");
    CHECK_PARSE_ERR("   \t\n", 1, "empty expression");
    CHECK_PARSE_ERR("a +", 4, "expected an expression after '+', found end of expression");
    CHECK_PARSE_ERR("a +\n b +", 9, "expected an expression after '+', found end of expression");
    CHECK_PARSE_ERR("a + * b", 5, "expected an expression after '+', found '*'");
    CHECK_PARSE_ERR("a ** b", 4,
                    "expected an expression after '*', found '*' ('**' is not an operator: powers are written pow(x, y))");
    CHECK_PARSE_ERR("a + not b", 5,
                    "expected an expression after '+', found 'not' ('not' binds more loosely than comparisons "
                    "and arithmetic: write '(not x)')");
    CHECK_PARSE_ERR("a == not b", 6,
                    "expected an expression after '==', found 'not' ('not' binds more loosely than comparisons "
                    "and arithmetic: write '(not x)')");
    CHECK_PARSE_ERR("(a + b", 7, "expected ')' to close the '(' at col 1, found end of expression");
    CHECK_PARSE_ERR("x * ((a + b) c", 14, "expected ')' to close the '(' at col 5, found 'c'");
    CHECK_PARSE_ERR("a + b)", 6, "unmatched ')'");
    CHECK_PARSE_ERR("(a))", 4, "unmatched ')'");
    CHECK_PARSE_ERR("a b", 3, "expected an operator or the end of the expression, found 'b'");
    CHECK_PARSE_ERR("a 1", 3, "expected an operator or the end of the expression, found number 1");
    CHECK_PARSE_ERR("a 'x'", 3, "expected an operator or the end of the expression, found string 'x'");
    CHECK_PARSE_ERR("true false", 6, "expected an operator or the end of the expression, found 'false'");
    CHECK_PARSE_ERR("a,b", 2, "expected an operator or the end of the expression, found ','");
    CHECK_PARSE_ERR("a AND b", 3,
                    "expected an operator or the end of the expression, found 'AND' (keywords are lowercase: "
                    "did you mean 'and'?)");
    CHECK_PARSE_ERR("a Or b", 3,
                    "expected an operator or the end of the expression, found 'Or' (keywords are lowercase: "
                    "did you mean 'or'?)");
    CHECK_PARSE_ERR("abs(x)(y)", 7, "expected an operator or the end of the expression, found '('");
    CHECK_PARSE_ERR("clip(x, 0, 1", 13, "expected ')' after arguments of 'clip', found end of expression");
    CHECK_PARSE_ERR("abs(x)+clip(x", 14, "expected ')' after arguments of 'clip', found end of expression");
    CHECK_PARSE_ERR("clip(x 0, 1)", 8, "expected ',' or ')' after argument 1 of 'clip', found number 0");
    CHECK_PARSE_ERR("min(a, b c)", 10, "expected ',' or ')' after argument 2 of 'min', found 'c'");
    CHECK_PARSE_ERR("min(a,)", 7, "expected an expression after ',', found ')'");
    CHECK_PARSE_ERR("min(,a)", 5, "expected an expression after '(', found ','");
    CHECK_PARSE_ERR("()", 2, "expected an expression after '(', found ')'");
    CHECK_PARSE_ERR(")", 1, "expected an expression, found ')'");
    CHECK_PARSE_ERR(",", 1, "expected an expression, found ','");
    CHECK_PARSE_ERR("  * a", 3, "expected an expression, found '*'");
    CHECK_PARSE_ERR("a < b < c", 7,
                    "comparison operators cannot be chained: write 'a < b and b < c', not 'a < b < c'");
    CHECK_PARSE_ERR("a == b == c", 8,
                    "comparison operators cannot be chained: write 'a < b and b < c', not 'a < b < c'");
    CHECK_PARSE_ERR("a < b == c", 7,
                    "comparison operators cannot be chained: write 'a < b and b < c', not 'a < b < c'");

    /* Lexical errors. */
    CHECK_PARSE_ERR("1.2.3", 1, "malformed number '1.2.3'");
    CHECK_PARSE_ERR("x + 12abc", 5, "malformed number '12abc'");
    CHECK_PARSE_ERR("1.", 1, "malformed number '1.'");
    CHECK_PARSE_ERR("1.e5", 1, "malformed number '1.e5'");
    CHECK_PARSE_ERR("1e", 1, "malformed number '1e'");
    CHECK_PARSE_ERR("2 * 1e+", 5, "malformed number '1e'");
    CHECK_PARSE_ERR(".5.5", 1, "malformed number '.5.5'");
    CHECK_PARSE_ERR("1e999", 1, "number '1e999' is out of range");
    CHECK_PARSE_ERR("x == 'bull", 6, "unterminated string literal");
    CHECK_PARSE_ERR("x == \"bull'", 6, "unterminated string literal");
    CHECK_PARSE_ERR("'abc\\", 1, "unterminated string literal");
    CHECK_PARSE_ERR("'a\\nb'", 3,
                    "unknown escape '\\n' in string literal (only \\\\, \\' and \\\" are recognised)");
    CHECK_PARSE_ERR("x = 1", 3, "unexpected '=' (did you mean '=='?)");
    CHECK_PARSE_ERR("a & b", 3, "unexpected '&' (did you mean '&&' or 'and'?)");
    CHECK_PARSE_ERR("a | b", 3, "unexpected '|' (did you mean '||' or 'or'?)");
    CHECK_PARSE_ERR("a ^ 2", 3, "unexpected '^' (powers are written pow(x, y))");
    CHECK_PARSE_ERR("a @ b", 3, "unexpected character '@'");
    CHECK_PARSE_ERR("a $", 3, "unexpected character '$'");
    CHECK_PARSE_ERR(".", 1, "unexpected character '.'");
    CHECK_PARSE_ERR("a \xC3\xA9", 3, "unexpected byte 0xC3");
    CHECK_PARSE_ERR("a + \x01", 5, "unexpected byte 0x01");
    /* A lexical error after a complete operand is still reported as itself. */
    CHECK_PARSE_ERR("(a + b 1.2.3", 8, "malformed number '1.2.3'");
    CHECK_PARSE_ERR("min(a 'x)", 7, "unterminated string literal");

    /* Long tokens are cut in messages, which stay within the buffer. */
    char text[300];
    snprintf(text, sizeof text, "x + %s(", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    fs_expr *e = NULL;
    fs_expr_error err;
    CHECK_INT(fs_expr_parse(text, &e, &err), FS_E_PARSE);
    CHECK_INT(err.col, 5);
    CHECK_STR(err.msg, "unknown function 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...'");

    /* Bad arguments. */
    CHECK_INT(fs_expr_parse(NULL, &e, &err), FS_E_INVAL);
    CHECK(e == NULL);
    CHECK_INT(fs_expr_parse("a", NULL, &err), FS_E_INVAL);
    CHECK_INT(fs_expr_parse("a +", &e, NULL), FS_E_PARSE); /* err may be NULL */
    CHECK(e == NULL);
}

/* ---------------------------------------------------------------------------
 * Hostile input
 * ------------------------------------------------------------------------- */

static char *repeat(const char *unit, size_t times, const char *middle, const char *tail_unit)
{
    size_t ul = strlen(unit), ml = strlen(middle), tl = strlen(tail_unit);
    char *s = malloc(times * (ul + tl) + ml + 1), *p = s;
    for (size_t i = 0; i < times; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, middle, ml);
    p += ml;
    for (size_t i = 0; i < times; i++, p += tl)
        memcpy(p, tail_unit, tl);
    *p = 0;
    return s;
}

static void check_nesting(const char *open, const char *close, size_t levels, int want_col)
{
    char *s = repeat(open, levels, "x", close);
    fs_expr *e = NULL;
    fs_expr_error err;
    int rc = fs_expr_parse(s, &e, &err);
    if (want_col == 0) {
        CHECK_INT(rc, FS_OK);
    } else {
        CHECK_INT(rc, FS_E_PARSE);
        CHECK_INT(err.col, want_col);
        CHECK_STR(err.msg, "expression nested too deeply: more than 64 levels of parentheses, calls and unary "
                           "operators");
    }
    fs_expr_free(e);
    free(s);
}

TEST(test_hostile_nesting)
{
    CHECK_INT(FS_EXPR_MAX_NESTING, 64);
    check_nesting("(", ")", 64, 0);
    check_nesting("(", ")", 65, 65);
    check_nesting("(", ")", 100000, 65);
    check_nesting("(", "", 100000, 65);
    check_nesting("-", "", 64, 0);
    check_nesting("-", "", 100000, 65);
    check_nesting("!", "", 100000, 65);
    check_nesting("not ", "", 64, 0);
    check_nesting("not ", "", 100000, 64 * 4 + 1);
    check_nesting("abs(", ")", 64, 0);
    check_nesting("abs(", ")", 65, 64 * 4 + 4);
    check_nesting("-(", ")", 32, 0);
    check_nesting("-(", ")", 33, 65);
    check_nesting("lag(", ", 1)", 64, 0);
    check_nesting("lag(", ", 1)", 1000, 64 * 4 + 4);

    /* 64 nested windows add up in the lookback. */
    char *s = repeat("lag(", 64, "x", ", 2)");
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse(s, &e, NULL), FS_OK);
    CHECK_INT(fs_expr_lookback(e), 128);
    CHECK_INT(fs_expr_max_window(e), 2);
    fs_expr_free(e);
    free(s);
}

TEST(test_hostile_size)
{
    const size_t mb = 1u << 20;
    char *s = malloc(mb + 1);
    fs_expr *e = NULL;
    fs_expr_error err;

    /* 1 MB of random printable garbage, and of random bytes. */
    rng_state = 0x2545F4914F6CDD1Dull;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < mb; i++)
            s[i] = round == 0 ? (char)(0x20 + rnd(0x5f)) : (char)(1 + rnd(255));
        s[mb] = 0;
        int rc = fs_expr_parse(s, &e, &err);
        CHECK(rc == FS_E_PARSE || rc == FS_OK);
        if (rc == FS_E_PARSE) {
            CHECK(err.col >= 1 && (size_t)err.col <= mb + 1);
            CHECK(err.msg[0] != 0);
        }
        fs_expr_free(e);
        e = NULL;
    }

    /* A 1 MB sum of ~350k terms: a tree as deep as it is long, which neither
     * the checker nor the formatter may walk by recursion. */
    size_t terms = 0, o = 0;
    while (o + 3 < mb) {
        memcpy(s + o, terms ? "+a" : "a", terms ? 2 : 1);
        o += terms ? 2 : 1;
        terms++;
    }
    s[o] = 0;
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_OK);
    size_t n = 0;
    fs_expr_nodes(e, &n);
    CHECK_INT(n, 2 * terms - 1);
    CHECK_INT(fs_expr_ref_count(e), 1);
    fs_expr_type t;
    CHECK_INT(fs_expr_check(e, resolve_all_numeric, NULL, &t, &err), FS_OK);
    char *f = NULL;
    CHECK_INT(fs_expr_format(e, &f), FS_OK);
    CHECK_INT(strlen(f), 6 * terms - 5); /* each term adds "(", " + ", "a", ")" */
    CHECK(strspn(f, "(") == terms - 1);
    CHECK(strncmp(f + terms - 1, "a + a) + a) + a)", 16) == 0);
    CHECK_STR(f + strlen(f) - 6, ") + a)");
    free(f);
    fs_expr_free(e);

    /* A 1 MB chain of distinct names: the reference list stays linear. */
    o = 0;
    terms = 0;
    while (o + 16 < mb) {
        terms++;
        o += (size_t)sprintf(s + o, terms > 1 ? "+n%zu" : "n%zu", terms);
    }
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_OK);
    CHECK_INT(fs_expr_ref_count(e), terms);
    CHECK_STR(fs_expr_ref_name(e, 0), "n1");
    CHECK_STR(fs_expr_ref_name(e, terms - 1), strrchr(s, '+') + 1);
    fs_expr_free(e);

    /* A 1 MB number, string and name. */
    memset(s, '9', mb);
    s[mb] = 0;
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_E_PARSE);
    CHECK_INT(err.col, 1);
    CHECK_STR(err.msg, "number '9999999999999999999999999999999999999999...' is out of range");
    memset(s, 'q', mb);
    s[0] = '\'';
    s[mb - 1] = '\'';
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_OK);
    CHECK_INT(strlen(fs_expr_root(e)->str), mb - 2);
    fs_expr_free(e);
    memset(s, 'q', mb);
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_OK);
    CHECK_INT(strlen(fs_expr_ref_name(e, 0)), mb);
    CHECK_INT(fs_expr_check(e, resolve_known, NULL, &t, &err), FS_E_INVALID_DEF);
    CHECK_INT(err.col, 1);
    CHECK_STR(err.msg, "unknown feature or column 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...'");
    fs_expr_free(e);
    /* An unterminated 1 MB string. */
    s[0] = '"';
    CHECK_INT(fs_expr_parse(s, &e, &err), FS_E_PARSE);
    CHECK_INT(err.col, 1);
    CHECK_STR(err.msg, "unterminated string literal");
    free(s);
}

/* ---------------------------------------------------------------------------
 * Fuzz
 * ------------------------------------------------------------------------- */

static int resolve_by_hash(void *ctx, const char *name, fs_expr_type *type)
{
    (void)ctx;
    unsigned h = 0;
    for (const char *p = name; *p; p++)
        h = h * 31 + (unsigned char)*p;
    if (h % 7 == 0)
        return 1;
    *type = (fs_expr_type)(h % 3);
    return 0;
}

/* A parsed expression must survive format -> parse -> format unchanged, and
 * check() must end with OK or a located error. */
static void round_trip(fs_expr *e, const char *src)
{
    char *f1 = NULL, *f2 = NULL;
    CHECK_INT(fs_expr_format(e, &f1), FS_OK);
    fs_expr *e2 = NULL;
    fs_expr_error err;
    int rc = fs_expr_parse(f1, &e2, &err);
    if (rc != FS_OK)
        fprintf(stderr, "  reparse of \"%s\" (from \"%s\") failed: col %d: %s\n", f1, src, err.col, err.msg);
    CHECK_INT(rc, FS_OK);
    if (rc == FS_OK) {
        CHECK_INT(fs_expr_format(e2, &f2), FS_OK);
        CHECK_STR(f2, f1);
        CHECK_INT(fs_expr_ref_count(e2), fs_expr_ref_count(e));
        CHECK_INT(fs_expr_lookback(e2), fs_expr_lookback(e));
    }
    size_t len = strlen(src);
    fs_expr_type t;
    rc = fs_expr_check(e, resolve_by_hash, NULL, &t, &err);
    CHECK(rc == FS_OK || rc == FS_E_INVALID_DEF);
    if (rc != FS_OK)
        CHECK(err.col >= 1 && (size_t)err.col <= len + 1 && err.msg[0]);
    if (rc == FS_OK && e2) {
        fs_expr_type t2;
        CHECK_INT(fs_expr_check(e2, resolve_by_hash, NULL, &t2, NULL), FS_OK);
        CHECK_INT(t2, t);
    }
    fs_expr_free(e2);
    free(f1);
    free(f2);
}

TEST(test_fuzz_token_soup)
{
    static const char *const vocab[] = {
        "a", "b", "spot.close", "x1", "_y", "1", "2.5", ".5", "1e3", "0", "7", "'s'", "\"t\"", "'\\''",
        "true", "false", "and", "or", "not", "!", "&&", "||", "==", "!=", "<", "<=", ">", ">=",
        "+", "-", "*", "/", "%", "(", "(", "(", ")", ")", ")", ",", ",", "if", "abs", "lag", "mean",
        "min", "max", "coalesce", "clip", "pow", "sqrt", "zscore", "sqr", " ", " ", "\t",
        "1.2.3", "'", "=", "a.", "\\", "a.b.c", "AND", "^", "&", "#", "\xff", "1e",
    };
    const size_t nv = sizeof vocab / sizeof vocab[0];
    rng_state = 0x9E3779B97F4A7C15ull;
    char s[1024];
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 100000; iter++) {
        size_t ntok = rnd(25), o = 0;
        for (size_t k = 0; k < ntok; k++) {
            const char *t = vocab[rnd((unsigned)nv)];
            char rb[2] = {(char)(1 + rnd(255)), 0};
            if (rnd(50) == 0)
                t = rb; /* now and then a random byte */
            size_t tl = strlen(t);
            memcpy(s + o, t, tl);
            o += tl;
            if (rnd(2))
                s[o++] = ' ';
        }
        s[o] = 0;
        fs_expr *e = NULL;
        fs_expr_error err = {.col = -1};
        int rc = fs_expr_parse(s, &e, &err);
        if (rc == FS_OK) {
            ok++;
            CHECK(e != NULL);
            round_trip(e, s);
        } else {
            failed++;
            CHECK_INT(rc, FS_E_PARSE);
            CHECK(e == NULL);
            if (!(err.col >= 1 && (size_t)err.col <= o + 1 && err.msg[0]))
                fprintf(stderr, "  \"%s\": col %d: %s\n", s, err.col, err.msg);
            CHECK(err.col >= 1 && (size_t)err.col <= o + 1);
            CHECK(err.msg[0] != 0);
        }
        fs_expr_free(e);
    }
    /* The soup must reach the parser's insides, not only fail at the first token. */
    CHECK(ok > 2000);
    CHECK(failed > 50000);
}

/* A random well-formed expression into s (at most ~cap bytes). */
static void gen(char *s, size_t *o, size_t cap, int depth, int after_sign)
{
    static const char *const leaves[] = {"a", "b", "c.d", "1", "0.25", "3e-7", "1e300", "'x'", "'it\\'s'",
                                         "true", "false", "12345678901234567890"};
    static const char *const binops[] = {" + ", " - ", "*", " / ", " % ", " and ", " or ", " && ", "||",
                                         " == ", " != ", " < ", "<=", " > ", " >= "};
    unsigned pick = depth >= 6 || *o > cap - 4096 ? 0 : rnd(6);
    switch (pick) {
    case 0:
        *o += (size_t)sprintf(s + *o, "%s", leaves[rnd(sizeof leaves / sizeof leaves[0])]);
        break;
    case 1: {
        /* 'not' binds more loosely than unary minus: "-not x" is an error. */
        const char *op = (const char *[]){"-", "+", "not ", "!"}[rnd(after_sign ? 2 : 4)];
        *o += (size_t)sprintf(s + *o, "%s", op);
        gen(s, o, cap, depth + 1, op[0] == '-' || op[0] == '+');
        break;
    }
    case 2:
    case 3: {
        /* Parenthesise comparison operands so comparisons never chain. */
        const char *op = binops[rnd(sizeof binops / sizeof binops[0])];
        s[(*o)++] = '(';
        gen(s, o, cap, depth + 1, 0);
        *o += (size_t)sprintf(s + *o, ")%s(", op);
        gen(s, o, cap, depth + 1, 0);
        s[(*o)++] = ')';
        break;
    }
    default: {
        fs_expr_fn fn = (fs_expr_fn)rnd(FS_FN_COUNT);
        int min, max, win = fs_expr_fn_info(fn, &min, &max);
        int n = max < 0 ? min + (int)rnd(3) : min;
        *o += (size_t)sprintf(s + *o, "%s(", fs_expr_fn_name(fn));
        for (int i = 0; i < n; i++) {
            if (i)
                *o += (size_t)sprintf(s + *o, ", ");
            if (win && i == 1)
                *o += (size_t)sprintf(s + *o, "%u", 1 + rnd(100));
            else
                gen(s, o, cap, depth + 1, 0);
        }
        s[(*o)++] = ')';
        break;
    }
    }
    s[*o] = 0;
}

TEST(test_fuzz_generated)
{
    rng_state = 0xD1B54A32D192ED03ull;
    static char s[1 << 16];
    for (int iter = 0; iter < 20000; iter++) {
        size_t o = 0;
        gen(s, &o, sizeof s, 0, 0);
        fs_expr *e = NULL;
        fs_expr_error err;
        int rc = fs_expr_parse(s, &e, &err);
        if (rc != FS_OK)
            fprintf(stderr, "  \"%s\": col %d: %s\n", s, err.col, err.msg);
        CHECK_INT(rc, FS_OK);
        if (rc == FS_OK)
            round_trip(e, s);
        fs_expr_free(e);
    }
}

/* ---------------------------------------------------------------------------
 * Names, formatting, locale
 * ------------------------------------------------------------------------- */

TEST(test_names_and_misc)
{
    CHECK_STR(fs_expr_type_name(FS_EXPR_NUMERIC), "numeric");
    CHECK_STR(fs_expr_type_name(FS_EXPR_BOOLEAN), "boolean");
    CHECK_STR(fs_expr_type_name(FS_EXPR_STRING), "string");
    CHECK(fs_expr_type_name((fs_expr_type)3) == NULL);
    static const char *const ops[FS_OP_COUNT] = {"or", "and", "not", "==", "!=", "<", "<=", ">",
                                                 ">=", "+",  "-",   "*",  "/",  "%", "-",  "+"};
    for (int op = 0; op < FS_OP_COUNT; op++)
        CHECK_STR(fs_expr_op_name((fs_expr_op)op), ops[op]);
    CHECK(fs_expr_op_name(FS_OP_COUNT) == NULL);

    fs_expr_free(NULL);
    CHECK(fs_expr_root(NULL) == NULL);
    CHECK_INT(fs_expr_ref_count(NULL), 0);
    CHECK_INT(fs_expr_max_window(NULL), 0);
    size_t n = 99;
    CHECK(fs_expr_nodes(NULL, &n) == NULL);
    CHECK_INT(n, 0);
    char *f = (char *)"unchanged";
    CHECK_INT(fs_expr_format(NULL, &f), FS_E_INVAL);

    /* Whitespace and spelling do not change the canonical text. */
    char first[256];
    snprintf(first, sizeof first, "%s", canon("a&&b||!c"));
    CHECK_STR(first, canon("  a and b  or not c "));
    CHECK_STR(first, "((a and b) or (not c))");
    CHECK_STR(canon("mean( x ,20 )/lag(x,1)"), "(mean(x, 20) / lag(x, 1))");
}

TEST(test_locale_independent)
{
    /* With a comma-decimal locale in force, "1.5" must still be 1.5. The
     * locale may not be installed; then this only checks the C locale. */
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    char *saved = strdup(setlocale(LC_NUMERIC, NULL));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (setlocale(LC_NUMERIC, names[i]))
            break;
    fs_expr *e = NULL;
    CHECK_INT(fs_expr_parse("1.5 + .25", &e, NULL), FS_OK);
    CHECK(fs_expr_root(e)->args[0]->num == 1.5);
    char *f = NULL;
    CHECK_INT(fs_expr_format(e, &f), FS_OK);
    CHECK_STR(f, "(1.5 + 0.25)");
    free(f);
    fs_expr_free(e);
    setlocale(LC_NUMERIC, saved);
    free(saved);
}

int main(void)
{
    RUN(test_literals);
    RUN(test_precedence_and_associativity);
    RUN(test_postorder);
    RUN(test_function_arity);
    RUN(test_function_names);
    RUN(test_window_literals);
    RUN(test_type_rules_ok);
    RUN(test_type_rules_errors);
    RUN(test_check_resolver);
    RUN(test_qualified_refs);
    RUN(test_refs_and_windows);
    RUN(test_error_columns);
    RUN(test_hostile_nesting);
    RUN(test_hostile_size);
    RUN(test_fuzz_token_soup);
    RUN(test_fuzz_generated);
    RUN(test_names_and_misc);
    RUN(test_locale_independent);
    TEST_EXIT();
}
