/* Ingest parsing: CSV (short and long candle headers, quoting, CRLF), kline
 * files in ms and us, JSON lines, bad rows with exact lines and reasons,
 * files that are not of the format at all, event_ts = open + tf, streaming
 * in pieces, options, and a 100k-row file for throughput (printed, not
 * asserted). */
#include "test.h"

#include "core/diag.h"
#include "core/timeutil.h"
#include "fstore.h"
#include "ingest/parse.h"
#include "registry/load.h"

#include <time.h>

static fs_registry *reg;

static const fs_source_def *src(const char *name)
{
    return fs_reg_source(reg, name);
}

static int64_t T(const char *iso)
{
    int64_t ns = 0;
    if (fs_parse_time(iso, strlen(iso), &ns, NULL, 0) != FS_OK) {
        fprintf(stderr, "bad time in test: %s\n", iso);
        abort();
    }
    return ns;
}

/* Parses `text` into a fresh batch `b`; returns the status. */
static int parse(const char *source, fs_ingest_format fmt, const fs_ingest_options *opt,
                 const char *text, size_t len, fs_batch *b, fs_ingest_report *rep,
                 fs_strbuf *err)
{
    fs_ingest_report_init(rep);
    if (fs_ingest_batch_init(b, src(source)) != FS_OK)
        abort();
    return fs_ingest_parse(reg, src(source), fmt, opt, text, len, b, rep, err);
}

#define PARSE(source, fmt, opt, text, b, rep, err)                                                 \
    parse(source, fmt, opt, text, strlen(text), b, rep, err)

/* 1 when the batches hold the same rows, values and system fields. */
static int same_batch(const fs_batch *a, const fs_batch *b)
{
    if (a->n != b->n || a->ncols != b->ncols)
        return 0;
    for (size_t r = 0; r < a->n; r++) {
        if (strcmp(a->entity[r], b->entity[r]) || a->event_ts[r] != b->event_ts[r])
            return 0;
        for (size_t c = 0; c < a->ncols; c++) {
            const fs_column *x = &a->cols[c], *y = &b->cols[c];
            if (x->valid[r] != y->valid[r])
                return 0;
            if (!x->valid[r])
                continue;
            switch (x->type) {
            case FS_VT_INT64:
            case FS_VT_TIMESTAMP:
                if (x->i64[r] != y->i64[r])
                    return 0;
                break;
            case FS_VT_FLOAT64:
                if (x->f64[r] != y->f64[r])
                    return 0;
                break;
            case FS_VT_BOOL:
                if (x->b[r] != y->b[r])
                    return 0;
                break;
            case FS_VT_STRING:
                if (x->slen[r] != y->slen[r] || strcmp(x->s[r], y->s[r]))
                    return 0;
                break;
            }
        }
    }
    return 1;
}

static int col(const fs_batch *b, const char *name)
{
    int c = fs_batch_col(b, name);
    if (c < 0) {
        fprintf(stderr, "no column %s\n", name);
        abort();
    }
    return c;
}

#define F64(b, name, r) ((b)->cols[col(b, name)].f64[r])
#define I64(b, name, r) ((b)->cols[col(b, name)].i64[r])
#define STR(b, name, r) ((b)->cols[col(b, name)].s[r])
#define VALID(b, name, r) ((b)->cols[col(b, name)].valid[r])

static const char CANDLES_SHORT[] =
    "symbol,tf,ts,o,h,l,c,v,vwap,taker_buy_vol\n"
    "BTCUSDT,1h,2024-01-01T10:00:00Z,100,110,95,105,12.5,103.2,6\n"
    "BTCUSDT,1h,2024-01-01T11:00:00Z,105,106,101,102,3,,\n"
    "ETHUSDT,1m,1704103200000,2000.5,2001,1999.25,2000,7.125,2000.1,1.5\n";

static const char CANDLES_LONG[] =
    "Symbol, TF ,TS,Open,HIGH,low,Close,volume,VWAP,taker_buy_volume\n"
    "BTCUSDT,1h,2024-01-01T10:00:00Z,100,110,95,105,12.5,103.2,6\n"
    "BTCUSDT,1h,2024-01-01T11:00:00Z,105,106,101,102,3,,\n"
    "ETHUSDT,1m,1704103200000,2000.5,2001,1999.25,2000,7.125,2000.1,1.5\n";

TEST(csv_short_and_long_headers)
{
    fs_batch a, b;
    fs_ingest_report ra, rb;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, CANDLES_SHORT, &a, &ra, &err), FS_OK);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, CANDLES_LONG, &b, &rb, &err), FS_OK);
    CHECK_STR(fs_sb_str(&err), "");
    CHECK_INT(a.n, 3);
    CHECK_INT(ra.rows_ok, 3);
    CHECK_INT(ra.rows_rejected, 0);
    CHECK_INT(ra.lines, 4);
    CHECK(same_batch(&a, &b));
    CHECK_STR(a.entity[0], "BTCUSDT:1h");
    CHECK_STR(a.entity[2], "ETHUSDT:1m");
    CHECK_INT(I64(&a, "ts", 0), T("2024-01-01T10:00:00Z"));
    CHECK_INT(a.event_ts[0], T("2024-01-01T11:00:00Z"));
    CHECK_INT(I64(&a, "ts", 2), T("2024-01-01T10:00:00Z")); /* epoch ms */
    CHECK_INT(a.event_ts[2], T("2024-01-01T10:01:00Z"));
    CHECK_NEAR(F64(&a, "o", 2), 2000.5, 0);
    CHECK_NEAR(F64(&a, "l", 2), 1999.25, 0);
    CHECK_NEAR(F64(&a, "vwap", 0), 103.2, 0);
    CHECK_INT(VALID(&a, "vwap", 1), 0);
    CHECK_INT(VALID(&a, "taker_buy_vol", 1), 0);
    CHECK_INT(VALID(&a, "taker_buy_vol", 2), 1);
    CHECK_STR(STR(&a, "tf", 2), "1m");
    fs_batch_free(&a);
    fs_batch_free(&b);
    fs_ingest_report_free(&ra);
    fs_ingest_report_free(&rb);
    fs_sb_free(&err);
}

