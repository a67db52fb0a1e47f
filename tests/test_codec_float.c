/* Tests for the float codecs: src/codec/gorilla.c (XOR, any bit pattern),
 * src/codec/bytexor.c (byte-aligned XOR, any bit pattern) and
 * src/codec/decimal.c (decimal scaling + delta + frame-of-reference packing).
 *
 * Data come from fixed-seed splitmix64 generators, so every run checks the
 * same values and the golden sizes below are stable. Round trips compare bit
 * patterns with memcmp (never ==, which would let -0.0 pass for 0.0 and fail
 * every NaN). Decoders always read from a malloc'd copy of exactly the
 * encoded length, so under ASan (make SAN=1) any read past the end shows. */
#include "test.h"

#include "codec/buf.h"
#include "codec/bytexor.h"
#include "codec/decimal.h"
#include "codec/gorilla.h"
#include "fstore.h"

#include <float.h>

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014), as in Vigna's reference code. */
static uint64_t rng(void) { return test_splitmix64(&rng_state); }

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

typedef int (*enc_fn)(const double *, size_t, fs_wbuf *);
typedef int (*dec_fn)(fs_rbuf *, size_t, double *);

typedef struct {
    const char *name;
    enc_fn enc;
    dec_fn dec;
} codec;

static const codec GORILLA = {"gorilla", fs_gorilla_encode, fs_gorilla_decode};
static const codec DECIMAL = {"decimal", fs_decimal_encode, fs_decimal_decode};
static const codec BYTEXOR = {"bytexor", fs_bytexor_encode, fs_bytexor_decode};
static const codec *const ALL[] = {&GORILLA, &DECIMAL, &BYTEXOR};
#define NCODECS (sizeof ALL / sizeof ALL[0])

enum shape { RANDOM_BITS, CONSTANT, MONOTONE, WALK2, QTY8, INTEGERS, SPECIALS, NSHAPES };
static const char *const shape_names[NSHAPES] = {
    "random bits", "constant", "monotone", "walk 2 dec", "qty 8 dec", "integers", "specials",
};

/* Fills v[0..n) with the shape, from a seed fixed per shape. */
static void gen(enum shape s, double *v, size_t n)
{
    rng_state = 1000 + (uint64_t)s;
    int64_t cents = 4300000; /* 43000.00 */
    static const double specials[] = {
        NAN, -NAN, INFINITY, -INFINITY, -0.0, 0.0, DBL_MAX, -DBL_MAX, DBL_MIN,
        DBL_TRUE_MIN, 4.9e-320, -DBL_TRUE_MIN, 1.0, 43000.25,
    };
    for (size_t k = 0; k < n; k++) {
        switch (s) {
        case RANDOM_BITS:
            v[k] = from_bits(rng());
            break;
        case CONSTANT:
            v[k] = 43251.37;
            break;
        case MONOTONE: /* 100.00, 100.01, ... a tick a row */
            v[k] = (double)(10000 + (int64_t)k) / 100;
            break;
        case WALK2: /* steps of -50..+50 cents */
            cents += (int64_t)(rng() % 101) - 50;
            v[k] = (double)cents / 100;
            break;
        case QTY8: /* quantities 0..10 with 8 decimals */
            v[k] = (double)(int64_t)(rng() % 1000000000) / 1e8;
            break;
        case INTEGERS:
            v[k] = (double)(int64_t)(rng() % 2000000) - 1000000;
            break;
        case SPECIALS: /* the specials, NaN payloads, and plain values */
            if (rng() % 4 == 0)
                v[k] = from_bits(UINT64_C(0x7FF0000000000000) | (rng() & 0xFFFFFFFFFFFFF) | 1);
            else
                v[k] = specials[rng() % (sizeof specials / sizeof specials[0])];
            break;
        default:
            break;
        }
    }
}

/* Encodes, decodes from an exact-size heap copy, checks the bits and that
 * the decoder consumed everything. Returns the encoded size, or -1 when the
 * encoder refused (its status in *rc). */
