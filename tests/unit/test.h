/* A minimal TAP test framework for the unit tests (meson protocol: 'tap').
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(name); return test_done(); }
 *
 * A failed CHECK reports file, line and the expression, and the test goes on
 * with its next check, so one run shows every broken expectation. */
#ifndef APPEALSD_TEST_H
#define APPEALSD_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_count, test_failed, test_cur_failed;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                             \
    do {                                                                      \
        test_cur_failed = 0;                                                  \
        test_##name();                                                        \
        test_count++;                                                         \
        if (test_cur_failed)                                                  \
            test_failed++;                                                    \
        printf("%s %d - %s\n", test_cur_failed ? "not ok" : "ok", test_count, \
               #name);                                                        \
        fflush(stdout);                                                       \
    } while (0)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            test_cur_failed = 1;                                              \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (a_ == NULL || b_ == NULL ? a_ != b_ : strcmp(a_, b_) != 0) {      \
            printf("# %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,      \
                   __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
            test_cur_failed = 1;                                              \
        }                                                                     \
    } while (0)

#define CHECK_INT(a, b)                                                       \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_) {                                                       \
            printf("# %s:%d: %s is %lld, expected %lld\n", __FILE__,          \
                   __LINE__, #a, a_, b_);                                     \
            test_cur_failed = 1;                                              \
        }                                                                     \
    } while (0)

static inline int test_done(void)
{
    printf("1..%d\n", test_count);
    return test_failed ? 1 : 0;
}

#endif
