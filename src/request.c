/* SPDX-License-Identifier: MIT */
/* request: the context of one request: its id, the connection's configuration, its answer and record. */
#include <sys/random.h>
#include <unistd.h>

#include "fd.h"
#include "request.h"

void request_make_id(char ret[static REQUEST_ID_BYTES * 2 + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[REQUEST_ID_BYTES] = { 0 };
        usec_t t = now_usec();

        /* Never blocks this late in boot; on failure an id from the clock still correlates logs. */
        if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw))
                for (size_t i = 0; i < sizeof(raw); i++)
                        raw[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)getpid();
        for (size_t i = 0; i < sizeof(raw); i++) {
                ret[2 * i] = hex[raw[i] >> 4];
                ret[2 * i + 1] = hex[raw[i] & 15];
        }
        ret[2 * sizeof(raw)] = '\0';
}

bool request_stopped(const struct request *q) {
        return fd_signalled(q->sigfd);
}
