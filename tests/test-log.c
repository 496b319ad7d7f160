/* SPDX-License-Identifier: MIT */
/* test-log: escaping of untrusted bytes, and the request's record as written to stderr without journald. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define CID            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
        const char *name;
        const char *in;
        size_t len;  /* of in, NULs included */
        size_t size; /* of the buffer */
        const char *out;
} escapes[] = {
        { "printable ASCII kept", "Hello, World! ~{}[]<>\"'`", 24, 64, "Hello, World! ~{}[]<>\"'`" },
        { "space kept", " a b ", 5, 16, " a b " },
        { "empty", "", 0, 16, "" },
        { "backslash escaped", "a\\b", 3, 16, "a\\x5cb" },
        { "newline and CR", "a\r\nb", 4, 32, "a\\x0d\\x0ab" },
        { "tab", "\t", 1, 16, "\\x09" },
        { "escape character", "\x1b[31mred", 8, 32, "\\x1b[31mred" },
        { "unit separator", "\x1f", 1, 16, "\\x1f" },
        { "DEL", "\x7f", 1, 16, "\\x7f" },
        { "high bytes", "caf\xc3\xa9 \x80\xff", 8, 64, "caf\\xc3\\xa9 \\x80\\xff" },
        { "NUL inside, by length", "a\0b", 3, 16, "a\\x00b" },
        { "NUL at the end, by length", "ab\0", 3, 16, "ab\\x00" },
        { "only the length read", "abcdef", 3, 16, "abc" },
        { "length 0", "abc", 0, 16, "" },
        /* Cut to fit, with room for the NUL, and never in the middle of an escape. */
        { "cut plain", "abcdef", 6, 4, "abc" },
        { "exactly fits", "abc", 3, 4, "abc" },
        { "size 1", "abc", 3, 1, "" },
        { "escape exactly fits", "ab\n", 3, 7, "ab\\x0a" },
        { "escape one byte short", "ab\n", 3, 6, "ab" },
        { "escape far short", "ab\n", 3, 4, "ab" },
        { "nothing after a cut escape", "ab\ncd", 5, 6, "ab" },
        { "a cut backslash", "a\\", 2, 5, "a" },
};

static bool untouched_after(const char *buf, size_t size, size_t from) {
        for (size_t k = from; k < size; k++)
                if (buf[k] != 'X')
                        return false;
        return true;
}

static void test_escape(void) {
        for (size_t i = 0; i < ELEMENTSOF(escapes); i++) {
                char buf[128];

                memset(buf, 'X', sizeof(buf));
                log_escape(buf, escapes[i].size, escapes[i].in, escapes[i].len);
                CHECK(streq(buf, escapes[i].out), "%s: \"%s\", want \"%s\"", escapes[i].name, buf,
                        escapes[i].out);
                CHECK(strlen(buf) < escapes[i].size, "%s: within the buffer", escapes[i].name);
                CHECK(untouched_after(buf, sizeof(buf), strlen(buf) + 1), "%s: nothing written past the NUL",
                        escapes[i].name);
        }
}

static void test_escape_edges(void) {
        char buf[8] = "XXXXXXX", big[4096], in[1000];
        size_t n;

        log_escape(buf, 0, "abc", 3);
        CHECK(streq(buf, "XXXXXXX"), "size 0: untouched: %s", buf);
        log_escape(buf, sizeof(buf), NULL, 5);
        CHECK(streq(buf, ""), "NULL input: empty: %s", buf);

        /* Every byte but printable ASCII and the backslash as \xNN, lowercase. */
        for (int ch = 0; ch < 256; ch++) {
                char one = (char)ch, want[8];

                if (ch >= 0x20 && ch < 0x7f && ch != '\\')
                        snprintf(want, sizeof(want), "%c", ch);
                else
                        snprintf(want, sizeof(want), "\\x%02x", ch);
                log_escape(buf, sizeof(buf), &one, 1);
                CHECK(streq(buf, want), "byte 0x%02x: \"%s\", want \"%s\"", ch, buf, want);
        }

        /* Long input of escapes: whole escapes only, as many as fit. */
        memset(in, '\n', sizeof(in));
        log_escape(big, 1023, in, sizeof(in));
        n = strlen(big);
        CHECK(n == 1020 && n % 4 == 0, "whole escapes only: %zu bytes", n);
        CHECK(n >= 4 && streq(big + n - 4, "\\x0a"), "the last escape whole");
}

/* --- the record on stderr ----------------------------------------------------- */

