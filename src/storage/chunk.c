/* Immutable columnar chunk files, format version 2 (see chunk.h for the
 * contract).
 *
 * Why this shape. A chunk holds the rows of one table for one event_ts
 * range. Inside it rows are grouped by entity (TimescaleDB's `segmentby`)
 * and sorted by (event_ts, seq) inside each group (its `orderby`): one
 * entity's rows are one contiguous byte range, an as-of lookup decodes that
 * range and binary-searches event_ts, and a training-set join is a merge.
 * A footer index maps each entity key to its segment, so a lookup reads the
 * trailer, the index and one segment, never the whole file. The index is at
 * the end, found from the trailer, because the writer learns the segment
 * offsets only while writing them (one pass, no seeking back).
 *
 * Layout. Integers are little-endian; "varint" is LEB128 (buf.h). Fields are
 * serialized one by one with fs_wbuf and read back with the bounds-checked
 * fs_rbuf, so no struct padding ever reaches the disk and there is no
 * on-disk struct to static_assert.
 *
 *   header
 *     8        magic "FSCHUNK1"
 *     u32      format version (2; version 1 is the same without codec 7);
 *              a reader refuses a larger one (FS_E_VERSION)
 *     varint   table name length, then the bytes
 *     u64      start   \ event_ts range [start, end) (int64 as two's complement)
 *     u64      end     /
 *     u64      max_seq   highest commit sequence number included
 *     u64      rows      row count of the whole chunk
 *     u64      raw_bytes uncompressed size estimate (chunk.h: fs_chunk_stats)
 *     varint   column count, then per column:
 *                varint name length, name bytes, u8 type (fs_vtype)
 *     u32      CRC-32C of every header byte before it, magic included
 *
 *   segments, one per entity, in key order (memcmp, then length: the order of
 *   fs_batch_sort), each:
 *     varint   entity key length, then the bytes
 *     varint   row count n (>= 1)
 *     block    event_ts  (codec DOD or FOR)
 *     block    seq       (codec FOR or DOD)
 *     per column, in header order:
 *       block  values    (flag VALIDITY when the next block is the bitmap)
 *       block  validity  (codec BOOL, 1 = present) only when flagged: a column
 *                        without nulls in this segment stores no bitmap
 *     The key and n are not under a block CRC: the reader checks them against
 *     the (CRC-protected) index entry instead.
 *
 *   block
 *     u8       codec: 1 DOD (deltadelta.c), 2 FOR (bitpack.c), 3 DECIMAL
 *              (decimal.c), 4 GORILLA (gorilla.c), 5 DICT (dict.c), 6 BOOL
 *              (bitpack.c), 7 BYTEXOR (bytexor.c; format version 2 on)
 *     u8       flags: 1 int64 min/max follow, 2 float64 min/max follow,
 *              4 a validity bitmap block follows this block
 *     varint   value count (must equal the segment's n)
 *     varint   payload length L
 *     8 + 8    min, max over the present values (int64, or float64 bits with
 *              NaN skipped), only with flag 1 or 2; absent for strings and
 *              bools, and when no value is present. For block skipping.
 *     u32      CRC-32C of the block header bytes above and the payload
 *     L        payload: the codec's encoding of the n values. Null slots hold
 *              the previous present value (leading nulls the first one), so
 *              they cost nothing in delta, delta-of-delta, XOR and dictionary
 *              codecs; the reader returns them as nulls with zero values.
 *     The codec is chosen per block by encoding every candidate and keeping
 *     the smallest (ties: the first): float64 DECIMAL, then BYTEXOR or
 *     GORILLA (DECIMAL refuses values without a short exact decimal form;
 *     GORILLA is only weighed when BYTEXOR takes at most 6 bytes a value,
 *     see pick_f64), int64 FOR then
 *     DOD, timestamps and event_ts DOD then FOR, seq FOR then DOD, strings
 *     DICT, bools BOOL.
 *
 *   footer (the entity index), at the offset the trailer gives
 *     varint   entity count, then per entity in key order:
 *       varint key length, key bytes
 *       u64    segment offset from the start of the file
 *       u64    segment length in bytes
 *       varint row count
 *       u64    min event_ts, u64 max event_ts (int64 two's complement)
 *       u64    max seq of the entity's rows
 *   trailer (the last 20 bytes)
 *     u32      CRC-32C of the footer bytes and of the footer offset field
 *     u64      footer offset
 *     8        magic "FSCHUNK1"
 *
 * Checks. Open verifies both magics, the version, the header CRC, the footer
 * CRC, that index keys are strictly increasing, segments lie between the
 * header and the footer without overlapping, and row counts add up to the
 * header's. Reading an entity checks every block's CRC before decoding any
 * of them, then that each codec consumed exactly its payload, that the
 * codec is one allowed for the column type, and that the decoded
 * (event_ts, seq) are sorted and agree with the index; only then are rows
 * appended. A single flipped byte anywhere in the file therefore fails open
 * or the read of the entity that holds it.
 *
 * The header and footer are read with pread; the segments through a
 * read-only mapping (chunk files are immutable once renamed into place), of
 * which a lookup maps only the 1 MiB region(s) around one segment.
 *
 * Not measured yet: whether blocks should be split below a segment (a
 * segment is one block per column however many rows the entity has: a day
 * of 1-minute candles is 1440 rows, small enough), and whether the
 * candidate trial costs too much at checkpoint time. */
#include "storage/chunk.h"

#include "codec/bitpack.h"
#include "codec/buf.h"
#include "codec/decimal.h"
#include "codec/deltadelta.h"
#include "codec/dict.h"
#include "codec/bytexor.h"
#include "codec/gorilla.h"
#include "core/arena.h"
#include "core/crc32c.h"
#include "core/fileio.h"

#include "fstore.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "FSCHUNK1"
#define MAGIC_LEN 8
#define TRAILER_LEN 20 /* u32 crc, u64 footer offset, magic */

enum { C_DOD = 1, C_FOR = 2, C_DECIMAL = 3, C_GORILLA = 4, C_DICT = 5, C_BOOL = 6, C_BYTEXOR = 7 };
enum { F_MINMAX_I64 = 1, F_MINMAX_F64 = 2, F_VALIDITY = 4, F_KNOWN = 7 };
enum { REGION_BITS = 20 }; /* populate(): the file is mapped 1 MiB at a time */
enum { HEADER_READ = 4096 }; /* fs_chunk_open reads this much for the header first */

/* ------------------------------------------------------------------ */
/* helpers shared by both sides                                        */

