/* SPDX-License-Identifier: MIT */
/* http: an incremental parser for HTTP/1.x requests; bytes in, struct out, no I/O. */
#include <errno.h>
#include <string.h>

#include "http.h"

#define METHOD_MAX 16

/*
 * One state per byte position: each byte is decided on from the bytes before
 * it alone, so where the input is split cannot change the answer. Only the
 * bodies are taken in runs rather than a byte at a time.
 */
enum {
        STATE_START,    /* before the request line: empty lines are skipped */
        STATE_START_LF, /* CR of an empty line seen */
        STATE_METHOD,
        STATE_TARGET_START, /* after the first space: the target must start with '/' */
        STATE_TARGET,
        STATE_VERSION, /* "HTTP/d.d" */
        STATE_LINE_LF, /* CR ending the request line seen */
        STATE_FIELD_START,
        STATE_FIELD_NAME,
        STATE_FIELD_OWS, /* after the colon */
        STATE_FIELD_VALUE,
        STATE_FIELD_LF,
        STATE_END_LF, /* CR of the empty line ending the head or the trailers seen */
        STATE_BODY,   /* Content-Length bytes */
        STATE_CHUNK_SIZE,
        STATE_CHUNK_BWS, /* whitespace after the size, before an extension */
        STATE_CHUNK_EXT,
        STATE_CHUNK_LF,
        STATE_CHUNK_DATA,
        STATE_CHUNK_DATA_CR,
        STATE_CHUNK_DATA_LF,
        STATE_DONE,
        STATE_FAILED,
};

