/* SPDX-License-Identifier: MIT */
/* response: the bytes of the one HTTP response a handler writes. */
#pragma once

#include <stddef.h>

/* The reason phrase for a status this service answers with. */
const char *response_reason(int status);

/*
 * Format a complete HTTP/1.1 response with a JSON body, Connection: close and
 * the request id as X-Request-Id (omitted when NULL). Returns 0 or -ENOMEM.
 */
int response_format(
        int status, const char *request_id, const char *body, size_t body_len, char **ret, size_t *ret_len);

/* The interim answer to "Expect: 100-continue". */
#define RESPONSE_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
