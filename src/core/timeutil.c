/* timeutil.c — time, duration and number parsing and formatting.
 *
 * Design notes
 *  a) Calendar arithmetic is Howard Hinnant's days_from_civil /
 *     civil_from_days ("chrono-Compatible Low-Level Date Algorithms",
 *     http://howardhinnant.github.io/date_algorithms.html), not timegm() or
 *     mktime(): those depend on TZ and the C library, and mktime() on the
 *     local zone. The algorithms work on the proleptic Gregorian calendar by
 *     shifting the year to start on March 1st, so that the leap day is the
 *     last day of the (shifted) year and 400-year eras repeat exactly.
 *  b) Every multiplication and addition that can leave the int64 range goes
 *     through __builtin_*_overflow: out-of-range input is an error message,
 *     never a wrapped timestamp.
 *  c) Parsers read only s[0..len): inputs are slices of CSV lines or YAML
 *     scalars that are not NUL-terminated. The one libc call that would read
 *     past the end (strtod) gets a NUL-terminated copy, after our own grammar
 *     check, through strtod_l() with a "C" locale so that a program calling
 *     setlocale() cannot turn "1.5" into 1.
 *  d) The timestamp range is the whole int64 range, so INT64_MIN has a text
 *     form; converting it back needs care because its whole seconds
 *     (-9223372037 s) times 1e9 do not fit: see secs_to_ns().
 */
#include "core/timeutil.h"

#include "fstore.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RANGE_TEXT "timestamps span 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"
#define UNITS_TEXT "use ns, us, ms, s, m, h, d or w"

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Sets [*b, *e) to s[0..len) without surrounding whitespace. */
static void trim(const char *s, size_t len, size_t *b, size_t *e)
{
    size_t i = 0, j = len;
    while (i < j && is_space((unsigned char)s[i]))
        i++;
    while (j > i && is_space((unsigned char)s[j - 1]))
        j--;
    *b = i;
    *e = j;
}

/* Copies at most `max` bytes of s[0..len) into out as the inside of a quoted
 * string: '"' and '\\' escaped, control bytes as \xNN; bytes >= 0x80 are kept
 * (they are usually UTF-8, as in "µs"). "..." marks a cut. */
static void quote(char *out, size_t outsz, const char *s, size_t len, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        size_t tl;
        if (i == max) {
            memcpy(tmp, "...", 3);
            tl = 3;
            i = len;
        } else if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            tl = 4;
        } else {
            tmp[0] = (char)c;
            tl = 1;
        }
        if (o + tl >= outsz)
            break;
        memcpy(out + o, tmp, tl);
        o += tl;
    }
    out[o] = '\0';
}

/* Describes the byte s[i] for a message: "'x'" or "byte 0xNN". */
static void describe(char *out, size_t outsz, unsigned char c)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, outsz, "'%c'", c);
    else
        snprintf(out, outsz, "byte 0x%02x", c);
}

/* Writes `invalid WHAT "INPUT" at column COL: PROBLEM` into msg. col is
 * 1-based; 0 leaves the column out. Returns FS_E_PARSE so callers can
 * `return fail(...)`. */
__attribute__((format(printf, 7, 8))) static int fail(char *msg, size_t msgsz, const char *what,
                                                      const char *s, size_t len, size_t col,
                                                      const char *fmt, ...)
{
    if (!msg || msgsz == 0)
        return FS_E_PARSE;
    char q[256], problem[256];
    quote(q, sizeof q, s, len, 64);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    if (col)
        snprintf(msg, msgsz, "invalid %s \"%s\" at column %zu: %s", what, q, col, problem);
    else
        snprintf(msg, msgsz, "invalid %s \"%s\": %s", what, q, problem);
    return FS_E_PARSE;
}

/* Copies the full text `src` (length `len`) into buf like snprintf would. */
static size_t emit(const char *src, size_t len, char *buf, size_t n)
{
    if (buf && n > 0) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(buf, src, c);
        buf[c] = '\0';
    }
    return len;
}

