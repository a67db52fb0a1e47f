/* Moving averages: sma, ema, wma.
 *
 * sma follows TA-Lib's TA_SMA / TA_INT_SMA (src/ta_func/ta_SMA.c): a running
 * total that adds the new value, divides by the period, then subtracts the
 * window's oldest value. ema follows TA_EMA / TA_INT_EMA in TA-Lib's default
 * compatibility mode: k = 2/(period+1), seeded with the SMA of the first
 * `period` values (summed from 0.0 in order), then prev = (x - prev)*k + prev.
 * wma follows TA_WMA (ta_WMA.c): periodSum and periodSub carried from bar to
 * bar, periodSum / (period*(period+1)/2), then periodSum -= periodSub. All
 * three have lookback period-1, as TA-Lib. Each operation is done in TA-Lib's
 * order, so outputs equal TA-Lib's to the last bit. */
#include "compute/ind_internal.h"

/* ---- sma ---- */

typedef struct {
    ind_sma sma;
} sma_body; /* + double ring[period] */

static int sma_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t sma_size(const double *p)
{
    return sizeof(sma_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void sma_init(void *body, const double *p)
{
    sma_body *b = body;
    ind_sma_init(&b->sma, ind_int(p, 0));
}

static int sma_step(void *body, uint64_t n, const double *in, double *out)
{
    (void)n;
    sma_body *b = body;
    if (!ind_sma_push(&b->sma, ind_after(b), in[0], &out[0]))
        out[0] = NAN;
    return 1;
}

IND_DEFINE_RUN(sma_step, 1)

const fs_ind_impl fs_ind_sma_impl = {"sma", 1, sma_lookback, sma_size, sma_init, sma_step,
                                sma_step_run};

/* ---- ema ---- */

typedef struct {
    int64_t period;
    double k;
    double sum;  /* seed accumulator */
    double prev; /* the EMA once seeded */
} ema_body;

static int ema_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t ema_size(const double *p)
{
    (void)p;
    return sizeof(ema_body);
}

static void ema_init(void *body, const double *p)
{
    ema_body *b = body;
    b->period = ind_int(p, 0);
    b->k = 2.0 / (double)(b->period + 1); /* TA-Lib's PER_TO_K */
    b->sum = 0.0;
    b->prev = 0.0;
}

static int ema_step(void *body, uint64_t n, const double *in, double *out)
{
    ema_body *b = body;
    double x = in[0];
    int64_t row = (int64_t)n;
    if (row < b->period - 1) {
        b->sum += x;
        out[0] = NAN;
    } else if (row == b->period - 1) {
        b->sum += x;
        b->prev = b->sum / (double)b->period;
        out[0] = b->prev;
    } else {
        b->prev = ((x - b->prev) * b->k) + b->prev;
        out[0] = b->prev;
    }
    return 1;
}

IND_DEFINE_RUN(ema_step, 1)

const fs_ind_impl fs_ind_ema_impl = {"ema", 1, ema_lookback, ema_size, ema_init, ema_step,
                                ema_step_run};

/* ---- wma ---- */

typedef struct {
    int64_t period;
    int64_t pos;       /* ring slot of the next value */
    double divider;    /* period*(period+1)/2 */
    double period_sum; /* sum of value * weight */
    double period_sub; /* plain sum of the window */
    double trailing;   /* the previous window's oldest value */
} wma_body; /* + double ring[period] */

static int wma_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

static size_t wma_size(const double *p)
{
    return sizeof(wma_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void wma_init(void *body, const double *p)
{
    wma_body *b = body;
    b->period = ind_int(p, 0);
    b->pos = 0;
    b->divider = (double)((b->period * (b->period + 1)) >> 1);
    b->period_sum = 0.0;
    b->period_sub = 0.0;
    b->trailing = 0.0;
}

static int wma_step(void *body, uint64_t n, const double *in, double *out)
{
    wma_body *b = body;
    double *ring = ind_after(b);
    double x = in[0];
    int64_t row = (int64_t)n;
    ring[b->pos] = x;
    b->pos = b->pos + 1 == b->period ? 0 : b->pos + 1;
    if (row < b->period - 1) {
        b->period_sub += x;
        b->period_sum += x * (double)(row + 1);
        out[0] = NAN;
        return 1;
    }
    b->period_sub += x;
    b->period_sub -= b->trailing;
    b->period_sum += x * (double)b->period;
    b->trailing = ring[b->pos]; /* oldest value of this window */
    out[0] = b->period_sum / b->divider;
    b->period_sum -= b->period_sub;
    return 1;
}

IND_DEFINE_RUN(wma_step, 1)

const fs_ind_impl fs_ind_wma_impl = {"wma", 1, wma_lookback, wma_size, wma_init, wma_step,
                                wma_step_run};
