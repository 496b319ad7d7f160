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
#include "parse.h"
#include "pool.h"
#include "sweep.h"
#include "util.h"

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

/* Whether time t lies more than a and b seconds before now: in 128 bits, so that no value an engine or a
 * label can hold wraps around into "long ago". */
static bool past(int64_t now, int64_t a, int64_t b, int64_t t) {
        return (__int128)now - a - b > (__int128)t;
}

enum sweep_verdict sweep_judge(json_object *container, const struct sweep_facts *f) {
        json_object *labels = NULL;
        const char *state, *label;
        int64_t born;
        uint64_t deadline;

        json_object_object_get_ex(container, "Labels", &labels);
        label = string_field(labels, CONTAINER_LABEL_KEEP);
        if (label && streq(label, "true"))
                return SWEEP_KEEP;
        if (string_field(labels, CONTAINER_LABEL_POOL)) {
                /* Another service's pool: its claims are in its runtime directory, not ours to judge. */
                if (!f->own_instance)
                        return SWEEP_KEEP;
                if (f->claim_deadline >= 0)
                        return past(f->now, f->grace_sec, 0, f->claim_deadline) ? SWEEP_REMOVE : SWEEP_KEEP;
                state = string_field(container, "State");
                if (f->pool_count == 0 || !f->config_current || !state || !streq(state, "running"))
                        return SWEEP_RETIRE;
                if (created(container, &born) && past(f->now, (int64_t)(f->warm_max_age_ms / 1000), 0, born))
                        return SWEEP_RETIRE;
                return SWEEP_KEEP;
        }
        label = string_field(labels, CONTAINER_LABEL_DEADLINE);
        if (label && parse_u64_str(label, 0, INT64_MAX, &deadline) == 0)
                return past(f->now, f->grace_sec, 0, (int64_t)deadline) ? SWEEP_REMOVE : SWEEP_KEEP;
        /* No readable deadline: judge by age, as if the run had started when the container was created. */
        if (created(container, &born))
                return past(f->now, f->grace_sec, f->run_seconds, born) ? SWEEP_REMOVE : SWEEP_KEEP;
        return SWEEP_KEEP;
}

/* What the sweeper decided to remove, collected from every page before anything is removed: the pages are
 * read with "before" the last container of the page, which must still exist. */
struct doomed {
        char id[65];
        char *pool; /* a warm container's image, owned */
        bool retire;
};

struct sweep {
        const struct config *c;
        struct docker *d;
        int64_t now, grace_sec;
        char instance[17];
        struct doomed *doomed;
        size_t n_doomed, allocated;
        size_t listed, pages;
};

