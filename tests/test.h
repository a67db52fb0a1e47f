/* Minimal test harness shared by every tests/test_*.c binary.
 *
 * A test binary defines test functions with TEST(name) and lists them in
 * main() with RUN(name). CHECK* macros record a failure with file:line and
 * the values involved, and let the test go on so one run shows every broken
 * assertion. The binary prints one line per test ("ok"/"FAIL") and exits 1
 * if anything failed; tests/run.sh counts the lines. */
#ifndef FSTORE_TEST_H
#define FSTORE_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks;
static int t_tests_failed;
static int t_tests_run;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            t_failed_checks++;                                                \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,        \
                    __LINE__, #cond);                                         \
        }                                                                     \
    } while (0)

#define CHECK_INT(a, b)                                                       \
    do {                                                                      \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);               \
        if (t_a_ != t_b_) {                                                   \
            t_failed_checks++;                                                \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n",     \
                    __FILE__, __LINE__, #a, #b, t_a_, t_b_);                  \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *t_a_ = (a), *t_b_ = (b);                                  \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {                      \
            t_failed_checks++;                                                \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, t_a_ ? t_a_ : "(null)",       \
                    t_b_ ? t_b_ : "(null)");                                  \
        }                                                                     \
    } while (0)

/* Substring check: error messages are matched on their stable parts. */
#define CHECK_CONTAINS(hay, needle)                                           \
    do {                                                                      \
        const char *t_h_ = (hay), *t_n_ = (needle);                           \
        if (!t_h_ || !strstr(t_h_, t_n_)) {                                   \
            t_failed_checks++;                                                \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n",    \
                    __FILE__, __LINE__, t_h_ ? t_h_ : "(null)", t_n_);        \
        }                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                 \
    do {                                                                      \
        double t_a_ = (a), t_b_ = (b);                                        \
        if (!(fabs(t_a_ - t_b_) <= (tol))) {                                  \
            t_failed_checks++;                                                \
            fprintf(stderr, "  %s:%d: %s ~= %s failed: %.17g vs %.17g\n",   \
                    __FILE__, __LINE__, #a, #b, t_a_, t_b_);                  \
        }                                                                     \
    } while (0)

#define RUN(name)                                                             \
    do {                                                                      \
        int t_before_ = t_failed_checks;                                      \
        name();                                                               \
        t_tests_run++;                                                        \
        if (t_failed_checks != t_before_) {                                   \
            t_tests_failed++;                                                 \
            printf("FAIL %s\n", #name);                                       \
        } else {                                                              \
            printf("ok   %s\n", #name);                                       \
        }                                                                     \
        fflush(stdout);                                                       \
    } while (0)

#define TEST_EXIT() return t_tests_failed ? 1 : 0

/* A new empty directory under /tmp (malloc'd path), for a test's data. */
static inline char *temp_dir(void)
{
    char tmpl[] = "/tmp/fstore-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* Removes a test directory and everything in it. */
static inline void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Seeded generators for reproducible test data; each advances *state.
 * splitmix64 (Steele, Lea, Flood 2014) and xorshift64 (Marsaglia 2003). */
static inline uint64_t test_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t test_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
