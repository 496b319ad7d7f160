/* SPDX-License-Identifier: MIT */
/* log: one structured journald record per request, stderr when journald is absent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

#define LOG_FIELD_MAX 1024 /* bytes of one untrusted field value, after escaping */

/* The fields of a request's record; NULL strings and zero durations are omitted. */
struct log_record {
        const char *request_id;
        const char *remote;           /* the client: the peer, or what a trusted proxy says */
        const char *proxy;            /* the trusted proxy it came through, NULL for none */
        const char *proxy_request_id; /* a trusted proxy's X-Request-Id */
        const char *method;
        const char *path;
        int status;
        const char *error;   /* the contract's error code, NULL on success */
        const char *message; /* why, for errors; message_len bytes, NULs included (0: up to its NUL) */
        size_t message_len;
        const char *image;
        const char *container_id;
        const char *engine;     /* the engine the run went to (DOCKER_ENGINES's name) */
        bool engine_in_message; /* and the message says which: there is more than one */
        bool warm;              /* a warm container served the run */
        usec_t duration_usec;   /* from the first byte of the request to the answer written */
        usec_t claim_usec, create_usec, attach_usec, start_usec, run_usec, remove_usec;
};

/* Decide where logs may go: stderr only when it is not the client's connection. */
void log_setup(bool stderr_allowed);

/* The request's record: journald fields DOCKER_RUN_* and a readable MESSAGE. */
void log_request(const struct log_record *r);

/* Every DOCKER_RUN_* field a request's record may carry, one per line (docker-run --list-fields). */
void log_list_fields(FILE *f);

/* A line about the service itself (configuration, cleanup), at the given syslog priority. */
void log_message(int priority, const char *fmt, ...) _printf_(2, 3);

/* Copy s into buf with every byte outside printable ASCII as \xNN, cut to fit. */
void log_escape(char *buf, size_t size, const char *s, size_t len);
