/* expr.c — parser and type checker of the derived-feature expression language
 * (API in expr.h, language reference in docs/expressions.md).
 *
 * a) A hand-written recursive-descent parser, one function per precedence
 *    level, over a lexer with one token of lookahead. Chains of binary
 *    operators are loops, so only parentheses, calls and unary operators
 *    recurse; those are counted and capped at FS_EXPR_MAX_NESTING, which
 *    bounds the parser's stack whatever the input.
 * b) A node is created after its children, so creation order is post-order:
 *    each node is appended to e->nodes when it is made, and the evaluation
 *    order comes for free. The checker and the formatter walk that array or an
 *    explicit stack, never the tree by recursion, so a 100000-term sum (a tree
 *    100000 deep) cannot overflow the stack either.
 * c) A lexing error is not reported when the bad token is read as lookahead
 *    but when the parser reaches it, so that an earlier error (a wrong argument
 *    count noticed at the ')' just before) is still the one reported.
 * d) Nodes, names and strings live in one arena: fs_expr_free is one call.
 * e) Numbers are read and written in the C locale whatever the process's
 *    locale is, so "1.5" means the same in a program that called setlocale().
 */
#include "compute/expr.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "fstore.h"

/* ---------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int min_args, max_args; /* max -1: unbounded */
    int window;             /* 1: second argument is a window length literal */
} fn_table[FS_FN_COUNT] = {
    [FS_FN_IF] = {"if", 3, 3, 0},
    [FS_FN_ABS] = {"abs", 1, 1, 0},
    [FS_FN_LOG] = {"log", 1, 1, 0},
    [FS_FN_EXP] = {"exp", 1, 1, 0},
    [FS_FN_SQRT] = {"sqrt", 1, 1, 0},
    [FS_FN_POW] = {"pow", 2, 2, 0},
    [FS_FN_SIGN] = {"sign", 1, 1, 0},
    [FS_FN_CLIP] = {"clip", 3, 3, 0},
    [FS_FN_MIN] = {"min", 2, -1, 0},
    [FS_FN_MAX] = {"max", 2, -1, 0},
    [FS_FN_COALESCE] = {"coalesce", 2, -1, 0},
    [FS_FN_LAG] = {"lag", 2, 2, 1},
    [FS_FN_DELTA] = {"delta", 2, 2, 1},
    [FS_FN_PCT_CHANGE] = {"pct_change", 2, 2, 1},
    [FS_FN_MEAN] = {"mean", 2, 2, 1},
    [FS_FN_STD] = {"std", 2, 2, 1},
    [FS_FN_ZSCORE] = {"zscore", 2, 2, 1},
    [FS_FN_EWM] = {"ewm", 2, 2, 1},
    [FS_FN_SUM] = {"sum", 2, 2, 1},
    [FS_FN_MIN_OVER] = {"min_over", 2, 2, 1},
    [FS_FN_MAX_OVER] = {"max_over", 2, 2, 1},
};

/* Names people bring from pandas, SQL and TA-Lib, for "did you mean". */
static const struct {
    const char *alias;
    fs_expr_fn fn;
} fn_aliases[] = {
    {"avg", FS_FN_MEAN},         {"average", FS_FN_MEAN},   {"sma", FS_FN_MEAN},
    {"rolling_mean", FS_FN_MEAN}, {"stddev", FS_FN_STD},    {"stdev", FS_FN_STD},
    {"ema", FS_FN_EWM},          {"ln", FS_FN_LOG},         {"power", FS_FN_POW},
    {"shift", FS_FN_LAG},        {"diff", FS_FN_DELTA},     {"iif", FS_FN_IF},
    {"ifelse", FS_FN_IF},        {"clamp", FS_FN_CLIP},     {"nvl", FS_FN_COALESCE},
    {"ifnull", FS_FN_COALESCE},  {"signum", FS_FN_SIGN},    {"roc", FS_FN_PCT_CHANGE},
};

static const char *const op_names[FS_OP_COUNT] = {
    [FS_OP_OR] = "or",  [FS_OP_AND] = "and", [FS_OP_NOT] = "not", [FS_OP_EQ] = "==",
    [FS_OP_NE] = "!=",  [FS_OP_LT] = "<",    [FS_OP_LE] = "<=",   [FS_OP_GT] = ">",
    [FS_OP_GE] = ">=",  [FS_OP_ADD] = "+",   [FS_OP_SUB] = "-",   [FS_OP_MUL] = "*",
    [FS_OP_DIV] = "/",  [FS_OP_MOD] = "%",   [FS_OP_NEG] = "-",   [FS_OP_POS] = "+",
};

static const char *const type_names[] = {"numeric", "boolean", "string"};

const char *fs_expr_type_name(fs_expr_type t)
{
    return (unsigned)t <= FS_EXPR_STRING ? type_names[t] : NULL;
}

const char *fs_expr_fn_name(fs_expr_fn fn)
{
    return (unsigned)fn < FS_FN_COUNT ? fn_table[fn].name : NULL;
}

const char *fs_expr_op_name(fs_expr_op op)
{
    return (unsigned)op < FS_OP_COUNT ? op_names[op] : NULL;
}

int fs_expr_fn_info(fs_expr_fn fn, int *min_args, int *max_args)
{
    if ((unsigned)fn >= FS_FN_COUNT)
        return -1;
    if (min_args)
        *min_args = fn_table[fn].min_args;
    if (max_args)
        *max_args = fn_table[fn].max_args;
    return fn_table[fn].window;
}

/* ---------------------------------------------------------------------------
 * The C locale, for strtod and printf of numbers
 * ------------------------------------------------------------------------- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale; /* (locale_t)0 if newlocale failed: then the process locale is used */

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

/* ---------------------------------------------------------------------------
 * The expression object
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t len;
    int col;
    int resolved; /* during fs_expr_check */
    fs_expr_type type;
} ref_entry;

