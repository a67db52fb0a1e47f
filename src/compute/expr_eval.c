/* The evaluator of derived features: compiles a checked fs_expr into a flat
 * list of instructions, one per node in post-order, each computing a whole
 * column of the block with a tight loop (expr_eval.h documents the API and
 * the semantics, expr_window.c the window functions).
 *
 * Columns. Every instruction writes one column of scratch; the root writes
 * the caller's `out`. Columns are assigned at compile time and reused: a
 * column is free again once the last instruction reading it has run, so the
 * scratch holds about as many columns as the tree is deep, not one per node.
 * All nodes referring to one input share the column that input is loaded
 * into. The window literal (the `n` of mean(x, n)) gets no column. Inside a
 * block of n rows, column c lives at scratch + c * n, so a scratch sized for
 * max_rows serves any n <= max_rows.
 *
 * Nulls are NaN, and every instruction writes the canonical NaN (NAN) for
 * null: inputs are normalised when loaded and every numeric result goes
 * through fin(), which also turns ±Inf into null. */
#include "compute/expr_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute/expr_window.h"
#include "fstore.h"

/* Instructions that are not a node's operator or function. */
enum {
    I_LOAD = 1000, /* input slot -> column, normalised for the slot's type */
    I_CONST,       /* literal (a string literal's interned code) */
    I_COPY         /* unary + */
};

typedef struct {
    fs_expr_node_kind kind; /* FS_EN_UNARY / BINARY / CALL, or FS_EN_REF, FS_EN_NUM for I_* */
    int code;               /* fs_expr_op, fs_expr_fn or I_* */
    fs_expr_type type;      /* of the result (I_LOAD: of the input) */
    int out;                /* result column; -1: the caller's out */
    int a[3];               /* argument columns (unary 1, binary 2, if/clip 3); -1 unused */
    int argv, argc;         /* coalesce/min/max: p->argcols[argv .. argv + argc) */
    int slot;               /* I_LOAD */
    uint32_t window;        /* window functions */
    double k;               /* I_CONST: the value; ewm: alpha */
    size_t state_off;       /* window functions: offset of their state */
} instr;

struct fs_expr_prog {
    instr *code;
    size_t n_code;
    int *argcols;
    size_t n_cols; /* scratch columns */
    char **input_names;
    fs_expr_type *input_types;
    size_t n_inputs;
    fs_expr_type type;
    int windows;
    size_t state_size;
    uint64_t fingerprint; /* first 8 bytes of every state of this program */
};

#define STATE_HEADER 8

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static inline double fin(double v)
{
    return isfinite(v) ? v : NAN;
}

