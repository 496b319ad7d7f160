/* SPDX-License-Identifier: MIT */
/* request: the context of one request: its id, the connection's configuration, its answer and record. */
#pragma once

#include <stdbool.h>

#include "answer.h"
#include "config.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define REQUEST_ID_BYTES 16

struct metrics;
struct run;

/* What became of a request, besides its answer. */
enum outcome {
        OUTCOME_ANSWER,      /* an answer (success or error) is ready */
        OUTCOME_CLIENT_GONE, /* nobody to answer */
        OUTCOME_INTERRUPTED, /* a stop signal arrived */
};

struct request {
        struct conn *conn;
        const struct config *config; /* valid when config_ok */
        bool config_ok;
        int sigfd;               /* SIGTERM, SIGINT, SIGHUP; -1 when unavailable */
        struct metrics *metrics; /* the shared counters; NULL without them */

        char id[REQUEST_ID_BYTES * 2 + 1];
        usec_t t0; /* the request's first byte */

        struct http_request http;
        char method[17]; /* escaped for logs and messages */
        char path[256];
        char proxy_request_id[260]; /* escaped */

        struct answer answer;
        struct log_record log;
        struct run *run; /* POST /run's state until the container is disposed of */
};

/* A fresh random request id, 32 hex digits. */
void request_make_id(char ret[static REQUEST_ID_BYTES * 2 + 1]);

/* Whether a stop signal has arrived: from here on no container may be created or started. */
bool request_stopped(const struct request *q);