static const int64_t pow10_tab[19] = {
    INT64_C(1),
    INT64_C(10),
    INT64_C(100),
    INT64_C(1000),
    INT64_C(10000),
    INT64_C(100000),
    INT64_C(1000000),
    INT64_C(10000000),
    INT64_C(100000000),
    INT64_C(1000000000),
    INT64_C(10000000000),
    INT64_C(100000000000),
    INT64_C(1000000000000),
    INT64_C(10000000000000),
    INT64_C(100000000000000),
    INT64_C(1000000000000000),
    INT64_C(10000000000000000),
    INT64_C(100000000000000000),
    INT64_C(1000000000000000000),
};

/* ---------------------------------------------------------------------------
 * Calendar (Hinnant, see the file top)
 * ------------------------------------------------------------------------- */

int64_t fs_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                                 /* [0, 399] */
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void fs_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    /* 719468 is the number of days from 0000-03-01 to 1970-01-01. */
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;                                   /* [0, 146096] */
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);            /* [0, 365] */
    const int64_t mp = (5 * doy + 2) / 153;                                 /* [0, 11] */
    const int dd = (int)(doy - (153 * mp + 2) / 5 + 1);                     /* [1, 31] */
    const int mm = (int)(mp < 10 ? mp + 3 : mp - 9);                        /* [1, 12] */
    if (y)
        *y = yoe + era * 400 + (mm <= 2);
    if (m)
        *m = mm;
    if (d)
        *d = dd;
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int fs_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* secs * 1e9 + frac (0 <= frac < 1e9) into *out; false if out of int64.
 * For negative secs with a fraction, the sum is formed as
 * (secs + 1) * 1e9 - (1e9 - frac) so that INT64_MIN, whose whole seconds
 * times 1e9 alone would overflow, is reachable. */
/* The digits after a '.' at s[*i], as nanoseconds (1 to 9 digits, padded on
 * the right: ".5" is 500000000). Advances *i past them. */
static int parse_fraction(const char *s, size_t len, size_t *i, size_t end, int64_t *frac,
                          const char *what, char *msg, size_t msgsz)
{
    const size_t fs = *i;
    while (*i < end && is_digit((unsigned char)s[*i]))
        (*i)++;
    if (*i == fs)
        return fail(msg, msgsz, what, s, len, *i + 1, "expected a digit after '.'");
    if (*i - fs > 9)
        return fail(msg, msgsz, what, s, len, fs + 10,
                    "more than 9 fraction digits (nanoseconds are the finest unit)");
    int64_t f = 0;
    for (size_t j = fs; j < fs + 9; j++)
        f = f * 10 + (j < *i ? s[j] - '0' : 0);
    *frac = f;
    return FS_OK;
}

static bool secs_to_ns(int64_t secs, int64_t frac, int64_t *out)
{
    int64_t t;
    if (secs < 0 && frac > 0) {
        secs += 1;
        frac -= FS_NS_PER_S;
    }
    if (__builtin_mul_overflow(secs, FS_NS_PER_S, &t) || __builtin_add_overflow(t, frac, &t))
        return false;
    *out = t;
    return true;
}

/* ---------------------------------------------------------------------------
 * Durations
 * ------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int64_t ns;
} unit_def;

/* Largest first: the index is the rank used to enforce the order. */
static const unit_def units[] = {
    {"w", FS_NS_PER_WEEK}, {"d", FS_NS_PER_DAY}, {"h", FS_NS_PER_HOUR}, {"m", FS_NS_PER_MIN},
    {"s", FS_NS_PER_S},    {"ms", FS_NS_PER_MS}, {"us", FS_NS_PER_US},  {"ns", 1},
};
#define N_UNITS ((int)(sizeof units / sizeof units[0]))

static bool token_is(const char *tok, size_t tl, const char *word)
{
    return strlen(word) == tl && memcmp(tok, word, tl) == 0;
}

