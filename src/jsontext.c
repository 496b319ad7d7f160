/* SPDX-License-Identifier: MIT */
/* jsontext: a strict RFC 8259 validator over bytes (incremental, allocation-free) and string helpers. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jsontext.h"

/* What the next byte may be. */
enum {
        ST_VALUE,        /* a value: at the start, after ':', after ',' in an array */
        ST_ARRAY_FIRST,  /* after '[': a value or ']' */
        ST_OBJECT_FIRST, /* after '{': a key or '}' */
        ST_KEY,          /* after ',' in an object: a key */
        ST_COLON,        /* after a key */
        ST_AFTER,        /* after a value in an array or object: ',' or the closing bracket */
        ST_TRAILING,     /* after the top-level value: only whitespace */
        ST_STRING,       /* inside a string */
        ST_ESCAPE,       /* after a backslash */
        ST_HEX,          /* inside \uXXXX, aux digits left */
        ST_UTF8,         /* inside a multi-byte character, aux continuation bytes left */
        ST_MINUS,        /* after a number's '-' */
        ST_ZERO,         /* after a number's leading 0 */
        ST_INT,          /* in the integer digits */
        ST_DOT,          /* after the decimal point */
        ST_FRAC,         /* in the fraction digits */
        ST_EXP,          /* after 'e' or 'E' */
        ST_EXP_SIGN,     /* after the exponent's sign */
        ST_EXP_DIGITS,   /* in the exponent digits */
        ST_LITERAL,      /* inside true, false or null, aux the index of the next byte in literals */
};

/* The three literals, each NUL-terminated, at the indices begin_value() starts from. */
static const char literals[] = "true\0false\0null";
#define LITERAL_TRUE  0
#define LITERAL_FALSE 5
#define LITERAL_NULL  11

/* Bytes that stand for themselves inside a string: printable ASCII but the quote and the backslash. */
static const bool string_plain[256] = {
        [0x20 ... 0x21] = true, /* '"' is 0x22 */
        [0x23 ... 0x5b] = true, /* '\\' is 0x5c */
        [0x5d ... 0x7f] = true,
};

