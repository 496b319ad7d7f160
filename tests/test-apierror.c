/* SPDX-License-Identifier: MIT */
/* test-apierror: every error code and its status. */
#include <errno.h>
#include <string.h>

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
        { APIERROR_DOCKER_BUSY, "docker.busy", 503 },
        { APIERROR_DOCKER_LIMITS, "docker.limits", 500 },
        { APIERROR_DOCKER_RUNTIME, "docker.runtime", 500 },
        { APIERROR_LIMITS_CONCURRENCY, "limits.concurrency", 429 },
        { APIERROR_DOCKER_UNIXSOCKET, "docker.unixsocket", 500 },
        { APIERROR_DOCKER_VERSION, "docker.version", 500 },
        { APIERROR_DOCKER_CONTAINER_CREATE, "docker.container.create", 400 },
        { APIERROR_DOCKER_CONTAINER_START, "docker.container.start", 500 },
        { APIERROR_DOCKER_CONTAINER_ATTACH, "docker.container.attach", 500 },
        { APIERROR_DOCKER_PAYLOAD_SERIALIZE, "docker.container.stream.payload.serialize", 400 },
        { APIERROR_LIMITS_EXECUTION_TIME, "limits.execution_time", 400 },
        { APIERROR_LIMITS_READ_SIZE, "limits.read.size", 400 },
        { APIERROR_LIMITS_MEMORY, "limits.memory", 400 },
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

int main(void) {
        test_table();
        return tap_finish("test-apierror");
}
