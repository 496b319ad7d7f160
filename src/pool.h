/* SPDX-License-Identifier: MIT */
/* pool: warm containers, created and started ahead of time, each claimed by exactly one handler. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "docker.h"

/*
 * Claim one running, unclaimed warm container of image. The claim is the
 * exclusive creation (O_CREAT|O_EXCL) of a file named after the container
 * in the runtime directory: of any number of handlers trying at once,
 * exactly one creates it. The file holds the run's deadline (Unix seconds)
 * for the sweeper. Returns 0 with the id, -ENOENT when none is free, or a
 * negative errno.
 */
int pool_claim(struct docker *d, const struct config *c, const char *image, int64_t deadline, char **ret_id);

/* Forget the claim of a removed container. */
void pool_release(const struct config *c, const char *id);

/* The deadline written by the claim of id, or -ENOENT when it is not claimed. */
int pool_claim_deadline(const struct config *c, const char *id, int64_t *ret);

/*
 * Create and start warm containers of image until count of them are running
 * unclaimed, at most max_new of them now. Returns how many were started.
 */
int pool_fill(struct docker *d, const struct config *c, const char *image, unsigned count, unsigned max_new);
