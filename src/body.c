/* SPDX-License-Identifier: MIT */
/* body: pure checks of the JSON the API takes (the request body) and passes on (the runner's answer). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "parse.h"
#include "util.h"

/* Top-level members looked at; past this many, a body is refused rather than searched at length. */
#define MEMBERS_MAX 64

static int reject(enum apierror e, enum apierror *ret_error, char *msg, size_t msglen, const char *fmt, ...)
        _printf_(5, 6);
static int reject(
        enum apierror e, enum apierror *ret_error, char *msg, size_t msglen, const char *fmt, ...) {
        va_list ap;

        *ret_error = e;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static int image_of(const struct jsontext_value *v, struct body_request *ret, enum apierror *ret_error,
        char *msg, size_t msglen) {
        size_t n = 0;

        if (v->type != JSONTEXT_STRING)
                return reject(APIERROR_REQUEST_IMAGE, ret_error, msg, msglen,
                        "Invalid request: \"image\" must be a string");
        /* The engine validates references; we only keep what reaches logs and URLs printable and bounded. */
        if (jsontext_string_decode(v->ptr, v->len, ret->image, sizeof(ret->image), &n) < 0 || n == 0 ||
                strlen(ret->image) != n ||
                strspn(ret->image, "abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "._-/:@+") != n)
                return reject(APIERROR_REQUEST_IMAGE, ret_error, msg, msglen,
                        "Invalid request: \"image\" must be 1 to %d characters of an image reference "
                        "(letters, digits and ._-/:@+)",
                        BODY_IMAGE_MAX);
        return 0;
}

/* One member of "limits": a number, at most its maximum, exactly representable in its unit. */
static int limit_of(const struct jsontext_value *v, const char *key, unsigned scale, uint64_t min,
        uint64_t max, const char *unit, uint64_t *ret, enum apierror *ret_error, char *msg, size_t msglen) {
        int r;

        if (v->type != JSONTEXT_NUMBER)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits.%s\" must be a number", key);
        r = parse_scaled(v->ptr, v->len, scale, max, ret);
        if (r == -ERANGE)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits.%s\" is above the configured maximum (%s)", key, unit);
        if (r < 0)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits.%s\" must be a non-negative number%s", key,
                        scale > 0 ? " with at most three decimals" : " of whole bytes");
        if (*ret < min)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits.%s\" is below its minimum (%s)", key, unit);
        return 0;
}

static int limits_of(const struct jsontext_value *v, const struct body_maxima *max, struct body_request *ret,
        enum apierror *ret_error, char *msg, size_t msglen) {
        struct jsontext_value key, value, seen[3] = { 0 };
        struct jsontext_cursor c;
        char unit[96];
        int r;

        if (v->type != JSONTEXT_OBJECT || jsontext_cursor_init(&c, v) < 0)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits\" must be an object");
        while ((r = jsontext_object_next(&c, &key, &value)) > 0) {
                static const char *const names[] = { "executionTime", "outputSize", "memory" };
                size_t i;

                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (jsontext_string_eq(key.ptr, key.len, names[i]))
                                break;
                /* The key as sent, quotes included, at most 64 bytes of it: the message is escaped. */
                if (i == ELEMENTSOF(names))
                        return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                                "Invalid request: unknown key %.*s in \"limits\" (known: executionTime, "
                                "outputSize, memory)",
                                (int)(key.len < 64 ? key.len : 64), key.ptr);
                if (seen[i].ptr)
                        return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                                "Invalid request: \"limits.%s\" given twice", names[i]);
                seen[i] = value;
        }
        if (r < 0)
                return reject(APIERROR_REQUEST_LIMITS, ret_error, msg, msglen,
                        "Invalid request: \"limits\" must be an object");

        if (seen[0].ptr) {
                snprintf(unit, sizeof(unit), "%.1f to %" PRIu64 ".%03" PRIu64 " seconds",
                        BODY_EXECUTION_MIN_MS / 1000.0, max->execution_time_ms / 1000,
                        max->execution_time_ms % 1000);
                r = limit_of(&seen[0], "executionTime", 3, BODY_EXECUTION_MIN_MS, max->execution_time_ms,
                        unit, &ret->execution_time_ms, ret_error, msg, msglen);
                if (r < 0)
                        return r;
        }
        if (seen[1].ptr) {
                snprintf(unit, sizeof(unit), "1 to %" PRIu64 " bytes", max->output_size);
                r = limit_of(&seen[1], "outputSize", 0, 1, max->output_size, unit, &ret->output_size,
                        ret_error, msg, msglen);
                if (r < 0)
                        return r;
        }
        if (seen[2].ptr) {
                uint64_t top = max->memory > 0 ? (uint64_t)max->memory : (uint64_t)INT64_MAX, m = 0;

                if (max->memory > 0)
                        snprintf(
                                unit, sizeof(unit), "%d to %" PRId64 " bytes", BODY_MEMORY_MIN, max->memory);
                else
                        snprintf(unit, sizeof(unit), "at least %d bytes", BODY_MEMORY_MIN);
                r = limit_of(&seen[2], "memory", 0, BODY_MEMORY_MIN, top, unit, &m, ret_error, msg, msglen);
                if (r < 0)
                        return r;
                ret->memory = (int64_t)m;
        }
        ret->limits_given = true;
        return 0;
}

