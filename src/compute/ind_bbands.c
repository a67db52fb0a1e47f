/* bbands: Bollinger bands, following TA-Lib's TA_BBANDS with matype SMA
 * (src/ta_func/ta_BBANDS.c). middle = TA-Lib's running-total SMA; the
 * population standard deviation is TA-Lib's INT_stddev_using_precalc_ma: a
 * running total of squares, mean of squares minus the squared SMA, and 0
 * when that variance is below TA-Lib's epsilon (1e-14). upper = middle +
 * nbdev_up * stddev, lower = middle - nbdev_dn * stddev (bitwise what
 * TA-Lib's five special-cased loops compute). fstore adds two outputs
 * TA-Lib does not have: percent_b = (price - lower) / (upper - lower) and
 * bandwidth = (upper - lower) / middle, each NaN when its denominator is 0.
 * Lookback = period - 1. */
#include "compute/ind_internal.h"

typedef struct {
    ind_sma sma;
    double sum2; /* running total of squares */
    double nbdev_up, nbdev_dn;
} bbands_body; /* + double ring[period] */

static int bbands_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t bbands_size(const double *p)
{
    return sizeof(bbands_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void bbands_init(void *body, const double *p)
{
    bbands_body *b = body;
    ind_sma_init(&b->sma, ind_int(p, 0));
    b->sum2 = 0.0;
    b->nbdev_up = p[1];
    b->nbdev_dn = p[2];
}

static int bbands_step(void *body, uint64_t n, const double *in, double *out)
{
    (void)n;
    bbands_body *b = body;
    double *ring = ind_after(b);
    double x = in[0];
    int64_t period = b->sma.period;
    /* Once the window is full, its oldest value (the one both running totals
     * drop after this bar) sits in the ring slot after the one x goes to;
     * period >= 2, so x does not overwrite it. */
    double oldest = ring[b->sma.pos + 1 == period ? 0 : b->sma.pos + 1];
    double middle;
    if (!ind_sma_push(&b->sma, ring, x, &middle)) {
        b->sum2 += x * x;
        for (int k = 0; k < 5; k++)
            out[k] = NAN;
        return 1;
    }
    double sq = x * x;
    b->sum2 += sq;
    double mean2 = b->sum2 / (double)period;
    b->sum2 -= oldest * oldest;
    mean2 -= middle * middle;
    double sd = !IND_TA_IS_ZERO_OR_NEG(mean2) ? sqrt(mean2) : 0.0;
    double upper = middle + sd * b->nbdev_up;
    double lower = middle - sd * b->nbdev_dn;
    double width = upper - lower;
    out[0] = upper;
    out[1] = middle;
    out[2] = lower;
    out[3] = width != 0.0 ? (x - lower) / width : NAN;
    out[4] = middle != 0.0 ? width / middle : NAN;
    return 1;
}

IND_DEFINE_RUN(bbands_step, 1)

const fs_ind_impl fs_ind_bbands_impl = {"bbands", 1, bbands_lookback, bbands_size, bbands_init,
                                        bbands_step,
                                bbands_step_run};
