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

#define SWEEP_PAGE       200 /* containers per list answer: a few hundred KiB whatever is left over */
#define SWEEP_BUDGET_SEC 90  /* removing stops after this long; the next pass goes on */

/* What the sweeper knows of one container besides the engine's listing. */
struct sweep_facts {
        int64_t now; /* Unix seconds */
        int64_t grace_sec;
        int64_t run_seconds; /* config_run_seconds() */
        uint64_t warm_max_age_ms;
        int64_t claim_deadline; /* a warm container's claim, -1 when unclaimed */
        unsigned pool_count;    /* how many the configuration keeps of its pool's image */
        bool config_current;    /* a warm container was created under the present configuration */
        bool own_instance;      /* a warm container of this service's pool instance */
};

enum sweep_verdict {
        SWEEP_KEEP,
        SWEEP_REMOVE, /* a run's container, or a claimed warm one, past its deadline and the grace */
        SWEEP_RETIRE, /* an unclaimed warm container of ours: claim it, then remove it */
};

/*
 * What to do with a container from the engine's list. Kept: DEBUG_KEEP_CONTAINER's (label docker-run.keep),
 * another instance's warm containers, and whatever is within its deadline plus the grace. A run's
 * container is removed once its docker-run.deadline label plus the grace has passed (without a readable
 * label: its creation plus the longest run plus the grace). A warm container of ours: claimed, removed once
 * the claim's deadline plus the grace has passed; unclaimed, retired when it no longer runs, is older than
 * the maximum age, was created under another configuration, or its image has no pool any more. Pure.
 */
enum sweep_verdict sweep_judge(json_object *container, const struct sweep_facts *f);

/*
 * One pass: list every container of ours a page at a time, remove what is expired (for at most
 * SWEEP_BUDGET_SEC), then top up every pool. Progress goes to the journal. Returns how many were removed, or
 * a negative errno.
 */
int sweep_run(const struct config *c, int64_t grace_sec);
