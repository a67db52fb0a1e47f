/* Chunk file tests: round trips of a candles-like batch (100 entities x 1000
 * rows, every column type, nulls at random, at fixed strides and leading an
 * entity, corrections sharing an event_ts, NaN/-0.0/inf forcing the Gorilla
 * fallback) compared value by value and null by null; entity lookups;
 * unsorted or out-of-range input refused; a flipped byte in a data block
 * reported with file, entity and column and never served; flipped header and
 * footer bytes refused at open; every single-byte flip of a small chunk and
 * truncations at every 97th length failing cleanly; a newer format version
 * refused; and the compression ratio of the candles batch. Deterministic:
 * one fixed xorshift seed. */
#include "test.h"

#include "fstore.h"
#include "storage/batch.h"
#include "storage/chunk.h"
#include "codec/deltadelta.h"
#include "codec/bitpack.h"
#include "codec/gorilla.h"
#include "core/crc32c.h"

#include <unistd.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { return test_xorshift64(&rng_state); }

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

#define NS 1000000000LL
#define BASE (1704067200LL * NS) /* 2024-01-01T00:00:00Z */
#define MINUTE (60 * NS)
#define DAY (86400 * NS)

/* Column order: `close` last and never null, so the last bytes of every
 * segment are the payload of close's values block. */
enum {
    C_OPEN, C_HIGH, C_LOW, C_VOLUME, C_FUNDING, C_VENUE,
    C_CLOSED, C_TRADES, C_OPEN_TIME, C_CLOSE, NCOLS
};
static const fs_colspec candle_cols[NCOLS] = {
    {"open", FS_VT_FLOAT64},   {"high", FS_VT_FLOAT64},       {"low", FS_VT_FLOAT64},
    {"volume", FS_VT_FLOAT64}, {"funding", FS_VT_FLOAT64},    {"venue", FS_VT_STRING},
    {"is_closed", FS_VT_BOOL}, {"trades", FS_VT_INT64},       {"open_time", FS_VT_TIMESTAMP},
    {"close", FS_VT_FLOAT64},
};
static const char *venues[] = {"binance", "coinbase", "kraken", "bybit"};

/* nent entities x nrows 1-minute candles ("SYMi:1m"), plus one correction
 * per entity (same event_ts as row nrows/2, a later seq), sorted. The max
 * seq used is 5. */
static int make_candles(fs_batch *b, int nent, int nrows)
{
    if (fs_batch_init(b, candle_cols, NCOLS))
        return -1;
    for (int e = 0; e < nent; e++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "SYM%d:1m", e);
        int64_t cents = 1000000 + (int64_t)(rnd() % 5000000); /* 10000.00 .. 60000.00 */
        for (int i = 0; i <= nrows; i++) {
            int corr = i == nrows; /* the correction row */
            int64_t ts = BASE + (int64_t)((corr ? nrows / 2 : i) + 1) * MINUTE;
            long r = fs_batch_add_row(b, key, (size_t)kl, ts);
            if (r < 0)
                return -1;
            b->seq[r] = corr ? 5 : 1 + (uint64_t)i * 4 / (uint64_t)nrows;
            int64_t open = cents;
            cents += (int64_t)(rnd() % 201) - 100;
            if (cents < 100)
                cents = 100;
            int64_t close = cents, hi = (open > close ? open : close) + (int64_t)(rnd() % 50);
            int64_t lo = (open < close ? open : close) - (int64_t)(rnd() % 50);
            fs_batch_set_f64(b, C_OPEN, (size_t)r, (double)open / 100);
            fs_batch_set_f64(b, C_HIGH, (size_t)r, (double)hi / 100);
            fs_batch_set_f64(b, C_LOW, (size_t)r, (double)lo / 100);
            fs_batch_set_f64(b, C_CLOSE, (size_t)r, (double)close / 100);
            fs_batch_set_f64(b, C_VOLUME, (size_t)r, (double)(rnd() % 10000000) / 1000);
            if (rnd() % 10 != 0) { /* ~10% nulls */
                int64_t micros = (int64_t)(rnd() % 2001) - 1000;
                fs_batch_set_f64(b, C_FUNDING, (size_t)r, (double)micros / 1e6);
            }
            if (e == 7 && i < 4) { /* no decimal form: this block falls back to Gorilla */
                static const double odd[4] = {-0.0, 1.0 / 3, 0, 0};
                double v = i == 2 ? NAN : i == 3 ? INFINITY : odd[i];
                fs_batch_set_f64(b, C_FUNDING, (size_t)r, v);
            }
            if (i % 37 != 5)
                fs_batch_set_str(b, C_VENUE, (size_t)r, venues[(e + i / 300) % 4],
                                 strlen(venues[(e + i / 300) % 4]));
            if (i % 53 != 0)
                fs_batch_set_bool(b, C_CLOSED, (size_t)r, rnd() % 3 != 0);
            if (i >= 3 && e != 11) /* leading nulls; entity 11: all null */
                fs_batch_set_i64(b, C_TRADES, (size_t)r, (int64_t)(rnd() % 5000));
            fs_batch_set_i64(b, C_OPEN_TIME, (size_t)r, ts - MINUTE);
        }
    }
    return fs_batch_sort(b);
}

static fs_chunk_meta candle_meta(void)
{
    fs_chunk_meta m = {"candles_1m", BASE, BASE + DAY, 5};
    return m;
}

