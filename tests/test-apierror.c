/* SPDX-License-Identifier: MIT */
/* test-apierror: every error code, its status and its JSON body; the create body's limits. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "apierror.h"
#include "tap.h"

static const struct {
        enum apierror e;
        const char *code;
        int status;
} table[] = {
        { APIERROR_ACCESS_TOKEN, "access_token", 401 },
        { APIERROR_CONFIG, "config", 500 },
        { APIERROR_ROUTE_NOT_FOUND, "route.not_found", 404 },
        { APIERROR_METHOD_NOT_ALLOWED, "route.method_not_allowed", 405 },
        { APIERROR_REQUEST_HTTP, "request.http", 400 },
        { APIERROR_REQUEST_TIMEOUT, "request.timeout", 408 },
        { APIERROR_REQUEST_TRANSFER_ENCODING, "request.transfer_encoding", 501 },
        { APIERROR_REQUEST_TOO_LARGE, "request.too_large", 413 },
        { APIERROR_REQUEST_URI_TOO_LONG, "request.uri_too_long", 414 },
        { APIERROR_REQUEST_HEADERS_TOO_LARGE, "request.headers_too_large", 431 },
        { APIERROR_REQUEST_HTTP_VERSION, "request.http_version", 505 },
        { APIERROR_REQUEST_JSON, "request.json", 400 },
        { APIERROR_REQUEST_IMAGE, "request.image", 400 },
        { APIERROR_REQUEST_IMAGE_NOT_ALLOWED, "request.image.not_allowed", 403 },
        { APIERROR_REQUEST_PAYLOAD, "request.payload", 400 },
        { APIERROR_REQUEST_LIMITS, "request.limits", 400 },
        { APIERROR_DOCKER_UNIXSOCKET, "docker.unixsocket", 500 },
        { APIERROR_DOCKER_VERSION, "docker.version", 500 },
        { APIERROR_DOCKER_CONTAINER_CREATE, "docker.container.create", 400 },
        { APIERROR_DOCKER_CONTAINER_START, "docker.container.start", 500 },
        { APIERROR_DOCKER_CONTAINER_ATTACH, "docker.container.attach", 500 },
        { APIERROR_DOCKER_PAYLOAD_SERIALIZE, "docker.container.stream.payload.serialize", 400 },
        { APIERROR_LIMITS_EXECUTION_TIME, "limits.execution_time", 400 },
        { APIERROR_LIMITS_READ_SIZE, "limits.read.size", 400 },
        { APIERROR_DOCKER_STREAM_READ, "docker.container.stream.read", 500 },
        { APIERROR_CODERUNNER_STDIN, "coderunner.stdin", 500 },
        { APIERROR_CODERUNNER_STDERR, "coderunner.stderr", 500 },
        { APIERROR_CODERUNNER_STDOUT_DECODE, "coderunner.stdout.decode", 500 },
        { APIERROR_INTERNAL, "internal", 500 },
};

static const struct {
        int error;
        enum apierror e;
} from_http[] = {
        { -EBADMSG, APIERROR_REQUEST_HTTP },
        { -EOPNOTSUPP, APIERROR_REQUEST_TRANSFER_ENCODING },
        { -EFBIG, APIERROR_REQUEST_TOO_LARGE },
        { -ENAMETOOLONG, APIERROR_REQUEST_URI_TOO_LONG },
        { -E2BIG, APIERROR_REQUEST_HEADERS_TOO_LARGE },
        { -EPROTONOSUPPORT, APIERROR_REQUEST_HTTP_VERSION },
        { -ETIMEDOUT, APIERROR_REQUEST_TIMEOUT },
        { -EIO, APIERROR_REQUEST_HTTP },
};

static const struct {
        const char *name;
        const char *message;
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

static void test_table(void) {
        CHECK(sizeof(table) / sizeof(table[0]) == _APIERROR_MAX, "every error is in the table");
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                CHECK(apierror_code(table[i].e) && strcmp(apierror_code(table[i].e), table[i].code) == 0,
                        "code of %s", table[i].code);
                CHECK(apierror_status(table[i].e) == table[i].status, "status of %s", table[i].code);
        }
        CHECK(apierror_code(_APIERROR_MAX) == NULL, "unknown code");
        CHECK(apierror_status(_APIERROR_MAX) == 500, "unknown status");
        for (size_t i = 0; i < sizeof(from_http) / sizeof(from_http[0]); i++)
                CHECK(apierror_from_http(from_http[i].error) == from_http[i].e, "from http %d",
                        from_http[i].error);
}

static void test_json(void) {
        for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
                char *body = NULL;
                size_t len = 0;
                json_object *o, *v;

                CHECK(apierror_json(APIERROR_CODERUNNER_STDERR, messages[i].message, messages[i].len, &body,
                              &len) == 0,
                        "%s: formatted", messages[i].name);
                o = json_tokener_parse(body);
                CHECK(o && json_object_object_length(o) == 2, "%s: valid JSON with two keys: %s",
                        messages[i].name, body);
                CHECK(o && json_object_object_get_ex(o, "error", &v) &&
                                strcmp(json_object_get_string(v), "coderunner.stderr") == 0,
                        "%s: error code", messages[i].name);
                CHECK(o && json_object_object_get_ex(o, "message", &v) &&
                                strcmp(json_object_get_string(v), messages[i].expect) == 0,
                        "%s: message", messages[i].name);
                CHECK(strlen(body) == len, "%s: length", messages[i].name);
                json_object_put(o);
                free(body);
        }
}

int main(void) {
        test_table();
        test_json();
        return tap_finish("test-apierror");
}
