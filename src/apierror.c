/* SPDX-License-Identifier: MIT */
/* apierror: the contract's error codes, their HTTP statuses and JSON bodies. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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
        [APIERROR_DOCKER_CONTAINER_CREATE] = { "docker.container.create", 400 },
        [APIERROR_DOCKER_CONTAINER_START] = { "docker.container.start", 500 },
        [APIERROR_DOCKER_CONTAINER_ATTACH] = { "docker.container.attach", 500 },
        [APIERROR_DOCKER_PAYLOAD_SERIALIZE] = { "docker.container.stream.payload.serialize", 400 },
        [APIERROR_LIMITS_EXECUTION_TIME] = { "limits.execution_time", 400 },
        [APIERROR_LIMITS_READ_SIZE] = { "limits.read.size", 400 },
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

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_sequence_len(const unsigned char *s, size_t n) {
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not valid. */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
                (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* Copy s, replacing each invalid byte with U+FFFD so json-c emits valid UTF-8. */
static char *utf8_sanitize(const char *s, size_t n, size_t *ret_len) {
        static const char replacement[] = "\xef\xbf\xbd";
        char *out, *p;

        if (n > (SIZE_MAX - 1) / 3)
                return NULL;
        out = malloc(n * 3 + 1);
        if (!out)
                return NULL;
        p = out;
        for (size_t i = 0; i < n;) {
                size_t len = utf8_sequence_len((const unsigned char *)s + i, n - i);

                if (len == 0) {
                        memcpy(p, replacement, 3);
                        p += 3;
                        i++;
                } else {
                        memcpy(p, s + i, len);
                        p += len;
                        i += len;
                }
        }
        *p = '\0';
        *ret_len = (size_t)(p - out);
        return out;
}

int apierror_json(enum apierror e, const char *message, size_t message_len, char **ret, size_t *ret_len) {
        _cleanup_free_ char *clean = NULL;
        json_object *o = NULL;
        const char *s;
        size_t len, clean_len;
        char *copy;
        int r = -ENOMEM;

        clean = utf8_sanitize(message ? message : "", message ? message_len : 0, &clean_len);
        if (!clean)
                return -ENOMEM;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "error", json_object_new_string(apierror_code(e) ?: "internal")) < 0 ||
                json_object_object_add(o, "message", json_object_new_string_len(clean, (int)clean_len)) < 0)
                goto finish;

        s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                goto finish;
        copy = malloc(len + 1);
        if (!copy)
                goto finish;
        memcpy(copy, s, len + 1);
        *ret = copy;
        *ret_len = len;
        r = 0;
finish:
        json_object_put(o);
        return r;
}
