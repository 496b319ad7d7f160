/* SPDX-License-Identifier: MIT */
/* test-body: the request body, the runner's answer and the early answer's watch, table-driven. */
#include <errno.h>
#include <string.h>

#include "body.h"
#include "tap.h"
#include "util.h"

#define R(s) s, sizeof(s) - 1

static const struct body_maxima max = {
        .execution_time_ms = 15000, .output_size = 100000, .memory = 1000000000
};

static const struct {
        const char *name;
        const char *input;
        size_t len;
        int error; /* -1: accepted */
        const char *image, *payload;
        uint64_t execution_ms, output;
        int64_t memory;
} requests[] = {
        { "plain", R("{\"image\": \"glot/bash:latest\", \"payload\": {\"a\": 1}}"), -1, "glot/bash:latest",
                "{\"a\": 1}", 15000, 100000, 1000000000 },
        { "whitespace around", R(" \r\n\t{\"payload\":{},\"image\":\"x\"}\n "), -1, "x", "{}", 15000, 100000,
                1000000000 },
        { "escaped key and image", R("{\"\\u0069mage\": \"gl\\u006ft\", \"payload\": {}}"), -1, "glot", "{}",
                15000, 100000, 1000000000 },
        /* The payload is passed as sent: numbers, escapes and spacing untouched. */
        { "big number kept", R("{\"image\": \"x\", \"payload\": {\"n\": 123456789012345678901234567890}}"),
                -1, "x", "{\"n\": 123456789012345678901234567890}", 15000, 100000, 1000000000 },
        { "escapes kept", R("{\"image\": \"x\", \"payload\": {\"s\": \"\\u00e9\\n\\/\", \"f\": 1.50e+10 }}"),
                -1, "x", "{\"s\": \"\\u00e9\\n\\/\", \"f\": 1.50e+10 }", 15000, 100000, 1000000000 },
        { "other keys ignored", R("{\"image\": \"x\", \"payload\": {}, \"extra\": [1, 2]}"), -1, "x", "{}",
                15000, 100000, 1000000000 },
        { "limits",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"executionTime\": 2.5, \"outputSize\": "
                  "1000, "
                  "\"memory\": 50000000}}"),
                -1, "x", "{}", 2500, 1000, 50000000 },
        { "limits at the maxima",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"executionTime\": 15, "
                  "\"outputSize\": 100000, \"memory\": 1000000000}}"),
                -1, "x", "{}", 15000, 100000, 1000000000 },
        { "limits partly", R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"executionTime\": 1e-1}}"),
                -1, "x", "{}", 100, 100000, 1000000000 },
        { "limits empty", R("{\"image\": \"x\", \"payload\": {}, \"limits\": {}}"), -1, "x", "{}", 15000,
                100000, 1000000000 },

        { "empty", R(""), APIERROR_REQUEST_JSON },
        { "not json", R("nope"), APIERROR_REQUEST_JSON },
        { "array", R("[]"), APIERROR_REQUEST_JSON },
        { "trailing", R("{\"image\": \"x\", \"payload\": {}} x"), APIERROR_REQUEST_JSON },
        { "NaN in payload", R("{\"image\": \"x\", \"payload\": {\"n\": NaN}}"), APIERROR_REQUEST_JSON },
        { "-Infinity in payload", R("{\"image\": \"x\", \"payload\": {\"n\": -Infinity}}"),
                APIERROR_REQUEST_JSON },
        { "leading zero", R("{\"image\": \"x\", \"payload\": {\"n\": 012}}"), APIERROR_REQUEST_JSON },
        { "single quotes", R("{'image': \"x\", \"payload\": {}}"), APIERROR_REQUEST_JSON },
        { "trailing comma", R("{\"image\": \"x\", \"payload\": {},}"), APIERROR_REQUEST_JSON },
        { "comment", R("{\"image\": \"x\", /* c */ \"payload\": {}}"), APIERROR_REQUEST_JSON },
        { "raw control char", R("{\"image\": \"x\", \"payload\": {\"s\": \"a\tb\"}}"),
                APIERROR_REQUEST_JSON },
        { "invalid UTF-8", R("{\"image\": \"x\", \"payload\": {\"s\": \"\xff\"}}"), APIERROR_REQUEST_JSON },
        { "key twice", R("{\"image\": \"x\", \"payload\": {}, \"image\": \"y\"}"), APIERROR_REQUEST_JSON },
        { "key twice, escaped", R("{\"payload\": {}, \"payload\": {}, \"image\": \"x\"}"),
                APIERROR_REQUEST_JSON },
        { "no image", R("{\"payload\": {}}"), APIERROR_REQUEST_IMAGE },
        { "image not a string", R("{\"image\": 42, \"payload\": {}}"), APIERROR_REQUEST_IMAGE },
        { "image empty", R("{\"image\": \"\", \"payload\": {}}"), APIERROR_REQUEST_IMAGE },
        { "image with space", R("{\"image\": \"a b\", \"payload\": {}}"), APIERROR_REQUEST_IMAGE },
        { "image with NUL", R("{\"image\": \"a\\u0000b\", \"payload\": {}}"), APIERROR_REQUEST_IMAGE },
        { "no payload", R("{\"image\": \"x\"}"), APIERROR_REQUEST_PAYLOAD },
        { "payload array", R("{\"image\": \"x\", \"payload\": []}"), APIERROR_REQUEST_PAYLOAD },
        { "payload string", R("{\"image\": \"x\", \"payload\": \"s\"}"), APIERROR_REQUEST_PAYLOAD },
        { "limits not an object", R("{\"image\": \"x\", \"payload\": {}, \"limits\": 5}"),
                APIERROR_REQUEST_LIMITS },
        { "limits unknown key", R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"cpu\": 1}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits not a number", R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"memory\": \"1G\"}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits above the maximum",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"executionTime\": 16}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits output above",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"outputSize\": 100001}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits memory above",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"memory\": 1000000001}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits below 0.1 s",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"executionTime\": 0.05}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits fraction of a byte",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"outputSize\": 1.5}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits negative", R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"outputSize\": -1}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits memory below the engine's",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"memory\": 1000}}"),
                APIERROR_REQUEST_LIMITS },
        { "limits key twice",
                R("{\"image\": \"x\", \"payload\": {}, \"limits\": {\"memory\": 7000000, \"memory\": "
                  "8000000}}"),
                APIERROR_REQUEST_LIMITS },
};

