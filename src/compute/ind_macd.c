/* macd: moving average convergence/divergence, following TA-Lib's TA_MACD
 * (src/ta_func/ta_MACD.c, TA_INT_MACD) in the default compatibility mode.
 * Both EMAs use k = 2/(period+1). TA-Lib aligns the fast EMA to the slow one:
 * the two are seeded on the same bar (row slow-1), the slow EMA with the SMA
 * of the first `slow` prices and the fast EMA with the SMA of the last `fast`
 * of those (NOT with the SMA of the first `fast` prices, as a standalone
 * EMA(fast) would be). macd = fast - slow from row slow-1 on; the signal EMA
 * is seeded with the SMA of the first `signal` macd values and then
 * prev = (macd - prev)*k + prev; hist = macd - signal. Lookback =
 * (slow-1) + (signal-1): 33 for 12/26/9. */
#include "compute/ind_internal.h"

typedef struct {
    int64_t fast, slow, signal;
    double fast_k, slow_k, signal_k;
    double sum_fast, sum_slow; /* seed accumulators */
    double prev_fast, prev_slow;
    double sum_signal, prev_signal;
} macd_body;

static int macd_lookback(const double *p)
{
    return (int)(ind_int(p, 1) - 1 + ind_int(p, 2) - 1);
}

static size_t macd_size(const double *p)
{
    (void)p;
    return sizeof(macd_body);
}

static void macd_init(void *body, const double *p)
{
    macd_body *b = body;
    b->fast = ind_int(p, 0);
    b->slow = ind_int(p, 1); /* the catalogue guarantees fast < slow */
    b->signal = ind_int(p, 2);
    b->fast_k = 2.0 / (double)(b->fast + 1);
    b->slow_k = 2.0 / (double)(b->slow + 1);
    b->signal_k = 2.0 / (double)(b->signal + 1);
    b->sum_fast = b->sum_slow = 0.0;
    b->prev_fast = b->prev_slow = 0.0;
    b->sum_signal = b->prev_signal = 0.0;
}

static int macd_step(void *body, uint64_t n, const double *in, double *out)
{
    macd_body *b = body;
    double x = in[0];
    int64_t row = (int64_t)n;
    int64_t seed_row = b->slow - 1;                 /* both EMAs seeded here */
    int64_t first_out = seed_row + b->signal - 1;   /* the lookback */
    double macd;
    if (row < seed_row) {
        b->sum_slow += x;
        if (row >= b->slow - b->fast)
            b->sum_fast += x;
        out[0] = out[1] = out[2] = NAN;
        return 1;
    }
    if (row == seed_row) {
        b->sum_slow += x;
        b->sum_fast += x;
        b->prev_slow = b->sum_slow / (double)b->slow;
        b->prev_fast = b->sum_fast / (double)b->fast;
    } else {
        b->prev_fast = (x - b->prev_fast) * b->fast_k + b->prev_fast;
        b->prev_slow = (x - b->prev_slow) * b->slow_k + b->prev_slow;
    }
    macd = b->prev_fast - b->prev_slow;
    if (row < first_out) {
        b->sum_signal += macd;
        out[0] = out[1] = out[2] = NAN;
        return 1;
    }
    if (row == first_out) {
        b->sum_signal += macd;
        b->prev_signal = b->sum_signal / (double)b->signal;
    } else {
        b->prev_signal = (macd - b->prev_signal) * b->signal_k + b->prev_signal;
    }
    out[0] = macd;
    out[1] = b->prev_signal;
    out[2] = macd - b->prev_signal;
    return 1;
}

IND_DEFINE_RUN(macd_step, 1)

const fs_ind_impl fs_ind_macd_impl = {"macd", 1, macd_lookback, macd_size, macd_init, macd_step,
                                macd_step_run};
