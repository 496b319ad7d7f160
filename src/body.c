/* SPDX-License-Identifier: MIT */
/* body: pure checks of the JSON the API takes (the request body) and passes on (the runner's answer). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "body.h"
#include "util.h"

static bool only_whitespace(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return false;
        return true;
}

/* One JSON document and nothing but whitespace after it; *ret_end is where it ends. */
static int parse_one(const char *buf, size_t len, int flags, json_object **ret, size_t *ret_end, char *msg,
        size_t msglen) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;
        size_t end;

        if (len > INT_MAX) {
                snprintf(msg, msglen, "document too large");
                return -EBADMSG;
        }
        tok = json_tokener_new_ex(BODY_JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, flags);
        o = json_tokener_parse_ex(tok, buf, (int)len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o) {
                snprintf(msg, msglen, "%s",
                        len == 0 || e == json_tokener_continue ? "unexpected end of input"
                                                               : json_tokener_error_desc(e));
                return -EBADMSG;
        }
        if (end > len || !only_whitespace(buf + end, len - end)) {
                json_object_put(o);
                snprintf(msg, msglen, "trailing data after the document");
                return -EBADMSG;
        }
        *ret = o;
        *ret_end = end;
        return 0;
}

static int reject(enum apierror e, enum apierror *ret_error, char *msg, size_t msglen, const char *why) {
        *ret_error = e;
        snprintf(msg, msglen, "%s", why);
        return -EBADMSG;
}

int body_parse_request(const char *buf, size_t len, struct body_request *ret, enum apierror *ret_error,
        char *msg, size_t msglen) {
        json_object *o = NULL, *image, *payload;
        char why[128];
        const char *s;
        size_t n, end;
        int r;

        /* Leading whitespace is whitespace too; the tokener only skips it inside. */
        while (len > 0 && only_whitespace(buf, 1)) {
                buf++;
                len--;
        }
        r = parse_one(
                buf, len, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &o, &end, why, sizeof(why));
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_error = APIERROR_REQUEST_JSON;
                snprintf(msg, msglen, "Invalid JSON body: %s", why);
                return r;
        }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return reject(APIERROR_REQUEST_JSON, ret_error, msg, msglen,
                        "Invalid JSON body: expected an object");
        }
        if (!json_object_object_get_ex(o, "image", &image) ||
                !json_object_is_type(image, json_type_string)) {
                json_object_put(o);
                return reject(APIERROR_REQUEST_IMAGE, ret_error, msg, msglen,
                        "Invalid request: \"image\" must be a string");
        }
        s = json_object_get_string(image);
        n = (size_t)json_object_get_string_len(image);
        /* The engine validates references; we only keep what reaches logs and URLs printable and bounded. */
        if (n == 0 || n > BODY_IMAGE_MAX || strlen(s) != n ||
                strspn(s, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "._-/:@+") != n) {
                json_object_put(o);
                return reject(APIERROR_REQUEST_IMAGE, ret_error, msg, msglen,
                        "Invalid request: \"image\" must be 1 to 512 characters of an image reference");
        }
        if (!json_object_object_get_ex(o, "payload", &payload) ||
                !json_object_is_type(payload, json_type_object)) {
                json_object_put(o);
                return reject(APIERROR_REQUEST_PAYLOAD, ret_error, msg, msglen,
                        "Invalid request: \"payload\" must be an object");
        }
        *ret = (struct body_request){ .root = o, .image = s, .payload = payload };
        return 0;
}

int body_check_runner_output(const char *buf, size_t len, size_t *ret_end, char *msg, size_t msglen) {
        json_object *o = NULL;
        size_t start = 0, end;
        int r;

        if (len == 0 || only_whitespace(buf, len)) {
                snprintf(msg, msglen, "no output");
                return -EBADMSG;
        }
        while (only_whitespace(buf + start, 1))
                start++;
        r = parse_one(buf + start, len - start, JSON_TOKENER_VALIDATE_UTF8, &o, &end, msg, msglen);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                snprintf(msg, msglen, "not an object");
                return -EBADMSG;
        }
        json_object_put(o);
        *ret_end = start + end;
        return 0;
}

int body_watch_init(struct body_watch *w) {
        *w = (struct body_watch){ .tok = json_tokener_new_ex(BODY_JSON_MAX_DEPTH) };
        if (!w->tok)
                return -ENOMEM;
        json_tokener_set_flags(w->tok, JSON_TOKENER_VALIDATE_UTF8);
        return 0;
}

void body_watch_feed(struct body_watch *w, const char *buf, size_t len) {
        json_object *o;
        size_t start = w->fed;

        if (w->complete || w->failed || len <= w->fed)
                return;
        w->fed = len;
        if (len - start > INT_MAX) {
                w->failed = true;
                return;
        }
        o = json_tokener_parse_ex(w->tok, buf + start, (int)(len - start));
        if (o) {
                w->complete = json_object_is_type(o, json_type_object);
                w->failed = !w->complete;
                json_object_put(o);
        } else if (json_tokener_get_error(w->tok) != json_tokener_continue)
                w->failed = true;
}

void body_watch_done(struct body_watch *w) {
        if (w->tok)
                json_tokener_free(w->tok);
        w->tok = NULL;
}