struct fs_expr {
    fs_arena arena;
    fs_expr_node *root;
    fs_expr_node **nodes; /* post-order; malloc'd */
    size_t n_nodes, cap_nodes;
    ref_entry *refs; /* malloc'd */
    size_t n_refs, cap_refs;
    uint32_t *ref_index; /* open addressing: slot holds ref index + 1, 0 when empty */
    size_t index_cap;    /* a power of two, or 0 */
    int max_window, lookback;
};

void fs_expr_free(fs_expr *e)
{
    if (!e)
        return;
    fs_arena_free(&e->arena);
    free(e->nodes);
    free(e->refs);
    free(e->ref_index);
    free(e);
}

const fs_expr_node *fs_expr_root(const fs_expr *e)
{
    return e ? e->root : NULL;
}

const fs_expr_node *const *fs_expr_nodes(const fs_expr *e, size_t *count)
{
    if (count)
        *count = e ? e->n_nodes : 0;
    return e ? (const fs_expr_node *const *)e->nodes : NULL;
}

size_t fs_expr_ref_count(const fs_expr *e)
{
    return e ? e->n_refs : 0;
}

const char *fs_expr_ref_name(const fs_expr *e, size_t i)
{
    return e && i < e->n_refs ? e->refs[i].name : NULL;
}

int fs_expr_ref_col(const fs_expr *e, size_t i)
{
    return e && i < e->n_refs ? e->refs[i].col : 0;
}

int fs_expr_max_window(const fs_expr *e)
{
    return e ? e->max_window : 0;
}

int fs_expr_lookback(const fs_expr *e)
{
    return e ? e->lookback : 0;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Rebuilds the name index at twice the size. Returns 0 or -1 (out of memory). */
static int grow_ref_index(fs_expr *e)
{
    size_t cap = e->index_cap ? e->index_cap * 2 : 16;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < e->n_refs; i++) {
        size_t s = (size_t)hash_bytes(e->refs[i].name, e->refs[i].len) & (cap - 1);
        while (idx[s])
            s = (s + 1) & (cap - 1);
        idx[s] = (uint32_t)(i + 1);
    }
    free(e->ref_index);
    e->ref_index = idx;
    e->index_cap = cap;
    return 0;
}

/* The index of name in the reference list, adding it if new. -1: out of memory. */
static int intern_ref(fs_expr *e, const char *name, size_t len, int col)
{
    if ((e->n_refs + 1) * 2 > e->index_cap && grow_ref_index(e))
        return -1;
    size_t s = (size_t)hash_bytes(name, len) & (e->index_cap - 1);
    while (e->ref_index[s]) {
        const ref_entry *r = &e->refs[e->ref_index[s] - 1];
        if (r->len == len && memcmp(r->name, name, len) == 0)
            return (int)(e->ref_index[s] - 1);
        s = (s + 1) & (e->index_cap - 1);
    }
    if (e->n_refs == e->cap_refs) {
        size_t cap = e->cap_refs ? e->cap_refs * 2 : 8;
        ref_entry *r = realloc(e->refs, cap * sizeof *r);
        if (!r)
            return -1;
        e->refs = r;
        e->cap_refs = cap;
    }
    char *copy = fs_arena_strndup(&e->arena, name, len);
    if (!copy)
        return -1;
    e->refs[e->n_refs] = (ref_entry){.name = copy, .len = len, .col = col};
    e->ref_index[s] = (uint32_t)(e->n_refs + 1);
    return (int)e->n_refs++;
}

/* ---------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------- */

typedef enum {
    T_END = 0, T_ERROR, T_NUM, T_STR, T_NAME, T_TRUE, T_FALSE,
    T_AND, T_OR, T_NOT, T_LPAREN, T_RPAREN, T_COMMA,
    T_CMP, /* == != < <= > >= */
    T_ADD, /* + - */
    T_MUL  /* * / % */
} tok_kind;

typedef struct {
    tok_kind kind;
    fs_expr_op op; /* T_AND, T_OR, T_NOT, T_CMP, T_ADD, T_MUL */
    size_t pos, len;
    double num; /* T_NUM */
} token;

typedef struct {
    const char *text;
    size_t len;
    size_t pos;  /* where the lexer goes on */
    token tok;   /* the lookahead */
    token prev;  /* the token before it, for "after '+'" in messages */
    int ntok;    /* tokens lexed so far */
    int depth;   /* open parentheses, calls and unary operators */
    int status;  /* FS_OK until the first error */
    fs_expr_error *err;
    fs_expr *e;
    /* a lexing error, reported when the parser reaches the T_ERROR token */
    size_t lex_pos;
    char lex_msg[sizeof ((fs_expr_error *)0)->msg];
} parser;

/* ASCII classes: <ctype.h> depends on the locale, the language does not. */
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_ident(int c) { return is_ident_start(c) || is_digit(c); }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Copies at most 40 bytes of s[0..n) into out as printable text, non-printable
 * bytes as \xNN, "..." when cut. out must hold 200 bytes. */
static void snip(char *out, const char *s, size_t n)
{
    size_t o = 0, lim = n > 40 ? 40 : n;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (n > lim) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

__attribute__((format(printf, 4, 5)))
static void perr(parser *p, size_t pos, int status, const char *fmt, ...)
{
    if (p->status)
        return; /* the first error wins */
    p->status = status;
    p->err->col = (int)pos + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
}

static void nomem(parser *p)
{
    perr(p, 0, FS_E_NOMEM, "out of memory");
}

__attribute__((format(printf, 3, 4)))
static void lex_error(parser *p, size_t pos, const char *fmt, ...)
{
    p->lex_pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->lex_msg, sizeof p->lex_msg, fmt, ap);
    va_end(ap);
}

