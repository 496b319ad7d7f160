/* SPDX-License-Identifier: MIT */
/* slots: host-wide run slots shared by all handler processes, behind a first-come-first-served queue. */
#pragma once

#include <poll.h>
#include <stddef.h>

#include "util.h"

/*
 * Under DIR: slots/slot-K (K < count) are FIFOs, a slot being held by
 * whoever holds flock(LOCK_EX) on it, so the kernel frees the slot of a
 * holder that dies; slots/tag-K holds its holder's tag. queue/q-TICKET are
 * FIFOs too, one per waiter, each flocked by its owner while it waits;
 * queue/state holds the ticket counter and the lowest possibly-live ticket.
 * Processes configured with different counts may share DIR: each uses only
 * the slots below its own count. A slot is held by an open descriptor
 * (O_CLOEXEC): a child forked while holding it keeps it until it exits or
 * execs.
 */

/* The largest count: a waiting head keeps one descriptor per slot open. */
#define SLOTS_COUNT_MAX 256
/* The most cancellation descriptors slots_acquire() watches. */
#define SLOTS_CANCEL_MAX 8

struct slots;

/* Open the slots under dir (created 0700 if missing, with its subdirectories); count in 1..SLOTS_COUNT_MAX.
 */
int slots_open(const char *dir, unsigned count, struct slots **ret);

/* Release a held slot and free s; NULL is accepted. */
struct slots *slots_free(struct slots *s);

/*
 * Wait in the queue, first come first served, then take a free slot.
 * Returns 0 holding a slot (*ret_waited the time spent, when not NULL),
 * -ETIMEDOUT when deadline (monotonic, from now_usec()) passes first (a
 * deadline already past tries once, still behind any earlier waiter),
 * -ECANCELED as soon as one of the n_cancel (at most SLOTS_CANCEL_MAX)
 * descriptors reports any event, -EBUSY when s already holds a slot, or
 * another negative errno. Only a success leaves a slot held.
 */
int slots_acquire(
        struct slots *s, usec_t deadline, const struct pollfd *cancel, size_t n_cancel, usec_t *ret_waited);

/* Label the held slot with tag (e.g. the engine's index), for slots_count(); -ENOLCK when none is held. */
int slots_set_tag(struct slots *s, unsigned tag);

/* Give the held slot back, if any. */
void slots_release(struct slots *s);

/*
 * Count the held slots among the first count under dir into *ret_held, and
 * per tag into per_tag[0..n_tags) (held slots with no tag, or a larger one,
 * are counted in *ret_held only). A missing dir counts as no slot held.
 */
int slots_count(const char *dir, unsigned count, unsigned *ret_held, unsigned *per_tag, size_t n_tags);

/* Count the processes waiting in the queue under dir (0 when dir is missing). */
int slots_waiting(const char *dir, unsigned *ret);