/* fs_sb_printf to an optional message buffer. */
static void say(fs_strbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(fs_strbuf *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    fs_sb_vprintf(err, fmt, ap);
    va_end(ap);
}

static int key_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

/* Appends one block: header, CRC over header and payload, payload. */
static void put_block(fs_wbuf *w, uint8_t codec, uint8_t flags, size_t n, const fs_wbuf *payload,
                      uint64_t min, uint64_t max)
{
    /* The header on the stack (at most 2 + 10 + 10 + 16 bytes): a block
     * per column per segment is too many for an allocation each. */
    uint8_t h[48];
    size_t hl = 0;
    h[hl++] = codec;
    h[hl++] = flags;
    for (uint64_t v = n;; v >>= 7) { /* varint */
        h[hl++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    for (uint64_t v = payload->len;; v >>= 7) {
        h[hl++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    if (flags & (F_MINMAX_I64 | F_MINMAX_F64)) {
        for (int i = 0; i < 8; i++)
            h[hl++] = (uint8_t)(min >> (8 * i));
        for (int i = 0; i < 8; i++)
            h[hl++] = (uint8_t)(max >> (8 * i));
    }
    uint32_t crc = fs_crc32c(fs_crc32c(0, h, hl), payload->data, payload->len);
    fs_wbuf_bytes(w, h, hl);
    fs_wbuf_u32(w, crc);
    fs_wbuf_bytes(w, payload->data, payload->len);
}

/* ---- exact encoded sizes --------------------------------------------------
 * The codec of a block is the smallest candidate (ties: the first). Encoding
 * every candidate to compare their lengths cost most of a checkpoint (Gorilla
 * alone a third of it); these functions give the exact byte count each codec
 * would write, so only the winner is encoded. They mirror deltadelta.c,
 * bitpack.c and gorilla.c step by step; tests/test_chunk.c checks them
 * against the real encoders. */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t zz64(uint64_t u) { return (u << 1) ^ (0 - (u >> 63)); }

size_t fs_chunk_dod_size(const int64_t *v, size_t n)
{
    if (n == 0)
        return 0;
    size_t size = varint_len(fs_zigzag(v[0]));
    if (n == 1)
        return size;
    uint64_t prev = (uint64_t)v[1], delta = prev - (uint64_t)v[0];
    size += varint_len(zz64(delta));
    for (size_t f = 2; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        uint64_t all = 0;
        for (size_t i = 0; i < cnt; i++) {
            uint64_t cur = (uint64_t)v[f + i], d = cur - prev;
            all |= zz64(d - delta);
            delta = d;
            prev = cur;
        }
        size += 1 + (cnt * fs_bits_needed(all) + 7) / 8;
    }
    return size;
}

size_t fs_chunk_for_size(const int64_t *v, size_t n)
{
    size_t size = 0;
    for (size_t f = 0; f < n; f += FS_FRAME) {
        size_t cnt = n - f < FS_FRAME ? n - f : FS_FRAME;
        int64_t mn = v[f], mx = v[f];
        for (size_t i = 1; i < cnt; i++) {
            mn = v[f + i] < mn ? v[f + i] : mn;
            mx = v[f + i] > mx ? v[f + i] : mx;
        }
        size += varint_len(fs_zigzag(mn)) + 1 +
                (cnt * fs_bits_needed((uint64_t)mx - (uint64_t)mn) + 7) / 8;
    }
    return size;
}

size_t fs_chunk_gorilla_size(const double *v, size_t n)
{
    if (n == 0)
        return 0;
    uint64_t prev = fs_f64_bits(v[0]), bits = 64;
    unsigned wlead = 0, wlen = 0;
    for (size_t k = 1; k < n; k++) {
        uint64_t cur = fs_f64_bits(v[k]), x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            bits += 1;
            continue;
        }
        unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
        unsigned len = 64 - lead - trail;
        if (wlen && lead >= wlead && trail >= 64 - wlead - wlen && wlen <= len + 12) {
            bits += 2 + wlen;
        } else {
            bits += 14 + len;
            wlead = lead;
            wlen = len;
        }
    }
    return (size_t)((bits + 7) / 8);
}

/* Encodes int64 values with the smaller of DOD and FOR (dod_first: DOD wins
 * ties) into *best. */
/* An encoding buffer emptied for reuse (its memory kept: a segment's
 * blocks are encoded one after another into the same few buffers). */
static fs_wbuf *reuse(fs_wbuf *w)
{
    w->len = 0;
    w->bitacc = 0;
    w->bitcount = 0;
    return w;
}

static int pick_i64(const int64_t *v, size_t n, int dod_first, fs_wbuf *enc, uint8_t *codec)
{
    size_t a = fs_chunk_dod_size(v, n), b = fs_chunk_for_size(v, n);
    int take_dod = dod_first ? a <= b : a < b;
    int rc = take_dod ? fs_dod_encode(v, n, reuse(enc)) : fs_for_encode(v, n, reuse(enc));
    if (rc == FS_OK)
        rc = fs_wbuf_status(enc);
    *codec = take_dod ? C_DOD : C_FOR;
    return rc;
}

/* Encodes v as DECIMAL (into alt) or as an XOR codec (into enc), whichever
 * is smaller; *best is the buffer that won. The XOR codec is BYTEXOR, or
 * GORILLA when it is smaller: its exact size is worked out only when BYTEXOR
 * takes at most 6 bytes a value, since above that (noise in every low
 * mantissa bit, as in most computed features) Gorilla saves a few percent
 * at most and costs several times as much to write and to read. */
static int pick_f64(const double *v, size_t n, fs_wbuf *enc, fs_wbuf *alt, fs_wbuf **best,
                    uint8_t *codec)
{
    /* BYTEXOR is encoded at once (about the cost of working out its size),
     * and replaced by GORILLA when that is smaller. */
    int rc = fs_bytexor_encode(v, n, reuse(enc));
    if (rc == FS_OK)
        rc = fs_wbuf_status(enc);
    if (rc != FS_OK)
        return rc;
    size_t xsize = enc->len;
    uint8_t xcodec = C_BYTEXOR;
    if (xsize <= 6 * n && fs_chunk_gorilla_size(v, n) < xsize) {
        if ((rc = fs_gorilla_encode(v, n, reuse(enc))) == FS_OK)
            rc = fs_wbuf_status(enc);
        if (rc != FS_OK)
            return rc;
        xsize = enc->len;
        xcodec = C_GORILLA;
    }
    int rd = fs_decimal_encode(v, n, reuse(alt));
    if (rd != FS_OK && rd != FS_E_INVAL)
        return rd;
    if (rd == FS_OK && (rd = fs_wbuf_status(alt)) != FS_OK)
        return rd;
    int dec = rd == FS_OK && alt->len <= xsize;
    *best = dec ? alt : enc;
    *codec = dec ? C_DECIMAL : xcodec;
    return FS_OK;
}

/* The rows to write: rows idx[0..n) of a batch, in that order (idx NULL:
 * rows 0..n). Checkpoints and streamed ingest pass an index instead of
 * copying the rows into a sorted batch of their own. */
typedef struct {
    const fs_batch *b;
    const uint32_t *idx;
    size_t n;
    size_t off; /* with idx NULL: the rows are off .. off + n */
} rview;

static inline size_t at(const rview *v, size_t i) { return v->idx ? v->idx[i] : v->off + i; }

/* Scratch arrays for one segment, sized for the largest entity. */
typedef struct {
    int64_t *i64, *ts, *seq;
    double *f64;
    uint8_t *u8, *valid;
    const char **s;
    uint32_t *slen;
    fs_wbuf enc, alt, vbits; /* encodings of one block, reused */
} scratch;

static void scratch_free(scratch *s)
{
    free(s->i64);
    free(s->ts);
    free(s->seq);
    free(s->f64);
    free(s->u8);
    free(s->valid);
    free(s->s);
    free(s->slen);
    fs_wbuf_free(&s->enc);
    fs_wbuf_free(&s->alt);
    fs_wbuf_free(&s->vbits);
}

/* Writes the values block (and the validity block when needed) of column
 * `col` for view rows [r0, r0 + n). */
static int put_column(fs_wbuf *w, const fs_column *col, const rview *rv, size_t r0, size_t n,
                      scratch *s)
{
    uint8_t *valid = s->valid;
    size_t first = 0, nvalid = 0;
    if (rv->idx)
        for (size_t i = 0; i < n; i++)
            valid[i] = col->valid[rv->idx[r0 + i]];
    else
        memcpy(valid, col->valid + rv->off + r0, n);
    for (size_t i = 0; i < n; i++)
        nvalid += valid[i] != 0;
    while (first < n && !valid[first]) /* the first present row (n: none) */
        first++;
    uint8_t flags = nvalid < n ? F_VALIDITY : 0, codec = 0;
    uint64_t min = 0, max = 0;
    fs_wbuf *p = &s->enc;
    int rc = FS_OK;
    /* Null slots carry the previous present value (leading ones the first). */
    switch (col->type) {
    case FS_VT_INT64:
    case FS_VT_TIMESTAMP: {
        int64_t prev = first < n ? col->i64[at(rv, r0 + first)] : 0, mn = INT64_MAX, mx = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            if (valid[i]) {
                prev = col->i64[at(rv, r0 + i)];
                mn = prev < mn ? prev : mn;
                mx = prev > mx ? prev : mx;
            }
            s->i64[i] = prev;
        }
        if (nvalid) {
            flags |= F_MINMAX_I64;
            min = (uint64_t)mn;
            max = (uint64_t)mx;
        }
        rc = pick_i64(s->i64, n, col->type == FS_VT_TIMESTAMP, p, &codec);
        break;
    }
    case FS_VT_FLOAT64: {
        /* Gather first (contiguous rows are a copy), then fill nulls and take
         * min/max in plain loops the compiler can vectorize: this runs over
         * every value a compute job writes. NaN compares false, so it never
         * becomes min or max; mn > mx afterwards means no non-NaN value. */
        double *v = s->f64;
        if (rv->idx)
            for (size_t i = 0; i < n; i++)
                v[i] = col->f64[rv->idx[r0 + i]];
        else
            memcpy(v, col->f64 + rv->off + r0, n * sizeof *v);
        if (nvalid < n) {
            double prev = first < n ? v[first] : 0;
            for (size_t i = 0; i < n; i++) {
                if (valid[i])
                    prev = v[i];
                v[i] = prev;
            }
        }
        double mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            mn = v[i] < mn ? v[i] : mn;
            mx = v[i] > mx ? v[i] : mx;
        }
        if (nvalid && mn <= mx) {
            flags |= F_MINMAX_F64;
            min = fs_f64_bits(mn);
            max = fs_f64_bits(mx);
        }
        rc = pick_f64(v, n, &s->enc, &s->alt, &p, &codec);
        break;
    }
    case FS_VT_BOOL: {
        uint8_t prev = first < n ? (col->b[at(rv, r0 + first)] != 0) : 0;
        for (size_t i = 0; i < n; i++) {
            if (valid[i])
                prev = col->b[at(rv, r0 + i)] != 0;
            s->u8[i] = prev;
        }
        codec = C_BOOL;
        rc = fs_bool_encode(s->u8, n, reuse(p));
        break;
    }
    case FS_VT_STRING: {
        const char *prev = first < n ? col->s[at(rv, r0 + first)] : "";
        uint32_t plen = first < n ? col->slen[at(rv, r0 + first)] : 0;
        for (size_t i = 0; i < n; i++) {
            if (valid[i]) {
                prev = col->s[at(rv, r0 + i)];
                plen = col->slen[at(rv, r0 + i)];
            }
            s->s[i] = prev;
            s->slen[i] = plen;
        }
        codec = C_DICT;
        rc = fs_dict_encode(s->s, s->slen, n, reuse(p));
        break;
    }
    default: rc = FS_E_INVAL;
    }
    if (rc == FS_OK)
        rc = fs_wbuf_status(p);
    if (rc != FS_OK)
        return rc;
    put_block(w, codec, flags, n, p, min, max);
    if (flags & F_VALIDITY) {
        rc = fs_bool_encode(valid, n, reuse(&s->vbits));
        if (rc == FS_OK)
            rc = fs_wbuf_status(&s->vbits);
        if (rc == FS_OK)
            put_block(w, C_BOOL, 0, n, &s->vbits, 0, 0);
    }
    return rc;
}

/* Checks flags, order, range and seq bound; FS_E_INVAL with the first bad
 * row. The columns are the builder's, checked when it was made. */
static int check_rows(const char *path, const rview *rv, const fs_chunk_meta *m, fs_strbuf *err)
{
    const fs_batch *b = rv->b;
    for (size_t c = 0; c < b->ncols; c++) {
        const uint8_t *valid = b->cols[c].valid, *bv = b->cols[c].type == FS_VT_BOOL ? b->cols[c].b : NULL;
        for (size_t i = 0; i < rv->n; i++) {
            size_t r = at(rv, i);
            if (valid[r] > 1 || (bv && bv[r] > 1)) {
                say(err, "%s: row %zu, column %s: flag not 0 or 1", path, i, b->cols[c].name);
                return FS_E_INVAL;
            }
        }
    }
    for (size_t i = 0; i < rv->n; i++) {
        size_t r = at(rv, i);
        if (b->event_ts[r] < m->start || b->event_ts[r] >= m->end) {
            say(err, "%s: row %zu (entity %s): event_ts %lld outside the chunk range [%lld, %lld)",
                path, i, b->entity[r], (long long)b->event_ts[r], (long long)m->start,
                (long long)m->end);
            return FS_E_INVAL;
        }
        if (b->seq[r] > m->max_seq) {
            say(err, "%s: row %zu (entity %s): seq %llu above the chunk's max_seq %llu", path, i,
                b->entity[r], (unsigned long long)b->seq[r], (unsigned long long)m->max_seq);
            return FS_E_INVAL;
        }
        if (i == 0)
            continue;
        size_t q = at(rv, i - 1);
        int c = b->entity[q] == b->entity[r] && b->entity_len[q] == b->entity_len[r]
                    ? 0
                    : key_cmp(b->entity[q], b->entity_len[q], b->entity[r], b->entity_len[r]);
        if (c == 0 && b->event_ts[q] != b->event_ts[r])
            c = b->event_ts[q] < b->event_ts[r] ? -1 : 1;
        if (c == 0 && b->seq[q] > b->seq[r])
            c = 1;
        if (c > 0) {
            say(err, "%s: rows not sorted by (entity, event_ts, seq) at row %zu (entity %s)", path,
                i, b->entity[r]);
            return FS_E_INVAL;
        }
    }
    return FS_OK;
}

static uint64_t raw_size(const rview *rv)
{
    const fs_batch *b = rv->b;
    uint64_t raw = 0;
    for (size_t i = 0; i < rv->n; i++)
        raw += (uint64_t)b->entity_len[at(rv, i)] + 16;
    for (size_t c = 0; c < b->ncols; c++) {
        const fs_column *col = &b->cols[c];
        switch (col->type) {
        case FS_VT_BOOL: raw += rv->n; break;
        case FS_VT_STRING:
            for (size_t i = 0; i < rv->n; i++) {
                size_t r = at(rv, i);
                raw += col->valid[r] ? col->slen[r] : 0;
            }
            break;
        default: raw += 8 * (uint64_t)rv->n; break;
        }
    }
    return raw;
}

static int same_entity(const rview *rv, size_t i, size_t j)
{
    const fs_batch *b = rv->b;
    size_t x = at(rv, i), y = at(rv, j);
    if (b->entity[x] == b->entity[y] && b->entity_len[x] == b->entity_len[y])
        return 1; /* rows of one entity usually share the key's copy */
    return key_cmp(b->entity[x], b->entity_len[x], b->entity[y], b->entity_len[y]) == 0;
}

typedef struct {
    const char *key;
    uint32_t key_len;
    uint64_t off, len, rows;
    int64_t min_ts, max_ts;
    uint64_t max_seq;
} widx;

static int io_status(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG ? FS_E_NOSPACE : FS_E_IO; }

/* Appends len bytes to `path` (created or emptied first with `create`) and
 * starts their writeback at once, so that the caller's later fdatasync
 * finds little left to do. */
static int put_file(const char *path, int create, const void *data, size_t len, fs_strbuf *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : O_APPEND), 0644);
    if (fd < 0) {
        int e = errno;
        say(err, "cannot %s %s: %s", create ? "create" : "open", path, strerror(e));
        return io_status(e);
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : ENOSPC;
            say(err, "cannot write %s: %s", path, strerror(e));
            close(fd);
            return io_status(e);
        }
        p += k;
        left -= (size_t)k;
    }
    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* a hint: errors show at the fdatasync */
    if (close(fd) != 0) {
        say(err, "cannot write %s: %s", path, strerror(errno));
        return FS_E_IO;
    }
    return FS_OK;
}

