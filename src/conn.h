/* SPDX-License-Identifier: MIT */
/* conn: the client connection, from socket activation (fd 3) or inetd (stdin/stdout). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* After the answer, how long and how much we read to let the client's bytes arrive before closing. */
#define CONN_DRAIN_USEC (1 * USEC_PER_SEC)
#define CONN_DRAIN_BYTES                                                                                    \
        (64u * 1024u * 1024u) /* a body refused from its Content-Length is read away, in time */

struct conn {
        int in_fd;
        int out_fd;
        bool is_socket;
        char remote[64]; /* address of the peer, "" when unknown */
};

/* Find the connection: the one fd passed by systemd (Accept=yes), else stdin/stdout. */
int conn_open(struct conn *ret);

/* Read what is there, waiting until deadline. *ret_n 0 means the client closed. -ETIMEDOUT at the deadline.
 */
int conn_read(struct conn *c, void *buf, size_t len, usec_t deadline, size_t *ret_n);

/* How long writing one answer may take before the client counts as gone. */
#define CONN_WRITE_USEC (10 * USEC_PER_SEC)

/* Write everything or fail: -ETIMEDOUT at the deadline, -EPIPE when the client is gone. more: further bytes
 * follow at once (the head before its body), so they leave in one segment. */
int conn_write_all(struct conn *c, const void *buf, size_t len, usec_t deadline, bool more);

/* The events to poll() on c->in_fd for a hang-up while the run goes on; 0 when not a socket. */
short conn_hangup_events(const struct conn *c);

/* Signal the end of the answer, then read and drop what the client still sends, bounded, so that closing
 * does not reset the connection. */
void conn_shutdown(struct conn *c);

/* Drain (bounded) and close. */
void conn_close(struct conn *c);

/* Whether fd refers to the same open socket as the connection (then it must never be written to). */
bool conn_is_client(const struct conn *c, int fd);