int body_parse_request(const char *buf, size_t len, const struct body_maxima *max, struct body_request *ret,
        enum apierror *ret_error, char *msg, size_t msglen) {
        struct body_request b = {
                .execution_time_ms = max->execution_time_ms,
                .output_size = max->output_size,
                .memory = max->memory,
        };
        struct jsontext_value root, keys[MEMBERS_MAX], key, value, image = { 0 }, payload = { 0 },
                                                                   limits = { 0 };
        struct jsontext_cursor c;
        const char *why = NULL;
        size_t at = 0, n = 0;
        int r;

        if (jsontext_validate(buf, len, BODY_JSON_MAX_DEPTH, &root, &why, &at) < 0)
                return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                        "Invalid JSON body: %s at byte %zu", why ?: "not JSON", at);
        if (root.type != JSONTEXT_OBJECT || jsontext_cursor_init(&c, &root) < 0)
                return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                        "Invalid JSON body: expected an object");

        while ((r = jsontext_object_next(&c, &key, &value)) > 0) {
                /* A key twice would leave it to chance which one counts: ours or the runner's reading. */
                if (n == MEMBERS_MAX)
                        return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                                "Invalid JSON body: more than %d keys", MEMBERS_MAX);
                for (size_t i = 0; i < n; i++)
                        if (jsontext_string_equal(keys[i].ptr, keys[i].len, key.ptr, key.len))
                                return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                                        "Invalid JSON body: a key is given twice");
                keys[n++] = key;
                if (jsontext_string_eq(key.ptr, key.len, "image"))
                        image = value;
                else if (jsontext_string_eq(key.ptr, key.len, "payload"))
                        payload = value;
                else if (jsontext_string_eq(key.ptr, key.len, "limits"))
                        limits = value;
        }
        if (r < 0)
                return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                        "Invalid JSON body: expected an object");

        if (!image.ptr)
                return reject(APIERROR_REQUEST_IMAGE, ret_error, msg, msglen,
                        "Invalid request: \"image\" must be a string");
        r = image_of(&image, &b, ret_error, msg, msglen);
        if (r < 0)
                return r;
        if (!payload.ptr || payload.type != JSONTEXT_OBJECT)
                return reject(APIERROR_REQUEST_PAYLOAD, ret_error, msg, msglen,
                        "Invalid request: \"payload\" must be an object");
        b.payload = payload.ptr;
        b.payload_len = payload.len;
        if (limits.ptr) {
                r = limits_of(&limits, max, &b, ret_error, msg, msglen);
                if (r < 0)
                        return r;
        }
        *ret = b;
        return 0;
}

int body_check_runner_output(const char *buf, size_t len, size_t *ret_end, char *msg, size_t msglen) {
        struct jsontext_value v;
        const char *why = NULL;
        size_t at = 0;

        if (jsontext_validate(buf, len, BODY_JSON_MAX_DEPTH, &v, &why, &at) < 0) {
                snprintf(msg, msglen, "%s at byte %zu", why ?: "not JSON", at);
                return -EBADMSG;
        }
        if (v.type != JSONTEXT_OBJECT) {
                snprintf(msg, msglen, "not an object");
                return -EBADMSG;
        }
        *ret_end = (size_t)(v.ptr + v.len - buf);
        return 0;
}

void body_watch_init(struct body_watch *w) {
        *w = (struct body_watch){ 0 };
        jsontext_init(&w->text, BODY_JSON_MAX_DEPTH);
}

void body_watch_feed(struct body_watch *w, const char *buf, size_t len) {
        enum jsontext_status s;

        if (w->complete || w->failed || len <= w->fed)
                return;
        s = jsontext_feed(&w->text, buf + w->fed, len - w->fed, NULL);
        w->fed = len;
        /* The type is known from the value's first byte: anything but an object can never be the answer. */
        if (s == JSONTEXT_INVALID || (w->text.type != JSONTEXT_NONE && w->text.type != JSONTEXT_OBJECT))
                w->failed = true;
        else if (s == JSONTEXT_DONE) {
                w->complete = true;
                w->end = w->text.end;
        }
}
