/* Integer codecs: the byte/bit buffers (buf.c), bit-packed booleans and
 * frame-of-reference int64 (bitpack.c), delta-of-delta timestamps
 * (deltadelta.c). Deterministic: every random input comes from a fixed-seed
 * xorshift64 generator, so a failure reproduces. */
#include "test.h"

#include "codec/bitpack.h"
#include "codec/buf.h"
#include "codec/deltadelta.h"
#include "fstore.h"

#include <stdint.h>

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng(void) { return test_xorshift64(&rng_state); }

/* ---------------------------------------------------------------- buf.c */

static const uint64_t U_CASES[] = {0, 1, 2, 127, 128, 255, 256, 16383, 16384,
                                   UINT32_MAX, (uint64_t)INT64_MAX,
                                   (uint64_t)INT64_MAX + 1, UINT64_MAX - 1,
                                   UINT64_MAX};
static const int64_t S_CASES[] = {0, 1, -1, 63, -64, 64, -65, 127, 128, -128,
                                  INT32_MIN, INT32_MAX, INT64_MIN, INT64_MIN + 1,
                                  INT64_MAX, INT64_MAX - 1};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

TEST(buf_varint_roundtrip)
{
    fs_wbuf w = {0};
    for (size_t i = 0; i < COUNT(U_CASES); i++)
        fs_wbuf_varint(&w, U_CASES[i]);
    for (size_t i = 0; i < COUNT(S_CASES); i++)
        fs_wbuf_svarint(&w, S_CASES[i]);
    CHECK_INT(fs_wbuf_status(&w), FS_OK);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    for (size_t i = 0; i < COUNT(U_CASES); i++) {
        uint64_t v = 12345;
        CHECK_INT(fs_rbuf_varint(&r, &v), 0);
        CHECK(v == U_CASES[i]);
    }
    for (size_t i = 0; i < COUNT(S_CASES); i++) {
        int64_t v = 12345;
        CHECK_INT(fs_rbuf_svarint(&r, &v), 0);
        CHECK_INT(v, S_CASES[i]);
    }
    CHECK_INT(r.pos, w.len);
    CHECK_INT(r.corrupt, 0);
    fs_wbuf_free(&w);
}

TEST(buf_varint_sizes)
{
    struct { uint64_t v; size_t len; } c[] = {
        {0, 1}, {1, 1}, {127, 1}, {128, 2}, {16383, 2}, {16384, 3},
        {UINT64_MAX, 10}};
    for (size_t i = 0; i < COUNT(c); i++) {
        fs_wbuf w = {0};
        fs_wbuf_varint(&w, c[i].v);
        CHECK_INT(w.len, c[i].len);
        fs_wbuf_free(&w);
    }
    /* zigzag: small magnitudes of either sign stay one byte */
    fs_wbuf w = {0};
    fs_wbuf_svarint(&w, -64);
    fs_wbuf_svarint(&w, 63);
    fs_wbuf_svarint(&w, INT64_MIN);
    CHECK_INT(w.len, 1 + 1 + 10);
    CHECK_INT(w.data[0], 127);
    CHECK_INT(w.data[1], 126);
    fs_wbuf_free(&w);
}

TEST(buf_fixed_roundtrip)
{
    fs_wbuf w = {0};
    fs_wbuf_u8(&w, 0xab);
    fs_wbuf_u32(&w, 0x01020304u);
    fs_wbuf_u32(&w, UINT32_MAX);
    fs_wbuf_u64(&w, UINT64_C(0x0102030405060708));
    fs_wbuf_u64(&w, UINT64_MAX);
    CHECK_INT(w.len, 1 + 4 + 4 + 8 + 8);
    /* little-endian on disk whatever the host */
    CHECK_INT(w.data[1], 0x04);
    CHECK_INT(w.data[4], 0x01);
    CHECK_INT(w.data[9], 0x08);
    CHECK_INT(w.data[16], 0x01);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    uint8_t b;
    uint32_t u32;
    uint64_t u64;
    CHECK_INT(fs_rbuf_u8(&r, &b), 0);
    CHECK_INT(b, 0xab);
    CHECK_INT(fs_rbuf_u32(&r, &u32), 0);
    CHECK_INT(u32, 0x01020304u);
    CHECK_INT(fs_rbuf_u32(&r, &u32), 0);
    CHECK(u32 == UINT32_MAX);
    CHECK_INT(fs_rbuf_u64(&r, &u64), 0);
    CHECK(u64 == UINT64_C(0x0102030405060708));
    CHECK_INT(fs_rbuf_u64(&r, &u64), 0);
    CHECK(u64 == UINT64_MAX);
    CHECK_INT(r.corrupt, 0);
    fs_wbuf_free(&w);
}