/* Row ra of a == row rb of b, every value and null; 0 when equal. */
static int rows_differ(const fs_batch *a, size_t ra, const fs_batch *b, size_t rb)
{
    if (a->entity_len[ra] != b->entity_len[rb] ||
        memcmp(a->entity[ra], b->entity[rb], a->entity_len[ra]) != 0 ||
        a->event_ts[ra] != b->event_ts[rb] || a->seq[ra] != b->seq[rb])
        return 1;
    for (size_t c = 0; c < a->ncols; c++) {
        const fs_column *x = &a->cols[c], *y = &b->cols[c];
        if (x->valid[ra] != y->valid[rb])
            return 2;
        if (!x->valid[ra])
            continue;
        switch (x->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP:
            if (x->i64[ra] != y->i64[rb])
                return 3;
            break;
        case FS_VT_FLOAT64: /* bit for bit: NaN, -0.0 */
            if (memcmp(&x->f64[ra], &y->f64[rb], sizeof(double)) != 0)
                return 4;
            break;
        case FS_VT_BOOL:
            if (x->b[ra] != y->b[rb])
                return 5;
            break;
        case FS_VT_STRING:
            if (x->slen[ra] != y->slen[rb] || memcmp(x->s[ra], y->s[rb], x->slen[ra]) != 0)
                return 6;
            break;
        }
    }
    return 0;
}

static size_t batches_differ_at(const fs_batch *a, const fs_batch *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++)
        if (rows_differ(a, i, b, i))
            return i;
    return a->n == b->n ? (size_t)-1 : n;
}

static int init_like(fs_batch *out, const fs_chunk *c)
{
    size_t nc;
    const fs_colspec *cols = fs_chunk_columns(c, &nc);
    return fs_batch_init(out, cols, nc);
}

/* Opens `path` and reads everything; the status of the first failure. */
static int open_and_read(const char *path, fs_strbuf *err)
{
    fs_chunk *c;
    int rc = fs_chunk_open(path, &c, err);
    if (rc != FS_OK)
        return rc;
    fs_batch out;
    if (init_like(&out, c)) {
        fs_chunk_close(c);
        return FS_E_NOMEM;
    }
    rc = fs_chunk_read_all(c, &out, err);
    fs_batch_free(&out);
    fs_chunk_close(c);
    return rc;
}

static char *dir;
static fs_batch candles;
static char candles_path[512];

TEST(test_roundtrip_candles)
{
    rng_state = 0x9E3779B97F4A7C15ull;
    CHECK_INT(make_candles(&candles, 100, 1000), FS_OK);
    CHECK_INT(candles.n, 100 * 1001);
    snprintf(candles_path, sizeof candles_path, "%s/candles.chunk", dir);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_write(candles_path, &candles, &m, &err), FS_OK);
    CHECK_STR(fs_sb_str(&err), "");

    fs_chunk *c = NULL;
    CHECK_INT(fs_chunk_open(candles_path, &c, &err), FS_OK);
    if (!c)
        return;
    const fs_chunk_meta *rm = fs_chunk_get_meta(c);
    CHECK_STR(rm->table, "candles_1m");
    CHECK_INT(rm->start, BASE);
    CHECK_INT(rm->end, BASE + DAY);
    CHECK_INT(rm->max_seq, 5);
    CHECK_INT(fs_chunk_row_count(c), 100 * 1001);
    CHECK_INT(fs_chunk_entity_count(c), 100);
    size_t nc;
    const fs_colspec *cols = fs_chunk_columns(c, &nc);
    CHECK_INT(nc, NCOLS);
    for (size_t k = 0; k < nc && k < NCOLS; k++) {
        CHECK_STR(cols[k].name, candle_cols[k].name);
        CHECK_INT(cols[k].type, candle_cols[k].type);
    }
    /* Index entries: key order, counts and ranges. */
    const fs_chunk_entity *e0 = fs_chunk_entity_at(c, 0), *e99 = fs_chunk_entity_at(c, 99);
    CHECK(fs_chunk_entity_at(c, 100) == NULL);
    if (e0 && e99) {
        CHECK_STR(e0->key, "SYM0:1m");
        CHECK_STR(e99->key, "SYM9:1m"); /* byte order: "SYM99:" < "SYM9:" */
        CHECK_INT(e0->rows, 1001);
        CHECK_INT(e0->min_ts, BASE + MINUTE);
        CHECK_INT(e0->max_ts, BASE + 1000 * MINUTE);
        CHECK_INT(e0->max_seq, 5);
    }

    fs_batch out;
    CHECK_INT(init_like(&out, c), 0);
    CHECK_INT(fs_chunk_read_all(c, &out, &err), FS_OK);
    CHECK_INT(out.n, candles.n);
    size_t bad = batches_differ_at(&candles, &out);
    if (bad != (size_t)-1)
        fprintf(stderr, "  first differing row %zu (reason %d)\n", bad,
                bad < out.n ? rows_differ(&candles, bad, &out, bad) : -1);
    CHECK(bad == (size_t)-1);
    /* Nulls really came back as nulls (and slots as zero). */
    size_t nulls = 0;
    for (size_t i = 0; i < out.n; i++)
        if (!out.cols[C_FUNDING].valid[i]) {
            nulls++;
            CHECK(out.cols[C_FUNDING].f64[i] == 0);
        }
    CHECK(nulls > out.n / 20 && nulls < out.n / 5);

    /* Reading twice appends. */
    CHECK_INT(fs_chunk_read_entity(c, 3, &out, &err), FS_OK);
    CHECK_INT(out.n, candles.n + 1001);
    CHECK_STR(fs_sb_str(&err), "");
    fs_batch_free(&out);

    /* A batch with other columns is refused, untouched. */
    fs_batch wrong;
    CHECK_INT(fs_batch_init(&wrong, candle_cols, NCOLS - 1), 0);
    CHECK_INT(fs_chunk_read_entity(c, 0, &wrong, &err), FS_E_INVAL);
    CHECK_INT(wrong.n, 0);
    CHECK_INT(fs_chunk_read_entity(c, 100, &wrong, &err), FS_E_INVAL);
    CHECK_INT(fs_chunk_read_entity(c, -1, &wrong, &err), FS_E_INVAL);
    fs_batch_free(&wrong);
    fs_chunk_close(c);
    fs_sb_free(&err);
}

