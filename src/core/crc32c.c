/* CRC-32C, software slice-by-8 plus the SSE4.2 instruction (see crc32c.h).
 *
 * Slice-by-8 (Kounavis & Berry, "A Systematic Approach to Building High
 * Performance Software-Based CRC Generators", ISCC 2005): table[0] is the
 * classic byte-at-a-time table of the reflected polynomial; table[k][b] is the
 * CRC of byte b followed by k zero bytes, so eight input bytes are folded with
 * eight lookups and no loop-carried dependency between them.
 *
 * Why the tables are computed at run time under pthread_once instead of
 * written into the source: 2048 literal constants are unreviewable and a typo
 * in one would only show up on inputs that hit that entry; generating them
 * from the polynomial in 20 lines is checkable by eye and by the standard test
 * vectors. pthread_once makes the first use thread-safe, and the same once
 * block picks the hardware path, so fs_crc32c() never races on either. The
 * cost (8 KiB, a few microseconds) is paid once per process.
 *
 * Input bytes are read one at a time in the software path (no unaligned or
 * type-punned loads, and the result does not depend on host endianness). */
#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define POLY UINT32_C(0x82F63B78)

static uint32_t table[8][256];
static int have_hw;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

static uint32_t sw(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n >= 8) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
        crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^
              table[5][(crc >> 16) & 0xff] ^ table[4][crc >> 24] ^ table[3][p[4]] ^
              table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t hw(uint32_t crc, const uint8_t *p,
                                                       size_t n)
{
    crc = ~crc;
    /* Bytes up to an 8-byte boundary, so the wide loads are aligned (the
     * instruction does not need it, but aligned loads never split a cache
     * line). memcpy keeps the loads free of aliasing/alignment UB. */
    while (n && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* x86-64 is little-endian, as the instruction expects */
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return ~crc;
}
#endif

uint32_t fs_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&init_once, init);
    return n ? sw(crc, data, n) : crc;
}

int fs_crc32c_hw_available(void)
{
    pthread_once(&init_once, init);
    return have_hw;
}

uint32_t fs_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&init_once, init);
    if (!n)
        return crc;
#if defined(__x86_64__)
    if (have_hw)
        return hw(crc, data, n);
#endif
    return sw(crc, data, n);
}

uint32_t fs_crc32c(uint32_t crc, const void *data, size_t n)
{
    return fs_crc32c_hw(crc, data, n);
}