TEST(buf_bits_mixed_widths)
{
    /* Every width 0..64 in one stream, twice, with random values. */
    uint64_t vals[2 * 65];
    unsigned widths[2 * 65];
    rng_seed(42);
    fs_wbuf w = {0};
    size_t total = 0;
    for (unsigned k = 0; k < 2 * 65; k++) {
        widths[k] = k < 65 ? k : 129 - k; /* up then down */
        uint64_t raw = rng(); /* written unmasked: the writer masks */
        vals[k] = widths[k] < 64 ? raw & ((UINT64_C(1) << widths[k]) - 1) : raw;
        fs_wbuf_bits(&w, raw, widths[k]);
        total += widths[k];
    }
    /* high bits beyond the width are ignored by the writer */
    fs_wbuf_bits(&w, UINT64_MAX, 3);
    total += 3;
    fs_wbuf_bits_flush(&w);
    CHECK_INT(w.len, (total + 7) / 8);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    for (unsigned k = 0; k < 2 * 65; k++) {
        uint64_t v = 999;
        CHECK_INT(fs_rbuf_bits(&r, widths[k], &v), 0);
        CHECK(v == vals[k]);
    }
    uint64_t v;
    CHECK_INT(fs_rbuf_bits(&r, 3, &v), 0);
    CHECK_INT(v, 7);
    CHECK_INT(r.corrupt, 0);
    fs_wbuf_free(&w);

    /* writer masks the value to its width */
    fs_wbuf w2 = {0};
    fs_wbuf_bits(&w2, 0xff, 4);
    fs_wbuf_bits(&w2, 0, 4);
    fs_wbuf_bits_flush(&w2);
    CHECK_INT(w2.len, 1);
    CHECK_INT(w2.data[0], 0x0f);
    fs_wbuf_free(&w2);
}

TEST(buf_truncated)
{
    fs_rbuf r;
    uint8_t b = 0;
    uint32_t u32;
    uint64_t u64;
    int64_t s64;
    const uint8_t three[3] = {1, 2, 3};

    fs_rbuf_init(&r, three, 0);
    CHECK_INT(fs_rbuf_u8(&r, &b), -1);
    CHECK_INT(r.corrupt, 1);
    /* reads after the first failure keep failing */
    fs_rbuf_init(&r, three, 3);
    CHECK_INT(fs_rbuf_u32(&r, &u32), -1);
    CHECK_INT(r.corrupt, 1);
    CHECK_INT(fs_rbuf_u8(&r, &b), -1);
    fs_rbuf_init(&r, three, 3);
    CHECK_INT(fs_rbuf_u64(&r, &u64), -1);
    CHECK_INT(r.corrupt, 1);
    fs_rbuf_init(&r, three, 3);
    CHECK(fs_rbuf_take(&r, 4) == NULL);
    CHECK_INT(r.corrupt, 1);
    fs_rbuf_init(&r, three, 3);
    CHECK(fs_rbuf_take(&r, 3) != NULL);
    CHECK_INT(fs_rbuf_bytes(&r, &b, 1), -1);

    /* a varint whose continuation bit points past the end */
    const uint8_t cont[2] = {0x80, 0x80};
    fs_rbuf_init(&r, cont, 2);
    CHECK_INT(fs_rbuf_varint(&r, &u64), -1);
    CHECK_INT(r.corrupt, 1);
    fs_rbuf_init(&r, cont, 2);
    CHECK_INT(fs_rbuf_svarint(&r, &s64), -1);
    CHECK_INT(r.corrupt, 1);

    /* bits past the end, and a width > 64 */
    fs_rbuf_init(&r, three, 3);
    CHECK_INT(fs_rbuf_bits(&r, 24, &u64), 0);
    CHECK_INT(fs_rbuf_bits(&r, 1, &u64), -1);
    CHECK_INT(r.corrupt, 1);
    fs_rbuf_init(&r, three, 3);
    CHECK_INT(fs_rbuf_bits(&r, 65, &u64), -1);
    CHECK_INT(r.corrupt, 1);

    /* every truncation of a UINT64_MAX varint */
    fs_wbuf w = {0};
    fs_wbuf_varint(&w, UINT64_MAX);
    for (size_t len = 0; len < w.len; len++) {
        fs_rbuf_init(&r, w.data, len);
        CHECK_INT(fs_rbuf_varint(&r, &u64), -1);
        CHECK_INT(r.corrupt, 1);
    }
    fs_wbuf_free(&w);
}

