/* SPDX-License-Identifier: MIT */
/* response: the bytes of the one HTTP response a handler writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response.h"

const char *response_reason(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 411:
                return "Length Required";
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return "Unknown";
        }
}

int response_format(
        int status, const char *request_id, const char *body, size_t body_len, char **ret, size_t *ret_len) {
        char head[512];
        char *out;
        int n;

        n = snprintf(head, sizeof(head),
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: application/json\r\n"
                "Content-Length: %zu\r\n"
                "Connection: close\r\n"
                "%s%s%s"
                "\r\n",
                status, response_reason(status), body_len, request_id ? "X-Request-Id: " : "",
                request_id ?: "", request_id ? "\r\n" : "");
        if (n < 0 || (size_t)n >= sizeof(head))
                return -ENOMEM;
        out = malloc((size_t)n + body_len);
        if (!out)
                return -ENOMEM;
        memcpy(out, head, (size_t)n);
        memcpy(out + n, body, body_len);
        *ret = out;
        *ret_len = (size_t)n + body_len;
        return 0;
}
