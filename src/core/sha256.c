/* SHA-256, straight from FIPS 180-4 (contract in sha256.h).
 *
 * Two compression functions behind one streaming front end: a portable one
 * written from the standard, and one using the x86 SHA extensions (SHA-NI).
 *
 * Why the hardware path exists: a training-set build hashes all of its output
 * and labels (tens of MB) so a rebuild can prove it reproduced them exactly,
 * and with the portable code that hashing was ~8% of the build. The SHA-NI
 * instructions do two rounds per instruction and compute the message schedule
 * in vector registers, several times faster than the portable rounds. Only
 * that one function is compiled for the extension (a target attribute), so the
 * rest of the build stays generic; CPUID picks it at run time, once (under
 * pthread_once, so concurrent first uses do not race), and every other CPU or
 * architecture uses the portable code. Both paths keep the state in the same
 * form (h[0..7] = A..H as host integers), so the digest cannot depend on the
 * path, and tests/test_sha256.c checks them against each other through
 * fs_sha256_force_portable(). */
#include "core/sha256.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define FS_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* Portable compression of nblocks consecutive 64-byte blocks into h. */
static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    for (; nblocks; nblocks--, p += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
                   (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], cc = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 =
                hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = cc;
            cc = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += cc, h[3] += d;
        h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
}

#ifdef FS_SHA256_X86
/* SHA-NI compression of nblocks consecutive 64-byte blocks into h.
 *
 * sha256rnds2(cdgh, abef, wk) does two rounds: the state travels as two
 * vectors, {A,B,E,F} and {C,D,G,H} with A (resp. C) in the top lane, and the
 * low two lanes of wk hold W[t]+K[t] and W[t+1]+K[t+1]. Its result is the new
 * {A,B,E,F}; the old {A,B,E,F} is, two rounds later, the new {C,D,G,H}, so
 * two calls with the arguments swapped do four rounds. The message schedule
 * runs four words at a time: for words t..t+3,
 *     W[t+j] = W[t-16+j] + s0(W[t-15+j]) + W[t-7+j] + s1(W[t-2+j])
 * where sha256msg1 adds the s0 terms to W[t-16..t-13], the W[t-7..t-4] words
 * are an alignr of the two previous groups, and sha256msg2 adds the s1 terms
 * (which for j = 2, 3 depend on the words being computed). */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t h[8],
                                                                      const uint8_t *p,
                                                                      size_t nblocks)
{
    /* Big-endian message words: reverse the bytes of each 32-bit lane. */
    const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);

    /* h[0..3] = {A,B,C,D}, h[4..7] = {E,F,G,H} (lane 0 first) to the
     * instruction's layout: abef = {F,E,B,A}, cdgh = {H,G,D,C}. */
    __m128i abcd = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i efgh = _mm_loadu_si128((const __m128i *)&h[4]);
    __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);                 /* {B,A,D,C} */
    __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);                 /* {H,G,F,E} */
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);                /* {F,E,B,A} */
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);             /* {H,G,D,C} */

/* Four rounds with message group m (words 4k..4k+3). */
#define FS_QROUND(k, m)                                                                  \
    do {                                                                                 \
        __m128i wk_ = _mm_add_epi32((m), _mm_loadu_si128((const __m128i *)&K[4 * (k)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                                   \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk_, 0x0E));          \
    } while (0)
/* m4 (words t-16..t-13) becomes words t..t+3, from the groups m3 (t-12..t-9),
 * m2 (t-8..t-5) and m1 (t-4..t-1). */
#define FS_SCHED(m4, m3, m2, m1)                                                              \
    (m4) = _mm_sha256msg2_epu32(                                                              \
        _mm_add_epi32(_mm_sha256msg1_epu32((m4), (m3)), _mm_alignr_epi8((m1), (m2), 4)), (m1))

    for (; nblocks; nblocks--, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
        FS_QROUND(0, m0);
        FS_QROUND(1, m1);
        FS_QROUND(2, m2);
        FS_QROUND(3, m3);
        for (int k = 4; k < 16; k += 4) {
            FS_SCHED(m0, m1, m2, m3);
            FS_QROUND(k, m0);
            FS_SCHED(m1, m2, m3, m0);
            FS_QROUND(k + 1, m1);
            FS_SCHED(m2, m3, m0, m1);
            FS_QROUND(k + 2, m2);
            FS_SCHED(m3, m0, m1, m2);
            FS_QROUND(k + 3, m3);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
#undef FS_QROUND
#undef FS_SCHED

    /* Back to {A,B,C,D}, {E,F,G,H}. */
    __m128i abef_r = _mm_shuffle_epi32(abef, 0x1B);               /* {A,B,E,F} */
    __m128i cdgh_r = _mm_shuffle_epi32(cdgh, 0xB1);               /* {G,H,C,D} */
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(abef_r, cdgh_r, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh_r, abef_r, 8));
}
#endif

static int have_hw;               /* set once by detect() */
static atomic_int force_portable; /* test switch, see sha256.h */
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

static void detect(void)
{
#ifdef FS_SHA256_X86
    unsigned a, b, c, d;
    /* Leaf 1: ECX bit 9 SSSE3, bit 19 SSE4.1 (every SHA-NI CPU has both, but
     * a hypervisor may mask features one by one). Leaf 7 subleaf 0: EBX bit
     * 29 SHA. __get_cpuid_count returns 0 when the leaf is not supported. */
    int ssse3_sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) && (c & (1u << 19));
    int sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
    have_hw = ssse3_sse41 && sha;
#endif
}

int fs_sha256_hw_available(void)
{
    pthread_once(&detect_once, detect);
    return have_hw;
}

void fs_sha256_force_portable(int on)
{
    atomic_store_explicit(&force_portable, on != 0, memory_order_relaxed);
}

static void compress(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
#ifdef FS_SHA256_X86
    if (fs_sha256_hw_available() && !atomic_load_explicit(&force_portable, memory_order_relaxed)) {
        blocks_shani(h, p, nblocks);
        return;
    }
#endif
    blocks_portable(h, p, nblocks);
}

void fs_sha256_init(fs_sha256 *c)
{
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, H0, sizeof H0);
    c->len = 0;
    c->nbuf = 0;
}

void fs_sha256_update(fs_sha256 *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (!n) /* data may be NULL then */
        return;
    c->len += n;
    if (c->nbuf) { /* top up the partial block first */
        size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, k);
        c->nbuf += k;
        p += k;
        n -= k;
        if (c->nbuf < 64)
            return;
        compress(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    if (n >= 64) { /* whole blocks straight from the caller's memory */
        compress(c->h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    if (n) {
        memcpy(c->buf, p, n);
        c->nbuf = n;
    }
}

void fs_sha256_hex(fs_sha256 *c, char out[65])
{
    /* 0x80, zeros up to 56 mod 64, then the bit length big-endian. */
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t npad = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++)
        pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
    fs_sha256_update(c, pad, npad + 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}
