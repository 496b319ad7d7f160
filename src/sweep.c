/* SPDX-License-Identifier: MIT */
/* sweep: remove our containers whose run is long over, the safety net for a killed handler. */
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

bool sweep_expired(json_object *container, int64_t now, int64_t grace_sec, uint64_t max_execution_time_ms) {
        json_object *labels, *v;
        int64_t deadline;

        if (json_object_object_get_ex(container, "Labels", &labels) &&
                json_object_object_get_ex(labels, CONTAINER_LABEL_DEADLINE, &v) &&
                parse_int64(json_object_get_string(v), &deadline))
                return now > deadline + grace_sec;
        /* No readable deadline: judge by age, as if the run had started when the container was created. */
        if (json_object_object_get_ex(container, "Created", &v) && json_object_is_type(v, json_type_int))
                return now > json_object_get_int64(v) + (int64_t)(max_execution_time_ms / 1000) + grace_sec;
        return false;
}

int sweep_run(const struct config *c, int64_t grace_sec) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_json_ json_object *list = NULL;
        int64_t now = (int64_t)time(NULL);
        int removed = 0, r;

        r = docker_new(c->docker_socket_path, c->docker_read_timeout_ms, &d);
        if (r < 0)
                return r;
        r = docker_list(d, CONTAINER_LABEL "=true", &list);
        if (r < 0) {
                log_message(LOG_ERR, "Failed to list containers labelled %s: %s", CONTAINER_LABEL,
                        docker_message(d));
                return r;
        }
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *container = json_object_array_get_idx(list, i), *id;

                if (!json_object_object_get_ex(container, "Id", &id) ||
                        !sweep_expired(container, now, grace_sec, c->max_execution_time_ms))
                        continue;
                r = docker_remove(d, json_object_get_string(id));
                if (r < 0) {
                        log_message(LOG_WARNING, "Failed to remove leftover container %s: %s, ignoring",
                                json_object_get_string(id), docker_message(d));
                        continue;
                }
                log_message(LOG_NOTICE, "Removed leftover container %s, past its deadline", json_object_get_string(id));
                removed++;
        }
        return removed;
}
