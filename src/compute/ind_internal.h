/* Shared declarations of the indicator modules (ind_*.c) and the dispatcher
 * (indicator.c). Not part of the library's interface.
 *
 * Each module exports one fs_ind_impl per indicator. A state is
 *   [fs_ind_state header][body: the indicator's fixed fields][inline arrays]
 * and every member is 8 bytes wide, so arrays that follow a body struct are
 * aligned for double and int64_t. Nothing in a state is a pointer: arrays
 * are found from the body's address (ind_after()).
 *
 * The floating-point helpers below reproduce TA-Lib's running sums operation
 * for operation, so results match TA-Lib to the last bit where TA-Lib has the
 * indicator (see each module's comment for the function it follows). */
#ifndef FS_IND_INTERNAL_H
#define FS_IND_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "compute/indicator.h"
#include "compute/indicator_spec.h"

/* TA-Lib's zero tests (src/ta_func/ta_utility.h). TA-Lib >= 0.6 and the
 * build in npm talib-web use 1e-14 (verified in tests/data/talib/
 * gen_reference.js); TA-Lib 0.4.0 used 1e-8. */
#define IND_TA_EPSILON 1e-14
#define IND_TA_IS_ZERO(v) ((-IND_TA_EPSILON) < (v) && (v) < IND_TA_EPSILON)
#define IND_TA_IS_ZERO_OR_NEG(v) ((v) < IND_TA_EPSILON)

typedef struct {
    const char *name; /* the catalogue name it computes */
    int n_in;         /* values read per row */
    int (*lookback)(const double *params);
    size_t (*body_size)(const double *params); /* bytes after the header */
    void (*init)(void *body, const double *params);
    /* Consumes one row whose inputs are all finite. n = valid rows consumed
     * before this one. Returns 1 if the row was consumed, 0 if the indicator
     * treats it as missing (then it wrote NaN to every output and left the
     * body untouched). */
    int (*step)(void *body, uint64_t n, const double *in, double *out);
    /* step over a block of rows given as columns (in[i][r], out[k][r] for
     * the spec's n_out outputs), with fs_ind_step's rule for a row whose
     * inputs are not all finite (NaN outputs, not consumed); *consumed is
     * the `n` of the next row. Made by IND_DEFINE_RUN next to the step. */
    void (*run)(void *body, uint64_t *consumed, const double *const *in, size_t rows,
                double *const *out, int n_out);
} fs_ind_impl;

/* Defines STEP##_run, the block loop of the static step function STEP with
 * N_IN inputs. It lives in the step's own module so the compiler inlines the
 * step into the loop: the batch path then makes no call per row, yet runs
 * the very code the live path runs row by row, so both stay bit-identical. */
#define IND_DEFINE_RUN(STEP, N_IN)                                                          \
    static void STEP##_run(void *body, uint64_t *consumed, const double *const *in,          \
                           size_t rows, double *const *out, int n_out)                       \
    {                                                                                        \
        double row_in[N_IN], row_out[FS_IND_MAX_OUTPUTS];                                    \
        uint64_t n = *consumed;                                                              \
        for (size_t r = 0; r < rows; r++) {                                                  \
            int finite = 1;                                                                  \
            for (int i = 0; i < (N_IN); i++) {                                               \
                row_in[i] = in[i][r];                                                        \
                finite &= isfinite(row_in[i]) != 0;                                          \
            }                                                                                \
            if (finite)                                                                      \
                n += (uint64_t)STEP(body, n, row_in, row_out);                               \
            else                                                                             \
                for (int k = 0; k < n_out; k++)                                              \
                    row_out[k] = NAN;                                                        \
            for (int k = 0; k < n_out; k++)                                                  \
                out[k][r] = row_out[k];                                                      \
        }                                                                                    \
        *consumed = n;                                                                       \
    }

/* Period-like integer parameter i (the catalogue has validated it). */
static inline int64_t ind_int(const double *params, int i) { return (int64_t)params[i]; }

/* The inline array area that starts right after a body struct. */
#define ind_after(body) ((void *)((body) + 1))

/* ---- TA-Lib's running-sum SMA (TA_INT_SMA) ----
 * sum += x; out = sum / period; sum -= (oldest value of the window).
 * ring holds the last `period` values; ready once `period` values arrived. */