/* Writes a file that nothing names yet: straight to `path`, no temp file and
 * no fsync. A failure removes the partial file. */
static int write_direct(const char *path, const void *data, size_t len, fs_strbuf *err)
{
    int rc = put_file(path, 1, data, len, err);
    if (rc != FS_OK)
        unlink(path);
    return rc;
}

/* Grows the scratch arrays to hold m rows. */
static int scratch_reserve(scratch *s, size_t *cap, size_t m)
{
    if (m <= *cap)
        return FS_OK;
    int64_t *i64 = realloc(s->i64, m * sizeof *i64);
    if (i64)
        s->i64 = i64;
    int64_t *ts = realloc(s->ts, m * sizeof *ts);
    if (ts)
        s->ts = ts;
    int64_t *seq = realloc(s->seq, m * sizeof *seq);
    if (seq)
        s->seq = seq;
    double *f64 = realloc(s->f64, m * sizeof *f64);
    if (f64)
        s->f64 = f64;
    uint8_t *u8 = realloc(s->u8, m);
    if (u8)
        s->u8 = u8;
    uint8_t *valid = realloc(s->valid, m);
    if (valid)
        s->valid = valid;
    const char **str = realloc(s->s, m * sizeof *str);
    if (str)
        s->s = str;
    uint32_t *slen = realloc(s->slen, m * sizeof *slen);
    if (slen)
        s->slen = slen;
    if (!i64 || !ts || !seq || !f64 || !u8 || !valid || !str || !slen)
        return FS_E_NOMEM;
    *cap = m;
    return FS_OK;
}

/* A chunk file being written: the header (its counts and CRC filled in at
 * the end: they are fixed-width), then the segments as they are added, in
 * one buffer; the entity index is appended when the file is written. A
 * builder bound to its file (fs_chunk_builder_stream_to) appends the buffer
 * to it whenever it passes FLUSH_BYTES, and rewrites the header in place at
 * the end. */
enum { FLUSH_BYTES = 512 << 10 };

struct fs_chunk_builder {
    char *file;        /* bound: the file, and bytes of it already written */
    uint64_t flushed;
    uint8_t *head;     /* bound: a copy of the header, patched at the end */
    char *label; /* the path, or the table, for messages */
    char *table;
    fs_chunk_meta meta; /* meta.table points at table */
    size_t ncols;
    fs_colspec *cols; /* names owned by names */
    fs_arena names;   /* column names and entity keys */
    fs_wbuf w;
    size_t counts_at, header_len; /* where rows and raw_bytes go; where the header CRC goes */
    widx *ix;
    size_t nent, cap_ix;
    uint64_t rows, raw;
    scratch s;
    size_t cap_s;
};

void fs_chunk_builder_free(fs_chunk_builder *b)
{
    if (!b)
        return;
    if (b->file) /* never finished: nothing names it */
        unlink(b->file);
    free(b->file);
    free(b->head);
    free(b->label);
    free(b->table);
    free(b->cols);
    fs_arena_free(&b->names);
    fs_wbuf_free(&b->w);
    free(b->ix);
    scratch_free(&b->s);
    free(b);
}

int fs_chunk_builder_new(const char *label, const fs_chunk_meta *meta, const fs_colspec *cols,
                         size_t ncols, fs_chunk_builder **out, fs_strbuf *err)
{
    *out = NULL;
    if (!meta || !meta->table || (!cols && ncols)) {
        say(err, "%s: fs_chunk_write: missing argument", label ? label : "(null)");
        return FS_E_INVAL;
    }
    if (!label)
        label = meta->table;
    if (meta->start >= meta->end) {
        say(err, "%s: empty chunk range [%lld, %lld)", label, (long long)meta->start,
            (long long)meta->end);
        return FS_E_INVAL;
    }
    for (size_t c = 0; c < ncols; c++)
        if (!cols[c].name || cols[c].type > FS_VT_TIMESTAMP) {
            say(err, "%s: column %zu has no name or an unknown type", label, c);
            return FS_E_INVAL;
        }
    fs_chunk_builder *b = calloc(1, sizeof *b);
    if (!b || !(b->label = strdup(label)) || !(b->table = strdup(meta->table)) ||
        !(b->cols = calloc(ncols ? ncols : 1, sizeof *b->cols))) {
        fs_chunk_builder_free(b);
        return FS_E_NOMEM;
    }
    b->meta = *meta;
    b->meta.table = b->table;
    b->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        b->cols[c].type = cols[c].type;
        if (!(b->cols[c].name = fs_arena_strdup(&b->names, cols[c].name))) {
            fs_chunk_builder_free(b);
            return FS_E_NOMEM;
        }
    }
    fs_wbuf *w = &b->w;
    size_t tlen = strlen(meta->table);
    fs_wbuf_bytes(w, MAGIC, MAGIC_LEN);
    fs_wbuf_u32(w, FS_CHUNK_VERSION);
    fs_wbuf_varint(w, tlen);
    fs_wbuf_bytes(w, meta->table, tlen);
    fs_wbuf_u64(w, (uint64_t)meta->start);
    fs_wbuf_u64(w, (uint64_t)meta->end);
    fs_wbuf_u64(w, meta->max_seq);
    b->counts_at = w->len;
    fs_wbuf_u64(w, 0); /* rows */
    fs_wbuf_u64(w, 0); /* raw_bytes */
    fs_wbuf_varint(w, ncols);
    for (size_t c = 0; c < ncols; c++) {
        size_t nl = strlen(cols[c].name);
        fs_wbuf_varint(w, nl);
        fs_wbuf_bytes(w, cols[c].name, nl);
        fs_wbuf_u8(w, (uint8_t)cols[c].type);
    }
    b->header_len = w->len;
    fs_wbuf_u32(w, 0); /* the header CRC */
    if (fs_wbuf_status(w) != FS_OK) {
        fs_chunk_builder_free(b);
        return FS_E_NOMEM;
    }
    *out = b;
    return FS_OK;
}

