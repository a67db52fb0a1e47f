/* Tests for src/codec/dict.c: fixed-seed round trips (one value, 100 symbols
 * over 100k rows, all distinct, empty strings, NUL bytes, n = 0/1), golden
 * encoded sizes, every truncation of a valid encoding, random garbage and
 * bit flips, a hostile distinct count.
 *
 * Decoding always reads from a malloc'd copy of exactly the encoded length,
 * so under ASan (make SAN=1) any read past the end is reported. Random values
 * come from a fixed-seed splitmix64, so every run checks the same inputs. */
#include "test.h"

#include "codec/dict.h"
#include "fstore.h"

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t rng(void) { return test_splitmix64(&rng_state); }

/* A column of n strings; row i points at pool string idx[i]. */
typedef struct {
    size_t n;
    const char **vals;
    uint32_t *lens;
} column;

static void column_free(column *c)
{
    free(c->vals);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

static column column_make(size_t n, char *const *pool, const uint32_t *pool_lens,
                          size_t npool)
{
    column c = {n, malloc((n ? n : 1) * sizeof(char *)), malloc((n ? n : 1) * sizeof(uint32_t))};
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(rng() % npool);
        c.vals[i] = pool[k];
        c.lens[i] = pool_lens[k];
    }
    return c;
}

/* Encodes, decodes from an exact-size copy, compares. Returns the encoded
 * size, or 0 with a failed CHECK. */
static size_t roundtrip(const column *c)
{
    fs_wbuf w = {0};
    int rc = fs_dict_encode(c->vals, c->lens, c->n, &w);
    CHECK_INT(rc, FS_OK);
    if (rc != FS_OK) {
        fs_wbuf_free(&w);
        return 0;
    }
    size_t size = w.len;
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, w.data, size);
    fs_wbuf_free(&w);

    fs_rbuf r;
    fs_rbuf_init(&r, copy, size);
    fs_dict_strings s;
    rc = fs_dict_decode(&r, c->n, &s);
    CHECK_INT(rc, FS_OK);
    if (rc == FS_OK) {
        CHECK_INT(r.pos, size); /* consumed exactly the encoding */
        CHECK_INT(s.n, c->n);
        size_t bad = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (s.lens[i] != c->lens[i] ||
                (c->lens[i] && memcmp(s.vals[i], c->vals[i], c->lens[i]) != 0) ||
                s.vals[i][s.lens[i]] != '\0' || s.codes[i] >= s.ndict ||
                s.vals[i] != s.dict[s.codes[i]])
                bad++;
        }
        CHECK_INT(bad, 0);
    }
    fs_dict_strings_free(&s);
    free(copy);
    return size;
}

static int decode_bytes(const uint8_t *p, size_t len, size_t n)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, p, len);
    fs_rbuf r;
    fs_rbuf_init(&r, copy, len);
    fs_dict_strings s;
    int rc = fs_dict_decode(&r, n, &s);
    if (rc == FS_OK) {
        /* touch every row: ASan catches a pointer outside the arena */
        volatile size_t sum = 0;
        for (size_t i = 0; i < s.n; i++)
            for (uint32_t j = 0; j < s.lens[i]; j++)
                sum += (unsigned char)s.vals[i][j];
        (void)sum;
    }
    fs_dict_strings_free(&s);
    free(copy);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------- */

TEST(one_distinct)
{
    rng_state = 1;
    char *pool[] = {"BTCUSDT"};
    uint32_t pl[] = {7};
    column c = column_make(10000, pool, pl, 1);
    /* varint 1, varint 7, 7 bytes, width 0: no code bits */
    CHECK_INT(roundtrip(&c), 9);
    column_free(&c);
}

TEST(n_zero_and_one)
{
    column c = {0, NULL, NULL};
    CHECK_INT(roundtrip(&c), 1); /* varint 0 */
    const char *v[] = {"x"};
    uint32_t l[] = {1};
    column one = {1, v, l};
    CHECK_INT(roundtrip(&one), 3);
    const char *e[] = {NULL};
    uint32_t el[] = {0};
    column empty1 = {1, e, el}; /* NULL allowed with length 0 */
    CHECK_INT(roundtrip(&empty1), 2);
}

static char sym_store[100][16];

TEST(symbols_100_over_100k_golden)
{
    rng_state = 2;
    char *pool[100];
    uint32_t pl[100];
    for (int k = 0; k < 100; k++) {
        snprintf(sym_store[k], sizeof sym_store[k], "SYM%d", k);
        pool[k] = sym_store[k];
        pl[k] = (uint32_t)strlen(sym_store[k]);
    }
    column c = column_make(100000, pool, pl, 100);
    /* Golden: varint(100) = 1 byte; 10 x (1 + 4) + 90 x (1 + 5) = 590 bytes
     * of dictionary; 100000 codes x 7 bits = 87500 bytes. */
    CHECK_INT(roundtrip(&c), 88091);
    column_free(&c);
}

