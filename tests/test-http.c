/* SPDX-License-Identifier: MIT */
/* test-http: the incremental request parser, table-driven; every case fed whole, split and byte by byte. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "tap.h"

#define IN(s)        .input = s, .len = sizeof(s) - 1
#define A10          "aaaaaaaaaa"
#define A50          A10 A10 A10 A10 A10
#define POST         "POST /run HTTP/1.1\r\n"
#define TE           "Transfer-Encoding: chunked\r\n"
#define MAX_REQUESTS 4

static const struct http_limits limits = {
        .max_request_line = 64,
        .max_head = 256,
        .max_headers = 4,
        .max_body = 100,
};

/* Defaults: a 1.1 request without body or the headers captured; error 0 means complete. */
static const struct test_case {
        const char *name;
        const char *input;
        size_t len;
        int error; /* of the first request */
        const char *method, *path, *query, *token, *body, *forwarded_for, *request_id;
        bool http10, close, expect_continue, chunked, head_complete;
        size_t consumed; /* of buf, the next request's start; 0: the input is exactly one request */
} cases[] = {
        { "GET /", IN("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), .method = "GET", .path = "/" },
        { "POST with body", IN(POST "Content-Length: 2\r\nX-Access-Token: t\r\n\r\n{}"), .token = "t",
                .body = "{}" },
        { "query, HTTP/1.0", IN("GET /version?x=1&y HTTP/1.0\r\n\r\n"), .method = "GET", .path = "/version",
                .query = "x=1&y", .http10 = true, .close = true },
        { "second '?' stays in the query", IN("GET /a?b?c HTTP/1.1\r\n\r\n"), .method = "GET", .path = "/a",
                .query = "b?c" },
        { "empty query", IN("GET /a? HTTP/1.1\r\n\r\n"), .method = "GET", .path = "/a" },
        { "any uppercase method", IN("BREW /pot HTTP/1.1\r\n\r\n"), .method = "BREW", .path = "/pot" },
        { "token case", IN("GET / HTTP/1.1\r\nx-access-TOKEN:   spaced \t\r\n\r\n"), .method = "GET",
                .path = "/", .token = "spaced" },
        { "empty token", IN("GET / HTTP/1.1\r\nX-Access-Token:\r\n\r\n"), .method = "GET", .path = "/",
                .token = "" },
        { "pipelined", IN(POST "Content-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n"), .body = "{}",
                .consumed = 43 },
        { "empty value", IN("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n"), .method = "GET", .path = "/" },
        { "bytes above 0x7f in a value", IN("GET / HTTP/1.1\r\nX-U: caf\xc3\xa9\r\n\r\n"), .method = "GET",
                .path = "/" },
        { "Content-Length 0", IN(POST "Content-Length: 0\r\n\r\n"), .body = "" },
        { "Content-Length at the cap", IN(POST "Content-Length: 100\r\n\r\n" A50 A50), .body = A50 A50 },
        { "Content-Length with leading zeros", IN(POST "Content-Length: 002\r\n\r\n{}"), .body = "{}" },

        /* Leading empty lines, at most HTTP_MAX_EMPTY_LINES. */
        { "leading CRLF", IN("\r\nGET / HTTP/1.1\r\n\r\n"), .method = "GET", .path = "/" },
        { "eight leading CRLFs", IN("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
                .method = "GET", .path = "/" },
        { "nine leading CRLFs", IN("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "leading LF", IN("\nGET / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "leading CR without LF", IN("\rGET / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "leading space", IN(" GET / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "only CRLFs", IN("\r\n\r\n"), -EAGAIN },

        /* Connection and keep-alive. */
        { "1.1 close", IN("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), .method = "GET", .path = "/",
                .close = true },
        { "1.1 Keep-Alive", IN("GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n"), .method = "GET",
                .path = "/" },
        { "1.1 keep-alive, CLOSE", IN("GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n"),
                .method = "GET", .path = "/", .close = true },
        { "1.1 Upgrade, close", IN("GET / HTTP/1.1\r\nConnection: Upgrade,close\r\n\r\n"), .method = "GET",
                .path = "/", .close = true },
        { "1.1 empty elements", IN("GET / HTTP/1.1\r\nConnection: ,, close ,\r\n\r\n"), .method = "GET",
                .path = "/", .close = true },
        { "1.1 closed is not close", IN("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"), .method = "GET",
                .path = "/" },
        { "1.0 keep-alive", IN("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), .method = "GET",
                .path = "/", .http10 = true },
        { "1.0 Keep-Alive among others", IN("GET / HTTP/1.0\r\nConnection: foo , Keep-Alive\r\n\r\n"),
                .method = "GET", .path = "/", .http10 = true },
        { "1.0 close", IN("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"), .method = "GET", .path = "/",
                .http10 = true, .close = true },
        { "1.0 keep-alive then close",
                IN("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"), .method = "GET",
                .path = "/", .http10 = true, .close = true },

        /* Expect. */
        { "Expect on a complete request", IN(POST "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"),
                .body = "{}", .expect_continue = true },
        { "Expect waits", IN(POST "Expect: 100-Continue\r\nContent-Length: 10\r\n\r\n"), -EAGAIN,
                .expect_continue = true, .head_complete = true },
        { "Expect from 1.0 ignored",
                IN("POST /run HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"), -EAGAIN,
                .head_complete = true },
        { "other expectations ignored", IN(POST "Expect: x\r\nContent-Length: 10\r\n\r\n"), -EAGAIN,
                .head_complete = true },

        /* X-Forwarded-For and X-Request-Id: raw, the last line wins. */
        { "forwarded and request id",
                IN("GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8, 9.9.9.9 \r\n"
                   "X-Request-Id: abc\r\n\r\n"),
                .method = "GET", .path = "/", .forwarded_for = "5.6.7.8, 9.9.9.9", .request_id = "abc" },

        /* Chunked bodies. */
        { "chunked", IN(POST TE "\r\n2\r\n{}\r\n0\r\n\r\n"), .body = "{}", .chunked = true },
        { "several chunks", IN(POST TE "\r\n3\r\nabc\r\n1\r\nd\r\nA\r\n0123456789\r\n0\r\n\r\n"),
                .body = "abcd0123456789", .chunked = true },
        { "lowercase and uppercase hex", IN(POST TE "\r\na\r\n0123456789\r\nB\r\n0123456789x\r\n0\r\n\r\n"),
                .body = "01234567890123456789x", .chunked = true },
        { "leading zeros", IN(POST TE "\r\n0002\r\n{}\r\n000\r\n\r\n"), .body = "{}", .chunked = true },
        { "chunk extensions",
                IN(POST TE "\r\n2;name=value\r\n{}\r\n1 ;a=\"b; c\"\t;d\r\nx\r\n0;last\r\n\r\n"),
                .body = "{}x", .chunked = true },
        { "trailers", IN(POST TE "\r\n2\r\n{}\r\n0\r\nX-T: 1\r\nContent-Length: 9\r\n\r\n"), .body = "{}",
                .chunked = true },
        { "empty chunked body", IN(POST TE "\r\n0\r\n\r\n"), .body = "", .chunked = true },
        { "chunked at the cap", IN(POST TE "\r\n32\r\n" A50 "\r\n32\r\n" A50 "\r\n0\r\n\r\n"),
                .body = A50 A50, .chunked = true },
        { "chunked, case and spaces", IN(POST "Transfer-Encoding:  ChUnKeD \r\n\r\n1\r\nx\r\n0\r\n\r\n"),
                .body = "x", .chunked = true },
        { "chunked, pipelined", IN(POST TE "\r\n2\r\n{}\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), .body = "{}",
                .chunked = true, .consumed = 52 },
        { "chunked with a token", IN(POST TE "X-Access-Token: t\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), .token = "t",
                .body = "{}", .chunked = true },
        { "chunked, incomplete", IN(POST TE "\r\n2\r\n{"), -EAGAIN, .head_complete = true },
        { "chunked, no last chunk", IN(POST TE "\r\n2\r\n{}\r\n"), -EAGAIN, .head_complete = true },
        { "chunked, trailers incomplete", IN(POST TE "\r\n0\r\nX: 1\r\n"), -EAGAIN, .head_complete = true },
        { "bad hex", IN(POST TE "\r\n2g\r\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "no size", IN(POST TE "\r\n\r\n"), -EBADMSG },
        { "only an extension", IN(POST TE "\r\n;x\r\n"), -EBADMSG },
        { "0x prefix", IN(POST TE "\r\n0x2\r\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "negative size", IN(POST TE "\r\n-2\r\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "space after the size", IN(POST TE "\r\n2 \r\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "LF after the size", IN(POST TE "\r\n2\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "control byte in an extension", IN(POST TE "\r\n2;a\x01\r\n{}\r\n0\r\n\r\n"), -EBADMSG },
        { "size overflowing", IN(POST TE "\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n"), -EFBIG },
        { "chunk over the cap", IN(POST TE "\r\n65\r\n"), -EFBIG },
        { "chunks adding up over the cap", IN(POST TE "\r\n32\r\n" A50 "\r\n33\r\n" A50 "a\r\n0\r\n\r\n"),
                -EFBIG },
        { "data not followed by CRLF", IN(POST TE "\r\n2\r\n{}X\r\n0\r\n\r\n"), -EBADMSG },
        { "data followed by LF", IN(POST TE "\r\n2\r\n{}\n0\r\n\r\n"), -EBADMSG },
        { "data followed by CR alone", IN(POST TE "\r\n2\r\n{}\r0\r\n\r\n"), -EBADMSG },
        { "folded trailer", IN(POST TE "\r\n0\r\nX: 1\r\n 2\r\n\r\n"), -EBADMSG },
        { "bad trailer name", IN(POST TE "\r\n0\r\nX Y: 1\r\n\r\n"), -EBADMSG },
        { "too many trailers", IN(POST TE "\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"), -E2BIG },
        { "chunked and length", IN(POST "Content-Length: 2\r\n" TE "\r\n{}"), -EBADMSG },
        { "length and chunked", IN(POST TE "Content-Length: 2\r\n\r\n{}"), -EBADMSG },
        { "gzip, chunked", IN(POST "Transfer-Encoding: gzip, chunked\r\n\r\n"), -EOPNOTSUPP },
        { "gzip then chunked on two lines", IN(POST "Transfer-Encoding: gzip\r\n" TE "\r\n"), -EOPNOTSUPP },
        { "chunked, gzip", IN(POST "Transfer-Encoding: chunked, gzip\r\n\r\n"), -EBADMSG },
        { "gzip alone", IN(POST "Transfer-Encoding: gzip\r\n\r\n"), -EBADMSG },
        { "chunked twice", IN(POST "Transfer-Encoding: chunked, chunked\r\n\r\n"), -EBADMSG },
        { "chunked on two lines", IN(POST TE TE "\r\n"), -EBADMSG },
        { "empty Transfer-Encoding", IN(POST "Transfer-Encoding:\r\n\r\n"), -EBADMSG },
        { "chunked with parameters", IN(POST "Transfer-Encoding: chunked;x=1\r\n\r\n"), -EBADMSG },
        { "chunked from 1.0", IN("POST /run HTTP/1.0\r\n" TE "\r\n0\r\n\r\n"), -EBADMSG },

        /* Incomplete. */
        { "head only, body missing", IN(POST "Content-Length: 5\r\n\r\nab"), -EAGAIN,
                .head_complete = true },
        { "incomplete head", IN("GET / HTTP/1.1\r\nHost: x\r\n"), -EAGAIN },
        { "head ends in CR", IN("GET / HTTP/1.1\r\n\r"), -EAGAIN },
        { "nothing", IN(""), -EAGAIN },

        /* The request line. */
        { "bare LF", IN("GET / HTTP/1.1\nHost: x\n\n"), -EBADMSG },
        { "CR without LF", IN("GET / HTTP/1.1\rX"), -EBADMSG },
        { "lowercase method", IN("get / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "lowercase method, partial", IN("g"), -EBADMSG },
        { "method of 16", IN("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n"), .method = "ABCDEFGHIJKLMNOP",
                .path = "/" },
        { "method of 17", IN("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "absolute form", IN("GET http://x/ HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "asterisk form", IN("OPTIONS * HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "two spaces", IN("GET  / HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "no version", IN("GET /\r\n\r\n"), -EBADMSG },
        { "HTTP/2.0", IN("GET / HTTP/2.0\r\n\r\n"), -EPROTONOSUPPORT },
        { "HTTP/1.2", IN("GET / HTTP/1.2\r\n\r\n"), -EPROTONOSUPPORT },
        { "HTTP/0.9", IN("GET / HTTP/0.9\r\n\r\n"), -EPROTONOSUPPORT },
        { "HTTP/1.10", IN("GET / HTTP/1.10\r\n\r\n"), -EBADMSG },
        { "space after the version", IN("GET / HTTP/1.1 \r\n\r\n"), -EBADMSG },
        { "garbage version", IN("GET / HTTX/1.1\r\n\r\n"), -EBADMSG },
        { "lowercase version", IN("GET / http/1.1\r\n\r\n"), -EBADMSG },
        { "control char in target", IN("GET /\x01 HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "byte above 0x7f in target", IN("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), -EBADMSG },
        /* 64 bytes of request line are allowed, 65 are not, with or without the line's end. */
        { "request line at the limit", IN("GET /" A50 " HTTP/1.1\r\n\r\n"), .method = "GET",
                .path = "/" A50 },
        { "request line at the limit, partial", IN("GET /" A50 " HTTP/1.1"), -EAGAIN },
        { "request line at the limit, CR", IN("GET /" A50 " HTTP/1.1\r"), -EAGAIN },
        { "request line over the limit", IN("GET /" A50 "a HTTP/1.1\r\n\r\n"), -ENAMETOOLONG },
        { "request line over the limit, partial", IN("GET /" A50 "a HTTP/1.1"), -ENAMETOOLONG },
        { "long request line", IN("GET /" A50 A10 A10 " HTTP/1.1\r\n\r\n"), -ENAMETOOLONG },
        { "bad byte within the limit", IN("GET /" A10 "\x01" A50 A10 " HTTP/1.1\r\n\r\n"), -EBADMSG },
        { "bad byte within the limit, partial", IN("GET /" A10 "\x01" A50 A10), -EBADMSG },
        { "bad byte past the limit", IN("GET /" A50 A10 "\x01 HTTP/1.1\r\n\r\n"), -ENAMETOOLONG },

        /* Header fields. */
        { "folded header", IN("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n"), -EBADMSG },
        { "space before the first header", IN("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), -EBADMSG },
        { "space before colon", IN("GET / HTTP/1.1\r\nX-A : b\r\n\r\n"), -EBADMSG },
        { "no colon", IN("GET / HTTP/1.1\r\nX-A b\r\n\r\n"), -EBADMSG },
        { "empty name", IN("GET / HTTP/1.1\r\n: b\r\n\r\n"), -EBADMSG },
        { "NUL in value", IN("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"), -EBADMSG },
        { "LF in value", IN("GET / HTTP/1.1\r\nX-A: a\nb\r\n\r\n"), -EBADMSG },
        { "DEL in value", IN("GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n"), -EBADMSG },
        { "four headers", IN("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), .method = "GET",
                .path = "/" },
        { "too many headers", IN("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"), -E2BIG },
        { "head too large, partial",
                IN("GET / HTTP/1.1\r\nX-A: " A50 A50 A50 A50 A50
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                -E2BIG },
        { "duplicate Content-Length, same", IN(POST "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
                -EBADMSG },
        { "duplicate Content-Length, different", IN(POST "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
                -EBADMSG },
        { "Content-Length list", IN(POST "Content-Length: 2, 2\r\n\r\n{}"), -EBADMSG },
        { "Content-Length over the cap", IN(POST "Content-Length: 101\r\n\r\n"), -EFBIG },
        { "Content-Length overflowing", IN(POST "Content-Length: 99999999999999999999999\r\n\r\n"), -EFBIG },
        { "negative Content-Length", IN(POST "Content-Length: -1\r\n\r\n"), -EBADMSG },
        { "Content-Length with sign", IN(POST "Content-Length: +1\r\n\r\n{"), -EBADMSG },
        { "empty Content-Length", IN(POST "Content-Length:\r\n\r\n"), -EBADMSG },
        { "duplicate token", IN("GET / HTTP/1.1\r\nX-Access-Token: a\r\nX-Access-Token: a\r\n\r\n"),
                -EBADMSG },
};

/* A slice as offsets into the buffer and a hash of its bytes, to compare runs over different buffers. */
struct seen {
        bool present;
        size_t off, len;
        uint64_t hash;
};

struct summary {
        struct seen method, path, query, token, forwarded_for, request_id, body;
        int minor;
        bool has_token, expect_continue, keep_alive, chunked;
        size_t head_len, content_length, consumed;
};

/* What a connection's byte stream gave: the complete requests, then how the stream ended. */
struct outcome {
        unsigned n;
        struct summary req[MAX_REQUESTS];
        int end; /* -EAGAIN when the bytes ran out, or the error */
        bool head_complete, expect_continue;
        size_t kept, max_kept;
};

enum mode { WHOLE, SPLIT, BYTES };

static uint64_t hash(const char *s, size_t n) {
        uint64_t h = 14695981039346656037u;

        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 1099511628211u;
        return h;
}

static struct seen see(const char *buf, struct http_slice s) {
        if (!s.ptr)
                return (struct seen){ 0 };
        return (struct seen){ true, (size_t)(s.ptr - buf), s.len, hash(s.ptr, s.len) };
}

static bool seen_eq(struct seen a, struct seen b) {
        return a.present == b.present && a.off == b.off && a.len == b.len && a.hash == b.hash;
}

/* Whether a slice holds want; NULL wants it empty or absent. */
static bool seen_is(struct seen s, const char *want) {
        if (!want)
                return s.len == 0;
        return s.present && s.len == strlen(want) && s.hash == hash(want, s.len);
}

static bool summary_eq(const struct summary *a, const struct summary *b) {
        return seen_eq(a->method, b->method) && seen_eq(a->path, b->path) && seen_eq(a->query, b->query) &&
               seen_eq(a->token, b->token) && seen_eq(a->forwarded_for, b->forwarded_for) &&
               seen_eq(a->request_id, b->request_id) && seen_eq(a->body, b->body) && a->minor == b->minor &&
               a->has_token == b->has_token && a->expect_continue == b->expect_continue &&
               a->keep_alive == b->keep_alive && a->chunked == b->chunked && a->head_len == b->head_len &&
               a->content_length == b->content_length && a->consumed == b->consumed;
}

static bool outcome_eq(const struct outcome *a, const struct outcome *b) {
        if (a->n != b->n || a->end != b->end || a->head_complete != b->head_complete ||
                a->expect_continue != b->expect_continue)
                return false;
        /* After an error, how much had arrived depends on the pieces; when the bytes ran out it does not. */
        if (a->end == -EAGAIN && a->kept != b->kept)
                return false;
        for (unsigned i = 0; i < a->n && i < MAX_REQUESTS; i++)
                if (!summary_eq(&a->req[i], &b->req[i]))
                        return false;
        return true;
}

static void summarize(const char *buf, size_t kept, const struct http_request *req, struct summary *ret) {
        CHECK(req->consumed > 0 && req->consumed <= kept, "consumed %zu of %zu", req->consumed, kept);
        CHECK(req->body.ptr == buf + req->head_len && req->body.len == req->content_length &&
                        req->head_len + req->body.len <= req->consumed,
                "body inside the request");
        *ret = (struct summary){
                .method = see(buf, req->method),
                .path = see(buf, req->path),
                .query = see(buf, req->query),
                .token = see(buf, req->token),
                .forwarded_for = see(buf, req->forwarded_for),
                .request_id = see(buf, req->request_id),
                .body = see(buf, req->body),
                .minor = req->version_minor,
                .has_token = req->has_token,
                .expect_continue = req->expect_continue,
                .keep_alive = req->keep_alive,
                .chunked = req->chunked,
                .head_len = req->head_len,
                .content_length = req->content_length,
                .consumed = req->consumed,
        };
}

/*
 * Feed input as a connection would receive it: whole, in two pieces cut at split, or a byte
 * at a time; after each complete request the rest moves to the front, as a caller does.
 */
static void run(const char *input, size_t n, const struct http_limits *l, enum mode mode, size_t split,
        struct outcome *ret) {
        char *buf = malloc(n ? n : 1);
        size_t received = 0, kept = 0;
        struct http_parser p;

        *ret = (struct outcome){ 0 };
        if (!buf) {
                CHECK(false, "out of memory");
                return;
        }
        http_parser_init(&p, l);
        for (;;) {
                struct http_request req;
                size_t next;
                int r = http_parser_feed(&p, buf, &kept, &req);

                if (r == 0) {
                        if (ret->n < MAX_REQUESTS)
                                summarize(buf, kept, &req, &ret->req[ret->n]);
                        ret->n++;
                        memmove(buf, buf + req.consumed, kept - req.consumed);
                        kept -= req.consumed;
                        http_parser_init(&p, l);
                        continue;
                }
                if (r != -EAGAIN || received == n) {
                        ret->end = r;
                        ret->head_complete = http_parser_head_complete(&p);
                        ret->expect_continue = http_parser_expect_continue(&p);
                        ret->kept = kept;
                        break;
                }
                next = mode == BYTES ? received + 1 : mode == SPLIT && received < split ? split : n;
                memcpy(buf + kept, input + received, next - received);
                kept += next - received;
                received = next;
                if (kept > ret->max_kept)
                        ret->max_kept = kept;
        }
        free(buf);
}

static void check_case(const struct test_case *t, const struct outcome *o) {
        const struct summary *s = &o->req[0];

        if (t->error != 0) {
                CHECK(o->n == 0 && o->end == t->error, "%s: got %u requests and %d, want %d", t->name, o->n,
                        o->end, t->error);
                if (t->error == -EAGAIN) {
                        CHECK(o->head_complete == t->head_complete, "%s: head complete", t->name);
                        CHECK(o->expect_continue == t->expect_continue, "%s: expect continue", t->name);
                }
                return;
        }
        CHECK(o->n >= 1, "%s: not complete, ended with %d", t->name, o->end);
        if (o->n == 0)
                return;
        CHECK(seen_is(s->method, t->method ?: "POST"), "%s: method", t->name);
        CHECK(seen_is(s->path, t->path ?: "/run"), "%s: path", t->name);
        CHECK(seen_is(s->query, t->query), "%s: query", t->name);
        CHECK(s->has_token == (t->token != NULL), "%s: has_token", t->name);
        CHECK(seen_is(s->token, t->token), "%s: token", t->name);
        CHECK(seen_is(s->forwarded_for, t->forwarded_for), "%s: forwarded_for", t->name);
        CHECK(seen_is(s->request_id, t->request_id), "%s: request_id", t->name);
        CHECK(seen_is(s->body, t->body), "%s: body", t->name);
        CHECK(s->minor == (t->http10 ? 0 : 1), "%s: version", t->name);
        CHECK(s->keep_alive == !t->close, "%s: keep_alive", t->name);
        CHECK(s->expect_continue == t->expect_continue, "%s: expect_continue", t->name);
        CHECK(s->chunked == t->chunked, "%s: chunked", t->name);
        if (t->consumed)
                CHECK(s->consumed == t->consumed, "%s: consumed %zu", t->name, s->consumed);
        else
                CHECK(o->n == 1 && o->end == -EAGAIN && o->kept == 0, "%s: not exactly one request",
                        t->name);
}

static void test_table(void) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct test_case *t = &cases[i];
                struct outcome whole, o;

                run(t->input, t->len, &limits, WHOLE, 0, &whole);
                check_case(t, &whole);
                for (size_t k = 0; k <= t->len; k++) {
                        run(t->input, t->len, &limits, SPLIT, k, &o);
                        CHECK(outcome_eq(&whole, &o), "%s: split at %zu differs (%d vs %d)", t->name, k,
                                o.end, whole.end);
                }
                run(t->input, t->len, &limits, BYTES, 0, &o);
                CHECK(outcome_eq(&whole, &o), "%s: byte by byte differs (%d vs %d)", t->name, o.end,
                        whole.end);
        }
}

/* Three requests back to back, with a stray CRLF after a body as some clients send it. */
static void test_pipeline(void) {
        static const char in[] = POST "Content-Length: 2\r\n\r\n{}\r\n" POST TE "Connection: close\r\n\r\n"
                                      "1\r\n[\r\n1\r\n]\r\n0\r\n\r\n"
                                      "GET /version?v HTTP/1.1\r\n\r\nGET";
        static const enum mode modes[] = { WHOLE, SPLIT, BYTES };

        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
                struct outcome o;

                run(in, sizeof(in) - 1, &limits, modes[m], 50, &o);
                CHECK(o.n == 3 && o.end == -EAGAIN && o.kept == 3, "mode %zu: %u requests, then %d", m, o.n,
                        o.end);
                if (o.n != 3)
                        continue;
                CHECK(seen_is(o.req[0].body, "{}") && o.req[0].consumed == 43 && o.req[0].keep_alive,
                        "first request");
                CHECK(seen_is(o.req[1].body, "[]") && o.req[1].chunked && !o.req[1].keep_alive &&
                                o.req[1].head_len == 71 && o.req[1].consumed == 73,
                        "second request, after the stray CRLF: head %zu, consumed %zu", o.req[1].head_len,
                        o.req[1].consumed);
                CHECK(seen_is(o.req[2].path, "/version") && seen_is(o.req[2].query, "v") &&
                                o.req[2].consumed == 27,
                        "third request");
        }
}

/* A head of HTTP_MAX_HEAD bytes, byte by byte: each byte looked at a small constant number of times. */
static void test_linear(void) {
        static const struct http_limits roomy = { HTTP_MAX_REQUEST_LINE, HTTP_MAX_HEAD, HTTP_MAX_HEADERS,
                1024 };
        static char buf[HTTP_MAX_HEAD + 1];
        static const char line[] = "GET / HTTP/1.1\r\n";
        size_t n = 0, kept = 0;
        struct http_parser p;
        struct http_request req;
        int r = -EAGAIN;

        /* 63 headers filling the head but for the one holding the rest, then the empty line. */
        memcpy(buf, line, sizeof(line) - 1);
        n = sizeof(line) - 1;
        for (unsigned h = 0; h < HTTP_MAX_HEADERS - 1; h++) {
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-Filler-%02u: ", h);
                memset(buf + n, 'v', 400);
                n += 400;
                memcpy(buf + n, "\r\n", 2);
                n += 2;
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-Last: ");
        memset(buf + n, 'w', HTTP_MAX_HEAD - n - 4);
        n = HTTP_MAX_HEAD - 4;
        memcpy(buf + n, "\r\n\r\n", 4);
        n += 4;

        http_parser_init(&p, &roomy);
        while (kept < n) {
                kept++;
                r = http_parser_feed(&p, buf, &kept, &req);
                if (r != -EAGAIN)
                        break;
        }
        CHECK(r == 0 && req.head_len == HTTP_MAX_HEAD && kept == n, "a full head parses: %d", r);
        CHECK(http_parser_examined(&p) <= 3 * n, "examined %zu bytes for %zu", http_parser_examined(&p), n);

        /* One byte more is refused, whole or byte by byte. */
        http_parser_init(&p, &roomy);
        memcpy(buf + n - 4, "x\r\n\r\n", 5);
        kept = n + 1;
        CHECK(http_parser_feed(&p, buf, &kept, &req) == -E2BIG, "one byte over the head");
}

/* One-byte chunks up to max_body: the buffer never holds more than the head and the body decoded. */
static void test_chunk_memory(void) {
        static const struct http_limits l = { 64, 256, 4, 1000 };
        static const char head[] = POST TE "\r\n";
        static char src[sizeof(head) + 6 * 1000 + 5], buf[sizeof(head) + 1000]; /* head + max_body + 1 */
        size_t n = sizeof(head) - 1, received = 0, kept = 0, most = 0;
        struct http_parser p;
        struct http_request req;
        int r = -EAGAIN;

        memcpy(src, head, n);
        for (unsigned i = 0; i < 1000; i++) {
                memcpy(src + n, "1\r\nx\r\n", 6);
                src[n + 3] = (char)('a' + i % 26);
                n += 6;
        }
        memcpy(src + n, "0\r\n\r\n", 5);
        n += 5;

        /* As a caller would: read what fits, a few bytes at a time, into a buffer of head + max_body + 1. */
        http_parser_init(&p, &l);
        while (received < n) {
                size_t room = sizeof(buf) - kept, take = n - received < 7 ? n - received : 7;

                if (take > room)
                        take = room;
                CHECK(take > 0, "no room left at %zu", kept);
                if (take == 0)
                        break;
                memcpy(buf + kept, src + received, take);
                kept += take;
                received += take;
                r = http_parser_feed(&p, buf, &kept, &req);
                if (r != -EAGAIN)
                        break;
                if (kept > most)
                        most = kept;
        }
        CHECK(r == 0 && req.body.len == 1000 && received == n && req.consumed == kept,
                "1000 one-byte chunks: %d", r);
        CHECK(most <= sizeof(head) - 1 + 1000, "kept at most %zu", most);
        for (unsigned i = 0; r == 0 && i < 1000; i++)
                if (req.body.ptr[i] != (char)('a' + i % 26)) {
                        CHECK(false, "body byte %u", i);
                        break;
                }
        CHECK(http_parser_examined(&p) <= 3 * n, "examined %zu for %zu", http_parser_examined(&p), n);
}

/* Limits too long for the table: the chunk line, the trailer section, the head at its edge. */
static void test_long(void) {
        static char in[2048];
        size_t n;
        struct outcome whole, o;
        static const struct {
                const char *name;
                const char *prefix;
                size_t fill; /* bytes of 'a' */
                const char *suffix;
                int error;
        } long_cases[] = {
                { "chunk line at the limit", POST TE "\r\n1;", HTTP_MAX_CHUNK_LINE - 2, "\r\nx\r\n0\r\n\r\n",
                        0 },
                { "chunk line over the limit", POST TE "\r\n1;", HTTP_MAX_CHUNK_LINE - 1,
                        "\r\nx\r\n0\r\n\r\n", -EBADMSG },
                { "leading zeros over the limit", POST TE "\r\n", 0, NULL, -EBADMSG },
                { "trailers at the head limit", POST TE "\r\n0\r\nX: ", 256 - 7, "\r\n\r\n", 0 },
                { "trailers over the head limit", POST TE "\r\n0\r\nX: ", 256 - 6, "\r\n\r\n", -E2BIG },
                { "head at the limit", "GET / HTTP/1.1\r\nX: ", 256 - 23, "\r\n\r\n", 0 },
                { "head over the limit", "GET / HTTP/1.1\r\nX: ", 256 - 22, "\r\n\r\n", -E2BIG },
        };

        for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
                n = strlen(long_cases[i].prefix);
                memcpy(in, long_cases[i].prefix, n);
                if (long_cases[i].suffix) {
                        memset(in + n, 'a', long_cases[i].fill);
                        n += long_cases[i].fill;
                        memcpy(in + n, long_cases[i].suffix, strlen(long_cases[i].suffix));
                        n += strlen(long_cases[i].suffix);
                } else {
                        memset(in + n, '0', HTTP_MAX_CHUNK_LINE + 1);
                        n += HTTP_MAX_CHUNK_LINE + 1;
                }
                run(in, n, &limits, WHOLE, 0, &whole);
                if (long_cases[i].error == 0)
                        CHECK(whole.n == 1 && whole.end == -EAGAIN && whole.kept == 0, "%s: got %d",
                                long_cases[i].name, whole.end);
                else
                        CHECK(whole.n == 0 && whole.end == long_cases[i].error, "%s: got %d",
                                long_cases[i].name, whole.end);
                run(in, n, &limits, BYTES, 0, &o);
                CHECK(outcome_eq(&whole, &o), "%s: byte by byte differs", long_cases[i].name);
                run(in, n, &limits, SPLIT, n / 2, &o);
                CHECK(outcome_eq(&whole, &o), "%s: split differs", long_cases[i].name);
        }
}

/* Calls after the end: the same answer again; a length below what was kept is refused. */
static void test_calls(void) {
        char buf[] = "GET / HTTP/1.1\r\n\r\nGARBAGE";
        size_t len = sizeof(buf) - 1, n;
        struct http_parser p;
        struct http_request req, again;

        http_parser_init(&p, &limits);
        CHECK(http_parser_feed(&p, buf, &len, &req) == 0 && req.consumed == 18 && len == sizeof(buf) - 1,
                "complete, rest left alone");
        CHECK(http_parser_feed(&p, buf, &len, &again) == 0 && again.consumed == 18, "complete again");

        http_parser_init(&p, &limits);
        n = 5;
        CHECK(http_parser_feed(&p, buf, &n, &req) == -EAGAIN && n == 5, "partial");
        n = 4;
        CHECK(http_parser_feed(&p, buf, &n, &req) == -EINVAL, "shrunk buffer refused");

        http_parser_init(&p, &limits);
        n = sizeof(buf) - 1;
        memcpy(buf, "get", 3);
        CHECK(http_parser_feed(&p, buf, &n, &req) == -EBADMSG, "error");
        memcpy(buf, "GET", 3);
        CHECK(http_parser_feed(&p, buf, &n, &req) == -EBADMSG, "error sticks");
        CHECK(!http_parser_head_complete(&p), "no head after an error");
}

static void test_statuses(void) {
        static const struct {
                int error, status;
        } map[] = {
                { -EBADMSG, 400 },
                { -EFBIG, 413 },
                { -ENAMETOOLONG, 414 },
                { -E2BIG, 431 },
                { -EOPNOTSUPP, 501 },
                { -EPROTONOSUPPORT, 505 },
                { -EINVAL, 400 },
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
        test_pipeline();
        test_linear();
        test_chunk_memory();
        test_long();
        test_calls();
        test_statuses();
        return tap_finish("test-http");
}
