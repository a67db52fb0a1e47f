/* Dictionary encoding of strings, as TimescaleDB's dictionary.c and the
 * dictionary pages of Parquet/ORC: store each distinct value once, then one
 * small integer code per row.
 *
 * Encoding: one pass over the rows with an open-addressing hash table (FNV-1a
 * 64 over the bytes, linear probing, grown at 1/2 load) maps each string to
 * its code, assigned in order of first appearance; O(n) expected, never
 * O(n * distinct). Then the codes are bit-packed at the smallest width that
 * holds distinct-1.
 *
 * Serialized layout (the row count n is not stored: the block header has it):
 *   varint   ndict                  distinct values; 0 iff n == 0
 *   ndict x {
 *     varint len                    byte length of the value (< 2^32)
 *     len bytes                     the value, any bytes, no terminator
 *   }                               in order of first appearance
 *   bits     codes[n], each `width` bits, low bits first (fs_wbuf_bits),
 *            width = bits needed for ndict-1 (0 when ndict == 1: no bytes);
 *            the last byte is padded with zero bits.
 *
 * Decoding checks, each a FS_E_CORRUPT: ndict == 0 with n > 0 or ndict > 0
 * with n == 0; ndict > n (every value appears at least once) or ndict larger
 * than the remaining bytes (every value costs at least one length byte), both
 * checked before allocating anything; a length past the end; fewer code bits
 * than n * width; a code that is not an already-seen code or the next new one
 * (codes are in first-appearance order, so this also catches code >= ndict),
 * and a dictionary value no row uses; non-zero padding bits. */
#include "codec/dict.h"

#include "fstore.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static unsigned width_for(size_t ndict)
{
    unsigned w = 0;
    for (uint64_t m = ndict ? (uint64_t)ndict - 1 : 0; m; m >>= 1)
        w++;
    return w;
}

typedef struct {
    uint64_t hash;
    uint32_t code; /* UINT32_MAX: empty slot */
} slot;

typedef struct {
    slot *slots;
    size_t cap; /* power of two */
    /* distinct values: index of the first row holding each */
    size_t *first;
    size_t ndict, firstcap;
} table;

