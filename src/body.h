/* SPDX-License-Identifier: MIT */
/* body: pure checks of the JSON the API takes (the request body) and passes on (the runner's answer). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apierror.h"
#include "jsontext.h"

#define BODY_IMAGE_MAX        512 /* bytes of an image reference */
#define BODY_JSON_MAX_DEPTH   128 /* nesting accepted in either document, as the original (serde_json) */
#define BODY_MEMORY_MIN       (6 * 1024 * 1024) /* the engine refuses a smaller memory limit */
#define BODY_EXECUTION_MIN_MS 100

/* The configured maxima a request's "limits" may ask to lower. */
struct body_maxima {
        uint64_t execution_time_ms; /* RUN_MAX_EXECUTION_TIME */
        uint64_t output_size;       /* RUN_MAX_OUTPUT_SIZE */
        int64_t memory;             /* DOCKER_CONTAINER_MEMORY; 0 is no limit */
};

struct body_request {
        char image[BODY_IMAGE_MAX + 1]; /* decoded */
        const char *payload;            /* the client's own bytes of the payload object, not copied */
        size_t payload_len;
        /* "limits", each at most its configured maximum; the maximum itself when not asked for. */
        uint64_t execution_time_ms;
        uint64_t output_size;
        int64_t memory;
        bool limits_given; /* the request carried "limits" */
};

/*
 * Parse {"image": string, "payload": object, "limits": object} ("limits" optional, other keys ignored,
 * whitespace around it allowed): strict RFC 8259 JSON, nesting at most BODY_JSON_MAX_DEPTH, a key given
 * twice refused. The payload is not decoded: its bytes pass to the runner exactly as the client sent them.
 * Returns 0, or -EBADMSG with the request.* error and a message for the client.
 */
int body_parse_request(const char *buf, size_t len, const struct body_maxima *max, struct body_request *ret,
        enum apierror *ret_error, char *msg, size_t msglen);

/*
 * Check that the runner's stdout is exactly one JSON object, whitespace around it allowed (the judgement
 * when the container has exited). Returns 0 with the offset just past the object in *ret_end, or -EBADMSG
 * with the reason in msg.
 */
int body_check_runner_output(const char *buf, size_t len, size_t *ret_end, char *msg, size_t msglen);

/*
 * Watch the runner's stdout grow, for the early answer: only the bytes not seen before are looked at, split
 * anywhere (inside a UTF-8 character or an escape too). Complete as soon as the output starts with one whole
 * JSON object (end is where it ends; what follows is not part of the answer); failed once it cannot (then
 * only the exit tells).
 */
struct body_watch {
        struct jsontext text;
        size_t fed;
        bool complete;
        bool failed;
        size_t end;
};

void body_watch_init(struct body_watch *w);
void body_watch_feed(struct body_watch *w, const char *buf, size_t len);
