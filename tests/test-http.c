/* SPDX-License-Identifier: MIT */
/* test-http: the request parser, table-driven, and every prefix of the valid requests. */
#include <errno.h>
#include <string.h>

#include "http.h"
#include "tap.h"

#define R(s) s, sizeof(s) - 1

static const struct http_limits limits = {
        .max_request_line = 64,
        .max_head = 256,
        .max_headers = 4,
        .max_body = 100,
};

static const struct {
        const char *name;
        const char *input;
        size_t len;
        int expect;
        const char *method, *path, *query, *token, *body;
        int minor;
} cases[] = {
        { "GET /", R("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0, "GET", "/", "", NULL, "", 1 },
        { "POST with body", R("POST /run HTTP/1.1\r\nContent-Length: 2\r\nX-Access-Token: t\r\n\r\n{}"), 0,
                "POST", "/run", "", "t", "{}", 1 },
        { "query", R("GET /version?x=1&y HTTP/1.0\r\n\r\n"), 0, "GET", "/version", "x=1&y", NULL, "", 0 },
        { "token case", R("GET / HTTP/1.1\r\nx-access-TOKEN:   spaced \t\r\n\r\n"), 0, "GET", "/", "",
                "spaced", "", 1 },
        { "pipelined", R("POST /run HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n"), 0,
                "POST", "/run", "", NULL, "{}", 1 },
        { "empty value", R("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n"), 0, "GET", "/", "", NULL, "", 1 },
        { "bytes above 0x7f in a value", R("GET / HTTP/1.1\r\nX-U: caf\xc3\xa9\r\n\r\n"), 0, "GET", "/", "",
                NULL, "", 1 },
        { "head only, body missing", R("POST /run HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), -EAGAIN },
        { "incomplete head", R("GET / HTTP/1.1\r\nHost: x\r\n"), -EAGAIN },
        { "bare LF", R("GET / HTTP/1.1\nHost: x\n\n"), -EBADMSG },
        { "CR without LF", R("GET / HTTP/1.1\rX"), -EBADMSG },
        { "lowercase method", R("get / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "lowercase method, partial", R("g"), -EBADMSG },
        { "absolute form", R("GET http://x/ HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "two spaces", R("GET  / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "no version", R("GET /\r\n\r\n"), -EBADMSG },
        { "HTTP/2.0", R("GET / HTTP/2.0\r\n\r\n"), -EPROTONOSUPPORT },
        { "HTTP/1.2", R("GET / HTTP/1.2\r\n\r\n"), -EPROTONOSUPPORT },
        { "garbage version", R("GET / HTTX/1.1\r\n\r\n"), -EBADMSG },
        { "control char in target", R("GET /\x01 HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "long request line",
                R("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                  "HTTP/1.1\r\n\r\n"),
                -ENAMETOOLONG },
        { "long request line, partial",
                R("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                -ENAMETOOLONG },
        { "folded header", R("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n"), -EBADMSG },
        { "space before colon", R("GET / HTTP/1.1\r\nX-A : b\r\n\r\n"), -EBADMSG },
        { "no colon", R("GET / HTTP/1.1\r\nX-A b\r\n\r\n"), -EBADMSG },
        { "NUL in value", R("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"), -EBADMSG },
        { "too many headers", R("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"), -E2BIG },
        { "head too large, partial",
                R("GET / HTTP/1.1\r\nX-A: "
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                -E2BIG },
        { "duplicate Content-Length, same",
                R("POST /run HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), -EBADMSG },
        { "duplicate Content-Length, different",
                R("POST /run HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"), -EBADMSG },
        { "Content-Length over the cap", R("POST /run HTTP/1.1\r\nContent-Length: 101\r\n\r\n"), -EFBIG },
        { "Content-Length overflowing",
                R("POST /run HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), -EFBIG },
        { "negative Content-Length", R("POST /run HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), -EBADMSG },
        { "Content-Length with sign", R("POST /run HTTP/1.1\r\nContent-Length: +1\r\n\r\n{"), -EBADMSG },
        { "empty Content-Length", R("POST /run HTTP/1.1\r\nContent-Length:\r\n\r\n"), -EBADMSG },
        { "chunked", R("POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
                -ENOTSUP },
        { "chunked and length",
                R("POST /run HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"),
                -ENOTSUP },
        { "duplicate token", R("GET / HTTP/1.1\r\nX-Access-Token: a\r\nX-Access-Token: a\r\n\r\n"),
                -EBADMSG },
};

static bool slice_is(struct http_slice s, const char *want) {
        return want ? http_slice_eq(s, want) : s.len == 0;
}

static void test_table(void) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct http_request req;
                int r = http_request_parse(cases[i].input, cases[i].len, &limits, &req);

                CHECK(r == cases[i].expect, "%s: got %d, want %d", cases[i].name, r, cases[i].expect);
                if (r != 0 || cases[i].expect != 0)
                        continue;
                CHECK(slice_is(req.method, cases[i].method), "%s: method", cases[i].name);
                CHECK(slice_is(req.path, cases[i].path), "%s: path", cases[i].name);
                CHECK(slice_is(req.query, cases[i].query), "%s: query", cases[i].name);
                CHECK(req.has_token == (cases[i].token != NULL), "%s: has_token", cases[i].name);
                CHECK(slice_is(req.token, cases[i].token), "%s: token", cases[i].name);
                CHECK(slice_is(req.body, cases[i].body), "%s: body", cases[i].name);
                CHECK(req.version_minor == cases[i].minor, "%s: version", cases[i].name);
        }
}

/* Every proper prefix of a valid request asks for more; only the whole is complete. */
static void test_prefixes(void) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *end;
                size_t whole;

                if (cases[i].expect != 0)
                        continue;
                /* The pipelined case is complete before its last byte. */
                end = strstr(cases[i].input, "{}GET");
                whole = end ? (size_t)(end - cases[i].input) + 2 : cases[i].len;
                for (size_t n = 0; n < whole; n++) {
                        struct http_request req;
                        int r = http_request_parse(cases[i].input, n, &limits, &req);

                        CHECK(r == -EAGAIN, "%s: prefix %zu gave %d", cases[i].name, n, r);
                }
        }
}

static void test_expect_continue(void) {
        static const char in[] = "POST /run HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n";
        struct http_request req;

        CHECK(http_request_parse(in, sizeof(in) - 1, &limits, &req) == -EAGAIN, "waits for the body");
        CHECK(req.head_len == sizeof(in) - 1, "head length known: %zu", req.head_len);
        CHECK(req.expect_continue, "expect_continue");
        CHECK(req.content_length == 10, "content length");
        CHECK(http_request_parse(in, sizeof(in) - 3, &limits, &req) == -EAGAIN && req.head_len == 0,
                "head not complete yet");
}

static void test_statuses(void) {
        static const struct {
                int error, status;
        } map[] = {
                { -EBADMSG, 400 },
                { -ENOTSUP, 411 },
                { -EFBIG, 413 },
                { -ENAMETOOLONG, 414 },
                { -E2BIG, 431 },
                { -EPROTONOSUPPORT, 505 },
                { -EIO, 400 },
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                CHECK(http_status_from_error(map[i].error) == map[i].status, "status for %d", map[i].error);
        CHECK(http_slice_caseeq((struct http_slice){ "AbC", 3 }, "abc"), "caseeq");
        CHECK(!http_slice_caseeq((struct http_slice){ "AbC", 3 }, "abcd"), "caseeq length");
        CHECK(!http_slice_eq((struct http_slice){ "AbC", 3 }, "abc"), "eq is exact");
}

int main(void) {
        test_table();
        test_prefixes();
        test_expect_continue();
        test_statuses();
        return tap_finish("test-http");
}
