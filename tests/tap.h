/* SPDX-License-Identifier: MIT */
/* tap: the smallest assertion helpers for the table-driven unit tests. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

static int tap_failures;
static int tap_count;

#define CHECK(cond, ...)                                                                                    \
        do {                                                                                                \
                tap_count++;                                                                                \
                if (!(cond)) {                                                                              \
                        tap_failures++;                                                                     \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
                        fprintf(stderr, __VA_ARGS__);                                                       \
                        fputc('\n', stderr);                                                                \
                }                                                                                           \
        } while (0)

static inline int tap_finish(const char *name) {
        printf("%s: %d checks, %d failed\n", name, tap_count, tap_failures);
        return tap_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
