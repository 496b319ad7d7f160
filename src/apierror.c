/* SPDX-License-Identifier: MIT */
/* apierror: the contract's error codes, their HTTP statuses and JSON bodies. */
#include <errno.h>

#include "apierror.h"
#include "util.h"

static const struct {
        const char *code;
        int status;
} table[_APIERROR_MAX] = {
        [APIERROR_ACCESS_TOKEN] = { "access_token", 401 },
        [APIERROR_CONFIG] = { "config", 500 },
        [APIERROR_ROUTE_NOT_FOUND] = { "route.not_found", 404 },
        [APIERROR_METHOD_NOT_ALLOWED] = { "route.method_not_allowed", 405 },
        [APIERROR_REQUEST_HTTP] = { "request.http", 400 },
        [APIERROR_REQUEST_TIMEOUT] = { "request.timeout", 408 },
        [APIERROR_REQUEST_TRANSFER_ENCODING] = { "request.transfer_encoding", 501 },
        [APIERROR_REQUEST_TOO_LARGE] = { "request.too_large", 413 },
        [APIERROR_REQUEST_URI_TOO_LONG] = { "request.uri_too_long", 414 },
        [APIERROR_REQUEST_HEADERS_TOO_LARGE] = { "request.headers_too_large", 431 },
        [APIERROR_REQUEST_HTTP_VERSION] = { "request.http_version", 505 },
        [APIERROR_REQUEST_JSON] = { "request.json", 400 },
        [APIERROR_REQUEST_IMAGE] = { "request.image", 400 },
        [APIERROR_REQUEST_IMAGE_NOT_ALLOWED] = { "request.image.not_allowed", 403 },
        [APIERROR_REQUEST_PAYLOAD] = { "request.payload", 400 },
        [APIERROR_REQUEST_LIMITS] = { "request.limits", 400 },
        [APIERROR_DOCKER_UNIXSOCKET] = { "docker.unixsocket", 500 },
        [APIERROR_DOCKER_VERSION] = { "docker.version", 500 },
        [APIERROR_DOCKER_BUSY] = { "docker.busy", 503 },
        [APIERROR_DOCKER_LIMITS] = { "docker.limits", 500 },
        [APIERROR_DOCKER_RUNTIME] = { "docker.runtime", 500 },
        [APIERROR_DOCKER_CONTAINER_CREATE] = { "docker.container.create", 400 },
        [APIERROR_DOCKER_CONTAINER_START] = { "docker.container.start", 500 },
        [APIERROR_DOCKER_CONTAINER_ATTACH] = { "docker.container.attach", 500 },
        [APIERROR_DOCKER_PAYLOAD_SERIALIZE] = { "docker.container.stream.payload.serialize", 400 },
        [APIERROR_LIMITS_EXECUTION_TIME] = { "limits.execution_time", 400 },
        [APIERROR_LIMITS_READ_SIZE] = { "limits.read.size", 400 },
        [APIERROR_LIMITS_MEMORY] = { "limits.memory", 400 },
        [APIERROR_LIMITS_CONCURRENCY] = { "limits.concurrency", 429 },
        [APIERROR_DOCKER_STREAM_READ] = { "docker.container.stream.read", 500 },
        [APIERROR_CODERUNNER_STDIN] = { "coderunner.stdin", 500 },
        [APIERROR_CODERUNNER_STDERR] = { "coderunner.stderr", 500 },
        [APIERROR_CODERUNNER_STDOUT_DECODE] = { "coderunner.stdout.decode", 500 },
        [APIERROR_INTERNAL] = { "internal", 500 },
};

const char *apierror_code(enum apierror e) {
        if ((unsigned)e >= _APIERROR_MAX)
                return NULL;
        return table[e].code;
}

int apierror_status(enum apierror e) {
        if ((unsigned)e >= _APIERROR_MAX)
                return 500;
        return table[e].status;
}

enum apierror apierror_from_http(int error) {
        switch (error) {
        case -EOPNOTSUPP:
                return APIERROR_REQUEST_TRANSFER_ENCODING;
        case -EFBIG:
                return APIERROR_REQUEST_TOO_LARGE;
        case -ENAMETOOLONG:
                return APIERROR_REQUEST_URI_TOO_LONG;
        case -E2BIG:
                return APIERROR_REQUEST_HEADERS_TOO_LARGE;
        case -EPROTONOSUPPORT:
                return APIERROR_REQUEST_HTTP_VERSION;
        case -ETIMEDOUT:
                return APIERROR_REQUEST_TIMEOUT;
        default:
                return APIERROR_REQUEST_HTTP;
        }
}
