/* Tests for src/core/timeutil.c: calendar, time and duration parsing and
 * formatting, strict number parsers.
 *
 * Every parse goes through a copy of the input in a malloc'd buffer of
 * exactly strlen() bytes with no NUL after it, so that under ASan
 * (make SAN=1) any read past `len` is reported. Random values come from a
 * fixed-seed splitmix64, so every run checks the same values. The calendar is
 * cross-checked against glibc's timegm()/gmtime_r(), which are UTC-only and
 * serve as an independent oracle here (the library itself does not use them). */
#include "test.h"

#include "core/timeutil.h"
#include "fstore.h"

#include <locale.h>
#include <time.h>

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static uint64_t rng_state;

/* splitmix64 (Steele, Lea, Flood 2014), as in Vigna's reference code. */
static uint64_t rng(void) { return test_splitmix64(&rng_state); }

/* An exact-size heap copy of str without a NUL: reading s[len] is an ASan error. */
static char *exact(const char *str, size_t *len)
{
    *len = strlen(str);
    char *p = malloc(*len ? *len : 1);
    if (!p)
        abort();
    memcpy(p, str, *len);
    return p;
}

static char msgbuf[512];

static int ptime(const char *str, int64_t *out)
{
    size_t len;
    char *p = exact(str, &len);
    msgbuf[0] = '\0';
    int rc = fs_parse_time(p, len, out, msgbuf, sizeof msgbuf);
    free(p);
    return rc;
}

static int pdur(const char *str, int64_t *out)
{
    size_t len;
    char *p = exact(str, &len);
    msgbuf[0] = '\0';
    int rc = fs_parse_duration(p, len, out, msgbuf, sizeof msgbuf);
    free(p);
    return rc;
}

static int pint(const char *str, int64_t *out)
{
    size_t len;
    char *p = exact(str, &len);
    int rc = fs_parse_int64(p, len, out);
    free(p);
    return rc;
}

static int pdbl(const char *str, double *out)
{
    size_t len;
    char *p = exact(str, &len);
    int rc = fs_parse_double(p, len, out);
    free(p);
    return rc;
}

/* Parses `str` as a time and checks the value. */
#define CHECK_TIME(str, want)                                                 \
    do {                                                                      \
        int64_t v_ = 0x5a5a5a5a;                                              \
        int rc_ = ptime(str, &v_);                                            \
        CHECK_INT(rc_, FS_OK);                                                \
        if (rc_ != FS_OK)                                                     \
            fprintf(stderr, "    (%s: %s)\n", str, msgbuf);                   \
        CHECK_INT(v_, want);                                                  \
    } while (0)

/* Parses `str` as a time, expects failure with `phrase` in the message and
 * the output untouched. */
#define CHECK_TIME_ERR(str, phrase)                                           \
    do {                                                                      \
        int64_t v_ = 77;                                                      \
        CHECK_INT(ptime(str, &v_), FS_E_PARSE);                               \
        CHECK_INT(v_, 77);                                                    \
        CHECK_CONTAINS(msgbuf, phrase);                                       \
    } while (0)

#define CHECK_DUR(str, want)                                                  \
    do {                                                                      \
        int64_t v_ = 0x5a5a5a5a;                                              \
        int rc_ = pdur(str, &v_);                                             \
        CHECK_INT(rc_, FS_OK);                                                \
        if (rc_ != FS_OK)                                                     \
            fprintf(stderr, "    (%s: %s)\n", str, msgbuf);                   \
        CHECK_INT(v_, want);                                                  \
    } while (0)

#define CHECK_DUR_ERR(str, phrase)                                            \
    do {                                                                      \
        int64_t v_ = 77;                                                      \
        CHECK_INT(pdur(str, &v_), FS_E_PARSE);                                \
        CHECK_INT(v_, 77);                                                    \
        CHECK_CONTAINS(msgbuf, phrase);                                       \
    } while (0)

static const char *fmt_time(int64_t ns)
{
    static char buf[FS_TIME_STRLEN];
    size_t n = fs_format_time(ns, buf, sizeof buf);
    if (n != strlen(buf))
        return "(length mismatch)";
    return buf;
}

static const char *fmt_dur(int64_t ns)
{
    static char buf[FS_DURATION_STRLEN];
    size_t n = fs_format_duration(ns, buf, sizeof buf);
    if (n != strlen(buf))
        return "(length mismatch)";
    return buf;
}

#define S(x) ((int64_t)(x) * FS_NS_PER_S)

/* 2024-01-02T03:04:05Z */
#define T0 INT64_C(1704164645)

/* ---------------------------------------------------------------------------
 * Calendar
 * ------------------------------------------------------------------------- */

