/* SPDX-License-Identifier: MIT */
/* sweep: remove our containers whose run is long over, retire stale warm ones, refill the pools. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <json-c/json.h>

#include "container.h"
#include "docker.h"
#include "log.h"
#include "pool.h"
#include "sweep.h"
#include "util.h"

static bool parse_int64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !*s || strspn(s, "0123456789") != strlen(s))
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end)
                return false;
        *ret = v;
        return true;
}

static const char *string_field(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool created(json_object *container, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(container, "Created", &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

bool sweep_expired(json_object *container, const struct sweep_facts *f) {
        json_object *labels = NULL;
        const char *state;
        int64_t deadline, born;

        json_object_object_get_ex(container, "Labels", &labels);
        if (string_field(labels, CONTAINER_LABEL_POOL)) {
                if (f->claim_deadline >= 0)
                        return f->now > f->claim_deadline + f->grace_sec;
                state = string_field(container, "State");
                if (f->pool_count == 0 || !f->config_current || !state || !streq(state, "running"))
                        return true;
                return created(container, &born) && f->now > born + (int64_t)(f->warm_max_age_ms / 1000);
        }
        if (parse_int64(string_field(labels, CONTAINER_LABEL_DEADLINE), &deadline))
                return f->now > deadline + f->grace_sec;
        /* No readable deadline: judge by age, as if the run had started when the container was created. */
        if (created(container, &born))
                return f->now > born + (int64_t)(f->max_execution_time_ms / 1000) + f->grace_sec;
        return false;
}

static int sweep_one(
        struct docker *d, const struct config *c, json_object *container, int64_t now, int64_t grace_sec) {
        struct sweep_facts f = {
                .now = now,
                .grace_sec = grace_sec,
                .max_execution_time_ms = c->max_execution_time_ms,
                .warm_max_age_ms = c->warm_max_age_ms,
                .claim_deadline = -1,
        };
        const char *id = string_field(container, "Id"), *pool;
        json_object *labels = NULL;
        int r;

        if (!id)
                return 0;
        json_object_object_get_ex(container, "Labels", &labels);
        pool = string_field(labels, CONTAINER_LABEL_POOL);
        if (pool) {
                char hash[17];
                const char *have = string_field(labels, CONTAINER_LABEL_CONFIG);

                f.pool_count = config_warm_count(c, pool);
                f.config_current = have && container_config_hash(c, pool, hash) == 0 && streq(have, hash);
                if (pool_claim_deadline(c, id, &f.claim_deadline) < 0)
                        f.claim_deadline = -1;
        }
        if (!sweep_expired(container, &f))
                return 0;
        r = docker_remove(d, id);
        if (r < 0) {
                log_message(LOG_WARNING, "Failed to remove leftover container %s: %s, ignoring", id,
                        docker_message(d));
                return 0;
        }
        if (pool)
                pool_release(c, id);
        log_message(LOG_NOTICE, "Removed %s container %s", pool ? "stale warm" : "leftover", id);
        return 1;
}

int sweep_run(const struct config *c, int64_t grace_sec) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_json_ json_object *list = NULL;
        int64_t now = (int64_t)time(NULL);
        int removed = 0, r;

        r = docker_new(c->docker_socket_path, c->docker_read_timeout_ms, &d);
        if (r < 0)
                return r;
        r = docker_list(d, CONTAINER_LABEL "=true", NULL, &list);
        if (r < 0) {
                log_message(LOG_ERR, "Failed to list containers labelled %s: %s", CONTAINER_LABEL,
                        docker_message(d));
                return r;
        }
        for (size_t i = 0; i < json_object_array_length(list); i++)
                removed += sweep_one(d, c, json_object_array_get_idx(list, i), now, grace_sec);

        /* After a restart, a crash or a burst, the pools are topped up here. */
        for (size_t i = 0; i < c->n_warm; i++) {
                const char *image = c->warm[i].image;

                r = pool_fill(d, c, image, c->warm[i].count, c->warm[i].count);
                if (r < 0)
                        log_message(LOG_WARNING, "Failed to fill the warm pool of %s: %s, ignoring", image,
                                docker_message(d));
                else if (r > 0)
                        log_message(LOG_INFO, "Started %d warm container(s) for %s", r, image);
        }
        return removed;
}
