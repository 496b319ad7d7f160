/* SPDX-License-Identifier: MIT */
/* util: cleanup attributes and small helpers shared by every module. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Take ownership of a pointer: returns it and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                         \
        ({                                                                                                  \
                __typeof__(p) _p = (p);                                                                     \
                (p) = NULL;                                                                                 \
                _p;                                                                                         \
        })

#define TAKE_FD(fd)                                                                                         \
        ({                                                                                                  \
                int _fd = (fd);                                                                             \
                (fd) = -1;                                                                                  \
                _fd;                                                                                        \
        })

static inline void freep(void *p) {
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL

/* Monotonic time: deadlines and durations never jump with the wall clock. */
static inline usec_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}

/* Milliseconds left until deadline, for poll(); 0 once it has passed. */
static inline int poll_timeout_ms(usec_t deadline) {
        usec_t now = now_usec();
        usec_t left;

        if (now >= deadline)
                return 0;
        left = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        return left > INT32_MAX ? INT32_MAX : (int)left;
}
