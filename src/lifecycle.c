/* SPDX-License-Identifier: MIT */
/* lifecycle: one run's container on the engine: created or claimed, attached, started, removed. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "container.h"
#include "lifecycle.h"
#include "pool.h"

/* Removal that the engine refuses or is too slow for is tried again after these pauses (ms), then given up.
 */
static const unsigned remove_backoff_ms[] = { 50, 200, 500, 1000, 2000, 4000, 8000 };

void lifecycle_init(struct lifecycle *l, struct docker *d, const struct config *c, const char *request_id) {
        *l = (struct lifecycle){ .docker = d, .config = c, .request_id = request_id };
        snprintf(l->name, sizeof(l->name), "docker-run-%s", request_id);
}

int lifecycle_create(struct lifecycle *l, const char *image, int64_t memory, int64_t wall_deadline) {
        _cleanup_json_ json_object *body = NULL;
        struct container_params p = {
                .image = image,
                .request_id = l->request_id,
                .deadline = wall_deadline,
                .memory = memory,
        };
        usec_t t;
        int r;

        r = container_config_json(l->config, &p, &body);
        if (r < 0)
                return r;
        t = now_usec();
        r = docker_create(l->docker, l->name, body, &l->id);
        l->create_usec = now_usec() - t;
        /* A create that may have reached the engine may have made the container, answer or not: only a
         * refusal, or one that never left (no libcurl, no memory, no socket), says for sure it did not. */
        l->maybe_created = !(r == -EREMOTEIO || r == -ELIBACC || r == -ENOMEM || r == -ENAMETOOLONG ||
                             r == -ENOENT || r == -ECONNREFUSED || (r < 0 && docker_unsent(l->docker)));
        return r;
}

int lifecycle_claim(struct lifecycle *l, const char *image, int64_t wall_deadline) {
        usec_t t = now_usec();
        int r;

        if (config_warm_count(l->config, image) == 0)
                return -ENOENT;
        r = pool_claim(l->docker, l->config, image, wall_deadline, &l->id);
        if (r < 0)
                return -ENOENT;
        l->warm = true;
        l->image = image;
        l->running = true;
        l->claim_usec = now_usec() - t;
        return 0;
}

int lifecycle_attach(struct lifecycle *l, struct docker_stream **ret) {
        usec_t t = now_usec();
        int r;

        r = docker_attach(l->docker, l->id, t + l->config->docker_read_timeout_ms * USEC_PER_MSEC, ret);
        l->attach_usec = now_usec() - t;
        return r;
}

int lifecycle_start(struct lifecycle *l) {
        usec_t t = now_usec();
        int r;

        r = docker_start(l->docker, l->id);
        l->start_usec = now_usec() - t;
        if (r >= 0)
                l->running = true;
        return r;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int lifecycle_remove(struct lifecycle *l, usec_t deadline) {
        const char *ref = l->id ?: l->name;
        usec_t t = now_usec();
        int r;

        if (!l->id && !l->maybe_created)
                return 0;
        if (l->config->debug_keep_container) {
                if (l->id && l->running)
                        return docker_kill(l->docker, l->id);
                return 0;
        }
        for (size_t i = 0;; i++) {
                r = docker_remove(l->docker, ref);
                /* What no retry can mend: the engine client cannot be loaded, or memory. */
                if (r >= 0 || r == -ELIBACC || r == -ENOMEM || i >= ELEMENTSOF(remove_backoff_ms) ||
                        now_usec() + remove_backoff_ms[i] * USEC_PER_MSEC >= deadline)
                        break;
                sleep_ms(remove_backoff_ms[i]);
        }
        l->remove_usec = now_usec() - t;
        /* Out of the member file first: no claim can pick it up between its release and the next refill. */
        if (r >= 0 && l->warm) {
                pool_forget(l->docker, l->config, l->image, l->id);
                pool_release(l->config, l->id);
        }
        return r;
}

int lifecycle_state(struct lifecycle *l, usec_t deadline, struct docker_state *ret) {
        int r;

        if (!l->id)
                return -ENOENT;
        for (;;) {
                r = docker_inspect_state(l->docker, l->id, ret);
                if (r < 0 || !ret->running)
                        return r;
                if (now_usec() + 20 * USEC_PER_MSEC >= deadline)
                        return -ETIME;
                sleep_ms(20);
        }
}

void lifecycle_abandon(struct lifecycle *l) {
        if (l->warm && l->id) {
                pool_forget(l->docker, l->config, l->image, l->id);
                pool_release(l->config, l->id);
        }
        free(l->id);
        l->id = NULL;
        l->warm = l->running = false;
}

void lifecycle_done(struct lifecycle *l) {
        free(l->id);
        l->id = NULL;
}