TEST(test_compression_ratio)
{
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open(candles_path, &c, &err), FS_OK);
    if (!c)
        return;
    fs_chunk_stats st;
    fs_chunk_get_stats(c, &st);
    /* raw: entity key + 16 (event_ts, seq) + 8 per numeric cell (8 numeric
     * columns) + 1 per bool + present string bytes. */
    uint64_t raw = 0;
    for (size_t i = 0; i < candles.n; i++) {
        raw += candles.entity_len[i] + 16 + 8 * 8 + 1;
        raw += candles.cols[C_VENUE].valid[i] ? candles.cols[C_VENUE].slen[i] : 0;
    }
    CHECK_INT(st.raw_bytes, raw);
    CHECK_INT(st.rows, candles.n);
    CHECK_INT(st.entities, 100);
    size_t flen = 0;
    char *bytes = read_bytes(candles_path, &flen);
    free(bytes);
    CHECK_INT(st.file_bytes, flen);
    double ratio = (double)st.file_bytes / (double)st.raw_bytes;
    printf("     candles chunk: %llu rows, %llu bytes (%.2f bytes/row), raw %llu bytes "
           "(%.2f bytes/row): %.1f%% of raw, %.1fx\n",
           (unsigned long long)st.rows, (unsigned long long)st.file_bytes,
           (double)st.file_bytes / (double)st.rows, (unsigned long long)st.raw_bytes,
           (double)st.raw_bytes / (double)st.rows, 100 * ratio, 1 / ratio);
    CHECK(ratio < 0.40);
    fs_chunk_close(c);
    fs_sb_free(&err);
}

TEST(test_find_entity)
{
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open(candles_path, &c, &err), FS_OK);
    if (!c)
        return;
    for (int e = 0; e < 100; e++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "SYM%d:1m", e);
        int idx = fs_chunk_find_entity(c, key, (size_t)kl);
        CHECK(idx >= 0);
        const fs_chunk_entity *ent = fs_chunk_entity_at(c, (size_t)(idx < 0 ? 0 : idx));
        CHECK_STR(ent->key, key);
    }
    static const char *absent[] = {"SYM100:1m", "", "SYM5:1", "SYM5:1mm",
                                   "AAA",       "ZZZ", "SYM5:1m\n"};
    for (size_t k = 0; k < sizeof absent / sizeof *absent; k++)
        CHECK_INT(fs_chunk_find_entity(c, absent[k], strlen(absent[k])), -1);

    /* One entity's rows equal the source's rows for that entity. */
    int idx = fs_chunk_find_entity(c, "SYM42:1m", 8);
    fs_batch out;
    CHECK_INT(init_like(&out, c), 0);
    CHECK_INT(fs_chunk_read_entity(c, idx, &out, &err), FS_OK);
    CHECK_INT(out.n, 1001);
    size_t first = 0;
    while (first < candles.n && strcmp(candles.entity[first], "SYM42:1m") != 0)
        first++;
    int same = 1;
    for (size_t i = 0; i < out.n && first + i < candles.n; i++)
        if (rows_differ(&candles, first + i, &out, i))
            same = 0;
    CHECK(same);
    /* The correction sits right after the row it corrects. */
    int corr = 0;
    for (size_t i = 1; i < out.n; i++)
        if (out.event_ts[i] == out.event_ts[i - 1]) {
            CHECK(out.seq[i] > out.seq[i - 1]);
            corr++;
        }
    CHECK_INT(corr, 1);
    fs_batch_free(&out);
    fs_chunk_close(c);
    fs_sb_free(&err);
}

TEST(test_rejects_bad_input)
{
    fs_batch b;
    rng_state = 12345;
    CHECK_INT(make_candles(&b, 3, 10), FS_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/bad.chunk", dir);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};

    /* Swap two rows of one entity: unsorted by event_ts. */
    int64_t t = b.event_ts[3];
    b.event_ts[3] = b.event_ts[4];
    b.event_ts[4] = t;
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "not sorted");
    CHECK_CONTAINS(fs_sb_str(&err), "row 4");
    CHECK(access(path, F_OK) != 0);
    b.event_ts[4] = b.event_ts[3];
    b.event_ts[3] = t;
    /* Same event_ts, seq going down. */
    fs_sb_reset(&err);
    uint64_t s5 = b.seq[5];
    b.seq[5] = 9;
    m.max_seq = 9;
    b.event_ts[6] = b.event_ts[5];
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "not sorted");
    b.seq[5] = s5;
    b.event_ts[6] = b.event_ts[7] - MINUTE;
    m.max_seq = 5;
    /* Entities out of order: swap the first rows of two entities. */
    fs_sb_reset(&err);
    const char *k0 = b.entity[0];
    b.entity[0] = b.entity[b.n - 1];
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_E_INVAL);
    b.entity[0] = k0;
    /* event_ts outside [start, end). */
    fs_sb_reset(&err);
    m.end = b.event_ts[b.n - 1];
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "outside the chunk range");
    m = candle_meta();
    /* seq above max_seq. */
    fs_sb_reset(&err);
    m.max_seq = 4;
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "above the chunk's max_seq");
    CHECK(access(path, F_OK) != 0);
    /* Restored, it writes. */
    m = candle_meta();
    fs_sb_reset(&err);
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_OK);
    fs_batch_free(&b);
    fs_sb_free(&err);
}

