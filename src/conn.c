/* SPDX-License-Identifier: MIT */
/* conn: the client connection, from socket activation (fd 3) or inetd (stdin/stdout). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conn.h"
#include "fd.h"
#include "util.h"

static void peer_address(struct conn *c) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        char host[INET6_ADDRSTRLEN] = "";
        const char *env;

        /* systemd sets REMOTE_ADDR for Accept=yes; inetd-style starters may not. */
        env = secure_getenv("REMOTE_ADDR");
        if (env && strlen(env) < sizeof(c->remote)) {
                snprintf(c->remote, sizeof(c->remote), "%s", env);
                return;
        }
        if (getpeername(c->in_fd, (struct sockaddr *)&sa, &len) < 0)
                return;
        if (sa.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
        else if (sa.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
        else if (sa.ss_family == AF_UNIX)
                snprintf(host, sizeof(host), "unix");
        snprintf(c->remote, sizeof(c->remote), "%s", host);
}

int conn_open(struct conn *ret) {
        struct conn c = { .in_fd = -1, .out_fd = -1 };
        struct stat st;
        int n, r;

        n = sd_listen_fds(true);
        if (n < 0)
                return n;
        if (n > 1)
                return -E2BIG; /* Accept=yes passes exactly one connection */
        if (n == 1) {
                c.in_fd = c.out_fd = SD_LISTEN_FDS_START;
        } else {
                c.in_fd = STDIN_FILENO;
                c.out_fd = STDOUT_FILENO;
        }
        if (fstat(c.in_fd, &st) < 0)
                return -errno;
        c.is_socket = S_ISSOCK(st.st_mode);
        if (c.is_socket) {
                int listening = 0;
                socklen_t len = sizeof(listening);

                /* A listening socket means Accept=no: we serve connections, not listeners. */
                if (getsockopt(c.in_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
                        return -EISCONN;
        }

        r = fd_set_nonblock(c.in_fd);
        if (r < 0)
                return r;
        if (c.out_fd != c.in_fd) {
                r = fd_set_nonblock(c.out_fd);
                if (r < 0)
                        return r;
        }
        if (c.is_socket) {
                int one = 1;

                peer_address(&c);
                /* Answers leave as one segment anyway (MSG_MORE on the head): no Nagle delay on a
                 * kept-alive connection, where an answer follows an answer. Fails, harmlessly, on AF_UNIX.
                 */
                (void)setsockopt(c.in_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        *ret = c;
        return 0;
}

int conn_read(struct conn *c, void *buf, size_t len, usec_t deadline, size_t *ret_n) {
        for (;;) {
                ssize_t n;
                int r;

                n = read(c->in_fd, buf, len);
                if (n >= 0) {
                        *ret_n = (size_t)n;
                        return 0;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = fd_wait(c->in_fd, POLLIN, deadline);
                if (r < 0)
                        return r;
        }
}

int conn_write_all(struct conn *c, const void *buf, size_t len, usec_t deadline, bool more) {
        const char *p = buf;

        while (len > 0) {
                ssize_t n;
                int r;

                if (c->is_socket)
                        n = send(c->out_fd, p, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
                else
                        n = write(c->out_fd, p, len);
                if (n > 0) {
                        p += n;
                        len -= (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN)
                        return -errno;
                r = fd_wait(c->out_fd, POLLOUT, deadline);
                if (r < 0)
                        return r;
        }
        return 0;
}

short conn_hangup_events(const struct conn *c) {
        return c->is_socket ? POLLRDHUP : 0;
}

void conn_shutdown(struct conn *c) {
        if (c->is_socket)
                (void)shutdown(c->out_fd, SHUT_WR);
}

void conn_close(struct conn *c) {
        usec_t deadline = now_usec() + CONN_DRAIN_USEC;
        size_t drained = 0;
        char buf[4096];

        conn_shutdown(c);
        while (c->is_socket && drained < CONN_DRAIN_BYTES) {
                size_t n = 0;

                if (conn_read(c, buf, sizeof(buf), deadline, &n) < 0 || n == 0)
                        break;
                drained += n;
        }
        if (c->out_fd != c->in_fd && c->out_fd >= 0)
                close(c->out_fd);
        if (c->in_fd >= 0)
                close(c->in_fd);
        c->in_fd = c->out_fd = -1;
}

bool conn_is_client(const struct conn *c, int fd) {
        struct stat a, b;

        if (fstat(fd, &a) < 0 || fstat(c->in_fd, &b) < 0)
                return false;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
