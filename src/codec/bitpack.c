/* Bit-packing: booleans, and frame-of-reference (FOR) integers.
 *
 * Booleans are stored one bit each, value i in bit (i % 8) of byte i / 8 (low
 * bits first), the last byte padded with zero bits: ceil(n / 8) bytes.
 *
 * Frame-of-reference bit-packing (Goldstein, Ramakrishnan & Shaft,
 * "Compressing Relations and Indexes", ICDE 1998; the FOR/"PFOR" family of
 * Zukowski et al., "Super-Scalar RAM-CPU Cache Compression", ICDE 2006, minus
 * the exceptions): the values are cut into frames of FS_FRAME (128); a frame
 * stores its minimum and the bit width of (max - min), then every value minus
 * the minimum in exactly that many bits. A frame of equal values costs two or
 * so bytes; prices scaled to integers cost a few bits each. The subtraction
 * is unsigned (wrapping): for a frame holding INT64_MIN and INT64_MAX, max -
 * min does not fit an int64 (signed overflow is undefined) but does fit a
 * uint64, at width 64. Decoding adds the minimum back modulo 2^64, which
 * reverses it exactly.
 *
 * Why fixed frames with one width, rather than a width per value (Gorilla's
 * buckets) or Simple-8b's selectors: every value of a frame is at a known bit
 * offset (i * width), so unpacking is one straight loop of loads, shifts and
 * masks with no data-dependent branch, and the frame is unpacked from a
 * zero-padded local copy so the loop needs no bounds checks either. 128 is the
 * common choice (FastPFor, DuckDB's bitpacking groups, Parquet's miniblocks
 * are 32..128); unmeasured for our data. Needs benchmarking.
 *
 * Serialized layout (no count: the block header holds n), per frame, frames
 * of 128 values, the last one holding n % 128 (or 128):
 *   min     svarint (zigzag LEB128)  the frame's smallest value
 *   width   u8, 0..64                bits per value; > 64 is FS_E_CORRUPT
 *   packed  ceil(cnt * width / 8) bytes: value i - min (mod 2^64) in bits
 *           [i * width, (i + 1) * width) of the frame, low bits first,
 *           zero-padded to a whole byte. width 0 (constant frame) stores none.
 * n = 0 encodes to zero bytes. */
#include "codec/bitpack.h"

#include "fstore.h"

#include <string.h>

/* Room for a frame at width 64 plus slack so that loads of 9 bytes at any
 * value's offset stay inside the buffer. */
#define FRAME_BYTES (FS_FRAME * 8)
#define FRAME_SLACK 16

unsigned fs_bits_needed(uint64_t v)
{
    unsigned n = 0;
    if (v >> 32) { n += 32; v >>= 32; }
    if (v >> 16) { n += 16; v >>= 16; }
    if (v >> 8) { n += 8; v >>= 8; }
    if (v >> 4) { n += 4; v >>= 4; }
    if (v >> 2) { n += 2; v >>= 2; }
    if (v >> 1) { n += 1; v >>= 1; }
    return n + (unsigned)v;
}

/* Mask of the low `width` bits, width 0..64, without a shift by 64. */
static uint64_t low_mask(unsigned width)
{
    return ((UINT64_C(1) << (width & 63)) - 1) | (0 - (uint64_t)(width >> 6));
}

static void or_le64(uint8_t *p, uint64_t x) { fs_store_le64(p, fs_load_le64(p) | x); }

static size_t packed_bytes(size_t cnt, unsigned width)
{
    return (cnt * width + 7) / 8;
}

void fs_pack_frame(fs_wbuf *w, const uint64_t *vals, size_t cnt, unsigned width)
{
    uint8_t tmp[FRAME_BYTES + FRAME_SLACK];
    if (width == 0 || cnt == 0)
        return;
    size_t nbytes = packed_bytes(cnt, width);
    memset(tmp, 0, nbytes + 9);
    uint64_t mask = low_mask(width);
    for (size_t i = 0; i < cnt; i++) {
        size_t bit = i * width;
        unsigned sh = (unsigned)(bit & 7);
        uint64_t v = vals[i] & mask;
        or_le64(tmp + bit / 8, v << sh);
        /* The bits shifted out above go to the 9th byte; (v >> 1) >> (63 -
         * sh) is v >> (64 - sh) without the undefined shift by 64 at sh 0. */
        tmp[bit / 8 + 8] |= (uint8_t)((v >> 1) >> (63 - sh));
    }
    fs_wbuf_bytes(w, tmp, nbytes);
}

