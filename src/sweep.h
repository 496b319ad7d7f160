/* SPDX-License-Identifier: MIT */
/* sweep: remove our containers whose run is long over, the safety net for a killed handler. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

/* How long past its deadline a container may live before the sweeper takes it. */
#define SWEEP_GRACE_SEC 30

/*
 * Whether a container from the engine's list is over: its docker-run.deadline
 * label plus the grace has passed, or, without a readable label, its creation
 * plus the execution limit and the grace. now is Unix seconds. Pure.
 */
bool sweep_expired(json_object *container, int64_t now, int64_t grace_sec, uint64_t max_execution_time_ms);

/* List, decide, remove; logs each removal. Returns how many were removed, or a negative errno. */
int sweep_run(const struct config *c, int64_t grace_sec);
