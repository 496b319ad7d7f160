/* SPDX-License-Identifier: MIT */
/* lifecycle: one run's container on the engine: created or claimed, attached, started, removed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "docker.h"
#include "util.h"

/* The container a run uses, and what the engine said at each step. */
struct lifecycle {
        struct docker *docker; /* not owned */
        const struct config *config;
        const char *request_id;
        char name[64];      /* docker-run-<request id>: how a cold container is found without its id */
        char *id;           /* owned, once known */
        bool maybe_created; /* a create was sent and not refused: a container may exist, id or not */
        bool warm;          /* claimed from the pool */
        const char *image;  /* a warm container's pool (not owned) */
        bool running;       /* started (or warm), not known to have ended */
        usec_t create_usec, attach_usec, start_usec, claim_usec, remove_usec;
};

void lifecycle_init(struct lifecycle *l, struct docker *d, const struct config *c, const char *request_id);

/* Create the run's container by its name. Returns 0, or the engine call's error; when the answer timed out
 * the container may exist all the same: lifecycle_remove() looks for it by name. */
int lifecycle_create(struct lifecycle *l, const char *image, int64_t memory, int64_t wall_deadline);

/* Claim a running warm container of image: 0, -ENOENT when none is free (silently: the caller goes cold). */
int lifecycle_claim(struct lifecycle *l, const char *image, int64_t wall_deadline);

/* Attach to the container's stdin, stdout and stderr; the stream is the caller's to free. */
int lifecycle_attach(struct lifecycle *l, struct docker_stream **ret);

/* Start a created container. */
int lifecycle_start(struct lifecycle *l);

/*
 * Remove the container (by id, or by name when the create's answer never came), retrying what the engine
 * refuses or is too slow to do, with back-off, until it is gone or deadline passes. With
 * DEBUG_KEEP_CONTAINER the container is stopped and kept instead. Returns 0 once it is gone (or kept).
 */
int lifecycle_remove(struct lifecycle *l, usec_t deadline);

/*
 * How the container ended, as the engine saw it, for a stream that ended without the runner's answer: asked
 * again (every 20 ms) while the engine still calls it running, until deadline. Returns 0, -ETIME when it
 * is still running at the deadline, or the engine call's error.
 */
int lifecycle_state(struct lifecycle *l, usec_t deadline, struct docker_state *ret);

/* Forget a claimed warm container that turned out to be gone: release its claim, start over cold. */
void lifecycle_abandon(struct lifecycle *l);

/* Free what the lifecycle owns; the container itself is the caller's business (lifecycle_remove). */
void lifecycle_done(struct lifecycle *l);