/* Appends the segment of the rows [i, i + n) of rv, one entity's. */
static int put_segment(fs_chunk_builder *cb, const rview *rv, size_t i, size_t n)
{
    const fs_batch *rows = rv->b;
    scratch *s = &cb->s;
    fs_wbuf *w = &cb->w;
    widx *x = &cb->ix[cb->nent];
    size_t r0 = at(rv, i);
    memset(x, 0, sizeof *x);
    if (!(x->key = fs_arena_strndup(&cb->names, rows->entity[r0], rows->entity_len[r0])))
        return FS_E_NOMEM;
    x->key_len = rows->entity_len[r0];
    x->off = cb->flushed + w->len;
    x->rows = n;
    int64_t smin = INT64_MAX, smax = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        size_t r = at(rv, i + k);
        s->ts[k] = rows->event_ts[r];
        s->seq[k] = (int64_t)rows->seq[r];
        smin = s->seq[k] < smin ? s->seq[k] : smin;
        smax = s->seq[k] > smax ? s->seq[k] : smax;
        if (rows->seq[r] > x->max_seq)
            x->max_seq = rows->seq[r];
    }
    x->min_ts = s->ts[0];
    x->max_ts = s->ts[n - 1];
    fs_wbuf_varint(w, x->key_len);
    fs_wbuf_bytes(w, x->key, x->key_len);
    fs_wbuf_varint(w, n);

    uint8_t codec;
    int rc = pick_i64(s->ts, n, 1, &s->enc, &codec);
    if (rc != FS_OK)
        return rc;
    put_block(w, codec, F_MINMAX_I64, n, &s->enc, (uint64_t)x->min_ts, (uint64_t)x->max_ts);
    /* seq is uint64 but commit numbers stay far below 2^63; the codecs
     * work on the same bits either way (wrapping arithmetic). */
    if ((rc = pick_i64(s->seq, n, 0, &s->enc, &codec)) != FS_OK)
        return rc;
    put_block(w, codec, F_MINMAX_I64, n, &s->enc, (uint64_t)smin, (uint64_t)smax);
    for (size_t c = 0; c < rows->ncols; c++)
        if ((rc = put_column(w, &rows->cols[c], rv, i, n, s)) != FS_OK)
            return rc;
    x->len = cb->flushed + w->len - x->off;
    cb->nent++;
    return fs_wbuf_status(w);
}

/* Adds the rows of rv: checked (range, order, flags, and keys after those
 * already added), then one segment per entity. */
static int builder_add(fs_chunk_builder *cb, const rview *rv, fs_strbuf *err)
{
    const fs_batch *rows = rv->b;
    if (rows->ncols != cb->ncols) {
        say(err, "%s: rows with %zu columns for a chunk of %zu", cb->label, rows->ncols, cb->ncols);
        return FS_E_INVAL;
    }
    for (size_t c = 0; c < cb->ncols; c++)
        if (!rows->cols[c].name || rows->cols[c].type != cb->cols[c].type ||
            strcmp(rows->cols[c].name, cb->cols[c].name) != 0) {
            say(err, "%s: column %zu of the rows is not the chunk's %s", cb->label, c,
                cb->cols[c].name);
            return FS_E_INVAL;
        }
    int rc = check_rows(cb->label, rv, &cb->meta, err);
    if (rc != FS_OK || rv->n == 0)
        return rc;
    if (cb->nent) {
        const widx *last = &cb->ix[cb->nent - 1];
        size_t r = at(rv, 0);
        if (key_cmp(last->key, last->key_len, rows->entity[r], rows->entity_len[r]) >= 0) {
            say(err, "%s: rows of entity %s come after those of %s", cb->label, rows->entity[r],
                last->key);
            return FS_E_INVAL;
        }
    }
    /* Entities and the largest one, for the index and the scratch arrays. */
    size_t nent = 0, maxrun = 0;
    for (size_t i = 0, j; i < rv->n; i = j) {
        for (j = i + 1; j < rv->n && same_entity(rv, i, j); j++)
            ;
        nent++;
        if (j - i > maxrun)
            maxrun = j - i;
    }
    if (cb->nent + nent > cb->cap_ix) {
        size_t cap = cb->cap_ix ? cb->cap_ix : 16;
        while (cap < cb->nent + nent)
            cap *= 2;
        widx *ix = realloc(cb->ix, cap * sizeof *ix);
        if (!ix)
            return FS_E_NOMEM;
        cb->ix = ix;
        cb->cap_ix = cap;
    }
    if ((rc = scratch_reserve(&cb->s, &cb->cap_s, maxrun)) != FS_OK)
        return rc;
    uint64_t raw = raw_size(rv);
    /* Room for about these rows at once: growing from nothing doubled and
     * copied the buffer a dozen times (most files compress to a fraction
     * of raw, computed doubles to about its size). */
    if (raw < (uint64_t)1 << 32 && fs_wbuf_reserve(&cb->w, (size_t)raw + 4096) != 0)
        return FS_E_NOMEM;
    for (size_t i = 0, j; i < rv->n; i = j) {
        for (j = i + 1; j < rv->n && same_entity(rv, i, j); j++)
            ;
        if ((rc = put_segment(cb, rv, i, j - i)) != FS_OK)
            return rc;
    }
    cb->rows += rv->n;
    cb->raw += raw;
    if (cb->file && cb->w.len >= FLUSH_BYTES) { /* between segments: offsets stay right */
        if ((rc = put_file(cb->file, 0, cb->w.data, cb->w.len, err)) != FS_OK)
            return rc;
        cb->flushed += cb->w.len;
        cb->w.len = 0; /* the memory is kept for the next segments */
    }
    return FS_OK;
}

int fs_chunk_builder_add(fs_chunk_builder *b, const fs_batch *rows, size_t first, size_t n,
                         fs_strbuf *err)
{
    if (!b || !rows || first > rows->n || n > rows->n - first) {
        say(err, "%s: fs_chunk_builder_add: rows out of range", b ? b->label : "(null)");
        return FS_E_INVAL;
    }
    rview rv = {rows, NULL, n, first};
    int rc = builder_add(b, &rv, err);
    if (rc == FS_E_NOMEM)
        say(err, "%s: out of memory writing chunk", b->label);
    return rc;
}

uint64_t fs_chunk_builder_rows(const fs_chunk_builder *b) { return b ? b->rows : 0; }

size_t fs_chunk_builder_bytes(const fs_chunk_builder *b) { return b ? (size_t)b->flushed + b->w.len : 0; }

int fs_chunk_builder_stream_to(fs_chunk_builder *cb, const char *path, fs_strbuf *err)
{
    if (cb->file || cb->nent) {
        say(err, "%s: a chunk builder is bound to its file before any row", path);
        return FS_E_INVAL;
    }
    size_t hl = cb->header_len + 4;
    if (!(cb->file = strdup(path)) || !(cb->head = malloc(hl))) {
        free(cb->file);
        cb->file = NULL;
        return FS_E_NOMEM;
    }
    memcpy(cb->head, cb->w.data, hl);
    /* Room for a flush's worth and an add past it, once: the buffer is then
     * reused, never grown (and copied) add after add. */
    if (fs_wbuf_reserve(&cb->w, 2 * FLUSH_BYTES) != 0) {
        free(cb->file);
        cb->file = NULL;
        return FS_E_NOMEM;
    }
    int rc = put_file(path, 1, NULL, 0, err); /* created now: a name taken is an error now */
    if (rc != FS_OK) {
        free(cb->file);
        cb->file = NULL;
    }
    return rc;
}

/* Fills in the header's counts and CRC (h: the header's bytes). */
static void patch_header(const fs_chunk_builder *cb, uint8_t *h)
{
    for (int k = 0; k < 8; k++) {
        h[cb->counts_at + k] = (uint8_t)(cb->rows >> (8 * k));
        h[cb->counts_at + 8 + k] = (uint8_t)(cb->raw >> (8 * k));
    }
    uint32_t hcrc = fs_crc32c(0, h, cb->header_len);
    for (int k = 0; k < 4; k++)
        h[cb->header_len + k] = (uint8_t)(hcrc >> (8 * k));
}

/* Appends the footer and the trailer to the buffer; *foot_at: the buffer
 * length before them, to undo. */
static int put_footer(fs_chunk_builder *cb, size_t *foot_at)
{
    fs_wbuf *w = &cb->w;
    size_t foot = w->len;
    uint64_t foot_off = cb->flushed + foot;
    *foot_at = foot;
    fs_wbuf_varint(w, cb->nent);
    for (size_t k = 0; k < cb->nent; k++) {
        const widx *x = &cb->ix[k];
        fs_wbuf_varint(w, x->key_len);
        fs_wbuf_bytes(w, x->key, x->key_len);
        fs_wbuf_u64(w, x->off);
        fs_wbuf_u64(w, x->len);
        fs_wbuf_varint(w, x->rows);
        fs_wbuf_u64(w, (uint64_t)x->min_ts);
        fs_wbuf_u64(w, (uint64_t)x->max_ts);
        fs_wbuf_u64(w, x->max_seq);
    }
    uint8_t offb[8];
    for (int k = 0; k < 8; k++)
        offb[k] = (uint8_t)(foot_off >> (8 * k));
    uint32_t fcrc = fs_crc32c(fs_crc32c(0, w->data + foot, w->len - foot), offb, 8);
    fs_wbuf_u32(w, fcrc);
    fs_wbuf_u64(w, foot_off);
    fs_wbuf_bytes(w, MAGIC, MAGIC_LEN);
    return fs_wbuf_status(w) == FS_OK ? FS_OK : FS_E_NOMEM;
}