TEST(buf_varint_overlong)
{
    fs_rbuf r;
    uint64_t v;
    /* 11 bytes: ten continuation bytes then a terminator */
    uint8_t eleven[11];
    memset(eleven, 0x80, 10);
    eleven[10] = 0x00;
    fs_rbuf_init(&r, eleven, sizeof eleven);
    CHECK_INT(fs_rbuf_varint(&r, &v), -1);
    CHECK_INT(r.corrupt, 1);
    /* 10th byte carrying more than the one remaining bit */
    uint8_t ten[10];
    memset(ten, 0xff, 9);
    ten[9] = 0x02;
    fs_rbuf_init(&r, ten, sizeof ten);
    CHECK_INT(fs_rbuf_varint(&r, &v), -1);
    CHECK_INT(r.corrupt, 1);
    /* ...while the largest legal 10-byte varint decodes */
    ten[9] = 0x01;
    fs_rbuf_init(&r, ten, sizeof ten);
    CHECK_INT(fs_rbuf_varint(&r, &v), 0);
    CHECK(v == UINT64_MAX);
}

/* ---------------------------------------------------------- codec cases */

enum { KIND_RANDOM, KIND_SMALL, KIND_CONST, KIND_REGULAR, KIND_IRREGULAR,
       KIND_SORTED_DUPS, KIND_EXTREMES, KIND_DESC, KIND_COUNT };
static const char *const KIND_NAME[] = {"random", "small", "const", "regular",
                                        "irregular", "sorted_dups", "extremes",
                                        "desc"};
static const size_t SIZES[] = {0, 1, 2, 3, 127, 128, 129, 130, 255, 256, 257, 10000};

#define T0 INT64_C(1700000000000000000) /* 2023-11-14, ns */
#define MINUTE INT64_C(60000000000)

/* Golden encoded sizes in bytes (see golden_sizes), measured when the codecs
 * were written; a change is a format or efficiency change to explain.
 *  dod regular 1-minute bars: 9 (first) + 6 (delta) + one width byte per frame
 *    of 128 = 94 bytes for 10k, 797 for 100k (0.008 bytes/value)
 *  dod irregular ticks (0..10 ms random gaps): ~3.1 bytes/value
 *  dod INT64_MIN/MAX alternating: dod +-2, width 3: 10 + 1 + 78 * 49 + 7
 *  for constant: 79 frames x (4-byte svarint + width 0)
 *  for small (-1000..1000): 11 bits/value + 3 bytes/frame
 *  for extremes: width 64 per frame: 79 x (10 + 1) + 10000 x 8
 *  for regular timestamps: 43 bits/value (why dod exists) */
#define GOLD_DOD_REG_10K 94
#define GOLD_DOD_REG_100K 797
#define GOLD_DOD_IRR_10K 31270
#define GOLD_DOD_EXT_10K 3840
#define GOLD_FOR_CONST_10K 395
#define GOLD_FOR_SMALL_10K 13987
#define GOLD_FOR_EXT_10K 80869
#define GOLD_FOR_REG_10K 54534

