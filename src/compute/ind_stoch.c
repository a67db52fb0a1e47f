/* stoch: the slow stochastic oscillator, following TA-Lib's TA_STOCH
 * (src/ta_func/ta_STOCH.c) with both moving averages of type SMA (TA-Lib's
 * default, matype 0). Raw %K = (close - lowest low) / ((highest high - lowest
 * low) / 100) over fastk_period bars, 0 when the range is 0 (TA-Lib's
 * arithmetic, including dividing the range by 100 first). k = SMA(raw %K,
 * slowk_period) and d = SMA(k, slowd_period), both TA-Lib's running-total
 * SMA. The highest high and lowest low come from monotone deques (O(1) per
 * bar) where TA-Lib rescans the window; the extremes are the same values.
 * Lookback = (fastk-1) + (slowk-1) + (slowd-1): 17 for 14/3/3. */
#include "compute/ind_internal.h"

typedef struct {
    int64_t fastk, slowk, slowd;
    ind_deque hi, lo;
    ind_sma k, d;
} stoch_body;
/* + double hi_vals[fastk], int64 hi_rows[fastk], double lo_vals[fastk],
 *   int64 lo_rows[fastk], double k_ring[slowk], double d_ring[slowd] */

static int stoch_lookback(const double *p)
{
    return (int)(ind_int(p, 0) - 1 + ind_int(p, 1) - 1 + ind_int(p, 2) - 1);
}

static size_t stoch_size(const double *p)
{
    size_t fk = (size_t)ind_int(p, 0), sk = (size_t)ind_int(p, 1), sd = (size_t)ind_int(p, 2);
    return sizeof(stoch_body) + 4 * fk * 8 + (sk + sd) * sizeof(double);
}

static void stoch_init(void *body, const double *p)
{
    stoch_body *b = body;
    b->fastk = ind_int(p, 0);
    b->slowk = ind_int(p, 1);
    b->slowd = ind_int(p, 2);
    ind_deque_init(&b->hi, b->fastk);
    ind_deque_init(&b->lo, b->fastk);
    ind_sma_init(&b->k, b->slowk);
    ind_sma_init(&b->d, b->slowd);
}

static int stoch_step(void *body, uint64_t n, const double *in, double *out)
{
    stoch_body *b = body;
    double *hi_vals = ind_after(b);
    int64_t *hi_rows = (int64_t *)(hi_vals + b->fastk);
    double *lo_vals = (double *)(hi_rows + b->fastk);
    int64_t *lo_rows = (int64_t *)(lo_vals + b->fastk);
    double *k_ring = (double *)(lo_rows + b->fastk);
    double *d_ring = k_ring + b->slowk;
    int64_t row = (int64_t)n;

    double highest = ind_deque_push(&b->hi, hi_vals, hi_rows, in[0], row, 1);
    double lowest = ind_deque_push(&b->lo, lo_vals, lo_rows, in[1], row, 0);
    out[0] = out[1] = NAN;
    if (row < b->fastk - 1)
        return 1;
    double diff = (highest - lowest) / 100.0;
    double raw = diff != 0.0 ? (in[2] - lowest) / diff : 0.0;
    double k, d;
    if (!ind_sma_push(&b->k, k_ring, raw, &k))
        return 1;
    if (!ind_sma_push(&b->d, d_ring, k, &d))
        return 1;
    out[0] = k;
    out[1] = d;
    return 1;
}

IND_DEFINE_RUN(stoch_step, 3)

const fs_ind_impl fs_ind_stoch_impl = {"stoch", 3, stoch_lookback, stoch_size, stoch_init,
                                       stoch_step,
                                stoch_step_run};