static int table_grow(table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    slot *s = malloc(cap * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < cap; i++)
        s[i].code = UINT32_MAX;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].code == UINT32_MAX)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (s[j].code != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

int fs_dict_encode(const char *const *vals, const uint32_t *lens, size_t n, fs_wbuf *w)
{
    if (n == 0) {
        fs_wbuf_varint(w, 0);
        return fs_wbuf_status(w);
    }
    if (!vals || !lens)
        return FS_E_INVAL;
    if (n > SIZE_MAX / sizeof(uint32_t))
        return FS_E_NOMEM;
    uint32_t *codes = malloc(n * sizeof *codes);
    table t = {0};
    int rc = FS_E_NOMEM;
    if (!codes || table_grow(&t))
        goto out;

    for (size_t i = 0; i < n; i++) {
        const char *v = lens[i] ? vals[i] : "";
        uint64_t h = fnv1a(v, lens[i]);
        size_t j = h & (t.cap - 1);
        uint32_t code = UINT32_MAX;
        while (t.slots[j].code != UINT32_MAX) {
            if (t.slots[j].hash == h) {
                size_t f = t.first[t.slots[j].code];
                if (lens[f] == lens[i] && (lens[i] == 0 || memcmp(vals[f], v, lens[i]) == 0)) {
                    code = t.slots[j].code;
                    break;
                }
            }
            j = (j + 1) & (t.cap - 1);
        }
        if (code == UINT32_MAX) {
            if (t.ndict >= UINT32_MAX - 1) {
                rc = FS_E_INVAL;
                goto out;
            }
            if (t.ndict == t.firstcap) {
                size_t fc = t.firstcap ? t.firstcap * 2 : 16;
                size_t *f = realloc(t.first, fc * sizeof *f);
                if (!f)
                    goto out;
                t.first = f;
                t.firstcap = fc;
            }
            code = (uint32_t)t.ndict;
            t.first[t.ndict++] = i;
            t.slots[j].hash = h;
            t.slots[j].code = code;
            if (t.ndict * 2 > t.cap && table_grow(&t))
                goto out;
        }
        codes[i] = code;
    }

    fs_wbuf_varint(w, t.ndict);
    for (size_t k = 0; k < t.ndict; k++) {
        size_t f = t.first[k];
        fs_wbuf_varint(w, lens[f]);
        fs_wbuf_bytes(w, vals[f], lens[f]);
    }
    unsigned width = width_for(t.ndict);
    if (width) {
        for (size_t i = 0; i < n; i++)
            fs_wbuf_bits(w, codes[i], width);
        fs_wbuf_bits_flush(w);
    }
    rc = fs_wbuf_status(w);
out:
    free(codes);
    free(t.slots);
    free(t.first);
    return rc;
}

void fs_dict_strings_free(fs_dict_strings *s)
{
    if (!s)
        return;
    free(s->vals);
    free(s->lens);
    free(s->dict);
    free(s->dict_lens);
    free(s->codes);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

int fs_dict_decode(fs_rbuf *r, size_t n, fs_dict_strings *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t **src = NULL;
    uint64_t ndict;
    int rc = FS_E_CORRUPT;
    if (fs_rbuf_varint(r, &ndict))
        return FS_E_CORRUPT;
    if (n == 0)
        return ndict == 0 ? FS_OK : FS_E_CORRUPT;
    /* Bounds before any allocation: each value appears in some row and costs
     * at least one length byte. */
    if (ndict == 0 || ndict > n || ndict > r->len - r->pos)
        return FS_E_CORRUPT;
    if (n > SIZE_MAX / sizeof(const char *))
        return FS_E_NOMEM;

    fs_dict_strings s = {0};
    s.n = n;
    s.ndict = (size_t)ndict;
    src = malloc(s.ndict * sizeof *src);
    s.dict_lens = malloc(s.ndict * sizeof *s.dict_lens);
    s.dict = malloc(s.ndict * sizeof *s.dict);
    if (!src || !s.dict_lens || !s.dict)
        goto nomem;

    /* Pass 1: borrow each value in place; total bytes <= remaining input. */
    size_t total = 0;
    for (size_t k = 0; k < s.ndict; k++) {
        uint64_t len;
        if (fs_rbuf_varint(r, &len) || len > UINT32_MAX ||
            !(src[k] = fs_rbuf_take(r, (size_t)len)))
            goto fail;
        s.dict_lens[k] = (uint32_t)len;
        total += (size_t)len + 1;
    }
    unsigned width = width_for(s.ndict);
    size_t left = r->len - r->pos;
    /* n * width bits must fit in what is left (exact, overflow-free). */
    if (width && left < SIZE_MAX / 8 && n > left * 8 / width)
        goto fail;

    s.arena = malloc(total);
    s.vals = malloc(n * sizeof *s.vals);
    s.lens = malloc(n * sizeof *s.lens);
    s.codes = malloc(n * sizeof *s.codes);
    if (!s.arena || !s.vals || !s.lens || !s.codes)
        goto nomem;
    char *a = s.arena;
    for (size_t k = 0; k < s.ndict; k++) {
        memcpy(a, src[k], s.dict_lens[k]);
        a[s.dict_lens[k]] = '\0';
        s.dict[k] = a;
        a += s.dict_lens[k] + 1;
    }

    /* Pass 2: the codes, in first-appearance order. */
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = 0;
        if (width && fs_rbuf_bits(r, width, &c))
            goto fail;
        if (c > seen || c >= s.ndict)
            goto fail;
        if (c == seen)
            seen++;
        s.codes[i] = (uint32_t)c;
        s.vals[i] = s.dict[c];
        s.lens[i] = s.dict_lens[c];
    }
    if (seen != s.ndict || r->bitacc != 0)
        goto fail;
    fs_rbuf_bits_align(r);
    free(src);
    *out = s;
    return FS_OK;

nomem:
    rc = FS_E_NOMEM;
fail:
    free(src);
    fs_dict_strings_free(&s);
    return rc;
}
