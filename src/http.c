/* SPDX-License-Identifier: MIT */
/* http: a pure parser for one HTTP/1.x request; bytes in, struct out, no I/O. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

#define METHOD_MAX 16

static bool is_tchar(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static unsigned char lower(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool http_slice_eq(struct http_slice s, const char *str) {
        return s.len == strlen(str) && memcmp(s.ptr, str, s.len) == 0;
}

bool http_slice_caseeq(struct http_slice s, const char *str) {
        if (s.len != strlen(str))
                return false;
        for (size_t i = 0; i < s.len; i++)
                if (lower((unsigned char)s.ptr[i]) != lower((unsigned char)str[i]))
                        return false;
        return true;
}

/* Find the CRLF ending the line at buf[start..len): its offset, or -EAGAIN; a lone CR or LF is -EBADMSG. */
static long find_crlf(const char *buf, size_t start, size_t len) {
        for (size_t i = start; i < len; i++) {
                if (buf[i] == '\n')
                        return -EBADMSG;
                if (buf[i] == '\r') {
                        if (i + 1 == len)
                                return -EAGAIN;
                        if (buf[i + 1] != '\n')
                                return -EBADMSG;
                        return (long)i;
                }
        }
        return -EAGAIN;
}

/* Check what is there of the request line so far; bad bytes are refused before the line ends. */
static int check_request_line_prefix(const char *buf, size_t len) {
        size_t i = 0;

        while (i < len && buf[i] != ' ') {
                if (buf[i] < 'A' || buf[i] > 'Z' || i >= METHOD_MAX)
                        return -EBADMSG;
                i++;
        }
        if (i == len)
                return 0;
        if (i == 0)
                return -EBADMSG;
        i++;
        if (i < len && buf[i] != '/')
                return -EBADMSG;
        for (; i < len && buf[i] != ' '; i++)
                if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
                        return -EBADMSG;
        return 0;
}

static int parse_request_line(const char *buf, size_t len, struct http_request *ret) {
        const char *sp1, *sp2, *q, *v;
        size_t vlen;

        sp1 = memchr(buf, ' ', len);
        if (!sp1 || sp1 == buf || sp1 - buf > METHOD_MAX)
                return -EBADMSG;
        for (const char *p = buf; p < sp1; p++)
                if (*p < 'A' || *p > 'Z')
                        return -EBADMSG;
        sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - buf));
        if (!sp2 || sp2 == sp1 + 1 || sp1[1] != '/')
                return -EBADMSG;
        for (const char *p = sp1 + 1; p < sp2; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return -EBADMSG;

        v = sp2 + 1;
        vlen = len - (size_t)(v - buf);
        if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
                v[7] < '0' || v[7] > '9')
                return -EBADMSG;
        if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
                return -EPROTONOSUPPORT;

        ret->method = (struct http_slice){ buf, (size_t)(sp1 - buf) };
        q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
        if (q) {
                ret->path = (struct http_slice){ sp1 + 1, (size_t)(q - sp1 - 1) };
                ret->query = (struct http_slice){ q + 1, (size_t)(sp2 - q - 1) };
        } else {
                ret->path = (struct http_slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
                ret->query = (struct http_slice){ sp2, 0 };
        }
        ret->version_minor = v[7] - '0';
        return 0;
}

static int parse_content_length(struct http_slice v, size_t max, size_t *ret) {
        uint64_t n = 0;

        if (v.len == 0)
                return -EBADMSG;
        for (size_t i = 0; i < v.len; i++) {
                if (v.ptr[i] < '0' || v.ptr[i] > '9')
                        return -EBADMSG;
                n = n * 10 + (uint64_t)(v.ptr[i] - '0');
                /* Past the cap is refused whatever follows; this also keeps n from overflowing. */
                if (n > max)
                        return -EFBIG;
        }
        *ret = (size_t)n;
        return 0;
}

static int parse_header(const char *line, size_t len, struct http_request *ret,
        const struct http_limits *limits, bool *seen_length) {
        const char *colon = memchr(line, ':', len);
        struct http_slice name, value;
        size_t a, b;
        int r;

        if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
                return -EBADMSG; /* obs-fold */
        if (!colon || colon == line)
                return -EBADMSG;
        for (const char *p = line; p < colon; p++)
                if (!is_tchar((unsigned char)*p))
                        return -EBADMSG;
        name = (struct http_slice){ line, (size_t)(colon - line) };

        a = (size_t)(colon + 1 - line);
        b = len;
        while (a < b && (line[a] == ' ' || line[a] == '\t'))
                a++;
        while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
                b--;
        for (size_t i = a; i < b; i++) {
                unsigned char c = (unsigned char)line[i];

                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return -EBADMSG;
        }
        value = (struct http_slice){ line + a, b - a };

        if (http_slice_caseeq(name, "Content-Length")) {
                if (*seen_length)
                        return -EBADMSG;
                *seen_length = true;
                r = parse_content_length(value, limits->max_body, &ret->content_length);
                if (r < 0)
                        return r;
        } else if (http_slice_caseeq(name, "Transfer-Encoding"))
                return -ENOTSUP;
        else if (http_slice_caseeq(name, "X-Access-Token")) {
                if (ret->has_token)
                        return -EBADMSG;
                ret->has_token = true;
                ret->token = value;
        } else if (http_slice_caseeq(name, "Expect")) {
                if (http_slice_caseeq(value, "100-continue"))
                        ret->expect_continue = true;
        }
        return 0;
}

int http_request_parse(
        const char *buf, size_t len, const struct http_limits *limits, struct http_request *ret) {
        struct http_request req = { 0 };
        bool seen_length = false;
        unsigned headers = 0;
        size_t pos;
        long end;
        int r;

        *ret = req;
        end = find_crlf(buf, 0, len);
        if (end == -EBADMSG)
                return -EBADMSG;
        if (end == -EAGAIN) {
                r = check_request_line_prefix(buf, len);
                if (r < 0)
                        return r;
                return len > limits->max_request_line ? -ENAMETOOLONG : -EAGAIN;
        }
        if ((size_t)end > limits->max_request_line)
                return -ENAMETOOLONG;
        r = parse_request_line(buf, (size_t)end, &req);
        if (r < 0)
                return r;

        pos = (size_t)end + 2;
        for (;;) {
                end = find_crlf(buf, pos, len);
                if (end == -EBADMSG)
                        return -EBADMSG;
                if (end == -EAGAIN) {
                        if (len > limits->max_head)
                                return -E2BIG;
                        if (pos < len && (buf[pos] == ' ' || buf[pos] == '\t'))
                                return -EBADMSG;
                        return -EAGAIN;
                }
                if ((size_t)end == pos)
                        break;
                if (++headers > limits->max_headers)
                        return -E2BIG;
                r = parse_header(buf + pos, (size_t)end - pos, &req, limits, &seen_length);
                if (r < 0)
                        return r;
                pos = (size_t)end + 2;
        }
        req.head_len = (size_t)end + 2;
        if (req.head_len > limits->max_head)
                return -E2BIG;

        if (len - req.head_len < req.content_length) {
                *ret = req;
                return -EAGAIN;
        }
        req.body = (struct http_slice){ buf + req.head_len, req.content_length };
        *ret = req;
        return 0;
}

int http_status_from_error(int error) {
        switch (error) {
        case -ENOTSUP:
                return 411;
        case -EFBIG:
                return 413;
        case -ENAMETOOLONG:
                return 414;
        case -E2BIG:
                return 431;
        case -EPROTONOSUPPORT:
                return 505;
        default:
                return 400;
        }
}
