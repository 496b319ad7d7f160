/* SPDX-License-Identifier: MIT */
/* body: pure checks of the JSON the API takes (the request body) and passes on (the runner's answer). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "apierror.h"

#define BODY_IMAGE_MAX      512 /* bytes of an image reference */
#define BODY_JSON_MAX_DEPTH 64  /* nesting accepted in either document */

struct body_request {
        json_object *root;    /* owned: json_object_put() it */
        const char *image;    /* points into root */
        json_object *payload; /* points into root */
};

/*
 * Parse {"image": string, "payload": object} (other keys ignored, whitespace
 * around it allowed, strict JSON, valid UTF-8). Returns 0, -ENOMEM, or
 * -EBADMSG with the request.* error and a message for the client.
 */
int body_parse_request(const char *buf, size_t len, struct body_request *ret, enum apierror *ret_error,
        char *msg, size_t msglen);

/*
 * Watch the runner's stdout grow: parses only the bytes not seen before, so
 * the whole output costs one pass. Complete once the output starts with one
 * whole JSON object; failed once it cannot (then only the exit tells).
 */
struct body_watch {
        json_tokener *tok;
        size_t fed;
        bool complete;
        bool failed;
};

int body_watch_init(struct body_watch *w);
void body_watch_feed(struct body_watch *w, const char *buf, size_t len);
void body_watch_done(struct body_watch *w);

/*
 * Check that the runner's stdout is exactly one JSON object, whitespace
 * around it allowed. Returns 0 with the offset just past the object in
 * *ret_end, -ENOMEM, or -EBADMSG with the reason in msg.
 */
int body_check_runner_output(const char *buf, size_t len, size_t *ret_end, char *msg, size_t msglen);