/* A refusal names what was wrong, in the client's own words. */
static void test_messages(void) {
        static const struct {
                const char *input;
                const char *needle;
        } cases[] = {
                { "{\"image\": \"x\", \"payload\": {}, \"limits\": {\"cpu\": 1}}", "unknown key \"cpu\"" },
                { "{\"image\": \"x\", \"payload\": {}, \"limits\": {\"memory\": 7000000, \"memory\": 1}}",
                        "\"limits.memory\" given twice" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct body_request b;
                enum apierror e = _APIERROR_MAX;
                char msg[256] = "";

                (void)body_parse_request(
                        cases[i].input, strlen(cases[i].input), &max, &b, &e, msg, sizeof(msg));
                CHECK(strstr(msg, cases[i].needle) != NULL, "message names it: %s (want %s)", msg,
                        cases[i].needle);
        }
}

static void test_requests(void) {
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                struct body_request b;
                enum apierror e = _APIERROR_MAX;
                char msg[256] = "";
                int r;

                r = body_parse_request(requests[i].input, requests[i].len, &max, &b, &e, msg, sizeof(msg));
                if (requests[i].error < 0) {
                        CHECK(r == 0, "%s: accepted: %s", requests[i].name, msg);
                        if (r != 0)
                                continue;
                        CHECK(streq(b.image, requests[i].image), "%s: image %s", requests[i].name, b.image);
                        CHECK(b.payload_len == strlen(requests[i].payload) &&
                                        memcmp(b.payload, requests[i].payload, b.payload_len) == 0,
                                "%s: the payload's own bytes: %.*s", requests[i].name, (int)b.payload_len,
                                b.payload);
                        CHECK(b.execution_time_ms == requests[i].execution_ms &&
                                        b.output_size == requests[i].output &&
                                        b.memory == requests[i].memory,
                                "%s: limits %llu %llu %lld", requests[i].name,
                                (unsigned long long)b.execution_time_ms, (unsigned long long)b.output_size,
                                (long long)b.memory);
                } else {
                        CHECK(r == -EBADMSG && e == (enum apierror)requests[i].error,
                                "%s: refused as %s: %d %s", requests[i].name,
                                apierror_code((enum apierror)requests[i].error), r, apierror_code(e));
                        CHECK(msg[0], "%s: a message", requests[i].name);
                }
        }
}

static void test_nesting(void) {
        char buf[1024];
        struct body_request b;
        enum apierror e;
        char msg[256];
        size_t n;

        /* 128 levels, the original's limit (the payload object and 127 arrays in it), then one more. */
        for (int depth = 127; depth <= 128; depth++) {
                n = (size_t)snprintf(buf, sizeof(buf), "{\"image\": \"x\", \"payload\": {\"a\": ");
                for (int i = 0; i < depth - 1; i++)
                        buf[n++] = '[';
                for (int i = 0; i < depth - 1; i++)
                        buf[n++] = ']';
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}}");
                CHECK((body_parse_request(buf, n, &max, &b, &e, msg, sizeof(msg)) == 0) == (depth == 127),
                        "nesting %d (the body object included: %d): %s", depth, depth + 1, msg);
        }
}