__attribute__((format(printf, 4, 5)))
static int fail(fs_expr_error *err, int col, int status, const char *fmt, ...)
{
    if (err) {
        err->col = col;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static const char *tname(fs_expr_type t)
{
    const char *s = fs_expr_type_name(t);
    return s ? s : "invalid";
}

/* ---------------------------------------------------------------------------
 * Verification: the node types must follow the type rules, which holds after
 * a successful fs_expr_check and catches a tree that was never checked (every
 * type left numeric) or whose check failed half way.
 * ------------------------------------------------------------------------- */

#define UNCHECKED "the expression is not type-checked (fs_expr_check must succeed before fs_expr_compile): "

static int verify_node(const fs_expr *e, const fs_expr_node *n, size_t id, fs_expr_error *err)
{
    if (n->id != (int)id || (unsigned)n->type > FS_EXPR_STRING)
        return fail(err, n->col, FS_E_INVAL, UNCHECKED "malformed node at col %d", n->col);
    for (int i = 0; i < n->nargs; i++)
        if (!n->args || !n->args[i] || n->args[i]->id < 0 || (size_t)n->args[i]->id >= id)
            return fail(err, n->col, FS_E_INVAL, "malformed expression tree at col %d", n->col);
    fs_expr_type t = n->type;
    const fs_expr_node *const *a = (const fs_expr_node *const *)n->args;
    switch (n->kind) {
    case FS_EN_NUM:
        if (t != FS_EXPR_NUMERIC || !isfinite(n->num))
            return fail(err, n->col, FS_E_INVAL, "malformed numeric literal at col %d", n->col);
        return 0;
    case FS_EN_BOOL:
        if (t != FS_EXPR_BOOLEAN)
            return fail(err, n->col, FS_E_INVAL, "malformed boolean literal at col %d", n->col);
        return 0;
    case FS_EN_STR:
        if (t != FS_EXPR_STRING || !n->str)
            return fail(err, n->col, FS_E_INVAL, "malformed string literal at col %d", n->col);
        return 0;
    case FS_EN_REF:
        if (n->ref < 0 || (size_t)n->ref >= fs_expr_ref_count(e))
            return fail(err, n->col, FS_E_INVAL, "malformed reference at col %d", n->col);
        return 0;
    case FS_EN_UNARY: {
        if (n->nargs != 1 || (n->op != FS_OP_NOT && n->op != FS_OP_NEG && n->op != FS_OP_POS))
            return fail(err, n->col, FS_E_INVAL, "malformed unary operator at col %d", n->col);
        fs_expr_type want = n->op == FS_OP_NOT ? FS_EXPR_BOOLEAN : FS_EXPR_NUMERIC;
        if (a[0]->type != want || t != want)
            return fail(err, n->col, FS_E_INVAL, UNCHECKED "'%s' at col %d has a %s operand and type %s",
                        fs_expr_op_name(n->op), n->col, tname(a[0]->type), tname(t));
        return 0;
    }
    case FS_EN_BINARY: {
        if (n->nargs != 2 || (unsigned)n->op >= FS_OP_COUNT || n->op == FS_OP_NOT || n->op == FS_OP_NEG ||
            n->op == FS_OP_POS)
            return fail(err, n->col, FS_E_INVAL, "malformed binary operator at col %d", n->col);
        fs_expr_type l = a[0]->type, r = a[1]->type, operand, result;
        switch (n->op) {
        case FS_OP_AND:
        case FS_OP_OR: operand = FS_EXPR_BOOLEAN, result = FS_EXPR_BOOLEAN; break;
        case FS_OP_EQ:
        case FS_OP_NE: operand = l, result = FS_EXPR_BOOLEAN; break;
        case FS_OP_LT:
        case FS_OP_LE:
        case FS_OP_GT:
        case FS_OP_GE: operand = FS_EXPR_NUMERIC, result = FS_EXPR_BOOLEAN; break;
        default: operand = FS_EXPR_NUMERIC, result = FS_EXPR_NUMERIC; break;
        }
        if (l != operand || r != operand || t != result)
            return fail(err, n->col, FS_E_INVAL, UNCHECKED "'%s' at col %d has operands %s and %s and type %s",
                        fs_expr_op_name(n->op), n->col, tname(l), tname(r), tname(t));
        return 0;
    }
    case FS_EN_CALL: {
        int lo, hi, win = fs_expr_fn_info(n->fn, &lo, &hi);
        if (win < 0 || n->nargs < lo || (hi >= 0 && n->nargs > hi))
            return fail(err, n->col, FS_E_INVAL, "malformed call at col %d", n->col);
        const char *name = fs_expr_fn_name(n->fn);
        int ok = 1;
        if (n->fn == FS_FN_IF) {
            ok = a[0]->type == FS_EXPR_BOOLEAN && a[1]->type == t && a[2]->type == t;
        } else if (n->fn == FS_FN_COALESCE) {
            for (int i = 0; i < n->nargs; i++)
                ok &= a[i]->type == t;
        } else if (win) {
            if (n->window < 1 || n->window > FS_EXPR_MAX_WINDOW || a[1]->kind != FS_EN_NUM)
                return fail(err, n->col, FS_E_INVAL, "malformed window of '%s' at col %d", name, n->col);
            ok = n->fn == FS_FN_LAG ? a[0]->type == t : a[0]->type == FS_EXPR_NUMERIC && t == FS_EXPR_NUMERIC;
        } else {
            ok = t == FS_EXPR_NUMERIC;
            for (int i = 0; i < n->nargs; i++)
                ok &= a[i]->type == FS_EXPR_NUMERIC;
        }
        if (!ok)
            return fail(err, n->col, FS_E_INVAL, UNCHECKED "the arguments of '%s' at col %d do not match its type %s",
                        name, n->col, tname(t));
        return 0;
    }
    }
    return fail(err, n->col, FS_E_INVAL, "malformed node at col %d", n->col);
}

/* ---------------------------------------------------------------------------
 * Compilation
 * ------------------------------------------------------------------------- */

void fs_expr_prog_free(fs_expr_prog *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->input_names && i < p->n_inputs; i++)
        free(p->input_names[i]);
    free(p->input_names);
    free(p->input_types);
    free(p->argcols);
    free(p->code);
    free(p);
}

/* Column allocation during compilation. */
typedef struct {
    int *free_cols;
    size_t n_free;
    size_t n_cols;
} colpool;

static int col_get(colpool *c)
{
    if (c->n_free)
        return c->free_cols[--c->n_free];
    return (int)c->n_cols++;
}

static void col_put(colpool *c, int col)
{
    if (col >= 0)
        c->free_cols[c->n_free++] = col;
}

static int is_window_fn(fs_expr_fn fn)
{
    int lo, hi;
    return fs_expr_fn_info(fn, &lo, &hi) == 1;
}

static int compile(const fs_expr *e, fs_expr_intern_fn intern, void *intern_ctx, fs_expr_prog **out,
                   fs_expr_error *err)
{
    if (out)
        *out = NULL;
    if (!e || !out)
        return fail(err, 0, FS_E_INVAL, "no expression or no output given");
    size_t nn = 0;
    const fs_expr_node *const *nodes = fs_expr_nodes(e, &nn);
    if (!nodes || nn == 0 || nn > INT32_MAX / 4)
        return fail(err, 0, FS_E_INVAL, "empty or malformed expression");
    for (size_t i = 0; i < nn; i++) {
        int rc = verify_node(e, nodes[i], i, err);
        if (rc)
            return rc;
    }
    size_t nref = fs_expr_ref_count(e);
    int rc = FS_E_NOMEM;
    fs_expr_prog *p = calloc(1, sizeof *p);
    /* Per node: 1 if it is the window literal of its parent (no column);
     * the id of the node that reads its value last. Per reference: its
     * column while loaded (negative otherwise) and the id of its last reader. */
    unsigned char *skip = calloc(nn, 1);
    int *last = malloc(nn * sizeof *last), *node_col = malloc(nn * sizeof *node_col);
    int *ref_col = malloc((nref ? nref : 1) * sizeof *ref_col);
    int *ref_last = malloc((nref ? nref : 1) * sizeof *ref_last);
    colpool pool = {malloc(nn * sizeof(int)), 0, 0};
    if (!p || !skip || !last || !node_col || !ref_col || !ref_last || !pool.free_cols)
        goto done;
    p->code = calloc(nn, sizeof *p->code);
    p->n_inputs = nref;
    p->input_names = calloc(nref ? nref : 1, sizeof *p->input_names);
    p->input_types = calloc(nref ? nref : 1, sizeof *p->input_types);
    size_t n_argcols = 0;
    for (size_t i = 0; i < nn; i++)
        if (nodes[i]->kind == FS_EN_CALL)
            n_argcols += (size_t)nodes[i]->nargs;
    p->argcols = malloc((n_argcols ? n_argcols : 1) * sizeof *p->argcols);
    if (!p->code || !p->input_names || !p->input_types || !p->argcols)
        goto done;
    for (size_t i = 0; i < nref; i++) {
        const char *name = fs_expr_ref_name(e, i);
        if (!(p->input_names[i] = strdup(name ? name : "")))
            goto done;
        ref_col[i] = -3; /* not seen yet (below: -1, seen) */
        ref_last[i] = -1;
        p->input_types[i] = FS_EXPR_NUMERIC;
    }

    /* Lifetimes. */
    for (size_t i = 0; i < nn; i++) {
        const fs_expr_node *n = nodes[i];
        last[i] = -1;
        if (n->kind == FS_EN_CALL && is_window_fn(n->fn))
            skip[n->args[1]->id] = 1;
        if (n->kind == FS_EN_REF) { /* every appearance of a name has the type of the name */
            if (ref_col[n->ref] == -1 && p->input_types[n->ref] != n->type) {
                rc = fail(err, n->col, FS_E_INVAL, UNCHECKED "'%.100s' at col %d is %s, elsewhere %s", n->str,
                          n->col, tname(n->type), tname(p->input_types[n->ref]));
                goto done;
            }
            p->input_types[n->ref] = n->type;
            ref_col[n->ref] = -1; /* seen */
        }
        for (int k = 0; k < n->nargs; k++) {
            const fs_expr_node *c = n->args[k];
            last[c->id] = (int)i;
            if (c->kind == FS_EN_REF)
                ref_last[c->ref] = (int)i;
        }
    }

    /* Instructions. */
    uint64_t fp = fnv(0xcbf29ce484222325ULL, "fs_expr_prog v1", 15);
    size_t state_off = STATE_HEADER, ac = 0;
    for (size_t i = 0; i < nn; i++) {
        const fs_expr_node *n = nodes[i];
        int root = i + 1 == nn;
        node_col[i] = -1;
        if (skip[i])
            continue;
        if (n->kind == FS_EN_REF && ref_col[n->ref] >= 0) {
            node_col[i] = ref_col[n->ref]; /* already loaded */
            continue;
        }
        instr *in = &p->code[p->n_code++];
        in->kind = n->kind;
        in->type = n->type;
        in->a[0] = in->a[1] = in->a[2] = -1; /* unused: never read */
        switch (n->kind) {
        case FS_EN_NUM:
        case FS_EN_BOOL:
        case FS_EN_STR:
            in->kind = FS_EN_NUM;
            in->code = I_CONST;
            in->k = n->kind == FS_EN_NUM ? n->num : n->boolean ? 1.0 : 0.0;
            if (n->kind == FS_EN_STR) {
                if (!intern) {
                    rc = fail(err, n->col, FS_E_INVAL,
                              "string literal '%.200s' at col %d needs an interning callback: string values "
                              "are evaluated as interned codes",
                              n->str, n->col);
                    goto done;
                }
                double code = NAN;
                int irc = intern(intern_ctx, n->str, &code);
                if (irc || !isfinite(code)) {
                    rc = irc < 0 ? irc : FS_E_INVAL;
                    fail(err, n->col, rc, "cannot intern string literal '%.200s' at col %d", n->str, n->col);
                    goto done;
                }
                in->k = code;
            }
            break;
        case FS_EN_REF:
            in->code = I_LOAD;
            in->slot = n->ref;
            break;
        case FS_EN_UNARY:
            in->code = n->op == FS_OP_POS ? I_COPY : (int)n->op;
            break;
        case FS_EN_BINARY:
            in->code = (int)n->op;
            break;
        case FS_EN_CALL:
            in->code = (int)n->fn;
            if (is_window_fn(n->fn)) {
                in->window = (uint32_t)n->window;
                in->k = 2.0 / ((double)n->window + 1.0);
                in->state_off = state_off;
                size_t sz = fs_expr_window_state_size(n->fn, in->window);
                if (!sz || sz > SIZE_MAX - state_off) {
                    rc = fail(err, n->col, FS_E_NOMEM, "the state of '%s' at col %d is too large",
                              fs_expr_fn_name(n->fn), n->col);
                    goto done;
                }
                state_off += sz;
                p->windows = 1;
            }
            break;
        }
        /* Arguments (window literals excluded). */
        int nargs = 0;
        for (int k = 0; k < n->nargs; k++)
            nargs += !skip[n->args[k]->id];
        int variadic = n->kind == FS_EN_CALL &&
                       (n->fn == FS_FN_COALESCE || n->fn == FS_FN_MIN || n->fn == FS_FN_MAX);
        if (variadic) {
            in->argv = (int)ac;
            in->argc = nargs;
        }
        for (int k = 0, j = 0; k < n->nargs; k++) {
            const fs_expr_node *c = n->args[k];
            if (skip[c->id])
                continue;
            if (variadic)
                p->argcols[ac++] = node_col[c->id];
            else
                in->a[j++] = node_col[c->id];
        }
        /* The result column, taken before the arguments' columns are given
         * back, so that no instruction writes over what it reads. */
        in->out = root ? -1 : col_get(&pool);
        node_col[i] = in->out;
        if (n->kind == FS_EN_REF)
            ref_col[n->ref] = in->out;
        for (int k = 0; k < n->nargs; k++) {
            const fs_expr_node *c = n->args[k];
            if (skip[c->id])
                continue;
            if (c->kind == FS_EN_REF) {
                if (ref_last[c->ref] == (int)i && ref_col[c->ref] >= 0) {
                    col_put(&pool, ref_col[c->ref]);
                    ref_col[c->ref] = -2; /* released; never loaded again (no later reader) */
                }
            } else if (last[c->id] == (int)i) {
                col_put(&pool, node_col[c->id]);
            }
        }
        /* The fingerprint covers everything that gives the state meaning. */
        fp = fnv(fp, &in->kind, sizeof in->kind);
        fp = fnv(fp, &in->code, sizeof in->code);
        fp = fnv(fp, &in->window, sizeof in->window);
        fp = fnv(fp, &in->k, sizeof in->k);
        fp = fnv(fp, &in->slot, sizeof in->slot);
        fp = fnv(fp, &i, sizeof i);
    }
    for (size_t i = 0; i < nref; i++)
        fp = fnv(fp, p->input_names[i], strlen(p->input_names[i]) + 1);
    p->n_cols = pool.n_cols;
    p->type = nodes[nn - 1]->type;
    p->state_size = state_off;
    p->fingerprint = fnv(fp, &state_off, sizeof state_off);
    *out = p;
    p = NULL;
    rc = FS_OK;
done:
    if (rc == FS_E_NOMEM && !err->msg[0])
        fail(err, 0, FS_E_NOMEM, "out of memory compiling the expression");
    fs_expr_prog_free(p);
    free(skip);
    free(last);
    free(node_col);
    free(ref_col);
    free(ref_last);
    free(pool.free_cols);
    return rc;
}

int fs_expr_compile_ex(const fs_expr *e, fs_expr_intern_fn intern, void *intern_ctx, fs_expr_prog **out,
                       char *err, size_t errsz)
{
    fs_expr_error ee = {0, ""};
    int rc = compile(e, intern, intern_ctx, out, &ee);
    if (err && errsz)
        snprintf(err, errsz, "%s", rc == FS_OK ? "" : ee.msg);
    return rc;
}

int fs_expr_compile(const fs_expr *e, fs_expr_prog **out, char *err, size_t errsz)
{
    return fs_expr_compile_ex(e, NULL, NULL, out, err, errsz);
}

/* ---------------------------------------------------------------------------
 * Accessors, state and scratch
 * ------------------------------------------------------------------------- */

fs_expr_type fs_expr_prog_type(const fs_expr_prog *p)
{
    return p ? p->type : FS_EXPR_NUMERIC;
}

size_t fs_expr_prog_input_count(const fs_expr_prog *p)
{
    return p ? p->n_inputs : 0;
}

const char *fs_expr_prog_input_name(const fs_expr_prog *p, size_t i)
{
    return p && i < p->n_inputs ? p->input_names[i] : NULL;
}

int fs_expr_prog_input_type(const fs_expr_prog *p, size_t i)
{
    return p && i < p->n_inputs ? (int)p->input_types[i] : -1;
}

int fs_expr_prog_has_windows(const fs_expr_prog *p)
{
    return p ? p->windows : 0;
}

size_t fs_expr_state_size(const fs_expr_prog *p)
{
    return p ? p->state_size : 0;
}

void fs_expr_state_init(const fs_expr_prog *p, void *state)
{
    if (!p || !state)
        return;
    memcpy(state, &p->fingerprint, sizeof p->fingerprint);
    for (size_t i = 0; i < p->n_code; i++) {
        const instr *in = &p->code[i];
        if (in->kind == FS_EN_CALL && in->window)
            fs_expr_window_init((fs_expr_fn)in->code, in->window, (char *)state + in->state_off);
    }
}

size_t fs_expr_scratch_size(const fs_expr_prog *p, size_t max_rows)
{
    if (!p || !p->n_cols || !max_rows)
        return 0;
    if (max_rows > SIZE_MAX / sizeof(double) / p->n_cols)
        return SIZE_MAX;
    return p->n_cols * max_rows * sizeof(double);
}

/* ---------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------- */

static void load(fs_expr_type t, const double *x, double *o, size_t n)
{
    if (t == FS_EXPR_BOOLEAN) {
        for (size_t i = 0; i < n; i++)
            o[i] = isnan(x[i]) ? NAN : x[i] != 0 ? 1.0 : 0.0;
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = fin(x[i]);
    }
}

/* Floored modulo (Python, NumPy): the result has the sign of the divisor. */
static inline double fmod_floor(double a, double b)
{
    if (b == 0)
        return NAN;
    double r = fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return fin(r);
}

#define NULL2(x, y) (isnan(x) || isnan(y))

static void binary(int op, const double *a, const double *b, double *o, size_t n)
{
    size_t i;
    switch (op) {
    case FS_OP_AND: /* Kleene: false wins over null */
        for (i = 0; i < n; i++)
            o[i] = a[i] == 0 || b[i] == 0 ? 0.0 : NULL2(a[i], b[i]) ? NAN : 1.0;
        break;
    case FS_OP_OR: /* true wins over null */
        for (i = 0; i < n; i++)
            o[i] = a[i] == 1 || b[i] == 1 ? 1.0 : NULL2(a[i], b[i]) ? NAN : 0.0;
        break;
    case FS_OP_EQ:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] == b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_NE:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] != b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_LT:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] < b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_LE:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] <= b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_GT:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] > b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_GE:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : a[i] >= b[i] ? 1.0 : 0.0;
        break;
    case FS_OP_ADD:
        for (i = 0; i < n; i++)
            o[i] = fin(a[i] + b[i]);
        break;
    case FS_OP_SUB:
        for (i = 0; i < n; i++)
            o[i] = fin(a[i] - b[i]);
        break;
    case FS_OP_MUL:
        for (i = 0; i < n; i++)
            o[i] = fin(a[i] * b[i]);
        break;
    case FS_OP_DIV:
        for (i = 0; i < n; i++)
            o[i] = b[i] == 0 ? NAN : fin(a[i] / b[i]);
        break;
    case FS_OP_MOD:
        for (i = 0; i < n; i++)
            o[i] = fmod_floor(a[i], b[i]);
        break;
    default:
        break;
    }
}

