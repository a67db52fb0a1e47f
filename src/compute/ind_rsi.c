/* rsi: Wilder's relative strength index, following TA-Lib's TA_RSI
 * (src/ta_func/ta_RSI.c) in its default ("classic", not Metastock) mode with
 * no unstable period. The first `period` price changes are summed into gains
 * and losses and divided by the period; after that each is multiplied by
 * period-1, the new change added, and divided by the period. The output is
 * 100 * gain / (gain + loss), or 0 when gain + loss is within TA-Lib's
 * epsilon of zero. Lookback = period (the first price has no change). */
#include "compute/ind_internal.h"

typedef struct {
    int64_t period;
    double prev; /* previous price */
    double gain, loss;
} rsi_body;

static int rsi_lookback(const double *p) { return (int)ind_int(p, 0); }

static size_t rsi_size(const double *p)
{
    (void)p;
    return sizeof(rsi_body);
}

static void rsi_init(void *body, const double *p)
{
    rsi_body *b = body;
    b->period = ind_int(p, 0);
    b->prev = 0.0;
    b->gain = 0.0;
    b->loss = 0.0;
}

static double rsi_value(const rsi_body *b)
{
    double t = b->gain + b->loss;
    return !IND_TA_IS_ZERO(t) ? 100.0 * (b->gain / t) : 0.0;
}

static int rsi_step(void *body, uint64_t n, const double *in, double *out)
{
    rsi_body *b = body;
    double x = in[0];
    int64_t row = (int64_t)n;
    if (row == 0) {
        b->prev = x;
        out[0] = NAN;
        return 1;
    }
    double change = x - b->prev;
    b->prev = x;
    double per = (double)b->period;
    if (row <= b->period) { /* accumulating the first `period` changes */
        if (change < 0.0)
            b->loss -= change;
        else
            b->gain += change;
        if (row < b->period) {
            out[0] = NAN;
            return 1;
        }
        b->loss /= per;
        b->gain /= per;
        out[0] = rsi_value(b);
        return 1;
    }
    b->loss *= (double)(b->period - 1);
    b->gain *= (double)(b->period - 1);
    if (change < 0.0)
        b->loss -= change;
    else
        b->gain += change;
    b->loss /= per;
    b->gain /= per;
    out[0] = rsi_value(b);
    return 1;
}

IND_DEFINE_RUN(rsi_step, 1)

const fs_ind_impl fs_ind_rsi_impl = {"rsi", 1, rsi_lookback, rsi_size, rsi_init, rsi_step,
                                rsi_step_run};