/* Two candles, 1h, as an exchange writes them; `unit` is "ms" or "us". */
static char *kline_text(int us, int with_header)
{
    int64_t m = us ? 1000 : 1;
    int64_t t0 = INT64_C(1704103200000) * m; /* 2024-01-01T10:00:00Z */
    int64_t h = INT64_C(3600000) * m;
    char *buf = malloc(1024);
    int n = 0;
    if (with_header)
        n += sprintf(buf + n, "open_time,open,high,low,close,volume,close_time,quote_volume,"
                              "count,taker_buy_volume,taker_buy_quote_volume,ignore\n");
    n += sprintf(buf + n,
                 "%" PRId64 ",42000.1,42100.5,41900,42050,10.5,%" PRId64
                 ",441000,1234,5.25,220000,0\n",
                 t0, t0 + h - 1);
    sprintf(buf + n,
            "%" PRId64 ",42050,42080,41990.5,42000,0,%" PRId64 ",0,0,0,0,0\n", t0 + h,
            t0 + 2 * h - 1);
    return buf;
}

TEST(kline_ms_and_us)
{
    fs_ingest_options opt = {.symbol = "BTCUSDT", .tf = "1h"};
    fs_batch a, b, c;
    fs_ingest_report ra, rb, rc;
    fs_strbuf err = {0};
    char *ms = kline_text(0, 0), *us = kline_text(1, 0), *hdr = kline_text(1, 1);
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &opt, ms, &a, &ra, &err), FS_OK);
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &opt, us, &b, &rb, &err), FS_OK);
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &opt, hdr, &c, &rc, &err), FS_OK);
    CHECK_STR(fs_sb_str(&err), "");
    CHECK_INT(a.n, 2);
    CHECK_INT(ra.rows_rejected, 0);
    CHECK(same_batch(&a, &b));
    CHECK(same_batch(&a, &c));
    CHECK_STR(a.entity[0], "BTCUSDT:1h");
    CHECK_STR(STR(&a, "symbol", 1), "BTCUSDT");
    CHECK_STR(STR(&a, "tf", 1), "1h");
    CHECK_INT(I64(&a, "ts", 0), T("2024-01-01T10:00:00Z"));
    CHECK_INT(a.event_ts[0], T("2024-01-01T11:00:00Z"));
    CHECK_INT(I64(&a, "ts", 1), T("2024-01-01T11:00:00Z"));
    CHECK_INT(a.event_ts[1], T("2024-01-01T12:00:00Z"));
    CHECK_NEAR(F64(&a, "o", 0), 42000.1, 0);
    CHECK_NEAR(F64(&a, "h", 0), 42100.5, 0);
    CHECK_NEAR(F64(&a, "l", 0), 41900, 0);
    CHECK_NEAR(F64(&a, "c", 0), 42050, 0);
    CHECK_NEAR(F64(&a, "v", 0), 10.5, 0);
    CHECK_NEAR(F64(&a, "vwap", 0), 441000 / 10.5, 1e-9);
    CHECK_NEAR(F64(&a, "taker_buy_vol", 0), 5.25, 0);
    CHECK_INT(VALID(&a, "vwap", 1), 0); /* no volume: no vwap */
    fs_batch_free(&a);
    fs_batch_free(&b);
    fs_batch_free(&c);
    fs_ingest_report_free(&ra);
    fs_ingest_report_free(&rb);
    fs_ingest_report_free(&rc);

    /* The wrong tf for the file: every row's close time says so. */
    fs_ingest_options o4 = {.symbol = "BTCUSDT", .tf = "4h"};
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &o4, ms, &a, &ra, &err), FS_OK);
    CHECK_INT(a.n, 0);
    CHECK_INT(ra.rows_rejected, 2);
    if (ra.n_rejects)
        CHECK_CONTAINS(ra.rejects[0].reason, "does not match tf 4h");
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);

    /* symbol and tf are required; a bad symbol option is refused. */
    fs_ingest_options none = {0}, badsym = {.symbol = "btc-usdt", .tf = "1h"};
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &none, ms, &a, &ra, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "symbol and the tf");
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);
    fs_sb_reset(&err);
    CHECK_INT(PARSE("candles", FS_FMT_KLINE, &badsym, ms, &a, &ra, &err), FS_E_INVAL);
    CHECK_CONTAINS(fs_sb_str(&err), "not a symbol");
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);
    fs_sb_reset(&err);
    /* kline is for candles only */
    CHECK_INT(PARSE("signals", FS_FMT_KLINE, &opt, ms, &a, &ra, &err), FS_E_INVAL);
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);
    free(ms);
    free(us);
    free(hdr);
    fs_sb_free(&err);
}

