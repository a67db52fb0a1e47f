/* Byte-aligned XOR compression of doubles.
 *
 * Algorithm: as Gorilla (gorilla.c), each value's 64-bit pattern is XORed
 * with the previous one, and neighbouring values of a series share sign,
 * exponent and the top of the mantissa, so the XOR starts with zeros. Here
 * the zeros are counted in whole bytes and the rest of the XOR is stored as
 * whole bytes: no bit stream, no window, no branch per value. A byte-aligned
 * layout of this kind is what FPC (Burtscher and Ratanaworabhan, "FPC: A
 * High-Speed Compressor for Double-Precision Floating-Point Data", IEEE TC
 * 2009) uses for its residuals, with the previous value as the predictor.
 *
 * Why besides Gorilla: a computed feature (an EMA, a z-score, a correlation)
 * has noise in all of its low mantissa bits, so Gorilla saves only the
 * leading bits too and its bit-level fields buy about 2% of size on such
 * series (measured on the default indicator set of examples/features.yaml:
 * 6.9 bytes a value against 7.1), while its encoder was the largest single
 * cost of writing them and its decoder reads bit by bit. The chunk writer
 * takes the smaller of the two where Gorilla can win by more (runs of equal
 * values, few changing bits): see pick_f64 in src/storage/chunk.c.
 *
 * Serialized layout (n is not stored: the block header holds it; n == 0
 * writes nothing). x[k] = bits(v[k]) ^ bits(v[k-1]) for k >= 1, and
 * z[k] = the number of leading zero bytes of x[k], 0..8 (8 when x[k] == 0):
 *
 *   u64      bits(v[0]), little-endian
 *   (n-1+1)/2 bytes  the nibbles z[1..n-1], two a byte, z[1] in the low
 *            nibble of the first byte, z[2] in its high nibble, and so on;
 *            an unused high nibble of the last byte is 0
 *   then for k = 1..n-1: the 8 - z[k] low bytes of x[k], little-endian
 *
 * Corrupt input: a nibble above 8, a non-zero unused nibble, or value bytes
 * that run past the end of the block are rejected before any value is
 * written past what was checked. */
#include "codec/bytexor.h"

#include "fstore.h"

#include <stdint.h>
#include <string.h>

/* Leading zero bytes of x, 8 for 0. */
static inline unsigned zero_bytes(uint64_t x) { return x ? (unsigned)__builtin_clzll(x) / 8 : 8; }

size_t fs_bytexor_size(const double *vals, size_t n)
{
    if (n == 0)
        return 0;
    size_t bytes = 8 + n / 2; /* (n - 1 + 1) / 2 nibble bytes */
    uint64_t prev = fs_f64_bits(vals[0]);
    for (size_t k = 1; k < n; k++) {
        uint64_t cur = fs_f64_bits(vals[k]);
        bytes += 8 - zero_bytes(cur ^ prev);
        prev = cur;
    }
    return bytes;
}

int fs_bytexor_encode(const double *vals, size_t n, fs_wbuf *w)
{
    if (n == 0)
        return fs_wbuf_status(w);
    fs_wbuf_bits_flush(w); /* byte-aligned: after any pending bits */
    size_t nib = n / 2;
    /* worst case, plus the reach of the last 8-byte store */
    if (n > (SIZE_MAX - 64) / 9 || fs_wbuf_reserve(w, 8 + nib + 8 * (n - 1) + 8) != 0)
        return FS_E_NOMEM;
    uint8_t *head = w->data + w->len;
    uint64_t prev = fs_f64_bits(vals[0]);
    fs_store_le64(head, prev);
    uint8_t *zs = head + 8, *p = zs + nib;
    memset(zs, 0, nib);
    for (size_t k = 1; k < n; k++) {
        uint64_t cur = fs_f64_bits(vals[k]), x = cur ^ prev;
        prev = cur;
        unsigned z = zero_bytes(x);
        zs[(k - 1) / 2] |= (uint8_t)(z << (4 * ((k - 1) & 1)));
        fs_store_le64(p, x); /* the bytes past 8 - z are overwritten by the next value */
        p += 8 - z;
    }
    w->len = (size_t)(p - w->data);
    return FS_OK;
}

int fs_bytexor_decode(fs_rbuf *r, size_t n, double *out)
{
    if (n == 0)
        return r->corrupt ? FS_E_CORRUPT : FS_OK;
    size_t nib = n / 2;
    const uint8_t *head = fs_rbuf_take(r, 8), *zs = head ? fs_rbuf_take(r, nib) : NULL;
    if (!zs)
        return FS_E_CORRUPT;
    /* Check every nibble and the total length before decoding, so the loop
     * below needs no check per value. */
    size_t need = 0;
    for (size_t i = 0; i < nib; i++) {
        unsigned lo = zs[i] & 15u, hi = zs[i] >> 4;
        int last_half = i == nib - 1 && (n - 1) % 2 == 1; /* the high nibble is unused */
        if (lo > 8 || hi > (last_half ? 0u : 8u))
            return FS_E_CORRUPT;
        need += 8 - lo + (last_half ? 0 : 8 - hi);
    }
    const uint8_t *p = fs_rbuf_take(r, need);
    if (!p)
        return FS_E_CORRUPT;
    const uint8_t *end = p + need;
    uint64_t prev = fs_load_le64(head);
    out[0] = fs_bits_f64(prev);
    for (size_t k = 1; k < n; k++) {
        unsigned z = (zs[(k - 1) / 2] >> (4 * ((k - 1) & 1))) & 15u;
        unsigned len = 8 - z;
        uint64_t x;
        if (end - p >= 8) {
            x = len ? fs_load_le64(p) & (~UINT64_C(0) >> (8 * z)) : 0; /* z == 8 would shift by 64 */
        } else { /* the last few values: never read past the block */
            uint8_t tmp[8] = {0};
            memcpy(tmp, p, len);
            x = fs_load_le64(tmp);
        }
        p += len;
        prev ^= x;
        out[k] = fs_bits_f64(prev);
    }
    return FS_OK;
}