static long round_trip(const codec *c, const double *v, size_t n, int *rc)
{
    fs_wbuf w = {0};
    *rc = c->enc(v, n, &w);
    if (*rc != FS_OK) {
        CHECK_INT(w.len, 0); /* a refusal writes nothing */
        fs_wbuf_free(&w);
        return -1;
    }
    uint8_t *copy = malloc(w.len ? w.len : 1);
    if (w.len)
        memcpy(copy, w.data, w.len);
    double *out = malloc((n ? n : 1) * sizeof *out);
    fs_rbuf r;
    fs_rbuf_init(&r, copy, w.len);
    int drc = c->dec(&r, n, out);
    CHECK_INT(drc, FS_OK);
    CHECK_INT(r.pos, w.len);
    if (drc == FS_OK && n && memcmp(out, v, n * sizeof *v) != 0) {
        size_t k = 0;
        while (memcmp(&out[k], &v[k], sizeof *v) == 0)
            k++;
        fprintf(stderr, "  %s: n=%zu differs at %zu: %a vs %a\n", c->name, n, k, out[k], v[k]);
        CHECK(0);
    }
    long len = (long)w.len;
    free(out);
    free(copy);
    fs_wbuf_free(&w);
    return len;
}

static long encoded_size(const codec *c, enum shape s, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    gen(s, v, n);
    int rc;
    long len = round_trip(c, v, n, &rc);
    free(v);
    return len;
}

static const size_t sizes[] = {0, 1, 2, 127, 128, 129, 100000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------- */

TEST(gorilla_round_trips_every_shape)
{
    for (int s = 0; s < NSHAPES; s++)
        for (size_t i = 0; i < NSIZES; i++) {
            long len = encoded_size(&GORILLA, (enum shape)s, sizes[i]);
            CHECK(len >= 0);
            if (sizes[i] == 0)
                CHECK_INT(len, 0);
        }
}

/* Round trips, and fs_bytexor_size is the encoder's exact length. */
TEST(bytexor_round_trips_every_shape)
{
    for (int s = 0; s < NSHAPES; s++)
        for (size_t i = 0; i < NSIZES; i++) {
            size_t n = sizes[i];
            double *v = malloc((n ? n : 1) * sizeof *v);
            gen((enum shape)s, v, n);
            int rc;
            long len = round_trip(&BYTEXOR, v, n, &rc);
            CHECK_INT(len, (long)fs_bytexor_size(v, n));
            free(v);
        }
}

TEST(decimal_round_trips_decimal_shapes)
{
    static const enum shape ok[] = {CONSTANT, MONOTONE, WALK2, QTY8, INTEGERS};
    for (size_t j = 0; j < sizeof ok / sizeof ok[0]; j++)
        for (size_t i = 0; i < NSIZES; i++) {
            long len = encoded_size(&DECIMAL, ok[j], sizes[i]);
            CHECK(len >= 0);
            if (sizes[i] == 0)
                CHECK_INT(len, 0);
        }
}

TEST(decimal_refuses_what_it_cannot_represent)
{
    /* Random bit patterns and specials: INVAL for every n >= 1 here. */
    for (size_t i = 1; i < NSIZES; i++) {
        int rc;
        double *v = malloc(sizes[i] * sizeof *v);
        gen(RANDOM_BITS, v, sizes[i]);
        CHECK_INT(round_trip(&DECIMAL, v, sizes[i], &rc), -1);
        CHECK_INT(rc, FS_E_INVAL);
        gen(SPECIALS, v, sizes[i]);
        if (sizes[i] > 2) { /* the first one or two might be plain values */
            CHECK_INT(round_trip(&DECIMAL, v, sizes[i], &rc), -1);
            CHECK_INT(rc, FS_E_INVAL);
        }
        free(v);
    }
    /* Each special alone, after plain prices. */
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY, -0.0, DBL_MAX, DBL_MIN,
                          DBL_TRUE_MIN, 0.1 + 0.2, 1e300, 9007199254740993.0 * 4};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        double v[3] = {43000.25, 43000.5, bad[j]};
        int rc;
        CHECK_INT(round_trip(&DECIMAL, v, 3, &rc), -1);
        CHECK_INT(rc, FS_E_INVAL);
        CHECK(round_trip(&GORILLA, v, 3, &rc) > 0);
    }
    /* +0.0 is an integer; -0.0 alone is not. */
    double z[2] = {0.0, 0.0};
    int rc;
    CHECK(round_trip(&DECIMAL, z, 2, &rc) > 0);
    double nz[1] = {-0.0};
    CHECK_INT(round_trip(&DECIMAL, nz, 1, &rc), -1);
    CHECK_INT(rc, FS_E_INVAL);
}