TEST(jsonl_rows)
{
    static const char candles[] =
        "{\"symbol\":\"BTCUSDT\",\"tf\":\"1h\",\"ts\":\"2024-01-01T10:00:00Z\",\"o\":100,"
        "\"h\":110,\"l\":95,\"c\":105,\"v\":12.5,\"vwap\":103.2,\"taker_buy_vol\":6}\n"
        "{\"symbol\":\"BTCUSDT\",\"tf\":\"1h\",\"ts\":\"2024-01-01T11:00:00Z\",\"open\":\"105\","
        "\"high\":\"106\",\"low\":\"101\",\"close\":\"102\",\"volume\":\"3\",\"vwap\":null}\n"
        "\n"
        "{\"symbol\":\"ETHUSDT\",\"tf\":\"1m\",\"ts\":1704103200000,\"o\":2000.5,\"h\":2001,"
        "\"l\":1999.25,\"c\":2000,\"v\":7.125,\"vwap\":2000.1,\"taker_buy_vol\":1.5}\n"
        "{\"symbol\":\"ETHUSDT\",\"tf\":\"1m\",\"ts\":1704103200000,\"o\":1,\"h\":2,\"l\":1,"
        "\"c\":1,\"v\":1,\"colour\":\"red\"}\n"
        "{\"symbol\":\"ETHUSDT\",\"tf\":\"1m\",\"ts\":1704103200000,\"o\":1,\n"
        "[1,2,3]\n";
    fs_batch a, b;
    fs_ingest_report ra, rb;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("candles", FS_FMT_JSONL, NULL, candles, &a, &ra, &err), FS_OK);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, CANDLES_SHORT, &b, &rb, &err), FS_OK);
    CHECK_STR(fs_sb_str(&err), "");
    CHECK_INT(a.n, 3);
    CHECK(same_batch(&a, &b));
    CHECK_INT(ra.rows_rejected, 3);
    CHECK_INT(ra.n_rejects, 3);
    if (ra.n_rejects == 3) {
        CHECK_INT(ra.rejects[0].line, 5);
        CHECK_CONTAINS(ra.rejects[0].reason, "key names no column of source candles: \"colour\"");
        CHECK_INT(ra.rejects[1].line, 6);
        CHECK_CONTAINS(ra.rejects[1].reason, "invalid JSON");
        CHECK_INT(ra.rejects[2].line, 7);
        CHECK_CONTAINS(ra.rejects[2].reason, "not a JSON object");
    }
    fs_batch_free(&a);
    fs_batch_free(&b);
    fs_ingest_report_free(&ra);
    fs_ingest_report_free(&rb);

    /* signals: a json column (object kept as compact text), nullable fields,
     * no available_after (event_ts = ts). */
    static const char sig[] =
        "{\"id\":7,\"ts\":\"2024-03-01T00:00:00Z\",\"symbol\":\"BTCUSDT\",\"tf\":\"1h\","
        "\"label\":\"long\",\"pred\":0.8,\"proba\":0.75,\"model_id\":\"m1\",\"outcome\":null,"
        "\"features\":{\"rsi\": 55.5, \"ema\": [1, 2]}}\n"
        "{\"id\":8,\"ts\":\"2024-03-01T01:00:00Z\",\"symbol\":\"BTCUSDT\",\"tf\":\"1h\","
        "\"model_id\":\"m1\",\"proba\":1.5}\n";
    CHECK_INT(PARSE("signals", FS_FMT_JSONL, NULL, sig, &a, &ra, &err), FS_OK);
    CHECK_INT(a.n, 1);
    if (a.n == 1) {
        CHECK_INT(I64(&a, "id", 0), 7);
        CHECK_INT(a.event_ts[0], T("2024-03-01T00:00:00Z"));
        CHECK_STR(STR(&a, "features", 0), "{\"rsi\":55.5,\"ema\":[1,2]}");
        CHECK_STR(STR(&a, "label", 0), "long");
        CHECK_INT(VALID(&a, "outcome", 0), 0);
        CHECK_NEAR(F64(&a, "proba", 0), 0.75, 0);
    }
    CHECK_INT(ra.rows_rejected, 1);
    if (ra.n_rejects)
        CHECK_STR(ra.rejects[0].reason, "proba: 1.5 is above the maximum 1");
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);

    /* retrain_queue: an int64 join key */
    static const char rq[] = "{\"id\":1,\"signal_id\":42,\"reason\":\"drift\","
                             "\"inserted_at\":1709251200,\"status\":\"new\",\"priority\":3}\n";
    CHECK_INT(PARSE("retrain_queue", FS_FMT_JSONL, NULL, rq, &a, &ra, &err), FS_OK);
    CHECK_INT(a.n, 1);
    if (a.n)
        CHECK_STR(a.entity[0], "42");
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);

    /* Not JSON lines at all */
    CHECK_INT(PARSE("signals", FS_FMT_JSONL, NULL, CANDLES_SHORT, &a, &ra, &err), FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "not a JSON lines file");
    CHECK_INT(a.n, 0);
    fs_batch_free(&a);
    fs_ingest_report_free(&ra);
    fs_sb_free(&err);
}