/* Reads a number starting at s[i]; returns its end, or 0 after lex_error. */
static size_t lex_number(parser *p, size_t i, double *value)
{
    const char *s = p->text;
    size_t n = p->len, j = i;
    int bad = 0;
    while (j < n && is_digit(s[j]))
        j++;
    if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
        j++;
        while (j < n && is_digit(s[j]))
            j++;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k < n && is_digit(s[k])) {
            j = k;
            while (j < n && is_digit(s[j]))
                j++;
        } else {
            bad = 1;
        }
    }
    /* A number must not run into a name or another '.': "1.2.3", "12abc",
     * "1." and "1e" are one malformed token, not two tokens side by side. */
    if (bad || (j < n && (is_ident(s[j]) || s[j] == '.'))) {
        size_t k = j;
        while (k < n && (is_ident(s[k]) || s[k] == '.'))
            k++;
        char sn[200];
        snip(sn, s + i, k - i);
        lex_error(p, i, "malformed number '%s'", sn);
        return 0;
    }
    char small[64], *buf = small;
    if (j - i >= sizeof small && !(buf = malloc(j - i + 1))) {
        nomem(p);
        return 0;
    }
    memcpy(buf, s + i, j - i);
    buf[j - i] = 0;
    locale_t loc = get_c_locale();
    double v = loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (isinf(v)) {
        char sn[200];
        snip(sn, s + i, j - i);
        lex_error(p, i, "number '%s' is out of range", sn);
        return 0;
    }
    *value = v;
    return j;
}

/* Reads a string literal starting at its quote s[i]; returns its end (after
 * the closing quote), or 0 after lex_error. Escapes are checked here and
 * decoded by decode_string. */
static size_t lex_string(parser *p, size_t i)
{
    const char *s = p->text;
    size_t n = p->len, j = i + 1;
    char q = s[i];
    while (j < n && s[j] != q) {
        if (s[j] == '\\') {
            if (j + 1 >= n) {
                j = n; /* a backslash at the end escapes nothing */
                break;
            }
            char c = s[j + 1];
            if (c != '\\' && c != '\'' && c != '"') {
                char sn[200];
                snip(sn, s + j, 2);
                lex_error(p, j, "unknown escape '%s' in string literal (only \\\\, \\' and \\\" are recognised)", sn);
                return 0;
            }
            j += 2;
        } else {
            j++;
        }
    }
    if (j >= n) {
        lex_error(p, i, "unterminated string literal");
        return 0;
    }
    return j + 1;
}

/* Reads a name, possibly qualified (view.feature); returns its end or 0. */
static size_t lex_name(parser *p, size_t i)
{
    const char *s = p->text;
    size_t n = p->len, j = i;
    while (j < n && is_ident(s[j]))
        j++;
    if (j < n && s[j] == '.') {
        if (j + 1 < n && is_ident_start(s[j + 1])) {
            j++;
            while (j < n && is_ident(s[j]))
                j++;
            if (j < n && s[j] == '.') {
                size_t k = j;
                while (k < n && (is_ident(s[k]) || s[k] == '.'))
                    k++;
                char sn[200];
                snip(sn, s + i, k - i);
                lex_error(p, i, "a name has at most one '.' (view.feature), found '%s'", sn);
                return 0;
            }
        } else {
            char sn[200];
            snip(sn, s + i, j - i);
            lex_error(p, j + 1, "expected a feature name after '%s.'", sn);
            return 0;
        }
    }
    return j;
}

/* Advances to the next token. After a lexing error the lookahead stays
 * T_ERROR: nothing in the grammar accepts it, so parsing stops there. */
static void lex(parser *p)
{
    if (p->tok.kind == T_ERROR && p->ntok > 0)
        return;
    p->prev = p->tok;
    p->ntok++;
    const char *s = p->text;
    size_t n = p->len, i = p->pos;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    token t = {.kind = T_ERROR, .pos = i};
    size_t end = i + 1;
    if (i >= n) {
        t.kind = T_END;
        end = i;
    } else {
        unsigned char c = (unsigned char)s[i];
        unsigned char c1 = i + 1 < n ? (unsigned char)s[i + 1] : 0;
        if (is_ident_start(c)) {
            end = lex_name(p, i);
            if (end) {
                size_t len = end - i;
                t.kind = T_NAME;
                if (len == 3 && memcmp(s + i, "and", 3) == 0)
                    t.kind = T_AND, t.op = FS_OP_AND;
                else if (len == 2 && memcmp(s + i, "or", 2) == 0)
                    t.kind = T_OR, t.op = FS_OP_OR;
                else if (len == 3 && memcmp(s + i, "not", 3) == 0)
                    t.kind = T_NOT, t.op = FS_OP_NOT;
                else if (len == 4 && memcmp(s + i, "true", 4) == 0)
                    t.kind = T_TRUE;
                else if (len == 5 && memcmp(s + i, "false", 5) == 0)
                    t.kind = T_FALSE;
            }
        } else if (is_digit(c) || (c == '.' && is_digit(c1))) {
            end = lex_number(p, i, &t.num);
            if (end)
                t.kind = T_NUM;
        } else if (c == '\'' || c == '"') {
            end = lex_string(p, i);
            if (end)
                t.kind = T_STR;
        } else {
            switch (c) {
            case '(': t.kind = T_LPAREN; break;
            case ')': t.kind = T_RPAREN; break;
            case ',': t.kind = T_COMMA; break;
            case '+': t.kind = T_ADD, t.op = FS_OP_ADD; break;
            case '-': t.kind = T_ADD, t.op = FS_OP_SUB; break;
            case '*': t.kind = T_MUL, t.op = FS_OP_MUL; break;
            case '/': t.kind = T_MUL, t.op = FS_OP_DIV; break;
            case '%': t.kind = T_MUL, t.op = FS_OP_MOD; break;
            case '<': t.kind = T_CMP, t.op = c1 == '=' ? FS_OP_LE : FS_OP_LT; end += c1 == '='; break;
            case '>': t.kind = T_CMP, t.op = c1 == '=' ? FS_OP_GE : FS_OP_GT; end += c1 == '='; break;
            case '!':
                if (c1 == '=')
                    t.kind = T_CMP, t.op = FS_OP_NE, end++;
                else
                    t.kind = T_NOT, t.op = FS_OP_NOT;
                break;
            case '=':
                if (c1 == '=')
                    t.kind = T_CMP, t.op = FS_OP_EQ, end++;
                else
                    lex_error(p, i, "unexpected '=' (did you mean '=='?)");
                break;
            case '&':
                if (c1 == '&')
                    t.kind = T_AND, t.op = FS_OP_AND, end++;
                else
                    lex_error(p, i, "unexpected '&' (did you mean '&&' or 'and'?)");
                break;
            case '|':
                if (c1 == '|')
                    t.kind = T_OR, t.op = FS_OP_OR, end++;
                else
                    lex_error(p, i, "unexpected '|' (did you mean '||' or 'or'?)");
                break;
            case '^':
                lex_error(p, i, "unexpected '^' (powers are written pow(x, y))");
                break;
            default:
                if (c >= 0x20 && c < 0x7f)
                    lex_error(p, i, "unexpected character '%c'", c);
                else
                    lex_error(p, i, "unexpected byte 0x%02X", c);
                break;
            }
        }
    }
    if (t.kind == T_ERROR) {
        end = i;
        if (p->status) /* out of memory inside lex_number */
            p->lex_msg[0] = 0;
    }
    t.len = end - i;
    p->tok = t;
    p->pos = end;
}

