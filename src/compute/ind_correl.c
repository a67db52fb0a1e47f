/* correlation: Pearson's correlation of this entity's column with the
 * reference entity's same column over `period` bars, following TA-Lib's
 * TA_CORREL (src/ta_func/ta_CORREL.c): running totals of x, y, x*x, y*y and
 * x*y; once the window is full each new bar first removes the oldest pair
 * (in the order x, x*x, x*y, y, y*y) and then adds the new one;
 * r = (Sxy - Sx*Sy/n) / sqrt((Sxx - Sx*Sx/n) * (Syy - Sy*Sy/n)), and 0 when
 * the product under the root is below TA-Lib's epsilon (a constant series).
 * in[0] is this entity, in[1] the reference at the same event time; a bar
 * where either is missing is skipped for both. Lookback = period - 1. */
#include "compute/ind_internal.h"

typedef struct {
    int64_t period;
    int64_t pos;
    double sx, sy, sxy, sx2, sy2;
} correl_body; /* + double ring[2 * period] of (x, y) */

static int correl_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t correl_size(const double *p)
{
    return sizeof(correl_body) + 2 * (size_t)ind_int(p, 0) * sizeof(double);
}

static void correl_init(void *body, const double *p)
{
    correl_body *b = body;
    b->period = ind_int(p, 0);
    b->pos = 0;
    b->sx = b->sy = b->sxy = b->sx2 = b->sy2 = 0.0;
}

static int correl_step(void *body, uint64_t n, const double *in, double *out)
{
    correl_body *b = body;
    double *slot = (double *)ind_after(b) + 2 * b->pos;
    double x = in[0], y = in[1];
    if ((int64_t)n >= b->period) {
        double tx = slot[0], ty = slot[1];
        b->sx -= tx;
        b->sx2 -= tx * tx;
        b->sxy -= tx * ty;
        b->sy -= ty;
        b->sy2 -= ty * ty;
    }
    b->sx += x;
    b->sx2 += x * x;
    b->sxy += x * y;
    b->sy += y;
    b->sy2 += y * y;
    slot[0] = x;
    slot[1] = y;
    b->pos = b->pos + 1 == b->period ? 0 : b->pos + 1;
    if ((int64_t)n < b->period - 1) {
        out[0] = NAN;
        return 1;
    }
    double per = (double)b->period;
    double t = (b->sx2 - ((b->sx * b->sx) / per)) * (b->sy2 - ((b->sy * b->sy) / per));
    out[0] = !IND_TA_IS_ZERO_OR_NEG(t) ? (b->sxy - ((b->sx * b->sy) / per)) / sqrt(t) : 0.0;
    return 1;
}

IND_DEFINE_RUN(correl_step, 2)

const fs_ind_impl fs_ind_correlation_impl = {"correlation", 2, correl_lookback, correl_size,
                                             correl_init, correl_step,
                                correl_step_run};