TEST(test_empty_chunk)
{
    fs_batch b;
    CHECK_INT(fs_batch_init(&b, candle_cols, NCOLS), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/empty.chunk", dir);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_OK);
    fs_chunk *c = NULL;
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_OK);
    if (c) {
        CHECK_INT(fs_chunk_entity_count(c), 0);
        CHECK_INT(fs_chunk_row_count(c), 0);
        CHECK_INT(fs_chunk_find_entity(c, "x", 1), -1);
        CHECK_INT(fs_chunk_read_all(c, &b, &err), FS_OK);
        CHECK_INT(b.n, 0);
        fs_chunk_close(c);
    }
    fs_batch_free(&b);
    fs_sb_free(&err);
}

TEST(test_flipped_data_byte)
{
    size_t len;
    char *orig = read_bytes(candles_path, &len);
    CHECK(orig != NULL);
    if (!orig)
        return;
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open(candles_path, &c, &err), FS_OK);
    if (!c) {
        free(orig);
        return;
    }
    int idx = fs_chunk_find_entity(c, "SYM42:1m", 8);
    const fs_chunk_entity *e = fs_chunk_entity_at(c, (size_t)idx);
    uint64_t last = e->seg_offset + e->seg_bytes - 1; /* in close's payload */
    uint64_t mid = e->seg_offset + e->seg_bytes / 2;
    fs_chunk_close(c);

    char path[600];
    snprintf(path, sizeof path, "%s/flipped.chunk", dir);
    orig[last] ^= 0x10;
    CHECK_INT(write_bytes(path, orig, len), 0);
    orig[last] ^= 0x10;
    /* Open succeeds: data blocks are checked when read. */
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_OK);
    if (!c) {
        free(orig);
        return;
    }
    fs_batch out; /* static column names: it outlives this chunk handle */
    CHECK_INT(fs_batch_init(&out, candle_cols, NCOLS), 0);
    CHECK_INT(fs_chunk_read_entity(c, idx, &out, &err), FS_E_CORRUPT);
    CHECK_INT(out.n, 0); /* nothing served */
    char want[700];
    snprintf(want, sizeof want, "%s: entity SYM42:1m, column close: checksum mismatch", path);
    CHECK_CONTAINS(fs_sb_str(&err), want);
    /* Other entities still read. */
    CHECK_INT(fs_chunk_read_entity(c, idx + 1, &out, &err), FS_OK);
    CHECK_INT(out.n, 1001);
    /* read_all stops at the bad entity with the same error. */
    fs_batch_clear(&out);
    fs_sb_reset(&err);
    CHECK_INT(fs_chunk_read_all(c, &out, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "column close: checksum mismatch");
    CHECK_INT(out.n, (size_t)idx * 1001);
    fs_chunk_close(c);

    /* A byte in the middle of the segment: some block's checksum. */
    orig[mid] ^= 0x01;
    CHECK_INT(write_bytes(path, orig, len), 0);
    orig[mid] ^= 0x01;
    fs_sb_reset(&err);
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_OK);
    if (c) {
        fs_batch_clear(&out);
        CHECK_INT(fs_chunk_read_entity(c, idx, &out, &err), FS_E_CORRUPT);
        CHECK_CONTAINS(fs_sb_str(&err), "entity SYM42:1m, column ");
        CHECK_INT(out.n, 0);
        fs_chunk_close(c);
    }
    fs_batch_free(&out);
    free(orig);
    fs_sb_free(&err);
}

TEST(test_flipped_header_and_footer)
{
    size_t len;
    char *orig = read_bytes(candles_path, &len);
    if (!orig)
        return;
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open(candles_path, &c, &err), FS_OK);
    if (!c) {
        free(orig);
        return;
    }
    const fs_chunk_entity *e = fs_chunk_entity_at(c, fs_chunk_entity_count(c) - 1);
    uint64_t footer = e->seg_offset + e->seg_bytes;
    fs_chunk_close(c);
    char path[600];
    snprintf(path, sizeof path, "%s/footer.chunk", dir);
    /* In the footer: first entry's key, an offset, the last entry, the CRC,
     * the footer offset, the end magic. */
    uint64_t spots[] = {footer + 3, footer + 12, len - 30, len - 20, len - 12, len - 1};
    for (size_t k = 0; k < sizeof spots / sizeof *spots; k++) {
        orig[spots[k]] ^= 0x04;
        CHECK_INT(write_bytes(path, orig, len), 0);
        orig[spots[k]] ^= 0x04;
        fs_sb_reset(&err);
        c = NULL;
        CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_CORRUPT);
        CHECK(c == NULL);
        CHECK_CONTAINS(fs_sb_str(&err), path);
    }
    fs_sb_reset(&err);
    orig[len - 25] ^= 0x80; /* footer CRC region: a max_seq byte of the last entry */
    CHECK_INT(write_bytes(path, orig, len), 0);
    orig[len - 25] ^= 0x80;
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "footer checksum mismatch");
    /* Header: the table name. */
    fs_sb_reset(&err);
    orig[14] ^= 0x01;
    CHECK_INT(write_bytes(path, orig, len), 0);
    orig[14] ^= 0x01;
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "header checksum mismatch");
    /* Not a chunk at all. */
    fs_sb_reset(&err);
    orig[0] = 'X';
    CHECK_INT(write_bytes(path, orig, len), 0);
    orig[0] = 'F';
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "not a chunk file");
    /* Missing. */
    fs_sb_reset(&err);
    snprintf(path, sizeof path, "%s/nope.chunk", dir);
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_NOTFOUND);
    CHECK_CONTAINS(fs_sb_str(&err), path);
    free(orig);
    fs_sb_free(&err);
}

