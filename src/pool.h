/* SPDX-License-Identifier: MIT */
/* pool: warm containers, created and started ahead of time, each claimed by exactly one handler. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "docker.h"

/*
 * The pool instance: a digest of this machine's id and the runtime directory, carried by every warm
 * container as a label. Claims live in the runtime directory, so only containers of our own instance may be
 * claimed: two services sharing an engine (another runtime directory, another host) never claim each
 * other's.
 */
void pool_instance(const struct config *c, char ret[static 17]);

/*
 * Claim one running, unclaimed warm container of image. The claim is a file named after the container in the
 * runtime directory, linked into place whole (link() fails when it exists): of any number of handlers trying
 * at once exactly one gets it, and a claim file that exists means claimed, whatever it holds. It holds the
 * run's deadline (Unix seconds) for the sweeper. Returns 0 with the id, -ENOENT when none is free, or a
 * negative errno.
 */
int pool_claim(struct docker *d, const struct config *c, const char *image, int64_t deadline, char **ret_id);

/* Claim the container id itself (the sweeper, before it retires one): 0, -EEXIST when someone has it. */
int pool_claim_id(const struct config *c, const char *id, int64_t deadline);

#define POOL_MEMBERS_MAX 256 /* warm containers of one pool a handler considers (4 images x 64) */

/* Forget a removed warm container of image's pool on d's engine: the next claims do not try it. Call before
 * its release. */
void pool_forget(struct docker *d, const struct config *c, const char *image, const char *id);

/* Forget the claim of a removed container. */
void pool_release(const struct config *c, const char *id);

/*
 * The deadline of id's claim: what the claim says, or, when it cannot be read (a claim being written, or
 * torn), its file's age plus the longest a run may take. -ENOENT when it is not claimed.
 */
int pool_claim_deadline(const struct config *c, const char *id, int64_t *ret);

/* How many warm containers of image are running unclaimed: ready to serve. */
int pool_count(struct docker *d, const struct config *c, const char *image);

/*
 * Create and start warm containers of image until count of them are running unclaimed, at most max_new of
 * them now. Returns how many were started.
 */
int pool_fill(struct docker *d, const struct config *c, const char *image, unsigned count, unsigned max_new);