static void gen(int kind, size_t n, int64_t *v, uint64_t seed)
{
    rng_seed(seed);
    int64_t t = T0;
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case KIND_RANDOM: v[i] = (int64_t)rng(); break;
        case KIND_SMALL: v[i] = (int64_t)(rng() % 2001) - 1000; break;
        case KIND_CONST: v[i] = INT64_C(-123456789); break;
        case KIND_REGULAR: v[i] = T0 + (int64_t)i * MINUTE; break;
        case KIND_IRREGULAR: /* ticks: random gaps of 0..10 ms, jitter */
            t += (int64_t)(rng() % 10000000);
            v[i] = t;
            break;
        case KIND_SORTED_DUPS:
            if (rng() % 3 == 0)
                t += (int64_t)(rng() % 1000);
            v[i] = t;
            break;
        case KIND_EXTREMES: v[i] = (i % 2) ? INT64_MAX : INT64_MIN; break;
        default: v[i] = INT64_MAX - (int64_t)i * 7; break;
        }
    }
}

typedef int (*enc_fn)(const int64_t *, size_t, fs_wbuf *);
typedef int (*dec_fn)(fs_rbuf *, size_t, int64_t *);

/* Encodes, decodes, checks equality and that every byte was consumed.
 * Returns the encoded size. */
static size_t roundtrip(enc_fn enc, dec_fn dec, const int64_t *v, size_t n,
                        const char *what)
{
    fs_wbuf w = {0};
    int rc = enc(v, n, &w);
    CHECK_INT(rc, FS_OK);
    int64_t *out = malloc((n ? n : 1) * sizeof *out);
    fs_rbuf r;
    fs_rbuf_init(&r, w.data, w.len);
    CHECK_INT(dec(&r, n, out), FS_OK);
    CHECK_INT(r.pos, w.len);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i] != v[i])
            bad++;
    if (bad)
        fprintf(stderr, "  %s n=%zu: %zu values differ\n", what, n, bad);
    CHECK_INT(bad, 0);
    free(out);
    size_t len = w.len;
    fs_wbuf_free(&w);
    return len;
}

/* Every prefix of a valid encoding is FS_E_CORRUPT. For long encodings only
 * a sample of prefixes (every 37th and the last 64) to keep ASan runs short. */
static void truncations(enc_fn enc, dec_fn dec, const int64_t *v, size_t n)
{
    fs_wbuf w = {0};
    CHECK_INT(enc(v, n, &w), FS_OK);
    int64_t *out = malloc((n ? n : 1) * sizeof *out);
    size_t fails = 0;
    for (size_t len = 0; len < w.len; len++) {
        if (w.len > 2048 && len % 37 != 0 && len + 64 < w.len)
            continue;
        /* a heap copy of exactly `len` bytes so ASan catches overreads */
        uint8_t *copy = malloc(len ? len : 1);
        if (len)
            memcpy(copy, w.data, len);
        fs_rbuf r;
        fs_rbuf_init(&r, copy, len);
        if (dec(&r, n, out) != FS_E_CORRUPT)
            fails++;
        free(copy);
    }
    CHECK_INT(fails, 0);
    free(out);
    fs_wbuf_free(&w);
}

static void codec_suite(enc_fn enc, dec_fn dec, const char *name)
{
    int64_t *v = malloc(10000 * sizeof *v);
    for (int k = 0; k < KIND_COUNT; k++) {
        for (size_t s = 0; s < COUNT(SIZES); s++) {
            size_t n = SIZES[s];
            char what[64];
            snprintf(what, sizeof what, "%s/%s", name, KIND_NAME[k]);
            for (uint64_t seed = 1; seed <= (n < 1000 ? 5u : 1u); seed++) {
                gen(k, n, v, seed * 0x9e3779b97f4a7c15u);
                roundtrip(enc, dec, v, n, what);
            }
            if (n <= 1000)
                truncations(enc, dec, v, n);
        }
        gen(k, 10000, v, 7);
        truncations(enc, dec, v, 10000);
    }
    free(v);
}

TEST(for_roundtrips) { codec_suite(fs_for_encode, fs_for_decode, "for"); }
TEST(dod_roundtrips) { codec_suite(fs_dod_encode, fs_dod_decode, "dod"); }