TEST(decimal_picks_smallest_exponent)
{
    static const struct {
        enum shape s;
        int e;
    } want[] = {{CONSTANT, 2}, {MONOTONE, 2}, {WALK2, 2}, {QTY8, 8}, {INTEGERS, 0}};
    for (size_t j = 0; j < sizeof want / sizeof want[0]; j++) {
        double v[1000];
        gen(want[j].s, v, 1000);
        fs_wbuf w = {0};
        CHECK_INT(fs_decimal_encode(v, 1000, &w), FS_OK);
        CHECK(w.len > 0);
        if (w.len)
            CHECK_INT(w.data[0], want[j].e);
        fs_wbuf_free(&w);
    }
    /* Edge values: 18 decimals; +-(2^53 - 1) at e = 0. */
    double edge[] = {9007199254740991.0, -9007199254740991.0, 0.0, 1.0};
    int rc;
    CHECK(round_trip(&DECIMAL, edge, 4, &rc) > 0);
    double tiny[] = {1e-18, 3e-18, -7e-18};
    CHECK(round_trip(&DECIMAL, tiny, 3, &rc) > 0);
    CHECK_INT(rc, FS_OK);
}

/* Both codecs on two chunks encoded back to back in one buffer: each
 * decoder stops at its own end (byte-aligned). */
TEST(codecs_concatenate)
{
    double a[300], b[300], oa[300], ob[300];
    gen(WALK2, a, 300);
    gen(RANDOM_BITS, b, 300);
    fs_wbuf w = {0};
    CHECK_INT(fs_gorilla_encode(b, 300, &w), FS_OK);
    CHECK_INT(fs_decimal_encode(a, 300, &w), FS_OK);
    CHECK_INT(fs_gorilla_encode(a, 300, &w), FS_OK);
    CHECK_INT(fs_bytexor_encode(b, 299, &w), FS_OK);
    CHECK_INT(fs_decimal_encode(a, 300, &w), FS_OK);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    CHECK_INT(fs_gorilla_decode(&r, 300, ob), FS_OK);
    CHECK(memcmp(ob, b, sizeof b) == 0);
    CHECK_INT(fs_decimal_decode(&r, 300, oa), FS_OK);
    CHECK(memcmp(oa, a, sizeof a) == 0);
    memset(oa, 0, sizeof oa);
    CHECK_INT(fs_gorilla_decode(&r, 300, oa), FS_OK);
    CHECK(memcmp(oa, a, sizeof a) == 0);
    memset(ob, 0, sizeof ob);
    CHECK_INT(fs_bytexor_decode(&r, 299, ob), FS_OK);
    CHECK(memcmp(ob, b, 299 * sizeof *b) == 0);
    memset(oa, 0, sizeof oa);
    CHECK_INT(fs_decimal_decode(&r, 300, oa), FS_OK);
    CHECK(memcmp(oa, a, sizeof a) == 0);
    CHECK_INT(r.pos, w.len);
    fs_wbuf_free(&w);
}

/* A gorilla stream that does not start on a byte boundary (bits already
 * pending in the buffer) goes on from those bits: it must read back the
 * same. */
