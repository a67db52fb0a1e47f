/* Indicator computation: one streaming state machine per indicator, used by
 * both the batch path and the live path, so a feature computed for a training
 * set and the same feature computed tick by tick are equal bit for bit.
 *
 * State
 *  A state is ONE contiguous block of fs_ind_state_size() bytes with NO
 *  pointers inside (ring buffers and deques are laid out inline and addressed
 *  by offsets), so the compute layer can persist it with memcpy/write and
 *  resume exactly where it stopped, bit for bit, in this or another process
 *  of the same build. A small header (magic, layout version, catalogue index,
 *  size, rows consumed, params) is followed by the indicator's own fields;
 *  fs_ind_state_check() validates a block read back from disk.
 *
 * Alignment of outputs
 *  The output of row i uses rows 0..i only. The first fs_ind_lookback() valid
 *  rows produce NaN (warm-up); TA-Lib's batch output j corresponds to our row
 *  j + lookback.
 *
 * Missing inputs
 *  A row where any input is NaN or +/-Inf is missing: it does not touch the
 *  state and every output of that row is NaN. The next valid row continues as
 *  if the missing row were absent (warm-up counts valid rows only).
 *  log_returns and realized_vol also treat a price <= 0 as missing (its
 *  logarithm is undefined).
 *
 * Division by zero
 *  Where TA-Lib defines the result, fstore returns TA-Lib's (RSI 0 when gains
 *  and losses are both 0; stoch raw %K 0 when high == low; NATR 0 when close
 *  is 0; correlation 0 when a series is constant; returns 0 when the old
 *  price is 0; bbands' standard deviation 0 when the variance is below
 *  TA-Lib's 1e-14). Outputs without a TA-Lib twin are NaN when undefined:
 *  percent_b when upper == lower, bandwidth when middle == 0, zscore when the
 *  window is constant, vwap when the window's volume is 0, volume_ratio when
 *  the window's volume is 0. docs/indicators.md ("Computation") has the table.
 *
 * Threads: a state belongs to one thread at a time; different states are
 * independent. Functions here allocate nothing except fs_ind_new. */
#ifndef FS_INDICATOR_H
#define FS_INDICATOR_H

#include <stddef.h>
#include <stdint.h>

#include "compute/indicator_spec.h"

typedef struct fs_ind_state fs_ind_state; /* opaque */

/* Values fs_ind_step reads per row: spec->n_inputs, plus 1 for correlation
 * (in[1] is the reference entity's same column at the same event time).
 * At most FS_IND_MAX_STEP_INPUTS. 0 when spec is NULL or not computable. */
#define FS_IND_MAX_STEP_INPUTS (FS_IND_MAX_INPUTS + 1)
int fs_ind_n_inputs(const fs_indicator_spec *spec);

/* Valid rows consumed before the first non-NaN output: TA-Lib's lookback
 * (RSI 14 -> 14, SMA 20 -> 19, MACD 12/26/9 -> 33, STOCH 14/3/3 -> 17).
 * -1 when spec is NULL or params are rejected by fs_indicator_check. */
int fs_ind_lookback(const fs_indicator_spec *spec, const double *params);

/* Bytes of a state for these params (a multiple of 8); 0 when rejected. */
size_t fs_ind_state_size(const fs_indicator_spec *spec, const double *params);

/* Initialises a state in caller-provided memory of fs_ind_state_size() bytes,
 * aligned for double.
 * @return 0; FS_E_INVAL (NULL argument, or no computation for spec);
 *         FS_E_INVALID_DEF (params rejected by fs_indicator_check). */
int fs_ind_init(const fs_indicator_spec *spec, const double *params, fs_ind_state *st);

/* Convenience: malloc + fs_ind_init; free with fs_ind_free.
 * @return as fs_ind_init, or FS_E_NOMEM. *out is NULL on failure. */
int fs_ind_new(const fs_indicator_spec *spec, const double *params, fs_ind_state **out);
void fs_ind_free(fs_ind_state *st);

/* Feeds one row. in[i] is input i in spec->inputs order (correlation: in[0]
 * this entity, in[1] the reference). Writes spec->n_outputs values to out in
 * spec->outputs order: NaN while warming up or when the row is missing.
 * No allocation; one indirect call. */
void fs_ind_step(fs_ind_state *st, const double *in, double *out);

/* Batch over n rows: in[input][row], out[output][row]. Exactly a loop of
 * fs_ind_step, so batch == streaming bit for bit by construction. */
void fs_ind_run(fs_ind_state *st, const double *const *in, size_t n, double *const *out);

/* The indicator a state computes (NULL for NULL), its size in bytes, and the
 * number of valid rows it has consumed. */
const fs_indicator_spec *fs_ind_state_spec(const fs_ind_state *st);
size_t fs_ind_state_bytes(const fs_ind_state *st);
uint64_t fs_ind_state_rows(const fs_ind_state *st);

/* Checks a state block read back from storage: magic, layout version,
 * catalogue index and name, params, and that size is exactly the size the
 * header's indicator and params need.
 * @return 0; FS_E_VERSION (a layout this build does not read);
 *         FS_E_CORRUPT (anything else wrong); FS_E_INVAL (NULL). */
int fs_ind_state_check(const fs_ind_state *st, size_t size);

#endif