static void call(const instr *in, const double *a, const double *b, const double *c, double *o, size_t n)
{
    size_t i;
    switch ((fs_expr_fn)in->code) {
    case FS_FN_IF:
        for (i = 0; i < n; i++)
            o[i] = isnan(a[i]) ? NAN : a[i] != 0 ? b[i] : c[i];
        break;
    case FS_FN_ABS:
        for (i = 0; i < n; i++)
            o[i] = fin(fabs(a[i]));
        break;
    case FS_FN_LOG:
        for (i = 0; i < n; i++)
            o[i] = a[i] > 0 ? fin(log(a[i])) : NAN;
        break;
    case FS_FN_EXP:
        for (i = 0; i < n; i++)
            o[i] = fin(exp(a[i]));
        break;
    case FS_FN_SQRT:
        for (i = 0; i < n; i++)
            o[i] = a[i] >= 0 ? fin(sqrt(a[i])) : NAN;
        break;
    case FS_FN_POW:
        for (i = 0; i < n; i++)
            o[i] = NULL2(a[i], b[i]) ? NAN : fin(pow(a[i], b[i]));
        break;
    case FS_FN_SIGN:
        for (i = 0; i < n; i++)
            o[i] = isnan(a[i]) ? NAN : a[i] > 0 ? 1.0 : a[i] < 0 ? -1.0 : 0.0;
        break;
    case FS_FN_CLIP:
        for (i = 0; i < n; i++) {
            double x = a[i], lo = b[i], hi = c[i];
            if (isnan(x) || NULL2(lo, hi)) {
                o[i] = NAN;
                continue;
            }
            x = x < lo ? lo : x;
            o[i] = x > hi ? hi : x;
        }
        break;
    default:
        break;
    }
}

