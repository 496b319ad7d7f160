/* SPDX-License-Identifier: MIT */
/* test-answer: answers as written on a connection: heads, bodies, errors whatever their bytes, HEAD. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "answer.h"
#include "jsontext.h"
#include "response.h"
#include "tap.h"

/* Write the answer on one end of a socket pair, read what arrived on the other. */
static char *written(const struct answer *a, const struct answer_wire *w, size_t *ret_len) {
        int sv[2];
        struct conn c;
        size_t cap = 64 << 20, len = 0;
        char *buf = malloc(cap);
        pid_t pid;

        if (!buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        pid = fork();
        if (pid == 0) {
                close(sv[1]);
                c = (struct conn){ .in_fd = sv[0], .out_fd = sv[0], .is_socket = true };
                _exit(answer_write(a, w, &c) < 0);
        }
        close(sv[0]);
        for (;;) {
                ssize_t n = read(sv[1], buf + len, cap - len);

                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(sv[1]);
        waitpid(pid, NULL, 0);
        *ret_len = len;
        return buf;
}

static const char *header(const char *out, const char *name) {
        const char *p = strstr(out, name);

        return p && p < strstr(out, "\r\n\r\n") ? p + strlen(name) : NULL;
}

static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        const char *expect; /* the "message" value after parsing the body back */
} messages[] = {
        { "plain", "Missing or wrong access token", 29, "Missing or wrong access token" },
        { "quotes and newline", "a \"b\"\nc", 8, "a \"b\"\nc" },
        { "valid utf-8", "caf\xc3\xa9", 5, "caf\xc3\xa9" },
        { "invalid byte replaced",
                "a\xff"
                "b",
                3,
                "a\xef\xbf\xbd"
                "b" },
        { "truncated sequence replaced", "a\xe2\x82", 3, "a\xef\xbf\xbd\xef\xbf\xbd" },
        { "overlong replaced", "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
        { "surrogate replaced", "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "empty", "", 0, "" },
};

static void test_errors(void) {
        struct answer_wire w = { .request_id = "00ff" };

        for (size_t i = 0; i < ELEMENTSOF(messages); i++) {
                struct answer a = { 0 };
                char *bytes = malloc(messages[i].len + 1), *out, *body;
                size_t len;
                json_object *o, *v;

                memcpy(bytes, messages[i].bytes, messages[i].len);
                answer_fail_take(&a, APIERROR_CODERUNNER_STDERR, "prefix: ", bytes, messages[i].len);
                out = written(&a, &w, &len);
                body = strstr(out, "\r\n\r\n") + 4;
                CHECK(strncmp(out, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0, "%s: status",
                        messages[i].name);
                CHECK(header(out, "Content-Length: ") &&
                                (size_t)atol(header(out, "Content-Length: ")) == len - (size_t)(body - out),
                        "%s: Content-Length", messages[i].name);
                CHECK(jsontext_validate(body, len - (size_t)(body - out), 128, NULL, NULL, NULL) == 0,
                        "%s: strictly valid JSON", messages[i].name);
                o = json_tokener_parse(body);
                CHECK(o && json_object_object_get_ex(o, "error", &v) &&
                                streq(json_object_get_string(v), "coderunner.stderr"),
                        "%s: code", messages[i].name);
                CHECK(o && json_object_object_get_ex(o, "message", &v) &&
                                strncmp(json_object_get_string(v), "prefix: ", 8) == 0 &&
                                streq(json_object_get_string(v) + 8, messages[i].expect),
                        "%s: message", messages[i].name);
                json_object_put(o);
                free(out);
                answer_done(&a);
        }
}

/* Megabytes of control bytes with NULs: escaped whole, each to six bytes, and still one valid body. */
static void test_big_error(void) {
        struct answer_wire w = { 0 };
        struct answer a = { 0 };
        size_t n = 3 << 20, len;
        char *bytes = malloc(n), *out, *body;
        json_tokener *tok = json_tokener_new();
        json_object *o, *v;

        for (size_t i = 0; i < n; i++)
                bytes[i] = (char)(i % 32);
        answer_fail_take(&a, APIERROR_CODERUNNER_STDERR, "", bytes, n);
        out = written(&a, &w, &len);
        body = strstr(out, "\r\n\r\n") + 4;
        /* Of every 32 bytes, \b \t \n \f \r take two bytes escaped and the other 27 six. */
        CHECK(len - (size_t)(body - out) ==
                        strlen("{\"error\":\"coderunner.stderr\",\"message\":\"\"}") + n / 32 * 172,
                "escaped in full: %zu", len - (size_t)(body - out));
        o = json_tokener_parse_ex(tok, body, (int)(len - (size_t)(body - out)));
        CHECK(o && json_object_object_get_ex(o, "message", &v) &&
                        (size_t)json_object_get_string_len(v) == n &&
                        memcmp(json_object_get_string(v), a.message, n) == 0,
                "the message arrives byte for byte, NULs included");
        json_object_put(o);
        json_tokener_free(tok);
        free(out);
        answer_done(&a);
}

static void test_heads(void) {
        struct answer a = { 0 };
        struct answer_wire w = { .request_id = "abc", .keep_alive = true, .keep_alive_timeout = 5 };
        char *body = strdup("{\"x\":1}"), *out;
        size_t len;

        answer_ok(&a, body, 7);
        CHECK(answer_header(&a, "X-Docker-Run-Warm: %s", "true") == 0, "extra header");
        out = written(&a, &w, &len);
        CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "200");
        CHECK(strstr(out, "Content-Type: application/json\r\n") && strstr(out, "Content-Length: 7\r\n") &&
                        strstr(out, "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n") &&
                        strstr(out, "X-Request-Id: abc\r\n") && strstr(out, "X-Docker-Run-Warm: true\r\n"),
                "the head: %s", out);
        CHECK(len >= 7 && memcmp(out + len - 7, "{\"x\":1}", 7) == 0, "the body");
        free(out);

        /* HEAD: the same head, Content-Length included, and no body. */
        w.head_only = true;
        w.keep_alive = false;
        out = written(&a, &w, &len);
        CHECK(strstr(out, "Content-Length: 7\r\n") && strstr(out, "Connection: close\r\n") &&
                        len == (size_t)(strstr(out, "\r\n\r\n") + 4 - out),
                "HEAD: no body");
        free(out);

        answer_fail(&a, APIERROR_LIMITS_CONCURRENCY, "Too many runs");
        a.retry_after = 3;
        w.head_only = false;
        out = written(&a, &w, &len);
        CHECK(strncmp(out, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0 &&
                        strstr(out, "Retry-After: 3\r\n"),
                "429 with Retry-After: %s", out);
        free(out);
        answer_done(&a);
}

static void test_head_room(void) {
        struct answer a = { 0 };
        int r = 0;

        for (int i = 0; i < 200 && r == 0; i++)
                r = answer_header(&a, "X-Filler-%03d: %s", i, "0123456789");
        CHECK(r == -ENOBUFS && a.headers_len < sizeof(a.headers), "extra headers are bounded");
        answer_done(&a);
}

int main(void) {
        test_errors();
        test_big_error();
        test_heads();
        test_head_room();
        return tap_finish("test-answer");
}
