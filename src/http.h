/* SPDX-License-Identifier: MIT */
/* http: a pure parser for one HTTP/1.x request; bytes in, struct out, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Named limits; the defaults are generous for an API that takes one JSON body. */
#define HTTP_MAX_REQUEST_LINE 8192u  /* bytes of "METHOD target HTTP/1.1" */
#define HTTP_MAX_HEAD         32768u /* bytes of request line plus all headers */
#define HTTP_MAX_HEADERS      64u    /* header fields */

struct http_limits {
        size_t max_request_line;
        size_t max_head;
        unsigned max_headers;
        size_t max_body;
};

/* A view into the caller's buffer: nothing is copied, nothing is NUL-terminated. */
struct http_slice {
        const char *ptr;
        size_t len;
};

struct http_request {
        struct http_slice method;
        struct http_slice path;  /* origin-form target without the query */
        struct http_slice query; /* after '?', empty when absent */
        int version_minor;       /* HTTP/1.0 or HTTP/1.1 */
        bool has_token;
        struct http_slice token; /* X-Access-Token */
        bool expect_continue;    /* Expect: 100-continue was sent */
        size_t head_len;         /* bytes up to and including the empty line */
        size_t content_length;   /* 0 when absent */
        struct http_slice body;  /* set once the request is complete */
};

/*
 * Parse buf[0..len) as one request. Returns 0 when the head and the whole body
 * are in the buffer, -EAGAIN when more bytes are needed (ret->head_len is
 * non-zero once the head is complete, so the caller can answer 100-continue),
 * or a negative errno that http_status_from_error() maps to the answer.
 * Bytes beyond the body (a pipelined request) are ignored.
 */
int http_request_parse(
        const char *buf, size_t len, const struct http_limits *limits, struct http_request *ret);

/* The HTTP status for an error of http_request_parse(): 400, 411, 413, 414, 431, 501 or 505. */
int http_status_from_error(int error);

/* Whether a slice equals a NUL-terminated string, exactly or ignoring ASCII case. */
bool http_slice_eq(struct http_slice s, const char *str);
bool http_slice_caseeq(struct http_slice s, const char *str);