int fs_chunk_builder_write(fs_chunk_builder *cb, const char *path, int flags, fs_chunk_stats *stats,
                           fs_strbuf *err)
{
    if (cb->file) {
        say(err, "%s: fs_chunk_builder_write on a builder bound to %s", path, cb->file);
        return FS_E_INVAL;
    }
    fs_wbuf *w = &cb->w;
    patch_header(cb, w->data);
    size_t foot;
    if (put_footer(cb, &foot) != FS_OK) {
        w->len = foot;
        say(err, "%s: out of memory writing chunk", path);
        return FS_E_NOMEM;
    }
    int rc = flags & FS_CHUNK_NO_SYNC ? write_direct(path, w->data, w->len, err)
                                      : fs_write_file_atomic(path, w->data, w->len, err);
    if (rc == FS_OK && stats)
        *stats = (fs_chunk_stats){w->len, cb->raw, cb->rows, cb->nent};
    w->len = foot; /* the builder stays as it was: a failed write can be retried */
    return rc;
}

int fs_chunk_builder_finish(fs_chunk_builder *cb, fs_chunk_stats *stats, fs_strbuf *err)
{
    if (!cb->file) {
        say(err, "%s: fs_chunk_builder_finish on a builder bound to no file", cb->label);
        return FS_E_INVAL;
    }
    size_t foot;
    int rc = put_footer(cb, &foot);
    if (rc != FS_OK)
        say(err, "%s: out of memory writing chunk", cb->file);
    /* The rest, then the header over its placeholder (the file is never
     * named before this returns: a crash in between leaves a file that
     * nothing lists). */
    if (rc == FS_OK)
        rc = put_file(cb->file, 0, cb->w.data, cb->w.len, err);
    if (rc == FS_OK) {
        patch_header(cb, cb->head);
        int fd = open(cb->file, O_WRONLY | O_CLOEXEC);
        size_t hl = cb->header_len + 4;
        if (fd < 0 || pwrite(fd, cb->head, hl, 0) != (ssize_t)hl) {
            int e = errno;
            say(err, "cannot write %s: %s", cb->file, strerror(e));
            rc = io_status(e);
        }
        if (fd >= 0 && close(fd) != 0 && rc == FS_OK) {
            say(err, "cannot write %s: %s", cb->file, strerror(errno));
            rc = FS_E_IO;
        }
    }
    if (rc != FS_OK) {
        cb->w.len = foot;
        return rc; /* fs_chunk_builder_free removes the file */
    }
    if (stats)
        *stats = (fs_chunk_stats){cb->flushed + cb->w.len, cb->raw, cb->rows, cb->nent};
    free(cb->file); /* done: the file is the caller's now */
    cb->file = NULL;
    return FS_OK;
}

int fs_chunk_write_rows(const char *path, const fs_batch *rows, const uint32_t *idx, size_t nrows,
                        const fs_chunk_meta *meta, int flags, fs_chunk_stats *stats,
                        fs_strbuf *err)
{
    if (!path || !rows || !meta || !meta->table || (!idx && nrows > rows->n)) {
        say(err, "%s: fs_chunk_write: missing argument", path ? path : "(null)");
        return FS_E_INVAL;
    }
    fs_colspec *cols = malloc((rows->ncols ? rows->ncols : 1) * sizeof *cols);
    if (!cols)
        return FS_E_NOMEM;
    for (size_t c = 0; c < rows->ncols; c++)
        cols[c] = (fs_colspec){rows->cols[c].name, rows->cols[c].type};
    fs_chunk_builder *b = NULL;
    int rc = fs_chunk_builder_new(path, meta, cols, rows->ncols, &b, err);
    free(cols);
    if (rc != FS_OK)
        return rc;
    rview rv = {rows, idx, nrows, 0};
    rc = builder_add(b, &rv, err);
    if (rc == FS_E_NOMEM)
        say(err, "%s: out of memory writing chunk", path);
    if (rc == FS_OK)
        rc = fs_chunk_builder_write(b, path, flags, stats, err);
    fs_chunk_builder_free(b);
    return rc;
}

int fs_chunk_write(const char *path, const fs_batch *rows, const fs_chunk_meta *meta,
                   fs_strbuf *err)
{
    if (!rows) {
        say(err, "%s: fs_chunk_write: missing argument", path ? path : "(null)");
        return FS_E_INVAL;
    }
    return fs_chunk_write_rows(path, rows, NULL, rows->n, meta, 0, NULL, err);
}

/* ------------------------------------------------------------------ */
/* reader                                                              */

typedef struct {
    const uint8_t *seg; /* segment start in the mapping */
    uint64_t len;
} ridx;

struct fs_chunk {
    char *path;
    const uint8_t *map;
    size_t size;
    fs_arena arena; /* table name, column names, entity keys */
    fs_chunk_meta meta;
    uint32_t version; /* of the format: which codecs its blocks may use */
    uint64_t rows, raw_bytes;
    size_t ncols;
    fs_colspec *cols;
    size_t nent;
    fs_chunk_entity *ent;
    ridx *seg;
    atomic_uchar *mapped; /* per 1 MiB region of the file: populated already */
    size_t nregions;
};

static int corrupt(fs_strbuf *err, const char *path, const char *what)
{
    say(err, "%s: corrupt chunk file: %s", path, what);
    return FS_E_CORRUPT;
}

/* Reads a varint length-prefixed string, bounded by what remains. */
static const uint8_t *get_str(fs_rbuf *r, uint64_t *len)
{
    if (fs_rbuf_varint(r, len) || *len > r->len - r->pos)
        return NULL;
    return fs_rbuf_take(r, (size_t)*len);
}

/* Reads len bytes at off; FS_OK, or FS_E_IO with errno set (EIO for a
 * file shorter than it said). */
static int read_at(int fd, uint8_t *buf, size_t len, size_t off)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return FS_E_IO;
        }
        buf += n;
        len -= (size_t)n;
        off += (size_t)n;
    }
    return FS_OK;
}

/* A header that ran past the bytes read: *cut says so, so the caller can
 * read more rather than call the file corrupt. */
static int cut_short(fs_chunk *c, fs_strbuf *err, int *cut, const char *what)
{
    *cut = 1;
    return corrupt(err, c->path, what);
}

/* The header, from the first hlen bytes of the file (in buf). */
static int parse_header(fs_chunk *c, const uint8_t *buf, size_t hlen, size_t *hdr_end,
                        int *cut, fs_strbuf *err)
{
    fs_rbuf r;
    fs_rbuf_init(&r, buf, hlen);
    const uint8_t *magic = fs_rbuf_take(&r, MAGIC_LEN);
    if (!magic || memcmp(magic, MAGIC, MAGIC_LEN) != 0)
        return corrupt(err, c->path, "bad magic at the start (not a chunk file)");
    uint32_t version;
    if (fs_rbuf_u32(&r, &version))
        return cut_short(c, err, cut, "header truncated");
    if (version > FS_CHUNK_VERSION) {
        say(err, "%s: chunk format version %u is newer than this build reads (%d)", c->path,
            version, FS_CHUNK_VERSION);
        return FS_E_VERSION;
    }
    if (version == 0)
        return corrupt(err, c->path, "format version 0");
    c->version = version;
    uint64_t tlen, start, end, ncols;
    const uint8_t *table = get_str(&r, &tlen);
    if (!table || fs_rbuf_u64(&r, &start) || fs_rbuf_u64(&r, &end) ||
        fs_rbuf_u64(&r, &c->meta.max_seq) || fs_rbuf_u64(&r, &c->rows) ||
        fs_rbuf_u64(&r, &c->raw_bytes) || fs_rbuf_varint(&r, &ncols))
        return cut_short(c, err, cut, "header truncated");
    if (ncols > (r.len - r.pos) / 2) /* each column takes at least 2 bytes */
        return cut_short(c, err, cut, "column count larger than the header");
    const uint8_t **names = calloc(ncols ? ncols : 1, sizeof *names);
    uint64_t *nlens = calloc(ncols ? ncols : 1, sizeof *nlens);
    uint8_t *types = calloc(ncols ? ncols : 1, 1);
    int rc = FS_OK;
    if (!names || !nlens || !types) {
        rc = FS_E_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < ncols; k++) {
        names[k] = get_str(&r, &nlens[k]);
        if (!names[k] || fs_rbuf_u8(&r, &types[k])) {
            rc = cut_short(c, err, cut, "header truncated");
            goto out;
        }
    }
    size_t covered = r.pos;
    uint32_t crc;
    if (fs_rbuf_u32(&r, &crc)) {
        rc = cut_short(c, err, cut, "header truncated");
        goto out;
    }
    if (crc != fs_crc32c(0, buf, covered)) {
        rc = corrupt(err, c->path, "header checksum mismatch");
        goto out;
    }
    for (size_t k = 0; k < ncols; k++)
        if (types[k] > FS_VT_TIMESTAMP) {
            rc = corrupt(err, c->path, "unknown column type");
            goto out;
        }
    c->meta.start = (int64_t)start;
    c->meta.end = (int64_t)end;
    c->meta.table = fs_arena_strndup(&c->arena, (const char *)table, (size_t)tlen);
    c->cols = fs_arena_alloc(&c->arena, (ncols ? ncols : 1) * sizeof *c->cols);
    if (!c->meta.table || !c->cols) {
        rc = FS_E_NOMEM;
        goto out;
    }
    c->ncols = (size_t)ncols;
    for (size_t k = 0; k < ncols; k++) {
        c->cols[k].name = fs_arena_strndup(&c->arena, (const char *)names[k], (size_t)nlens[k]);
        c->cols[k].type = (fs_vtype)types[k];
        if (!c->cols[k].name) {
            rc = FS_E_NOMEM;
            goto out;
        }
    }
    *hdr_end = r.pos;
out:
    if (rc == FS_E_NOMEM)
        say(err, "%s: out of memory opening chunk", c->path);
    free(names);
    free(nlens);
    free(types);
    return rc;
}

/* The entity index: the footer's flen bytes (at offset foot) in fbuf, its
 * CRC `crc` also covering the trailer's 8 bytes at t + 4. */
