/* Volume indicators: obv, vwap, volume_ratio.
 *
 * obv follows TA-Lib's TA_OBV (src/ta_func/ta_OBV.c): the first bar's output
 * is its own volume; after that volume is added when close rises, subtracted
 * when it falls, unchanged when equal. Lookback 0.
 * vwap and volume_ratio have no TA-Lib twin; they are the TA-Lib
 * compositions SUM(TYPPRICE*volume, period) / SUM(volume, period) with
 * TYPPRICE = (high + low + close) / 3, and volume / SMA(volume, period).
 * Their window sums are running totals like TA-Lib's, but recomputed
 * exactly from the ring every `period` bars, so rounding from a past volume
 * spike cannot linger, and a count of nonzero volumes in the window makes
 * "no volume" exact: both are NaN when the window traded nothing. Lookback =
 * period - 1 (the current bar is in the window). */
#include "compute/ind_internal.h"

/* ---- obv ---- */

typedef struct {
    double prev_close;
    double obv;
} obv_body;

static int obv_lookback(const double *p)
{
    (void)p;
    return 0;
}

static size_t obv_size(const double *p)
{
    (void)p;
    return sizeof(obv_body);
}

static void obv_init(void *body, const double *p)
{
    (void)p;
    obv_body *b = body;
    b->prev_close = 0.0;
    b->obv = 0.0;
}

static int obv_step(void *body, uint64_t n, const double *in, double *out)
{
    obv_body *b = body;
    double close = in[0], volume = in[1];
    if (n == 0) {
        b->obv = volume;
    } else if (close > b->prev_close) {
        b->obv += volume;
    } else if (close < b->prev_close) {
        b->obv -= volume;
    }
    b->prev_close = close;
    out[0] = b->obv;
    return 1;
}

IND_DEFINE_RUN(obv_step, 2)

const fs_ind_impl fs_ind_obv_impl = {"obv", 2, obv_lookback, obv_size, obv_init, obv_step,
                                obv_step_run};

/* ---- windowed sums shared by vwap and volume_ratio ----
 * ring holds (pv, v) pairs; pv is unused (0) for volume_ratio. */

typedef struct {
    int64_t period;
    int64_t pos;
    int64_t nonzero; /* bars in the window with volume != 0 */
    double sum_pv, sum_v;
} vsum_body; /* + double ring[2 * period] */

static size_t vsum_size(const double *p)
{
    return sizeof(vsum_body) + 2 * (size_t)ind_int(p, 0) * sizeof(double);
}

static void vsum_init(void *body, const double *p)
{
    vsum_body *b = body;
    b->period = ind_int(p, 0);
    b->pos = 0;
    b->nonzero = 0;
    b->sum_pv = b->sum_v = 0.0;
}

static int vsum_lookback(const double *p) { return (int)ind_int(p, 0) - 1; }

/* Adds bar n's (pv, v) and returns 1 once the window is full; the sums then
 * cover exactly the last `period` bars. */
static int vsum_push(vsum_body *b, uint64_t n, double pv, double v)
{
    double *ring = ind_after(b);
    int64_t p = b->period;
    double *slot = &ring[2 * b->pos];
    if ((int64_t)n >= p) { /* drop the bar leaving the window */
        b->sum_pv -= slot[0];
        b->sum_v -= slot[1];
        if (slot[1] != 0.0)
            b->nonzero--;
    }
    slot[0] = pv;
    slot[1] = v;
    b->sum_pv += pv;
    b->sum_v += v;
    if (v != 0.0)
        b->nonzero++;
    b->pos++;
    if (b->pos == p) { /* window aligned with the ring: re-add it exactly */
        b->pos = 0;
        double spv = 0.0, sv = 0.0;
        for (int64_t i = 0; i < p; i++) {
            spv += ring[2 * i];
            sv += ring[2 * i + 1];
        }
        b->sum_pv = spv;
        b->sum_v = sv;
    }
    return (int64_t)n >= p - 1;
}

static int vwap_step(void *body, uint64_t n, const double *in, double *out)
{
    vsum_body *b = body;
    double typical = (in[0] + in[1] + in[2]) / 3.0;
    double v = in[3];
    if (!vsum_push(b, n, typical * v, v) || b->nonzero == 0 || b->sum_v == 0.0)
        out[0] = NAN;
    else
        out[0] = b->sum_pv / b->sum_v;
    return 1;
}

static int volume_ratio_step(void *body, uint64_t n, const double *in, double *out)
{
    vsum_body *b = body;
    double v = in[0];
    if (!vsum_push(b, n, 0.0, v) || b->nonzero == 0) {
        out[0] = NAN;
        return 1;
    }
    double mean = b->sum_v / (double)b->period;
    out[0] = mean != 0.0 ? v / mean : NAN;
    return 1;
}

IND_DEFINE_RUN(vwap_step, 4)

const fs_ind_impl fs_ind_vwap_impl = {"vwap", 4, vsum_lookback, vsum_size, vsum_init, vwap_step,
                                vwap_step_run};
IND_DEFINE_RUN(volume_ratio_step, 1)

const fs_ind_impl fs_ind_volume_ratio_impl = {"volume_ratio", 1, vsum_lookback, vsum_size,
                                              vsum_init, volume_ratio_step,
                                volume_ratio_step_run};