TEST(bits_needed)
{
    CHECK_INT(fs_bits_needed(0), 0);
    CHECK_INT(fs_bits_needed(1), 1);
    CHECK_INT(fs_bits_needed(2), 2);
    CHECK_INT(fs_bits_needed(3), 2);
    CHECK_INT(fs_bits_needed(255), 8);
    CHECK_INT(fs_bits_needed(256), 9);
    CHECK_INT(fs_bits_needed(UINT64_MAX), 64);
    for (unsigned b = 0; b < 64; b++) {
        CHECK_INT(fs_bits_needed(UINT64_C(1) << b), b + 1);
        CHECK_INT(fs_bits_needed((UINT64_C(1) << b) - 1), b);
    }
}

/* Every width 0..64 through the frame packer, at every frame length. */
TEST(frame_pack_all_widths)
{
    uint64_t in[FS_FRAME], out[FS_FRAME];
    rng_seed(3);
    for (unsigned width = 0; width <= 64; width++) {
        for (size_t cnt = 0; cnt <= FS_FRAME; cnt += (cnt < 10 ? 1 : 13)) {
            uint64_t mask = width == 64 ? UINT64_MAX
                                        : (UINT64_C(1) << width) - 1;
            for (size_t i = 0; i < cnt; i++)
                in[i] = (i % 5 == 0) ? mask : rng() & mask;
            fs_wbuf w = {0};
            fs_pack_frame(&w, in, cnt, width);
            CHECK_INT(w.len, (cnt * width + 7) / 8);
            fs_rbuf r;
            fs_rbuf_init(&r, w.data, w.len);
            CHECK_INT(fs_unpack_frame(&r, cnt, width, out), 0);
            CHECK_INT(r.pos, w.len);
            size_t bad = 0;
            for (size_t i = 0; i < cnt; i++)
                bad += out[i] != in[i];
            CHECK_INT(bad, 0);
            fs_wbuf_free(&w);
        }
    }
    fs_rbuf r;
    fs_rbuf_init(&r, "", 0);
    CHECK_INT(fs_unpack_frame(&r, 1, 65, out), -1);
    fs_rbuf_init(&r, "", 0);
    CHECK_INT(fs_unpack_frame(&r, FS_FRAME + 1, 1, out), -1);
}

/* Golden sizes: a change in any of these is a format or efficiency change. */
TEST(golden_sizes)
{
    int64_t *v = malloc(100000 * sizeof *v);
    size_t len;

    /* 10000 regular 1-minute bars: first (9) + delta (6) + 79 frames x 1 */
    gen(KIND_REGULAR, 10000, v, 1);
    len = roundtrip(fs_dod_encode, fs_dod_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_DOD_REG_10K);
    gen(KIND_REGULAR, 100000, v, 1);
    len = roundtrip(fs_dod_encode, fs_dod_decode, v, 100000, "golden");
    CHECK_INT(len, GOLD_DOD_REG_100K);
    gen(KIND_IRREGULAR, 10000, v, 1);
    len = roundtrip(fs_dod_encode, fs_dod_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_DOD_IRR_10K);
    gen(KIND_EXTREMES, 10000, v, 1);
    len = roundtrip(fs_dod_encode, fs_dod_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_DOD_EXT_10K);

    /* FOR: constant -> svarint(min) + width 0 per frame */
    gen(KIND_CONST, 10000, v, 1);
    len = roundtrip(fs_for_encode, fs_for_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_FOR_CONST_10K);
    gen(KIND_SMALL, 10000, v, 1);
    len = roundtrip(fs_for_encode, fs_for_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_FOR_SMALL_10K);
    gen(KIND_EXTREMES, 10000, v, 1);
    len = roundtrip(fs_for_encode, fs_for_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_FOR_EXT_10K);
    gen(KIND_REGULAR, 10000, v, 1);
    len = roundtrip(fs_for_encode, fs_for_decode, v, 10000, "golden");
    CHECK_INT(len, GOLD_FOR_REG_10K);

    /* hand-computed small cases */
    int64_t one[1] = {5};
    fs_wbuf w = {0};
    CHECK_INT(fs_for_encode(one, 1, &w), FS_OK);
    CHECK_INT(w.len, 2); /* svarint 5 = 0x0a, width 0 */
    CHECK_INT(w.data[0], 0x0a);
    CHECK_INT(w.data[1], 0);
    fs_wbuf_free(&w);
    int64_t two[2] = {INT64_MIN, INT64_MAX};
    CHECK_INT(fs_for_encode(two, 2, &w), FS_OK);
    CHECK_INT(w.len, 10 + 1 + 16); /* min, width 64, two 8-byte values */
    CHECK_INT(w.data[10], 64);
    fs_wbuf_free(&w);
    int64_t three[3] = {100, 160, 220};
    CHECK_INT(fs_dod_encode(three, 3, &w), FS_OK);
    /* svarint 100 (2 bytes), zigzag 60 = 120 (1 byte), width byte 0 */
    CHECK_INT(w.len, 4);
    CHECK_INT(w.data[3], 0);
    fs_wbuf_free(&w);
    free(v);
}

