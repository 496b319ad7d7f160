/* SPDX-License-Identifier: MIT */
/* fd: small descriptor helpers shared by the connection and the engine stream. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include "fd.h"

int fd_wait(int fd, short events, usec_t deadline) {
        struct pollfd p = { .fd = fd, .events = events };
        int r;

        for (;;) {
                r = poll(&p, 1, poll_timeout_ms(deadline));
                if (r > 0)
                        return 0;
                if (r == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

int fd_set_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return -errno;
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

bool fd_signalled(int sigfd) {
        struct pollfd p = { .fd = sigfd, .events = POLLIN };

        return sigfd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}
