/* timeutil.h — time, duration and number parsing and formatting for all of
 * fstore. The accepted syntax is written down for users in docs/time.md; this
 * header is the contract for code.
 *
 * Conventions
 *  - A timestamp is an int64_t count of nanoseconds since 1970-01-01T00:00:00Z
 *    (UTC, no leap seconds, as POSIX time). Its range is therefore
 *    1677-09-21T00:12:43.145224192Z (INT64_MIN) to
 *    2262-04-11T23:47:16.854775807Z (INT64_MAX). Input outside that range is
 *    an error, never a wrap-around.
 *  - A duration is an int64_t count of nanoseconds, >= 0 when parsed.
 *  - Parsers take (s, len): the text is a slice, need not be NUL-terminated,
 *    and no byte at or after s[len] is ever read. Whitespace (space, \t, \n,
 *    \v, \f, \r) around the text is ignored.
 *  - Parsers return FS_OK, FS_E_PARSE (the text is malformed or its value is
 *    out of range) or FS_E_INVAL (a NULL output pointer, or s == NULL with
 *    len > 0). The output is written only on success.
 *  - `msg`, when non-NULL and msgsz > 0, receives on failure a NUL-terminated
 *    message that quotes the input and names the problem and its 1-based
 *    column in the slice as given, e.g.
 *      invalid time "2023-02-29" at column 9: day 29 is out of range for 2023-02 (1-28)
 *    Messages are truncated to fit msgsz. On success msg is left untouched.
 *  - Formatters behave like snprintf: they write at most n bytes including a
 *    terminating NUL (nothing when n == 0) and return the length of the full
 *    text, excluding the NUL. A buffer of FS_TIME_STRLEN / FS_DURATION_STRLEN
 *    bytes always holds the full text.
 *  - Every function is thread-safe and independent of the locale and of TZ.
 */
#ifndef FS_CORE_TIMEUTIL_H
#define FS_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes (including the NUL) that always suffice for fs_format_time();
 * the longest output is "2024-01-02T03:04:05.123456789Z", 30 characters. */
#define FS_TIME_STRLEN 40

/* Bytes (including the NUL) that always suffice for fs_format_duration();
 * the longest output is "-15250w1d23h47m16s854ms775us808ns", 33 characters. */
#define FS_DURATION_STRLEN 40

#define FS_NS_PER_US INT64_C(1000)
#define FS_NS_PER_MS INT64_C(1000000)
#define FS_NS_PER_S INT64_C(1000000000)
#define FS_NS_PER_MIN (INT64_C(60) * FS_NS_PER_S)
#define FS_NS_PER_HOUR (INT64_C(3600) * FS_NS_PER_S)
#define FS_NS_PER_DAY (INT64_C(86400) * FS_NS_PER_S)
#define FS_NS_PER_WEEK (INT64_C(604800) * FS_NS_PER_S)

/* Parses a duration: "0", or one or more groups of a non-negative decimal
 * number and a unit, units from largest to smallest, each at most once:
 * "30s", "5m", "1h30m", "500ms", "1.5h", "1w2d".
 * Units: ns, us (or µs / μs), ms, s, m (minute), h, d (86400 s), w (7 d).
 * Months and years are refused (no fixed length). A decimal number must come
 * out as a whole number of nanoseconds ("1.5ns" is an error).
 * @param[in] s       the text (a slice; see Conventions)
 * @param[in] len     its length in bytes
 * @param[out] ns_out the duration in nanoseconds
 * @param[out] msg    optional message buffer, written on failure
 * @param[in] msgsz   its size
 * @return FS_OK; FS_E_PARSE (empty, negative, missing or unknown unit,
 *         month/year unit, units out of order, inexact fraction, larger than
 *         INT64_MAX ns); FS_E_INVAL. */
int fs_parse_duration(const char *s, size_t len, int64_t *ns_out, char *msg, size_t msgsz);

/* Formats a duration in its canonical form: the greedy decomposition into
 * w, d, h, m, s, ms, us, ns, zero groups left out, "0" for zero:
 * 5400 s -> "1h30m", 86400 s -> "1d", 1.5 s -> "1s500ms". The output parses
 * back to `ns` with fs_parse_duration(). A negative value is written with a
 * leading '-' (for display; fs_parse_duration() refuses it).
 * @return the length of the full text (see Conventions). */
size_t fs_format_duration(int64_t ns, char *buf, size_t n);

/* Parses a point in time. Accepted forms (details and examples in docs/time.md):
 *  - ISO 8601 / RFC 3339: YYYY-MM-DD, optionally followed by 'T', 't' or ' '
 *    and HH:MM[:SS[.fraction]] (fraction of 1 to 9 digits), optionally
 *    followed by a zone: 'Z', 'z', or an offset +HH, +HHMM, +HH:MM (or '-').
 *    No zone means UTC; a date alone means midnight UTC. Fields are checked:
 *    month 1-12, day within the month (leap years included), hour 0-23,
 *    minute 0-59, second 0-59 (a leap second 60 and hour 24 are refused).
 *  - An epoch number, [+-]digits: its unit is told by its magnitude:
 *      |v| < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds,
 *      otherwise nanoseconds.
 *    [+-]digits.digits (1 to 9 fraction digits) is always seconds.
 * @param[out] ns_out nanoseconds since the epoch, UTC
 * @return FS_OK; FS_E_PARSE (syntax, invalid field, out of range); FS_E_INVAL. */
int fs_parse_time(const char *s, size_t len, int64_t *ns_out, char *msg, size_t msgsz);

/* Formats a timestamp as RFC 3339 in UTC: "2024-01-02T03:04:05Z". A non-zero
 * fraction of a second is written with 3, 6 or 9 digits, the fewest that are
 * exact: "...05.500Z", "...05.000001Z", "...05.123456789Z". Every int64_t
 * value has a form, and fs_parse_time() reads it back exactly.
 * @return the length of the full text (see Conventions). */
size_t fs_format_time(int64_t ns, char *buf, size_t n);

/* The current wall-clock time (CLOCK_REALTIME) in nanoseconds since the epoch. */
int64_t fs_now_ns(void);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1-12,
 * d 1-31; not validated). Exact for |y| up to about 1e9. */
int64_t fs_days_from_civil(int64_t y, int m, int d);

/* The proleptic Gregorian date of `days` since 1970-01-01; the inverse of
 * fs_days_from_civil(). Any output pointer may be NULL. */
void fs_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Days in month m (1-12) of year y, leap years included; 0 if m is out of range. */
int fs_days_in_month(int64_t y, int m);

/* Strict integer parser: [+-]digits, nothing else, in the int64 range.
 * @return FS_OK; FS_E_PARSE (empty, stray character, overflow); FS_E_INVAL. */
int fs_parse_int64(const char *s, size_t len, int64_t *out);

/* Strict decimal floating-point parser, independent of the locale:
 * [+-](digits[.[digits]] | .digits)[(e|E)[+-]digits], or nan, inf, infinity
 * (any case, with an optional sign). Hexadecimal floats and "nan(...)" are
 * refused. A finite number too large for a double is an error; one too small
 * rounds to zero or a subnormal as strtod does.
 * @return FS_OK; FS_E_PARSE; FS_E_INVAL; FS_E_NOMEM (only for text longer
 *         than 256 bytes, which is copied to the heap). */
int fs_parse_double(const char *s, size_t len, double *out);

#ifdef __cplusplus
}
#endif
#endif /* FS_CORE_TIMEUTIL_H */