TEST(bool_codec)
{
    static uint8_t v[10000], out[10000];
    for (size_t s = 0; s < COUNT(SIZES); s++) {
        size_t n = SIZES[s];
        rng_seed(n + 11);
        for (int pattern = 0; pattern < 3; pattern++) {
            for (size_t i = 0; i < n; i++)
                v[i] = pattern == 0 ? (uint8_t)(rng() & 1) : (uint8_t)(pattern == 2);
            fs_wbuf w = {0};
            CHECK_INT(fs_bool_encode(v, n, &w), FS_OK);
            CHECK_INT(w.len, (n + 7) / 8);
            fs_rbuf r;
            fs_rbuf_init(&r, w.data, w.len);
            memset(out, 0xee, sizeof out);
            CHECK_INT(fs_bool_decode(&r, n, out), FS_OK);
            CHECK_INT(r.pos, w.len);
            CHECK(n == 0 || memcmp(v, out, n) == 0);
            for (size_t len = 0; len < w.len; len++) {
                if (w.len > 256 && len % 53 != 0 && len + 8 < w.len)
                    continue;
                uint8_t *copy = malloc(len ? len : 1);
                if (len)
                    memcpy(copy, w.data, len);
                fs_rbuf_init(&r, copy, len);
                CHECK_INT(fs_bool_decode(&r, n, out), FS_E_CORRUPT);
                free(copy);
            }
            fs_wbuf_free(&w);
        }
    }
    /* bit order: value i in bit i % 8, low bits first */
    uint8_t pat[9] = {1, 0, 0, 0, 0, 0, 0, 1, 1};
    fs_wbuf w = {0};
    CHECK_INT(fs_bool_encode(pat, 9, &w), FS_OK);
    CHECK_INT(w.len, 2);
    CHECK_INT(w.data[0], 0x81);
    CHECK_INT(w.data[1], 0x01);
    fs_wbuf_free(&w);
    /* only 0/1 are booleans; nothing written on refusal */
    uint8_t badv[3] = {0, 2, 1};
    CHECK_INT(fs_bool_encode(badv, 3, &w), FS_E_INVAL);
    CHECK_INT(w.len, 0);
    fs_wbuf_free(&w);
    /* a huge n does not overflow the byte count */
    fs_rbuf r;
    fs_rbuf_init(&r, pat, sizeof pat);
    CHECK_INT(fs_bool_decode(&r, SIZE_MAX, out), FS_E_CORRUPT);
}