TEST(test_newer_version)
{
    size_t len;
    char *orig = read_bytes(candles_path, &len);
    if (!orig)
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/v2.chunk", dir);
    orig[8] = FS_CHUNK_VERSION + 1; /* u32 version, little-endian, right after the magic */
    CHECK_INT(write_bytes(path, orig, len), 0);
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_VERSION);
    CHECK(c == NULL);
    char want[64];
    snprintf(want, sizeof want, "version %d is newer", FS_CHUNK_VERSION + 1);
    CHECK_CONTAINS(fs_sb_str(&err), want);
    CHECK_CONTAINS(fs_sb_str(&err), path);
    orig[8] = 0;
    orig[11] = 1; /* 2^24 */
    CHECK_INT(write_bytes(path, orig, len), 0);
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_VERSION);
    free(orig);
    fs_sb_free(&err);
}

/* A builder bound to its file, fed one entity at a time (and flushing to
 * the file as it goes), writes the very bytes fs_chunk_write_rows writes
 * for the same rows; rows of an entity out of key order are refused with
 * nothing added; a bound builder freed unfinished removes its file. */
TEST(test_builder_streams_the_same_bytes)
{
    char whole[600], parts[600], dropped[600];
    snprintf(whole, sizeof whole, "%s/whole.chunk", dir);
    snprintf(parts, sizeof parts, "%s/parts.chunk", dir);
    snprintf(dropped, sizeof dropped, "%s/dropped.chunk", dir);
    fs_chunk_meta m = candle_meta();
    CHECK_INT(fs_chunk_write(whole, &candles, &m, NULL), FS_OK);
    fs_colspec cols[NCOLS];
    for (size_t c = 0; c < NCOLS; c++)
        cols[c] = (fs_colspec){candles.cols[c].name, candles.cols[c].type};
    fs_batch sorted;
    CHECK_INT(fs_batch_init(&sorted, cols, NCOLS), FS_OK);
    for (size_t r = 0; r < candles.n; r++)
        CHECK_INT(fs_batch_copy_row(&sorted, &candles, r), FS_OK);
    CHECK_INT(fs_batch_sort(&sorted), FS_OK);
    fs_chunk_builder *b = NULL;
    CHECK_INT(fs_chunk_builder_new(NULL, &m, cols, NCOLS, &b, NULL), FS_OK);
    CHECK_INT(fs_chunk_builder_stream_to(b, parts, NULL), FS_OK);
    size_t adds = 0, refused = 0;
    for (size_t i = 0, j; i < sorted.n; i = j) {
        for (j = i + 1; j < sorted.n && strcmp(sorted.entity[j], sorted.entity[i]) == 0; j++)
            ;
        if (i > 0) { /* the entity before again: refused, nothing added */
            fs_strbuf err = {0};
            refused += fs_chunk_builder_add(b, &sorted, i - 1, 1, &err) == FS_E_INVAL;
            CHECK_CONTAINS(fs_sb_str(&err), "come after");
            fs_sb_free(&err);
        }
        CHECK_INT(fs_chunk_builder_add(b, &sorted, i, j - i, NULL), FS_OK);
        adds++;
    }
    CHECK_INT(refused, adds - 1);
    CHECK_INT(fs_chunk_builder_rows(b), sorted.n);
    fs_chunk_stats st;
    CHECK_INT(fs_chunk_builder_finish(b, &st, NULL), FS_OK);
    fs_chunk_builder_free(b);
    size_t la = 0, lb = 0;
    char *a = read_bytes(whole, &la), *p = read_bytes(parts, &lb);
    CHECK(a && p && la == lb && la > 512 << 10); /* past one flush */
    CHECK(a && p && la == lb && memcmp(a, p, la) == 0);
    CHECK_INT(st.file_bytes, lb);
    CHECK_INT(st.rows, sorted.n);
    free(a);
    free(p);
    /* unfinished: the file goes with the builder */
    CHECK_INT(fs_chunk_builder_new(NULL, &m, cols, NCOLS, &b, NULL), FS_OK);
    CHECK_INT(fs_chunk_builder_stream_to(b, dropped, NULL), FS_OK);
    CHECK_INT(fs_chunk_builder_add(b, &sorted, 0, 10, NULL), FS_OK);
    CHECK(access(dropped, F_OK) == 0);
    fs_chunk_builder_free(b);
    CHECK(access(dropped, F_OK) != 0);
    fs_batch_free(&sorted);
}

/* Sets the format version of the chunk file image buf and rewrites its
 * header CRC (layout at the top of src/storage/chunk.c). */
static void set_version(char *buf, uint32_t version)
{
    uint8_t *p = (uint8_t *)buf;
    for (int i = 0; i < 4; i++)
        p[8 + i] = (uint8_t)(version >> (8 * i));
    size_t pos = 12;
    uint64_t v = 0;
    int sh = 0;
#define VARINT()                                                                                   \
    do {                                                                                           \
        v = 0, sh = 0;                                                                             \
        while (p[pos] & 0x80)                                                                      \
            v |= (uint64_t)(p[pos++] & 0x7f) << sh, sh += 7;                                       \
        v |= (uint64_t)p[pos++] << sh;                                                             \
    } while (0)
    VARINT(); /* table name */
    pos += v + 5 * 8;
    VARINT(); /* columns */
    for (uint64_t c = 0, nc = v; c < nc; c++) {
        VARINT();
        pos += v + 1;
    }
#undef VARINT
    uint32_t crc = fs_crc32c(0, p, pos);
    for (int i = 0; i < 4; i++)
        p[pos + i] = (uint8_t)(crc >> (8 * i));
}

/* Float columns whose low mantissa bits are noise (as computed features
 * are) go out as BYTEXOR blocks: they read back bit for bit, every flipped
 * bit and every truncation is caught, and a file that says it is format
 * version 1 (which had no such codec) is refused when the block is read. */