/* The rank of a unit token in units[], -1 if unknown, -2 if a month or year. */
static int unit_rank(const char *tok, size_t tl)
{
    static const char *const calendar[] = {"M",   "mo",   "mon",    "month", "months", "mth",
                                           "y",   "Y",    "yr",     "yrs",   "year",   "years",
                                           "Mo",  "Mon",  "Month",  "Year",  "Years"};
    for (int r = 0; r < N_UNITS; r++)
        if (token_is(tok, tl, units[r].name))
            return r;
    /* "µs" as U+00B5 MICRO SIGN or U+03BC GREEK SMALL LETTER MU, in UTF-8. */
    if (token_is(tok, tl, "\xc2\xb5s") || token_is(tok, tl, "\xce\xbcs"))
        return 6;
    for (size_t k = 0; k < sizeof calendar / sizeof calendar[0]; k++)
        if (token_is(tok, tl, calendar[k]))
            return -2;
    return -1;
}

int fs_parse_duration(const char *s, size_t len, int64_t *ns_out, char *msg, size_t msgsz)
{
    static const char what[] = "duration";
    char c[16];
    size_t i, end;
    if (!ns_out || (!s && len))
        return FS_E_INVAL;
    trim(s, len, &i, &end);
    if (i == end)
        return fail(msg, msgsz, what, s, len, 0, "empty; expected e.g. 30s, 5m, 1h30m, 1d or 0");
    if (s[i] == '-')
        return fail(msg, msgsz, what, s, len, i + 1, "negative durations are not allowed");

    const size_t first = i;
    int64_t total = 0;
    int last_rank = -1;
    while (i < end) {
        const size_t num_at = i;
        if (!is_digit((unsigned char)s[i])) {
            describe(c, sizeof c, (unsigned char)s[i]);
            return fail(msg, msgsz, what, s, len, i + 1, "expected a number, found %s", c);
        }
        int64_t ip = 0;
        bool too_big = false;
        while (i < end && is_digit((unsigned char)s[i])) {
            if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, s[i] - '0', &ip))
                too_big = true;
            i++;
        }
        /* Fraction digits: trailing zeros dropped, so `fr` over 10^k is in
         * lowest terms with respect to 10 (see the exactness test below). */
        size_t fs = i, fe = i;
        if (i < end && s[i] == '.') {
            i++;
            if (i == end || !is_digit((unsigned char)s[i]))
                return fail(msg, msgsz, what, s, len, i + 1, "expected a digit after '.'");
            fs = i;
            while (i < end && is_digit((unsigned char)s[i]))
                i++;
            fe = i;
            while (fe > fs && s[fe - 1] == '0')
                fe--;
        }
        const size_t num_end = i;

        const size_t unit_at = i;
        if (i < end && ((unsigned char)s[i] == 0xc2 || (unsigned char)s[i] == 0xce) && i + 1 < end)
            i += 2; /* a UTF-8 micro sign; unit_rank() checks which */
        while (i < end && is_alpha((unsigned char)s[i]))
            i++;
        const size_t tl = i - unit_at;
        if (tl == 0) {
            if (unit_at == end) {
                bool zero = !too_big && ip == 0 && fe == fs;
                if (num_at == first && zero)
                    break; /* a bare "0" (or "0.0") */
                return fail(msg, msgsz, what, s, len, unit_at + 1,
                            "number \"%.*s\" has no unit; " UNITS_TEXT, (int)(num_end - num_at),
                            s + num_at);
            }
            describe(c, sizeof c, (unsigned char)s[unit_at]);
            return fail(msg, msgsz, what, s, len, unit_at + 1,
                        "expected a unit after \"%.*s\", found %s; " UNITS_TEXT,
                        (int)(num_end - num_at), s + num_at, c);
        }
        const int rank = unit_rank(s + unit_at, tl);
        if (rank == -2)
            return fail(msg, msgsz, what, s, len, unit_at + 1,
                        "months and years have no fixed length; use d or w");
        if (rank < 0)
            return fail(msg, msgsz, what, s, len, unit_at + 1, "unknown unit \"%.*s\"; " UNITS_TEXT,
                        (int)tl, s + unit_at);
        if (rank <= last_rank)
            return fail(msg, msgsz, what, s, len, unit_at + 1,
                        "unit \"%s\" after \"%s\": write units from largest to smallest, each once",
                        units[rank].name, units[last_rank].name);
        last_rank = rank;

        const int64_t unit = units[rank].ns;
        int64_t group;
        if (too_big || __builtin_mul_overflow(ip, unit, &group))
            goto too_large;
        if (fe > fs) {
            /* fr / 10^k of a unit is a whole number of ns iff 10^k divides
             * fr * unit. After reducing fr / 10^k by g = gcd(fr, 10^k) that
             * means p = 10^k / g divides unit. With trailing zeros dropped fr
             * is not a multiple of 10, and no unit holds more than 2^16 or
             * 5^11, so k > 18 digits can never be exact. */
            const size_t k = fe - fs;
            bool exact = k <= 18;
            int64_t add = 0;
            if (exact) {
                int64_t fr = 0;
                for (size_t j = fs; j < fe; j++)
                    fr = fr * 10 + (s[j] - '0');
                int64_t a = fr, b = pow10_tab[k];
                while (b) {
                    int64_t t = a % b;
                    a = b;
                    b = t;
                }
                const int64_t p = pow10_tab[k] / a;
                exact = unit % p == 0;
                add = (fr / a) * (unit / p); /* < unit: cannot overflow */
            }
            if (!exact)
                return fail(msg, msgsz, what, s, len, num_at + 1,
                            "%.*s%s is not a whole number of nanoseconds",
                            (int)(num_end - num_at), s + num_at, units[rank].name);
            if (__builtin_add_overflow(group, add, &group))
                goto too_large;
        }
        if (__builtin_add_overflow(total, group, &total))
            goto too_large;
        continue;
    too_large:
        return fail(msg, msgsz, what, s, len, num_at + 1,
                    "duration is too large (the maximum is 15250w1d23h47m16s854ms775us807ns)");
    }
    *ns_out = total;
    return FS_OK;
}