TEST(civil_known_days)
{
    CHECK_INT(fs_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(fs_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(fs_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(fs_days_from_civil(2000, 2, 29), 11016);
    CHECK_INT(fs_days_from_civil(2024, 1, 1), 19723);
    CHECK_INT(fs_days_from_civil(0, 3, 1), -719468);
    CHECK_INT(fs_days_in_month(2024, 2), 29);
    CHECK_INT(fs_days_in_month(2023, 2), 28);
    CHECK_INT(fs_days_in_month(1900, 2), 28);
    CHECK_INT(fs_days_in_month(2000, 2), 29);
    CHECK_INT(fs_days_in_month(2100, 2), 28);
    CHECK_INT(fs_days_in_month(2024, 4), 30);
    CHECK_INT(fs_days_in_month(2024, 12), 31);
    CHECK_INT(fs_days_in_month(2024, 0), 0);
    CHECK_INT(fs_days_in_month(2024, 13), 0);
}

/* Walks every day from 1600-01-01 to 2400-12-31: each one follows the
 * previous in the calendar, and both directions agree. */
TEST(civil_every_day)
{
    int64_t y = 1600;
    int m = 1, d = 1, bad = 0;
    for (int64_t z = fs_days_from_civil(1600, 1, 1); y <= 2400; z++) {
        int64_t yy;
        int mm, dd;
        fs_civil_from_days(z, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d || fs_days_from_civil(y, m, d) != z)
            bad++;
        if (++d > fs_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    CHECK_INT(bad, 0);
}

/* gmtime_r() as an oracle for random instants across the whole range. */
TEST(civil_against_gmtime)
{
    rng_state = 42;
    int bad = 0;
    for (int k = 0; k < 100000; k++) {
        int64_t ns = (int64_t)rng();
        int64_t secs = ns / FS_NS_PER_S - (ns % FS_NS_PER_S < 0);
        time_t t = (time_t)secs;
        struct tm tm;
        if (!gmtime_r(&t, &tm)) {
            bad++;
            continue;
        }
        char want[64];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (strncmp(fmt_time(ns), want, 19) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "  %" PRId64 ": %s vs %s\n", ns, fmt_time(ns), want);
        }
    }
    CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------------------
 * fs_parse_time: ISO 8601 / RFC 3339
 * ------------------------------------------------------------------------- */

TEST(time_known_instants)
{
    CHECK_TIME("1970-01-01T00:00:00Z", 0);
    CHECK_TIME("1970-01-01", 0);
    CHECK_TIME("2000-02-29", S(951782400));
    CHECK_TIME("2000-02-29T00:00:00Z", S(951782400));
    CHECK_TIME("2024-12-31T23:59:59.999999999Z", INT64_C(1735689599999999999));
    CHECK_TIME("1969-12-31T23:59:59Z", -INT64_C(1000000000));
    CHECK_TIME("1969-12-31T23:59:59.999999999Z", -1);
    CHECK_TIME("1969-12-31T23:59:59.5Z", -INT64_C(500000000));
    CHECK_TIME("1900-01-01T00:00:00Z", S(-2208988800));
    CHECK_TIME("2024-01-02", S(1704153600));
    CHECK_TIME("2024-01-02T03:04:05Z", S(T0));
    CHECK_TIME("2024-01-02T03:04:05", S(T0)); /* no zone: UTC */
    CHECK_TIME("2024-01-02 03:04:05", S(T0));
    CHECK_TIME("2024-01-02t03:04:05z", S(T0));
    CHECK_TIME("2024-01-02T03:04Z", S(T0 - 5)); /* seconds optional */
    CHECK_TIME("2024-01-02T03:04", S(T0 - 5));
    CHECK_TIME("  2024-01-02T03:04:05Z\t\n", S(T0));
}

TEST(time_fractions)
{
    CHECK_TIME("2024-01-02T03:04:05.5Z", S(T0) + 500000000);
    CHECK_TIME("2024-01-02T03:04:05.50Z", S(T0) + 500000000);
    CHECK_TIME("2024-01-02T03:04:05.000Z", S(T0));
    CHECK_TIME("2024-01-02T03:04:05.123Z", S(T0) + 123000000);
    CHECK_TIME("2024-01-02T03:04:05.000001Z", S(T0) + 1000);
    CHECK_TIME("2024-01-02T03:04:05.123456789Z", S(T0) + 123456789);
    CHECK_TIME("2024-01-02T03:04:05.000000001", S(T0) + 1);
    CHECK_TIME("2024-01-02T03:04:05.25+01:00", S(T0 - 3600) + 250000000);
    CHECK_TIME_ERR("2024-01-02T03:04:05.1234567891Z", "more than 9 fraction digits");
    CHECK_TIME_ERR("2024-01-02T03:04:05.Z", "expected a digit after '.'");
    CHECK_TIME_ERR("2024-01-02T03:04:05.", "expected a digit after '.'");
    CHECK_TIME_ERR("2024-01-02T03:04.5Z", "unexpected '.' after the time");
}

TEST(time_offsets)
{
    CHECK_TIME("2024-01-02T03:04:05+02:00", S(T0 - 7200));
    CHECK_TIME("2024-01-02T03:04:05+0200", S(T0 - 7200));
    CHECK_TIME("2024-01-02T03:04:05+02", S(T0 - 7200));
    CHECK_TIME("2024-01-02T03:04:05-05:30", S(T0 + 19800));
    CHECK_TIME("2024-01-02T03:04:05-0530", S(T0 + 19800));
    CHECK_TIME("2024-01-02T03:04:05-05", S(T0 + 18000));
    CHECK_TIME("2024-01-02T03:04:05+00:00", S(T0));
    CHECK_TIME("2024-01-02T03:04:05-00:00", S(T0));
    CHECK_TIME("2024-01-02T03:04:05+23:59", S(T0 - 86340));
    CHECK_TIME("2024-01-02T03:04+05:45", S(T0 - 5 - 20700));
    CHECK_TIME("2024-01-02 03:04:05.5-01:00", S(T0 + 3600) + 500000000);
    /* An offset moves the instant across a day and a year boundary. */
    CHECK_TIME("2024-01-01T01:00:00+02:00", S(1704067200 - 3600));
    CHECK_TIME_ERR("2024-01-02T03:04:05+24:00", "offset hour 24 is out of range 0-23");
    CHECK_TIME_ERR("2024-01-02T03:04:05+02:60", "offset minute 60 is out of range 0-59");
    CHECK_TIME_ERR("2024-01-02T03:04:05+2", "expected a 2-digit offset hour");
    CHECK_TIME_ERR("2024-01-02T03:04:05+", "expected a 2-digit offset hour");
    CHECK_TIME_ERR("2024-01-02T03:04:05+02:", "expected a 2-digit offset minute");
    CHECK_TIME_ERR("2024-01-02T03:04:05+02:3", "expected a 2-digit offset minute");
    CHECK_TIME_ERR("2024-01-02T03:04:05+023", "expected a 2-digit offset minute");
    CHECK_TIME_ERR("2024-01-02T03:04:05+02:00:00", "unexpected ':' after the time");
    CHECK_TIME_ERR("2024-01-02T03:04:05ZZ", "unexpected 'Z' after the time");
    CHECK_TIME_ERR("2024-01-02T03:04:05 Z", "unexpected ' ' after the time");
    CHECK_TIME_ERR("2024-01-02T03:04:05UTC", "unexpected 'U' after the time");
    CHECK_TIME_ERR("2024-01-02Z", "unexpected 'Z' after the date");
}

TEST(time_invalid_fields)
{
    CHECK_TIME_ERR("2023-02-29", "day 29 is out of range for 2023-02 (1-28)");
    CHECK_CONTAINS(msgbuf, "invalid time \"2023-02-29\" at column 9:");
    CHECK_TIME_ERR("1900-02-29", "day 29 is out of range for 1900-02 (1-28)");
    CHECK_TIME_ERR("2100-02-29", "day 29 is out of range");
    CHECK_TIME_ERR("2400-02-29", "out of range"); /* a valid leap day, but after 2262 */
    CHECK_TIME_ERR("2024-02-30", "day 30 is out of range for 2024-02 (1-29)");
    CHECK_TIME_ERR("2024-13-01", "month 13 is out of range 1-12");
    CHECK_CONTAINS(msgbuf, "at column 6");
    CHECK_TIME_ERR("2024-00-01", "month 0 is out of range 1-12");
    CHECK_TIME_ERR("2024-04-31", "day 31 is out of range for 2024-04 (1-30)");
    CHECK_TIME_ERR("2024-01-00", "day 0 is out of range");
    CHECK_TIME_ERR("2024-01-32", "day 32 is out of range for 2024-01 (1-31)");
    CHECK_TIME_ERR("2024-01-02T25:00:00", "hour 25 is out of range 0-23");
    CHECK_CONTAINS(msgbuf, "at column 12");
    CHECK_TIME_ERR("2024-01-02T25:00", "hour 25 is out of range 0-23");
    CHECK_TIME_ERR("2024-01-02T24:00:00", "hour 24 is not accepted; write 00:00 of the next day");
    CHECK_TIME_ERR("2024-01-02T23:60:00", "minute 60 is out of range 0-59");
    CHECK_TIME_ERR("2016-12-31T23:59:60Z", "leap second 60 is not supported");
    CHECK_CONTAINS(msgbuf, "at column 18");
    CHECK_TIME_ERR("2024-01-02T23:59:61", "second 61 is out of range 0-59");
    CHECK_TIME_ERR("2024-1-02", "expected a 2-digit month");
    CHECK_TIME_ERR("2024-01-2", "expected a 2-digit day");
    CHECK_TIME_ERR("2024-01", "expected '-' after the month");
    CHECK_TIME_ERR("2024-0", "expected a 2-digit month");
    CHECK_TIME_ERR("2024/01/02", "unexpected '/' in an epoch number");
    CHECK_TIME_ERR("2024-01-02T3:04", "expected a 2-digit hour");
    CHECK_TIME_ERR("2024-01-02T", "expected a 2-digit hour");
    CHECK_TIME_ERR("2024-01-02T03", "expected ':' after the hour");
    CHECK_TIME_ERR("2024-01-02T03:4", "expected a 2-digit minute");
    CHECK_TIME_ERR("2024-01-02T03:04:5", "expected a 2-digit second");
    CHECK_TIME_ERR("2024-01-02T03:04:", "expected a 2-digit second");
    CHECK_TIME_ERR("2024-01-02XYZ", "unexpected 'X' after the date");
    CHECK_CONTAINS(msgbuf, "at column 11");
    CHECK_TIME_ERR("", "empty");
    CHECK_TIME_ERR(" \t ", "empty");
    CHECK_TIME_ERR("yesterday", "unexpected 'y'; expected a date YYYY-MM-DD or an epoch number");
    CHECK_TIME_ERR("  2024-13-01", "at column 8");
    CHECK_TIME_ERR("\"2024\x01", "invalid time \"\\\"2024\\x01\"");
}

/* The exact ends of the int64 range, one nanosecond inside and outside. */
TEST(time_range_limits)
{
    CHECK_TIME("1677-09-21T00:12:43.145224192Z", INT64_MIN);
    CHECK_TIME("2262-04-11T23:47:16.854775807Z", INT64_MAX);
    CHECK_TIME("1677-09-21T00:12:43.145224193Z", INT64_MIN + 1);
    CHECK_TIME("2262-04-12T00:47:16.854775807+01:00", INT64_MAX);
    CHECK_TIME("1677-09-20T23:12:43.145224192-01:00", INT64_MIN);
    CHECK_TIME_ERR("1677-09-21T00:12:43.145224191Z", "out of range; timestamps span 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z");
    CHECK_TIME_ERR("2262-04-11T23:47:16.854775808Z", "out of range");
    CHECK_TIME_ERR("2262-04-11T23:47:16.854775807-00:01", "out of range");
    CHECK_TIME_ERR("2262-04-12", "out of range");
    CHECK_TIME_ERR("1677-09-21", "out of range");
    CHECK_TIME_ERR("0000-01-01", "out of range");
    CHECK_TIME_ERR("9999-12-31T23:59:59Z", "out of range");
    CHECK_TIME("1677-09-22", S(-9223286400));
    CHECK_TIME("2262-04-11", S(9223286400));
}

/* ---------------------------------------------------------------------------
 * fs_parse_time: epoch numbers
 * ------------------------------------------------------------------------- */

TEST(epoch_seconds_band)
{
    CHECK_TIME("0", 0);
    CHECK_TIME("-0", 0);
    CHECK_TIME("+0", 0);
    CHECK_TIME("1", S(1));
    CHECK_TIME("-1", S(-1));
    CHECK_TIME("2024", S(2024)); /* an integer is an epoch number, not a year */
    CHECK_TIME("1700000000", S(1700000000));
    CHECK_TIME("+1700000000", S(1700000000));
    CHECK_TIME(" 1700000000 ", S(1700000000));
    CHECK_TIME("9223372036", S(9223372036));
    CHECK_TIME("-9223372036", S(-9223372036));
    CHECK_TIME_ERR("9223372037", "out of range (read as seconds because |value| < 1e11)");
    CHECK_TIME_ERR("-9223372037", "read as seconds");
    CHECK_TIME_ERR("99999999999", "read as seconds because |value| < 1e11");
    CHECK_TIME_ERR("-99999999999", "read as seconds");
}

TEST(epoch_milliseconds_band)
{
    CHECK_TIME("100000000000", INT64_C(100000000000) * FS_NS_PER_MS);
    CHECK_TIME("-100000000000", -INT64_C(100000000000) * FS_NS_PER_MS);
    CHECK_TIME("1700000000123", INT64_C(1700000000123) * FS_NS_PER_MS);
    CHECK_TIME("9223372036854", INT64_C(9223372036854) * FS_NS_PER_MS);
    CHECK_TIME("-9223372036854", -INT64_C(9223372036854) * FS_NS_PER_MS);
    CHECK_TIME_ERR("9223372036855", "read as milliseconds because 1e11 <= |value| < 1e14");
    CHECK_TIME_ERR("-9223372036855", "read as milliseconds");
    CHECK_TIME_ERR("99999999999999", "read as milliseconds");
    /* Where the band starts: 1e11 ms is 1e8 s after the epoch. */
    CHECK_STR(fmt_time(INT64_C(100000000000) * FS_NS_PER_MS), "1973-03-03T09:46:40Z");
    CHECK_STR(fmt_time(-INT64_C(100000000000) * FS_NS_PER_MS), "1966-10-31T14:13:20Z");
}

TEST(epoch_microseconds_band)
{
    CHECK_TIME("100000000000000", INT64_C(100000000000000) * FS_NS_PER_US);
    CHECK_TIME("-100000000000000", -INT64_C(100000000000000) * FS_NS_PER_US);
    CHECK_TIME("1700000000123456", INT64_C(1700000000123456) * FS_NS_PER_US);
    CHECK_TIME("9223372036854775", INT64_C(9223372036854775) * FS_NS_PER_US);
    CHECK_TIME("-9223372036854775", -INT64_C(9223372036854775) * FS_NS_PER_US);
    CHECK_TIME_ERR("9223372036854776", "read as microseconds because 1e14 <= |value| < 1e17");
    CHECK_TIME_ERR("99999999999999999", "read as microseconds");
    CHECK_TIME_ERR("-99999999999999999", "read as microseconds");
}

TEST(epoch_nanoseconds_band)
{
    CHECK_TIME("100000000000000000", INT64_C(100000000000000000));
    CHECK_TIME("-100000000000000000", -INT64_C(100000000000000000));
    CHECK_TIME("1700000000123456789", INT64_C(1700000000123456789));
    CHECK_TIME("9223372036854775807", INT64_MAX);
    CHECK_TIME("-9223372036854775808", INT64_MIN);
    CHECK_TIME("0009223372036854775807", INT64_MAX); /* leading zeros do not change the band */
    CHECK_TIME_ERR("9223372036854775808", "read as nanoseconds because |value| >= 1e17");
    CHECK_TIME_ERR("-9223372036854775809", "read as nanoseconds");
    CHECK_TIME_ERR("99999999999999999999999", "out of range");
}

TEST(epoch_decimal_seconds)
{
    CHECK_TIME("1700000000.5", INT64_C(1700000000500000000));
    CHECK_TIME("1700000000.123456789", INT64_C(1700000000123456789));
    CHECK_TIME("1700000000.000", S(1700000000));
    CHECK_TIME("-1.5", -INT64_C(1500000000));
    CHECK_TIME("-0.000000001", -1);
    CHECK_TIME("0.000000001", 1);
    CHECK_TIME("9223372036.854775807", INT64_MAX);
    CHECK_TIME("-9223372036.854775808", INT64_MIN);
    CHECK_TIME_ERR("9223372036.854775808", "a decimal epoch number is read as seconds");
    CHECK_TIME_ERR("-9223372036.854775809", "out of range");
    CHECK_TIME_ERR("1700000000000.5", "a decimal epoch number is read as seconds");
    CHECK_TIME_ERR("1.0000000001", "more than 9 fraction digits");
    CHECK_CONTAINS(msgbuf, "at column 12");
    CHECK_TIME_ERR("1.", "expected a digit after '.'");
    CHECK_TIME_ERR("1.5.3", "unexpected '.' in an epoch number");
    CHECK_TIME_ERR("1e9", "unexpected 'e' in an epoch number");
    CHECK_TIME_ERR("17000 00000", "unexpected ' ' in an epoch number");
    CHECK_TIME_ERR("-", "expected a digit");
    CHECK_TIME_ERR("+-1", "expected a digit");
    CHECK_TIME_ERR(".5", "unexpected '.'; expected a date");
}

/* ---------------------------------------------------------------------------
 * fs_format_time
 * ------------------------------------------------------------------------- */

TEST(time_format_known)
{
    CHECK_STR(fmt_time(0), "1970-01-01T00:00:00Z");
    CHECK_STR(fmt_time(S(T0)), "2024-01-02T03:04:05Z");
    CHECK_STR(fmt_time(S(T0) + 500000000), "2024-01-02T03:04:05.500Z");
    CHECK_STR(fmt_time(S(T0) + 1000), "2024-01-02T03:04:05.000001Z");
    CHECK_STR(fmt_time(S(T0) + 1), "2024-01-02T03:04:05.000000001Z");
    CHECK_STR(fmt_time(S(T0) + 123456789), "2024-01-02T03:04:05.123456789Z");
    CHECK_STR(fmt_time(S(T0) + 123456000), "2024-01-02T03:04:05.123456Z");
    CHECK_STR(fmt_time(S(T0) + 120000000), "2024-01-02T03:04:05.120Z");
    CHECK_STR(fmt_time(-1), "1969-12-31T23:59:59.999999999Z");
    CHECK_STR(fmt_time(-FS_NS_PER_S), "1969-12-31T23:59:59Z");
    CHECK_STR(fmt_time(S(951782400)), "2000-02-29T00:00:00Z");
    CHECK_STR(fmt_time(INT64_C(1735689599999999999)), "2024-12-31T23:59:59.999999999Z");
    CHECK_STR(fmt_time(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
    CHECK_STR(fmt_time(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
    /* Where the seconds band would end if timestamps went that far. */
    CHECK_INT(fs_days_from_civil(5138, 11, 16) * 86400 + 9 * 3600 + 46 * 60 + 40,
              INT64_C(100000000000));
}

TEST(time_format_buffer)
{
    char buf[8];
    memset(buf, 'x', sizeof buf);
    CHECK_INT(fs_format_time(0, buf, 5), 20);
    CHECK_STR(buf, "1970");
    CHECK_INT(buf[5], 'x');
    CHECK_INT(fs_format_time(0, NULL, 0), 20);
    CHECK_INT(fs_format_time(INT64_MAX, NULL, 0), 30);
    CHECK_INT(fs_format_time(INT64_MIN, NULL, 0), 30);
    CHECK(30 < FS_TIME_STRLEN);
    CHECK_INT(fs_format_duration(INT64_MIN, NULL, 0), 33);
    CHECK(33 < FS_DURATION_STRLEN);
    CHECK_INT(fs_format_duration(5400 * FS_NS_PER_S, buf, 3), 5);
    CHECK_STR(buf, "1h");
}

/* format(parse(format(x))) for random instants over the whole int64 range,
 * at every precision, and the fraction written with 0, 3, 6 or 9 digits. */
TEST(time_round_trip_random)
{
    rng_state = 20240102;
    int bad = 0;
    static const int64_t align[4] = {1, 1000, 1000000, 1000000000};
    for (int k = 0; k < 200000; k++) {
        int64_t ns = (int64_t)rng();
        int64_t a = align[k % 4];
        ns -= ns % a;
        char buf[FS_TIME_STRLEN];
        size_t n = fs_format_time(ns, buf, sizeof buf);
        int64_t back = 0;
        size_t len;
        char *p = exact(buf, &len);
        int rc = fs_parse_time(p, len, &back, msgbuf, sizeof msgbuf);
        free(p);
        int64_t sub = ns % FS_NS_PER_S;
        if (sub < 0)
            sub += FS_NS_PER_S;
        size_t want_len = 20;
        if (sub)
            want_len += sub % 1000000 == 0 ? 4 : sub % 1000 == 0 ? 7 : 10;
        if (rc != FS_OK || back != ns || n != len || n != want_len) {
            if (bad++ < 5)
                fprintf(stderr, "  %" PRId64 " -> %s -> %" PRId64 " (%s)\n", ns, buf, back, msgbuf);
        }
    }
    CHECK_INT(bad, 0);
}

/* Random wall-clock texts with random offsets, against timegm(). */
TEST(time_parse_random_against_timegm)
{
    rng_state = 7;
    int bad = 0;
    for (int k = 0; k < 100000; k++) {
        struct tm tm = {0};
        tm.tm_year = 1700 + (int)(rng() % 500) - 1900;
        tm.tm_mon = (int)(rng() % 12);
        tm.tm_mday = 1 + (int)(rng() % (uint64_t)fs_days_in_month(tm.tm_year + 1900, tm.tm_mon + 1));
        tm.tm_hour = (int)(rng() % 24);
        tm.tm_min = (int)(rng() % 60);
        tm.tm_sec = (int)(rng() % 60);
        int oh = (int)(rng() % 24), om = (int)(rng() % 60), neg = (int)(rng() % 2);
        int frac = (int)(rng() % 1000000000);
        int form = (int)(rng() % 3);
        char text[80];
        int o = snprintf(text, sizeof text, "%04d-%02d-%02d%c%02d:%02d:%02d.%09d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, k % 2 ? 'T' : ' ',
                         tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        if (form == 0)
            snprintf(text + o, sizeof text - (size_t)o, "%c%02d:%02d", neg ? '-' : '+', oh, om);
        else if (form == 1)
            snprintf(text + o, sizeof text - (size_t)o, "%c%02d%02d", neg ? '-' : '+', oh, om);
        else
            snprintf(text + o, sizeof text - (size_t)o, "Z");
        int64_t off = form == 2 ? 0 : (neg ? -1 : 1) * (oh * 3600 + om * 60);
        int64_t want = ((int64_t)timegm(&tm) - off) * FS_NS_PER_S + frac;
        int64_t got = 0;
        if (ptime(text, &got) != FS_OK || got != want) {
            if (bad++ < 5)
                fprintf(stderr, "  %s: %" PRId64 " vs %" PRId64 " (%s)\n", text, got, want, msgbuf);
        }
    }
    CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------------------
 * Durations
 * ------------------------------------------------------------------------- */

TEST(duration_parse_known)
{
    CHECK_DUR("0", 0);
    CHECK_DUR(" 0 ", 0);
    CHECK_DUR("0s", 0);
    CHECK_DUR("30s", S(30));
    CHECK_DUR("5m", S(300));
    CHECK_DUR("1h", S(3600));
    CHECK_DUR("4h", S(14400));
    CHECK_DUR("1d", S(86400));
    CHECK_DUR("1w", S(604800));
    CHECK_DUR("1h30m", S(5400));
    CHECK_DUR("500ms", 500 * FS_NS_PER_MS);
    CHECK_DUR("1.5h", S(5400));
    CHECK_DUR("0.5s", 500 * FS_NS_PER_MS);
    CHECK_DUR("1.25ms", 1250000);
    CHECK_DUR("1.000000001s", 1000000001);
    CHECK_DUR("1.0000000000000000000000000h", S(3600));
    CHECK_DUR("0.000000001s", 1);
    CHECK_DUR("1.5us", 1500);
    CHECK_DUR("0.001ms", 1000);
    CHECK_DUR("0.0000001w", 60480000);
    CHECK_DUR("1us", 1000);
    CHECK_DUR("1\xc2\xb5s", 1000); /* U+00B5 MICRO SIGN */
    CHECK_DUR("1\xce\xbcs", 1000); /* U+03BC GREEK SMALL LETTER MU */
    CHECK_DUR("7ns", 7);
    CHECK_DUR("2w3d4h5m6s7ms8us9ns", S(2 * 604800 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6) +
                                          7 * FS_NS_PER_MS + 8000 + 9);
    CHECK_DUR("90m", S(5400)); /* not canonical, still accepted */
    CHECK_DUR("0010s", S(10));
    CHECK_DUR("\t1h\n", S(3600));
    CHECK_DUR("15250w1d23h47m16s854ms775us807ns", INT64_MAX);
    CHECK_DUR("9223372036854775807ns", INT64_MAX);
    CHECK_DUR("9223372036.854775807s", INT64_MAX);
}

TEST(duration_parse_errors)
{
    CHECK_DUR_ERR("", "empty; expected e.g. 30s");
    CHECK_DUR_ERR("   ", "empty");
    CHECK_DUR_ERR("-5m", "negative durations are not allowed");
    CHECK_CONTAINS(msgbuf, "at column 1");
    CHECK_DUR_ERR("15", "number \"15\" has no unit; use ns, us, ms, s, m, h, d or w");
    CHECK_CONTAINS(msgbuf, "at column 3");
    CHECK_DUR_ERR("1h30", "number \"30\" has no unit");
    CHECK_DUR_ERR("1", "has no unit");
    CHECK_DUR_ERR("1M", "months and years have no fixed length; use d or w");
    CHECK_STR(msgbuf, "invalid duration \"1M\" at column 2: months and years have no fixed "
                      "length; use d or w");
    CHECK_DUR_ERR("1y", "months and years have no fixed length; use d or w");
    CHECK_DUR_ERR("1Y", "months and years have no fixed length");
    CHECK_DUR_ERR("3mo", "months and years have no fixed length");
    CHECK_DUR_ERR("2years", "months and years have no fixed length");
    CHECK_DUR_ERR("1d1month", "months and years have no fixed length");
    CHECK_CONTAINS(msgbuf, "at column 4");
    CHECK_DUR_ERR("1x", "unknown unit \"x\"; use ns, us, ms, s, m, h, d or w");
    CHECK_DUR_ERR("1h30x", "unknown unit \"x\"");
    CHECK_CONTAINS(msgbuf, "at column 5");
    CHECK_DUR_ERR("5min", "unknown unit \"min\"");
    CHECK_DUR_ERR("1H", "unknown unit \"H\"");
    CHECK_DUR_ERR("1sec", "unknown unit \"sec\"");
    CHECK_DUR_ERR("30m1h", "unit \"h\" after \"m\": write units from largest to smallest, each once");
    CHECK_DUR_ERR("1h1h", "unit \"h\" after \"h\"");
    CHECK_DUR_ERR("1ms1s", "unit \"s\" after \"ms\"");
    CHECK_DUR_ERR("1h 30m", "expected a number, found ' '");
    CHECK_DUR_ERR("5 m", "expected a unit after \"5\", found ' '");
    CHECK_DUR_ERR("1h-", "expected a number, found '-'");
    CHECK_DUR_ERR("+5m", "expected a number, found '+'");
    CHECK_DUR_ERR(".5h", "expected a number, found '.'");
    CHECK_DUR_ERR("1.h", "expected a digit after '.'");
    CHECK_DUR_ERR("1.", "expected a digit after '.'");
    CHECK_DUR_ERR("h", "expected a number, found 'h'");
    CHECK_DUR_ERR("1.5ns", "1.5ns is not a whole number of nanoseconds");
    CHECK_DUR_ERR("0.1ns", "is not a whole number of nanoseconds");
    CHECK_DUR_ERR("1.0001us", "is not a whole number of nanoseconds");
    CHECK_DUR_ERR("0.0000000001s", "is not a whole number of nanoseconds");
    CHECK_DUR_ERR("1.0000000000000000000001w", "is not a whole number of nanoseconds");
    CHECK_DUR_ERR("15250w1d23h47m16s854ms775us808ns", "duration is too large");
    CHECK_DUR_ERR("15251w", "duration is too large (the maximum is 15250w1d23h47m16s854ms775us807ns)");
    CHECK_DUR_ERR("9223372036854775808ns", "duration is too large");
    CHECK_DUR_ERR("99999999999999999999999s", "duration is too large");
    CHECK_DUR_ERR("9223372036.854775808s", "duration is too large");
    CHECK_DUR_ERR("1\xc2", "expected a unit after \"1\", found byte 0xc2");
    CHECK_DUR_ERR("1\xc2\xb5", "unknown unit");
}

TEST(duration_format_known)
{
    CHECK_STR(fmt_dur(0), "0");
    CHECK_STR(fmt_dur(1), "1ns");
    CHECK_STR(fmt_dur(1000), "1us");
    CHECK_STR(fmt_dur(FS_NS_PER_MS), "1ms");
    CHECK_STR(fmt_dur(S(30)), "30s");
    CHECK_STR(fmt_dur(S(300)), "5m");
    CHECK_STR(fmt_dur(S(5400)), "1h30m");
    CHECK_STR(fmt_dur(S(86400)), "1d");
    CHECK_STR(fmt_dur(S(7 * 86400)), "1w");
    CHECK_STR(fmt_dur(S(10 * 86400)), "1w3d");
    CHECK_STR(fmt_dur(S(1) + 500 * FS_NS_PER_MS), "1s500ms");
    CHECK_STR(fmt_dur(S(3600) + 1), "1h1ns");
    CHECK_STR(fmt_dur(INT64_MAX), "15250w1d23h47m16s854ms775us807ns");
    CHECK_STR(fmt_dur(-S(90)), "-1m30s");
    CHECK_STR(fmt_dur(INT64_MIN), "-15250w1d23h47m16s854ms775us808ns");
}

TEST(duration_round_trip_random)
{
    static const int64_t align[] = {1,           1000,          FS_NS_PER_MS,   FS_NS_PER_S,
                                    FS_NS_PER_MIN, FS_NS_PER_HOUR, FS_NS_PER_DAY, FS_NS_PER_WEEK};
    rng_state = 99;
    int bad = 0;
    for (int k = 0; k < 200000; k++) {
        int64_t ns = (int64_t)(rng() >> 1);
        /* Spread the magnitudes: shift right by 0..62 bits. */
        ns >>= rng() % 63;
        int64_t a = align[k % 8];
        ns -= ns % a;
        char buf[FS_DURATION_STRLEN];
        fs_format_duration(ns, buf, sizeof buf);
        int64_t back = -1;
        if (pdur(buf, &back) != FS_OK || back != ns) {
            if (bad++ < 5)
                fprintf(stderr, "  %" PRId64 " -> %s -> %" PRId64 " (%s)\n", ns, buf, back, msgbuf);
        }
        /* The canonical text is a fixed point: format(parse(text)) == text. */
        if (strcmp(fmt_dur(back), buf) != 0)
            bad++;
    }
    CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------------------
 * Strict number parsers
 * ------------------------------------------------------------------------- */

TEST(int64_parse)
{
    int64_t v = 0;
    CHECK_INT(pint("0", &v), FS_OK);
    CHECK_INT(v, 0);
    CHECK_INT(pint("42", &v), FS_OK);
    CHECK_INT(v, 42);
    CHECK_INT(pint("+42", &v), FS_OK);
    CHECK_INT(v, 42);
    CHECK_INT(pint("-42", &v), FS_OK);
    CHECK_INT(v, -42);
    CHECK_INT(pint(" \t7\r\n", &v), FS_OK);
    CHECK_INT(v, 7);
    CHECK_INT(pint("007", &v), FS_OK);
    CHECK_INT(v, 7);
    CHECK_INT(pint("9223372036854775807", &v), FS_OK);
    CHECK_INT(v, INT64_MAX);
    CHECK_INT(pint("-9223372036854775808", &v), FS_OK);
    CHECK_INT(v, INT64_MIN);
    v = 5;
    static const char *const bad[] = {
        "9223372036854775808", "-9223372036854775809", "99999999999999999999", "", " ", "+", "-",
        "1.0", "1e3", "0x10", "12a", "1 2", "--1", "+-1", "a", "1_000", "\xef\xbc\x91",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (pint(bad[k], &v) != FS_E_PARSE)
            fprintf(stderr, "  accepted \"%s\"\n", bad[k]), t_failed_checks++;
    }
    CHECK_INT(v, 5);
    CHECK_INT(fs_parse_int64("1", 1, NULL), FS_E_INVAL);
    CHECK_INT(fs_parse_int64(NULL, 3, &v), FS_E_INVAL);
    CHECK_INT(fs_parse_int64(NULL, 0, &v), FS_E_PARSE);
}

TEST(double_parse)
{
    double v = 0;
    CHECK_INT(pdbl("1.5", &v), FS_OK);
    CHECK(v == 1.5);
    CHECK_INT(pdbl("-0.25", &v), FS_OK);
    CHECK(v == -0.25);
    CHECK_INT(pdbl("+3", &v), FS_OK);
    CHECK(v == 3.0);
    CHECK_INT(pdbl("1e3", &v), FS_OK);
    CHECK(v == 1000.0);
    CHECK_INT(pdbl("1E-3", &v), FS_OK);
    CHECK(v == 0.001);
    CHECK_INT(pdbl("2.5e+2", &v), FS_OK);
    CHECK(v == 250.0);
    CHECK_INT(pdbl(".5", &v), FS_OK);
    CHECK(v == 0.5);
    CHECK_INT(pdbl("5.", &v), FS_OK);
    CHECK(v == 5.0);
    CHECK_INT(pdbl(" 2.5 ", &v), FS_OK);
    CHECK(v == 2.5);
    CHECK_INT(pdbl("0.1", &v), FS_OK);
    CHECK(v == 0.1);
    CHECK_INT(pdbl("-0", &v), FS_OK);
    CHECK(v == 0.0 && signbit(v));
    CHECK_INT(pdbl("1.7976931348623157e308", &v), FS_OK);
    CHECK(v == 1.7976931348623157e308);
    CHECK_INT(pdbl("2.2250738585072014e-308", &v), FS_OK);
    CHECK(v == 2.2250738585072014e-308);
    CHECK_INT(pdbl("1e-400", &v), FS_OK); /* underflow rounds to zero */
    CHECK(v == 0.0);
    CHECK_INT(pdbl("4.9e-324", &v), FS_OK); /* the smallest subnormal */
    CHECK(v > 0.0);
    CHECK_INT(pdbl("nan", &v), FS_OK);
    CHECK(isnan(v));
    CHECK_INT(pdbl("NaN", &v), FS_OK);
    CHECK(isnan(v));
    CHECK_INT(pdbl("-NAN", &v), FS_OK);
    CHECK(isnan(v));
    CHECK_INT(pdbl("inf", &v), FS_OK);
    CHECK(isinf(v) && v > 0);
    CHECK_INT(pdbl("-Infinity", &v), FS_OK);
    CHECK(isinf(v) && v < 0);
    CHECK_INT(pdbl("+INF", &v), FS_OK);
    CHECK(isinf(v) && v > 0);
    v = 5;
    static const char *const bad[] = {
        "", " ", ".", "-.", "+", "e5", "1e", "1e+", "1e-", "0x1p3", "0x10", "nan(1)", "1,5",
        "1.5.", "infinit", "infinityy", "in", "1e400", "-1e400", "1 2", "1.5x", "--1", "1e5.5",
        "\xef\xbc\x91",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (pdbl(bad[k], &v) != FS_E_PARSE)
            fprintf(stderr, "  accepted \"%s\"\n", bad[k]), t_failed_checks++;
    }
    CHECK(v == 5);
    CHECK_INT(fs_parse_double("1", 1, NULL), FS_E_INVAL);
    CHECK_INT(fs_parse_double(NULL, 1, &v), FS_E_INVAL);
}

/* A text longer than the 256-byte stack copy goes through the heap. */
TEST(double_parse_long)
{
    char text[400];
    strcpy(text, "0.");
    memset(text + 2, '0', 299);
    strcpy(text + 301, "1");
    double v = 0;
    CHECK_INT(pdbl(text, &v), FS_OK);
    CHECK(v == 1e-300);
    memset(text, '0', 350);
    strcpy(text + 350, "12.5");
    CHECK_INT(pdbl(text, &v), FS_OK);
    CHECK(v == 12.5);
}

/* The decimal point is '.' whatever LC_NUMERIC says. */
TEST(double_parse_locale)
{
    static const char *const locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *set = NULL;
    for (size_t k = 0; k < sizeof locs / sizeof locs[0] && !set; k++)
        set = setlocale(LC_NUMERIC, locs[k]);
    double v = 0;
    CHECK_INT(pdbl("1.5", &v), FS_OK);
    CHECK(v == 1.5);
    CHECK_INT(pdbl("1,5", &v), FS_E_PARSE);
    int64_t t = 0;
    CHECK_INT(ptime("1700000000.5", &t), FS_OK);
    CHECK_INT(t, INT64_C(1700000000500000000));
    setlocale(LC_NUMERIC, "C");
}

/* ---------------------------------------------------------------------------
 * Slices: nothing at or past s[len] is read or matters
 * ------------------------------------------------------------------------- */

TEST(slices_stop_at_len)
{
    int64_t v = 0;
    double dv = 0;
    char msg[128];
    CHECK_INT(fs_parse_time("2024-01-02XYZ", 10, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(1704153600));
    CHECK_INT(fs_parse_time("2024-01-02T03:04:05Z+09:00", 20, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(T0));
    CHECK_INT(fs_parse_time("2024-01-02T03:04:05.123456789", 21, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(T0) + 100000000);
    CHECK_INT(fs_parse_time("1700000000999", 10, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(1700000000));
    CHECK_INT(fs_parse_time("1700000000.5", 10, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(1700000000));
    CHECK_INT(fs_parse_time("2024-01-02", 9, &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_CONTAINS(msg, "expected a 2-digit day");
    CHECK_CONTAINS(msg, "\"2024-01-0\"");
    CHECK_INT(fs_parse_duration("30s5m", 3, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(30));
    CHECK_INT(fs_parse_duration("1ms", 2, &v, msg, sizeof msg), FS_OK);
    CHECK_INT(v, S(60));
    CHECK_INT(fs_parse_duration("1.5h", 3, &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_CONTAINS(msg, "has no unit");
    CHECK_INT(fs_parse_int64("1234xyz", 4, &v), FS_OK);
    CHECK_INT(v, 1234);
    CHECK_INT(fs_parse_int64("12345678901234567890", 3, &v), FS_OK);
    CHECK_INT(v, 123);
    CHECK_INT(fs_parse_double("2.5e9", 3, &dv), FS_OK);
    CHECK(dv == 2.5);
    CHECK_INT(fs_parse_double("1e5", 2, &dv), FS_E_PARSE);
    CHECK_INT(fs_parse_double("infinity", 3, &dv), FS_OK);
    CHECK(isinf(dv));
    CHECK_INT(fs_parse_time("", 0, &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_INT(fs_parse_time(NULL, 0, &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_INT(fs_parse_time(NULL, 1, &v, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_parse_time("0", 1, NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_parse_duration("0", 1, NULL, msg, sizeof msg), FS_E_INVAL);
}

/* Every prefix of a set of inputs, each in an exact-size heap buffer: under
 * ASan a read of s[len] on any path, success or error, is reported. */
TEST(slices_every_prefix_exact_buffers)
{
    static const char *const inputs[] = {
        "2024-01-02T03:04:05.123456789+05:30", "2024-01-02 03:04-0530", "2024-01-02t03:04:05z",
        "-9223372036.854775808", "1700000000123456789", "1h30m15s250ms", "2w3d4h5m6s7ms8us9ns",
        "1.5h", "1\xc2\xb5s", "  -12.5e-3  ", "-Infinity", "nan", "-9223372036854775808",
    };
    int calls = 0;
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        const size_t full = strlen(inputs[k]);
        for (size_t len = 0; len <= full; len++) {
            char *p = malloc(len ? len : 1);
            if (!p)
                abort();
            memcpy(p, inputs[k], len);
            int64_t v;
            double d;
            char msg[64];
            (void)fs_parse_time(p, len, &v, msg, sizeof msg);
            (void)fs_parse_duration(p, len, &v, msg, sizeof msg);
            (void)fs_parse_int64(p, len, &v);
            (void)fs_parse_double(p, len, &d);
            free(p);
            calls++;
        }
    }
    CHECK(calls > 200);
}

/* Messages are truncated to msgsz, and NULL / 0 is allowed. */
TEST(messages_truncate)
{
    int64_t v;
    char small[12];
    memset(small, 'x', sizeof small);
    CHECK_INT(fs_parse_time("2024-13-01", 10, &v, small, sizeof small), FS_E_PARSE);
    CHECK_STR(small, "invalid tim");
    CHECK_INT(fs_parse_time("2024-13-01", 10, &v, NULL, 0), FS_E_PARSE);
    CHECK_INT(fs_parse_duration("1M", 2, &v, small, 0), FS_E_PARSE);
    CHECK_INT(small[0], 'i');
    /* A long input is cut in the quote, with "...". */
    char longtext[200];
    memset(longtext, '7', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    longtext[150] = 'x';
    char msg[512];
    CHECK_INT(fs_parse_time(longtext, strlen(longtext), &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_CONTAINS(msg, "7777...\" at column 151: unexpected 'x' in an epoch number");
    /* The message names the column of the original slice, and leaves the
     * output untouched when the input is rejected. */
    v = 3;
    CHECK_INT(fs_parse_duration(" 1h30x", 6, &v, msg, sizeof msg), FS_E_PARSE);
    CHECK_STR(msg, "invalid duration \" 1h30x\" at column 6: unknown unit \"x\"; use ns, us, "
                   "ms, s, m, h, d or w");
    CHECK_INT(v, 3);
}

TEST(now_is_plausible)
{
    int64_t a = fs_now_ns();
    int64_t b = fs_now_ns();
    CHECK(a > S(1704067200)); /* after 2024-01-01 */
    CHECK(b >= a);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    CHECK(ts.tv_sec - a / FS_NS_PER_S < 5);
}

int main(void)
{
    RUN(civil_known_days);
    RUN(civil_every_day);
    RUN(civil_against_gmtime);
    RUN(time_known_instants);
    RUN(time_fractions);
    RUN(time_offsets);
    RUN(time_invalid_fields);
    RUN(time_range_limits);
    RUN(epoch_seconds_band);
    RUN(epoch_milliseconds_band);
    RUN(epoch_microseconds_band);
    RUN(epoch_nanoseconds_band);
    RUN(epoch_decimal_seconds);
    RUN(time_format_known);
    RUN(time_format_buffer);
    RUN(time_round_trip_random);
    RUN(time_parse_random_against_timegm);
    RUN(duration_parse_known);
    RUN(duration_parse_errors);
    RUN(duration_format_known);
    RUN(duration_round_trip_random);
    RUN(int64_parse);
    RUN(double_parse);
    RUN(double_parse_long);
    RUN(double_parse_locale);
    RUN(slices_stop_at_len);
    RUN(slices_every_prefix_exact_buffers);
    RUN(messages_truncate);
    RUN(now_is_plausible);
    TEST_EXIT();
}