/* Describes the lookahead for "found ..." in messages. out: 200 bytes. */
static const char *describe(const parser *p, const token *t, char *out)
{
    if (t->kind == T_END)
        return "end of expression";
    char sn[200];
    snip(sn, p->text + t->pos, t->len);
    if (t->kind == T_STR)
        snprintf(out, 200, "string %.180s", sn);
    else if (t->kind == T_NUM)
        snprintf(out, 200, "number %.180s", sn);
    else
        snprintf(out, 200, "'%.180s'", sn);
    return out;
}

/* If the lookahead is a lexing error, reports it and returns 1: the parser
 * calls this before complaining about the lookahead itself. */
static int tok_error(parser *p)
{
    if (p->tok.kind != T_ERROR)
        return 0;
    perr(p, p->lex_pos, FS_E_PARSE, "%s", p->lex_msg);
    return 1;
}

/* ---------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------- */

static fs_expr_node *parse_or(parser *p);

static fs_expr_node *new_node(parser *p, fs_expr_node_kind kind, const token *t, int nargs)
{
    fs_expr *e = p->e;
    fs_expr_node *n = fs_arena_alloc(&e->arena, sizeof *n);
    if (!n || (nargs && !(n->args = fs_arena_alloc(&e->arena, (size_t)nargs * sizeof *n->args)))) {
        nomem(p);
        return NULL;
    }
    if (e->n_nodes == e->cap_nodes) {
        size_t cap = e->cap_nodes ? e->cap_nodes * 2 : 32;
        fs_expr_node **v = realloc(e->nodes, cap * sizeof *v);
        if (!v) {
            nomem(p);
            return NULL;
        }
        e->nodes = v;
        e->cap_nodes = cap;
    }
    n->kind = kind;
    n->id = (int)e->n_nodes;
    n->col = (int)t->pos + 1;
    n->len = (int)t->len;
    n->nargs = nargs;
    e->nodes[e->n_nodes++] = n;
    return n;
}

static fs_expr_node *unary(parser *p, const token *op, fs_expr_node *x)
{
    fs_expr_node *n = new_node(p, FS_EN_UNARY, op, 1);
    if (n) {
        n->op = op->op;
        n->args[0] = x;
    }
    return n;
}

static fs_expr_node *binary(parser *p, const token *op, fs_expr_node *l, fs_expr_node *r)
{
    fs_expr_node *n = new_node(p, FS_EN_BINARY, op, 2);
    if (n) {
        n->op = op->op;
        n->args[0] = l;
        n->args[1] = r;
    }
    return n;
}

/* Opens one level of nesting at token t. Returns 0, or -1 after an error. */
static int enter(parser *p, const token *t)
{
    if (++p->depth > FS_EXPR_MAX_NESTING) {
        perr(p, t->pos, FS_E_PARSE,
             "expression nested too deeply: more than %d levels of parentheses, calls and unary operators",
             FS_EXPR_MAX_NESTING);
        return -1;
    }
    return 0;
}

static unsigned edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    unsigned row[40], prev[40]; /* callers keep nb < 40 */
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = prev[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, row, (nb + 1) * sizeof *row);
    }
    return prev[nb];
}

/* The function a misspelt name most likely meant, or NULL. Case is ignored
 * (ABS -> abs), known aliases are tried first (avg -> mean), then the nearest
 * name within an edit distance of 1 (names up to 3 letters) or 2. */
static const char *suggest_fn(const char *name, size_t len)
{
    char low[33];
    if (len == 0 || len >= sizeof low)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!is_ident(c))
            return NULL;
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    low[len] = 0;
    for (size_t i = 0; i < sizeof fn_aliases / sizeof fn_aliases[0]; i++)
        if (strcmp(low, fn_aliases[i].alias) == 0)
            return fn_table[fn_aliases[i].fn].name;
    unsigned limit = len <= 3 ? 1 : 2, best = limit + 1;
    const char *best_name = NULL;
    for (int f = 0; f < FS_FN_COUNT; f++) {
        unsigned d = edit_distance(low, len, fn_table[f].name, strlen(fn_table[f].name));
        if (d < best) {
            best = d;
            best_name = fn_table[f].name;
        }
    }
    return best_name;
}

static int lookup_fn(const char *name, size_t len)
{
    for (int f = 0; f < FS_FN_COUNT; f++)
        if (strlen(fn_table[f].name) == len && memcmp(fn_table[f].name, name, len) == 0)
            return f;
    return -1;
}

