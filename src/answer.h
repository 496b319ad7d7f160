/* SPDX-License-Identifier: MIT */
/* answer: what one request is answered, a body or an error code with its message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "apierror.h"
#include "conn.h"
#include "util.h"

#define ANSWER_HEADERS_MAX 1024 /* bytes of the extra header lines an answer may carry */

struct answer {
        int status;  /* 0 until the request is decided */
        bool failed; /* an error: error and message, not body */
        enum apierror error;
        const char *prefix; /* static, the start of the error's text; may be NULL */
        char *message;      /* owned; any bytes, the rest of the error's text */
        size_t message_len;
        char *body; /* owned; the 200 answer's bytes */
        size_t body_len;
        unsigned retry_after;             /* seconds for Retry-After, 0 for none */
        const char *content_type;         /* static; NULL for application/json */
        char headers[ANSWER_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
        size_t headers_len;
};

/* Fail with an error code; the message is formatted. Replaces whatever was decided before. */
void answer_fail(struct answer *a, enum apierror e, const char *fmt, ...) _printf_(3, 4);

/* Fail with a message of a static prefix followed by arbitrary bytes (NULs included), which the answer takes
 * over (they are freed with it): a runner's stderr is never copied. */
void answer_fail_take(struct answer *a, enum apierror e, const char *prefix, char *bytes, size_t len);

/* The start of the error's text (prefix and bytes, NULs included) in buf, for the log; its length. */
size_t answer_message_head(const struct answer *a, char *buf, size_t size);

/* Succeed with a body the answer now owns. */
void answer_ok(struct answer *a, char *body, size_t len);

/* Succeed with a JSON object serialized with json-c's flags. Returns 0 or -ENOMEM (then nothing changed). */
int answer_ok_json(struct answer *a, json_object *o, int flags);

/* Add a header line ("Name: value"); dropped, returning -ENOBUFS, when the room is used up. */
int answer_header(struct answer *a, const char *fmt, ...) _printf_(2, 3);

/* How the answer goes on the wire besides its own content. */
struct answer_wire {
        const char *request_id;
        bool keep_alive;             /* Connection: keep-alive with a Keep-Alive: timeout=, else close */
        unsigned keep_alive_timeout; /* seconds announced */
        bool head_only;              /* HEAD: the head of the GET answer, no body */
};

/* Write the answer on the connection: the head, then the body. Returns 0 or a negative errno. */
int answer_write(const struct answer *a, const struct answer_wire *w, struct conn *c);

/* Free what the answer owns and reset it for the next request. */
void answer_done(struct answer *a);
