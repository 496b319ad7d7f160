/* SPDX-License-Identifier: MIT */
/* status: the service's own routes: GET / (who we are), /version, /health and /metrics. */
#pragma once

#include "request.h"

/* GET /: the service's name, version and description, as the original answered. */
void status_root(struct request *q);

/* GET /version: the engine's version, re-cased as the original answered. */
void status_version(struct request *q);

/* GET /health: 200 {"status": "ok"} when the engine answers /_ping, else 503 with the reason. */
void status_health(struct request *q);

/* GET /metrics: the Prometheus text exposition of the counters, histograms and gauges. */
void status_metrics(struct request *q);
