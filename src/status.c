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

static int client(const struct config *c, size_t i, struct docker **ret) {
        return docker_new(
                &c->engines[i], c->cert_path, c->docker_read_timeout_ms, c->docker_write_timeout_ms, ret);
}

/* The first engine that answers: an engine that cannot be reached is passed over, one that answers with an
 * error is the answer. */
void status_version(struct request *q) {
        const struct config *c = q->config;
        _cleanup_json_ json_object *engine = NULL, *answer = NULL;
        char last[512] = "";
        int r = -ENOENT;

        for (size_t i = 0; i < c->n_engines; i++) {
                _cleanup_docker_ struct docker *d = NULL;

                r = client(c, i, &d);
                if (r < 0)
                        return answer_fail(&q->answer, APIERROR_INTERNAL,
                                "The engine client is unavailable: %s", docker_new_error(r));
                r = docker_version(d, &engine);
                if (r == -ELIBACC)
                        return answer_fail(&q->answer, APIERROR_INTERNAL,
                                "The engine client is unavailable: %s", docker_message(d));
                if (r == -EREMOTEIO || r == -EBADMSG || r == -EMSGSIZE)
                        return answer_fail(&q->answer, APIERROR_DOCKER_VERSION,
                                "Failed to get docker version: %s", docker_message(d));
                if (r == 0)
                        break;
                snprintf(last, sizeof(last), c->n_engines > 1 ? "%s: %s" : "%.0s%s", c->engines[i].name,
                        docker_message(d));
        }
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s", last);
        if (version_json(engine, &answer) < 0 ||
                answer_ok_json(&q->answer, answer, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
}

/*
 * For a load balancer's health check: cheap, no token, no container, no /info, one /_ping per engine. 200
 * while at least one engine answers; each engine's state under "engines". What it finds marks the engines
 * up or down for the runs of this host too.
 */
void status_health(struct request *q) {
        _cleanup_json_ json_object *o = json_object_new_object(), *list = json_object_new_array();
        const struct config *c = q->config;
        const char *reason = NULL;
        char first_reason[512] = "";
        size_t up = 0;

        if (!o || !list)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        for (size_t i = 0; i < c->n_engines; i++) {
                _cleanup_docker_ struct docker *d = NULL;
                json_object *e = json_object_new_object();
                int r;

                if (!e || json_object_array_add(list, e) < 0) {
                        json_object_put(e);
                        return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
                }
                r = client(c, i, &d);
                if (r < 0)
                        return answer_fail(&q->answer, APIERROR_INTERNAL,
                                "The engine client is unavailable: %s", docker_new_error(r));
                r = docker_ping(d);
                if (r == 0) {
                        up++;
                        engine_mark_up(c->runtime_dir, &c->engines[i]);
                } else if (r != -ELIBACC && r != -ENOMEM) {
                        engine_mark_down(c->runtime_dir, &c->engines[i]);
                        if (!first_reason[0])
                                snprintf(first_reason, sizeof(first_reason), "%s", docker_message(d));
                }
                if (json_object_object_add(e, "engine", json_object_new_string(c->engines[i].name)) < 0 ||
                        json_object_object_add(
                                e, "status", json_object_new_string(r < 0 ? "unavailable" : "ok")) < 0 ||
                        (r < 0 && json_object_object_add(
                                          e, "reason", json_object_new_string(docker_message(d))) < 0))
                        return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        }
        if (up == 0)
                reason = first_reason[0] ? first_reason : "no engine answers";
        if (json_object_object_add(o, "status", json_object_new_string(up ? "ok" : "unavailable")) < 0 ||
                (reason && json_object_object_add(o, "reason", json_object_new_string(reason)) < 0) ||
                json_object_object_add(o, "engines", json_object_get(list)) < 0 ||
                answer_ok_json(&q->answer, o, JSON_C_TO_STRING_SPACED) < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        if (!up)
                q->answer.status = 503;
}

/* Warm containers per image, asked of each engine that answers, summed; none when none answers. */
static size_t warm_gauges(struct docker **d, const struct metrics_engine *engines, const struct config *c,
        struct metrics_warm_image *ret, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < c->n_warm && n < max; i++) {
                uint64_t sum = 0;
                bool any = false;

                for (size_t k = 0; k < c->n_engines; k++) {
                        int r = engines[k].up ? pool_count(d[k], c, c->warm[i].image) : -ENOENT;

                        if (r >= 0) {
                                sum += (uint64_t)r;
                                any = true;
                        }
                }
                if (any)
                        ret[n++] = (struct metrics_warm_image){ .image = c->warm[i].image, .count = sum };
        }
        return n;
}

void status_metrics(struct request *q) {
        struct docker *d[ENGINES_MAX] = { 0 };
        _cleanup_metrics_ struct metrics *m = NULL;
        const struct config *c = q->config;
        const char *codes[METRICS_MAX_CODES] = { 0 };
        struct metrics_warm_image warm[32];
        struct metrics_engine engines[ENGINES_MAX];
        unsigned held = 0, waiting = 0;
        char *text = NULL;
        size_t len = 0;
        int r = 0;

        for (size_t i = 0; i < _APIERROR_MAX && i < METRICS_MAX_CODES; i++)
                codes[i] = apierror_code((enum apierror)i);
        for (size_t i = 0; i < c->n_engines && r >= 0; i++) {
                r = client(c, i, &d[i]);
                engines[i] = (struct metrics_engine){ .name = c->engines[i].name,
                        .up = r >= 0 && docker_ping(d[i]) == 0 };
        }
        if (r < 0) {
                for (size_t i = 0; i < c->n_engines; i++)
                        docker_free(d[i]);
                return answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        docker_new_error(r));
        }
        (void)slots_count(c->runtime_dir, CONFIG_CONCURRENT_MAX, &held, NULL, 0);
        (void)slots_waiting(c->runtime_dir, &waiting);
        if (metrics_open(c->runtime_dir, &m) < 0)
                m = NULL; /* the gauges still tell */
        r = metrics_render(m,
                &(struct metrics_scrape){
                        .codes = codes,
                        .n_codes = METRICS_MAX_CODES,
                        .engines = engines,
                        .n_engines = c->n_engines,
                        .warm = warm,
                        .n_warm = warm_gauges(d, engines, c, warm, ELEMENTSOF(warm)),
                        .runs_in_flight = held,
                        .runs_waiting = waiting,
                },
                &text, &len);
        for (size_t i = 0; i < c->n_engines; i++)
                docker_free(d[i]);
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        answer_ok(&q->answer, text, len);
        q->answer.content_type = METRICS_CONTENT_TYPE;
}
