/* Returns: returns, log_returns, realized_vol.
 *
 * returns follows TA-Lib's TA_ROCP (src/ta_func/ta_ROCP.c): (price - old) /
 * old with old the price `period` bars back, and 0 when old is 0 (TA-Lib's
 * rule). Lookback = period.
 * log_returns has no TA-Lib twin; it is LN(ROCR(price, period)) = ln(price /
 * old) (TA_LN over TA_ROCR). Lookback = period.
 * realized_vol has no TA-Lib twin; it is STDDEV(LN(ROCR(price, 1)), period,
 * 1) * sqrt(annualize): the population standard deviation of the last
 * `period` one-bar log returns, so it needs period+1 prices (lookback =
 * period). The variance comes from the anchored, periodically recomputed
 * sums in ind_rolling.c rather than TA-Lib's plain running totals, and is
 * not floored at TA-Lib's 1e-14 (per-bar variances of quiet markets are that
 * small); a window of identical returns has volatility exactly 0.
 * Both log-based indicators treat a price <= 0 as a missing row. */
#include "compute/ind_internal.h"

/* ---- returns and log_returns: a ring of the last `period` prices ---- */

typedef struct {
    int64_t period;
    int64_t pos;
} lag_body; /* + double ring[period] */

static int lag_lookback(const double *p) { return (int)ind_int(p, 0); }

static size_t lag_size(const double *p)
{
    return sizeof(lag_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void lag_init(void *body, const double *p)
{
    lag_body *b = body;
    b->period = ind_int(p, 0);
    b->pos = 0;
}

/* Stores x; returns 1 and the price `period` bars back once there is one. */
static int lag_push(lag_body *b, uint64_t n, double x, double *old)
{
    double *ring = ind_after(b);
    int have = (int64_t)n >= b->period;
    if (have)
        *old = ring[b->pos];
    ring[b->pos] = x;
    b->pos = b->pos + 1 == b->period ? 0 : b->pos + 1;
    return have;
}

static int returns_step(void *body, uint64_t n, const double *in, double *out)
{
    double x = in[0], old;
    if (!lag_push(body, n, x, &old))
        out[0] = NAN;
    else
        out[0] = old != 0.0 ? (x - old) / old : 0.0;
    return 1;
}

static int log_returns_step(void *body, uint64_t n, const double *in, double *out)
{
    double x = in[0], old;
    if (!(x > 0.0)) {
        out[0] = NAN;
        return 0;
    }
    out[0] = lag_push(body, n, x, &old) ? log(x / old) : NAN;
    return 1;
}

IND_DEFINE_RUN(returns_step, 1)

const fs_ind_impl fs_ind_returns_impl = {"returns", 1, lag_lookback, lag_size, lag_init,
                                         returns_step,
                                returns_step_run};
IND_DEFINE_RUN(log_returns_step, 1)

const fs_ind_impl fs_ind_log_returns_impl = {"log_returns", 1, lag_lookback, lag_size, lag_init,
                                             log_returns_step,
                                log_returns_step_run};

/* ---- realized_vol ---- */

typedef struct {
    double prev;  /* previous price */
    double scale; /* sqrt(annualize) */
    ind_moments m;
} rvol_body; /* + double ring[period] */

static int rvol_lookback(const double *p) { return (int)ind_int(p, 0); }

static size_t rvol_size(const double *p)
{
    return sizeof(rvol_body) + (size_t)ind_int(p, 0) * sizeof(double);
}

static void rvol_init(void *body, const double *p)
{
    rvol_body *b = body;
    b->prev = 0.0;
    b->scale = sqrt(p[1]);
    ind_moments_init(&b->m, ind_int(p, 0));
}

static int rvol_step(void *body, uint64_t n, const double *in, double *out)
{
    rvol_body *b = body;
    double x = in[0];
    out[0] = NAN;
    if (!(x > 0.0))
        return 0;
    if (n == 0) {
        b->prev = x;
        return 1;
    }
    double r = log(x / b->prev);
    b->prev = x;
    ind_moments_push(&b->m, ind_after(b), r);
    if ((int64_t)n < b->m.period)
        return 1;
    double dmean, var;
    ind_moments_get(&b->m, &dmean, &var);
    out[0] = sqrt(var) * b->scale;
    return 1;
}

IND_DEFINE_RUN(rvol_step, 1)

const fs_ind_impl fs_ind_realized_vol_impl = {"realized_vol", 1, rvol_lookback, rvol_size,
                                              rvol_init, rvol_step,
                                rvol_step_run};