TEST(test_bytexor_blocks)
{
    static const fs_colspec cols[] = {{"noisy", FS_VT_FLOAT64}, {"steady", FS_VT_FLOAT64}};
    fs_batch b;
    CHECK_INT(fs_batch_init(&b, cols, 2), FS_OK);
    rng_state = 4242;
    for (int e = 0; e < 3; e++) {
        char key[16];
        int kl = snprintf(key, sizeof key, "E%d:1m", e);
        double ema = 100;
        for (int i = 0; i < 400; i++) {
            long r = fs_batch_add_row(&b, key, (size_t)kl, BASE + (int64_t)(i + 1) * MINUTE);
            b.seq[r] = 1;
            ema += ((double)(rnd() % 1000) / 7.0 - ema) * (2.0 / 21);
            if (i % 50 != 7) /* a few nulls */
                fs_batch_set_f64(&b, 0, (size_t)r, ema);
            fs_batch_set_f64(&b, 1, (size_t)r, (double)(i / 100) / 3.0);
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/bytexor.chunk", dir);
    fs_chunk_meta m = {"view:t", BASE, BASE + DAY, 1};
    CHECK_INT(fs_chunk_write(path, &b, &m, NULL), FS_OK);
    fs_chunk *c = NULL;
    CHECK_INT(fs_chunk_open(path, &c, NULL), FS_OK);
    fs_batch out;
    CHECK_INT(init_like(&out, c), 0);
    CHECK_INT(fs_chunk_read_all(c, &out, NULL), FS_OK);
    CHECK_INT(out.n, b.n);
    size_t differ = 0;
    for (size_t r = 0; r < b.n && r < out.n; r++)
        differ += rows_differ(&b, r, &out, r) != 0;
    CHECK_INT(differ, 0);
    fs_batch_free(&out);
    fs_chunk_close(c);

    size_t len = 0;
    char *orig = read_bytes(path, &len);
    CHECK(orig != NULL);
    if (!orig) {
        fs_batch_free(&b);
        return;
    }
    /* the codec byte 7 is in the file: a block header begins with it */
    CHECK(memchr(orig, 7, len) != NULL);
    char dpath[600];
    snprintf(dpath, sizeof dpath, "%s/bytexor-damaged.chunk", dir);
    size_t undetected = 0, kept = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t mask = (uint8_t)(1u << (i % 8));
        orig[i] ^= (char)mask;
        write_bytes(dpath, orig, len);
        orig[i] ^= (char)mask;
        undetected += open_and_read(dpath, NULL) == FS_OK;
    }
    for (size_t n = 0; n < len; n += 13) {
        write_bytes(dpath, orig, n);
        kept += open_and_read(dpath, NULL) != FS_E_CORRUPT;
    }
    CHECK_INT(undetected, 0);
    CHECK_INT(kept, 0);

    set_version(orig, 1);
    write_bytes(dpath, orig, len);
    fs_strbuf err = {0};
    CHECK_INT(open_and_read(dpath, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "noisy");
    fs_sb_free(&err);
    set_version(orig, FS_CHUNK_VERSION); /* the same bytes as written */
    write_bytes(dpath, orig, len);
    CHECK_INT(open_and_read(dpath, NULL), FS_OK);
    free(orig);
    fs_batch_free(&b);
}

/* A file of format version 1, written by fstore before BYTEXOR existed
 * (tests/data/chunk_v1/: `fstore ingest` of candles.csv, then `fstore
 * compact`; its vwap column, with 17 significant digits, is in GORILLA
 * blocks), still reads, value for value as the CSV has them. */
TEST(test_reads_version_1)
{
    fs_chunk *c = NULL;
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_open("tests/data/chunk_v1/candles-v1.chunk", &c, &err), FS_OK);
    if (!c) {
        fprintf(stderr, "  %s\n", fs_sb_str(&err));
        fs_sb_free(&err);
        return;
    }
    fs_batch out;
    CHECK_INT(init_like(&out, c), 0);
    CHECK_INT(fs_chunk_read_all(c, &out, &err), FS_OK);
    CHECK_INT(out.n, 400);
    FILE *f = fopen("tests/data/chunk_v1/candles.csv", "r");
    CHECK(f != NULL);
    char line[512];
    static const char *const names[] = {"o", "h", "l", "c", "v", "vwap"};
    int cols[6];
    for (int k = 0; k < 6; k++)
        CHECK((cols[k] = fs_batch_col(&out, names[k])) >= 0);
    size_t r = 0, differ = 0;
    if (f && fgets(line, sizeof line, f)) /* the header */
        while (r < out.n && fgets(line, sizeof line, f)) {
            char *p = line, *field[9];
            for (int k = 0; k < 9; k++)
                field[k] = strsep(&p, ",\n");
            char key[64];
            snprintf(key, sizeof key, "%s:%s", field[0], field[1]);
            if (strlen(key) != out.entity_len[r] || memcmp(key, out.entity[r], out.entity_len[r]) != 0)
                differ++;
            for (int k = 0; k < 6; k++) {
                double want = strtod(field[3 + k], NULL), got = out.cols[cols[k]].f64[r];
                if (cols[k] < 0 || !out.cols[cols[k]].valid[r] || memcmp(&want, &got, 8) != 0)
                    differ++;
            }
            r++;
        }
    if (f)
        fclose(f);
    CHECK_INT(r, 400);
    CHECK_INT(differ, 0);
    fs_batch_free(&out);
    fs_chunk_close(c);
    fs_sb_free(&err);
}

/* A small chunk with every column type and nulls, for exhaustive damage. */
static char *small_chunk(size_t *len, fs_batch *src)
{
    rng_state = 777;
    if (make_candles(src, 4, 30) != FS_OK)
        return NULL;
    char path[600];
    snprintf(path, sizeof path, "%s/small.chunk", dir);
    fs_chunk_meta m = candle_meta();
    if (fs_chunk_write(path, src, &m, NULL) != FS_OK)
        return NULL;
    return read_bytes(path, len);
}

TEST(test_truncated)
{
    fs_batch src;
    size_t len = 0;
    char *orig = small_chunk(&len, &src);
    CHECK(orig != NULL);
    if (!orig)
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/trunc.chunk", dir);
    int tried = 0, failed = 0;
    for (size_t n = 0; n < len; n += 97) {
        CHECK_INT(write_bytes(path, orig, n), 0);
        fs_strbuf err = {0};
        int rc = open_and_read(path, &err);
        tried++;
        if (rc == FS_E_CORRUPT)
            failed++;
        else
            fprintf(stderr, "  truncated to %zu: status %d\n", n, rc);
        CHECK(fs_sb_str(&err)[0] != 0);
        fs_sb_free(&err);
    }
    CHECK_INT(failed, tried);
    CHECK(tried > 10);
    /* The whole file still reads. */
    CHECK_INT(write_bytes(path, orig, len), 0);
    CHECK_INT(open_and_read(path, NULL), FS_OK);
    free(orig);
    fs_batch_free(&src);
}

TEST(test_every_byte_flipped)
{
    fs_batch src;
    size_t len = 0;
    char *orig = small_chunk(&len, &src);
    CHECK(orig != NULL);
    if (!orig)
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/flip.chunk", dir);
    size_t undetected = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t mask = (uint8_t)(1u << (i % 8));
        orig[i] ^= (char)mask;
        write_bytes(path, orig, len);
        orig[i] ^= (char)mask;
        int rc = open_and_read(path, NULL);
        if (rc == FS_OK) {
            undetected++;
            fprintf(stderr, "  flip of byte %zu undetected\n", i);
        }
    }
    printf("     %zu single-bit flips of a %zu-byte chunk: %zu undetected\n", len, len, undetected);
    CHECK_INT(undetected, 0);
    free(orig);
    fs_batch_free(&src);
}


