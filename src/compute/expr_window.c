/* Window functions of the expression evaluator: lag, delta, pct_change over
 * a ring of the last n inputs; mean, sum, std, zscore, min_over, max_over
 * recomputed from that ring each row; ewm as one running average.
 *
 * A row is processed the same way whichever block it arrives in: the loops
 * below carry nothing from one row to the next except through the state, and
 * the aggregates read the ring in one fixed order (oldest to newest), so the
 * value of a row depends only on the ring's contents, never on where a block
 * started. */
#include "compute/expr_window.h"

#include <math.h>
#include <string.h>

static inline double fin(double v)
{
    return isfinite(v) ? v : NAN;
}

static int has_ring(fs_expr_fn fn)
{
    return fn != FS_FN_EWM;
}

size_t fs_expr_window_state_size(fs_expr_fn fn, uint32_t window)
{
    size_t ring = has_ring(fn) ? (size_t)window : 0;
    if (ring > (SIZE_MAX - sizeof(fs_expr_wstate)) / sizeof(double))
        return 0;
    return sizeof(fs_expr_wstate) + ring * sizeof(double);
}

void fs_expr_window_init(fs_expr_fn fn, uint32_t window, void *state)
{
    fs_expr_wstate *w = state;
    memset(w, 0, sizeof *w);
    if (has_ring(fn)) {
        double *ring = (double *)(w + 1);
        for (uint32_t i = 0; i < window; i++)
            ring[i] = NAN;
        w->nnull = window;
    }
}

int fs_expr_window_valid(fs_expr_fn fn, uint32_t window, const void *state)
{
    const fs_expr_wstate *w = state;
    if (has_ring(fn))
        return w->pos < window && w->nnull <= window ? 0 : -1;
    return w->seen <= window && w->pos == 0 && w->nnull == 0 ? 0 : -1;
}

/* ---- aggregates over the ring, oldest value first ------------------------ */

static double ring_sum(const double *r, size_t n, size_t pos)
{
    double s = 0;
    for (size_t j = pos; j < n; j++)
        s += r[j];
    for (size_t j = 0; j < pos; j++)
        s += r[j];
    return s;
}

static double ring_min(const double *r, size_t n, size_t pos)
{
    double m = r[pos];
    for (size_t j = pos + 1; j < n; j++)
        m = r[j] < m ? r[j] : m;
    for (size_t j = 0; j < pos; j++)
        m = r[j] < m ? r[j] : m;
    return m;
}

static double ring_max(const double *r, size_t n, size_t pos)
{
    double m = r[pos];
    for (size_t j = pos + 1; j < n; j++)
        m = r[j] > m ? r[j] : m;
    for (size_t j = 0; j < pos; j++)
        m = r[j] > m ? r[j] : m;
    return m;
}

/* The sample standard deviation of the ring (n >= 2, no nulls) by the
 * corrected two-pass algorithm: sum((x - m)^2) - sum(x - m)^2 / n, where the
 * second term removes the error of the rounded mean. Exactly 0 when all values
 * are equal. *mean_out receives sum / n, as mean() computes it. NaN on
 * overflow. */
static double ring_std(const double *r, size_t n, size_t pos, double *mean_out)
{
    double s = 0, lo = r[pos], hi = r[pos];
    for (size_t k = 0, j = pos; k < n; k++, j = j + 1 == n ? 0 : j + 1) {
        double v = r[j];
        s += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    double m = s / (double)n;
    *mean_out = m;
    if (!isfinite(m))
        return NAN;
    if (lo == hi)
        return 0.0;
    double s1 = 0, s2 = 0;
    for (size_t k = 0, j = pos; k < n; k++, j = j + 1 == n ? 0 : j + 1) {
        double d = r[j] - m;
        s1 += d;
        s2 += d * d;
    }
    double var = (s2 - s1 * s1 / (double)n) / (double)(n - 1);
    if (isnan(var))
        return NAN;
    return var > 0 ? fin(sqrt(var)) : 0.0;
}

/* ---- the functions -------------------------------------------------------- */

static void run_ewm(uint32_t window, double alpha, fs_expr_wstate *w, const double *x, double *out, size_t n)
{
    uint64_t seen = w->seen;
    double acc = w->acc;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v)) { /* skipped: the average stays as it is */
            out[i] = NAN;
            continue;
        }
        if (seen < window) { /* warm-up: the seed is the mean of the first n values */
            acc += v;
            if (++seen < window) {
                out[i] = NAN;
                continue;
            }
            acc = acc / (double)window;
        } else {
            acc = (v - acc) * alpha + acc; /* TA-Lib's form of the update */
        }
        if (!isfinite(acc)) { /* overflow: warm up again */
            seen = 0;
            acc = 0;
            out[i] = NAN;
            continue;
        }
        out[i] = acc;
    }
    w->seen = seen;
    w->acc = acc;
}

void fs_expr_window_run(fs_expr_fn fn, uint32_t window, double alpha, void *state, const double *x,
                        double *out, size_t n)
{
    fs_expr_wstate *w = state;
    if (fn == FS_FN_EWM) {
        run_ewm(window, alpha, w, x, out, n);
        return;
    }
    double *ring = (double *)(w + 1);
    size_t len = window, pos = (size_t)w->pos;
    uint64_t nnull = w->nnull;
    for (size_t i = 0; i < n; i++) {
        double v = x[i], old = ring[pos];
        nnull += (uint64_t)(isnan(v) != 0) - (uint64_t)(isnan(old) != 0);
        ring[pos] = v;
        pos = pos + 1 == len ? 0 : pos + 1;
        double r;
        switch (fn) {
        case FS_FN_LAG:
            r = old; /* NaN until n rows were seen: the ring starts full of nulls */
            break;
        case FS_FN_DELTA:
            r = fin(v - old);
            break;
        case FS_FN_PCT_CHANGE:
            r = old == 0 ? NAN : fin(v / old - 1);
            break;
        default: /* aggregates over the window, which includes this row */
            if (nnull) {
                r = NAN;
                break;
            }
            switch (fn) {
            case FS_FN_SUM: r = fin(ring_sum(ring, len, pos)); break;
            case FS_FN_MEAN: r = fin(ring_sum(ring, len, pos) / (double)len); break;
            case FS_FN_MIN_OVER: r = ring_min(ring, len, pos); break;
            case FS_FN_MAX_OVER: r = ring_max(ring, len, pos); break;
            case FS_FN_STD: {
                double m;
                r = len < 2 ? NAN : ring_std(ring, len, pos, &m);
                break;
            }
            case FS_FN_ZSCORE: {
                double m, sd = len < 2 ? NAN : ring_std(ring, len, pos, &m);
                r = sd > 0 ? fin((v - m) / sd) : NAN;
                break;
            }
            default: r = NAN; break;
            }
            break;
        }
        out[i] = r;
    }
    w->pos = pos;
    w->nnull = nnull;
}