static bool is_space(uint8_t c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(uint8_t c) {
        return c >= '0' && c <= '9';
}

static int hex_value(uint8_t c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/*
 * A UTF-8 lead byte: the count of continuation bytes and the range of the first one, which rules out
 * overlong forms, surrogates and code points past U+10FFFF. Returns false for a byte no character starts
 * with.
 */
static bool utf8_lead(uint8_t c, uint8_t *ret_more, uint8_t *ret_lo, uint8_t *ret_hi) {
        uint8_t more, lo = 0x80, hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf)
                more = 1;
        else if (c >= 0xe0 && c <= 0xef) {
                more = 2;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                more = 3;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else
                return false;
        *ret_more = more;
        *ret_lo = lo;
        *ret_hi = hi;
        return true;
}

/* The length of the valid UTF-8 character at s, or 0 if none starts there. */
static size_t utf8_char_len(const uint8_t *s, size_t n) {
        uint8_t more, lo, hi;

        if (s[0] < 0x80)
                return 1;
        if (!utf8_lead(s[0], &more, &lo, &hi) || n <= more)
                return 0;
        for (size_t k = 1; k <= more; k++) {
                if (s[k] < lo || s[k] > hi)
                        return 0;
                lo = 0x80;
                hi = 0xbf;
        }
        return (size_t)more + 1;
}

static bool top_is_object(const struct jsontext *j) {
        unsigned d = j->depth - 1;

        return (j->stack[d / 64] >> (d % 64)) & 1;
}

/* A value just ended: the container goes on, or the whole text is done. */
static void value_done(struct jsontext *j, size_t end) {
        if (j->depth > 0) {
                j->state = ST_AFTER;
                return;
        }
        j->state = ST_TRAILING;
        j->status = JSONTEXT_DONE;
        j->end = end;
}

static bool push(struct jsontext *j, bool object) {
        unsigned d = j->depth;

        if (d >= j->max_depth)
                return false;
        if (object)
                j->stack[d / 64] |= UINT64_C(1) << (d % 64);
        else
                j->stack[d / 64] &= ~(UINT64_C(1) << (d % 64));
        j->depth++;
        return true;
}

/* The first byte of a value, at absolute offset at. Returns NULL, or the error if no value starts with c. */
static const char *begin_value(struct jsontext *j, uint8_t c, size_t at) {
        enum jsontext_type type;

        switch (c) {
        case '{':
        case '[':
                if (!push(j, c == '{'))
                        return "nesting deeper than the maximum depth";
                type = c == '{' ? JSONTEXT_OBJECT : JSONTEXT_ARRAY;
                j->state = c == '{' ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
                break;
        case '"':
                type = JSONTEXT_STRING;
                j->key = false;
                j->state = ST_STRING;
                break;
        case '-':
                type = JSONTEXT_NUMBER;
                j->state = ST_MINUS;
                break;
        case '0':
                type = JSONTEXT_NUMBER;
                j->state = ST_ZERO;
                break;
        case '1' ... '9':
                type = JSONTEXT_NUMBER;
                j->state = ST_INT;
                break;
        case 't':
                type = JSONTEXT_TRUE;
                j->aux = LITERAL_TRUE + 1;
                j->state = ST_LITERAL;
                break;
        case 'f':
                type = JSONTEXT_FALSE;
                j->aux = LITERAL_FALSE + 1;
                j->state = ST_LITERAL;
                break;
        case 'n':
                type = JSONTEXT_NULL;
                j->aux = LITERAL_NULL + 1;
                j->state = ST_LITERAL;
                break;
        default:
                if (c == 0xef && j->type == JSONTEXT_NONE)
                        return "expected a value (a byte-order mark is not allowed)";
                return "expected a value";
        }
        /* The first value to start is the top-level one. */
        if (j->type == JSONTEXT_NONE) {
                j->type = type;
                j->start = at;
        }
        return NULL;
}

void jsontext_init(struct jsontext *j, unsigned max_depth) {
        *j = (struct jsontext){
                .max_depth = max_depth < JSONTEXT_DEPTH_MAX ? max_depth : JSONTEXT_DEPTH_MAX,
                .state = ST_VALUE,
        };
}

enum jsontext_status jsontext_feed(struct jsontext *j, const void *buf, size_t len, size_t *ret_used) {
        const uint8_t *p = buf;
        const size_t base = j->offset;
        const enum jsontext_status status = j->status;
        const char *error;
        size_t i = 0, k;

        if (status == JSONTEXT_INVALID) {
                if (ret_used)
                        *ret_used = 0;
                return JSONTEXT_INVALID;
        }

        while (i < len) {
                uint8_t c = p[i];

                switch (j->state) {
                case ST_STRING:
                        for (;;) {
                                while (string_plain[c]) {
                                        if (++i == len)
                                                goto out;
                                        c = p[i];
                                }
                                /* A whole character in this buffer is checked at once, else byte by byte. */
                                k = c >= 0x80 ? utf8_char_len(p + i, len - i) : 0;
                                if (k == 0)
                                        break;
                                i += k;
                                if (i == len)
                                        goto out;
                                c = p[i];
                        }
                        if (c == '"') {
                                if (j->key)
                                        j->state = ST_COLON;
                                else
                                        value_done(j, base + i + 1);
                        } else if (c == '\\')
                                j->state = ST_ESCAPE;
                        else if (c < 0x20) {
                                error = "control character in a string (must be escaped)";
                                goto invalid;
                        } else if (utf8_lead(c, &j->aux, &j->lo, &j->hi))
                                j->state = ST_UTF8;
                        else {
                                error = "invalid UTF-8 in a string";
                                goto invalid;
                        }
                        break;
                case ST_UTF8:
                        if (c < j->lo || c > j->hi) {
                                error = "invalid UTF-8 in a string";
                                goto invalid;
                        }
                        j->lo = 0x80;
                        j->hi = 0xbf;
                        if (--j->aux == 0)
                                j->state = ST_STRING;
                        break;
                case ST_ESCAPE:
                        if (c == 'u') {
                                j->aux = 4;
                                j->state = ST_HEX;
                        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                                   c == 'r' || c == 't')
                                j->state = ST_STRING;
                        else {
                                error = "invalid escape in a string";
                                goto invalid;
                        }
                        break;
                case ST_HEX:
                        if (hex_value(c) < 0) {
                                error = "expected four hex digits after \\u";
                                goto invalid;
                        }
                        if (--j->aux == 0)
                                j->state = ST_STRING;
                        break;
                case ST_VALUE:
                case ST_ARRAY_FIRST:
                        if (is_space(c))
                                break;
                        if (c == ']' && j->state == ST_ARRAY_FIRST) {
                                j->depth--;
                                value_done(j, base + i + 1);
                                break;
                        }
                        error = begin_value(j, c, base + i);
                        if (error)
                                goto invalid;
                        break;
                case ST_OBJECT_FIRST:
                case ST_KEY:
                        if (is_space(c))
                                break;
                        if (c == '"') {
                                j->key = true;
                                j->state = ST_STRING;
                        } else if (c == '}' && j->state == ST_OBJECT_FIRST) {
                                j->depth--;
                                value_done(j, base + i + 1);
                        } else {
                                error = j->state == ST_KEY ? "expected a string key"
                                                           : "expected a string key or '}'";
                                goto invalid;
                        }
                        break;
                case ST_COLON:
                        if (is_space(c))
                                break;
                        if (c != ':') {
                                error = "expected ':' after an object key";
                                goto invalid;
                        }
                        j->state = ST_VALUE;
                        break;
                case ST_AFTER:
                        if (is_space(c))
                                break;
                        if (c == ',')
                                j->state = top_is_object(j) ? ST_KEY : ST_VALUE;
                        else if (c == (top_is_object(j) ? '}' : ']')) {
                                j->depth--;
                                value_done(j, base + i + 1);
                        } else {
                                error = top_is_object(j) ? "expected ',' or '}'" : "expected ',' or ']'";
                                goto invalid;
                        }
                        break;
                case ST_TRAILING:
                        if (!is_space(c)) {
                                error = "trailing data after the value";
                                goto invalid;
                        }
                        break;
                case ST_MINUS:
                        if (!is_digit(c)) {
                                error = "expected a digit after '-'";
                                goto invalid;
                        }
                        j->state = c == '0' ? ST_ZERO : ST_INT;
                        break;
                case ST_ZERO:
                case ST_INT:
                case ST_FRAC:
                case ST_EXP_DIGITS:
                        if (j->state == ST_ZERO && is_digit(c)) {
                                error = "leading zeros are not allowed";
                                goto invalid;
                        }
                        while (is_digit(c)) {
                                if (++i == len)
                                        goto out;
                                c = p[i];
                        }
                        if (c == '.' && (j->state == ST_ZERO || j->state == ST_INT))
                                j->state = ST_DOT;
                        else if ((c == 'e' || c == 'E') && j->state != ST_EXP_DIGITS)
                                j->state = ST_EXP;
                        else {
                                /* The number ended before c, which belongs to what follows. */
                                value_done(j, base + i);
                                if (j->status != status)
                                        goto out;
                                continue;
                        }
                        break;
                case ST_DOT:
                        if (!is_digit(c)) {
                                error = "expected a digit after the decimal point";
                                goto invalid;
                        }
                        j->state = ST_FRAC;
                        break;
                case ST_EXP:
                case ST_EXP_SIGN:
                        if ((c == '+' || c == '-') && j->state == ST_EXP) {
                                j->state = ST_EXP_SIGN;
                                break;
                        }
                        if (!is_digit(c)) {
                                error = "expected a digit in the exponent";
                                goto invalid;
                        }
                        j->state = ST_EXP_DIGITS;
                        break;
                case ST_LITERAL:
                        if (c != (uint8_t)literals[j->aux]) {
                                error = "invalid literal (expected true, false or null)";
                                goto invalid;
                        }
                        if (literals[++j->aux] == '\0')
                                value_done(j, base + i + 1);
                        break;
                }
                i++;
                /* The caller learns of the end at once; what follows is checked by its next feed. */
                if (j->status != status)
                        break;
        }
out:
        j->offset = base + i;
        if (ret_used)
                *ret_used = i;
        return j->status;

invalid:
        j->status = JSONTEXT_INVALID;
        j->offset = base + i;
        j->error = error;
        if (ret_used)
                *ret_used = i;
        return JSONTEXT_INVALID;
}

enum jsontext_status jsontext_end(struct jsontext *j) {
        if (j->status == JSONTEXT_INVALID)
                return JSONTEXT_INVALID;
        if (j->depth == 0 && (j->state == ST_ZERO || j->state == ST_INT || j->state == ST_FRAC ||
                                     j->state == ST_EXP_DIGITS))
                value_done(j, j->offset);
        if (j->status == JSONTEXT_DONE)
                return JSONTEXT_DONE;
        j->status = JSONTEXT_INVALID;
        j->error =
                j->type == JSONTEXT_NONE ? "unexpected end of input (no value)" : "unexpected end of input";
        return JSONTEXT_INVALID;
}

int jsontext_validate(const char *buf, size_t len, unsigned max_depth, struct jsontext_value *ret,
        const char **ret_error, size_t *ret_error_offset) {
        struct jsontext j;
        size_t used;

        jsontext_init(&j, max_depth);
        if (jsontext_feed(&j, buf, len, &used) == JSONTEXT_DONE)
                jsontext_feed(&j, buf + used, len - used, NULL);
        if (jsontext_end(&j) != JSONTEXT_DONE) {
                if (ret_error)
                        *ret_error = j.error;
                if (ret_error_offset)
                        *ret_error_offset = j.offset;
                return -EBADMSG;
        }
        if (ret)
                *ret = (struct jsontext_value){
                        .ptr = buf + j.start, .len = j.end - j.start, .type = j.type
                };
        return 0;
}

/* The cursor's helpers trust a validated text but never read outside it. */

static size_t skip_space(const char *s, size_t len, size_t pos) {
        while (pos < len && is_space((uint8_t)s[pos]))
                pos++;
        return pos;
}

/* Past the string starting at s[pos] (a quote), or 0 if it does not end inside len. */
static size_t skip_string(const char *s, size_t len, size_t pos) {
        if (pos >= len || s[pos] != '"')
                return 0;
        for (pos++; pos < len; pos++) {
                if (s[pos] == '"')
                        return pos + 1;
                if (s[pos] == '\\')
                        pos++;
        }
        return 0;
}

/* Past the value starting at s[pos], its type in *ret_type, or 0 if it does not end inside len. */
static size_t skip_value(const char *s, size_t len, size_t pos, enum jsontext_type *ret_type) {
        unsigned depth = 0;

        if (pos >= len)
                return 0;
        switch (s[pos]) {
        case '"':
                *ret_type = JSONTEXT_STRING;
                return skip_string(s, len, pos);
        case '{':
        case '[':
                *ret_type = s[pos] == '{' ? JSONTEXT_OBJECT : JSONTEXT_ARRAY;
                while (pos < len) {
                        if (s[pos] == '"') {
                                pos = skip_string(s, len, pos);
                                if (pos == 0)
                                        return 0;
                                continue;
                        }
                        if (s[pos] == '{' || s[pos] == '[')
                                depth++;
                        else if ((s[pos] == '}' || s[pos] == ']') && --depth == 0)
                                return pos + 1;
                        pos++;
                }
                return 0;
        case 't':
        case 'f':
        case 'n': {
                const char *word = s[pos] == 't' ? "true" : s[pos] == 'f' ? "false" : "null";
                size_t n = strlen(word);

                *ret_type = s[pos] == 't' ? JSONTEXT_TRUE : s[pos] == 'f' ? JSONTEXT_FALSE : JSONTEXT_NULL;
                return len - pos >= n && memcmp(s + pos, word, n) == 0 ? pos + n : 0;
        }
        default:
                if (s[pos] != '-' && !is_digit((uint8_t)s[pos]))
                        return 0;
                *ret_type = JSONTEXT_NUMBER;
                for (pos++; pos < len; pos++)
                        if (!is_digit((uint8_t)s[pos]) && s[pos] != '.' && s[pos] != 'e' && s[pos] != 'E' &&
                                s[pos] != '+' && s[pos] != '-')
                                break;
                return pos;
        }
}

int jsontext_cursor_init(struct jsontext_cursor *c, const struct jsontext_value *object) {
        if (object->type != JSONTEXT_OBJECT || object->len < 2 || object->ptr[0] != '{')
                return -EINVAL;
        *c = (struct jsontext_cursor){ .ptr = object->ptr, .len = object->len, .pos = 1 };
        return 0;
}

int jsontext_object_next(
        struct jsontext_cursor *c, struct jsontext_value *ret_key, struct jsontext_value *ret_value) {
        size_t pos = skip_space(c->ptr, c->len, c->pos), key, key_end, value, value_end;
        enum jsontext_type type;

        if (pos < c->len && c->ptr[pos] == '}') {
                c->pos = pos;
                return 0;
        }
        /* Every member but the first follows a comma. */
        if (c->pos > 1) {
                if (pos >= c->len || c->ptr[pos] != ',')
                        return -EBADMSG;
                pos = skip_space(c->ptr, c->len, pos + 1);
        }
        key = pos;
        key_end = skip_string(c->ptr, c->len, key);
        if (key_end == 0)
                return -EBADMSG;
        pos = skip_space(c->ptr, c->len, key_end);
        if (pos >= c->len || c->ptr[pos] != ':')
                return -EBADMSG;
        value = skip_space(c->ptr, c->len, pos + 1);
        value_end = skip_value(c->ptr, c->len, value, &type);
        if (value_end == 0)
                return -EBADMSG;
        *ret_key = (struct jsontext_value){
                .ptr = c->ptr + key, .len = key_end - key, .type = JSONTEXT_STRING
        };
        *ret_value =
                (struct jsontext_value){ .ptr = c->ptr + value, .len = value_end - value, .type = type };
        c->pos = value_end;
        return 1;
}

static size_t utf8_encode(uint32_t cp, char out[4]) {
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* The four hex digits at s[pos] as a number, or -1. */
static int32_t hex4(const char *s, size_t len, size_t pos) {
        int32_t v = 0;

        if (len - pos < 4)
                return -1;
        for (size_t k = 0; k < 4; k++) {
                int h = hex_value((uint8_t)s[pos + k]);

                if (h < 0)
                        return -1;
                v = v * 16 + h;
        }
        return v;
}

/*
 * The next decoded piece of the string span at *pos (just inside the opening quote at first): up to four
 * bytes in out and their count, 0 at the closing quote (which must be the span's last byte), -EBADMSG on
 * anything else that is not a string.
 */
static int decode_next(const char *s, size_t len, size_t *pos, char out[4]) {
        size_t p = *pos;
        int32_t cp, low;

        if (p >= len)
                return -EBADMSG;
        if (s[p] == '"')
                return p + 1 == len ? 0 : -EBADMSG;
        if (s[p] != '\\') {
                out[0] = s[p];
                *pos = p + 1;
                return 1;
        }
        if (++p >= len)
                return -EBADMSG;
        switch (s[p]) {
        case '"':
        case '\\':
        case '/':
                out[0] = s[p];
                break;
        case 'b':
                out[0] = '\b';
                break;
        case 'f':
                out[0] = '\f';
                break;
        case 'n':
                out[0] = '\n';
                break;
        case 'r':
                out[0] = '\r';
                break;
        case 't':
                out[0] = '\t';
                break;
        case 'u':
                cp = hex4(s, len, p + 1);
                if (cp < 0)
                        return -EBADMSG;
                p += 5;
                if (cp >= 0xd800 && cp <= 0xdbff && len - p >= 6 && s[p] == '\\' && s[p + 1] == 'u') {
                        low = hex4(s, len, p + 2);
                        if (low >= 0xdc00 && low <= 0xdfff) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                p += 6;
                        }
                }
                if (cp >= 0xd800 && cp <= 0xdfff)
                        cp = 0xfffd;
                *pos = p;
                return (int)utf8_encode((uint32_t)cp, out);
        default:
                return -EBADMSG;
        }
        *pos = p + 1;
        return 1;
}

/* Reads the decoded bytes of a string span one at a time. */
struct decoder {
        const char *s;
        size_t len, pos;
        char piece[4];
        int n, at;
};

static bool decoder_init(struct decoder *d, const char *span, size_t len) {
        *d = (struct decoder){ .s = span, .len = len, .pos = 1 };
        return len >= 2 && span[0] == '"';
}

/* The next decoded byte, -1 at the closing quote, or -EBADMSG. */
static int decoder_byte(struct decoder *d) {
        if (d->at == d->n) {
                d->n = decode_next(d->s, d->len, &d->pos, d->piece);
                d->at = 0;
                if (d->n <= 0)
                        return d->n == 0 ? -1 : d->n;
        }
        return (uint8_t)d->piece[d->at++];
}

bool jsontext_string_eq(const char *span, size_t len, const char *plain) {
        struct decoder d;

        if (!decoder_init(&d, span, len))
                return false;
        for (size_t i = 0;; i++) {
                int c = decoder_byte(&d);

                if (c < 0)
                        return c == -1 && plain[i] == '\0';
                if (plain[i] == '\0' || c != (uint8_t)plain[i])
                        return false;
        }
}

bool jsontext_string_equal(const char *a, size_t alen, const char *b, size_t blen) {
        struct decoder x, y;

        if (!decoder_init(&x, a, alen) || !decoder_init(&y, b, blen))
                return false;
        for (;;) {
                int cx = decoder_byte(&x), cy = decoder_byte(&y);

                if (cx != cy || cx < -1)
                        return false;
                if (cx == -1)
                        return true;
        }
}

int jsontext_string_decode(const char *span, size_t len, char *out, size_t size, size_t *ret_len) {
        size_t pos = 1, at = 0;
        char piece[4];
        int r;

        if (len < 2 || span[0] != '"')
                return -EBADMSG;
        for (;;) {
                r = decode_next(span, len, &pos, piece);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (size - at <= (size_t)r)
                        return -ENOBUFS;
                memcpy(out + at, piece, (size_t)r);
                at += (size_t)r;
        }
        if (size == 0)
                return -ENOBUFS;
        out[at] = '\0';
        *ret_len = at;
        return 0;
}

/* The escaped form of the character at s: its bytes in piece (or, if valid UTF-8, the input itself). */
static size_t escape_one(const uint8_t *s, size_t n, char piece[6], const char **ret_bytes, size_t *ret_in) {
        static const char hex[] = "0123456789abcdef";
        uint8_t c = s[0];
        size_t k;

        *ret_bytes = piece;
        *ret_in = 1;
        switch (c) {
        case '"':
        case '\\':
                piece[0] = '\\';
                piece[1] = (char)c;
                return 2;
        case '\b':
                memcpy(piece, "\\b", 2);
                return 2;
        case '\f':
                memcpy(piece, "\\f", 2);
                return 2;
        case '\n':
                memcpy(piece, "\\n", 2);
                return 2;
        case '\r':
                memcpy(piece, "\\r", 2);
                return 2;
        case '\t':
                memcpy(piece, "\\t", 2);
                return 2;
        default:
                break;
        }
        if (c < 0x20) {
                memcpy(piece, "\\u00", 4);
                piece[4] = hex[c >> 4];
                piece[5] = hex[c & 0xf];
                return 6;
        }
        k = utf8_char_len(s, n);
        if (k == 0) {
                memcpy(piece, "\xef\xbf\xbd", 3);
                return 3;
        }
        *ret_bytes = (const char *)s;
        *ret_in = k;
        return k;
}

void jsontext_escape(const char *s, size_t n, char *out, size_t size, size_t *ret_in, size_t *ret_out) {
        const uint8_t *p = (const uint8_t *)s;
        size_t i = 0, o = 0;

        while (i < n) {
                const char *bytes;
                char piece[6];
                size_t in, k;

                /* Plain ASCII runs are copied without the per-character dispatch. */
                while (i < n && o < size && string_plain[p[i]])
                        out[o++] = (char)p[i++];
                if (i == n)
                        break;
                k = escape_one(p + i, n - i, piece, &bytes, &in);
                if (size - o < k)
                        break;
                memcpy(out + o, bytes, k);
                o += k;
                i += in;
        }
        *ret_in = i;
        *ret_out = o;
}

size_t jsontext_escaped_len(const char *s, size_t n) {
        const uint8_t *p = (const uint8_t *)s;
        size_t i = 0, total = 0;

        while (i < n) {
                const char *bytes;
                char piece[6];
                size_t in;

                if (string_plain[p[i]]) {
                        i++;
                        total++;
                        continue;
                }
                total += escape_one(p + i, n - i, piece, &bytes, &in);
                i += in;
        }
        return total;
}
