/* SPDX-License-Identifier: MIT */
/* container: the engine's create body for one run, built from the configuration alone. */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

/* Every container of ours carries this label; the sweeper and the tests find them by it. */
#define CONTAINER_LABEL          "docker-run.managed"
#define CONTAINER_LABEL_REQUEST  "docker-run.request-id"
#define CONTAINER_LABEL_DEADLINE "docker-run.deadline" /* Unix time after which the run is over */

/*
 * The body of POST /containers/create: the run's limits exactly as
 * configured, no-new-privileges always, memory without hidden swap, the
 * pids cgroup limit, and our labels. deadline is Unix seconds.
 */
int container_config_json(const struct config *c, const char *image, const char *request_id,
        int64_t deadline, json_object **ret);
