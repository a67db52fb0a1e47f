/* Rolling statistics: rolling_min, rolling_max, zscore, and the windowed
 * mean/variance helper (ind_moments) that zscore and realized_vol share.
 *
 * rolling_min and rolling_max match TA-Lib's TA_MIN and TA_MAX
 * (src/ta_func/ta_MIN.c, ta_MAX.c): the lowest / highest of the last
 * `period` values, lookback period-1. TA-Lib rescans the window when its
 * extreme expires; fstore keeps a monotone deque (O(1) amortized per bar).
 * The outputs are input values, so they are identical.
 * zscore has no TA-Lib twin; it is (x - SMA(x, period)) / STDDEV(x, period, 1)
 * with the population standard deviation. The sums are of x - anchor, where
 * the anchor is a recent value of the series, recomputed exactly from the
 * ring every `period` bars: no cancellation on large prices and no drift.
 * A window of identical values has no spread and zscore is NaN there (TA-Lib's
 * STDDEV would also give 0). Lookback = period - 1. */
#include "compute/ind_internal.h"

/* ---- ind_moments ---- */

void ind_moments_init(ind_moments *m, int64_t period)
{
    m->period = period;
    m->count = 0;
    m->pos = 0;
    m->run = 0;
    m->anchor = m->s1 = m->s2 = m->last = 0.0;
}

void ind_moments_push(ind_moments *m, double *ring, double x)
{
    int64_t p = m->period;
    if (m->count == 0)
        m->anchor = x;
    if (m->count == p) { /* the value in this slot leaves the window */
        double d = ring[m->pos] - m->anchor;
        m->s1 -= d;
        m->s2 -= d * d;
    } else {
        m->count++;
    }
    ring[m->pos] = x;
    double d = x - m->anchor;
    m->s1 += d;
    m->s2 += d * d;
    m->run = (m->run > 0 && x == m->last) ? m->run + 1 : 1;
    m->last = x;
    if (++m->pos == p) { /* ring[0..p) is the window, oldest first */
        m->pos = 0;
        m->anchor = x;
        double s1 = 0.0, s2 = 0.0;
        for (int64_t i = 0; i < p; i++) {
            double e = ring[i] - x;
            s1 += e;
            s2 += e * e;
        }
        m->s1 = s1;
        m->s2 = s2;
    }
}

int ind_moments_get(const ind_moments *m, double *dmean, double *var)
{
    double p = (double)m->period;
    *dmean = m->s1 / p;
    if (m->run >= m->period) {
        *var = 0.0;
        return 1;
    }
    double v = m->s2 / p - *dmean * *dmean;
    *var = v > 0.0 ? v : 0.0;
    return 0;
}

/* ---- zscore ---- */

typedef struct {
    ind_moments m;
} zscore_body; /* + double ring[period] */

static int zscore_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t zscore_size(const double *p)
{
    return sizeof(zscore_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void zscore_init(void *body, const double *p)
{
    zscore_body *b = body;
    ind_moments_init(&b->m, ind_int(p, 0));
}

static int zscore_step(void *body, uint64_t n, const double *in, double *out)
{
    zscore_body *b = body;
    double x = in[0];
    ind_moments_push(&b->m, ind_after(b), x);
    out[0] = NAN;
    if ((int64_t)n < b->m.period - 1)
        return 1;
    double dmean, var;
    ind_moments_get(&b->m, &dmean, &var);
    if (var > 0.0)
        out[0] = ((x - b->m.anchor) - dmean) / sqrt(var);
    return 1;
}

IND_DEFINE_RUN(zscore_step, 1)

const fs_ind_impl fs_ind_zscore_impl = {"zscore", 1, zscore_lookback, zscore_size, zscore_init,
                                        zscore_step,
                                zscore_step_run};

/* ---- rolling_min, rolling_max ---- */

typedef struct {
    ind_deque dq;
} minmax_body; /* + double vals[period], int64 rows[period] */

static int minmax_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t minmax_size(const double *p)
{
    return sizeof(minmax_body) + 2 * (size_t)ind_int(p, 0) * 8;
}

static void minmax_init(void *body, const double *p)
{
    minmax_body *b = body;
    ind_deque_init(&b->dq, ind_int(p, 0));
}

static int minmax_step(minmax_body *b, uint64_t n, double x, double *out, int want_max)
{
    double *vals = ind_after(b);
    int64_t *rows = (int64_t *)(vals + b->dq.period);
    double v = ind_deque_push(&b->dq, vals, rows, x, (int64_t)n, want_max);
    out[0] = (int64_t)n >= b->dq.period - 1 ? v : NAN;
    return 1;
}

static int min_step(void *body, uint64_t n, const double *in, double *out)
{
    return minmax_step(body, n, in[0], out, 0);
}

static int max_step(void *body, uint64_t n, const double *in, double *out)
{
    return minmax_step(body, n, in[0], out, 1);
}

IND_DEFINE_RUN(min_step, 1)

const fs_ind_impl fs_ind_rolling_min_impl = {"rolling_min", 1, minmax_lookback, minmax_size,
                                             minmax_init, min_step,
                                min_step_run};
IND_DEFINE_RUN(max_step, 1)

const fs_ind_impl fs_ind_rolling_max_impl = {"rolling_max", 1, minmax_lookback, minmax_size,
                                             minmax_init, max_step,
                                max_step_run};