TEST(csv_quoted_fields)
{
    static const char text[] =
        "id,ts,symbol,tf,label,pred,proba,model_id,outcome,realized_rr,latency_ms,features\n"
        "1,2024-03-01T00:00:00Z,BTCUSDT,1h,\"long, strong\",0.5,0.6,\"m\"\"1\",,,,"
        "\"{\"\"rsi\"\": 55}\"\n"
        "2,2024-03-01T01:00:00Z,BTCUSDT,1h,\"two\nlines\",,,m1,\"\",,,\n"
        "3,2024-03-01T02:00:00Z,BTCUSDT,1h,x\"y,,,m1,,,,\n"
        "4,2024-03-01T03:00:00Z,BTCUSDT,1h,\"a\"b,,,m1,,,,\n"
        "5,2024-03-01T04:00:00Z,BTCUSDT,1h,,,,m1,,,,\"{bad json\"\n"
        "6,2024-03-01T05:00:00Z,BTCUSDT,1h,,,,m1,,,,\"[1,2]\"\n";
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("signals", FS_FMT_CSV, NULL, text, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 3);
    if (b.n == 3) {
        CHECK_STR(STR(&b, "label", 0), "long, strong");
        CHECK_STR(STR(&b, "model_id", 0), "m\"1");
        CHECK_STR(STR(&b, "features", 0), "{\"rsi\": 55}");
        CHECK_INT(VALID(&b, "outcome", 0), 0);
        CHECK_STR(STR(&b, "label", 1), "two\nlines");
        CHECK_INT(VALID(&b, "outcome", 1), 1); /* "" is an empty string, not null */
        CHECK_STR(STR(&b, "outcome", 1), "");
        CHECK_INT(VALID(&b, "pred", 1), 0);
        CHECK_INT(I64(&b, "id", 2), 6);
    }
    CHECK_INT(rep.rows_rejected, 3);
    CHECK_INT(rep.n_rejects, 3);
    if (rep.n_rejects == 3) {
        CHECK_INT(rep.rejects[0].line, 5); /* the quoted newline made row 2 two lines */
        CHECK_CONTAINS(rep.rejects[0].reason, "quote inside an unquoted field");
        CHECK_INT(rep.rejects[1].line, 6);
        CHECK_CONTAINS(rep.rejects[1].reason, "after a closing quote");
        CHECK_INT(rep.rejects[2].line, 7);
        CHECK_CONTAINS(rep.rejects[2].reason, "features: invalid JSON");
        CHECK_STR(rep.rejects[2].column, "features");
    }
    CHECK_INT(rep.lines, 8);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);

    /* An unterminated quote takes the rest of the file as one bad row. */
    static const char unterminated[] = "symbol,tf,ts,o,h,l,c,v\n"
                                       "BTCUSDT,1h,2024-01-01,1,1,1,1,1\n"
                                       "BTCUSDT,1h,\"2024-01-02,1,1,1,1,1\n"
                                       "BTCUSDT,1h,2024-01-03,1,1,1,1,1\n";
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, unterminated, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 1);
    CHECK_INT(rep.rows_rejected, 1);
    if (rep.n_rejects)
        CHECK_CONTAINS(rep.rejects[0].reason, "unterminated quoted field");
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

TEST(csv_crlf_bom_blank_lines)
{
    static const char crlf[] =
        "\xEF\xBB\xBFsymbol,tf,ts,o,h,l,c,v,vwap,taker_buy_vol\r\n"
        "BTCUSDT,1h,2024-01-01T10:00:00Z,100,110,95,105,12.5,103.2,6\r\n"
        "\r\n"
        "BTCUSDT,1h,2024-01-01T11:00:00Z,105,106,101,102,3,,\r\n"
        "ETHUSDT,1m,1704103200000,2000.5,2001,1999.25,2000,7.125,2000.1,1.5";
    fs_batch a, b;
    fs_ingest_report ra, rb;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, crlf, &a, &ra, &err), FS_OK);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, CANDLES_SHORT, &b, &rb, &err), FS_OK);
    CHECK_STR(fs_sb_str(&err), "");
    CHECK_INT(a.n, 3);
    CHECK_INT(ra.rows_rejected, 0);
    CHECK(same_batch(&a, &b));
    CHECK_INT(VALID(&a, "taker_buy_vol", 1), 0); /* the CR is not part of the last field */
    CHECK_INT(ra.lines, 5);
    fs_batch_free(&a);
    fs_batch_free(&b);
    fs_ingest_report_free(&ra);
    fs_ingest_report_free(&rb);
    fs_sb_free(&err);
}

static int n_cb;
static int count_reject(void *ctx, const fs_ingest_reject *r)
{
    (void)ctx;
    (void)r;
    n_cb++;
    return 0;
}

TEST(bad_rows_reported)
{
    static const char text[] =
        "symbol,tf,ts,o,h,l,c,v\n"                             /* 1 */
        "BTCUSDT,1h,2024-01-01T00:00:00Z,10,12,9,11,5\n"       /* 2 ok */
        "BTCUSDT,1h,2024-01-01T01:00:00Z,10,12,9,11\n"         /* 3 field count */
        "BTCUSDT,1h,2024-01-01T02:00:00Z,10,12,abc,11,5\n"     /* 4 number */
        "BTCUSDT,1h,2024-01-01T03:00:00Z,10,12,9,11,5\n"       /* 5 ok */
        "BTCUSDT,1h,2024-01-01T04:00:00Z,10,12,9,,5\n"         /* 6 missing c */
        "BTCUSDT,1h,2024-01-01T05:00:00Z,10,12,9,11,-1\n"      /* 7 below min */
        "BTCUSDT,1h,2024-01-01T06:00:00Z,10,8,9,9,5\n"         /* 8 h < l */
        "BTCUSDT,1h,2024-01-01T07:00:00Z,13,12,9,11,5\n"       /* 9 o > h */
        "BTCUSDT,1x,2024-01-01T08:00:00Z,10,12,9,11,5\n"       /* 10 tf */
        "btc/usdt,1h,2024-01-01T09:00:00Z,10,12,9,11,5\n"      /* 11 symbol */
        ",1h,2024-01-01T10:00:00Z,10,12,9,11,5\n"              /* 12 empty key */
        "BTCUSDT,1h,2024-13-01T11:00:00Z,10,12,9,11,5\n"       /* 13 time */
        "BTCUSDT,1h,2024-01-01T12:00:00Z,10,12,9,8,5\n"        /* 14 c < l */
        "BTCUSDT,1h,2024-01-01T13:00:00Z,10,12,9,11,5\n";      /* 15 ok */
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    n_cb = 0;
    fs_ingest_options opt = {.on_reject = count_reject};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &opt, text, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 3);
    CHECK_INT(rep.rows_ok, 3);
    CHECK_INT(rep.rows_rejected, 11);
    CHECK_INT(n_cb, 11);
    static const struct {
        uint64_t line;
        const char *column, *reason;
    } want[] = {
        {3, NULL, "expected 8 fields, got 7"},
        {4, "l", "l: not a number: \"abc\""},
        {6, "c", "c: missing value (the column is not nullable)"},
        {7, "v", "v: -1 is below the minimum 0"},
        {8, "h", "h: high 8 is below low 9"},
        {9, "o", "o: open 13 is outside [low, high] = [9, 12]"},
        {10, "tf", "tf: not a duration: "},
        {11, "symbol", "symbol: not a symbol (2 to 20 characters A-Z 0-9): \"btc/usdt\""},
        {12, "symbol", "symbol: empty join key"},
        {13, "ts", "ts: invalid time"},
        {14, "c", "c: close 8 is outside [low, high] = [9, 12]"},
    };
    CHECK_INT(rep.n_rejects, 11);
    for (size_t i = 0; i < rep.n_rejects && i < 11; i++) {
        CHECK_INT(rep.rejects[i].line, want[i].line);
        if (want[i].column)
            CHECK_STR(rep.rejects[i].column, want[i].column);
        else
            CHECK(rep.rejects[i].column == NULL);
        CHECK_CONTAINS(rep.rejects[i].reason, want[i].reason);
    }
    /* The original line travels with its reason. */
    if (rep.n_rejects > 1)
        CHECK_STR(rep.rejects[1].text, "BTCUSDT,1h,2024-01-01T02:00:00Z,10,12,abc,11,5");

    /* The rejects file */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    CHECK_INT(fs_ingest_rejects_write(&rep, f), 0);
    fclose(f);
    CHECK_CONTAINS(mem, "3\texpected 8 fields, got 7\tBTCUSDT,1h,2024-01-01T01:00:00Z,10,12,9,11\n"
                        "4\tl: not a number: \"abc\"\tBTCUSDT,1h,2024-01-01T02:00:00Z,10,12,abc,11,5\n");
    size_t nl = 0;
    for (size_t i = 0; i < memlen; i++)
        nl += mem[i] == '\n';
    CHECK_INT(nl, 11);
    free(mem);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);

    /* Stored reasons are capped; the count stays exact. */
    fs_ingest_options capped = {.max_reasons = 4};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &capped, text, &b, &rep, &err), FS_OK);
    CHECK_INT(rep.rows_rejected, 11);
    CHECK_INT(rep.n_rejects, 4);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