/* Checks the window length argument of a window function call. */
static int check_window(parser *p, const char *fname, const fs_expr_node *arg, size_t start,
                        size_t end, int *window)
{
    /* The argument must be the literal alone: "(5)" and "5.0" are not window lengths. */
    int is_int = arg->kind == FS_EN_NUM && start == (size_t)arg->col - 1 && end == start + (size_t)arg->len;
    for (int i = 0; is_int && i < arg->len; i++)
        is_int = is_digit(p->text[arg->col - 1 + i]);
    if (!is_int || arg->num < 1) {
        char sn[200];
        snip(sn, p->text + start, end - start);
        perr(p, start, FS_E_PARSE, "window length of '%s' must be a positive integer literal, got '%s'",
             fname, sn);
        return -1;
    }
    if (arg->num > FS_EXPR_MAX_WINDOW) {
        char sn[200];
        snip(sn, p->text + start, end - start);
        perr(p, start, FS_E_PARSE, "window length of '%s' must be at most %d, got %s", fname,
             FS_EXPR_MAX_WINDOW, sn);
        return -1;
    }
    *window = (int)arg->num;
    return 0;
}

/* call := NAME '(' [expr (',' expr)*] ')' ; the lookahead is the '('. */
static fs_expr_node *parse_call(parser *p, const token *name)
{
    char sn[200], found[200];
    snip(sn, p->text + name->pos, name->len);
    int fn = lookup_fn(p->text + name->pos, name->len);
    if (fn < 0) {
        const char *hint = memchr(p->text + name->pos, '.', name->len)
                               ? NULL
                               : suggest_fn(p->text + name->pos, name->len);
        if (hint)
            perr(p, name->pos, FS_E_PARSE, "unknown function '%s' (did you mean '%s'?)", sn, hint);
        else
            perr(p, name->pos, FS_E_PARSE, "unknown function '%s'", sn);
        return NULL;
    }
    if (enter(p, &p->tok))
        return NULL;
    lex(p);

    fs_expr_node **args = NULL, *n = NULL;
    size_t nargs = 0, cap = 0, start1 = 0, end1 = 0;
    if (p->tok.kind != T_RPAREN) {
        for (;;) {
            size_t start = p->tok.pos;
            fs_expr_node *a = parse_or(p);
            if (!a)
                goto out;
            if (nargs == cap) {
                cap = cap ? cap * 2 : 4;
                fs_expr_node **v = realloc(args, cap * sizeof *v);
                if (!v) {
                    nomem(p);
                    goto out;
                }
                args = v;
            }
            if (nargs == 1) { /* where the window length was written, for its errors */
                start1 = start;
                end1 = p->prev.pos + p->prev.len;
            }
            args[nargs++] = a;
            if (p->tok.kind == T_COMMA) {
                lex(p);
                continue;
            }
            if (p->tok.kind == T_RPAREN)
                break;
            if (tok_error(p))
                goto out;
            if (p->tok.kind == T_END)
                perr(p, p->tok.pos, FS_E_PARSE, "expected ')' after arguments of '%s', found end of expression",
                     sn);
            else
                perr(p, p->tok.pos, FS_E_PARSE, "expected ',' or ')' after argument %zu of '%s', found %s",
                     nargs, sn, describe(p, &p->tok, found));
            goto out;
        }
    }
    lex(p); /* the ')' */
    p->depth--;

    int min = fn_table[fn].min_args, max = fn_table[fn].max_args;
    if (nargs < (size_t)min || (max >= 0 && nargs > (size_t)max)) {
        if (max < 0)
            perr(p, name->pos, FS_E_PARSE, "'%s' takes at least %d arguments, got %zu", sn, min, nargs);
        else
            perr(p, name->pos, FS_E_PARSE, "'%s' takes %d argument%s, got %zu", sn, min,
                 min == 1 ? "" : "s", nargs);
        goto out;
    }
    int window = 0;
    if (fn_table[fn].window && check_window(p, fn_table[fn].name, args[1], start1, end1, &window))
        goto out;
    if (nargs > (size_t)INT_MAX) {
        nomem(p);
        goto out;
    }
    n = new_node(p, FS_EN_CALL, name, (int)nargs);
    if (n) {
        n->fn = (fs_expr_fn)fn;
        n->window = window;
        memcpy(n->args, args, nargs * sizeof *args);
    }
out:
    free(args);
    return n;
}

/* primary := NUMBER | STRING | true | false | NAME | call | '(' expr ')' */
static fs_expr_node *parse_primary(parser *p)
{
    token t = p->tok;
    fs_expr_node *n;
    char buf[200], sn[200];
    switch (t.kind) {
    case T_NUM:
        if ((n = new_node(p, FS_EN_NUM, &t, 0))) {
            n->num = t.num;
            n->type = FS_EXPR_NUMERIC;
        }
        lex(p);
        return n;
    case T_TRUE:
    case T_FALSE:
        if ((n = new_node(p, FS_EN_BOOL, &t, 0))) {
            n->boolean = t.kind == T_TRUE;
            n->type = FS_EXPR_BOOLEAN;
        }
        lex(p);
        return n;
    case T_STR: {
        if (!(n = new_node(p, FS_EN_STR, &t, 0)))
            return NULL;
        char *s = fs_arena_alloc(&p->e->arena, t.len);
        if (!s) {
            nomem(p);
            return NULL;
        }
        size_t o = 0; /* decode between the quotes; lex_string checked the escapes */
        for (size_t i = t.pos + 1; i < t.pos + t.len - 1; i++) {
            if (p->text[i] == '\\')
                i++;
            s[o++] = p->text[i];
        }
        s[o] = 0;
        n->str = s;
        n->type = FS_EXPR_STRING;
        lex(p);
        return n;
    }
    case T_NAME: {
        lex(p);
        if (p->tok.kind == T_LPAREN)
            return parse_call(p, &t);
        if (!(n = new_node(p, FS_EN_REF, &t, 0)))
            return NULL;
        int r = intern_ref(p->e, p->text + t.pos, t.len, n->col);
        if (r < 0) {
            nomem(p);
            return NULL;
        }
        n->ref = r;
        n->str = p->e->refs[r].name;
        return n;
    }
    case T_LPAREN: {
        if (enter(p, &t))
            return NULL;
        lex(p);
        n = parse_or(p);
        if (!n)
            return NULL;
        if (p->tok.kind != T_RPAREN) {
            if (!tok_error(p))
                perr(p, p->tok.pos, FS_E_PARSE, "expected ')' to close the '(' at col %zu, found %s",
                     t.pos + 1, describe(p, &p->tok, buf));
            return NULL;
        }
        lex(p);
        p->depth--;
        return n;
    }
    default:
        break;
    }
    if (tok_error(p))
        return NULL;
    if (p->ntok <= 1) {
        perr(p, t.pos, FS_E_PARSE, "expected an expression, found %s", describe(p, &t, buf));
        return NULL;
    }
    const char *hint = "";
    if (t.kind == T_NOT)
        hint = " ('not' binds more loosely than comparisons and arithmetic: write '(not x)')";
    else if (p->prev.kind == T_MUL && p->prev.op == FS_OP_MUL && t.kind == T_MUL && t.op == FS_OP_MUL)
        hint = " ('**' is not an operator: powers are written pow(x, y))";
    snip(sn, p->text + p->prev.pos, p->prev.len);
    perr(p, t.pos, FS_E_PARSE, "expected an expression after '%s', found %s%s", sn,
         describe(p, &t, buf), hint);
    return NULL;
}

