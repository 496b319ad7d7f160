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
#define CONTAINER_LABEL_INSTANCE "docker-run.instance" /* the service whose pool a warm container is in */
#define CONTAINER_LABEL_KEEP     "docker-run.keep"     /* DEBUG_KEEP_CONTAINER: the sweeper leaves it */

/* What one container is created for, besides the configuration. */
struct container_params {
        const char *image;
        const char *request_id; /* a run's container: its request id and deadline */
        int64_t deadline;       /* Unix seconds */
        int64_t memory;         /* the memory limit: the configured one, or lower when the request asks */
        const char *instance;   /* a warm container: the pool instance it belongs to (pool_instance()) */
};

/*
 * The body of POST /containers/create: the run's limits exactly as
 * configured (memory as p asks), no-new-privileges always, memory without
 * hidden swap, the pids cgroup limit, and our labels. A run's container
 * carries its request id and deadline (Unix seconds); a warm one (p->instance
 * set) the pool, instance and configuration labels instead, its run not
 * known yet.
 */
int container_config_json(const struct config *c, const struct container_params *p, json_object **ret);

/*
 * A digest of everything a warm container of image is created with, so that
 * one created under another configuration is never claimed. 16 hex digits.
 */
int container_config_hash(const struct config *c, const char *image, char ret[static 17]);