static int parse_index(fs_chunk *c, const uint8_t *fbuf, size_t flen, uint64_t foot,
                       const uint8_t *t, uint32_t crc, size_t hdr_end, fs_strbuf *err)
{
    if (crc != fs_crc32c(fs_crc32c(0, fbuf, flen), t + 4, 8))
        return corrupt(err, c->path, "footer checksum mismatch");

    fs_rbuf r;
    fs_rbuf_init(&r, fbuf, flen);
    uint64_t nent;
    if (fs_rbuf_varint(&r, &nent))
        return corrupt(err, c->path, "footer truncated");
    if (nent > (r.len - r.pos) / 42) /* an entry takes at least 42 bytes */
        return corrupt(err, c->path, "entity count larger than the footer");
    c->nent = (size_t)nent;
    c->ent = calloc(nent ? nent : 1, sizeof *c->ent);
    c->seg = calloc(nent ? nent : 1, sizeof *c->seg);
    if (!c->ent || !c->seg) {
        say(err, "%s: out of memory opening chunk", c->path);
        return FS_E_NOMEM;
    }
    uint64_t total = 0, next_off = hdr_end;
    for (size_t k = 0; k < nent; k++) {
        uint64_t klen, off, len, rows, mn, mx, ms;
        const uint8_t *key = get_str(&r, &klen);
        if (!key || fs_rbuf_u64(&r, &off) || fs_rbuf_u64(&r, &len) || fs_rbuf_varint(&r, &rows) ||
            fs_rbuf_u64(&r, &mn) || fs_rbuf_u64(&r, &mx) || fs_rbuf_u64(&r, &ms))
            return corrupt(err, c->path, "footer truncated");
        if (klen > UINT32_MAX || rows == 0 || (int64_t)mn > (int64_t)mx)
            return corrupt(err, c->path, "bad entity index entry");
        /* Segments are in key order, back to back, between header and footer. */
        if (off != next_off || len > foot - off)
            return corrupt(err, c->path, "entity segment outside the data area");
        next_off = off + len;
        if (k > 0 && key_cmp(c->ent[k - 1].key, c->ent[k - 1].key_len, (const char *)key,
                             (size_t)klen) >= 0)
            return corrupt(err, c->path, "entity index not sorted");
        fs_chunk_entity *e = &c->ent[k];
        e->key = fs_arena_strndup(&c->arena, (const char *)key, (size_t)klen);
        if (!e->key) {
            say(err, "%s: out of memory opening chunk", c->path);
            return FS_E_NOMEM;
        }
        e->key_len = (uint32_t)klen;
        e->rows = rows;
        e->min_ts = (int64_t)mn;
        e->max_ts = (int64_t)mx;
        e->max_seq = ms;
        e->seg_offset = off;
        e->seg_bytes = len;
        c->seg[k].seg = c->map + off;
        c->seg[k].len = len;
        total += rows;
    }
    if (r.pos != r.len)
        return corrupt(err, c->path, "trailing bytes in the footer");
    if (next_off != foot)
        return corrupt(err, c->path, "gap between the last segment and the footer");
    if (total != c->rows)
        return corrupt(err, c->path, "entity row counts do not add up to the header's");
    return FS_OK;
}

/* The trailer and the footer it points to, read from fd: the segments
 * stay unread (and their pages unmapped) until an entity is read. */
static int parse_footer(fs_chunk *c, int fd, size_t hdr_end, fs_strbuf *err)
{
    uint8_t t[TRAILER_LEN];
    if (read_at(fd, t, TRAILER_LEN, c->size - TRAILER_LEN) != FS_OK) {
        say(err, "cannot read %s: %s", c->path, strerror(errno));
        return FS_E_IO;
    }
    if (memcmp(t + 12, MAGIC, MAGIC_LEN) != 0)
        return corrupt(err, c->path, "bad magic at the end (truncated file?)");
    fs_rbuf tr;
    fs_rbuf_init(&tr, t, TRAILER_LEN);
    uint32_t crc;
    uint64_t foot;
    fs_rbuf_u32(&tr, &crc);
    fs_rbuf_u64(&tr, &foot);
    size_t foot_end = c->size - TRAILER_LEN;
    if (foot < hdr_end || foot > foot_end)
        return corrupt(err, c->path, "footer offset out of the file");
    size_t flen = foot_end - (size_t)foot;
    uint8_t *fbuf = malloc(flen ? flen : 1);
    if (!fbuf) {
        say(err, "%s: out of memory opening chunk", c->path);
        return FS_E_NOMEM;
    }
    if (read_at(fd, fbuf, flen, (size_t)foot) != FS_OK) {
        say(err, "cannot read %s: %s", c->path, strerror(errno));
        free(fbuf);
        return FS_E_IO;
    }
    int rc = parse_index(c, fbuf, flen, foot, t, crc, hdr_end, err);
    free(fbuf);
    return rc;
}