TEST(not_csv_at_all)
{
    static const unsigned char png[] = {0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,   0,
                                        0,    0x0d, 'I',  'H',  'D',  'R',  0,    0,    0x01, 0,
                                        0,    0,    0x01, 0,    0x08, 0x06, 0,    0,    0,   0x1f};
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};

    /* Rows already in the batch stay; the failed parse adds none. */
    fs_ingest_report_init(&rep);
    fs_ingest_batch_init(&b, src("candles"));
    CHECK_INT(fs_ingest_parse(reg, src("candles"), FS_FMT_CSV, NULL, CANDLES_SHORT,
                              strlen(CANDLES_SHORT), &b, &rep, &err),
              FS_OK);
    CHECK_INT(b.n, 3);
    CHECK_INT(fs_ingest_parse(reg, src("candles"), FS_FMT_CSV, NULL, (const char *)png, sizeof png,
                              &b, &rep, &err),
              FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "NUL byte");
    CHECK_INT(b.n, 3);
    CHECK_INT(rep.rows_ok, 3);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_reset(&err);

    /* Random bytes without any NUL */
    char rnd[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x = x * 1103515245u + 12345u;
        rnd[i] = (char)((x >> 16) % 255 + 1);
    }
    CHECK_INT(parse("candles", FS_FMT_CSV, NULL, rnd, sizeof rnd, &b, &rep, &err), FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "not a CSV file");
    CHECK_INT(b.n, 0);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_reset(&err);
    CHECK_INT(parse("candles", FS_FMT_KLINE, &(fs_ingest_options){.symbol = "BTCUSDT", .tf = "1h"},
                    rnd, sizeof rnd, &b, &rep, &err),
              FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "not a kline file");
    CHECK_INT(b.n, 0);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_reset(&err);

    /* Text, but no header naming the columns: a kline file given as CSV */
    char *kl = kline_text(0, 0);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &(fs_ingest_options){.name = "k.csv"}, kl, &b, &rep,
                    &err),
              FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "k.csv:1: not a CSV file for source candles");
    CHECK_CONTAINS(fs_sb_str(&err), "use the kline format");
    CHECK_INT(b.n, 0);
    free(kl);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_reset(&err);

    /* A header with an unknown column, or lacking a required one */
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, "symbol,tf,ts,o,h,l,c,v,colour\n", &b, &rep, &err),
              FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "header names no column of source candles: \"colour\"");
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_reset(&err);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &(fs_ingest_options){.ignore_unknown = 1},
                    "symbol,tf,ts,o,h,l,c,v,colour\nBTCUSDT,1h,2024-01-01,1,1,1,1,1,red\n", &b,
                    &rep, &err),
              FS_OK);
    CHECK_INT(b.n, 1);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, "symbol,ts,o,h,l,c,v\n", &b, &rep, &err),
              FS_E_PARSE);
    CHECK_CONTAINS(fs_sb_str(&err), "the header has no column tf");
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

TEST(empty_inputs)
{
    static const char *const texts[] = {"", "\n\n", "symbol,tf,ts,o,h,l,c,v\n",
                                        "symbol,tf,ts,o,h,l,c,v"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        fs_batch b;
        fs_ingest_report rep;
        fs_strbuf err = {0};
        CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, texts[i], &b, &rep, &err), FS_OK);
        CHECK_INT(b.n, 0);
        CHECK_INT(rep.rows_ok + rep.rows_rejected, 0);
        fs_batch_free(&b);
        fs_ingest_report_free(&rep);
        CHECK_INT(PARSE("candles", FS_FMT_JSONL, NULL, i < 2 ? texts[i] : "", &b, &rep, &err),
                  FS_OK);
        CHECK_INT(b.n, 0);
        fs_batch_free(&b);
        fs_ingest_report_free(&rep);
        fs_sb_free(&err);
    }
}

