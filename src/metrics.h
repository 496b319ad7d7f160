/* SPDX-License-Identifier: MIT */
/* metrics: counters and histograms shared by every handler in a mapped file, rendered for Prometheus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define METRICS_MAX_CODES   48u /* error codes, by the caller's index */
#define METRICS_MAX_ENGINES 16u /* engines, by the caller's index */

/* The Content-Type of metrics_render()'s text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The file DIR/metrics opens with this header; a file with any other is replaced. */
#define METRICS_FILE_NAME "metrics"
#define METRICS_MAGIC     UINT64_C(0x3143495254454d44) /* "DMETRIC1" on little-endian hosts */
#define METRICS_LAYOUT    1u
struct metrics_header {
        uint64_t magic;
        uint32_t layout;
        uint32_t size;    /* of the whole file */
        char boot_id[40]; /* /proc/sys/kernel/random/boot_id, NUL-padded */
};

enum metrics_route {
        METRICS_ROUTE_ROOT,
        METRICS_ROUTE_VERSION,
        METRICS_ROUTE_RUN,
        METRICS_ROUTE_HEALTH,
        METRICS_ROUTE_METRICS,
        METRICS_ROUTE_OTHER,
        _METRICS_ROUTE_MAX,
};

enum metrics_phase {
        METRICS_PHASE_CLAIM,
        METRICS_PHASE_CREATE,
        METRICS_PHASE_ATTACH,
        METRICS_PHASE_START,
        METRICS_PHASE_RUN,
        METRICS_PHASE_REMOVE,
        _METRICS_PHASE_MAX,
};

struct metrics;

/*
 * Map DIR/metrics (DIR created 0700 when missing), counting since the host
 * booted: a file of another boot or layout is replaced by a new one, built
 * unnamed (O_TMPFILE, linked in through /proc/self/fd) and linked in whole,
 * so that every handler opening at once maps the same, initialized file.
 * Returns 0 or a negative errno; the caller then carries on with NULL, which
 * every function below accepts. Every update is one independent atomic add.
 */
int metrics_open(const char *dir, struct metrics **ret);

/* Unmap; accepts NULL and returns NULL. */
struct metrics *metrics_close(struct metrics *m);

/* docker_run_requests_total{route,status}; a status outside the fixed set counts as "other". */
void metrics_request(struct metrics *m, enum metrics_route route, int status);

/* docker_run_runs_total{result}: "ok", or the error of index code (< METRICS_MAX_CODES, else uncounted). */
void metrics_run_ok(struct metrics *m);
void metrics_run_error(struct metrics *m, unsigned code);

/* docker_run_warm_pool_total{outcome}: a warm container claimed (hit) or none free (miss). */
void metrics_warm(struct metrics *m, bool hit);

/* docker_run_engine_failures_total{engine}: engine is an index < METRICS_MAX_ENGINES, else not counted. */
void metrics_engine_failure(struct metrics *m, unsigned engine);

/*
 * Histograms, 5 ms to 60 s: docker_run_run_duration_seconds (a whole run
 * request), docker_run_queue_wait_seconds (the wait for a run slot) and
 * docker_run_engine_phase_seconds{engine,phase} (one phase of a run).
 */
void metrics_run_duration(struct metrics *m, usec_t usec);
void metrics_queue_wait(struct metrics *m, usec_t usec);
void metrics_engine_phase(struct metrics *m, unsigned engine, enum metrics_phase phase, usec_t usec);

struct metrics_engine {
        const char *name;
        bool up;
};

struct metrics_warm_image {
        const char *image;
        uint64_t count;
};

/*
 * What only the caller knows at a scrape: the names behind the indices and
 * the gauges, which are not stored. Label values are written escaped; they
 * must be UTF-8, and the images distinct.
 */
struct metrics_scrape {
        const char *const *codes; /* error code names by index; NULL entries are skipped */
        size_t n_codes;
        const struct metrics_engine *engines; /* by index */
        size_t n_engines;
        const struct metrics_warm_image *warm;
        size_t n_warm;
        uint64_t runs_in_flight;
        uint64_t runs_waiting;
};

/*
 * Render the Prometheus text format 0.0.4 into a new NUL-terminated string
 * of exactly the size it needs. With m NULL only the gauges are rendered.
 * Returns 0 or -ENOMEM.
 */
int metrics_render(const struct metrics *m, const struct metrics_scrape *s, char **ret, size_t *ret_len);

static inline void metrics_closep(struct metrics **m) {
        metrics_close(*m);
}
#define _cleanup_metrics_ _cleanup_(metrics_closep)
