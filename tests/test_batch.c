/* Columnar batch tests: rows with nulls of every type, sorting by (entity,
 * event_ts, seq), the WAL serialization round trip, and malformed records
 * (every truncation, random garbage) rejected as corrupt without crashing. */
#include "test.h"

#include "fstore.h"
#include "storage/batch.h"

static const fs_colspec COLS[] = {
    {"i", FS_VT_INT64}, {"f", FS_VT_FLOAT64}, {"s", FS_VT_STRING}, {"b", FS_VT_BOOL}, {"t", FS_VT_TIMESTAMP},
};

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) { return test_xorshift64(&rng); }

static void fill(fs_batch *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char ent[32];
        int el = snprintf(ent, sizeof ent, "SYM%d:1m", (int)(next() % 7));
        long r = fs_batch_add_row(b, ent, (size_t)el, (int64_t)(next() % 1000) * 60000000000LL);
        b->seq[r] = next() % 5 + 1;
        if (next() % 4)
            fs_batch_set_i64(b, 0, (size_t)r, (int64_t)next());
        if (next() % 4)
            fs_batch_set_f64(b, 1, (size_t)r, (double)(next() % 100000) / 100.0);
        if (next() % 4) {
            char s[16] = {'a', 0, 'b'}; /* embedded NUL */
            fs_batch_set_str(b, 2, (size_t)r, s, next() % 4);
        }
        if (next() % 4)
            fs_batch_set_bool(b, 3, (size_t)r, (int)(next() % 2));
        if (next() % 4)
            fs_batch_set_i64(b, 4, (size_t)r, -(int64_t)(next() % 1000000));
    }
}

static int same_row(const fs_batch *a, size_t i, const fs_batch *b, size_t j)
{
    if (a->entity_len[i] != b->entity_len[j] || memcmp(a->entity[i], b->entity[j], a->entity_len[i]) ||
        a->event_ts[i] != b->event_ts[j] || a->seq[i] != b->seq[j])
        return 0;
    for (size_t c = 0; c < a->ncols; c++) {
        const fs_column *x = &a->cols[c], *y = &b->cols[c];
        if (x->valid[i] != y->valid[j])
            return 0;
        if (!x->valid[i])
            continue;
        switch (x->type) {
        case FS_VT_INT64:
        case FS_VT_TIMESTAMP:
            if (x->i64[i] != y->i64[j])
                return 0;
            break;
        case FS_VT_FLOAT64:
            if (memcmp(&x->f64[i], &y->f64[j], 8))
                return 0;
            break;
        case FS_VT_BOOL:
            if (x->b[i] != y->b[j])
                return 0;
            break;
        case FS_VT_STRING:
            if (x->slen[i] != y->slen[j] || memcmp(x->s[i], y->s[j], x->slen[i]))
                return 0;
            break;
        }
    }
    return 1;
}

TEST(rows_and_nulls)
{
    fs_batch b;
    CHECK_INT(fs_batch_init(&b, COLS, 5), FS_OK);
    long r = fs_batch_add_row(&b, "BTCUSDT:1h", 10, 42);
    CHECK_INT(r, 0);
    CHECK_INT(b.cols[1].valid[0], 0); /* a new row is all nulls */
    fs_batch_set_f64(&b, 1, 0, 1.5);
    CHECK_INT(b.cols[1].valid[0], 1);
    CHECK_INT(fs_batch_col(&b, "s"), 2);
    CHECK_INT(fs_batch_col(&b, "nope"), -1);
    fs_batch_add_row(&b, "X", 1, 1);
    fs_batch_pop_row(&b);
    CHECK_INT(b.n, 1);
    fs_batch_free(&b);
}

TEST(sort_orders_by_entity_time_seq)
{
    fs_batch b;
    fs_batch_init(&b, COLS, 5);
    fill(&b, 5000);
    /* remember each row's content by a fingerprint: the multiset must survive */
    uint64_t sum_before = 0;
    for (size_t i = 0; i < b.n; i++)
        sum_before += (uint64_t)(b.event_ts[i] ^ (int64_t)b.seq[i] ^ (b.cols[0].valid[i] ? b.cols[0].i64[i] : 7));
    CHECK_INT(fs_batch_sort(&b), FS_OK);
    int ordered = 1;
    uint64_t sum_after = 0;
    for (size_t i = 0; i < b.n; i++) {
        sum_after += (uint64_t)(b.event_ts[i] ^ (int64_t)b.seq[i] ^ (b.cols[0].valid[i] ? b.cols[0].i64[i] : 7));
        if (i) {
            int c = strcmp(b.entity[i - 1], b.entity[i]);
            ordered &= c < 0 || (c == 0 && (b.event_ts[i - 1] < b.event_ts[i] ||
                                            (b.event_ts[i - 1] == b.event_ts[i] && b.seq[i - 1] <= b.seq[i])));
        }
    }
    CHECK(ordered);
    CHECK_INT(sum_before, sum_after);
    fs_batch_free(&b);
}