TEST(event_ts_is_open_plus_tf)
{
    static const char text[] = "symbol,tf,ts,o,h,l,c,v\n"
                               "BTCUSDT,1m,2024-01-01T10:00:00Z,1,1,1,1,1\n"
                               "BTCUSDT,1h,2024-01-01T10:00:00Z,1,1,1,1,1\n"
                               "BTCUSDT,1d,2024-01-01T00:00:00Z,1,1,1,1,1\n"
                               "BTCUSDT,0s,2024-01-01T00:00:00Z,1,1,1,1,1\n";
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, NULL, text, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 3);
    if (b.n == 3) {
        CHECK_INT(b.event_ts[0], T("2024-01-01T10:01:00Z"));
        CHECK_INT(b.event_ts[1], T("2024-01-01T11:00:00Z"));
        CHECK_INT(b.event_ts[2], T("2024-01-02T00:00:00Z"));
        /* the open time is kept as is */
        CHECK_INT(I64(&b, "ts", 1), T("2024-01-01T10:00:00Z"));
    }
    CHECK_INT(rep.rows_rejected, 1);
    if (rep.n_rejects)
        CHECK_CONTAINS(rep.rejects[0].reason, "tf: a candle's timeframe must be positive");
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);

    /* tf (and symbol) as options fill files without them */
    static const char bare[] = "ts,open,high,low,close,volume\n"
                               "2024-01-01T00:00:00Z,1,2,1,2,5\n";
    fs_ingest_options opt = {.symbol = "SOLUSDT", .tf = "1d"};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &opt, bare, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 1);
    if (b.n) {
        CHECK_STR(b.entity[0], "SOLUSDT:1d");
        CHECK_INT(b.event_ts[0], T("2024-01-02T00:00:00Z"));
    }
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

/* Feeding the same text in pieces of every size gives the same batch. */
TEST(streaming_pieces)
{
    static const char text[] =
        "id,ts,symbol,tf,label,pred,proba,model_id,outcome,realized_rr,latency_ms,features\r\n"
        "1,2024-03-01T00:00:00Z,BTCUSDT,1h,\"long, \"\"strong\"\"\",0.5,0.6,m1,,,,\r\n"
        "2,2024-03-01T01:00:00Z,BTCUSDT,1h,\"two\r\nlines\",,,m1,\"\",,,\r\n"
        "3,2024-03-01T02:00:00Z,BTCUSDT,1h,x\"y,,,m1,,,,\r\n"
        "4,2024-03-01T03:00:00Z,BTCUSDT,1h,,,2,m1,,,,\r\n"
        "5,2024-03-01T04:00:00Z,BTCUSDT,1h,,,,m1,,,,\"[1]\"";
    fs_batch whole;
    fs_ingest_report wrep;
    fs_strbuf err = {0};
    CHECK_INT(PARSE("signals", FS_FMT_CSV, NULL, text, &whole, &wrep, &err), FS_OK);
    CHECK_INT(whole.n, 3);
    CHECK_INT(wrep.rows_rejected, 2);
    size_t len = strlen(text);
    for (size_t piece = 1; piece <= len; piece += (piece < 16 ? 1 : 37)) {
        fs_batch b;
        fs_ingest_report rep;
        fs_ingest_report_init(&rep);
        fs_ingest_batch_init(&b, src("signals"));
        fs_ingest_parser *p;
        CHECK_INT(fs_ingest_begin(&p, reg, src("signals"), FS_FMT_CSV, NULL, &b, &rep, &err),
                  FS_OK);
        for (size_t off = 0; off < len; off += piece)
            CHECK_INT(fs_ingest_feed(p, text + off, off + piece > len ? len - off : piece), FS_OK);
        CHECK_INT(fs_ingest_finish(p), FS_OK);
        fs_ingest_parser_free(p);
        CHECK(same_batch(&whole, &b));
        CHECK_INT(rep.rows_rejected, 2);
        CHECK_INT(rep.n_rejects, 2);
        for (size_t i = 0; i < rep.n_rejects && i < wrep.n_rejects; i++) {
            CHECK_INT(rep.rejects[i].line, wrep.rejects[i].line);
            CHECK_STR(rep.rejects[i].reason, wrep.rejects[i].reason);
            CHECK_STR(rep.rejects[i].text, wrep.rejects[i].text);
        }
        fs_batch_free(&b);
        fs_ingest_report_free(&rep);
    }
    if (wrep.n_rejects == 2) {
        CHECK_INT(wrep.rejects[0].line, 5);
        CHECK_INT(wrep.rejects[1].line, 6);
    }
    fs_batch_free(&whole);
    fs_ingest_report_free(&wrep);

    /* A NUL in a later piece fails the parse and removes its earlier rows. */
    fs_batch b;
    fs_ingest_report rep;
    fs_ingest_report_init(&rep);
    fs_ingest_batch_init(&b, src("candles"));
    fs_ingest_parser *p;
    CHECK_INT(fs_ingest_begin(&p, reg, src("candles"), FS_FMT_CSV, NULL, &b, &rep, &err), FS_OK);
    CHECK_INT(fs_ingest_feed(p, CANDLES_SHORT, strlen(CANDLES_SHORT)), FS_OK);
    CHECK_INT(b.n, 3);
    CHECK_INT(fs_ingest_feed(p, "BTC\0", 4), FS_E_PARSE);
    CHECK_INT(fs_ingest_finish(p), FS_E_PARSE);
    CHECK_INT(b.n, 0);
    CHECK_INT(rep.rows_ok, 0);
    fs_ingest_parser_free(p);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

TEST(max_rows_and_callback_abort)
{
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    fs_ingest_options opt = {.max_rows = 2};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &opt, CANDLES_SHORT, &b, &rep, &err), FS_OK);
    CHECK_INT(b.n, 2);
    CHECK_INT(rep.stopped, 1);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
}

