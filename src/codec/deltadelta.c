/* Delta-of-delta timestamps.
 *
 * Algorithm: Gorilla (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory
 * Time Series Database", VLDB 2015, section 4.1.1): store the first value, the
 * first delta, then for each later value the difference between its delta and
 * the previous delta. Timestamps of bars and of sampled series arrive at a
 * regular step, so the delta-of-delta is 0 almost everywhere, and small when
 * there are gaps or jitter.
 *
 * Where we differ from Gorilla: Gorilla writes each delta-of-delta with its own
 * variable-length prefix ('0', '10'+7 bits, '110'+9 bits, ...), which makes the
 * decoder branch on every value and read the stream serially. We zigzag the
 * delta-of-deltas and bit-pack them in frames of FS_FRAME (128) with one bit
 * width per frame (the frame packer of bitpack.c, as TimescaleDB packs its
 * delta-of-deltas with Simple-8b): decoding a frame is a branch-free loop at a
 * known bit offset per value, and a frame of a perfectly regular series is a
 * single width byte of 0, i.e. 1 byte per 128 timestamps (Gorilla: 1 bit per
 * value, 16 bytes per 128). An outlier costs its whole frame the wider width;
 * accepted, as market data gaps are rare (unmeasured beyond the golden sizes
 * in tests/test_codec_int.c).
 *
 * Arithmetic is unsigned (modulo 2^64): the delta between INT64_MIN and
 * INT64_MAX, and its delta-of-delta, overflow int64 and signed overflow is
 * undefined; wrapping arithmetic is exactly reversed by wrapping addition in
 * the decoder. Zigzag is applied to the wrapped 64-bit pattern.
 *
 * Serialized layout (no count: the block header holds n):
 *   first     svarint (zigzag LEB128)      vals[0]                   if n >= 1
 *   delta     varint of zigzag(vals[1] - vals[0] mod 2^64)           if n >= 2
 *   frames    for the n - 2 delta-of-deltas dod[i] = (vals[i] - vals[i-1]) -
 *             (vals[i-1] - vals[i-2]) mod 2^64, i = 2..n-1, frames of 128 (the
 *             last one holds the rest), each frame:                  if n >= 3
 *     width   u8, 0..64 (> 64 is FS_E_CORRUPT)
 *     packed  ceil(cnt * width / 8) bytes: zigzag(dod) of each value in
 *             `width` bits, low bits first, zero-padded to a byte (none for
 *             width 0).
 * n = 0 encodes to zero bytes. */
#include "codec/deltadelta.h"

#include "codec/bitpack.h"
#include "fstore.h"

/* Zigzag on the two's complement bit pattern, without signed shifts. */
static uint64_t zz(uint64_t u) { return (u << 1) ^ (0 - (u >> 63)); }
static uint64_t unzz(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

/* uint64 -> int64 modulo 2^64, avoiding the implementation-defined cast. */
static int64_t u2i(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

int fs_dod_encode(const int64_t *vals, size_t n, fs_wbuf *w)
{
    if (n == 0)
        return fs_wbuf_status(w);
    fs_wbuf_svarint(w, vals[0]);
    if (n == 1)
        return fs_wbuf_status(w);
    uint64_t prev = (uint64_t)vals[1], delta = prev - (uint64_t)vals[0];
    fs_wbuf_varint(w, zz(delta));
    uint64_t z[FS_FRAME];
    for (size_t f = 2; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        uint64_t all = 0;
        for (size_t i = 0; i < cnt; i++) {
            uint64_t cur = (uint64_t)vals[f + i];
            uint64_t d = cur - prev;
            z[i] = zz(d - delta);
            all |= z[i];
            delta = d;
            prev = cur;
        }
        unsigned width = fs_bits_needed(all);
        fs_wbuf_u8(w, (uint8_t)width);
        fs_pack_frame(w, z, cnt, width);
    }
    return fs_wbuf_status(w);
}

int fs_dod_decode(fs_rbuf *r, size_t n, int64_t *out)
{
    if (n == 0)
        return FS_OK;
    int64_t first;
    if (fs_rbuf_svarint(r, &first))
        return FS_E_CORRUPT;
    out[0] = first;
    if (n == 1)
        return FS_OK;
    uint64_t zd;
    if (fs_rbuf_varint(r, &zd))
        return FS_E_CORRUPT;
    uint64_t delta = unzz(zd), prev = (uint64_t)first + delta;
    out[1] = u2i(prev);
    uint64_t z[FS_FRAME];
    for (size_t f = 2; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        uint8_t width;
        if (fs_rbuf_u8(r, &width) || fs_unpack_frame(r, cnt, width, z))
            return FS_E_CORRUPT;
        for (size_t i = 0; i < cnt; i++) {
            delta += unzz(z[i]);
            prev += delta;
            out[f + i] = u2i(prev);
        }
    }
    return FS_OK;
}
