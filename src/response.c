/* SPDX-License-Identifier: MIT */
/* response: the head of an HTTP response, formatted. */
#include <errno.h>
#include <stdio.h>
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
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 503:
                return "Service Unavailable";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return "Unknown";
        }
}

int response_head(const struct response_head *h, char *buf, size_t size) {
        char keep[64], retry[48];
        int n;

        if (h->keep_alive)
                snprintf(keep, sizeof(keep), "Connection: keep-alive\r\nKeep-Alive: timeout=%u\r\n",
                        h->keep_alive_timeout);
        else
                snprintf(keep, sizeof(keep), "Connection: close\r\n");
        retry[0] = '\0';
        if (h->retry_after > 0)
                snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", h->retry_after);
        n = snprintf(buf, size,
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "%s%s%s%s%s%.*s"
                "\r\n",
                h->status, response_reason(h->status), h->content_type ?: "application/json",
                h->content_length, keep, retry, h->request_id ? "X-Request-Id: " : "", h->request_id ?: "",
                h->request_id ? "\r\n" : "", (int)(h->extra ? h->extra_len : 0), h->extra ?: "");
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return n;
}