/* Run fn with stderr on a memory file; what it wrote into out. */
static void capture(void (*fn)(const void *), const void *arg, char *out, size_t size) {
        int saved, fd;
        ssize_t n;

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = memfd_create("test-log", MFD_CLOEXEC);
        if (saved < 0 || fd < 0) {
                perror("dup/memfd_create");
                exit(EXIT_FAILURE);
        }
        dup2(fd, STDERR_FILENO);
        fn(arg);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        n = pread(fd, out, size - 1, 0);
        out[n > 0 ? n : 0] = '\0';
        close(fd);
}

static void request_fn(const void *arg) {
        log_request(arg);
}

struct message {
        int priority;
        const char *text;
};

static void message_fn(const void *arg) {
        const struct message *m = arg;

        log_message(m->priority, "%s", m->text);
}

static const struct {
        const char *name;
        struct log_record r;
        const char *line;
} records[] = {
        { "a warm run",
                { .request_id = "0f0e",
                        .remote = "127.0.0.1:5555",
                        .method = "POST",
                        .path = "/run",
                        .status = 200,
                        .image = "glot/python:latest",
                        .container_id = CID,
                        .warm = true,
                        .duration_usec = 12345678,
                        .claim_usec = 5,
                        .attach_usec = 6,
                        .run_usec = 7,
                        .remove_usec = 8 },
                "<6>POST /run image=glot/python:latest -> 200 in 12345 ms (request 0f0e, container "
                "0123456789ab, "
                "warm)\n" },
        { "a cold run",
                { .request_id = "0f0f",
                        .method = "POST",
                        .path = "/run",
                        .status = 200,
                        .image = "alpine",
                        .container_id = CID,
                        .duration_usec = 999,
                        .create_usec = 1,
                        .start_usec = 2 },
                "<6>POST /run image=alpine -> 200 in 0 ms (request 0f0f, container 0123456789ab)\n" },
        { "a run with several engines names its engine",
                { .request_id = "0f10",
                        .method = "POST",
                        .path = "/run",
                        .status = 200,
                        .image = "alpine",
                        .container_id = CID,
                        .engine = "tcp://10.0.0.2:2376",
                        .engine_in_message = true,
                        .duration_usec = 999 },
                "<6>POST /run image=alpine -> 200 in 0 ms (request 0f10, container 0123456789ab, engine "
                "tcp://10.0.0.2:2376)\n" },
        { "GET /",
                { .request_id = "aa", .method = "GET", .path = "/", .status = 200, .duration_usec = 1000 },
                "<6>GET / -> 200 in 1 ms (request aa)\n" },
        { "a client's error",
                { .request_id = "bb",
                        .method = "POST",
                        .path = "/run",
                        .status = 400,
                        .error = "limits.execution_time",
                        .message = "Run exceeded the time limit",
                        .image = "alpine",
                        .container_id = CID,
                        .duration_usec = 3001000 },
                "<4>POST /run image=alpine -> 400 limits.execution_time: Run exceeded the time limit in "
                "3001 ms "
                "(request bb, container 0123456789ab)\n" },
        { "the service's error",
                { .request_id = "cc",
                        .method = "GET",
                        .path = "/version",
                        .status = 500,
                        .error = "docker.version",
                        .message = "engine said no",
                        .duration_usec = 2000 },
                "<3>GET /version -> 500 docker.version: engine said no in 2 ms (request cc)\n" },
        { "no request line", { .status = 400, .error = "request.http", .message = "bad" },
                "<4>- - -> 400 request.http: bad in 0 ms (request -)\n" },
        /* Untrusted: the client's method, path and image, the runner's message. */
        { "forged lines escaped",
                { .request_id = "dd",
                        .method = "GE\tT",
                        .path = "/run\n<3>forged \\x0a",
                        .status = 404,
                        .error = "route.not_found",
                        .message = "no\r\n<2>such",
                        .duration_usec = 0 },
                "<4>GE\\x09T /run\\x0a<3>forged \\x5cx0a -> 404 route.not_found: no\\x0d\\x0a<2>such in 0 "
                "ms "
                "(request dd)\n" },
        { "image escaped",
                { .request_id = "ee",
                        .method = "POST",
                        .path = "/run",
                        .status = 403,
                        .error = "request.image.not_allowed",
                        .image = "\x1b[31mred\xff",
                        .message = "not allowed" },
                "<4>POST /run image=\\x1b[31mred\\xff -> 403 request.image.not_allowed: not allowed in 0 ms "
                "(request ee)\n" },
        { "a message with NUL and newlines, by its length",
                { .request_id = "ff",
                        .method = "POST",
                        .path = "/run",
                        .status = 500,
                        .error = "coderunner.stderr",
                        .message = "line1\nline2\0tail",
                        .message_len = 16 },
                "<3>POST /run -> 500 coderunner.stderr: line1\\x0aline2\\x00tail in 0 ms (request ff)\n" },
        { "a message up to its NUL",
                { .request_id = "ab",
                        .method = "POST",
                        .path = "/run",
                        .status = 500,
                        .error = "internal",
                        .message = "a\nb\0never" },
                "<3>POST /run -> 500 internal: a\\x0ab in 0 ms (request ab)\n" },
};

