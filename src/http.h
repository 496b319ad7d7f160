/* SPDX-License-Identifier: MIT */
/* http: an incremental parser for HTTP/1.x requests; bytes in, struct out, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named limits; the defaults are generous for an API that takes one JSON body. */
#define HTTP_MAX_REQUEST_LINE 8192u  /* bytes of "METHOD target HTTP/1.1", without the CRLF */
#define HTTP_MAX_HEAD         32768u /* bytes before the body: request line, headers, empty line */
#define HTTP_MAX_HEADERS      64u    /* header fields; the same caps apply to chunked trailers */
#define HTTP_MAX_EMPTY_LINES  8u     /* CRLFs ignored before the request line (RFC 9112 2.2) */
#define HTTP_MAX_CHUNK_LINE   1024u  /* bytes of a chunk size with its extensions, without the CRLF */

struct http_limits {
        size_t max_request_line;
        size_t max_head;
        unsigned max_headers;
        size_t max_body; /* the Content-Length, or the decoded chunked body */
};

/* A view into the caller's buffer: nothing is copied, nothing is NUL-terminated. */
struct http_slice {
        const char *ptr;
        size_t len;
};

struct http_request {
        struct http_slice method;        /* an uppercase token; the router decides what it means */
        struct http_slice path;          /* origin-form target without the query */
        struct http_slice query;         /* after '?', empty when absent */
        int version_minor;               /* HTTP/1.0 or HTTP/1.1 */
        bool has_token;                  /* X-Access-Token was sent (once) */
        struct http_slice token;         /* its value, without surrounding whitespace */
        struct http_slice forwarded_for; /* X-Forwarded-For, raw: the last such line; empty if absent */
        struct http_slice request_id;    /* X-Request-Id, raw: the last such line; empty if absent */
        bool expect_continue;            /* an HTTP/1.1 client sent Expect: 100-continue */
        bool keep_alive;                 /* 1.1 unless Connection: close; 1.0 only with keep-alive */
        bool chunked;                    /* the body came with Transfer-Encoding: chunked */
        size_t head_len;                 /* bytes up to and including the empty line */
        size_t content_length;           /* the body's length (declared or decoded); 0 without one */
        struct http_slice body;          /* buf[head_len..head_len + content_length) */
        size_t consumed;                 /* head_len + content_length: the next request starts there */
};

/* Offsets into the buffer rather than pointers, so the caller may move it between calls. */
struct http_span {
        size_t off, len;
        bool set;
};

/* The state between calls; the fields are private to http.c, use the functions below. */
struct http_parser {
        struct http_limits limits;
        int state;
        int error;       /* returned again by every later call once the request failed */
        size_t pos;      /* bytes of buf the parser keeps: the caller appends after them */
        size_t examined; /* bytes looked at, for tests of the linear cost */
        size_t section;  /* bytes of the head, the trailers or the chunk line so far */
        unsigned lines;  /* leading empty lines, then header or trailer fields */
        bool trailers;
        bool line_done; /* the request line was read and accepted */
        size_t line_start, method_end, target_start, query_start, target_end, version_start;
        size_t name_start, name_end, value_start, value_end;
        int version_major, version_minor;
        struct http_span token, forwarded_for, request_id;
        bool length_seen, expect_seen, close_seen, keep_alive_seen;
        bool te_seen, te_chunked_last, te_unsupported;
        unsigned te_chunked;
        size_t head_len;
        size_t content_length;
        size_t remaining; /* bytes of the Content-Length body or of the chunk still to come */
        uint64_t chunk_size;
        bool chunk_digits;
        size_t out;      /* end of the decoded chunked body */
        size_t consumed; /* set when the request is complete */
};

/* Start parsing one request under the given limits (copied). */
void http_parser_init(struct http_parser *p, const struct http_limits *limits);

/*
 * Go on parsing the request in buf[0..*len). The first call passes the bytes
 * received so far; after -EAGAIN the caller receives more, appends them at
 * buf + *len (the value this call left there), adds their count to *len and
 * calls again. buf may be moved between calls but its first *len bytes must
 * stay as the parser left them: it decodes a chunked body in place, moving the
 * chunk data down over the framing, and on -EAGAIN shrinks *len to the head
 * plus the body decoded so far. So the buffer never has to hold more than the
 * head, max_body and room to receive at least one more byte; framing is
 * dropped as soon as it is read, even with one-byte chunks. Each byte is looked
 * at a bounded number of times, however the input is split.
 *
 * Returns 0 when the request is complete: ret is filled in, its slices point
 * into buf and the request takes buf[0..ret->consumed), its head and its body
 * (decoded: *len then shrinks by the chunk framing left). buf[ret->consumed..*len)
 * is the start of the next pipelined request: move it to the front and init
 * the parser again.
 * Returns -EAGAIN when more bytes are needed. Any other return is a negative
 * errno for http_status_from_error(); the same input gives the same answer
 * whether it comes whole, in pieces or byte by byte, and the parser keeps
 * returning it. -EINVAL if *len is below what the last call left. ret is
 * written only on 0.
 */
int http_parser_feed(struct http_parser *p, char *buf, size_t *len, struct http_request *ret);

/* Whether the head has arrived in full and was accepted. */
bool http_parser_head_complete(const struct http_parser *p);

/* Whether the head is complete and an HTTP/1.1 client waits for "100 Continue". */
bool http_parser_expect_continue(const struct http_parser *p);

/* The method and path once the request line has been accepted, even if the request failed later: 0, or
 * -EAGAIN before. For logging a refused request. */
int http_parser_request_line(const struct http_parser *p, const char *buf, struct http_slice *ret_method,
        struct http_slice *ret_path);

/* How many bytes the parser has looked at so far, to check that the cost stays linear. */
size_t http_parser_examined(const struct http_parser *p);

/* The HTTP status for an error of http_parser_feed(): 400, 413, 414, 431, 501 or 505. */
int http_status_from_error(int error);

/* Whether a slice equals a NUL-terminated string, exactly or ignoring ASCII case. */
bool http_slice_eq(struct http_slice s, const char *str);
bool http_slice_caseeq(struct http_slice s, const char *str);
