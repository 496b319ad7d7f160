/* SPDX-License-Identifier: MIT */
/* serve: one connection: its requests read, routed and answered in turn, each logged. */
#pragma once

#include "conn.h"

/* Exit codes of the handler, documented in the man page. */
enum {
        SERVE_EXIT_OK = 0,          /* every request got its answer, whatever its status */
        SERVE_EXIT_CLIENT_GONE = 1, /* the client left before an answer could be written */
        SERVE_EXIT_INTERNAL = 2,    /* no connection found, or bad arguments */
        SERVE_EXIT_INTERRUPTED = 3, /* stopped by SIGTERM, SIGINT or SIGHUP; the container was removed */
};

/* Serve the requests of connection c; returns a SERVE_EXIT_* code. The connection is closed on return. */
int serve_connection(struct conn *c);
