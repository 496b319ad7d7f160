/* SPDX-License-Identifier: MIT */
/* test-response: the head of every answer, byte for byte, and never a truncated one. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "response.h"
#include "tap.h"
#include "util.h"

/* Every status the service answers with, and its reason phrase (RFC 9110). */
static const struct {
        int status;
        const char *reason;
} statuses[] = {
        { 200, "OK" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 413, "Content Too Large" },
        { 414, "URI Too Long" },
        { 429, "Too Many Requests" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 503, "Service Unavailable" },
        { 505, "HTTP Version Not Supported" },
};

#define EXTRA "Allow: GET, HEAD\r\nX-Other: 1\r\n"

static const struct {
        const char *name;
        struct response_head h;
        const char *head;
} heads[] = {
        { "close, no id", { .status = 200, .content_length = 2 },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: "
                "close\r\n\r\n" },
        { "with a request id", { .status = 404, .request_id = "0123abcd", .content_length = 77 },
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 77\r\n"
                "Connection: close\r\nX-Request-Id: 0123abcd\r\n\r\n" },
        { "keep-alive", { .status = 200, .content_length = 10, .keep_alive = true, .keep_alive_timeout = 5 },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
                "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n" },
        { "keep-alive, timeout 0", { .status = 200, .keep_alive = true, .keep_alive_timeout = 0 },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
                "Connection: keep-alive\r\nKeep-Alive: timeout=0\r\n\r\n" },
        { "a timeout ignored on close", { .status = 200, .keep_alive = false, .keep_alive_timeout = 5 },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: "
                "close\r\n\r\n" },
        { "Retry-After", { .status = 503, .content_length = 3, .retry_after = 7 },
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
                "Connection: close\r\nRetry-After: 7\r\n\r\n" },
        { "Retry-After 0 is none", { .status = 429, .retry_after = 0 },
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n" },
        { "extra lines",
                { .status = 405, .content_length = 1, .extra = EXTRA, .extra_len = sizeof(EXTRA) - 1 },
                "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 1\r\n"
                "Connection: close\r\n" EXTRA "\r\n" },
        { "extra by its length only",
                { .status = 405, .extra = EXTRA, .extra_len = sizeof("Allow: GET, HEAD\r\n") - 1 },
                "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
                "Connection: close\r\nAllow: GET, HEAD\r\n\r\n" },
        { "extra NULL, a length ignored", { .status = 200, .extra = NULL, .extra_len = 5 },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: "
                "close\r\n\r\n" },
        { "everything, in order",
                { .status = 503,
                        .request_id = "id",
                        .content_length = 123456789,
                        .keep_alive = true,
                        .keep_alive_timeout = 4294967295u,
                        .retry_after = 4294967295u,
                        .extra = EXTRA,
                        .extra_len = sizeof(EXTRA) - 1 },
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                "123456789\r\n"
                "Connection: keep-alive\r\nKeep-Alive: timeout=4294967295\r\nRetry-After: 4294967295\r\n"
                "X-Request-Id: id\r\n" EXTRA "\r\n" },
        { "the largest length", { .status = 200, .content_length = SIZE_MAX },
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                "18446744073709551615\r\n"
                "Connection: close\r\n\r\n" },
};

static void test_statuses(void) {
        for (size_t i = 0; i < ELEMENTSOF(statuses); i++) {
                struct response_head h = { .status = statuses[i].status, .content_length = 2 };
                char buf[512], want[512];
                int n;

                CHECK(streq(response_reason(statuses[i].status), statuses[i].reason), "%d: reason \"%s\"",
                        statuses[i].status, response_reason(statuses[i].status));
                snprintf(want, sizeof(want),
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                        "Connection: close\r\n\r\n",
                        statuses[i].status, statuses[i].reason);
                n = response_head(&h, buf, sizeof(buf));
                CHECK(n == (int)strlen(want) && streq(buf, want), "%d: %d \"%s\"", statuses[i].status, n,
                        buf);
        }
        CHECK(streq(response_reason(302), "Unknown"), "a status never answered: %s", response_reason(302));
}

static void test_heads(void) {
        for (size_t i = 0; i < ELEMENTSOF(heads); i++) {
                char buf[1024];
                int n;

                memset(buf, 'X', sizeof(buf));
                n = response_head(&heads[i].h, buf, sizeof(buf));
                CHECK(n == (int)strlen(heads[i].head) && streq(buf, heads[i].head), "%s: %d \"%s\"",
                        heads[i].name, n, buf);
        }
}

/* Too small a buffer, by one byte or by all of it: -ENOBUFS, never a shorter head as if whole. */
static void test_too_small(void) {
        for (size_t i = 0; i < ELEMENTSOF(heads); i++) {
                size_t len = strlen(heads[i].head);
                char buf[1024];
                int n;

                for (size_t size = 0; size <= len; size++) {
                        n = response_head(&heads[i].h, buf, size);
                        CHECK(n == -ENOBUFS, "%s: buffer of %zu for %zu bytes: %d", heads[i].name, size, len,
                                n);
                }
                n = response_head(&heads[i].h, buf, len + 1);
                CHECK(n == (int)len && streq(buf, heads[i].head), "%s: a buffer just large enough: %d",
                        heads[i].name, n);
        }
}

int main(void) {
        test_statuses();
        test_heads();
        test_too_small();
        return tap_finish("test-response");
}