TEST(gorilla_after_pending_bits)
{
    double a[500], o[500];
    gen(WALK2, a, 250);
    gen(RANDOM_BITS, a + 250, 250);
    fs_wbuf w = {0};
    fs_wbuf_bits(&w, 5, 3);
    CHECK_INT(fs_gorilla_encode(a, 500, &w), FS_OK);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    uint64_t head = 0;
    CHECK_INT(fs_rbuf_bits(&r, 3, &head), 0);
    CHECK_INT(head, 5);
    CHECK_INT(fs_gorilla_decode(&r, 500, o), FS_OK);
    CHECK(memcmp(o, a, sizeof a) == 0);
    fs_wbuf_free(&w);
}

/* ---------------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------------- */

/* Golden sizes: computed once and written down so that any change of the
 * layout or of the encoder's choices shows here. */
TEST(golden_sizes)
{
    CHECK_INT(encoded_size(&GORILLA, CONSTANT, 1), 8);
    CHECK_INT(encoded_size(&GORILLA, CONSTANT, 129), 24); /* 64 + 128 bits */
    CHECK_INT(encoded_size(&GORILLA, RANDOM_BITS, 128), 1058); /* > 8 B a value */
    CHECK_INT(encoded_size(&GORILLA, WALK2, 1000), 5290);
    CHECK_INT(encoded_size(&GORILLA, INTEGERS, 1000), 4240);
    CHECK_INT(encoded_size(&GORILLA, SPECIALS, 1000), 6921);
    CHECK_INT(encoded_size(&BYTEXOR, CONSTANT, 1), 8);
    CHECK_INT(encoded_size(&BYTEXOR, CONSTANT, 129), 72); /* 8 + 64 nibble bytes */
    CHECK_INT(encoded_size(&BYTEXOR, CONSTANT, 130), 73); /* one unused nibble */
    CHECK_INT(encoded_size(&BYTEXOR, WALK2, 1000), 5567);
    CHECK_INT(encoded_size(&BYTEXOR, SPECIALS, 1000), 7752);
    CHECK_INT(encoded_size(&DECIMAL, CONSTANT, 1), 5);    /* e, svarint 4325137 (4 bytes) */
    CHECK_INT(encoded_size(&DECIMAL, CONSTANT, 129), 7);  /* + min 0, width 0 */
    CHECK_INT(encoded_size(&DECIMAL, MONOTONE, 129), 6);  /* e, 10000 (3 bytes), min 1, width 0 */
    CHECK_INT(encoded_size(&DECIMAL, WALK2, 1000), 896);
    CHECK_INT(encoded_size(&DECIMAL, QTY8, 1000), 3926);
    CHECK_INT(encoded_size(&DECIMAL, INTEGERS, 1000), 2792);
}

TEST(decimal_beats_gorilla_on_prices)
{
    const size_t n = 100000;
    for (int s = 0; s < NSHAPES; s++) {
        long g = encoded_size(&GORILLA, (enum shape)s, n);
        long d = encoded_size(&DECIMAL, (enum shape)s, n);
        fprintf(stderr, "  info: %-11s n=%zu  gorilla %.3f B/value", shape_names[s], n,
                (double)g / (double)n);
        if (d >= 0)
            fprintf(stderr, "  decimal %.3f B/value\n", (double)d / (double)n);
        else
            fprintf(stderr, "  decimal n/a (FS_E_INVAL)\n");
        if (s == WALK2) {
            CHECK(d >= 0 && d < g);
            CHECK(d <= 2 * (long)n); /* ~1-2 bytes a price */
        }
    }
}

/* ---------------------------------------------------------------------------
 * Corrupt input
 * ------------------------------------------------------------------------- */

static int decode_bytes(const codec *c, const uint8_t *bytes, size_t len, size_t n, double *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, bytes, len);
    fs_rbuf r;
    fs_rbuf_init(&r, copy, len);
    int rc = c->dec(&r, n, out);
    free(copy);
    return rc;
}

