/* SPDX-License-Identifier: MIT */
/* sweep: remove our containers whose run is long over, retire stale warm ones, refill the pools. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

/* How long past its deadline a container may live before the sweeper takes it. */
#define SWEEP_GRACE_SEC     30
#define SWEEP_GRACE_MAX_SEC (10u * 366u * 86400u) /* ten years: more is a mistake, not a grace */

/* What the sweeper knows of one container besides the engine's listing. */
struct sweep_facts {
        int64_t now; /* Unix seconds */
        int64_t grace_sec;
        uint64_t max_execution_time_ms;
        uint64_t warm_max_age_ms;
        int64_t claim_deadline; /* a warm container's claim, -1 when unclaimed */
        unsigned pool_count;    /* how many the configuration keeps of its pool's image */
        bool config_current;    /* a warm container was created under the present configuration */
};

/*
 * Whether a container from the engine's list is to be removed. A run's
 * container: its docker-run.deadline label plus the grace has passed (or,
 * without a readable label, its creation plus the execution limit and the
 * grace). A warm container: claimed, when the claim's deadline plus the
 * grace has passed; unclaimed, when it no longer runs, is older than the
 * maximum age, was created under another configuration, or its image has
 * no pool any more. Pure.
 */
bool sweep_expired(json_object *container, const struct sweep_facts *f);

/* One pass: remove what is expired, then top up every pool. Returns how many were removed, or a negative
 * errno. */
int sweep_run(const struct config *c, int64_t grace_sec);