static int judge_one(struct sweep *s, json_object *container) {
        struct sweep_facts f = {
                .now = s->now,
                .grace_sec = s->grace_sec,
                .run_seconds = config_run_seconds(s->c),
                .warm_max_age_ms = s->c->warm_max_age_ms,
                .claim_deadline = -1,
        };
        const char *id = string_field(container, "Id"), *pool;
        json_object *labels = NULL;
        enum sweep_verdict v;

        if (!id || strlen(id) > 64)
                return 0;
        json_object_object_get_ex(container, "Labels", &labels);
        pool = string_field(labels, CONTAINER_LABEL_POOL);
        if (pool) {
                const char *have = string_field(labels, CONTAINER_LABEL_CONFIG),
                           *instance = string_field(labels, CONTAINER_LABEL_INSTANCE);
                char hash[17];

                f.own_instance = instance && streq(instance, s->instance);
                f.pool_count = config_warm_count(s->c, pool);
                f.config_current = have && container_config_hash(s->c, pool, hash) == 0 && streq(have, hash);
                if (f.own_instance && pool_claim_deadline(s->c, id, &f.claim_deadline) < 0)
                        f.claim_deadline = -1;
        }
        v = sweep_judge(container, &f);
        if (v == SWEEP_KEEP)
                return 0;
        if (s->n_doomed == s->allocated) {
                size_t n = s->allocated ? s->allocated * 2 : 256;
                struct doomed *p = reallocarray(s->doomed, n, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                s->doomed = p;
                s->allocated = n;
        }
        snprintf(s->doomed[s->n_doomed].id, sizeof(s->doomed[0].id), "%s", id);
        s->doomed[s->n_doomed].pool = pool ? strdup(pool) : NULL;
        if (pool && !s->doomed[s->n_doomed].pool)
                return -ENOMEM;
        s->doomed[s->n_doomed].retire = v == SWEEP_RETIRE;
        s->n_doomed++;
        return 0;
}

/* Every container of ours, a page at a time: one answer never grows with the number of leftovers. */
static int list_all(struct sweep *s) {
        char before[65] = "";

        for (;;) {
                _cleanup_json_ json_object *page = NULL;
                size_t n;
                int r;

                r = docker_list(s->d,
                        &(struct docker_list_query){ .labels = { CONTAINER_LABEL "=true" },
                                .before = before[0] ? before : NULL,
                                .limit = SWEEP_PAGE },
                        &page);
                if (r < 0)
                        return r;
                n = json_object_array_length(page);
                s->pages++;
                s->listed += n;
                for (size_t i = 0; i < n; i++) {
                        r = judge_one(s, json_object_array_get_idx(page, i));
                        if (r < 0)
                                return r;
                }
                if (n < SWEEP_PAGE)
                        return 0;
                snprintf(before, sizeof(before), "%s",
                        string_field(json_object_array_get_idx(page, n - 1), "Id") ?: "");
                if (!before[0])
                        return -EBADMSG;
                if (s->pages % 10 == 0)
                        log_message(LOG_INFO, "Sweep: %zu containers listed, %zu to remove so far",
                                s->listed, s->n_doomed);
        }
}

static int remove_doomed(struct sweep *s, usec_t budget_end, size_t *ret_retired) {
        int removed = 0;

        *ret_retired = 0;
        for (size_t i = 0; i < s->n_doomed; i++) {
                struct doomed *x = &s->doomed[i];
                int r;

                if (now_usec() >= budget_end) {
                        log_message(LOG_WARNING,
                                "Sweep: time is up, %zu container(s) left for the next pass",
                                s->n_doomed - i);
                        break;
                }
                /* An unclaimed warm container may be claimed by a handler right now: claim it first. */
                if (x->retire && pool_claim_id(s->c, x->id, s->now + config_run_seconds(s->c)) < 0)
                        continue;
                r = docker_remove(s->d, x->id);
                if (r < 0) {
                        log_message(LOG_WARNING, "Failed to remove leftover container %s: %s, ignoring",
                                x->id, docker_message(s->d));
                        if (x->retire)
                                pool_release(s->c, x->id);
                        continue;
                }
                if (x->pool) {
                        pool_forget(s->d, s->c, x->pool, x->id);
                        pool_release(s->c, x->id);
                }
                removed++;
                *ret_retired += x->retire;
                log_message(
                        LOG_NOTICE, "Removed %s container %s", x->pool ? "stale warm" : "leftover", x->id);
                if (removed % SWEEP_PAGE == 0)
                        log_message(LOG_INFO, "Sweep: %d of %zu removed", removed, s->n_doomed);
        }
        return removed;
}

/* One engine: its leftovers removed, its stale warm containers retired, its pools topped up. " on ENGINE" in
 * the messages when there are several. */
static int sweep_engine(const struct config *c, size_t engine, int64_t grace_sec) {
        _cleanup_docker_ struct docker *d = NULL;
        struct sweep s = { .c = c, .now = (int64_t)time(NULL), .grace_sec = grace_sec };
        usec_t budget_end = now_usec() + SWEEP_BUDGET_SEC * USEC_PER_SEC;
        char on[320] = "";
        size_t retired = 0;
        int removed, r;

        if (c->n_engines > 1)
                snprintf(on, sizeof(on), " on %s", c->engines[engine].name);
        r = docker_new(&c->engines[engine], c->cert_path, c->docker_read_timeout_ms,
                c->docker_write_timeout_ms, &d);
        if (r < 0) {
                log_message(LOG_ERR, "The engine client is unavailable: %s", docker_new_error(r));
                return r;
        }
        s.d = d;
        pool_instance(c, s.instance);
        r = list_all(&s);
        if (r < 0) {
                log_message(LOG_ERR, "Failed to list containers labelled %s%s: %s", CONTAINER_LABEL, on,
                        r == -ENOMEM ? "out of memory" : docker_message(d));
                for (size_t i = 0; i < s.n_doomed; i++)
                        free(s.doomed[i].pool);
                free(s.doomed);
                return r;
        }
        removed = remove_doomed(&s, budget_end, &retired);
        for (size_t i = 0; i < s.n_doomed; i++)
                free(s.doomed[i].pool);
        free(s.doomed);
        log_message(LOG_INFO, "Sweep%s: %zu containers listed in %zu page(s), %d removed (%zu stale warm)",
                on, s.listed, s.pages, removed, retired);

        /* After a restart, a crash or a burst, the pools are topped up here. */
        for (size_t i = 0; i < c->n_warm; i++) {
                const char *image = c->warm[i].image;

                r = pool_fill(d, c, image, c->warm[i].count, c->warm[i].count);
                if (r < 0)
                        log_message(LOG_WARNING, "Failed to fill the warm pool of %s%s: %s, ignoring", image,
                                on, docker_message(d));
                else if (r > 0)
                        log_message(LOG_INFO, "Started %d warm container(s) for %s%s", r, image, on);
        }
        return removed;
}

int sweep_run(const struct config *c, int64_t grace_sec) {
        int removed = 0, failed = 0;

        /* Every engine, even when one of them fails: that one is swept at the next pass. */
        for (size_t i = 0; i < c->n_engines; i++) {
                int r = sweep_engine(c, i, grace_sec);

                if (r < 0 && !failed)
                        failed = r;
                else if (r > 0)
                        removed += r;
        }
        return failed < 0 ? failed : removed;
}
