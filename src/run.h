/* SPDX-License-Identifier: MIT */
/* run: one request from its first byte to its answer: routes, the container's life, errors. */
#pragma once

#include "conn.h"

/* Exit codes of the handler, documented in the man page. */
enum {
        RUN_EXIT_OK = 0,          /* an answer was written, whatever its status */
        RUN_EXIT_CLIENT_GONE = 1, /* the client left before the answer could be written */
        RUN_EXIT_INTERNAL = 2,    /* no connection, out of memory before any answer */
        RUN_EXIT_INTERRUPTED = 3, /* stopped by SIGTERM, SIGINT or SIGHUP; the container was removed */
};

/* Serve the one request on c; returns a RUN_EXIT_* code. The connection is closed on return. */
int run_serve(struct conn *c);