size_t fs_format_duration(int64_t ns, char *buf, size_t n)
{
    char tmp[FS_DURATION_STRLEN];
    size_t o = 0;
    /* Unsigned magnitude: -INT64_MIN does not fit an int64. */
    uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0)
        tmp[o++] = '-';
    if (mag == 0)
        tmp[o++] = '0';
    for (int r = 0; r < N_UNITS && mag; r++) {
        const uint64_t u = (uint64_t)units[r].ns;
        const uint64_t q = mag / u;
        mag %= u;
        if (q)
            o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%llu%s", (unsigned long long)q,
                                  units[r].name);
    }
    tmp[o] = '\0';
    return emit(tmp, o, buf, n);
}

/* ---------------------------------------------------------------------------
 * Times
 * ------------------------------------------------------------------------- */

/* Reads exactly two digits at s[*i] into *v. */
static bool two_digits(const char *s, size_t end, size_t *i, int *v)
{
    if (*i + 2 > end || !is_digit((unsigned char)s[*i]) || !is_digit((unsigned char)s[*i + 1]))
        return false;
    *v = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
    *i += 2;
    return true;
}

/* An epoch number: [+-]digits[.digits], already trimmed to s[i..end). */
static int parse_epoch(const char *s, size_t len, size_t i, size_t end, int64_t *ns_out, char *msg,
                       size_t msgsz)
{
    static const char what[] = "time";
    char c[16];
    const size_t start = i;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        i++;
    }
    if (i == end || !is_digit((unsigned char)s[i]))
        return fail(msg, msgsz, what, s, len, i + 1, "expected a digit");
    uint64_t mag = 0;
    bool huge = false;
    while (i < end && is_digit((unsigned char)s[i])) {
        if (__builtin_mul_overflow(mag, 10u, &mag) ||
            __builtin_add_overflow(mag, (unsigned)(s[i] - '0'), &mag))
            huge = true;
        i++;
    }
    bool has_frac = false;
    uint64_t frac = 0;
    if (i < end && s[i] == '.') {
        has_frac = true;
        i++;
        int64_t f;
        if (parse_fraction(s, len, &i, end, &f, what, msg, msgsz) != FS_OK)
            return FS_E_PARSE;
        frac = (uint64_t)f;
    }
    if (i < end) {
        describe(c, sizeof c, (unsigned char)s[i]);
        return fail(msg, msgsz, what, s, len, i + 1,
                    "unexpected %s in an epoch number; expected digits and at most one '.'", c);
    }

    /* The unit by magnitude; a decimal number is always seconds. */
    uint64_t mult;
    const char *band;
    if (has_frac || mag < UINT64_C(100000000000)) {
        mult = 1000000000u;
        band = has_frac ? "a decimal epoch number is read as seconds"
                        : "read as seconds because |value| < 1e11";
    } else if (mag < UINT64_C(100000000000000)) {
        mult = 1000000u;
        band = "read as milliseconds because 1e11 <= |value| < 1e14";
    } else if (mag < UINT64_C(100000000000000000)) {
        mult = 1000u;
        band = "read as microseconds because 1e14 <= |value| < 1e17";
    } else {
        mult = 1u;
        band = "read as nanoseconds because |value| >= 1e17";
    }
    uint64_t t;
    const uint64_t limit = neg ? UINT64_C(1) << 63 : (UINT64_C(1) << 63) - 1;
    if (huge || __builtin_mul_overflow(mag, mult, &t) || __builtin_add_overflow(t, frac, &t) ||
        t > limit)
        return fail(msg, msgsz, what, s, len, start + 1, "out of range (%s); " RANGE_TEXT, band);
    /* Negating through unsigned keeps 2^63 -> INT64_MIN defined. */
    *ns_out = neg ? (int64_t)((uint64_t)0 - t) : (int64_t)t;
    return FS_OK;
}

