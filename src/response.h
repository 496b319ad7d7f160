/* SPDX-License-Identifier: MIT */
/* response: the head of an HTTP response, formatted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct response_head {
        int status;
        const char *request_id;      /* X-Request-Id, omitted when NULL */
        size_t content_length;       /* of the body the GET answer has, also for HEAD */
        bool keep_alive;             /* Connection: keep-alive with Keep-Alive: timeout=N, else close */
        unsigned keep_alive_timeout; /* seconds */
        unsigned retry_after;        /* seconds, 0 for none */
        const char *content_type;    /* NULL for application/json */
        const char *extra;           /* further "Name: value\r\n" lines, may be NULL */
        size_t extra_len;
};

/* The reason phrase for a status this service answers with. */
const char *response_reason(int status);

/* Format the head of a response (a JSON body unless content_type says otherwise) into buf. Returns its
 * length, or -ENOBUFS when it does not fit. */
int response_head(const struct response_head *h, char *buf, size_t size);

/* The interim answer to "Expect: 100-continue". */
#define RESPONSE_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
