/* SPDX-License-Identifier: MIT */
/* docker: a minimal Docker Engine API client: a unix socket, or tcp with mutual TLS (libcurl). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "enginelist.h"
#include "jsonc.h"
#include "util.h"

/* Docker 20.10 speaks 1.41, and every later engine still accepts it. */
#define DOCKER_API_VERSION "v1.41"

/* Bound on a non-streamed engine answer (version, create, errors). */
#define DOCKER_MAX_RESPONSE (1024u * 1024u)

/* Bound on the head of the attach answer before the raw stream starts. */
#define DOCKER_MAX_ATTACH_HEAD 16384u

struct docker;
struct docker_stream;

/*
 * Every call returns 0 on success, -EREMOTEIO when the engine answered with
 * an error status (see docker_status() and docker_message()), or another
 * negative errno when the engine could not be reached or talked to (the
 * socket missing, refused, a timeout; docker_message() says what curl saw).
 */
/* The engine at addr (a tcp one with DOCKER_CERT_PATH's cert_path; -EINVAL without). timeout_ms bounds each
 * call, connect_timeout_ms the connection to the engine. Loads nothing: libcurl comes with the first call
 * that needs it (-ELIBACC then when it cannot be loaded; docker_new_error() says why, for the answer). */
int docker_new(const struct engine_addr *addr, const char *cert_path, uint64_t timeout_ms,
        uint64_t connect_timeout_ms, struct docker **ret);

/* The engine this client talks to. */
const struct engine_addr *docker_engine(const struct docker *d);
struct docker *docker_free(struct docker *d);

/* What docker_new()'s failure r means: libcurl missing (the loader's reason), or out of memory. */
const char *docker_new_error(int r);

/* HTTP status of the engine's last answer, 0 when there was none. */
long docker_status(const struct docker *d);

/* Whether the last call failed before its request left (no connection, no TLS): the engine saw nothing of
 * it, so a create can be tried on another engine without ever making two containers. */
bool docker_unsent(const struct docker *d);

/* The engine's error message or the transport error of the last call. */
const char *docker_message(const struct docker *d);

/* GET /_ping: 0 when the engine answers. */
int docker_ping(struct docker *d);

/* docker_ping() bounded by timeout_ms when that is shorter than the client's own bound. */
int docker_ping_within(struct docker *d, uint64_t timeout_ms);

/* GET /info: the engine's answer as parsed JSON, owned by the caller. */
int docker_info(struct docker *d, json_object **ret);

/* GET /version: the engine's answer as parsed JSON, owned by the caller. */
int docker_version(struct docker *d, json_object **ret);

/* POST /containers/create with the given body; the new id (64 hex) in ret_id. */
int docker_create(struct docker *d, const char *name, json_object *body, char **ret_id);

int docker_start(struct docker *d, const char *id);
int docker_kill(struct docker *d, const char *id);

/* DELETE /containers/ID?v=1&force=1 (ID may also be one of our names); a container already gone counts as
 * removed. */
int docker_remove(struct docker *d, const char *id);

/* A container's state as the engine tells it (GET /containers/ID/json, its "State"). */
struct docker_state {
        bool running;
        bool oom_killed; /* the kernel's out-of-memory killer ended a process of it */
        int exit_code;
};

/* Pure: the "State" of an inspect answer. -EBADMSG when it has none, or not of the expected types. */
int docker_state_parse(json_object *inspect, struct docker_state *ret);

int docker_inspect_state(struct docker *d, const char *id, struct docker_state *ret);

/* What to list: containers with every label given ("key" or "key=value"), of the status unless NULL, created
 * before the container before unless NULL, the newest limit of them unless 0. */
struct docker_list_query {
        const char *labels[3];
        const char *status;
        const char *before;
        unsigned limit;
};

/* GET /containers/json?all=1 with the query's filters: the engine's array, newest first. */
int docker_list(struct docker *d, const struct docker_list_query *q, json_object **ret);

/*
 * Attach to a created container's stdin, stdout and stderr on a connection of
 * its own, which the engine then hands over as a raw stream (101 UPGRADED).
 * deadline bounds the wait for that answer.
 */
int docker_attach(struct docker *d, const char *id, usec_t deadline, struct docker_stream **ret);
struct docker_stream *docker_stream_free(struct docker_stream *s);

/* The socket to poll() on; bytes may also wait in the stream's own buffer. */
int docker_stream_fd(const struct docker_stream *s);
bool docker_stream_pending(const struct docker_stream *s);

/* Non-blocking: bytes moved in *ret_n; -EAGAIN when nothing can move now; *ret_n 0 from recv means EOF. */
int docker_stream_send(struct docker_stream *s, const void *buf, size_t len, size_t *ret_n);
int docker_stream_recv(struct docker_stream *s, void *buf, size_t len, size_t *ret_n);

/* Half-close: the engine closes the container's stdin (StdinOnce). */
int docker_stream_shutdown_write(struct docker_stream *s);

static inline void docker_freep(struct docker **d) {
        docker_free(*d);
}
static inline void docker_stream_freep(struct docker_stream **s) {
        docker_stream_free(*s);
}
#define _cleanup_docker_        _cleanup_(docker_freep)
#define _cleanup_docker_stream_ _cleanup_(docker_stream_freep)
