/* Decimal scaling of doubles to integers, then delta + frame-of-reference
 * bit packing: the idea of ALP (Afroozeh, Kuffo, Boncz, "ALP: Adaptive
 * Lossless floating-Point Compression", SIGMOD 2024), simplified for market
 * prices and quantities with few decimals. The layout is described at the
 * top of decimal.c; the verbs are those of src/codec/README.md. */
#ifndef FS_CODEC_DECIMAL_H
#define FS_CODEC_DECIMAL_H

#include "codec/buf.h"

#include <stddef.h>

/* Largest decimal exponent tried: 10^18 is still exact in a double. */
#define FS_DECIMAL_MAX_EXP 18

/* Appends the encoding of vals[0..n) to w. FS_OK; FS_E_NOMEM; FS_E_INVAL
 * (nothing written) when some value has no exact decimal form with at most
 * 18 decimals and |value * 10^e| < 2^53, or is NaN, +-Inf or -0.0: the
 * caller then uses Gorilla. n == 0 writes nothing. */
int fs_decimal_encode(const double *vals, size_t n, fs_wbuf *w);
/* Decodes exactly n values into out[0..n). FS_OK, or FS_E_CORRUPT when the
 * bytes end early or are malformed. Leaves r on a byte boundary. */
int fs_decimal_decode(fs_rbuf *r, size_t n, double *out);

#endif
