/* atr, natr: average true range and its normalized form, following TA-Lib's
 * TA_ATR and TA_NATR (src/ta_func/ta_ATR.c, ta_NATR.c, true range as
 * TA_TRANGE). True range of bar i (from the second bar on) = the greatest of
 * high-low, |prev close - high| and |prev close - low|, compared in that
 * order. The first ATR is the plain average of the first `period` true
 * ranges (summed from 0.0); then atr = (atr * (period-1) + tr) / period, in
 * three separate steps as TA-Lib. natr = atr / close * 100, or 0 when close
 * is within TA-Lib's epsilon of 0. Lookback = period.
 * One deliberate difference: TA-Lib's NATR with period 1 returns the raw
 * true range (it short-circuits to TA_TRANGE before normalizing); fstore
 * returns 100 * TR / close, what NATR means. ATR(1) is TR in both. */
#include "compute/ind_internal.h"

typedef struct {
    int64_t period;
    double prev_close;
    double sum; /* seed accumulator */
    double atr;
} atr_body;

static int atr_lookback(const double *p) { return (int)ind_int(p, 0); }

static size_t atr_size(const double *p)
{
    (void)p;
    return sizeof(atr_body);
}

static void atr_init(void *body, const double *p)
{
    atr_body *b = body;
    b->period = ind_int(p, 0);
    b->prev_close = 0.0;
    b->sum = 0.0;
    b->atr = 0.0;
}

/* Advances the ATR by one bar (high, low, close in in[0..2]); returns 1 once
 * the ATR is defined. */
static int atr_advance(atr_body *b, uint64_t n, const double *in)
{
    int64_t row = (int64_t)n;
    double high = in[0], low = in[1], close = in[2];
    if (row == 0) {
        b->prev_close = close;
        return 0;
    }
    double cy = b->prev_close;
    double greatest = high - low;
    double v2 = fabs(cy - high);
    if (v2 > greatest)
        greatest = v2;
    double v3 = fabs(cy - low);
    if (v3 > greatest)
        greatest = v3;
    b->prev_close = close;
    if (row <= b->period) {
        b->sum += greatest;
        if (row < b->period)
            return 0;
        b->atr = b->sum / (double)b->period;
        return 1;
    }
    b->atr *= (double)(b->period - 1);
    b->atr += greatest;
    b->atr /= (double)b->period;
    return 1;
}

static int atr_step(void *body, uint64_t n, const double *in, double *out)
{
    atr_body *b = body;
    out[0] = atr_advance(b, n, in) ? b->atr : NAN;
    return 1;
}

static int natr_step(void *body, uint64_t n, const double *in, double *out)
{
    atr_body *b = body;
    if (!atr_advance(b, n, in)) {
        out[0] = NAN;
        return 1;
    }
    double close = in[2];
    out[0] = !IND_TA_IS_ZERO(close) ? b->atr / close * 100.0 : 0.0;
    return 1;
}

IND_DEFINE_RUN(atr_step, 3)

const fs_ind_impl fs_ind_atr_impl = {"atr", 3, atr_lookback, atr_size, atr_init, atr_step,
                                atr_step_run};
IND_DEFINE_RUN(natr_step, 3)

const fs_ind_impl fs_ind_natr_impl = {"natr", 3, atr_lookback, atr_size, atr_init, natr_step,
                                natr_step_run};