/* Corrupt widths: > 64 is rejected in both frame codecs. */
TEST(corrupt_width)
{
    fs_rbuf r;
    int64_t out[4];
    const uint8_t for_bad[] = {0x00, 65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    fs_rbuf_init(&r, for_bad, sizeof for_bad);
    CHECK_INT(fs_for_decode(&r, 2, out), FS_E_CORRUPT);
    const uint8_t for_255[] = {0x00, 255, 0, 0, 0, 0};
    fs_rbuf_init(&r, for_255, sizeof for_255);
    CHECK_INT(fs_for_decode(&r, 1, out), FS_E_CORRUPT);
    const uint8_t dod_bad[] = {0x02, 0x02, 200, 0, 0, 0, 0, 0, 0, 0, 0};
    fs_rbuf_init(&r, dod_bad, sizeof dod_bad);
    CHECK_INT(fs_dod_decode(&r, 3, out), FS_E_CORRUPT);
    /* width 64 is legal */
    uint8_t dod_64[3 + 8] = {0x02, 0x02, 64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    fs_rbuf_init(&r, dod_64, sizeof dod_64);
    CHECK_INT(fs_dod_decode(&r, 3, out), FS_OK);
    CHECK_INT(out[0], 1);
    CHECK_INT(out[1], 2);
    /* zigzag(UINT64_MAX) = INT64_MIN as a dod: 2 + (1 + INT64_MIN) mod 2^64 */
    CHECK(out[2] == INT64_MIN + 3);
    /* an overlong first value */
    uint8_t ovl[12];
    memset(ovl, 0x80, sizeof ovl);
    fs_rbuf_init(&r, ovl, sizeof ovl);
    CHECK_INT(fs_dod_decode(&r, 1, out), FS_E_CORRUPT);
    fs_rbuf_init(&r, ovl, sizeof ovl);
    CHECK_INT(fs_for_decode(&r, 1, out), FS_E_CORRUPT);
}

/* Random garbage, and valid encodings with random bytes flipped: every
 * decode returns FS_OK or FS_E_CORRUPT, never crashes (run under ASan). */
TEST(garbage)
{
    enum { TRIES = 10000 };
    int64_t *out = malloc(400 * sizeof *out);
    uint8_t *bools = malloc(400);
    int64_t src[300];
    size_t ok = 0, corrupt = 0, other = 0;
    rng_seed(2024);
    for (int t = 0; t < TRIES; t++) {
        size_t len = rng() % 80;
        size_t n = rng() % 300;
        uint8_t *buf = malloc(len ? len : 1);
        int mode = (int)(rng() % 3);
        if (mode == 0 || len == 0) {
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rng();
            /* bias towards small bytes so widths <= 64 and short varints
             * reach the deeper paths */
            if (t % 2)
                for (size_t i = 0; i < len; i++)
                    buf[i] &= 0x3f;
        }
        int rcs[3];
        if (mode != 0 && len > 0) {
            /* mutate a valid encoding of a random kind, same n */
            gen((int)(rng() % KIND_COUNT), n, src, rng());
            fs_wbuf w = {0};
            if (mode == 1)
                fs_for_encode(src, n, &w);
            else
                fs_dod_encode(src, n, &w);
            free(buf);
            len = w.len;
            buf = malloc(len ? len : 1);
            if (len)
                memcpy(buf, w.data, len);
            fs_wbuf_free(&w);
            for (int k = 0; k < 3 && len; k++)
                buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
        }
        fs_rbuf r;
        fs_rbuf_init(&r, buf, len);
        rcs[0] = fs_for_decode(&r, n, out);
        fs_rbuf_init(&r, buf, len);
        rcs[1] = fs_dod_decode(&r, n, out);
        fs_rbuf_init(&r, buf, len);
        rcs[2] = fs_bool_decode(&r, n, bools);
        for (int k = 0; k < 3; k++) {
            if (rcs[k] == FS_OK)
                ok++;
            else if (rcs[k] == FS_E_CORRUPT)
                corrupt++;
            else
                other++;
        }
        free(buf);
    }
    CHECK_INT(other, 0);
    CHECK(ok > 0);
    CHECK(corrupt > 0);
    free(out);
    free(bools);
}

int main(void)
{
    RUN(buf_varint_roundtrip);
    RUN(buf_varint_sizes);
    RUN(buf_fixed_roundtrip);
    RUN(buf_bits_mixed_widths);
    RUN(buf_truncated);
    RUN(buf_varint_overlong);
    RUN(bits_needed);
    RUN(frame_pack_all_widths);
    RUN(for_roundtrips);
    RUN(dod_roundtrips);
    RUN(golden_sizes);
    RUN(bool_codec);
    RUN(corrupt_width);
    RUN(garbage);
    TEST_EXIT();
}
