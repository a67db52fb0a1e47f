/* Delta-of-delta timestamps (int64 nanoseconds), after Gorilla; the algorithm
 * and the serialized layout are in deltadelta.c. */
#ifndef FS_CODEC_DELTADELTA_H
#define FS_CODEC_DELTADELTA_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"

/* Any int64 values (timestamps need not be sorted; INT64 extremes are exact).
 * FS_OK or FS_E_NOMEM. */
int fs_dod_encode(const int64_t *vals, size_t n, fs_wbuf *w);
/* FS_OK or FS_E_CORRUPT (truncated input, bit width > 64). */
int fs_dod_decode(fs_rbuf *r, size_t n, int64_t *out);

#endif
