/* Tests for src/core/crc32c.c: the standard check value, the RFC 3720
 * (iSCSI) vectors, hardware vs software on every length 0..1024 at every
 * alignment 0..7, and chaining. Random bytes come from a fixed-seed
 * splitmix64, so every run checks the same inputs. */
#include "test.h"

#include "core/crc32c.h"

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t rng(void) { return test_splitmix64(&rng_state); }

/* Bitwise reference straight from the definition: an independent oracle for
 * the table-driven code. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

TEST(check_value)
{
    CHECK_INT(fs_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_INT(fs_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    CHECK_INT(fs_crc32c_hw(0, "123456789", 9), 0xE3069283u);
    CHECK_INT(fs_crc32c(0, NULL, 0), 0);
    CHECK_INT(fs_crc32c(0x12345678u, NULL, 0), 0x12345678u);
}

TEST(rfc3720_vectors)
{
    uint8_t b[32];
    memset(b, 0, sizeof b);
    CHECK_INT(fs_crc32c(0, b, 32), 0x8A9136AAu);
    CHECK_INT(fs_crc32c_sw(0, b, 32), 0x8A9136AAu);
    memset(b, 0xFF, sizeof b);
    CHECK_INT(fs_crc32c(0, b, 32), 0x62A8AB43u);
    CHECK_INT(fs_crc32c_sw(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    CHECK_INT(fs_crc32c(0, b, 32), 0x46DD794Eu);
    CHECK_INT(fs_crc32c_sw(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    CHECK_INT(fs_crc32c(0, b, 32), 0x113FDB5Cu); /* RFC 3720 B.4, descending */
    CHECK_INT(fs_crc32c_sw(0, b, 32), 0x113FDB5Cu);
}

TEST(hw_sw_agree)
{
    printf("     (hardware path %s)\n",
           fs_crc32c_hw_available() ? "available" : "NOT available: software twice");
    rng_state = 42;
    enum { MAXLEN = 1024 };
    int bad = 0;
    for (size_t len = 0; len <= MAXLEN; len++) {
        for (size_t off = 0; off < 8; off++) {
            /* Exact-size copy: under ASan a read past len is reported. */
            uint8_t *p = malloc(off + len + 1);
            if (!p) {
                bad++;
                continue;
            }
            for (size_t i = 0; i < off + len; i++)
                p[i] = (uint8_t)rng();
            uint32_t h = fs_crc32c_hw(0, p + off, len);
            uint32_t s = fs_crc32c_sw(0, p + off, len);
            uint32_t d = fs_crc32c(0, p + off, len);
            if (h != s || d != s || (len % 61 == 0 && s != crc_ref(p + off, len)))
                bad++;
            /* A non-zero starting crc too. */
            if (fs_crc32c_hw(0xDEADBEEFu, p + off, len) != fs_crc32c_sw(0xDEADBEEFu, p + off, len))
                bad++;
            free(p);
        }
    }
    CHECK_INT(bad, 0);
}

TEST(chaining)
{
    rng_state = 7;
    enum { N = 3000 };
    uint8_t b[N];
    for (size_t i = 0; i < N; i++)
        b[i] = (uint8_t)rng();
    uint32_t whole = fs_crc32c(0, b, N);
    CHECK_INT(whole, crc_ref(b, N));
    int bad = 0;
    for (int t = 0; t < 500; t++) {
        /* split into up to 6 random pieces, through all three entry points */
        size_t pos = 0;
        uint32_t c = 0;
        int which = t % 3;
        while (pos < N) {
            size_t piece = (size_t)(rng() % 700);
            if (piece > N - pos)
                piece = N - pos;
            c = which == 0 ? fs_crc32c(c, b + pos, piece)
                : which == 1 ? fs_crc32c_sw(c, b + pos, piece)
                             : fs_crc32c_hw(c, b + pos, piece);
            pos += piece;
        }
        if (c != whole)
            bad++;
    }
    CHECK_INT(bad, 0);
    /* byte at a time */
    uint32_t c = 0;
    for (size_t i = 0; i < N; i++)
        c = fs_crc32c(c, b + i, 1);
    CHECK_INT(c, whole);
}

int main(void)
{
    RUN(check_value);
    RUN(rfc3720_vectors);
    RUN(hw_sw_agree);
    RUN(chaining);
    TEST_EXIT();
}
