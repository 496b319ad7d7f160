/* SPDX-License-Identifier: MIT */
/* apierror: the contract's error codes, their HTTP statuses and JSON bodies. */
#pragma once

#include <stddef.h>

enum apierror {
        APIERROR_ACCESS_TOKEN,
        APIERROR_CONFIG,
        APIERROR_ROUTE_NOT_FOUND,
        APIERROR_METHOD_NOT_ALLOWED,
        APIERROR_REQUEST_HTTP,
        APIERROR_REQUEST_TIMEOUT,
        APIERROR_REQUEST_TRANSFER_ENCODING,
        APIERROR_REQUEST_TOO_LARGE,
        APIERROR_REQUEST_URI_TOO_LONG,
        APIERROR_REQUEST_HEADERS_TOO_LARGE,
        APIERROR_REQUEST_HTTP_VERSION,
        APIERROR_REQUEST_JSON,
        APIERROR_REQUEST_IMAGE,
        APIERROR_REQUEST_IMAGE_NOT_ALLOWED,
        APIERROR_REQUEST_PAYLOAD,
        APIERROR_REQUEST_LIMITS,
        APIERROR_DOCKER_UNIXSOCKET,
        APIERROR_DOCKER_VERSION,
        APIERROR_DOCKER_BUSY,
        APIERROR_DOCKER_LIMITS,
        APIERROR_DOCKER_RUNTIME,
        APIERROR_DOCKER_CONTAINER_CREATE,
        APIERROR_DOCKER_CONTAINER_START,
        APIERROR_DOCKER_CONTAINER_ATTACH,
        APIERROR_DOCKER_PAYLOAD_SERIALIZE,
        APIERROR_LIMITS_EXECUTION_TIME,
        APIERROR_LIMITS_READ_SIZE,
        APIERROR_LIMITS_MEMORY,
        APIERROR_LIMITS_CONCURRENCY,
        APIERROR_DOCKER_STREAM_READ,
        APIERROR_CODERUNNER_STDIN,
        APIERROR_CODERUNNER_STDERR,
        APIERROR_CODERUNNER_STDOUT_DECODE,
        APIERROR_INTERNAL,
        _APIERROR_MAX,
};

/* The wire code, e.g. "docker.container.create"; NULL for an unknown value. */
const char *apierror_code(enum apierror e);

/* The HTTP status the contract gives the error; 500 for an unknown value. */
int apierror_status(enum apierror e);

/* The error for an http_parser_feed() failure. */
enum apierror apierror_from_http(int error);
