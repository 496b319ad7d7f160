/* SPDX-License-Identifier: MIT */
/* answer: what one request is answered, a body or an error code with its message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "response.h"

#define HEAD_MAX (2048 + ANSWER_HEADERS_MAX)

static void set_error(struct answer *a, enum apierror e, char *message, size_t len) {
        free(a->message);
        free(a->body);
        a->body = NULL;
        a->body_len = 0;
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
        set_error(a, e, m, n < 0 ? 0 : (size_t)n);
}

void answer_fail_bytes(
        struct answer *a, enum apierror e, const char *prefix, const char *bytes, size_t len) {
        size_t plen = strlen(prefix);
        char *m;

        m = len < SIZE_MAX - plen ? malloc(plen + len + 1) : NULL;
        if (!m) {
                /* Without room for the bytes the code still tells the client what happened. */
                answer_fail(a, e, "%s(%zu bytes not shown: out of memory)", prefix, len);
                return;
        }
        memcpy(m, prefix, plen);
        memcpy(m + plen, bytes, len);
        m[plen + len] = '\0';
        set_error(a, e, m, plen + len);
}

void answer_ok(struct answer *a, char *body, size_t len) {
        free(a->message);
        free(a->body);
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

int answer_write(const struct answer *a, const struct answer_wire *w, struct conn *c) {
        _cleanup_free_ char *error_body = NULL;
        const char *body = a->body ?: "";
        size_t body_len = a->body_len;
        struct response_head h;
        char head[HEAD_MAX];
        usec_t deadline = now_usec() + CONN_WRITE_USEC;
        int n, r;

        if (a->failed) {
                r = apierror_json(a->error, a->message ?: "", a->message_len, &error_body, &body_len);
                if (r < 0)
                        return r;
                body = error_body;
        }
        h = (struct response_head){
                .status = a->status,
                .request_id = w->request_id,
                .content_length = body_len,
                .keep_alive = w->keep_alive,
                .keep_alive_timeout = w->keep_alive_timeout,
                .retry_after = a->retry_after,
                .extra = a->headers,
                .extra_len = a->headers_len,
        };
        n = response_head(&h, head, sizeof(head));
        if (n < 0)
                return n;
        if (w->head_only || body_len == 0)
                return conn_write_all(c, head, (size_t)n, deadline, false);
        r = conn_write_all(c, head, (size_t)n, deadline, true);
        if (r < 0)
                return r;
        return conn_write_all(c, body, body_len, deadline, false);
}

void answer_done(struct answer *a) {
        free(a->message);
        free(a->body);
        *a = (struct answer){ 0 };
}