int fs_parse_time(const char *s, size_t len, int64_t *ns_out, char *msg, size_t msgsz)
{
    static const char what[] = "time";
    char c[16];
    size_t i, end;
    if (!ns_out || (!s && len))
        return FS_E_INVAL;
    trim(s, len, &i, &end);
    if (i == end)
        return fail(msg, msgsz, what, s, len, 0,
                    "empty; expected YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM] or an epoch number");

    /* A date starts with four digits and '-'; anything else numeric is an
     * epoch number ("2024" alone is 2024 seconds after the epoch). */
    bool iso = end - i >= 5 && s[i + 4] == '-';
    for (size_t j = i; iso && j < i + 4; j++)
        iso = is_digit((unsigned char)s[j]);
    if (!iso) {
        const unsigned char c0 = (unsigned char)s[i];
        if (is_digit(c0) || c0 == '+' || c0 == '-')
            return parse_epoch(s, len, i, end, ns_out, msg, msgsz);
        describe(c, sizeof c, c0);
        return fail(msg, msgsz, what, s, len, i + 1,
                    "unexpected %s; expected a date YYYY-MM-DD or an epoch number", c);
    }

    int year = 0, mon, day, hh = 0, mi = 0, ss = 0, oh = 0, om = 0, osign = 0;
    int64_t frac = 0;
    for (size_t j = i; j < i + 4; j++)
        year = year * 10 + (s[j] - '0');
    i += 5;
    size_t at = i;
    if (!two_digits(s, end, &i, &mon))
        return fail(msg, msgsz, what, s, len, at + 1, "expected a 2-digit month");
    if (mon < 1 || mon > 12)
        return fail(msg, msgsz, what, s, len, at + 1, "month %d is out of range 1-12", mon);
    if (i == end || s[i] != '-')
        return fail(msg, msgsz, what, s, len, i + 1, "expected '-' after the month");
    i++;
    at = i;
    if (!two_digits(s, end, &i, &day))
        return fail(msg, msgsz, what, s, len, at + 1, "expected a 2-digit day");
    const int dim = fs_days_in_month(year, mon);
    if (day < 1 || day > dim)
        return fail(msg, msgsz, what, s, len, at + 1,
                    "day %d is out of range for %04d-%02d (1-%d)", day, year, mon, dim);

    if (i < end) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') {
            describe(c, sizeof c, (unsigned char)s[i]);
            return fail(msg, msgsz, what, s, len, i + 1,
                        "unexpected %s after the date; expected 'T' or a space and a time", c);
        }
        i++;
        at = i;
        if (!two_digits(s, end, &i, &hh))
            return fail(msg, msgsz, what, s, len, at + 1, "expected a 2-digit hour");
        if (hh == 24)
            return fail(msg, msgsz, what, s, len, at + 1,
                        "hour 24 is not accepted; write 00:00 of the next day");
        if (hh > 23)
            return fail(msg, msgsz, what, s, len, at + 1, "hour %d is out of range 0-23", hh);
        if (i == end || s[i] != ':')
            return fail(msg, msgsz, what, s, len, i + 1, "expected ':' after the hour");
        i++;
        at = i;
        if (!two_digits(s, end, &i, &mi))
            return fail(msg, msgsz, what, s, len, at + 1, "expected a 2-digit minute");
        if (mi > 59)
            return fail(msg, msgsz, what, s, len, at + 1, "minute %d is out of range 0-59", mi);
        if (i < end && s[i] == ':') {
            i++;
            at = i;
            if (!two_digits(s, end, &i, &ss))
                return fail(msg, msgsz, what, s, len, at + 1, "expected a 2-digit second");
            if (ss == 60)
                return fail(msg, msgsz, what, s, len, at + 1,
                            "leap second 60 is not supported (timestamps are POSIX time "
                            "without leap seconds); use 59");
            if (ss > 59)
                return fail(msg, msgsz, what, s, len, at + 1, "second %d is out of range 0-59", ss);
            if (i < end && s[i] == '.') {
                i++;
                if (parse_fraction(s, len, &i, end, &frac, what, msg, msgsz) != FS_OK)
                    return FS_E_PARSE;
            }
        }
        if (i < end && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < end && (s[i] == '+' || s[i] == '-')) {
            osign = s[i] == '-' ? -1 : 1;
            i++;
            at = i;
            if (!two_digits(s, end, &i, &oh))
                return fail(msg, msgsz, what, s, len, at + 1,
                            "expected a 2-digit offset hour (+HH, +HHMM or +HH:MM)");
            if (oh > 23)
                return fail(msg, msgsz, what, s, len, at + 1,
                            "offset hour %d is out of range 0-23", oh);
            const bool colon = i < end && s[i] == ':';
            if (colon || (i < end && is_digit((unsigned char)s[i]))) {
                i += colon;
                at = i;
                if (!two_digits(s, end, &i, &om))
                    return fail(msg, msgsz, what, s, len, at + 1,
                                "expected a 2-digit offset minute (+HH, +HHMM or +HH:MM)");
                if (om > 59)
                    return fail(msg, msgsz, what, s, len, at + 1,
                                "offset minute %d is out of range 0-59", om);
            }
        }
        if (i < end) {
            describe(c, sizeof c, (unsigned char)s[i]);
            return fail(msg, msgsz, what, s, len, i + 1,
                        "unexpected %s after the time; expected '.', 'Z', '+HH:MM' or the end", c);
        }
    }

    /* Years 0000-9999 and offsets under a day keep these sums far from
     * overflow; only the conversion to nanoseconds can leave the range. */
    const int64_t secs = fs_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mi * 60 + ss -
                         (int64_t)osign * (oh * 3600 + om * 60);
    int64_t ns;
    if (!secs_to_ns(secs, frac, &ns))
        return fail(msg, msgsz, what, s, len, 0, "out of range; " RANGE_TEXT);
    *ns_out = ns;
    return FS_OK;
}