TEST(serialize_round_trip)
{
    fs_batch b, d;
    fs_batch_init(&b, COLS, 5);
    fill(&b, 3000);
    fs_wbuf w = {0};
    CHECK_INT(fs_batch_serialize(&b, "candles", &w), FS_OK);
    const char *table = NULL;
    CHECK_INT(fs_batch_deserialize(w.data, w.len, &table, &d), FS_OK);
    CHECK_STR(table, "candles");
    CHECK_INT(d.n, b.n);
    CHECK_INT(d.ncols, 5);
    CHECK_STR(d.cols[2].name, "s");
    int all = 1;
    for (size_t i = 0; i < b.n && i < d.n; i++)
        all &= same_row(&b, i, &d, i);
    CHECK(all);
    /* clearing a decoded batch keeps its column names */
    fs_batch_clear(&d);
    CHECK_STR(d.cols[4].name, "t");
    fs_batch_free(&d);

    /* every truncation is corrupt */
    int bad = 0;
    for (size_t len = 0; len < w.len; len += 1 + len / 50) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, w.data, len);
        if (fs_batch_deserialize(copy, len, &table, &d) != FS_E_CORRUPT)
            bad++;
        free(copy);
    }
    CHECK_INT(bad, 0);
    /* random garbage never crashes; a zero-row record of garbage may parse */
    for (int k = 0; k < 3000; k++) {
        uint8_t g[64];
        size_t len = next() % sizeof g;
        for (size_t i = 0; i < len; i++)
            g[i] = (uint8_t)next();
        if (k % 3 == 0 && len)
            g[0] = 1; /* a valid format byte, to get deeper */
        if (fs_batch_deserialize(g, len, &table, &d) == FS_OK)
            fs_batch_free(&d);
    }
    fs_wbuf_free(&w);
    fs_batch_free(&b);
}

TEST(copy_row_keeps_values_and_seq)
{
    fs_batch a, b;
    fs_batch_init(&a, COLS, 5);
    fs_batch_init(&b, COLS, 5);
    fill(&a, 100);
    for (size_t i = 0; i < a.n; i += 3)
        CHECK_INT(fs_batch_copy_row(&b, &a, i), 0);
    int all = 1;
    for (size_t i = 0, j = 0; i < a.n; i += 3, j++)
        all &= same_row(&a, i, &b, j);
    CHECK(all);
    fs_batch_free(&a);
    fs_batch_free(&b);
}


/* Reserve sizes the arrays once (no move while rows fit); a string equal to
 * the previous row's is shared, not copied; append_shared concatenates
 * batches column by column, values, nulls, seq and string pointers alike. */
TEST(reserve_share_and_append)
{
    fs_batch a, b, c;
    fs_batch_init(&a, COLS, 5);
    fs_batch_init(&b, COLS, 5);
    fs_batch_init(&c, COLS, 5);
    CHECK_INT(fs_batch_reserve(&a, 1000), FS_OK);
    CHECK_INT(a.cap, 1000);
    const int64_t *ts0 = a.event_ts;
    fill(&a, 1000);
    CHECK(a.event_ts == ts0); /* never moved */
    CHECK_INT(fs_batch_reserve(&a, 10), FS_OK); /* no shrinking */
    CHECK_INT(a.cap, 1000);
    long r0 = fs_batch_add_row(&b, "X:1m", 4, 1);
    long r1 = fs_batch_add_row(&b, "X:1m", 4, 2);
    long r2 = fs_batch_add_row(&b, "X:1m", 4, 3);
    fs_batch_set_str(&b, 2, (size_t)r0, "BTCUSDT", 7);
    fs_batch_set_str(&b, 2, (size_t)r1, "BTCUSDT", 7);
    fs_batch_set_str(&b, 2, (size_t)r2, "ETHUSDT", 7);
    CHECK(b.cols[2].s[r0] == b.cols[2].s[r1]);
    CHECK(b.cols[2].s[r1] != b.cols[2].s[r2]);
    CHECK_STR(b.cols[2].s[r2], "ETHUSDT");
    b.seq[r2] = 9;
    CHECK_INT(fs_batch_append_shared(&c, &a), FS_OK);
    CHECK_INT(fs_batch_append_shared(&c, &b), FS_OK);
    CHECK_INT(c.n, 1003);
    int same = 1;
    for (size_t i = 0; i < a.n; i++)
        same &= same_row(&a, i, &c, i);
    for (size_t i = 0; i < b.n; i++)
        same &= same_row(&b, i, &c, a.n + i);
    CHECK(same);
    CHECK(c.cols[2].s[1000] == b.cols[2].s[0]); /* shared, not copied */
    CHECK_INT(c.seq[1002], 9);
    fs_batch_free(&c); /* before its sources: it owns no strings */
    fs_batch_free(&a);
    fs_batch_free(&b);
}

int main(void)
{
    RUN(rows_and_nulls);
    RUN(sort_orders_by_entity_time_seq);
    RUN(serialize_round_trip);
    RUN(copy_row_keeps_values_and_seq);
    RUN(reserve_share_and_append);
    TEST_EXIT();
}