/* The writer picks each block's codec from exact size functions instead of
 * encoding every candidate: they must agree with the encoders byte for byte,
 * on every kind of series (regular, random, extremes, runs, short). */
TEST(test_codec_sizes_match_encoders)
{
    enum { N = 700 };
    static int64_t iv[N];
    static double dv[N];
    int bad = 0;
    for (int kind = 0; kind < 8; kind++) {
        for (size_t n = 0; n < N; n = n < 10 ? n + 1 : n * 3 + 7) {
            for (size_t i = 0; i < n; i++) {
                uint64_t r = rnd();
                switch (kind) {
                case 0: iv[i] = (int64_t)i * 60000000000LL; break;             /* regular */
                case 1: iv[i] = (int64_t)(r % 1000) - 500; break;              /* small random */
                case 2: iv[i] = (int64_t)r; break;                             /* full width */
                case 3: iv[i] = i % 2 ? INT64_MAX : INT64_MIN; break;          /* extremes */
                case 4: iv[i] = (int64_t)(i / 50); break;                      /* runs */
                case 5: iv[i] = (int64_t)i * 60 + (int64_t)(r % 3); break;     /* jitter */
                case 6: iv[i] = 7; break;                                      /* constant */
                default: iv[i] = -(int64_t)(r % 100000000000ULL); break;
                }
                double walk = i ? dv[i - 1] : 100.0;
                switch (kind) {
                case 0: dv[i] = walk + (double)((int64_t)(r % 201) - 100) / 100.0; break;
                case 1: { uint64_t u = r; memcpy(&dv[i], &u, 8); if (isnan(dv[i])) dv[i] = 1.5; } break;
                case 2: dv[i] = (double)(r % 7); break;
                case 3: dv[i] = i % 3 ? -0.0 : INFINITY; break;
                case 4: dv[i] = (double)(i / 40) * 0.1; break;
                case 5: dv[i] = (double)r / 3.0; break;
                case 6: dv[i] = 42.0; break;
                default: dv[i] = walk * (1 + (double)(r % 1000) / 1e6); break;
                }
            }
            fs_wbuf a = {0}, b = {0}, g = {0};
            fs_dod_encode(iv, n, &a);
            fs_for_encode(iv, n, &b);
            fs_gorilla_encode(dv, n, &g);
            if (a.len != fs_chunk_dod_size(iv, n) || b.len != fs_chunk_for_size(iv, n) ||
                g.len != fs_chunk_gorilla_size(dv, n)) {
                if (bad++ < 5)
                    fprintf(stderr, "  kind %d n %zu: dod %zu/%zu for %zu/%zu gorilla %zu/%zu\n",
                            kind, n, a.len, fs_chunk_dod_size(iv, n), b.len,
                            fs_chunk_for_size(iv, n), g.len, fs_chunk_gorilla_size(dv, n));
            }
            fs_wbuf_free(&a);
            fs_wbuf_free(&b);
            fs_wbuf_free(&g);
        }
    }
    CHECK_INT(bad, 0);
}

/* Writing rows through an index (the checkpoint's and streamed ingest's way,
 * no copy) gives the same bytes as writing the sorted batch, also straight
 * to the file (FS_CHUNK_NO_SYNC), and reports the file's sizes. */