static int abort_reject(void *ctx, const fs_ingest_reject *r)
{
    (void)ctx;
    (void)r;
    return FS_E_IO;
}

TEST(reject_callback_can_abort)
{
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    fs_ingest_options opt = {.on_reject = abort_reject};
    CHECK_INT(PARSE("candles", FS_FMT_CSV, &opt,
                    "symbol,tf,ts,o,h,l,c,v\nBTCUSDT,1h,x,1,1,1,1,1\nBTCUSDT,1h,2024-01-01,1,1,1,"
                    "1,1\n",
                    &b, &rep, &err),
              FS_E_IO);
    CHECK_INT(b.n, 0);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
}

TEST(large_csv_throughput)
{
    const size_t rows = 100000;
    fs_strbuf sb = {0};
    fs_sb_puts(&sb, "symbol,tf,ts,open,high,low,close,volume,vwap,taker_buy_vol\n");
    int64_t t0 = INT64_C(1704067200000);
    for (size_t i = 0; i < rows; i++) {
        double o = 40000 + (double)(i % 1000) * 0.5;
        fs_sb_printf(&sb, "%s,1m,%" PRId64 ",%.2f,%.2f,%.2f,%.2f,%.4f,%.2f,%.4f\n",
                     i % 2 ? "BTCUSDT" : "ETHUSDT", t0 + (int64_t)(i / 2) * 60000, o, o + 10,
                     o - 10, o + 2.5, 1.25 + (double)(i % 7), o + 1, 0.5);
    }
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    struct timespec a, z;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_INT(parse("candles", FS_FMT_CSV, NULL, fs_sb_str(&sb), sb.len, &b, &rep, &err), FS_OK);
    clock_gettime(CLOCK_MONOTONIC, &z);
    double s = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
    CHECK_INT(b.n, rows);
    CHECK_INT(rep.rows_ok, rows);
    CHECK_INT(rep.rows_rejected, 0);
    if (b.n == rows) {
        CHECK_INT(b.event_ts[rows - 1], (t0 + (int64_t)((rows - 1) / 2) * 60000 + 60000) * 1000000);
        CHECK_STR(b.entity[rows - 1], "BTCUSDT:1m");
    }
    printf("info: %zu rows (%.1f MB) in %.3f s: %.0f rows/s\n", rows, (double)sb.len / 1e6, s,
           (double)rows / s);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
    fs_sb_free(&sb);
}


/* The parser reads common number shapes on fast paths; every value must be
 * bit for bit what fs_parse_double / fs_parse_int64 / fs_parse_time give
 * for the same text (and the rejects the same), over many shapes: integers,
 * 1 to 9 decimals, leading zeros, signs, '.5' and '5.', 15 to 20 digits
 * (past the fast path's 2^53), exponents, epochs in s/ms/us/ns, ISO times. */
TEST(fast_number_paths_match_general_parsers)
{
    fs_strbuf sb = {0};
    fs_sb_puts(&sb, "symbol,tf,ts,o,h,l,c,v\n");
    enum { N = 20000 };
    static char vtext[N][48], ttext[N][48];
    uint64_t x = 0x1234567887654321ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int dec = (int)(x % 10), shape = (int)((x >> 8) % 12);
        double mag = (double)((x >> 16) % 100000000000ULL) / 1000.0;
        switch (shape) {
        case 0: snprintf(vtext[i], 48, "%.*f", dec, mag); break;
        case 1: snprintf(vtext[i], 48, "%llu", (unsigned long long)(x >> 20)); break; /* ~44 bits */
        case 2: snprintf(vtext[i], 48, "%llu.%02u", (unsigned long long)(x >> 8), (unsigned)(x % 100)); break;
        case 3: snprintf(vtext[i], 48, "00%.*f", dec, mag); break;
        case 4: snprintf(vtext[i], 48, "+%.*f", dec, mag); break;
        case 5: snprintf(vtext[i], 48, ".%u", (unsigned)(x % 100000)); break;
        case 6: snprintf(vtext[i], 48, "%u.", (unsigned)(x % 100000)); break;
        case 7: snprintf(vtext[i], 48, "%.*e", dec, mag); break;
        case 8: snprintf(vtext[i], 48, "0.%09llu", (unsigned long long)(x % 1000000000ULL)); break;
        case 9: snprintf(vtext[i], 48, "9007199254740993.%u", (unsigned)(x % 10)); break;
        case 10: snprintf(vtext[i], 48, "%.17g", mag / 7.0); break;
        default: snprintf(vtext[i], 48, " %.*f", dec, mag); break; /* space: general path */
        }
        int ts = (int)((x >> 24) % 6);
        uint64_t e = 1600000000ULL + (x >> 40) % 100000000ULL;
        switch (ts) {
        case 0: snprintf(ttext[i], 48, "%llu", (unsigned long long)e); break;
        case 1: snprintf(ttext[i], 48, "%llu", (unsigned long long)e * 1000 + x % 1000); break;
        case 2: snprintf(ttext[i], 48, "%llu", (unsigned long long)e * 1000000 + x % 1000000); break;
        case 3: snprintf(ttext[i], 48, "%llu", (unsigned long long)e * 1000000000 + x % 1000000000); break;
        case 4: snprintf(ttext[i], 48, "0000%llu", (unsigned long long)e); break;
        default: snprintf(ttext[i], 48, "2024-01-%02uT%02u:00:00Z", (unsigned)(x % 28 + 1), (unsigned)(x % 24)); break;
        }
        /* o = h = l = c: the candle rules hold whatever the value */
        fs_sb_printf(&sb, "S%c%c,1m,%s,%s,%s,%s,%s,%s\n", 'A' + i % 26, 'A' + (i / 26) % 26, ttext[i],
                     vtext[i], vtext[i], vtext[i], vtext[i], vtext[i]);
    }
    fs_batch b;
    fs_ingest_report rep;
    fs_strbuf err = {0};
    CHECK_INT(parse("candles", FS_FMT_CSV, NULL, fs_sb_str(&sb), sb.len, &b, &rep, &err), FS_OK);
    int oc = fs_batch_col(&b, "o"), tc = fs_batch_col(&b, "ts");
    size_t row = 0;
    int bad = 0, expect_rejects = 0;
    for (int i = 0; i < N; i++) {
        double want;
        int64_t want_ts;
        int ok_v = fs_parse_double(vtext[i], strlen(vtext[i]), &want) == FS_OK && isfinite(want) &&
                   want >= 0;
        int ok_t = fs_parse_time(ttext[i], strlen(ttext[i]), &want_ts, NULL, 0) == FS_OK;
        if (!ok_v || !ok_t) {
            expect_rejects++;
            continue;
        }
        if (row >= b.n)
            break;
        if (memcmp(&b.cols[oc].f64[row], &want, 8) != 0 || b.cols[tc].i64[row] != want_ts) {
            if (bad++ < 5)
                fprintf(stderr, "  row %d: \"%s\" -> %.17g (want %.17g), \"%s\" -> %lld (want %lld)\n", i,
                        vtext[i], b.cols[oc].f64[row], want, ttext[i], (long long)b.cols[tc].i64[row],
                        (long long)want_ts);
        }
        row++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(rep.rows_rejected, expect_rejects);
    CHECK_INT(b.n, N - expect_rejects);
    fs_batch_free(&b);
    fs_ingest_report_free(&rep);
    fs_sb_free(&err);
    fs_sb_free(&sb);
}

