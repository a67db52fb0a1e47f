/* Byte and bit buffers for the codecs (see buf.h). Unsigned arithmetic
 * throughout: shifts of signed values would be undefined. */
#include "codec/buf.h"

#include "fstore.h"

#include <stdlib.h>
#include <string.h>

static int reserve(fs_wbuf *w, size_t extra)
{
    if (w->oom)
        return -1;
    if (w->len + extra <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra)
        cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p) {
        w->oom = 1;
        return -1;
    }
    w->data = p;
    w->cap = cap;
    return 0;
}

int fs_wbuf_reserve(fs_wbuf *w, size_t extra) { return reserve(w, extra); }

void fs_wbuf_free(fs_wbuf *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

void fs_wbuf_bytes(fs_wbuf *w, const void *p, size_t n)
{
    if (n && reserve(w, n) == 0) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
}

void fs_wbuf_u8(fs_wbuf *w, uint8_t v)
{
    if (w->len < w->cap) { /* the common case, without a call per byte */
        w->data[w->len++] = v;
        return;
    }
    fs_wbuf_bytes(w, &v, 1);
}

void fs_wbuf_u32(fs_wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    fs_wbuf_bytes(w, b, 4);
}

void fs_wbuf_u64(fs_wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    fs_wbuf_bytes(w, b, 8);
}

void fs_wbuf_varint(fs_wbuf *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        b[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    fs_wbuf_bytes(w, b, n);
}

void fs_wbuf_svarint(fs_wbuf *w, int64_t v) { fs_wbuf_varint(w, fs_zigzag(v)); }

void fs_wbuf_bits(fs_wbuf *w, uint64_t v, unsigned nbits)
{
    if (nbits == 0)
        return;
    if (nbits < 64)
        v &= (UINT64_C(1) << nbits) - 1;
    /* Fast path: the bits fit the accumulator (it holds < 8 between calls)
     * and the buffer has 8 bytes of room: store all 8 accumulator bytes at
     * once, keep the whole ones. Bytes past the new end are rewritten later. */
    if (w->bitcount + nbits <= 64 && w->cap - w->len >= 8 && !w->oom) {
        uint64_t acc = w->bitacc | v << w->bitcount;
        unsigned count = w->bitcount + nbits, nbytes = count / 8;
        uint8_t *out = w->data + w->len;
        fs_store_le64(out, acc); /* one store */
        w->len += nbytes;
        w->bitacc = nbytes == 8 ? 0 : acc >> (8 * nbytes);
        w->bitcount = count - 8 * nbytes;
        return;
    }
    /* The accumulator holds < 8 bits between calls, so 64 more may not fit:
     * split the value when needed. Whole bytes go out after one reserve for
     * all of them (a reserve per byte was most of the cost of encoding). */
    while (nbits) {
        unsigned room = 64 - w->bitcount;
        unsigned take = nbits < room ? nbits : room;
        uint64_t part = take < 64 ? v & ((UINT64_C(1) << take) - 1) : v;
        w->bitacc |= part << w->bitcount;
        w->bitcount += take;
        v = take < 64 ? v >> take : 0;
        nbits -= take;
        unsigned nbytes = w->bitcount / 8;
        if (nbytes && reserve(w, nbytes) == 0) {
            for (unsigned i = 0; i < nbytes; i++) {
                w->data[w->len++] = (uint8_t)w->bitacc;
                w->bitacc >>= 8;
            }
        } else if (nbytes) { /* out of memory: dropped, as every write then is */
            w->bitacc = nbytes < 8 ? w->bitacc >> (8 * nbytes) : 0;
        }
        w->bitcount -= 8 * nbytes;
    }
}
void fs_wbuf_bits_flush(fs_wbuf *w)
{
    if (w->bitcount) {
        fs_wbuf_u8(w, (uint8_t)w->bitacc);
        w->bitacc = 0;
        w->bitcount = 0;
    }
}

int fs_wbuf_status(const fs_wbuf *w) { return w->oom ? FS_E_NOMEM : FS_OK; }

void fs_rbuf_init(fs_rbuf *r, const void *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
}

static int bad(fs_rbuf *r)
{
    r->corrupt = 1;
    return -1;
}

const uint8_t *fs_rbuf_take(fs_rbuf *r, size_t n)
{
    if (r->corrupt || n > r->len - r->pos) {
        bad(r);
        return NULL;
    }
    if (n == 0) { /* succeeds even over an empty (NULL) buffer, without pointer arithmetic on NULL */
        static const uint8_t none;
        return r->data ? r->data + r->pos : &none;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

int fs_rbuf_bytes(fs_rbuf *r, void *out, size_t n)
{
    const uint8_t *p = fs_rbuf_take(r, n);
    if (!p)
        return -1;
    if (n)
        memcpy(out, p, n);
    return 0;
}

int fs_rbuf_u8(fs_rbuf *r, uint8_t *v)
{
    const uint8_t *p = fs_rbuf_take(r, 1); /* not fs_rbuf_bytes: a memcpy call per byte */
    if (!p)
        return -1;
    *v = *p;
    return 0;
}

int fs_rbuf_u32(fs_rbuf *r, uint32_t *v)
{
    const uint8_t *p = fs_rbuf_take(r, 4);
    if (!p)
        return -1;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return 0;
}

int fs_rbuf_u64(fs_rbuf *r, uint64_t *v)
{
    const uint8_t *p = fs_rbuf_take(r, 8);
    if (!p)
        return -1;
    *v = fs_load_le64(p);
    return 0;
}

int fs_rbuf_varint(fs_rbuf *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (fs_rbuf_u8(r, &b))
            return -1;
        if (shift == 63 && b > 1) /* the 10th byte holds one bit */
            return bad(r);
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return bad(r);
}

int fs_rbuf_svarint(fs_rbuf *r, int64_t *v)
{
    uint64_t u;
    if (fs_rbuf_varint(r, &u))
        return -1;
    *v = fs_unzigzag(u);
    return 0;
}

int fs_rbuf_bits(fs_rbuf *r, unsigned nbits, uint64_t *v)
{
    if (nbits > 64)
        return bad(r);
    uint64_t out = 0;
    unsigned got = 0;
    while (got < nbits) {
        if (r->bitcount == 0) {
            uint8_t b;
            if (fs_rbuf_u8(r, &b))
                return -1;
            r->bitacc = b;
            r->bitcount = 8;
        }
        unsigned take = nbits - got < r->bitcount ? nbits - got : r->bitcount;
        out |= (r->bitacc & ((UINT64_C(1) << take) - 1)) << got;
        r->bitacc >>= take;
        r->bitcount -= take;
        got += take;
    }
    *v = out;
    return 0;
}

void fs_rbuf_bits_align(fs_rbuf *r)
{
    r->bitacc = 0;
    r->bitcount = 0;
}