int fs_chunk_open(const char *path, fs_chunk **out, fs_strbuf *err)
{
    *out = NULL;
    fs_chunk *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        say(err, "%s: out of memory opening chunk", path);
        return FS_E_NOMEM;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = FS_OK;
    if (fd < 0) {
        int e = errno;
        say(err, "cannot open %s: %s", path, strerror(e));
        rc = e == ENOENT ? FS_E_NOTFOUND : e == ENOMEM ? FS_E_NOMEM : FS_E_IO;
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        say(err, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        rc = FS_E_IO;
        goto fail;
    }
    if ((uint64_t)st.st_size < MAGIC_LEN + 4 + TRAILER_LEN) {
        close(fd);
        rc = corrupt(err, path,
                     st.st_size == 0 ? "empty file" : "shorter than a header and trailer");
        goto fail;
    }
    c->size = (size_t)st.st_size;
    void *m = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        say(err, "cannot map %s: %s", path, strerror(errno));
        close(fd);
        rc = FS_E_IO;
        goto fail;
    }
    c->map = m;
    c->nregions = (c->size >> REGION_BITS) + 1;
    if (!(c->mapped = calloc(c->nregions, sizeof *c->mapped))) {
        close(fd);
        rc = FS_E_NOMEM;
        goto fail;
    }
    /* Header and footer are read, not touched through the mapping: a file
     * whose pages were never touched is unmapped without a TLB flush, which
     * cost more than opening it (a store of thousands of files took 0.2 s
     * to close). A header is small: 4 KiB first, 16 times more while it
     * runs past what was read. */
    size_t data_end = c->size - TRAILER_LEN, hdr_end = 0;
    size_t hlen = data_end < HEADER_READ ? data_end : HEADER_READ;
    uint8_t *hbuf = NULL;
    for (;;) {
        uint8_t *nb = realloc(hbuf, hlen);
        if (!nb) {
            say(err, "%s: out of memory opening chunk", path);
            rc = FS_E_NOMEM;
            break;
        }
        hbuf = nb;
        if ((rc = read_at(fd, hbuf, hlen, 0)) != FS_OK) {
            say(err, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        fs_strbuf msg = {0};
        int cut = 0;
        rc = parse_header(c, hbuf, hlen, &hdr_end, &cut, &msg);
        int again = rc == FS_E_CORRUPT && cut && hlen < data_end;
        if (rc != FS_OK && !again && msg.len)
            say(err, "%s", msg.buf);
        fs_sb_free(&msg);
        if (!again)
            break;
        /* Only cut short: more of it (a damaged header past the bytes read
         * is still refused without reading the whole file). */
        hlen = hlen < data_end / 16 ? hlen * 16 : data_end;
        fs_arena_free(&c->arena);
    }
    free(hbuf);
    if (rc == FS_OK)
        rc = parse_footer(c, fd, hdr_end, err);
    close(fd); /* the mapping keeps the file */
    if (rc != FS_OK)
        goto fail;
    *out = c;
    return FS_OK;
fail:
    fs_chunk_close(c);
    return rc;
}

void fs_chunk_close(fs_chunk *c)
{
    if (!c)
        return;
    if (c->map)
        munmap((void *)c->map, c->size);
    fs_arena_free(&c->arena);
    free(c->ent);
    free(c->seg);
    free((void *)c->mapped);
    free(c->path);
    free(c);
}

typedef struct {
    uintptr_t at;
    size_t len;
} span;

static int by_address(const void *x, const void *y)
{
    const span *a = x, *b = y;
    return (a->at > b->at) - (a->at < b->at);
}

void fs_chunk_close_many(fs_chunk **cs, size_t n)
{
    span *sp = malloc((n ? n : 1) * sizeof *sp);
    size_t m = 0, page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; sp && i < n; i++)
        if (cs[i] && cs[i]->map) {
            sp[m++] = (span){(uintptr_t)cs[i]->map, (cs[i]->size + page - 1) & ~(page - 1)};
            cs[i]->map = NULL; /* unmapped below, with its neighbours */
        }
    if (m)
        qsort(sp, m, sizeof *sp, by_address);
    for (size_t i = 0; i < m;) {
        uintptr_t from = sp[i].at, to = sp[i].at + sp[i].len;
        for (i++; i < m && sp[i].at == to; i++)
            to += sp[i].len;
        munmap((void *)from, to - from);
    }
    free(sp);
    for (size_t i = 0; i < n; i++) /* without sp: each unmaps its own */
        fs_chunk_close(cs[i]);
}

const fs_chunk_meta *fs_chunk_get_meta(const fs_chunk *c) { return &c->meta; }
const char *fs_chunk_path(const fs_chunk *c) { return c->path; }
uint64_t fs_chunk_row_count(const fs_chunk *c) { return c->rows; }
size_t fs_chunk_entity_count(const fs_chunk *c) { return c->nent; }

const fs_colspec *fs_chunk_columns(const fs_chunk *c, size_t *ncols)
{
    *ncols = c->ncols;
    return c->cols;
}

const fs_chunk_entity *fs_chunk_entity_at(const fs_chunk *c, size_t idx)
{
    return idx < c->nent ? &c->ent[idx] : NULL;
}

int fs_chunk_find_entity(fs_chunk *c, const char *key, size_t len)
{
    size_t lo = 0, hi = c->nent;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = key_cmp(c->ent[mid].key, c->ent[mid].key_len, key, len);
        if (r == 0)
            return mid <= (size_t)INT32_MAX ? (int)mid : -1;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void fs_chunk_get_stats(const fs_chunk *c, fs_chunk_stats *out)
{
    out->file_bytes = c->size;
    out->raw_bytes = c->raw_bytes;
    out->rows = c->rows;
    out->entities = c->nent;
}

/* A block located and checksummed, not yet decoded. */
typedef struct {
    uint8_t codec, flags;
    const uint8_t *p;
    size_t len;
} blk;

/* One column decoded. */
typedef struct {
    int64_t *i64;
    double *f64;
    uint8_t *b;
    uint8_t *valid; /* NULL: all present */
    fs_dict_strings ds;
} dcol;

static const char *col_label(const fs_chunk *c, size_t k)
{
    return k == 0 ? "event_ts" : k == 1 ? "seq" : c->cols[k - 2].name;
}

/* Reads one block header at r, checks its count, length and CRC. */
static int take_block(fs_chunk *c, fs_rbuf *r, uint64_t n, const fs_chunk_entity *e, size_t k,
                      int check, blk *b, fs_strbuf *err)
{
    size_t h0 = r->pos;
    uint64_t cnt, len;
    uint32_t crc;
    if (fs_rbuf_u8(r, &b->codec) || fs_rbuf_u8(r, &b->flags) || fs_rbuf_varint(r, &cnt) ||
        fs_rbuf_varint(r, &len))
        goto bad;
    if (b->flags & ~F_KNOWN || (b->flags & F_MINMAX_I64 && b->flags & F_MINMAX_F64))
        goto bad;
    if (b->flags & (F_MINMAX_I64 | F_MINMAX_F64)) {
        uint64_t mn, mx;
        if (fs_rbuf_u64(r, &mn) || fs_rbuf_u64(r, &mx))
            goto bad;
    }
    size_t h1 = r->pos;
    if (fs_rbuf_u32(r, &crc) || cnt != n || len > r->len - r->pos)
        goto bad;
    b->len = (size_t)len;
    b->p = fs_rbuf_take(r, b->len);
    if (!b->p)
        goto bad;
    if (check && crc != fs_crc32c(fs_crc32c(0, r->data + h0, h1 - h0), b->p, b->len)) {
        say(err, "%s: entity %s, column %s: checksum mismatch", c->path, e->key,
            col_label(c, k));
        return FS_E_CORRUPT;
    }
    return FS_OK;
bad:
    say(err, "%s: entity %s, column %s: malformed block header", c->path, e->key,
        col_label(c, k));
    return FS_E_CORRUPT;
}

static int codec_fits(uint8_t codec, fs_vtype t, uint32_t version)
{
    switch (t) {
    case FS_VT_INT64:
    case FS_VT_TIMESTAMP: return codec == C_DOD || codec == C_FOR;
    case FS_VT_FLOAT64:
        return codec == C_DECIMAL || codec == C_GORILLA || (codec == C_BYTEXOR && version >= 2);
    case FS_VT_STRING: return codec == C_DICT;
    case FS_VT_BOOL: return codec == C_BOOL;
    }
    return 0;
}

static int decode_i64(const blk *b, size_t n, int64_t *out)
{
    fs_rbuf r;
    fs_rbuf_init(&r, b->p, b->len);
    int rc = b->codec == C_DOD ? fs_dod_decode(&r, n, out) : fs_for_decode(&r, n, out);
    return rc == FS_OK && !r.corrupt && r.pos == r.len ? FS_OK : FS_E_CORRUPT;
}

static int check_batch_columns(const fs_chunk *c, const fs_batch *out, fs_strbuf *err)
{
    if (out->ncols != c->ncols) {
        say(err, "%s: the batch has %zu columns, the chunk %zu", c->path, out->ncols,
            c->ncols);
        return FS_E_INVAL;
    }
    for (size_t k = 0; k < c->ncols; k++)
        if (out->cols[k].type != c->cols[k].type || !out->cols[k].name ||
            strcmp(out->cols[k].name, c->cols[k].name) != 0) {
            say(err, "%s: column %zu is %s in the chunk but %s in the batch", c->path, k,
                c->cols[k].name, out->cols[k].name ? out->cols[k].name : "(null)");
            return FS_E_INVAL;
        }
    return FS_OK;
}

/* Maps the file's pages of the regions under [p, p + len) that no read
 * mapped before, a region (1 MiB) in one call: page by page, each fault
 * mapping 64 KiB, the faults of a scan over all entities cost more than a
 * tenth of the decoding on a VM. Only a hint: unmapped, pages fault in as
 * they are read. */
static void populate(fs_chunk *c, const uint8_t *p, size_t len)
{
#ifdef MADV_POPULATE_READ
    size_t off = (size_t)(p - c->map);
    for (size_t r = off >> REGION_BITS; r <= (off + len) >> REGION_BITS && r < c->nregions; r++) {
        if (atomic_load_explicit(&c->mapped[r], memory_order_relaxed) ||
            atomic_exchange_explicit(&c->mapped[r], 1, memory_order_relaxed))
            continue;
        size_t from = r << REGION_BITS, to = from + ((size_t)1 << REGION_BITS);
        madvise((void *)(c->map + from), (to < c->size ? to : c->size) - from, MADV_POPULATE_READ);
    }
#else
    (void)c;
    (void)p;
    (void)len;
#endif
}

/* Reads entity idx into `out`, whose column k takes the chunk's column
 * map[k] (types checked by the caller), or stays null when map[k] < 0.
 * Blocks of columns nobody asked for are stepped over unchecked. */
static int read_entity(fs_chunk *c, int idx, const int *map, fs_batch *out, fs_strbuf *err)
{
    int rc = FS_OK;
    const fs_chunk_entity *e = &c->ent[idx];
    fs_rbuf r;
    fs_rbuf_init(&r, c->seg[idx].seg, (size_t)c->seg[idx].len);
    populate(c, c->seg[idx].seg, (size_t)c->seg[idx].len);

    /* Segment head: must repeat the index entry. */
    uint64_t klen, n;
    const uint8_t *key = get_str(&r, &klen);
    if (!key || klen != e->key_len || memcmp(key, e->key, e->key_len) != 0 ||
        fs_rbuf_varint(&r, &n) || n != e->rows) {
        say(err, "%s: entity %s: segment does not match the index", c->path, e->key);
        return FS_E_CORRUPT;
    }
    if (n > SIZE_MAX / 16) {
        say(err, "%s: entity %s: too many rows", c->path, e->key);
        return FS_E_CORRUPT;
    }

    /* Pass 1: locate every block and check its CRC. */
    size_t nblk = 2 + 2 * c->ncols, nb = 0, ncc = c->ncols ? c->ncols : 1;
    blk *blocks = calloc(nblk, sizeof *blocks);
    size_t *blk_col = calloc(nblk, sizeof *blk_col); /* 0 ts, 1 seq, 2+k column k */
    dcol *dc = calloc(ncc, sizeof *dc);
    int *dest = malloc(ncc * sizeof *dest); /* chunk column -> the out column it decodes into */
    const char **dcopy = NULL;
    size_t n0 = out->n;
    if (!blocks || !blk_col || !dc || !dest) {
        rc = FS_E_NOMEM;
        goto out;
    }
    for (size_t m = 0; m < c->ncols; m++)
        dest[m] = -1;
    for (size_t k = out->ncols; k-- > 0;)
        if (map[k] >= 0)
            dest[map[k]] = (int)k; /* the first out column of a chunk column */
    for (size_t k = 0; k < 2 + c->ncols; k++) {
        int want = k < 2 || dest[k - 2] >= 0;
        blk skip, *b = want ? &blocks[nb] : &skip;
        if ((rc = take_block(c, &r, n, e, k, want, b, err)) != FS_OK)
            goto out;
        if (want)
            blk_col[nb++] = k;
        if (k >= 2 && b->flags & F_VALIDITY) {
            b = want ? &blocks[nb] : &skip;
            if ((rc = take_block(c, &r, n, e, k, want, b, err)) != FS_OK)
                goto out;
            if (want)
                blk_col[nb++] = k;
        }
    }
    if (r.pos != r.len) {
        say(err, "%s: entity %s: trailing bytes after the last block", c->path, e->key);
        rc = FS_E_CORRUPT;
        goto out;
    }

    /* Pass 2: decode and validate, straight into the rows after out's last
     * (out->n moves only once everything checked out, so a failure leaves
     * out as it was): no scratch arrays, and a reused batch takes no page
     * faults. */
    size_t room = n0 + (size_t)n; /* segments are appended one by one: grow geometrically */
    if (room > out->cap && room < 2 * out->cap)
        room = 2 * out->cap;
    if (fs_batch_reserve(out, room) != FS_OK) {
        rc = FS_E_NOMEM;
        goto out;
    }
    int64_t *ts = out->event_ts + n0, *seq = (int64_t *)(out->seq + n0);
    for (size_t i = 0; i < nb; i++) {
        const blk *b = &blocks[i];
        size_t k = blk_col[i];
        int is_validity = k >= 2 && i > 0 && blk_col[i - 1] == k;
        int ok;
        if (k < 2) {
            ok = (b->codec == C_DOD || b->codec == C_FOR) && !(b->flags & ~F_MINMAX_I64) &&
                 decode_i64(b, (size_t)n, k == 0 ? ts : seq) == FS_OK;
        } else if (is_validity) {
            dcol *d = &dc[k - 2];
            fs_rbuf vr;
            fs_rbuf_init(&vr, b->p, b->len);
            d->valid = out->cols[dest[k - 2]].valid + n0;
            ok = b->codec == C_BOOL && b->flags == 0 &&
                 fs_bool_decode(&vr, (size_t)n, d->valid) == FS_OK && !vr.corrupt &&
                 vr.pos == vr.len;
        } else {
            fs_vtype t = c->cols[k - 2].type;
            dcol *d = &dc[k - 2];
            fs_column *oc = &out->cols[dest[k - 2]];
            uint8_t want = t == FS_VT_FLOAT64 ? F_MINMAX_F64
                           : t == FS_VT_INT64 || t == FS_VT_TIMESTAMP ? F_MINMAX_I64
                                                                      : 0;
            fs_rbuf vr;
            fs_rbuf_init(&vr, b->p, b->len);
            ok = codec_fits(b->codec, t, c->version) && !(b->flags & ~(want | F_VALIDITY));
            if (ok) {
                switch (t) {
                case FS_VT_INT64:
                case FS_VT_TIMESTAMP:
                    d->i64 = oc->i64 + n0;
                    ok = decode_i64(b, (size_t)n, d->i64) == FS_OK;
                    break;
                case FS_VT_FLOAT64:
                    d->f64 = oc->f64 + n0;
                    if (b->codec == C_DECIMAL)
                        ok = fs_decimal_decode(&vr, (size_t)n, d->f64) == FS_OK;
                    else if (b->codec == C_BYTEXOR)
                        ok = fs_bytexor_decode(&vr, (size_t)n, d->f64) == FS_OK;
                    else
                        ok = fs_gorilla_decode(&vr, (size_t)n, d->f64) == FS_OK;
                    ok = ok && !vr.corrupt && vr.pos == vr.len;
                    break;
                case FS_VT_BOOL:
                    d->b = oc->b + n0;
                    ok = fs_bool_decode(&vr, (size_t)n, d->b) == FS_OK && !vr.corrupt &&
                         vr.pos == vr.len;
                    break;
                case FS_VT_STRING:
                    ok = fs_dict_decode(&vr, (size_t)n, &d->ds) == FS_OK && !vr.corrupt &&
                         vr.pos == vr.len;
                    break;
                }
            }
        }
        if (!ok) {
            say(err, "%s: entity %s, column %s: block does not decode", c->path, e->key,
                col_label(c, k));
            rc = FS_E_CORRUPT;
            goto out;
        }
    }
    /* (event_ts, seq) sorted and consistent with the index and the header. */
    uint64_t max_seq = 0;
    int sorted = 1;
    for (size_t i = 0; i < n; i++) {
        if ((uint64_t)seq[i] > max_seq)
            max_seq = (uint64_t)seq[i];
        if (i > 0 && (ts[i] < ts[i - 1] ||
                      (ts[i] == ts[i - 1] && (uint64_t)seq[i] < (uint64_t)seq[i - 1])))
            sorted = 0;
    }
    if (!sorted || ts[0] != e->min_ts || ts[n - 1] != e->max_ts || max_seq != e->max_seq ||
        ts[0] < c->meta.start || ts[n - 1] >= c->meta.end || max_seq > c->meta.max_seq) {
        say(err, "%s: entity %s: event_ts/seq unsorted or disagree with the index", c->path,
   e->key);
        rc = FS_E_CORRUPT;
        goto out;
    }

    /* The rest a column at a time, with one copy of the key for all rows (a
     * row at a time, with its zeroing, was most of the cost of reading a
     * chunk). */
    const char *key_copy = n0 && out->entity_len[n0 - 1] == e->key_len &&
                                   memcmp(out->entity[n0 - 1], e->key, e->key_len) == 0
                               ? out->entity[n0 - 1]
                               : fs_arena_strndup(&out->arena, e->key, e->key_len);
    if (!key_copy) {
        rc = FS_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        out->entity[n0 + i] = key_copy;
        out->entity_len[n0 + i] = (uint32_t)e->key_len;
    }
    for (size_t k = 0; k < out->ncols; k++) {
        fs_column *col = &out->cols[k];
        uint8_t *valid = col->valid + n0;
        if (map[k] < 0) { /* a column this chunk does not have: null */
            memset(valid, 0, (size_t)n);
            switch (col->type) {
            case FS_VT_INT64:
            case FS_VT_TIMESTAMP: memset(col->i64 + n0, 0, (size_t)n * sizeof *col->i64); break;
            case FS_VT_FLOAT64:
                for (size_t i = 0; i < n; i++)
                    col->f64[n0 + i] = 0;
                break;
            case FS_VT_BOOL: memset(col->b + n0, 0, (size_t)n); break;
            case FS_VT_STRING:
                for (size_t i = 0; i < n; i++) {
                    col->s[n0 + i] = "";
                    col->slen[n0 + i] = 0;
                }
                break;
            }
            continue;
        }
        dcol *d = &dc[map[k]];
        if ((int)k != dest[map[k]]) { /* the same chunk column asked for twice: copy the first */
            const fs_column *first = &out->cols[dest[map[k]]];
            memcpy(valid, first->valid + n0, (size_t)n);
            switch (col->type) {
            case FS_VT_INT64:
            case FS_VT_TIMESTAMP: memcpy(col->i64 + n0, first->i64 + n0, (size_t)n * sizeof *col->i64); break;
            case FS_VT_FLOAT64: memcpy(col->f64 + n0, first->f64 + n0, (size_t)n * sizeof *col->f64); break;
            case FS_VT_BOOL: memcpy(col->b + n0, first->b + n0, (size_t)n); break;
            case FS_VT_STRING:
                memcpy(col->s + n0, first->s + n0, (size_t)n * sizeof *col->s);
                memcpy(col->slen + n0, first->slen + n0, (size_t)n * sizeof *col->slen);
                break;
            }
            continue;
        }
        if (!d->valid) /* no bitmap: every value present */
            memset(valid, 1, (size_t)n);
        switch (col->type) { /* a null row's slot holds 0, as every batch's does */
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP:
            if (d->valid)
                for (size_t i = 0; i < n; i++)
                    col->i64[n0 + i] = valid[i] ? col->i64[n0 + i] : 0;
            break;
        case FS_VT_FLOAT64:
            if (d->valid)
                for (size_t i = 0; i < n; i++)
                    col->f64[n0 + i] = valid[i] ? col->f64[n0 + i] : 0;
            break;
        case FS_VT_BOOL:
            if (d->valid)
                for (size_t i = 0; i < n; i++)
                    col->b[n0 + i] = valid[i] ? col->b[n0 + i] : 0;
            break;
        case FS_VT_STRING: {
            /* One arena copy per distinct string, shared by its rows. */
            free(dcopy);
            dcopy = calloc(d->ds.ndict ? d->ds.ndict : 1, sizeof *dcopy);
            if (!dcopy) {
                rc = FS_E_NOMEM;
                goto out;
            }
            for (size_t j = 0; j < d->ds.ndict; j++)
                if (!(dcopy[j] = fs_arena_strndup(&out->arena, d->ds.dict[j], d->ds.dict_lens[j]))) {
                    rc = FS_E_NOMEM;
                    goto out;
                }
            for (size_t i = 0; i < n; i++) {
                int v = valid[i];
                col->s[n0 + i] = v ? dcopy[d->ds.codes[i]] : "";
                col->slen[n0 + i] = v ? d->ds.dict_lens[d->ds.codes[i]] : 0;
            }
            break;
        }
        }
    }
    out->n = n0 + (size_t)n;
out:
    if (rc == FS_E_NOMEM)
        say(err, "%s: entity %s: out of memory", c->path, e->key);
    for (size_t k = 0; dc && k < c->ncols; k++) /* the values live in out: only dictionaries are ours */
        fs_dict_strings_free(&dc[k].ds);
    free(dc);
    free(dest);
    free(dcopy);
    free(blocks);
    free(blk_col);
    return rc;
}

int fs_chunk_read_entity(fs_chunk *c, int idx, fs_batch *out, fs_strbuf *err)
{
    if (idx < 0 || (size_t)idx >= c->nent) {
        say(err, "%s: entity index %d out of range", c->path, idx);
        return FS_E_INVAL;
    }
    int rc = check_batch_columns(c, out, err);
    if (rc != FS_OK)
        return rc;
    int *map = malloc((c->ncols ? c->ncols : 1) * sizeof *map);
    if (!map)
        return FS_E_NOMEM;
    for (size_t k = 0; k < c->ncols; k++)
        map[k] = (int)k;
    rc = read_entity(c, idx, map, out, err);
    free(map);
    return rc;
}

int fs_chunk_column_index(const fs_chunk *c, const char *name, fs_vtype *type)
{
    for (size_t k = 0; k < c->ncols; k++)
        if (strcmp(c->cols[k].name, name) == 0) {
            if (type)
                *type = c->cols[k].type;
            return (int)k;
        }
    return -1;
}

int fs_chunk_read_entity_cols(fs_chunk *c, int idx, const int *map, fs_batch *out, fs_strbuf *err)
{
    if (idx < 0 || (size_t)idx >= c->nent) {
        say(err, "%s: entity index %d out of range", c->path, idx);
        return FS_E_INVAL;
    }
    for (size_t k = 0; k < out->ncols; k++)
        if (map[k] >= 0 && ((size_t)map[k] >= c->ncols || c->cols[map[k]].type != out->cols[k].type)) {
            say(err, "%s: column %s is not of the type asked for", c->path,
                (size_t)map[k] < c->ncols ? c->cols[map[k]].name : "(out of range)");
            return FS_E_INVAL;
        }
    return read_entity(c, idx, map, out, err);
}

int fs_chunk_read_all(fs_chunk *c, fs_batch *out, fs_strbuf *err)
{
    for (size_t k = 0; k < c->nent; k++) {
        int rc = fs_chunk_read_entity(c, (int)k, out, err);
        if (rc != FS_OK)
            return rc;
    }
    return FS_OK;
}
