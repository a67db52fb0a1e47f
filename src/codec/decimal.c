/* Decimal scaling + delta + frame-of-reference bit packing of doubles.
 *
 * Algorithm: the idea of ALP (Afroozeh, Kuffo, Boncz, "ALP: Adaptive Lossless
 * floating-Point Compression", SIGMOD 2024), simplified. Prices and
 * quantities are decimals with a few digits that happen to be stored as
 * doubles: 43251.37 is exactly (double)4325137 / 100. We find the smallest
 * exponent e in 0..18 such that for EVERY value v, i = round(v * 10^e)
 * satisfies |i| < 2^53 and (double)i / 10^e has the same bit pattern as v.
 * Then the integers are stored instead: delta-coded (a random walk of
 * cents has deltas of a few cents) and bit-packed per frame of 128 deltas
 * relative to the frame's minimum delta (frame of reference), so a frame
 * costs the bit width of its delta range per value.
 *
 * Simplifications against ALP: one exponent per block and no factor f (ALP
 * searches (e, f) pairs on a sample, and keeps exceptions); a single value
 * that does not fit makes the whole block fall back to Gorilla (FS_E_INVAL).
 * NaN, +-Inf and -0.0 have no integer form and always fall back. The encode
 * check and the decoder use the same operation, (double)i / 10^e with
 * 10^e exact (10^18 < 2^63 and every 10^e, e <= 22, is exact in a double),
 * and IEEE division is correctly rounded, so the decoder reproduces exactly
 * the bits that the encoder verified.
 *
 * Serialized layout (n is not stored: the block header holds it; n == 0
 * writes nothing):
 *
 *   u8       e            decimal exponent, 0..18
 *   svarint  i[0]         first integer (zigzag LEB128), |i[0]| < 2^53
 *   then the n-1 deltas d[k] = i[k] - i[k-1] in frames of 128 (the last
 *   frame holds the remainder), frame-of-reference packed by fs_for_encode
 *   (bitpack.c), each frame:
 *     svarint  min        smallest delta in the frame
 *     u8       width      bits per packed delta, 0..64 (0: all equal min)
 *     bits     d[k] - min, `width` bits each (bit stream of buf.h, low bits
 *                         first), padded with zeros to a whole byte
 *
 * Since |i| < 2^53, every delta fits an int64 and d - min fits a uint64.
 * The decoder adds in uint64 (wrapping, no signed overflow) and rejects as
 * corrupt: e > 18, width > 64, any integer with |i| >= 2^53, truncation. */
#include "codec/decimal.h"

#include "codec/bitpack.h"

#include "fstore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 9007199254740992.0 /* 2^53 */

static const double p10[FS_DECIMAL_MAX_EXP + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

/* |i| < 2^53 checked on the unsigned pattern: i + 2^53 in [1, 2^54). */
static int in_range(uint64_t u)
{
    uint64_t s = u + (UINT64_C(1) << 53);
    return s > 0 && s < (UINT64_C(1) << 54);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The integer for v at exponent e, or 0 when v has no exact form there. */
static int scale(double v, unsigned e, int64_t *out)
{
    double x = round(v * p10[e]);
    if (!(fabs(x) < LIMIT)) /* also false for NaN */
        return 0;
    int64_t i = (int64_t)x;
    if (!same_bits((double)i / p10[e], v))
        return 0;
    *out = i;
    return 1;
}


int fs_decimal_encode(const double *vals, size_t n, fs_wbuf *w)
{
    if (n == 0)
        return fs_wbuf_status(w);
    /* Most blocks that do not fit (computed features: noise in every
     * mantissa bit) fail on their first value: say so before a pass over
     * all of them and an allocation. */
    unsigned e0 = 0;
    int64_t probe;
    while (e0 <= FS_DECIMAL_MAX_EXP && !scale(vals[0], e0, &probe))
        e0++;
    if (e0 > FS_DECIMAL_MAX_EXP || (vals[0] == 0 && signbit(vals[0])))
        return FS_E_INVAL;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(vals[k]) || (vals[k] == 0 && signbit(vals[k])))
            return FS_E_INVAL;
    int64_t *ints = malloc(n * sizeof *ints);
    if (!ints)
        return FS_E_NOMEM;
    /* Smallest e that works for all values. Not monotone in general (a value
     * may fit at e and not at e+1 near 2^53), so each e rechecks every value;
     * a failing e usually stops at its first few values. */
    unsigned e;
    for (e = e0; e <= FS_DECIMAL_MAX_EXP; e++) { /* no smaller e fits vals[0] */
        size_t k = 0;
        while (k < n && scale(vals[k], e, &ints[k]))
            k++;
        if (k == n)
            break;
    }
    if (e > FS_DECIMAL_MAX_EXP) {
        free(ints);
        return FS_E_INVAL;
    }
    fs_wbuf_u8(w, (uint8_t)e);
    fs_wbuf_svarint(w, ints[0]);
    /* The deltas, frame-of-reference packed: |delta| < 2^54, no overflow. */
    for (size_t k = n - 1; k > 0; k--)
        ints[k] -= ints[k - 1];
    int rc = fs_for_encode(ints + 1, n - 1, w);
    free(ints);
    return rc;
}

int fs_decimal_decode(fs_rbuf *r, size_t n, double *out)
{
    if (n == 0)
        return r->corrupt ? FS_E_CORRUPT : FS_OK;
    uint8_t e;
    int64_t first;
    if (fs_rbuf_u8(r, &e) || e > FS_DECIMAL_MAX_EXP)
        return FS_E_CORRUPT;
    if (fs_rbuf_svarint(r, &first) || !in_range((uint64_t)first))
        return FS_E_CORRUPT;
    const double p = p10[e];
    out[0] = (double)first / p;
    if (n == 1)
        return FS_OK;
    int64_t *deltas = malloc((n - 1) * sizeof *deltas);
    if (!deltas)
        return FS_E_NOMEM;
    if (fs_for_decode(r, n - 1, deltas) != FS_OK) {
        free(deltas);
        return FS_E_CORRUPT;
    }
    uint64_t cur = (uint64_t)first; /* unsigned: a corrupt delta must not overflow */
    for (size_t k = 1; k < n; k++) {
        cur += (uint64_t)deltas[k - 1];
        if (!in_range(cur)) {
            free(deltas);
            return FS_E_CORRUPT;
        }
        /* in range, so the conversion to int64 is exact */
        int64_t i = cur >> 63 ? -(int64_t)(~cur + 1) : (int64_t)cur;
        out[k] = (double)i / p;
    }
    free(deltas);
    return FS_OK;
}
