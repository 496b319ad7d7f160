/* SPDX-License-Identifier: MIT */
/* fuzz-http: the request parser on arbitrary bytes, with its invariants checked. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len, const struct http_limits *limits) {
        struct http_request req;
        int r = http_request_parse(buf, len, limits, &req), status;

        if (r == 0) {
                if (req.head_len > len || req.body.len != req.content_length ||
                        req.body.ptr != buf + req.head_len || req.head_len + req.body.len > len)
                        abort();
                if (req.content_length > limits->max_body || req.head_len > limits->max_head)
                        abort();
                if (req.method.ptr < buf || req.path.ptr < buf || req.path.ptr + req.path.len > buf + len)
                        abort();
                if (req.has_token && (req.token.ptr < buf || req.token.ptr + req.token.len > buf + len))
                        abort();
                return;
        }
        if (r == -EAGAIN)
                return;
        status = http_status_from_error(r);
        if (status != 400 && status != 411 && status != 413 && status != 414 && status != 431 &&
                status != 505)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct http_limits roomy = { HTTP_MAX_REQUEST_LINE, HTTP_MAX_HEAD, HTTP_MAX_HEADERS,
                1 << 20 };
        static const struct http_limits tiny = { 16, 64, 2, 8 };
        /* A copy of exactly size bytes, so that ASan catches any read past the end. */
        char *buf = malloc(size ? size : 1);

        if (!buf)
                return 0;
        for (size_t i = 0; i < size; i++)
                buf[i] = (char)data[i];
        check(buf, size, &roomy);
        check(buf, size, &tiny);
        free(buf);
        return 0;
}
