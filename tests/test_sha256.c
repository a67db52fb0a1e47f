/* Tests for src/core/sha256.c: the FIPS 180-4 / NIST example vectors on both
 * paths, the SHA-NI path against the portable one (every length 0..300 at
 * every alignment 0..7, MB-sized buffers, many incremental split points, a
 * path switch mid-stream), and the streaming front end against a one-shot
 * reference written here from the standard. Random bytes come from a
 * fixed-seed splitmix64, so every run checks the same inputs. On a CPU (or
 * build) without the SHA extensions the "hardware" digests come from the
 * portable code too; the test says so. */
#include "test.h"

#include "core/sha256.h"

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t rng(void) { return test_splitmix64(&rng_state); }

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rng();
    return p;
}

/* One-shot digest through the streaming API, on the chosen path. */
static void digest(int portable, const void *p, size_t n, char out[65])
{
    fs_sha256 c;
    fs_sha256_force_portable(portable);
    fs_sha256_init(&c);
    fs_sha256_update(&c, p, n);
    fs_sha256_hex(&c, out);
    fs_sha256_force_portable(0);
}

/* Independent one-shot reference: pads the whole message in a buffer and runs
 * the textbook rounds, sharing no code with the streaming front end. */
static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void ref_digest(const uint8_t *msg, size_t n, char out[65])
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t total = (n + 9 + 63) / 64 * 64;
    uint8_t *m = calloc(total, 1);
    if (!m) {
        strcpy(out, "calloc failed");
        return;
    }
    if (n)
        memcpy(m, msg, n);
    m[n] = 0x80;
    for (int i = 0; i < 8; i++)
        m[total - 1 - i] = (uint8_t)(((uint64_t)n * 8) >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[64], v[8];
        for (int t = 0; t < 16; t++)
            w[t] = (uint32_t)m[off + 4 * t] << 24 | (uint32_t)m[off + 4 * t + 1] << 16 |
                   (uint32_t)m[off + 4 * t + 2] << 8 | m[off + 4 * t + 3];
        for (int t = 16; t < 64; t++)
            w[t] = (ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10)) + w[t - 7] +
                   (ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3)) + w[t - 16];
        memcpy(v, h, sizeof v);
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                          ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[t] + w[t];
            uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                          ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
            memmove(v + 1, v, 7 * sizeof v[0]);
            v[4] += t1;
            v[0] = t1 + t2;
        }
        for (int i = 0; i < 8; i++)
            h[i] += v[i];
    }
    free(m);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", h[i]);
}

TEST(nist_vectors)
{
    printf("     (hardware path %s)\n",
           fs_sha256_hw_available() ? "available" : "NOT available: portable twice");
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", /* 448 bits */
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklm"
         "nopqrlmnopqrsmnopqrstnopqrstu", /* 896 bits */
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char out[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        for (int portable = 0; portable < 2; portable++) {
            digest(portable, v[i].msg, strlen(v[i].msg), out);
            CHECK_STR(out, v[i].hex);
        }
        ref_digest((const uint8_t *)v[i].msg, strlen(v[i].msg), out);
        CHECK_STR(out, v[i].hex);
    }
    /* One million 'a': in one update, and in uneven pieces, on both paths. */
    const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *a = malloc(n);
    CHECK(a != NULL);
    if (!a)
        return;
    memset(a, 'a', n);
    for (int portable = 0; portable < 2; portable++) {
        digest(portable, a, n, out);
        CHECK_STR(out, million);
        fs_sha256 c;
        fs_sha256_force_portable(portable);
        fs_sha256_init(&c);
        for (size_t pos = 0, piece = 1; pos < n; pos += piece, piece = piece * 3 % 1001 + 1)
            fs_sha256_update(&c, a + pos, piece < n - pos ? piece : n - pos);
        fs_sha256_hex(&c, out);
        fs_sha256_force_portable(0);
        CHECK_STR(out, million);
    }
    free(a);
}