/* Random byte edits of good files: every parse ends in FS_OK or FS_E_PARSE,
 * and the counts add up (the sanitizer build checks the memory side). */
TEST(mutations_never_crash)
{
    static const char jsonl[] =
        "{\"symbol\":\"BTCUSDT\",\"tf\":\"1h\",\"ts\":\"2024-01-01T10:00:00Z\",\"o\":100,"
        "\"h\":110,\"l\":95,\"c\":105,\"v\":12.5,\"vwap\":103.2,\"taker_buy_vol\":6}\n";
    char *kl = kline_text(0, 1);
    const struct {
        fs_ingest_format fmt;
        const char *text;
    } base[] = {{FS_FMT_CSV, CANDLES_LONG}, {FS_FMT_JSONL, jsonl}, {FS_FMT_KLINE, kl}};
    static const char alphabet[] = ",\"\n\r:{}[]0123456789.-eE \tabcXYZ\x80\xff\x00";
    fs_ingest_options opt = {.symbol = "BTCUSDT", .tf = "1h"};
    uint32_t x = 777;
    int bad_status = 0, bad_counts = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t k = (size_t)iter % 3;
        size_t len = strlen(base[k].text);
        char buf[2048];
        memcpy(buf, base[k].text, len);
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % len;
            x = x * 1103515245u + 12345u;
            buf[at] = alphabet[(x >> 8) % (sizeof alphabet - 1)];
        }
        if (iter % 7 == 0)
            len = (x >> 4) % len; /* cut short */
        fs_batch b;
        fs_ingest_report rep;
        fs_strbuf err = {0};
        int rc = parse("candles", base[k].fmt, &opt, buf, len, &b, &rep, &err);
        if (rc != FS_OK && rc != FS_E_PARSE)
            bad_status++;
        if (rc == FS_OK && rep.rows_ok != b.n)
            bad_counts++;
        if (rc == FS_E_PARSE && b.n != 0)
            bad_counts++;
        fs_batch_free(&b);
        fs_ingest_report_free(&rep);
        fs_sb_free(&err);
    }
    CHECK_INT(bad_status, 0);
    CHECK_INT(bad_counts, 0);
    free(kl);
}

TEST(format_names)
{
    CHECK_INT(fs_ingest_format_parse("CSV"), FS_FMT_CSV);
    CHECK_INT(fs_ingest_format_parse("ndjson"), FS_FMT_JSONL);
    CHECK_INT(fs_ingest_format_parse("kline"), FS_FMT_KLINE);
    CHECK_INT(fs_ingest_format_parse("xml"), -1);
    CHECK_STR(fs_ingest_format_name(FS_FMT_JSONL), "jsonl");
    CHECK(fs_ingest_symbol_ok("BTCUSDT", 7));
    CHECK(fs_ingest_symbol_ok("1000SHIBUSDT", 12));
    CHECK(!fs_ingest_symbol_ok("B", 1));
    CHECK(!fs_ingest_symbol_ok("btcusdt", 7));
    CHECK(!fs_ingest_symbol_ok("BTC-USDT", 8));
    CHECK(!fs_ingest_symbol_ok("ABCDEFGHIJKLMNOPQRSTU", 21));
}

int main(void)
{
    fs_diag d = {0};
    reg = fs_registry_builtin(&d);
    if (!reg) {
        fprintf(stderr, "built-in registry: %s\n", fs_diag_str(&d));
        return 1;
    }
    RUN(csv_short_and_long_headers);
    RUN(kline_ms_and_us);
    RUN(jsonl_rows);
    RUN(csv_quoted_fields);
    RUN(csv_crlf_bom_blank_lines);
    RUN(bad_rows_reported);
    RUN(not_csv_at_all);
    RUN(empty_inputs);
    RUN(event_ts_is_open_plus_tf);
    RUN(streaming_pieces);
    RUN(max_rows_and_callback_abort);
    RUN(reject_callback_can_abort);
    RUN(large_csv_throughput);
    RUN(fast_number_paths_match_general_parsers);
    RUN(mutations_never_crash);
    RUN(format_names);
    fs_registry_free(reg);
    fs_diag_free(&d);
    TEST_EXIT();
}