TEST(timeframes_golden)
{
    rng_state = 3;
    char *pool[] = {"1m", "5m", "1h"};
    uint32_t pl[] = {2, 2, 2};
    column c = column_make(1000, pool, pl, 3);
    /* Golden: 1 + 3 x (1 + 2) + ceil(1000 x 2 / 8) = 1 + 9 + 250 = 260. */
    CHECK_INT(roundtrip(&c), 260);
    column_free(&c);
}

TEST(all_distinct)
{
    rng_state = 4;
    enum { N = 5000 };
    char (*store)[24] = malloc(N * sizeof *store);
    column c = {N, malloc(N * sizeof(char *)), malloc(N * sizeof(uint32_t))};
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(store[i], sizeof store[i], "label-%zu-%u", i,
                           (unsigned)(rng() % 1000));
        c.vals[i] = store[i];
        c.lens[i] = (uint32_t)len;
    }
    CHECK(roundtrip(&c) > 0);
    column_free(&c);
    free(store);
}

TEST(empty_and_nul_strings)
{
    rng_state = 5;
    /* "", "\0", "\0\0", "a\0b", "a", "a\0" are all different values. */
    char *pool[] = {"", "\0", "\0\0", "a\0b", "a", "a\0", "\xff\xfe"};
    uint32_t pl[] = {0, 1, 2, 3, 1, 2, 2};
    column c = column_make(20000, pool, pl, 7);
    size_t size = roundtrip(&c);
    /* 1 + (1+0)+(1+1)+(1+2)+(1+3)+(1+1)+(1+2)+(1+2) + 20000 x 3 bits */
    CHECK_INT(size, 1 + 7 + 11 + 7500);
    column_free(&c);

    /* all rows empty */
    column e = column_make(100, pool, pl, 1);
    CHECK_INT(roundtrip(&e), 2);
    column_free(&e);
}