static bool is_tchar(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A visible byte of a field value (obs-text included), or of a target or chunk extension. */
static bool is_vchar(unsigned char c) {
        return c > 0x20 && c != 0x7f;
}

static bool is_ws(unsigned char c) {
        return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c) {
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int hex_value(unsigned char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = lower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
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

static struct http_slice trim(struct http_slice s) {
        while (s.len > 0 && is_ws((unsigned char)s.ptr[0])) {
                s.ptr++;
                s.len--;
        }
        while (s.len > 0 && is_ws((unsigned char)s.ptr[s.len - 1]))
                s.len--;
        return s;
}

/* The next element of a comma-separated list, trimmed; empty elements are kept, the caller skips them. */
static bool list_next(struct http_slice *list, struct http_slice *ret) {
        const char *comma;
        size_t n;

        if (!list->ptr)
                return false;
        comma = memchr(list->ptr, ',', list->len);
        n = comma ? (size_t)(comma - list->ptr) : list->len;
        *ret = trim((struct http_slice){ list->ptr, n });
        if (comma)
                *list = (struct http_slice){ comma + 1, list->len - n - 1 };
        else
                *list = (struct http_slice){ NULL, 0 };
        return true;
}

static int parse_content_length(struct http_slice v, size_t max, size_t *ret) {
        size_t n = 0;

        if (v.len == 0)
                return -EBADMSG;
        for (size_t i = 0; i < v.len; i++) {
                size_t d = (size_t)(v.ptr[i] - '0');

                if (v.ptr[i] < '0' || v.ptr[i] > '9')
                        return -EBADMSG;
                /* Past the cap is refused whatever follows; this also keeps n from overflowing. */
                if (n > max / 10 || d > max - n * 10)
                        return -EFBIG;
                n = n * 10 + d;
        }
        *ret = n;
        return 0;
}

/* Transfer-Encoding lines add up to one list of codings, applied in order. */
static void parse_transfer_encoding(struct http_parser *p, struct http_slice v) {
        struct http_slice e;

        p->te_seen = true;
        while (list_next(&v, &e)) {
                if (e.len == 0)
                        continue;
                p->te_chunked_last = http_slice_caseeq(e, "chunked");
                if (p->te_chunked_last)
                        p->te_chunked++;
                else
                        p->te_unsupported = true;
        }
}

static void parse_connection(struct http_parser *p, struct http_slice v) {
        struct http_slice e;

        while (list_next(&v, &e)) {
                if (http_slice_caseeq(e, "close"))
                        p->close_seen = true;
                else if (http_slice_caseeq(e, "keep-alive"))
                        p->keep_alive_seen = true;
        }
}

/* A complete header field of the head; trailer fields are only checked for syntax. */
static int parser_field(struct http_parser *p, const char *buf) {
        struct http_slice name = { buf + p->name_start, p->name_end - p->name_start };
        struct http_slice value = { buf + p->value_start, p->value_end - p->value_start };
        struct http_span span = { p->value_start, p->value_end - p->value_start, true };

        /* One pass to tell the name, one or two over the value. */
        p->examined += name.len + value.len;
        if (http_slice_caseeq(name, "Content-Length")) {
                if (p->length_seen)
                        return -EBADMSG;
                p->length_seen = true;
                return parse_content_length(value, p->limits.max_body, &p->content_length);
        }
        if (http_slice_caseeq(name, "Transfer-Encoding"))
                parse_transfer_encoding(p, value);
        else if (http_slice_caseeq(name, "X-Access-Token")) {
                if (p->token.set)
                        return -EBADMSG;
                p->token = span;
        } else if (http_slice_caseeq(name, "Expect"))
                p->expect_seen = p->expect_seen || http_slice_caseeq(value, "100-continue");
        else if (http_slice_caseeq(name, "Connection"))
                parse_connection(p, value);
        else if (http_slice_caseeq(name, "X-Forwarded-For"))
                p->forwarded_for = span;
        else if (http_slice_caseeq(name, "X-Request-Id"))
                p->request_id = span;
        return 0;
}

/* The empty line after the headers has arrived: decide how the body is framed. */
static int parser_head_end(struct http_parser *p, size_t head_len) {
        p->head_len = head_len;
        if (p->te_seen) {
                /* RFC 9112 6.1 and 6.3: HTTP/1.0 framing is faulty, the length unreliable. */
                if (p->version_minor == 0 || p->length_seen || p->te_chunked != 1 || !p->te_chunked_last)
                        return -EBADMSG;
                if (p->te_unsupported)
                        return -EOPNOTSUPP;
                p->out = head_len;
                p->section = 0;
                p->state = STATE_CHUNK_SIZE;
        } else if (p->content_length > 0) {
                p->remaining = p->content_length;
                p->state = STATE_BODY;
        } else
                p->state = STATE_DONE;
        return 0;
}

/* A hex digit of a chunk size: refused as soon as the body would pass max_body, which also bars overflow. */
static int parser_chunk_digit(struct http_parser *p, int d) {
        uint64_t room = (uint64_t)(p->limits.max_body - (p->out - p->head_len));

        if (p->chunk_size > room / 16)
                return -EFBIG;
        p->chunk_size *= 16;
        if ((uint64_t)d > room - p->chunk_size)
                return -EFBIG;
        p->chunk_size += (uint64_t)d;
        p->chunk_digits = true;
        return 0;
}

static bool in_request_line(int state) {
        return state >= STATE_METHOD && state <= STATE_VERSION;
}

static bool in_head_or_trailers(int state) {
        return state <= STATE_END_LF;
}

static bool in_chunk_line(int state) {
        return state >= STATE_CHUNK_SIZE && state <= STATE_CHUNK_EXT;
}

static int parser_version_byte(struct http_parser *p, unsigned char c, size_t i) {
        size_t k = i - p->version_start;

        if (k < 5)
                return c == (unsigned char)"HTTP/"[k] ? 0 : -EBADMSG;
        if (k == 6)
                return c == '.' ? 0 : -EBADMSG;
        if (k == 5 || k == 7) {
                if (c < '0' || c > '9')
                        return -EBADMSG;
                if (k == 5)
                        p->version_major = c - '0';
                else
                        p->version_minor = c - '0';
                return 0;
        }
        if (c != '\r')
                return -EBADMSG;
        if (p->version_major != 1 || p->version_minor > 1)
                return -EPROTONOSUPPORT;
        p->state = STATE_LINE_LF;
        return 0;
}

/* One byte of the head, the chunk framing or the trailers, at buf[i]. */
static int parser_byte(struct http_parser *p, const char *buf, size_t i) {
        unsigned char c = (unsigned char)buf[i];
        int d;

        p->examined++;
        if (in_head_or_trailers(p->state) && p->section++ >= p->limits.max_head)
                return -E2BIG;
        /* Bad bytes within the limit are 400; a line still going past it is 414, whether it ended or not. */
        if (in_request_line(p->state) && i - p->line_start >= p->limits.max_request_line && c != '\r')
                return -ENAMETOOLONG;
        if (in_chunk_line(p->state) && p->section++ >= HTTP_MAX_CHUNK_LINE && c != '\r')
                return -EBADMSG;

        switch (p->state) {
        case STATE_START:
                if (c == '\r' && p->lines < HTTP_MAX_EMPTY_LINES) {
                        p->state = STATE_START_LF;
                        return 0;
                }
                if (c < 'A' || c > 'Z')
                        return -EBADMSG;
                p->line_start = i;
                p->state = STATE_METHOD;
                return 0;
        case STATE_START_LF:
                if (c != '\n')
                        return -EBADMSG;
                p->lines++;
                p->state = STATE_START;
                return 0;
        case STATE_METHOD:
                if (c == ' ') {
                        p->method_end = i;
                        p->state = STATE_TARGET_START;
                        return 0;
                }
                if (c < 'A' || c > 'Z' || i - p->line_start >= METHOD_MAX)
                        return -EBADMSG;
                return 0;
        case STATE_TARGET_START:
                if (c != '/')
                        return -EBADMSG;
                p->target_start = i;
                p->query_start = 0;
                p->state = STATE_TARGET;
                return 0;
        case STATE_TARGET:
                if (c == ' ') {
                        p->target_end = i;
                        p->version_start = i + 1;
                        p->state = STATE_VERSION;
                        return 0;
                }
                if (!is_vchar(c) || c >= 0x80)
                        return -EBADMSG;
                if (c == '?' && p->query_start == 0)
                        p->query_start = i;
                return 0;
        case STATE_VERSION:
                return parser_version_byte(p, c, i);
        case STATE_LINE_LF:
                if (c != '\n')
                        return -EBADMSG;
                p->line_done = true;
                p->lines = 0;
                p->state = STATE_FIELD_START;
                return 0;
        case STATE_FIELD_START:
                if (c == '\r') {
                        p->state = STATE_END_LF;
                        return 0;
                }
                /* Whitespace here is obs-fold, or before the first field (RFC 9112 2.2); both refused. */
                if (!is_tchar(c))
                        return -EBADMSG;
                if (p->lines++ >= p->limits.max_headers)
                        return -E2BIG;
                p->name_start = i;
                p->state = STATE_FIELD_NAME;
                return 0;
        case STATE_FIELD_NAME:
                if (c == ':') {
                        p->name_end = i;
                        p->state = STATE_FIELD_OWS;
                        return 0;
                }
                return is_tchar(c) ? 0 : -EBADMSG;
        case STATE_FIELD_OWS:
                if (is_ws(c))
                        return 0;
                p->value_start = p->value_end = i;
                if (c == '\r') {
                        p->state = STATE_FIELD_LF;
                        return 0;
                }
                if (!is_vchar(c))
                        return -EBADMSG;
                p->value_end = i + 1;
                p->state = STATE_FIELD_VALUE;
                return 0;
        case STATE_FIELD_VALUE:
                if (c == '\r') {
                        p->state = STATE_FIELD_LF;
                        return 0;
                }
                if (is_ws(c))
                        return 0;
                if (!is_vchar(c))
                        return -EBADMSG;
                p->value_end = i + 1;
                return 0;
        case STATE_FIELD_LF:
                if (c != '\n')
                        return -EBADMSG;
                p->state = STATE_FIELD_START;
                return p->trailers ? 0 : parser_field(p, buf);
        case STATE_END_LF:
                if (c != '\n')
                        return -EBADMSG;
                if (p->trailers) {
                        p->state = STATE_DONE;
                        return 0;
                }
                return parser_head_end(p, i + 1);
        case STATE_CHUNK_SIZE:
                d = hex_value(c);
                if (d >= 0)
                        return parser_chunk_digit(p, d);
                if (!p->chunk_digits)
                        return -EBADMSG;
                if (c == '\r')
                        p->state = STATE_CHUNK_LF;
                else if (c == ';')
                        p->state = STATE_CHUNK_EXT;
                else if (is_ws(c))
                        p->state = STATE_CHUNK_BWS;
                else
                        return -EBADMSG;
                return 0;
        case STATE_CHUNK_BWS:
                if (c == ';')
                        p->state = STATE_CHUNK_EXT;
                else if (!is_ws(c))
                        return -EBADMSG;
                return 0;
        case STATE_CHUNK_EXT:
                if (c == '\r')
                        p->state = STATE_CHUNK_LF;
                else if (!is_vchar(c) && !is_ws(c))
                        return -EBADMSG;
                return 0;
        case STATE_CHUNK_LF:
                if (c != '\n')
                        return -EBADMSG;
                if (p->chunk_size == 0) {
                        p->trailers = true;
                        p->section = 0;
                        p->lines = 0;
                        p->state = STATE_FIELD_START;
                        return 0;
                }
                p->remaining = (size_t)p->chunk_size;
                p->state = STATE_CHUNK_DATA;
                return 0;
        case STATE_CHUNK_DATA_CR:
                if (c != '\r')
                        return -EBADMSG;
                p->state = STATE_CHUNK_DATA_LF;
                return 0;
        case STATE_CHUNK_DATA_LF:
                if (c != '\n')
                        return -EBADMSG;
                p->chunk_size = 0;
                p->chunk_digits = false;
                p->section = 0;
                p->state = STATE_CHUNK_SIZE;
                return 0;
        default:
                return -EINVAL;
        }
}

static struct http_slice span_slice(const char *buf, struct http_span s) {
        return s.set ? (struct http_slice){ buf + s.off, s.len } : (struct http_slice){ NULL, 0 };
}

static void parser_result(const struct http_parser *p, const char *buf, struct http_request *ret) {
        size_t target_end = p->query_start > 0 ? p->query_start : p->target_end;
        size_t body_len = p->te_seen ? p->out - p->head_len : p->content_length;

        *ret = (struct http_request){
                .method = { buf + p->line_start, p->method_end - p->line_start },
                .path = { buf + p->target_start, target_end - p->target_start },
                .query = p->query_start > 0 ? (struct http_slice){ buf + p->query_start + 1,
                                                      p->target_end - p->query_start - 1 }
                                            : (struct http_slice){ buf + p->target_end, 0 },
                .version_minor = p->version_minor,
                .has_token = p->token.set,
                .token = span_slice(buf, p->token),
                .forwarded_for = span_slice(buf, p->forwarded_for),
                .request_id = span_slice(buf, p->request_id),
                .expect_continue = http_parser_expect_continue(p),
                .keep_alive = !p->close_seen && (p->version_minor == 1 || p->keep_alive_seen),
                .chunked = p->te_seen,
                .head_len = p->head_len,
                .content_length = body_len,
                .body = { buf + p->head_len, body_len },
                .consumed = p->consumed,
        };
}

int http_parser_request_line(const struct http_parser *p, const char *buf, struct http_slice *ret_method,
        struct http_slice *ret_path) {
        size_t target_end = p->query_start > 0 ? p->query_start : p->target_end;

        if (!p->line_done)
                return -EAGAIN;
        *ret_method = (struct http_slice){ buf + p->line_start, p->method_end - p->line_start };
        *ret_path = (struct http_slice){ buf + p->target_start, target_end - p->target_start };
        return 0;
}

void http_parser_init(struct http_parser *p, const struct http_limits *limits) {
        *p = (struct http_parser){ .limits = *limits, .state = STATE_START };
}

int http_parser_feed(struct http_parser *p, char *buf, size_t *len, struct http_request *ret) {
        size_t in = p->pos, end = *len;
        int r;

        if (p->state == STATE_FAILED)
                return p->error;
        if (end < p->pos)
                return -EINVAL;
        if (p->state == STATE_DONE) {
                parser_result(p, buf, ret);
                return 0;
        }

        while (in < end && p->state != STATE_DONE) {
                size_t n = end - in;

                if (p->state == STATE_BODY || p->state == STATE_CHUNK_DATA) {
                        if (n > p->remaining)
                                n = p->remaining;
                        if (p->state == STATE_CHUNK_DATA) {
                                memmove(buf + p->out, buf + in, n);
                                p->out += n;
                        }
                        in += n;
                        p->remaining -= n;
                        if (p->remaining == 0)
                                p->state = p->state == STATE_BODY ? STATE_DONE : STATE_CHUNK_DATA_CR;
                        continue;
                }
                r = parser_byte(p, buf, in);
                in++;
                if (r < 0) {
                        p->state = STATE_FAILED;
                        p->error = r;
                        return r;
                }
        }
        if (p->state != STATE_DONE) {
                /* The chunk framing read so far is dropped: only the head and the decoded body stay. */
                p->pos = p->te_seen && p->head_len > 0 ? p->out : in;
                *len = p->pos;
                return -EAGAIN;
        }
        if (p->te_seen) {
                /* And the rest of it, so the next request starts right after the body. */
                memmove(buf + p->out, buf + in, end - in);
                *len = p->out + (end - in);
                in = p->out;
        }
        p->pos = p->consumed = in;
        parser_result(p, buf, ret);
        return 0;
}

bool http_parser_head_complete(const struct http_parser *p) {
        return p->head_len > 0 && p->state != STATE_FAILED;
}

bool http_parser_expect_continue(const struct http_parser *p) {
        /* RFC 9110 10.1.1: an HTTP/1.0 client's expectation is ignored. */
        return http_parser_head_complete(p) && p->expect_seen && p->version_minor == 1;
}

size_t http_parser_examined(const struct http_parser *p) {
        return p->examined;
}

int http_status_from_error(int error) {
        switch (error) {
        case -EFBIG:
                return 413;
        case -ENAMETOOLONG:
                return 414;
        case -E2BIG:
                return 431;
        case -EOPNOTSUPP:
                return 501;
        case -EPROTONOSUPPORT:
                return 505;
        default:
                return 400;
        }
}
