/* SPDX-License-Identifier: MIT */
/* jsonc-strict: json-c's verdict on a document, as strict as json-c gets, for the tests that compare with
 * it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#define JSONC_STRICT_DEPTH 2048 /* json-c never refuses for depth what jsontext accepts */

static inline bool jsonc_strict_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* json-c as strict as it gets: one document, whitespace around it, valid UTF-8. */
static inline bool jsonc_strict_accepts(const char *buf, size_t len) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;
        size_t end;

        /* Like body.c: the tokener does not take leading whitespace. */
        while (len > 0 && jsonc_strict_space(*buf)) {
                buf++;
                len--;
        }
        if (len == 0 || len > INT32_MAX - 1)
                return false;
        tok = json_tokener_new_ex(JSONC_STRICT_DEPTH);
        if (!tok)
                abort();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, buf, (int)len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (e == json_tokener_continue) {
                /* The input is over: a space ends a top-level number (a NUL would also end a string). */
                o = json_tokener_parse_ex(tok, " ", 1);
                e = json_tokener_get_error(tok);
                end = len;
        }
        json_tokener_free(tok);
        /* null parses to NULL: the error says whether it parsed. */
        json_object_put(o);
        if (e != json_tokener_success)
                return false;
        for (; end < len; end++)
                if (!jsonc_strict_space(buf[end]))
                        return false;
        return true;
}
