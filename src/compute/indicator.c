/* Indicator dispatch: finds the implementation of a catalogue entry by name,
 * lays out its state (header + body), and runs it row by row. The generic
 * step is where the missing-row rule lives (a NaN or infinite input skips the
 * row), so every indicator follows it the same way; fs_ind_run is nothing but
 * a loop of fs_ind_step, which makes batch and streaming identical by
 * construction. See indicator.h for the contract. */
#include "compute/indicator.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute/ind_internal.h"
#include "fstore.h"

#define FS_IND_MAGIC 0x44494e46u /* "FNID" in little-endian memory */
#define FS_IND_LAYOUT 1u         /* bump when any body layout changes */

struct fs_ind_state {
    uint32_t magic;
    uint16_t layout;
    uint16_t spec_index; /* catalogue index */
    uint32_t impl_index; /* index in impls[] */
    uint32_t size;       /* bytes of the whole state */
    uint64_t rows;       /* valid rows consumed */
    double params[FS_IND_MAX_PARAMS];
    /* the indicator's body follows */
};

_Static_assert(sizeof(struct fs_ind_state) % 8 == 0, "body must start 8-aligned");

static const fs_ind_impl *const impls[] = {
    &fs_ind_sma_impl,          &fs_ind_ema_impl,          &fs_ind_wma_impl,
    &fs_ind_rsi_impl,          &fs_ind_macd_impl,         &fs_ind_stoch_impl,
    &fs_ind_bbands_impl,       &fs_ind_atr_impl,          &fs_ind_natr_impl,
    &fs_ind_realized_vol_impl, &fs_ind_obv_impl,          &fs_ind_vwap_impl,
    &fs_ind_volume_ratio_impl, &fs_ind_returns_impl,      &fs_ind_log_returns_impl,
    &fs_ind_zscore_impl,       &fs_ind_rolling_min_impl,  &fs_ind_rolling_max_impl,
    &fs_ind_correlation_impl,
};
#define N_IMPLS (sizeof impls / sizeof impls[0])

static int impl_index(const fs_indicator_spec *spec)
{
    if (!spec || !spec->name)
        return -1;
    for (size_t i = 0; i < N_IMPLS; i++)
        if (strcmp(impls[i]->name, spec->name) == 0)
            return (int)i;
    return -1;
}

static int spec_index(const fs_indicator_spec *spec)
{
    for (size_t i = 0; i < fs_indicator_count(); i++)
        if (fs_indicator_at(i) == spec)
            return (int)i;
    return -1;
}

/* The implementation for spec when params are acceptable, else NULL. */
static const fs_ind_impl *checked_impl(const fs_indicator_spec *spec, const double *params)
{
    int ii = impl_index(spec);
    if (ii < 0 || !params || fs_indicator_check(spec, params, NULL, 0) != 0)
        return NULL;
    return impls[ii];
}

static size_t total_size(const fs_ind_impl *im, const double *params)
{
    size_t body = im->body_size(params);
    size_t n = sizeof(struct fs_ind_state) + body;
    return (n + 7) & ~(size_t)7;
}

int fs_ind_n_inputs(const fs_indicator_spec *spec)
{
    int ii = impl_index(spec);
    return ii < 0 ? 0 : impls[ii]->n_in;
}

int fs_ind_lookback(const fs_indicator_spec *spec, const double *params)
{
    const fs_ind_impl *im = checked_impl(spec, params);
    return im ? im->lookback(params) : -1;
}

size_t fs_ind_state_size(const fs_indicator_spec *spec, const double *params)
{
    const fs_ind_impl *im = checked_impl(spec, params);
    return im ? total_size(im, params) : 0;
}

int fs_ind_init(const fs_indicator_spec *spec, const double *params, fs_ind_state *st)
{
    if (!spec || !params || !st)
        return FS_E_INVAL;
    int ii = impl_index(spec);
    int si = spec_index(spec);
    if (ii < 0 || si < 0)
        return FS_E_INVAL;
    if (fs_indicator_check(spec, params, NULL, 0) != 0)
        return FS_E_INVALID_DEF;
    const fs_ind_impl *im = impls[ii];
    size_t size = total_size(im, params);
    memset(st, 0, size); /* padding too: persisted states compare equal */
    st->magic = FS_IND_MAGIC;
    st->layout = FS_IND_LAYOUT;
    st->spec_index = (uint16_t)si;
    st->impl_index = (uint32_t)ii;
    st->size = (uint32_t)size;
    st->rows = 0;
    for (int i = 0; i < FS_IND_MAX_PARAMS; i++)
        st->params[i] = i < spec->n_params ? params[i] : NAN;
    im->init(st + 1, params);
    return 0;
}

int fs_ind_new(const fs_indicator_spec *spec, const double *params, fs_ind_state **out)
{
    if (!out)
        return FS_E_INVAL;
    *out = NULL;
    if (!spec || !params)
        return FS_E_INVAL;
    size_t size = fs_ind_state_size(spec, params);
    if (size == 0)
        return impl_index(spec) < 0 ? FS_E_INVAL : FS_E_INVALID_DEF;
    fs_ind_state *st = malloc(size);
    if (!st)
        return FS_E_NOMEM;
    int rc = fs_ind_init(spec, params, st);
    if (rc != 0) {
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void fs_ind_free(fs_ind_state *st) { free(st); }

void fs_ind_step(fs_ind_state *st, const double *in, double *out)
{
    const fs_ind_impl *im = impls[st->impl_index];
    for (int i = 0; i < im->n_in; i++) {
        if (!isfinite(in[i])) {
            int n_out = fs_indicator_at(st->spec_index)->n_outputs;
            for (int k = 0; k < n_out; k++)
                out[k] = NAN;
            return;
        }
    }
    st->rows += (uint64_t)im->step(st + 1, st->rows, in, out);
}

void fs_ind_run(fs_ind_state *st, const double *const *in, size_t n, double *const *out)
{
    const fs_ind_impl *im = impls[st->impl_index];
    im->run(st + 1, &st->rows, in, n, out, fs_indicator_at(st->spec_index)->n_outputs);
}

const fs_indicator_spec *fs_ind_state_spec(const fs_ind_state *st)
{
    return st ? fs_indicator_at(st->spec_index) : NULL;
}

size_t fs_ind_state_bytes(const fs_ind_state *st) { return st ? st->size : 0; }

uint64_t fs_ind_state_rows(const fs_ind_state *st) { return st ? st->rows : 0; }

int fs_ind_state_check(const fs_ind_state *st, size_t size)
{
    if (!st)
        return FS_E_INVAL;
    if (size < sizeof *st || st->magic != FS_IND_MAGIC)
        return FS_E_CORRUPT;
    if (st->layout != FS_IND_LAYOUT)
        return FS_E_VERSION;
    const fs_indicator_spec *spec = fs_indicator_at(st->spec_index);
    if (!spec || st->impl_index >= N_IMPLS || strcmp(impls[st->impl_index]->name, spec->name) != 0)
        return FS_E_CORRUPT;
    if (fs_indicator_check(spec, st->params, NULL, 0) != 0)
        return FS_E_CORRUPT;
    if (st->size != size || total_size(impls[st->impl_index], st->params) != size)
        return FS_E_CORRUPT;
    return 0;
}
