/* SPDX-License-Identifier: MIT */
/* jsontext: a strict RFC 8259 validator over bytes (incremental, allocation-free) and string helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONTEXT_DEPTH_MAX  1024u /* the deepest nesting a validator can track */
#define JSONTEXT_ESCAPE_MIN 6u    /* the longest escaped character: an output this big always progresses */

enum jsontext_status {
        JSONTEXT_MORE,    /* every byte consumed, the top-level value is not complete yet */
        JSONTEXT_DONE,    /* the top-level value is complete */
        JSONTEXT_INVALID, /* not JSON: error and offset say why and where */
};

enum jsontext_type {
        JSONTEXT_NONE, /* no value has started yet */
        JSONTEXT_OBJECT,
        JSONTEXT_ARRAY,
        JSONTEXT_STRING,
        JSONTEXT_NUMBER,
        JSONTEXT_TRUE,
        JSONTEXT_FALSE,
        JSONTEXT_NULL,
};

/* The state of one incremental validation; fixed size, no allocation, copyable. */
struct jsontext {
        size_t offset;     /* bytes consumed so far; on INVALID, the offset of the offending byte */
        size_t start;      /* offset of the top-level value's first byte, once it has started */
        size_t end;        /* on DONE, the offset just past the top-level value */
        const char *error; /* on INVALID, a static message */
        enum jsontext_status status;
        enum jsontext_type type; /* the top-level value's type, once it has started */
        unsigned max_depth;      /* arrays and objects open at once, at most JSONTEXT_DEPTH_MAX */
        unsigned depth;          /* arrays and objects open now */
        uint8_t state;           /* what the next byte may be (the states are private to jsontext.c) */
        uint8_t aux;             /* literal: next index; \u: hex digits left; UTF-8: bytes left */
        uint8_t lo, hi;          /* UTF-8: the range of the next continuation byte */
        bool key;                /* the string being read is an object key */
        /* Bit d set: nesting level d is an object; clear: an array. */
        uint64_t stack[JSONTEXT_DEPTH_MAX / 64];
};

/* A value inside a text: its bytes (a string's with the quotes) and its type. */
struct jsontext_value {
        const char *ptr;
        size_t len;
        enum jsontext_type type;
};

/* Walks the members of an object value; see jsontext_object_next(). */
struct jsontext_cursor {
        const char *ptr;
        size_t len;
        size_t pos;
};

/* Start validating a text; arrays and objects may nest max_depth deep (at most JSONTEXT_DEPTH_MAX). */
void jsontext_init(struct jsontext *j, unsigned max_depth);

/*
 * Feed the next len bytes of the text (leading whitespace allowed). MORE: all consumed; DONE: the top-level
 * value ended, *ret_used is the count of this buffer's bytes up to and including its last byte (j->end is
 * the absolute offset; a top-level number ends only at the next byte or at jsontext_end(), so *ret_used may
 * be 0); INVALID: j->error and j->offset tell. Once DONE, further feeds check what follows the value:
 * whitespace keeps DONE, anything else is INVALID. Once INVALID, feeds return INVALID. ret_used may be NULL.
 */
enum jsontext_status jsontext_feed(struct jsontext *j, const void *buf, size_t len, size_t *ret_used);

/* End of input: DONE if one whole value (and only whitespace after it) was fed, INVALID otherwise. */
enum jsontext_status jsontext_end(struct jsontext *j);

/*
 * Check that buf is exactly one JSON text, whitespace around the value allowed. Returns 0 with the value's
 * span and type in *ret (may be NULL), or -EBADMSG with a static message in *ret_error and the offending
 * offset in *ret_error_offset (either may be NULL).
 */
int jsontext_validate(const char *buf, size_t len, unsigned max_depth, struct jsontext_value *ret,
        const char **ret_error, size_t *ret_error_offset);

/* Point a cursor at the first member of a validated object value. Returns 0, or -EINVAL if not an object. */
int jsontext_cursor_init(struct jsontext_cursor *c, const struct jsontext_value *object);

/*
 * The next member of a validated object: its key (a string span, quotes included) and its value. Returns 1
 * per member, 0 at the end (and on every later call). On bytes that were not validated it never reads past
 * the span, and returns -EBADMSG where the structure it relies on is missing.
 */
int jsontext_object_next(
        struct jsontext_cursor *c, struct jsontext_value *ret_key, struct jsontext_value *ret_value);

/* Whether a string span (quotes included) decodes to exactly the NUL-terminated plain. */
bool jsontext_string_eq(const char *span, size_t len, const char *plain);

/* Whether two string spans decode to the same bytes, as jsontext_string_decode() does: duplicate keys, say.
 */
bool jsontext_string_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Decode a string span (quotes included) of a validated text into out, NUL-terminated; *ret_len is the
 * decoded length without that NUL. \u0000 decodes to a NUL byte (compare *ret_len with strlen() to refuse
 * it); a lone escaped surrogate decodes to U+FFFD, so the output is valid UTF-8. Returns 0, -ENOBUFS if out
 * cannot hold the result and its NUL, -EBADMSG if the span is not a string.
 */
int jsontext_string_decode(const char *span, size_t len, char *out, size_t size, size_t *ret_len);

/*
 * Escape n bytes into the inside of a JSON string: valid UTF-8 out whatever comes in (each byte that does
 * not start a valid UTF-8 character becomes U+FFFD), '"' and '\\' escaped, control characters as \b \f \n \r
 * \t or \u00XX (NUL is \u0000), everything else as is. Writes at most size bytes, never part of an escaped
 * character, and reports the input consumed in *ret_in and the output written in *ret_out; call again on the
 * rest. A size of at least JSONTEXT_ESCAPE_MIN always makes progress while input is left.
 */
void jsontext_escape(const char *s, size_t n, char *out, size_t size, size_t *ret_in, size_t *ret_out);

/* The exact length jsontext_escape() produces for all of s. */
size_t jsontext_escaped_len(const char *s, size_t n);
