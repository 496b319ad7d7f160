/* SPDX-License-Identifier: MIT */
/* answer: what one request is answered, a body or an error code with its message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "jsontext.h"
#include "response.h"

#define HEAD_MAX    (2048 + ANSWER_HEADERS_MAX)
#define WRITE_CHUNK 65536u /* bytes of escaped error text written at a time */

static void set_error(struct answer *a, enum apierror e, const char *prefix, char *message, size_t len) {
        free(a->message);
        free(a->body);
        a->body = NULL;
        a->body_len = 0;
        a->prefix = prefix;
        a->message = message;
        a->message_len = message ? len : 0;
        a->failed = true;
        a->error = e;
        a->status = apierror_status(e);
}

void answer_fail(struct answer *a, enum apierror e, const char *fmt, ...) {
        char *m = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (n < 0)
                m = NULL;
        set_error(a, e, n < 0 ? "Out of memory" : NULL, m, n < 0 ? 0 : (size_t)n);
}

void answer_fail_take(struct answer *a, enum apierror e, const char *prefix, char *bytes, size_t len) {
        set_error(a, e, prefix, bytes, len);
}

size_t answer_message_head(const struct answer *a, char *buf, size_t size) {
        size_t n = 0, k;

        if (size == 0)
                return 0;
        if (a->prefix) {
                k = strlen(a->prefix);
                n = k < size - 1 ? k : size - 1;
                memcpy(buf, a->prefix, n);
        }
        k = a->message_len < size - 1 - n ? a->message_len : size - 1 - n;
        if (a->message && k > 0)
                memcpy(buf + n, a->message, k);
        n += k;
        buf[n] = '\0';
        return n;
}

void answer_ok(struct answer *a, char *body, size_t len) {
        free(a->message);
        free(a->body);
        a->prefix = NULL;
        a->message = NULL;
        a->message_len = 0;
        a->body = body;
        a->body_len = len;
        a->failed = false;
        a->status = 200;
}

int answer_ok_json(struct answer *a, json_object *o, int flags) {
        const char *s;
        size_t len;
        char *copy;

        s = json_object_to_json_string_length(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, len + 1);
        answer_ok(a, copy, len);
        return 0;
}

int answer_header(struct answer *a, const char *fmt, ...) {
        size_t room = sizeof(a->headers) - a->headers_len;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(a->headers + a->headers_len, room, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n + 2 >= room) {
                a->headers[a->headers_len] = '\0';
                return -ENOBUFS;
        }
        memcpy(a->headers + a->headers_len + n, "\r\n", 3);
        a->headers_len += (size_t)n + 2;
        return 0;
}

/* {"error": code, "message": text}: the text escaped as it is written, a chunk at a time, so an error that
 * quotes megabytes of a runner's stderr never needs more memory than the stderr itself. */
static int write_error(const struct answer *a, char *head, size_t head_len, struct response_head *h,
        struct conn *c, bool head_only, usec_t deadline) {
        const char *prefix = a->prefix ?: "", *message = a->message ?: "";
        size_t plen = strlen(prefix), mlen = a->message_len;
        char start[96], out[WRITE_CHUNK];
        int n, r;

        n = snprintf(start, sizeof(start), "{\"error\":\"%s\",\"message\":\"",
                apierror_code(a->error) ?: "internal");
        h->content_length =
                (size_t)n + jsontext_escaped_len(prefix, plen) + jsontext_escaped_len(message, mlen) + 2;
        r = response_head(h, head, head_len);
        if (r < 0)
                return r;
        if (head_only)
                return conn_write_all(c, head, (size_t)r, deadline, false);
        r = conn_write_all(c, head, (size_t)r, deadline, true);
        if (r >= 0)
                r = conn_write_all(c, start, (size_t)n, deadline, true);
        for (int part = 0; r >= 0 && part < 2; part++) {
                const char *s = part == 0 ? prefix : message;
                size_t left = part == 0 ? plen : mlen;

                while (r >= 0 && left > 0) {
                        size_t in = 0, o = 0;

                        jsontext_escape(s, left, out, sizeof(out), &in, &o);
                        s += in;
                        left -= in;
                        r = conn_write_all(c, out, o, deadline, true);
                }
        }
        if (r >= 0)
                r = conn_write_all(c, "\"}", 2, deadline, false);
        return r;
}

int answer_write(const struct answer *a, const struct answer_wire *w, struct conn *c) {
        struct response_head h = {
                .status = a->status,
                .request_id = w->request_id,
                .content_length = a->body_len,
                .keep_alive = w->keep_alive,
                .keep_alive_timeout = w->keep_alive_timeout,
                .retry_after = a->retry_after,
                .content_type = a->content_type,
                .extra = a->headers,
                .extra_len = a->headers_len,
        };
        usec_t deadline = now_usec() + CONN_WRITE_USEC;
        char head[HEAD_MAX];
        int n, r;

        if (a->failed)
                return write_error(a, head, sizeof(head), &h, c, w->head_only, deadline);
        n = response_head(&h, head, sizeof(head));
        if (n < 0)
                return n;
        if (w->head_only || a->body_len == 0)
                return conn_write_all(c, head, (size_t)n, deadline, false);
        r = conn_write_all(c, head, (size_t)n, deadline, true);
        if (r < 0)
                return r;
        return conn_write_all(c, a->body, a->body_len, deadline, false);
}

void answer_done(struct answer *a) {
        free(a->message);
        free(a->body);
        *a = (struct answer){ 0 };
}