/* unary := ('-' | '+') unary | primary */
static fs_expr_node *parse_unary(parser *p)
{
    if (p->tok.kind != T_ADD)
        return parse_primary(p);
    token op = p->tok;
    op.op = op.op == FS_OP_SUB ? FS_OP_NEG : FS_OP_POS;
    if (enter(p, &op))
        return NULL;
    lex(p);
    fs_expr_node *x = parse_unary(p);
    p->depth--;
    return x ? unary(p, &op, x) : NULL;
}

/* mul := unary (('*' | '/' | '%') unary)* */
static fs_expr_node *parse_mul(parser *p)
{
    fs_expr_node *l = parse_unary(p);
    while (l && p->tok.kind == T_MUL) {
        token op = p->tok;
        lex(p);
        fs_expr_node *r = parse_unary(p);
        l = r ? binary(p, &op, l, r) : NULL;
    }
    return l;
}

/* add := mul (('+' | '-') mul)* */
static fs_expr_node *parse_add(parser *p)
{
    fs_expr_node *l = parse_mul(p);
    while (l && p->tok.kind == T_ADD) {
        token op = p->tok;
        lex(p);
        fs_expr_node *r = parse_mul(p);
        l = r ? binary(p, &op, l, r) : NULL;
    }
    return l;
}

/* cmp := add [cmpop add] ; comparisons do not chain */
static fs_expr_node *parse_cmp(parser *p)
{
    fs_expr_node *l = parse_add(p);
    if (!l || p->tok.kind != T_CMP)
        return l;
    token op = p->tok;
    lex(p);
    fs_expr_node *r = parse_add(p);
    if (!r)
        return NULL;
    if (p->tok.kind == T_CMP) {
        perr(p, p->tok.pos, FS_E_PARSE,
             "comparison operators cannot be chained: write 'a < b and b < c', not 'a < b < c'");
        return NULL;
    }
    return binary(p, &op, l, r);
}

/* not := ('not' | '!') not | cmp */
static fs_expr_node *parse_not(parser *p)
{
    if (p->tok.kind != T_NOT)
        return parse_cmp(p);
    token op = p->tok;
    if (enter(p, &op))
        return NULL;
    lex(p);
    fs_expr_node *x = parse_not(p);
    p->depth--;
    return x ? unary(p, &op, x) : NULL;
}

/* and := not (('and' | '&&') not)* */
static fs_expr_node *parse_and(parser *p)
{
    fs_expr_node *l = parse_not(p);
    while (l && p->tok.kind == T_AND) {
        token op = p->tok;
        lex(p);
        fs_expr_node *r = parse_not(p);
        l = r ? binary(p, &op, l, r) : NULL;
    }
    return l;
}

/* or := and (('or' | '||') and)* */
static fs_expr_node *parse_or(parser *p)
{
    fs_expr_node *l = parse_and(p);
    while (l && p->tok.kind == T_OR) {
        token op = p->tok;
        lex(p);
        fs_expr_node *r = parse_and(p);
        l = r ? binary(p, &op, l, r) : NULL;
    }
    return l;
}

/* " (keywords are lowercase: did you mean 'and'?)" for AND, True, ...; else "". */
static const char *keyword_hint(const char *s, size_t n)
{
    static const char *const kw[] = {"and", "or", "not", "true", "false"};
    static const char *const hints[] = {
        " (keywords are lowercase: did you mean 'and'?)",  " (keywords are lowercase: did you mean 'or'?)",
        " (keywords are lowercase: did you mean 'not'?)",  " (keywords are lowercase: did you mean 'true'?)",
        " (keywords are lowercase: did you mean 'false'?)",
    };
    for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++) {
        if (strlen(kw[k]) != n)
            continue;
        size_t i = 0;
        while (i < n && (s[i] | 0x20) == kw[k][i])
            i++;
        if (i == n)
            return hints[k];
    }
    return "";
}

/* Lookback of every node, children first (see fs_expr_lookback in expr.h). */
static int compute_windows(fs_expr *e)
{
    int *lb = calloc(e->n_nodes ? e->n_nodes : 1, sizeof *lb);
    if (!lb)
        return -1;
    for (size_t i = 0; i < e->n_nodes; i++) {
        const fs_expr_node *n = e->nodes[i];
        int v = 0;
        if (n->kind == FS_EN_CALL && fn_table[n->fn].window) {
            int own = n->fn == FS_FN_LAG || n->fn == FS_FN_DELTA || n->fn == FS_FN_PCT_CHANGE
                          ? n->window
                          : n->window - 1;
            v = own + lb[n->args[0]->id];
            if (n->window > e->max_window)
                e->max_window = n->window;
        } else {
            for (int a = 0; a < n->nargs; a++)
                if (lb[n->args[a]->id] > v)
                    v = lb[n->args[a]->id];
        }
        lb[i] = v;
    }
    e->lookback = e->n_nodes ? lb[e->n_nodes - 1] : 0;
    free(lb);
    return 0;
}