typedef struct {
    int64_t period;
    int64_t count; /* values pushed, saturating at period */
    int64_t pos;   /* slot the next value goes to */
    double sum;
} ind_sma;

static inline void ind_sma_init(ind_sma *s, int64_t period)
{
    s->period = period;
    s->count = 0;
    s->pos = 0;
    s->sum = 0.0;
}

/* Pushes x; returns 1 and writes the average when the window is full. */
static inline int ind_sma_push(ind_sma *s, double *ring, double x, double *out)
{
    s->sum += x;
    ring[s->pos] = x;
    int64_t next = s->pos + 1 == s->period ? 0 : s->pos + 1;
    int ready = 0;
    if (s->count + 1 >= s->period) {
        *out = s->sum / (double)s->period;
        s->sum -= ring[next]; /* the window's oldest value (x itself when period is 1) */
        ready = 1;
    }
    if (s->count < s->period)
        s->count++;
    s->pos = next;
    return ready;
}

/* ---- monotone deque for rolling min / max ----
 * Holds (value, row) pairs; capacity `period`; O(1) amortized per push. */
typedef struct {
    int64_t period;
    int64_t head;  /* index of the front element */
    int64_t count; /* elements in the deque */
} ind_deque;

static inline void ind_deque_init(ind_deque *d, int64_t period)
{
    d->period = period;
    d->head = 0;
    d->count = 0;
}

/* Pushes value x of row n into a min (want_max 0) or max (want_max 1) deque
 * over the last `period` rows and returns the window's extreme. */
static inline double ind_deque_push(ind_deque *d, double *vals, int64_t *rows, double x,
                                    int64_t n, int want_max)
{
    int64_t p = d->period;
    /* Expire values older than the window [n-p+1, n] first, so the deque
     * holds at most p-1 values before the push and never overflows. */
    while (d->count > 0 && rows[d->head] <= n - p) {
        d->head = d->head + 1 == p ? 0 : d->head + 1;
        d->count--;
    }
    while (d->count > 0) { /* drop values the new one dominates */
        int64_t back = d->head + d->count - 1;
        if (back >= p)
            back -= p;
        if (want_max ? vals[back] <= x : vals[back] >= x)
            d->count--;
        else
            break;
    }
    int64_t at = d->head + d->count;
    if (at >= p)
        at -= p;
    vals[at] = x;
    rows[at] = n;
    d->count++;
    return vals[d->head];
}

/* ---- rolling mean and population variance, for indicators without a
 * TA-Lib twin (zscore, realized_vol) ----
 * Sums of (x - anchor) and (x - anchor)^2 over the window. Every `period`
 * values the anchor moves to the newest value and both sums are recomputed
 * from the ring, so rounding never accumulates over more than one window
 * and offsets stay small (no catastrophic cancellation on large prices).
 * A window whose values are all equal is detected exactly (run length). */
typedef struct {
    int64_t period;
    int64_t count; /* values pushed, saturating at period */
    int64_t pos;
    int64_t run;   /* how many of the newest values are equal to the newest */
    double anchor, s1, s2, last;
} ind_moments;

void ind_moments_init(ind_moments *m, int64_t period);
void ind_moments_push(ind_moments *m, double *ring, double x);
/* After the window is full: mean offset from the anchor (mean = anchor +
 * *dmean) and the population variance (0 for a constant window, never
 * negative). Returns 1 when the window is constant. */
int ind_moments_get(const ind_moments *m, double *dmean, double *var);

/* The implementations, one per catalogue entry. */
extern const fs_ind_impl fs_ind_sma_impl, fs_ind_ema_impl, fs_ind_wma_impl;
extern const fs_ind_impl fs_ind_rsi_impl;
extern const fs_ind_impl fs_ind_macd_impl;
extern const fs_ind_impl fs_ind_stoch_impl;
extern const fs_ind_impl fs_ind_bbands_impl;
extern const fs_ind_impl fs_ind_atr_impl, fs_ind_natr_impl;
extern const fs_ind_impl fs_ind_obv_impl, fs_ind_vwap_impl, fs_ind_volume_ratio_impl;
extern const fs_ind_impl fs_ind_returns_impl, fs_ind_log_returns_impl, fs_ind_realized_vol_impl;
extern const fs_ind_impl fs_ind_zscore_impl, fs_ind_rolling_min_impl, fs_ind_rolling_max_impl;
extern const fs_ind_impl fs_ind_correlation_impl;

#endif
