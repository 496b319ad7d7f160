/* SPDX-License-Identifier: MIT */
/* body: pure checks of the JSON the API takes (the request body) and passes on (the runner's answer). */
#pragma once

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
 * Check that the runner's stdout is exactly one JSON object, whitespace
 * around it allowed. Returns 0 with the offset just past the object in
 * *ret_end, -ENOMEM, or -EBADMSG with the reason in msg.
 */
int body_check_runner_output(const char *buf, size_t len, size_t *ret_end, char *msg, size_t msglen);
