/* SPDX-License-Identifier: MIT */
/* fuzz-http: the request parser on arbitrary bytes, fed whole, split and byte by byte, with its invariants
 * checked. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define MAX_REQUESTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one complete request gave, as offsets and a hash so runs over different buffers compare;
 * all of one type, so without padding and comparable with memcmp(). */
struct summary {
        uint64_t off[7], len[7];
        uint64_t hash;
        uint64_t minor, has_token, expect_continue, keep_alive, chunked;
        uint64_t head_len, content_length, consumed;
};

struct outcome {
        unsigned n;
        struct summary req[MAX_REQUESTS];
        int end;
        bool head_complete, expect_continue;
        size_t kept;
};

static uint64_t hash(uint64_t h, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 1099511628211u;
        return h;
}

static void inside(const char *buf, size_t len, struct http_slice s) {
        if (s.ptr && (s.ptr < buf || s.len > len || (size_t)(s.ptr - buf) > len - s.len))
                abort();
}

static void summarize(const char *buf, size_t kept, const struct http_request *req,
        const struct http_limits *l, struct summary *ret) {
        const struct http_slice s[7] = { req->method, req->path, req->query, req->token, req->forwarded_for,
                req->request_id, req->body };

        if (req->consumed == 0 || req->consumed > kept || req->head_len > l->max_head ||
                req->content_length > l->max_body || req->body.len != req->content_length ||
                req->body.ptr != buf + req->head_len || req->head_len + req->body.len > req->consumed)
                abort();
        if (req->expect_continue && req->version_minor != 1)
                abort();
        *ret = (struct summary){
                .hash = 14695981039346656037u,
                .minor = req->version_minor,
                .has_token = req->has_token,
                .expect_continue = req->expect_continue,
                .keep_alive = req->keep_alive,
                .chunked = req->chunked,
                .head_len = req->head_len,
                .content_length = req->content_length,
                .consumed = req->consumed,
        };
        for (size_t i = 0; i < 7; i++) {
                inside(buf, req->consumed, s[i]);
                ret->off[i] = s[i].ptr ? (size_t)(s[i].ptr - buf) + 1 : 0;
                ret->len[i] = s[i].len;
                if (s[i].ptr)
                        ret->hash = hash(ret->hash, s[i].ptr, s[i].len);
        }
        if (req->method.len == 0 || req->path.len == 0 || req->path.ptr[0] != '/')
                abort();
}

/* Feed the bytes as a connection receives them: whole (step 0), cut once at split, or step bytes at a time.
 */
static void run(const char *input, size_t n, const struct http_limits *l, size_t split, size_t step,
        struct outcome *ret) {
        char *buf = malloc(n ? n : 1);
        size_t received = 0, kept = 0;
        struct http_parser p;

        if (!buf)
                abort();
        memset(ret, 0, sizeof(*ret));
        http_parser_init(&p, l);
        for (;;) {
                struct http_request req;
                size_t next;
                int r = http_parser_feed(&p, buf, &kept, &req);

                if (r == 0) {
                        summarize(buf, kept, &req, l, &ret->req[ret->n]);
                        memmove(buf, buf + req.consumed, kept - req.consumed);
                        kept -= req.consumed;
                        http_parser_init(&p, l);
                        if (++ret->n == MAX_REQUESTS)
                                break;
                        continue;
                }
                if (r != -EAGAIN || received == n) {
                        int status = http_status_from_error(r);

                        if (r != -EAGAIN && status != 400 && status != 413 && status != 414 &&
                                status != 431 && status != 501 && status != 505)
                                abort();
                        ret->end = r;
                        ret->head_complete = http_parser_head_complete(&p);
                        ret->expect_continue = http_parser_expect_continue(&p);
                        break;
                }
                if (kept > received)
                        abort();
                next = step ? received + step : received < split ? split : n;
                if (next > n)
                        next = n;
                memcpy(buf + kept, input + received, next - received);
                kept += next - received;
                received = next;
        }
        ret->kept = kept;
        free(buf);
}

static void same(const struct outcome *a, const struct outcome *b) {
        if (a->n != b->n || a->end != b->end || a->head_complete != b->head_complete ||
                a->expect_continue != b->expect_continue || (a->end == -EAGAIN && a->kept != b->kept))
                abort();
        if (memcmp(a->req, b->req, a->n * sizeof(a->req[0])) != 0)
                abort();
}

static void check(const char *buf, size_t len, const struct http_limits *l, size_t split) {
        struct outcome whole, other;

        run(buf, len, l, 0, 0, &whole);
        run(buf, len, l, split, 0, &other);
        same(&whole, &other);
        run(buf, len, l, 0, 1, &other);
        same(&whole, &other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct http_limits roomy = { HTTP_MAX_REQUEST_LINE, HTTP_MAX_HEAD, HTTP_MAX_HEADERS,
                1 << 20 };
        static const struct http_limits tiny = { 16, 64, 2, 8 };
        /* A copy of exactly size bytes, so that ASan catches any read past the end. */
        char *buf = malloc(size ? size : 1);
        size_t split;

        if (!buf)
                return 0;
        for (size_t i = 0; i < size; i++)
                buf[i] = (char)data[i];
        split = (size_t)(hash(14695981039346656037u, buf, size) % (size + 1));
        check(buf, size, &roomy, split);
        check(buf, size, &tiny, split);
        free(buf);
        return 0;
}
