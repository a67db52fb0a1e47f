/* Text forms of training-set values: fs_double_text must write exactly what
 * the printf loop ("%.15g", else "%.16g", else "%.17g", the first that
 * reads back) writes, on decimals of every scale, on random bit patterns and
 * on the edges of its fast path; CSV and JSON cells quote and escape. */
#include "test.h"

#include "training/values.h"

#include <stdint.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void) { return test_xorshift64(&rng); }

static const char *printf_text(double v, char *buf, size_t sz)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sz, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static int same_text(double v)
{
    char a[64], b[64];
    fs_double_text(v, a, sizeof a);
    printf_text(v, b, sizeof b);
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "  %.17g: fs_double_text '%s', printf '%s'\n", v, a, b);
        return 0;
    }
    return 1;
}

TEST(double_text_matches_printf)
{
    static const double edges[] = {0.0, -0.0, 1e-4, -1e-4, 9.99999e-5, 1e-5, 0.1, 0.2, 0.3,
                                   0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 1e14, 999999999999999.0,
                                   1e15, 1e15 + 1, 123456789012345.6, 0.000123456789,
                                   4503599627370496.0, 9007199254740993.0, 1e300, 5e-324,
                                   42.0, -42.5, 100.0, 1234.5678, 0.30000000000000004};
    int bad = 0;
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        bad += !same_text(edges[i]);
    /* decimals with 0..12 places at many magnitudes: the market-data case */
    for (int k = 0; k < 300000; k++) {
        int places = (int)(next() % 13);
        double scale = 1;
        for (int p = 0; p < places; p++)
            scale *= 10;
        double v = (double)(int64_t)(next() % 2000000000000ULL - 1000000000000LL) / scale;
        bad += !same_text(v);
    }
    /* arbitrary doubles */
    for (int k = 0; k < 300000; k++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (v == v && v - v == 0) /* finite */
            bad += !same_text(v);
    }
    CHECK_INT(bad, 0);
}

TEST(cells_quote_and_escape)
{
    fs_strbuf sb = {0};
    fs_put_csv(&sb, "plain");
    fs_sb_puts(&sb, "|");
    fs_put_csv(&sb, "a,b \"q\"");
    fs_sb_puts(&sb, "|");
    fs_put_json_string(&sb, "tab\there \"q\" \\ end");
    CHECK(strcmp(fs_sb_str(&sb), "plain|\"a,b \"\"q\"\"\"|\"tab\\u0009here \\\"q\\\" \\\\ end\"") == 0);
    if (strcmp(fs_sb_str(&sb), "plain|\"a,b \"\"q\"\"\"|\"tab\\u0009here \\\"q\\\" \\\\ end\"") != 0)
        fprintf(stderr, "  got %s\n", fs_sb_str(&sb));
    fs_sb_free(&sb);
}

int main(void)
{
    RUN(double_text_matches_printf);
    RUN(cells_quote_and_escape);
    TEST_EXIT();
}