int fs_expr_parse(const char *text, fs_expr **out, fs_expr_error *err)
{
    fs_expr_error scratch;
    if (!err)
        err = &scratch;
    err->col = 0;
    err->msg[0] = 0;
    if (!text || !out) {
        snprintf(err->msg, sizeof err->msg, "no expression given");
        if (out)
            *out = NULL;
        return FS_E_INVAL;
    }
    *out = NULL;
    size_t len = strlen(text);
    if (len > INT_MAX / 2) { /* columns are ints */
        err->col = 1;
        snprintf(err->msg, sizeof err->msg, "expression is too long (%zu bytes)", len);
        return FS_E_PARSE;
    }
    fs_expr *e = calloc(1, sizeof *e);
    if (!e) {
        err->col = 1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return FS_E_NOMEM;
    }
    parser p = {.text = text, .len = len, .err = err, .e = e};
    lex(&p);
    if (p.tok.kind == T_END) {
        perr(&p, 0, FS_E_PARSE, "empty expression");
    } else {
        e->root = parse_or(&p);
        if (e->root && p.tok.kind != T_END && !tok_error(&p)) {
            char buf[200];
            if (p.tok.kind == T_RPAREN)
                perr(&p, p.tok.pos, FS_E_PARSE, "unmatched ')'");
            else
                perr(&p, p.tok.pos, FS_E_PARSE, "expected an operator or the end of the expression, found %s%s",
                     describe(&p, &p.tok, buf),
                     p.tok.kind == T_NAME ? keyword_hint(text + p.tok.pos, p.tok.len) : "");
        }
    }
    if (!p.status && compute_windows(e))
        nomem(&p);
    if (p.status) {
        fs_expr_free(e);
        return p.status;
    }
    *out = e;
    return FS_OK;
}

/* ---------------------------------------------------------------------------
 * Type checker
 * ------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int cerr(fs_expr_error *err, int col, int status, const char *fmt, ...)
{
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

#define TN(t) type_names[t]

static int check_binary(fs_expr_node *n, fs_expr_error *err)
{
    fs_expr_type l = n->args[0]->type, r = n->args[1]->type;
    const char *op = op_names[n->op];
    switch (n->op) {
    case FS_OP_OR:
    case FS_OP_AND:
        if (l != FS_EXPR_BOOLEAN || r != FS_EXPR_BOOLEAN)
            return cerr(err, n->col, FS_E_INVALID_DEF, "type error: '%s' needs boolean operands, %s is %s", op,
                        l != FS_EXPR_BOOLEAN ? "left" : "right", TN(l != FS_EXPR_BOOLEAN ? l : r));
        n->type = FS_EXPR_BOOLEAN;
        return 0;
    case FS_OP_EQ:
    case FS_OP_NE:
        if (l != r)
            return cerr(err, n->col, FS_E_INVALID_DEF,
                        "type error: '%s' compares values of one type, left is %s and right is %s", op, TN(l),
                        TN(r));
        n->type = FS_EXPR_BOOLEAN;
        return 0;
    default: /* ordering comparisons and arithmetic */
        if (l != FS_EXPR_NUMERIC || r != FS_EXPR_NUMERIC)
            return cerr(err, n->col, FS_E_INVALID_DEF, "type error: '%s' needs numeric operands, %s is %s", op,
                        l != FS_EXPR_NUMERIC ? "left" : "right", TN(l != FS_EXPR_NUMERIC ? l : r));
        n->type = n->op >= FS_OP_ADD ? FS_EXPR_NUMERIC : FS_EXPR_BOOLEAN;
        return 0;
    }
}

static int check_call(fs_expr_node *n, fs_expr_error *err)
{
    const char *name = fn_table[n->fn].name;
    fs_expr_node **a = n->args;
    switch (n->fn) {
    case FS_FN_IF:
        if (a[0]->type != FS_EXPR_BOOLEAN)
            return cerr(err, n->col, FS_E_INVALID_DEF, "type error: the condition of 'if' must be boolean, got %s",
                        TN(a[0]->type));
        if (a[1]->type != a[2]->type)
            return cerr(err, n->col, FS_E_INVALID_DEF,
                        "type error: the branches of 'if' must have the same type, got %s and %s", TN(a[1]->type),
                        TN(a[2]->type));
        n->type = a[1]->type;
        return 0;
    case FS_FN_COALESCE:
        for (int i = 1; i < n->nargs; i++)
            if (a[i]->type != a[0]->type)
                return cerr(err, n->col, FS_E_INVALID_DEF,
                            "type error: the arguments of 'coalesce' must have the same type, argument 1 is %s "
                            "and argument %d is %s",
                            TN(a[0]->type), i + 1, TN(a[i]->type));
        n->type = a[0]->type;
        return 0;
    case FS_FN_LAG:
        n->type = a[0]->type; /* lag moves values of any type */
        return 0;
    default:
        if (fn_table[n->fn].window) {
            if (a[0]->type != FS_EXPR_NUMERIC)
                return cerr(err, n->col, FS_E_INVALID_DEF, "type error: '%s' needs a numeric series, got %s", name,
                            TN(a[0]->type));
        } else {
            for (int i = 0; i < n->nargs; i++) {
                if (a[i]->type == FS_EXPR_NUMERIC)
                    continue;
                if (n->nargs == 1)
                    return cerr(err, n->col, FS_E_INVALID_DEF, "type error: '%s' needs a numeric argument, got %s",
                                name, TN(a[i]->type));
                return cerr(err, n->col, FS_E_INVALID_DEF,
                            "type error: '%s' needs numeric arguments, argument %d is %s", name, i + 1,
                            TN(a[i]->type));
            }
        }
        n->type = FS_EXPR_NUMERIC;
        return 0;
    }
}

