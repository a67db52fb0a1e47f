/* Byte and bit buffers for the codecs: a growable writer, and a reader whose
 * every read is bounds-checked, so that corrupt or hostile bytes make a codec
 * return FS_E_CORRUPT instead of reading past the end (TimescaleDB's
 * "consume" discipline). Multi-byte integers are little-endian on disk
 * whatever the host; varints are LEB128 (7 bits a byte, low bits first). */
#ifndef FS_CODEC_BUF_H
#define FS_CODEC_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A double's IEEE-754 bit pattern and back: the XOR codecs work on these,
 * never on double arithmetic, so NaN payloads and -0.0 survive. */
static inline uint64_t fs_f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double fs_bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* 8 bytes at p as a little-endian integer, and back: one unaligned load or
 * store on little-endian hosts (x86, ARM), bytes one by one elsewhere. */
static inline uint64_t fs_load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t u;
    memcpy(&u, p, 8);
    return u;
#else
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    return u;
#endif
}

static inline void fs_store_le64(uint8_t *p, uint64_t u)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &u, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (8 * i));
#endif
}

/* ---- writing ---- */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int oom;          /* an allocation failed; later writes are dropped */
    uint64_t bitacc;  /* bit writer: pending bits, low bits first */
    unsigned bitcount;
} fs_wbuf;

void fs_wbuf_free(fs_wbuf *w);
void fs_wbuf_bytes(fs_wbuf *w, const void *p, size_t n);
/* Makes room for `extra` more bytes at once (a writer that knows about how
 * much it will write saves the doublings); -1 when out of memory. */
int fs_wbuf_reserve(fs_wbuf *w, size_t extra);
void fs_wbuf_u8(fs_wbuf *w, uint8_t v);
void fs_wbuf_u32(fs_wbuf *w, uint32_t v);
void fs_wbuf_u64(fs_wbuf *w, uint64_t v);
void fs_wbuf_varint(fs_wbuf *w, uint64_t v);
/* Zigzag-encoded signed varint: small magnitudes of either sign stay short. */
void fs_wbuf_svarint(fs_wbuf *w, int64_t v);
/* Appends the low `nbits` (0..64) of v to the bit stream. */
void fs_wbuf_bits(fs_wbuf *w, uint64_t v, unsigned nbits);
/* Pads the bit stream to a whole byte (zeros) and flushes it. */
void fs_wbuf_bits_flush(fs_wbuf *w);
/* FS_OK, or FS_E_NOMEM when any write failed. */
int fs_wbuf_status(const fs_wbuf *w);

/* ---- reading ---- */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    uint64_t bitacc;
    unsigned bitcount;
    int corrupt; /* set by the first failed read; reads after it return 0 */
} fs_rbuf;

void fs_rbuf_init(fs_rbuf *r, const void *data, size_t len);
/* Each returns 0 on success and -1 (setting r->corrupt) when the input ends
 * early or is malformed (a varint longer than 10 bytes). */
int fs_rbuf_bytes(fs_rbuf *r, void *out, size_t n);
int fs_rbuf_u8(fs_rbuf *r, uint8_t *v);
int fs_rbuf_u32(fs_rbuf *r, uint32_t *v);
int fs_rbuf_u64(fs_rbuf *r, uint64_t *v);
int fs_rbuf_varint(fs_rbuf *r, uint64_t *v);
int fs_rbuf_svarint(fs_rbuf *r, int64_t *v);
int fs_rbuf_bits(fs_rbuf *r, unsigned nbits, uint64_t *v);
/* Drops the rest of a partly read byte: the next read starts on a byte. */
void fs_rbuf_bits_align(fs_rbuf *r);
/* Borrow `n` bytes in place (no copy); NULL when fewer remain. */
const uint8_t *fs_rbuf_take(fs_rbuf *r, size_t n);

static inline uint64_t fs_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t fs_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