static const struct {
        const char *name;
        const char *input;
        size_t len;
        bool ok;
        size_t end;
} outputs[] = {
        { "object", R("{\"stdout\":\"x\",\"stderr\":\"\",\"error\":\"\"}"), true, 37 },
        { "whitespace around", R("\n {\"a\": 1} \n"), true, 10 },
        { "unicode", R("{\"s\": \"h\xc3\xa9llo \xe2\x98\x83\"}"), true, 19 },
        { "empty", R(""), false },
        { "whitespace", R("  \n"), false },
        { "array", R("[1]"), false },
        { "number", R("42"), false },
        { "two objects", R("{}{}"), false },
        { "trailing text", R("{} x"), false },
        { "single quotes", R("{'a': 1}"), false },
        { "trailing comma", R("{\"a\": 1,}"), false },
        { "comment", R("{\"a\": 1 /* x */}"), false },
        { "NaN", R("{\"a\": NaN}"), false },
        { "Infinity", R("{\"a\": Infinity}"), false },
        { "leading zero", R("{\"a\": 01}"), false },
        { "raw newline in a string", R("{\"a\": \"x\ny\"}"), false },
        { "raw NUL in a string", R("{\"a\": \"x\0y\"}"), false },
        { "invalid UTF-8", R("{\"a\": \"\xc3\x28\"}"), false },
        { "truncated", R("{\"a\": "), false },
};

static void test_outputs(void) {
        for (size_t i = 0; i < ELEMENTSOF(outputs); i++) {
                size_t end = 0;
                char msg[256];
                int r = body_check_runner_output(outputs[i].input, outputs[i].len, &end, msg, sizeof(msg));

                CHECK((r == 0) == outputs[i].ok, "%s: %s", outputs[i].name, r == 0 ? "accepted" : msg);
                if (r == 0 && outputs[i].ok)
                        CHECK(end == outputs[i].end, "%s: end %zu", outputs[i].name, end);
        }
}

/* The early answer's watch, fed at every split point and byte by byte: the verdict never depends on how the
 * runner's writes were cut, a UTF-8 character or an escape split in two included. */
static const struct {
        const char *name;
        const char *input;
        size_t len;
        bool complete, failed;
        size_t end;
} watched[] = {
        { "object", R("{\"stdout\":\"a\"}"), true, false, 14 },
        { "UTF-8 everywhere", R("{\"stdout\":\"h\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80\"}"), true, false,
                25 },
        { "escapes", R("{\"s\":\"\\u00e9\\\"\\\\\"}"), true, false, 18 },
        { "then more output", R("{\"a\":1}\nlater"), true, false, 7 },
        { "leading whitespace", R("  {}"), true, false, 4 },
        { "not yet whole", R("{\"stdout\":\"\xc3"), false, false, 0 },
        { "an array", R("[{}]"), false, true, 0 },
        { "garbage", R("hello"), false, true, 0 },
        { "invalid UTF-8", R("{\"s\":\"\xc3\x28\"}"), false, true, 0 },
        { "raw control", R("{\"s\":\"\x01\"}"), false, true, 0 },
};

static void check_watch(const char *name, const struct body_watch *w, bool complete, bool failed, size_t end,
        const char *how) {
        CHECK(w->complete == complete && w->failed == failed, "%s %s: complete %d failed %d", name, how,
                w->complete, w->failed);
        if (complete)
                CHECK(w->end == end, "%s %s: end %zu", name, how, w->end);
}

static void test_watch(void) {
        for (size_t i = 0; i < ELEMENTSOF(watched); i++) {
                const char *in = watched[i].input;
                size_t len = watched[i].len;
                struct body_watch w;

                body_watch_init(&w);
                body_watch_feed(&w, in, len);
                check_watch(watched[i].name, &w, watched[i].complete, watched[i].failed, watched[i].end,
                        "whole");
                for (size_t cut = 0; cut <= len; cut++) {
                        body_watch_init(&w);
                        body_watch_feed(&w, in, cut);
                        body_watch_feed(&w, in, len);
                        check_watch(watched[i].name, &w, watched[i].complete, watched[i].failed,
                                watched[i].end, "split");
                }
                body_watch_init(&w);
                for (size_t n = 1; n <= len; n++)
                        body_watch_feed(&w, in, n);
                check_watch(watched[i].name, &w, watched[i].complete, watched[i].failed, watched[i].end,
                        "bytewise");
        }
}

int main(void) {
        test_requests();
        test_messages();
        test_nesting();
        test_outputs();
        test_watch();
        return tap_finish("test-body");
}