int fs_expr_check(fs_expr *e, fs_expr_resolve_fn resolve, void *ctx, fs_expr_type *result,
                  fs_expr_error *err)
{
    fs_expr_error scratch;
    if (!err)
        err = &scratch;
    err->col = 0;
    err->msg[0] = 0;
    if (!e)
        return cerr(err, 0, FS_E_INVAL, "no expression given");
    for (size_t i = 0; i < e->n_refs; i++)
        e->refs[i].resolved = 0;
    /* Post-order: each node's children are typed before it, and errors come
     * out left to right, innermost first. */
    for (size_t i = 0; i < e->n_nodes; i++) {
        fs_expr_node *n = e->nodes[i];
        int rc = 0;
        switch (n->kind) {
        case FS_EN_NUM:
        case FS_EN_BOOL:
        case FS_EN_STR:
            break; /* typed by the parser */
        case FS_EN_REF: {
            ref_entry *r = &e->refs[n->ref];
            if (!r->resolved) {
                fs_expr_type t = FS_EXPR_NUMERIC;
                if (!resolve || resolve(ctx, r->name, &t) != 0) {
                    const char *hint = keyword_hint(r->name, r->len);
                    if (!*hint && lookup_fn(r->name, r->len) >= 0)
                        hint = " (it is a function: did you forget its arguments?)";
                    char sn[200];
                    snip(sn, r->name, r->len);
                    return cerr(err, n->col, FS_E_INVALID_DEF, "unknown feature or column '%s'%s", sn, hint);
                }
                if ((unsigned)t > FS_EXPR_STRING) {
                    char sn[200];
                    snip(sn, r->name, r->len);
                    return cerr(err, n->col, FS_E_INVAL, "the resolver gave '%s' an invalid type (%d)", sn, (int)t);
                }
                r->type = t;
                r->resolved = 1;
            }
            n->type = r->type;
            break;
        }
        case FS_EN_UNARY: {
            fs_expr_type x = n->args[0]->type;
            if (n->op == FS_OP_NOT) {
                if (x != FS_EXPR_BOOLEAN)
                    return cerr(err, n->col, FS_E_INVALID_DEF, "type error: 'not' needs a boolean operand, got %s",
                                TN(x));
                n->type = FS_EXPR_BOOLEAN;
            } else {
                if (x != FS_EXPR_NUMERIC)
                    return cerr(err, n->col, FS_E_INVALID_DEF,
                                "type error: unary '%s' needs a numeric operand, got %s", op_names[n->op], TN(x));
                n->type = FS_EXPR_NUMERIC;
            }
            break;
        }
        case FS_EN_BINARY:
            rc = check_binary(n, err);
            break;
        case FS_EN_CALL:
            rc = check_call(n, err);
            break;
        }
        if (rc)
            return rc;
    }
    if (result)
        *result = e->root->type;
    return FS_OK;
}

/* ---------------------------------------------------------------------------
 * Formatter
 * ------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

static void puts_(outbuf *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static void put_number(outbuf *o, double v)
{
    char b[40];
    locale_t loc = get_c_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    if (loc)
        uselocale(old);
    puts_(o, b);
}

/* Writes a leaf whole, or the opening of an inner node. */
static void put_open(outbuf *o, const fs_expr_node *n)
{
    switch (n->kind) {
    case FS_EN_NUM:
        put_number(o, n->num);
        break;
    case FS_EN_BOOL:
        puts_(o, n->boolean ? "true" : "false");
        break;
    case FS_EN_STR:
        put(o, "'", 1);
        for (const char *s = n->str; *s; s++) {
            if (*s == '\\' || *s == '\'')
                put(o, "\\", 1);
            put(o, s, 1);
        }
        put(o, "'", 1);
        break;
    case FS_EN_REF:
        puts_(o, n->str);
        break;
    case FS_EN_UNARY:
        put(o, "(", 1);
        puts_(o, op_names[n->op]);
        if (n->op == FS_OP_NOT)
            put(o, " ", 1);
        break;
    case FS_EN_BINARY:
        put(o, "(", 1);
        break;
    case FS_EN_CALL:
        puts_(o, fn_table[n->fn].name);
        put(o, n->nargs ? "(" : "()", n->nargs ? 1 : 2);
        break;
    }
}

int fs_expr_format(const fs_expr *e, char **out)
{
    if (!e || !out || !e->root)
        return FS_E_INVAL;
    *out = NULL;
    /* An explicit stack: the tree can be as deep as the expression is long. */
    struct frame {
        const fs_expr_node *n;
        int next;
    } *st = malloc(e->n_nodes * sizeof *st);
    if (!st)
        return FS_E_NOMEM;
    outbuf o = {0};
    size_t sp = 0;
    put_open(&o, e->root);
    if (e->root->nargs)
        st[sp++] = (struct frame){e->root, 0};
    while (sp > 0) {
        struct frame *f = &st[sp - 1];
        if (f->next == f->n->nargs) {
            put(&o, ")", 1);
            sp--;
            continue;
        }
        if (f->next > 0) {
            if (f->n->kind == FS_EN_BINARY) {
                put(&o, " ", 1);
                puts_(&o, op_names[f->n->op]);
                put(&o, " ", 1);
            } else {
                put(&o, ", ", 2);
            }
        }
        const fs_expr_node *c = f->n->args[f->next++];
        put_open(&o, c);
        if (c->nargs)
            st[sp++] = (struct frame){c, 0};
    }
    free(st);
    if (o.oom || !o.buf) {
        free(o.buf);
        return FS_E_NOMEM;
    }
    *out = o.buf;
    return FS_OK;
}