size_t fs_format_time(int64_t ns, char *buf, size_t n)
{
    char tmp[FS_TIME_STRLEN];
    /* Floor division: C truncates towards zero, times before 1970 need the
     * second and the day that start before them. */
    int64_t secs = ns / FS_NS_PER_S, sub = ns % FS_NS_PER_S;
    if (sub < 0) {
        sub += FS_NS_PER_S;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    fs_civil_from_days(days, &y, &m, &d);
    int o = snprintf(tmp, sizeof tmp, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (sub) {
        if (sub % 1000000 == 0)
            o += snprintf(tmp + o, sizeof tmp - (size_t)o, ".%03d", (int)(sub / 1000000));
        else if (sub % 1000 == 0)
            o += snprintf(tmp + o, sizeof tmp - (size_t)o, ".%06d", (int)(sub / 1000));
        else
            o += snprintf(tmp + o, sizeof tmp - (size_t)o, ".%09d", (int)sub);
    }
    tmp[o++] = 'Z';
    tmp[o] = '\0';
    return emit(tmp, (size_t)o, buf, n);
}

int64_t fs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * FS_NS_PER_S + ts.tv_nsec;
}

/* ---------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------- */

int fs_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i, end;
    if (!out || (!s && len))
        return FS_E_INVAL;
    trim(s, len, &i, &end);
    bool neg = false;
    if (i < end && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == end)
        return FS_E_PARSE;
    const uint64_t limit = neg ? UINT64_C(1) << 63 : (UINT64_C(1) << 63) - 1;
    uint64_t v = 0;
    for (; i < end; i++) {
        if (!is_digit((unsigned char)s[i]))
            return FS_E_PARSE;
        const unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (limit - dgt) / 10)
            return FS_E_PARSE;
        v = v * 10 + dgt;
    }
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    return FS_OK;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static bool word_is(const char *s, size_t len, const char *word)
{
    if (strlen(word) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != word[i])
            return false;
    }
    return true;
}