/* Every status the service answers, at its priority: errors of the service 3, of the client (and a client
 * that left) 4, else 6. */
static const struct {
        int status, priority;
} priorities[] = {
        { 0, LOG_WARNING }, /* the client left before its answer: -p warning must show it */
        { 200, LOG_INFO },
        { 400, LOG_WARNING },
        { 401, LOG_WARNING },
        { 403, LOG_WARNING },
        { 404, LOG_WARNING },
        { 405, LOG_WARNING },
        { 408, LOG_WARNING },
        { 413, LOG_WARNING },
        { 414, LOG_WARNING },
        { 429, LOG_WARNING },
        { 431, LOG_WARNING },
        { 500, LOG_ERR },
        { 501, LOG_ERR },
        { 503, LOG_ERR },
        { 505, LOG_ERR },
};

static void test_records(void) {
        char out[8192], want[64];

        for (size_t i = 0; i < ELEMENTSOF(records); i++) {
                capture(request_fn, &records[i].r, out, sizeof(out));
                CHECK(streq(out, records[i].line), "%s: \"%s\", want \"%s\"", records[i].name, out,
                        records[i].line);
        }

        for (size_t i = 0; i < ELEMENTSOF(priorities); i++) {
                struct log_record r = {
                        .request_id = "x", .method = "GET", .path = "/", .status = priorities[i].status
                };

                capture(request_fn, &r, out, sizeof(out));
                snprintf(want, sizeof(want), "<%d>GET / -> %d in 0 ms (request x)\n", priorities[i].priority,
                        priorities[i].status);
                CHECK(streq(out, want), "status %d: \"%s\", want \"%s\"", priorities[i].status, out, want);
        }
}

static void test_long_record(void) {
        char path[1001], message[5000], out[8192], want[300];
        struct log_record r = { .request_id = "x",
                .method = "POST",
                .path = path,
                .status = 400,
                .error = "request.json",
                .message = message };
        const char *nl;

        memset(path, 'p', sizeof(path) - 1);
        path[sizeof(path) - 1] = '\0';
        memset(message, '\n', sizeof(message) - 1);
        message[sizeof(message) - 1] = '\0';
        capture(request_fn, &r, out, sizeof(out));
        nl = strchr(out, '\n');
        CHECK(nl && nl[1] == '\0', "one line however long the fields: %zu bytes", strlen(out));
        snprintf(want, sizeof(want), "<4>POST %.255s -> 400 request.json: \\x0a", path);
        CHECK(strncmp(out, want, strlen(want)) == 0, "the path cut to 255 bytes: %.300s", out);
        CHECK(strlen(out) < LOG_FIELD_MAX * 2 + 8, "the line bounded: %zu", strlen(out));
}

static void test_messages(void) {
        const struct message notice = { LOG_NOTICE, "Removed leftover container abc" };
        const struct message err = { LOG_ERR, "Failed to list containers" };
        char out[4096];

        capture(message_fn, &notice, out, sizeof(out));
        CHECK(streq(out, "<5>Removed leftover container abc\n"), "a service line: \"%s\"", out);
        capture(message_fn, &err, out, sizeof(out));
        CHECK(streq(out, "<3>Failed to list containers\n"), "at its priority: \"%s\"", out);
}

/* When stderr is the client's connection, nothing goes there. */
static void test_stderr_not_allowed(void) {
        const struct message m = { LOG_ERR, "never" };
        struct log_record r = { .request_id = "x", .method = "GET", .path = "/", .status = 500 };
        char out[4096];

        log_setup(false);
        capture(request_fn, &r, out, sizeof(out));
        CHECK(out[0] == '\0', "no record on a forbidden stderr: \"%s\"", out);
        capture(message_fn, &m, out, sizeof(out));
        CHECK(out[0] == '\0', "no line on a forbidden stderr: \"%s\"", out);
}

int main(void) {
        test_escape();
        test_escape_edges();
        /* log.c sends to journald whenever its socket exists; only without it does stderr get the records.
         */
        if (access(JOURNAL_SOCKET, F_OK) == 0)
                printf("test-log: skipping the stderr records: journald runs (%s exists)\n", JOURNAL_SOCKET);
        else {
                log_setup(true);
                test_records();
                test_long_record();
                test_messages();
        }
        test_stderr_not_allowed();
        return tap_finish("test-log");
}