TEST(random_columns)
{
    rng_state = 6;
    int bad = 0;
    for (int t = 0; t < 300; t++) {
        size_t npool = 1 + (size_t)(rng() % 300);
        char **pool = malloc(npool * sizeof *pool);
        uint32_t *pl = malloc(npool * sizeof *pl);
        for (size_t k = 0; k < npool; k++) {
            pl[k] = (uint32_t)(rng() % 12);
            pool[k] = malloc(pl[k] + 1);
            for (uint32_t j = 0; j < pl[k]; j++)
                pool[k][j] = (char)(rng() % 4); /* few bytes: many duplicates in the pool */
        }
        column c = column_make((size_t)(rng() % 2000), pool, pl, npool);
        int before = t_failed_checks;
        roundtrip(&c);
        bad += t_failed_checks != before;
        column_free(&c);
        for (size_t k = 0; k < npool; k++)
            free(pool[k]);
        free(pool);
        free(pl);
    }
    CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------------------
 * Corruption
 * ------------------------------------------------------------------------- */

static int encode_sample(fs_wbuf *w, size_t n, size_t npool, uint64_t seed)
{
    rng_state = seed;
    char *pool[] = {"AAPL", "MSFT", "", "a\0b", "GOOG", "X"};
    uint32_t pl[] = {4, 4, 0, 3, 4, 1};
    column c = column_make(n, pool, pl, npool);
    int rc = fs_dict_encode(c.vals, c.lens, c.n, w);
    column_free(&c);
    return rc;
}

TEST(every_truncation)
{
    size_t cases[][2] = {{0, 1}, {1, 1}, {50, 1}, {50, 2}, {333, 6}, {1000, 5}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        fs_wbuf w = {0};
        CHECK_INT(encode_sample(&w, cases[t][0], cases[t][1], 10 + t), FS_OK);
        CHECK_INT(decode_bytes(w.data, w.len, cases[t][0]), FS_OK);
        int bad = 0;
        for (size_t len = 0; len < w.len; len++)
            if (decode_bytes(w.data, len, cases[t][0]) != FS_E_CORRUPT)
                bad++;
        CHECK_INT(bad, 0);
        /* Wrong row counts fail too (codes in first-appearance order). */
        if (cases[t][0] > 0)
            CHECK_INT(decode_bytes(w.data, w.len, 0), FS_E_CORRUPT);
        fs_wbuf_free(&w);
    }
}

TEST(bad_codes)
{
    /* 2 values, width 1, 3 rows. */
    const uint8_t ok[] = {2, 1, 'a', 1, 'b', 0x2}; /* codes 0,1,0 */
    CHECK_INT(decode_bytes(ok, sizeof ok, 3), FS_OK);
    /* 3 values, width 2: code 3 >= distinct */
    const uint8_t big[] = {3, 1, 'a', 1, 'b', 1, 'c', 0x24 | 0xC0}; /* 0,1,2,3 */
    CHECK_INT(decode_bytes(big, sizeof big, 4), FS_E_CORRUPT);
    const uint8_t good3[] = {3, 1, 'a', 1, 'b', 1, 'c', 0x24}; /* 0,1,2,0 */
    CHECK_INT(decode_bytes(good3, sizeof good3, 4), FS_OK);
    /* first code not 0 (out of first-appearance order) */
    const uint8_t order[] = {2, 1, 'a', 1, 'b', 0x1}; /* codes 1,0,0 */
    CHECK_INT(decode_bytes(order, sizeof order, 3), FS_E_CORRUPT);
    /* a value no row uses */
    const uint8_t unused[] = {2, 1, 'a', 1, 'b', 0x0};
    CHECK_INT(decode_bytes(unused, sizeof unused, 3), FS_E_CORRUPT);
    /* non-zero padding bits */
    const uint8_t pad[] = {2, 1, 'a', 1, 'b', 0x2 | 0x80};
    CHECK_INT(decode_bytes(pad, sizeof pad, 3), FS_E_CORRUPT);
    /* distinct > n */
    CHECK_INT(decode_bytes(ok, sizeof ok, 1), FS_E_CORRUPT);
    /* distinct 0 with rows */
    const uint8_t zero[] = {0};
    CHECK_INT(decode_bytes(zero, 1, 5), FS_E_CORRUPT);
    CHECK_INT(decode_bytes(zero, 1, 0), FS_OK);
    /* length past the end */
    const uint8_t longlen[] = {1, 9, 'a', 'b'};
    CHECK_INT(decode_bytes(longlen, sizeof longlen, 1), FS_E_CORRUPT);
    /* length >= 2^32 */
    const uint8_t hugelen[] = {1, 0x80, 0x80, 0x80, 0x80, 0x10, 'a'};
    CHECK_INT(decode_bytes(hugelen, sizeof hugelen, 1), FS_E_CORRUPT);
    /* over-long varint */
    const uint8_t badvar[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_INT(decode_bytes(badvar, sizeof badvar, 1), FS_E_CORRUPT);
}

TEST(hostile_distinct_count)
{
    /* varint 2^60, then a few bytes: must fail on the bound check, before
     * allocating (under ASan a 2^60-element allocation would abort). */
    fs_wbuf w = {0};
    fs_wbuf_varint(&w, UINT64_C(1) << 60);
    fs_wbuf_bytes(&w, "\x01" "a" "\x01" "b", 4);
    CHECK_INT(decode_bytes(w.data, w.len, 3), FS_E_CORRUPT);
    CHECK_INT(decode_bytes(w.data, w.len, SIZE_MAX / 2), FS_E_CORRUPT);
    fs_wbuf_free(&w);
    /* plausible count just above what the bytes can hold */
    const uint8_t b[] = {5, 0, 0, 0, 0};
    CHECK_INT(decode_bytes(b, sizeof b, 100), FS_E_CORRUPT);
    /* huge caller n with width > 0 and few code bytes: fails before the
     * n-sized allocations */
    const uint8_t two[] = {2, 1, 'a', 1, 'b', 0x2};
    CHECK_INT(decode_bytes(two, sizeof two, (size_t)1 << 40), FS_E_CORRUPT);
}

TEST(random_garbage)
{
    rng_state = 99;
    int ok = 0, corrupt = 0, other = 0;
    uint8_t buf[80];
    for (int t = 0; t < 10000; t++) {
        size_t len = (size_t)(rng() % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng();
        /* small leading counts sometimes, so decoding gets past the header */
        if (len && t % 2)
            buf[0] = (uint8_t)(rng() % 5);
        size_t n = (size_t)(rng() % 40);
        int rc = decode_bytes(buf, len, n);
        if (rc == FS_OK)
            ok++;
        else if (rc == FS_E_CORRUPT)
            corrupt++;
        else
            other++;
    }
    CHECK_INT(other, 0);
    CHECK(corrupt > 0);
    (void)ok;
}

TEST(bit_flips)
{
    /* Flip each bit of valid encodings: OK or FS_E_CORRUPT, never a crash. */
    size_t cases[][2] = {{1, 1}, {40, 2}, {200, 6}};
    int other = 0;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        fs_wbuf w = {0};
        CHECK_INT(encode_sample(&w, cases[t][0], cases[t][1], 20 + t), FS_OK);
        for (size_t bit = 0; bit < w.len * 8; bit++) {
            w.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int rc = decode_bytes(w.data, w.len, cases[t][0]);
            if (rc != FS_OK && rc != FS_E_CORRUPT)
                other++;
            w.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        fs_wbuf_free(&w);
    }
    CHECK_INT(other, 0);
}

TEST(invalid_args)
{
    fs_wbuf w = {0};
    CHECK_INT(fs_dict_encode(NULL, NULL, 3, &w), FS_E_INVAL);
    fs_wbuf_free(&w);
    fs_dict_strings_free(NULL);
    fs_dict_strings z = {0};
    fs_dict_strings_free(&z);
}

int main(void)
{
    RUN(one_distinct);
    RUN(n_zero_and_one);
    RUN(symbols_100_over_100k_golden);
    RUN(timeframes_golden);
    RUN(all_distinct);
    RUN(empty_and_nul_strings);
    RUN(random_columns);
    RUN(every_truncation);
    RUN(bad_codes);
    RUN(hostile_distinct_count);
    RUN(random_garbage);
    RUN(bit_flips);
    RUN(invalid_args);
    TEST_EXIT();
}