int fs_parse_double(const char *s, size_t len, double *out)
{
    size_t i, end;
    if (!out || (!s && len))
        return FS_E_INVAL;
    trim(s, len, &i, &end);
    const size_t b = i;
    if (i < end && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < end && !is_digit((unsigned char)s[i]) && s[i] != '.') {
        /* Only the special values start with a letter. */
        const size_t wl = end - i;
        if (!word_is(s + i, wl, "nan") && !word_is(s + i, wl, "inf") &&
            !word_is(s + i, wl, "infinity"))
            return FS_E_PARSE;
    } else {
        size_t nd = 0;
        while (i < end && is_digit((unsigned char)s[i]))
            i++, nd++;
        if (i < end && s[i] == '.') {
            i++;
            while (i < end && is_digit((unsigned char)s[i]))
                i++, nd++;
        }
        if (nd == 0)
            return FS_E_PARSE; /* "", "+", ".", "-." */
        if (i < end && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < end && (s[i] == '+' || s[i] == '-'))
                i++;
            const size_t es = i;
            while (i < end && is_digit((unsigned char)s[i]))
                i++;
            if (i == es)
                return FS_E_PARSE;
        }
        if (i != end)
            return FS_E_PARSE;
    }

    /* The grammar is checked; strtod_l() converts (correctly rounded) a
     * NUL-terminated copy in the "C" locale. */
    pthread_once(&c_locale_once, c_locale_init);
    if (!c_locale)
        return FS_E_NOMEM;
    char small[257];
    const size_t n = end - b;
    char *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy)
        return FS_E_NOMEM;
    memcpy(copy, s + b, n);
    copy[n] = '\0';
    char *stop;
    errno = 0;
    const double v = strtod_l(copy, &stop, c_locale);
    const bool overflow = errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL);
    const bool whole = stop == copy + n;
    if (copy != small)
        free(copy);
    if (!whole || overflow)
        return FS_E_PARSE;
    *out = v;
    return FS_OK;
}