int fs_expr_eval(const fs_expr_prog *p, void *state, void *scratch, const double *const *in, size_t n,
                 double *out)
{
    if (!p || !out || (p->n_cols && n && !scratch) || (p->n_inputs && n && !in))
        return FS_E_INVAL;
    if (p->windows && !state)
        return FS_E_INVAL;
    if (state) {
        uint64_t fp;
        memcpy(&fp, state, sizeof fp);
        if (fp != p->fingerprint)
            return FS_E_CORRUPT;
        for (size_t i = 0; i < p->n_code; i++) {
            const instr *ins = &p->code[i];
            if (ins->kind == FS_EN_CALL && ins->window &&
                fs_expr_window_valid((fs_expr_fn)ins->code, ins->window, (char *)state + ins->state_off))
                return FS_E_CORRUPT;
        }
    }
    if (n == 0)
        return FS_OK;
    for (size_t s = 0; s < p->n_inputs; s++)
        if (!in[s])
            return FS_E_INVAL;

    double *cols = scratch;
#define COL(c) ((c) < 0 ? out : cols + (size_t)(c) * n)
    for (size_t k = 0; k < p->n_code; k++) {
        const instr *ins = &p->code[k];
        double *o = COL(ins->out);
        const double *a = COL(ins->a[0]), *b = COL(ins->a[1]), *c = COL(ins->a[2]);
        size_t i;
        switch (ins->kind) {
        case FS_EN_REF:
            load(ins->type, in[ins->slot], o, n);
            break;
        case FS_EN_NUM:
            for (i = 0; i < n; i++)
                o[i] = ins->k;
            break;
        case FS_EN_UNARY:
            if (ins->code == FS_OP_NOT) {
                for (i = 0; i < n; i++)
                    o[i] = isnan(a[i]) ? NAN : 1.0 - a[i];
            } else if (ins->code == FS_OP_NEG) {
                for (i = 0; i < n; i++)
                    o[i] = fin(-a[i]);
            } else { /* I_COPY */
                memcpy(o, a, n * sizeof *o);
            }
            break;
        case FS_EN_BINARY:
            binary(ins->code, a, b, o, n);
            break;
        case FS_EN_CALL: {
            fs_expr_fn fn = (fs_expr_fn)ins->code;
            if (ins->window) {
                fs_expr_window_run(fn, ins->window, ins->k, (char *)state + ins->state_off, a, o, n);
            } else if (fn == FS_FN_COALESCE || fn == FS_FN_MIN || fn == FS_FN_MAX) {
                const int *av = p->argcols + ins->argv;
                memcpy(o, COL(av[0]), n * sizeof *o);
                for (int j = 1; j < ins->argc; j++) {
                    const double *x = COL(av[j]);
                    if (fn == FS_FN_COALESCE) {
                        for (i = 0; i < n; i++)
                            o[i] = isnan(o[i]) ? x[i] : o[i];
                    } else if (fn == FS_FN_MIN) {
                        for (i = 0; i < n; i++)
                            o[i] = NULL2(o[i], x[i]) ? NAN : x[i] < o[i] ? x[i] : o[i];
                    } else {
                        for (i = 0; i < n; i++)
                            o[i] = NULL2(o[i], x[i]) ? NAN : x[i] > o[i] ? x[i] : o[i];
                    }
                }
            } else {
                call(ins, a, b, c, o, n);
            }
            break;
        }
        default:
            break;
        }
    }
#undef COL
    return FS_OK;
}