TEST(hw_portable_agree_short)
{
    rng_state = 42;
    int bad = 0;
    for (size_t len = 0; len <= 300; len++) {
        for (size_t off = 0; off < 8; off++) {
            /* Exact-size buffer: under ASan a read past the end is reported. */
            uint8_t *p = random_bytes(off + len);
            if (!p) {
                bad++;
                continue;
            }
            char hw[65], sw[65], ref[65];
            digest(0, p + off, len, hw);
            digest(1, p + off, len, sw);
            if (strcmp(hw, sw) != 0)
                bad++;
            if (off == 0) {
                ref_digest(p, len, ref);
                if (strcmp(sw, ref) != 0)
                    bad++;
            }
            free(p);
        }
    }
    CHECK_INT(bad, 0);
}

TEST(hw_portable_agree_large)
{
    rng_state = 7;
    static const size_t sizes[] = {(size_t)1 << 20, ((size_t)3 << 20) + 37,
                                   ((size_t)5 << 20) - 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *p = random_bytes(n);
        CHECK(p != NULL);
        if (!p)
            continue;
        char hw[65], sw[65], ref[65], pieces[65];
        digest(0, p, n, hw);
        digest(1, p, n, sw);
        ref_digest(p, n, ref);
        CHECK_STR(hw, sw);
        CHECK_STR(sw, ref);
        /* Random pieces of up to 64 KiB, alternating paths between pieces. */
        fs_sha256 c;
        fs_sha256_init(&c);
        size_t pos = 0;
        for (int i = 0; pos < n; i++) {
            size_t piece = (size_t)(rng() % 65536);
            if (piece > n - pos)
                piece = n - pos;
            fs_sha256_force_portable(i & 1);
            fs_sha256_update(&c, p + pos, piece);
            pos += piece;
        }
        fs_sha256_force_portable(0);
        fs_sha256_hex(&c, pieces);
        CHECK_STR(pieces, hw);
        free(p);
    }
}

/* Every single split point of every length 0..300, then random multi-piece
 * splits, on each path, against the one-shot portable digest. */
TEST(incremental_splits)
{
    rng_state = 99;
    int bad = 0;
    for (size_t len = 0; len <= 300; len++) {
        uint8_t *p = random_bytes(len);
        if (!p) {
            bad++;
            continue;
        }
        char whole[65], out[65];
        digest(1, p, len, whole);
        for (int portable = 0; portable < 2; portable++) {
            fs_sha256_force_portable(portable);
            for (size_t cut = 0; cut <= len; cut++) {
                fs_sha256 c;
                fs_sha256_init(&c);
                fs_sha256_update(&c, p, cut);
                fs_sha256_update(&c, p + cut, len - cut);
                fs_sha256_hex(&c, out);
                if (strcmp(out, whole) != 0)
                    bad++;
            }
            for (int t = 0; t < 20; t++) {
                fs_sha256 c;
                fs_sha256_init(&c);
                size_t pos = 0;
                while (pos < len) {
                    size_t piece = (size_t)(rng() % 150);
                    if (piece > len - pos)
                        piece = len - pos;
                    fs_sha256_update(&c, p + pos, piece);
                    pos += piece;
                }
                fs_sha256_hex(&c, out);
                if (strcmp(out, whole) != 0)
                    bad++;
            }
        }
        fs_sha256_force_portable(0);
        free(p);
    }
    CHECK_INT(bad, 0);
    /* Byte at a time across many blocks, and NULL with n == 0. */
    uint8_t *p = random_bytes(4096 + 13);
    CHECK(p != NULL);
    if (!p)
        return;
    char whole[65], out[65];
    digest(1, p, 4096 + 13, whole);
    fs_sha256 c;
    fs_sha256_init(&c);
    fs_sha256_update(&c, NULL, 0);
    for (size_t i = 0; i < 4096 + 13; i++)
        fs_sha256_update(&c, p + i, 1);
    fs_sha256_update(&c, NULL, 0);
    fs_sha256_hex(&c, out);
    CHECK_STR(out, whole);
    free(p);
}

int main(void)
{
    RUN(nist_vectors);
    RUN(hw_portable_agree_short);
    RUN(hw_portable_agree_large);
    RUN(incremental_splits);
    TEST_EXIT();
}