TEST(test_write_rows_through_index)
{
    fs_batch b;
    CHECK_INT(make_candles(&b, 5, 40), FS_OK);
    size_t n = b.n;
    /* the same rows, reversed, and an index that puts them back in order */
    fs_batch rev;
    CHECK_INT(fs_batch_init(&rev, candle_cols, NCOLS), 0);
    for (size_t i = n; i-- > 0;)
        CHECK_INT(fs_batch_copy_row(&rev, &b, i), 0);
    uint32_t *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)(n - 1 - i);
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/sorted.chunk", dir);
    snprintf(p2, sizeof p2, "%s/indexed.chunk", dir);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};
    fs_chunk_stats st = {0};
    CHECK_INT(fs_chunk_write(p1, &b, &m, &err), FS_OK);
    CHECK_INT(fs_chunk_write_rows(p2, &rev, idx, n, &m, FS_CHUNK_NO_SYNC, &st, &err), FS_OK);
    size_t l1 = 0, l2 = 0;
    char *d1 = read_bytes(p1, &l1), *d2 = read_bytes(p2, &l2);
    CHECK(d1 && d2 && l1 == l2 && memcmp(d1, d2, l1) == 0);
    CHECK_INT(st.file_bytes, l2);
    CHECK_INT(st.rows, n);
    CHECK_INT(st.entities, 5);
    fs_chunk *c = NULL;
    CHECK_INT(fs_chunk_open(p2, &c, &err), FS_OK);
    if (c) {
        fs_chunk_stats got;
        fs_chunk_get_stats(c, &got);
        CHECK_INT(got.raw_bytes, st.raw_bytes);
        fs_chunk_close(c);
    }
    /* an index that is not sorted is refused, as unsorted rows are */
    CHECK_INT(fs_chunk_write_rows(p2, &rev, NULL, n, &m, FS_CHUNK_NO_SYNC, NULL, NULL), FS_E_INVAL);
    free(d1);
    free(d2);
    free(idx);
    fs_batch_free(&rev);
    fs_batch_free(&b);
    fs_sb_free(&err);
}

/* A header longer than the first read of fs_chunk_open (300 columns with
 * long names): opened and read back whole; cut anywhere, still refused. */
TEST(test_long_header)
{
    enum { NC = 300 };
    static char names[NC][64];
    fs_colspec cols[NC];
    for (int k = 0; k < NC; k++) {
        snprintf(names[k], sizeof names[k], "a_rather_long_feature_column_name_%03d", k);
        cols[k] = (fs_colspec){names[k], FS_VT_FLOAT64};
    }
    fs_batch b, back;
    CHECK_INT(fs_batch_init(&b, cols, NC), 0);
    CHECK_INT(fs_batch_init(&back, cols, NC), 0);
    for (int r = 0; r < 20; r++) {
        long row = fs_batch_add_row(&b, "E1", 2, BASE + r * MINUTE);
        CHECK(row >= 0);
        b.seq[row] = 1;
        for (int k = 0; k < NC; k++)
            fs_batch_set_f64(&b, (size_t)k, (size_t)row, r * 0.5 + k);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/long_header.chunk", dir);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};
    CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_OK);
    size_t len = 0;
    char *bytes = read_bytes(path, &len);
    CHECK(bytes && len > 3 * 4096);
    fs_chunk *c = NULL;
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_OK);
    if (c) {
        CHECK_INT(fs_chunk_read_all(c, &back, &err), FS_OK);
        CHECK_INT(back.n, 20);
        CHECK(back.n == 20 && back.cols[NC - 1].f64[19] == 19 * 0.5 + NC - 1);
        fs_chunk_close(c);
    }
    /* a byte of the header past the first 4 KiB flipped: refused */
    bytes[5000] ^= 0x20;
    CHECK_INT(write_bytes(path, bytes, len), 0);
    fs_sb_reset(&err);
    CHECK_INT(fs_chunk_open(path, &c, &err), FS_E_CORRUPT);
    CHECK_CONTAINS(fs_sb_str(&err), "header");
    free(bytes);
    fs_batch_free(&b);
    fs_batch_free(&back);
    fs_sb_free(&err);
}

/* fs_chunk_close_many: eight files opened one after another (their
 * mappings lie side by side) and read, closed at once with a NULL among
 * them: none of them is mapped afterwards. */
TEST(test_close_many)
{
    enum { NF = 8 };
    fs_batch b;
    CHECK_INT(make_candles(&b, 3, 50), FS_OK);
    fs_chunk_meta m = candle_meta();
    fs_strbuf err = {0};
    fs_chunk *cs[NF + 1] = {0};
    for (int k = 0; k < NF; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/many-%d.chunk", dir, k);
        CHECK_INT(fs_chunk_write(path, &b, &m, &err), FS_OK);
        CHECK_INT(fs_chunk_open(path, &cs[k < NF / 2 ? k : k + 1], &err), FS_OK);
    }
    for (int k = 0; k <= NF; k++) {
        if (!cs[k])
            continue;
        fs_batch out;
        CHECK_INT(init_like(&out, cs[k]), 0);
        CHECK_INT(fs_chunk_read_all(cs[k], &out, &err), FS_OK);
        CHECK_INT(out.n, b.n);
        fs_batch_free(&out);
    }
    fs_chunk_close_many(cs, NF + 1);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[1024];
    int still = 0;
    while (maps && fgets(line, sizeof line, maps))
        still += strstr(line, "/many-") != NULL;
    if (maps)
        fclose(maps);
    CHECK_INT(still, 0);
    fs_chunk_close_many(NULL, 0);
    fs_batch_free(&b);
    fs_sb_free(&err);
}

int main(void)
{
    dir = temp_dir();
    if (!dir)
        return 1;
    RUN(test_roundtrip_candles);
    RUN(test_compression_ratio);
    RUN(test_find_entity);
    RUN(test_rejects_bad_input);
    RUN(test_empty_chunk);
    RUN(test_flipped_data_byte);
    RUN(test_flipped_header_and_footer);
    RUN(test_newer_version);
    RUN(test_builder_streams_the_same_bytes);
    RUN(test_bytexor_blocks);
    RUN(test_reads_version_1);
    RUN(test_truncated);
    RUN(test_every_byte_flipped);
    RUN(test_codec_sizes_match_encoders);
    RUN(test_write_rows_through_index);
    RUN(test_long_header);
    RUN(test_close_many);
    fs_batch_free(&candles);
    rm_rf(dir);
    free(dir);
    TEST_EXIT();
}
