/* SPDX-License-Identifier: MIT */
/* fd: small descriptor helpers shared by the connection and the engine stream. */
#pragma once

#include "util.h"

/* Wait until fd has one of events (POLLIN, POLLOUT, ...): 0, -ETIMEDOUT at deadline, or -errno. */
int fd_wait(int fd, short events, usec_t deadline);

/* Put fd in non-blocking mode. */
int fd_set_nonblock(int fd);

/* Whether a stop signal is pending on a signalfd (read without consuming it); false for -1. */
bool fd_signalled(int sigfd);