int fs_unpack_frame(fs_rbuf *r, size_t cnt, unsigned width, uint64_t *out)
{
    uint8_t tmp[FRAME_BYTES + FRAME_SLACK];
    if (width > 64 || cnt > FS_FRAME) {
        r->corrupt = 1;
        return -1;
    }
    size_t nbytes = packed_bytes(cnt, width);
    if (nbytes == 0) { /* width 0 or an empty frame: nothing stored */
        memset(out, 0, cnt * sizeof *out);
        return r->corrupt ? -1 : 0;
    }
    const uint8_t *p = fs_rbuf_take(r, nbytes);
    if (!p)
        return -1;
    memcpy(tmp, p, nbytes);
    memset(tmp + nbytes, 0, 9);
    uint64_t mask = low_mask(width);
    if (width <= 56) { /* shift + width <= 63: one 8-byte load holds the value */
        for (size_t i = 0; i < cnt; i++) {
            size_t bit = i * width;
            out[i] = fs_load_le64(tmp + bit / 8) >> (bit & 7) & mask;
        }
        return 0;
    }
    for (size_t i = 0; i < cnt; i++) {
        size_t bit = i * width;
        unsigned sh = (unsigned)(bit & 7);
        uint64_t lo = fs_load_le64(tmp + bit / 8) >> sh;
        uint64_t hi = ((uint64_t)tmp[bit / 8 + 8] << 1) << (63 - sh);
        out[i] = (lo | hi) & mask;
    }
    return 0;
}

int fs_bool_encode(const uint8_t *vals, size_t n, fs_wbuf *w)
{
    for (size_t i = 0; i < n; i++)
        if (vals[i] > 1)
            return FS_E_INVAL;
    for (size_t i = 0; i < n; i += 8) {
        uint8_t b = 0;
        for (size_t j = 0; j < 8 && i + j < n; j++)
            b |= (uint8_t)(vals[i + j] << j);
        fs_wbuf_u8(w, b);
    }
    return fs_wbuf_status(w);
}

int fs_bool_decode(fs_rbuf *r, size_t n, uint8_t *out)
{
    if (n == 0) /* no take(0): a reader over NULL data would say NULL */
        return r->corrupt ? FS_E_CORRUPT : FS_OK;
    /* n / 8 + rest rather than (n + 7) / 8: no overflow for a huge n. */
    const uint8_t *p = fs_rbuf_take(r, n / 8 + (n % 8 != 0));
    if (!p)
        return FS_E_CORRUPT;
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i / 8] >> (i % 8)) & 1;
    return FS_OK;
}

/* uint64 -> int64 modulo 2^64 without the implementation-defined conversion
 * of values above INT64_MAX. */
static int64_t u2i(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

int fs_for_encode(const int64_t *vals, size_t n, fs_wbuf *w)
{
    uint64_t d[FS_FRAME];
    for (size_t f = 0; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        const int64_t *v = vals + f;
        int64_t min = v[0], max = v[0];
        for (size_t i = 1; i < cnt; i++) {
            if (v[i] < min)
                min = v[i];
            if (v[i] > max)
                max = v[i];
        }
        unsigned width = fs_bits_needed((uint64_t)max - (uint64_t)min);
        for (size_t i = 0; i < cnt; i++)
            d[i] = (uint64_t)v[i] - (uint64_t)min;
        fs_wbuf_svarint(w, min);
        fs_wbuf_u8(w, (uint8_t)width);
        fs_pack_frame(w, d, cnt, width);
    }
    return fs_wbuf_status(w);
}

int fs_for_decode(fs_rbuf *r, size_t n, int64_t *out)
{
    uint64_t d[FS_FRAME];
    for (size_t f = 0; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        int64_t min;
        uint8_t width;
        if (fs_rbuf_svarint(r, &min) || fs_rbuf_u8(r, &width) ||
            fs_unpack_frame(r, cnt, width, d))
            return FS_E_CORRUPT;
        for (size_t i = 0; i < cnt; i++)
            out[f + i] = u2i((uint64_t)min + d[i]);
    }
    return FS_OK;
}