TEST(every_truncation_is_corrupt)
{
    static const size_t ns[] = {1, 2, 127, 128, 129, 300};
    double v[300], out[300];
    for (int s = 0; s < NSHAPES; s++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (size_t ci = 0; ci < NCODECS; ci++) {
                const codec *c = ALL[ci];
                size_t n = ns[i];
                gen((enum shape)s, v, n);
                fs_wbuf w = {0};
                if (c->enc(v, n, &w) != FS_OK) {
                    fs_wbuf_free(&w);
                    continue;
                }
                for (size_t len = 0; len < w.len; len++) {
                    int rc = decode_bytes(c, w.data, len, n, out);
                    if (rc != FS_E_CORRUPT) {
                        fprintf(stderr, "  %s %s n=%zu len=%zu/%zu: rc %d\n", c->name,
                                shape_names[s], n, len, w.len, rc);
                        CHECK_INT(rc, FS_E_CORRUPT);
                    }
                }
                fs_wbuf_free(&w);
            }
}

TEST(handmade_corruptions)
{
    double out[4];
    /* decimal: exponent 19 */
    const uint8_t e19[] = {19, 0};
    CHECK_INT(decode_bytes(&DECIMAL, e19, sizeof e19, 1, out), FS_E_CORRUPT);
    const uint8_t e18[] = {18, 0};
    CHECK_INT(decode_bytes(&DECIMAL, e18, sizeof e18, 1, out), FS_OK);
    /* decimal: bit width 65, then 64 (fine with 8 bytes of bits) */
    const uint8_t w65[] = {0, 2, 0, 65, 1, 0, 0, 0, 0, 0, 0, 0};
    CHECK_INT(decode_bytes(&DECIMAL, w65, sizeof w65, 2, out), FS_E_CORRUPT);
    const uint8_t w64[] = {0, 2, 0, 64, 1, 0, 0, 0, 0, 0, 0, 0};
    CHECK_INT(decode_bytes(&DECIMAL, w64, sizeof w64, 2, out), FS_OK);
    /* decimal: first integer 2^53 (zigzag 2^54: LEB128 seven 0x80, 0x20) */
    const uint8_t big[] = {0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    CHECK_INT(decode_bytes(&DECIMAL, big, sizeof big, 1, out), FS_E_CORRUPT);
    /* decimal: a delta taking the integer past 2^53 */
    const uint8_t past[] = {0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 2, 0};
    CHECK_INT(decode_bytes(&DECIMAL, past, sizeof past, 1, out), FS_OK); /* 2^53-1 */
    CHECK_INT(decode_bytes(&DECIMAL, past, sizeof past, 2, out), FS_E_CORRUPT);
    /* decimal: over-long varint */
    const uint8_t longv[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK_INT(decode_bytes(&DECIMAL, longv, sizeof longv, 1, out), FS_E_CORRUPT);

    /* gorilla: 64 bits of value 0, then "1","0" (reuse) with no window */
    const uint8_t reuse[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0};
    CHECK_INT(decode_bytes(&GORILLA, reuse, sizeof reuse, 2, out), FS_E_CORRUPT);
    /* gorilla: "1","1", lead 63, len-1 = 1 (len 2): 63 + 2 > 64 */
    uint8_t wide[16] = {0};
    wide[8] = (uint8_t)(3 | (63 << 2));       /* ctl bits + low 6 bits of lead */
    wide[9] = (uint8_t)(1 << 0);              /* len-1 = 1, in bits 8..13 */
    CHECK_INT(decode_bytes(&GORILLA, wide, sizeof wide, 2, out), FS_E_CORRUPT);
    wide[9] = 0; /* len 1: lead 63 + 1 = 64, valid (its one bit is 0) */
    CHECK_INT(decode_bytes(&GORILLA, wide, sizeof wide, 2, out), FS_OK);

    /* bytexor: value 0, then nibble 8 (x == 0) for values 1 and 2: 0.0 x 3 */
    uint8_t bx[9 + 8] = {0};
    bx[8] = 0x88;
    CHECK_INT(decode_bytes(&BYTEXOR, bx, 9, 3, out), FS_OK);
    CHECK(out[2] == 0.0);
    bx[8] = 0x89; /* nibble 9: no such count of zero bytes */
    CHECK_INT(decode_bytes(&BYTEXOR, bx, 9, 3, out), FS_E_CORRUPT);
    bx[8] = 0x88; /* two values, so the high nibble is unused and must be 0 */
    CHECK_INT(decode_bytes(&BYTEXOR, bx, 9, 2, out), FS_E_CORRUPT);
    bx[8] = 0x07; /* nibble 7: one byte of x follows, 0x2a */
    bx[9] = 0x2a;
    CHECK_INT(decode_bytes(&BYTEXOR, bx, 10, 2, out), FS_OK);
    uint64_t u;
    memcpy(&u, &out[1], 8);
    CHECK_INT(u, 0x2a);
    CHECK_INT(decode_bytes(&BYTEXOR, bx, 9, 2, out), FS_E_CORRUPT); /* the byte is missing */
}

/* Random garbage and mutated valid encodings: FS_OK or FS_E_CORRUPT only, no
 * crash, no read past the end (ASan). */
TEST(garbage_never_crashes)
{
    double *out = malloc(300 * sizeof *out);
    uint8_t bytes[200];
    int ok = 0, corrupt = 0;
    for (int t = 0; t < 10000; t++) {
        rng_state = 77777 + (uint64_t)t;
        size_t len = (size_t)(rng() % sizeof bytes);
        for (size_t i = 0; i < len; i++)
            bytes[i] = (uint8_t)rng();
        size_t n = (size_t)(rng() % 300);
        for (size_t ci = 0; ci < NCODECS; ci++) {
            const codec *c = ALL[ci];
            int rc = decode_bytes(c, bytes, len, n, out);
            CHECK(rc == FS_OK || rc == FS_E_CORRUPT);
            ok += rc == FS_OK;
            corrupt += rc == FS_E_CORRUPT;
        }
    }
    /* Bit flips in valid encodings. */
    double v[300];
    for (int t = 0; t < 2000; t++) {
        enum shape s = (enum shape)(t % NSHAPES);
        gen(s, v, 300);
        const codec *c = ALL[(size_t)(t / NSHAPES) % NCODECS];
        fs_wbuf w = {0};
        if (c->enc(v, 300, &w) == FS_OK && w.len) {
            rng_state = 99999 + (uint64_t)t;
            for (int f = 0; f < 1 + (int)(rng() % 4); f++) {
                size_t at = (size_t)(rng() % w.len);
                w.data[at] ^= (uint8_t)(1u << (rng() % 8));
            }
            int rc = decode_bytes(c, w.data, w.len, 300, out);
            CHECK(rc == FS_OK || rc == FS_E_CORRUPT);
            ok += rc == FS_OK;
            corrupt += rc == FS_E_CORRUPT;
        }
        fs_wbuf_free(&w);
    }
    fprintf(stderr, "  info: garbage decodes: %d ok, %d corrupt\n", ok, corrupt);
    free(out);
}

int main(void)
{
    RUN(gorilla_round_trips_every_shape);
    RUN(bytexor_round_trips_every_shape);
    RUN(decimal_round_trips_decimal_shapes);
    RUN(decimal_refuses_what_it_cannot_represent);
    RUN(decimal_picks_smallest_exponent);
    RUN(codecs_concatenate);
    RUN(gorilla_after_pending_bits);
    RUN(golden_sizes);
    RUN(decimal_beats_gorilla_on_prices);
    RUN(every_truncation_is_corrupt);
    RUN(handmade_corruptions);
    RUN(garbage_never_crashes);
    TEST_EXIT();
}
