/* SPDX-License-Identifier: MIT */
/* status: the service's own routes: GET / (who we are), /version, /health and /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "jsonc.h"
#include "metrics.h"
#include "pool.h"
#include "slots.h"
#include "status.h"
#include "version.h"

void status_root(struct request *q) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "name", json_object_new_string("docker-run")) < 0 ||
                json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION_STRING)) < 0 ||
                json_object_object_add(o, "description",
                        json_object_new_string("Api for running code in transient docker containers")) < 0 ||
                answer_ok_json(&q->answer, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
}

void status_version(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_json_ json_object *engine = NULL, *answer = NULL;
        int r;

        r = docker_new(q->config->docker_socket_path, q->config->docker_read_timeout_ms,
                q->config->docker_write_timeout_ms, &d);
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        docker_new_error(r));
        r = docker_version(d, &engine);
        if (r == -ELIBACC)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        docker_message(d));
        if (r == -EREMOTEIO || r == -EBADMSG || r == -EMSGSIZE)
                return answer_fail(&q->answer, APIERROR_DOCKER_VERSION, "Failed to get docker version: %s",
                        docker_message(d));
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s",
                        docker_message(d));
        if (version_json(engine, &answer) < 0 ||
                answer_ok_json(&q->answer, answer, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
}

/* For a load balancer's health check: cheap, no token, no container, no /info, one /_ping. */
void status_health(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_json_ json_object *o = NULL;
        const struct config *c = q->config;
        int r;

        r = docker_new(c->docker_socket_path, c->docker_read_timeout_ms, c->docker_write_timeout_ms, &d);
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        docker_new_error(r));
        r = docker_ping(d);
        o = json_object_new_object();
        if (!o ||
                json_object_object_add(o, "status", json_object_new_string(r < 0 ? "unavailable" : "ok")) <
                        0 ||
                (r < 0 && json_object_object_add(o, "reason", json_object_new_string(docker_message(d))) <
                                  0) ||
                answer_ok_json(&q->answer, o, JSON_C_TO_STRING_SPACED) < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        if (r < 0)
                q->answer.status = 503;
}

/* Warm containers per image, asked of the engine; none when it does not answer. */
static size_t warm_gauges(
        struct docker *d, const struct config *c, struct metrics_warm_image *ret, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_warm && n < max; i++) {
                int r = pool_count(d, c, c->warm[i].image);

                if (r < 0)
                        continue;
                ret[n++] = (struct metrics_warm_image){ .image = c->warm[i].image, .count = (uint64_t)r };
        }
        return n;
}

void status_metrics(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_metrics_ struct metrics *m = NULL;
        const struct config *c = q->config;
        const char *codes[METRICS_MAX_CODES] = { 0 };
        struct metrics_warm_image warm[32];
        struct metrics_engine engine;
        unsigned held = 0, waiting = 0;
        char *text = NULL;
        size_t len = 0;
        int r;

        for (size_t i = 0; i < _APIERROR_MAX && i < METRICS_MAX_CODES; i++)
                codes[i] = apierror_code((enum apierror)i);
        r = docker_new(c->docker_socket_path, c->docker_read_timeout_ms, c->docker_write_timeout_ms, &d);
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        docker_new_error(r));
        engine = (struct metrics_engine){ .name = c->docker_socket_path, .up = docker_ping(d) == 0 };
        (void)slots_count(c->runtime_dir, CONFIG_CONCURRENT_MAX, &held, NULL, 0);
        (void)slots_waiting(c->runtime_dir, &waiting);
        if (metrics_open(c->runtime_dir, &m) < 0)
                m = NULL; /* the gauges still tell */
        r = metrics_render(m,
                &(struct metrics_scrape){
                        .codes = codes,
                        .n_codes = METRICS_MAX_CODES,
                        .engines = &engine,
                        .n_engines = 1,
                        .warm = warm,
                        .n_warm = engine.up ? warm_gauges(d, c, warm, ELEMENTSOF(warm)) : 0,
                        .runs_in_flight = held,
                        .runs_waiting = waiting,
                },
                &text, &len);
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        answer_ok(&q->answer, text, len);
        q->answer.content_type = METRICS_CONTENT_TYPE;
}
