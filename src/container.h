/* SPDX-License-Identifier: MIT */
/* container: the engine's create body for one run, built from the configuration alone. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

/* Every container of ours carries this label; the sweeper and the tests find them by it. */
#define CONTAINER_LABEL          "docker-run.managed"
#define CONTAINER_LABEL_REQUEST  "docker-run.request-id"
#define CONTAINER_LABEL_DEADLINE "docker-run.deadline" /* Unix time after which the run is over */
#define CONTAINER_LABEL_POOL     "docker-run.pool"     /* a warm container of this image's pool */
#define CONTAINER_LABEL_CONFIG   "docker-run.config"   /* a warm container's configuration, hashed */

/*
 * The body of POST /containers/create: the run's limits exactly as
 * configured, no-new-privileges always, memory without hidden swap, the
 * pids cgroup limit, and our labels. A run's container carries its request
 * id and deadline (Unix seconds); a warm one (pool true) the pool label
 * instead, its run not known yet.
 */
int container_config_json(const struct config *c, const char *image, const char *request_id,
        int64_t deadline, bool pool, json_object **ret);

/*
 * A digest of everything a warm container of image is created with, so that
 * one created under another configuration is never claimed. 16 hex digits.
 */
int container_config_hash(const struct config *c, const char *image, char ret[static 17]);
