/* SPDX-License-Identifier: MIT */
/* test-sweep: sweep_judge() on every kind of container the engine lists, at and around each boundary. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sweep.h"
#include "tap.h"
#include "util.h"

#define NOW   100000
#define GRACE 30
#define RUN   24     /* config_run_seconds() */
#define AGE   600000 /* DOCKER_RUN_WARM_MAX_AGE, ms */

/* A run's container: by its deadline label, else by its age. */
#define RUN_FACTS(n, g)                                                                                     \
        { .now = (n), .grace_sec = (g), .run_seconds = RUN, .warm_max_age_ms = AGE, .claim_deadline = -1 }
/* A warm one: its claim's deadline (-1 unclaimed), its image's pool size, configuration and instance. */
#define WARM_FACTS(claim, count, current, own)                                                              \
        {                                                                                                   \
                .now = NOW, .grace_sec = GRACE, .run_seconds = RUN, .warm_max_age_ms = AGE,                 \
                .claim_deadline = (claim), .pool_count = (count), .config_current = (current),              \
                .own_instance = (own)                                                                       \
        }

#define MANAGED "\"docker-run.managed\":\"true\""
#define POOL    MANAGED ",\"docker-run.pool\":\"glot/python:latest\""

static const struct row {
        const char *name;
        const char *container; /* the engine's list entry, JSON */
        struct sweep_facts facts;
        enum sweep_verdict verdict;
} rows[] = {
        /* A run's container, by its deadline label: removed once now - grace is past it. */
        { "deadline passed by more than the grace",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"99969\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },
        { "deadline passed by exactly the grace",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"99970\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "deadline within the grace",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"99990\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "deadline ahead",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"100500\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "grace 0, a second past the deadline",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"99999\"},\"Created\":99000}",
                RUN_FACTS(NOW, 0), SWEEP_REMOVE },
        { "grace 0, at the deadline",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"100000\"},\"Created\":99000}",
                RUN_FACTS(NOW, 0), SWEEP_KEEP },
        { "deadline 0", "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"0\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },
        { "the label wins over the age",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"100500\"},\"Created\":1}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "leading zeros",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"00099969\"},\"Created\":99000}",
                RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },

        /* Near INT64_MAX nothing wraps around into "expired": neither a deadline nor a grace. */
        { "deadline INT64_MAX, the largest grace",
                "{\"Labels\":{" MANAGED
                ",\"docker-run.deadline\":\"9223372036854775807\"},\"Created\":99000}",
                RUN_FACTS(NOW, SWEEP_GRACE_MAX_SEC), SWEEP_KEEP },
        { "deadline INT64_MAX, grace 0",
                "{\"Labels\":{" MANAGED
                ",\"docker-run.deadline\":\"9223372036854775807\"},\"Created\":99000}",
                RUN_FACTS(NOW, 0), SWEEP_KEEP },
        { "deadline INT64_MAX - 1, grace INT64_MAX",
                "{\"Labels\":{" MANAGED
                ",\"docker-run.deadline\":\"9223372036854775806\"},\"Created\":99000}",
                RUN_FACTS(NOW, INT64_MAX), SWEEP_KEEP },
        { "deadline ahead, grace INT64_MAX",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"100500\"},\"Created\":99000}",
                RUN_FACTS(NOW, INT64_MAX), SWEEP_KEEP },
        { "deadline long past, grace INT64_MAX",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"1\"},\"Created\":1}",
                RUN_FACTS(NOW, INT64_MAX), SWEEP_KEEP },
        { "deadline long past, the largest grace",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":\"1\"},\"Created\":1}",
                RUN_FACTS(NOW, SWEEP_GRACE_MAX_SEC), SWEEP_KEEP },
        { "a deadline ahead, now near INT64_MAX",
                "{\"Labels\":{" MANAGED
                ",\"docker-run.deadline\":\"9223372036854775807\"},\"Created\":99000}",
                RUN_FACTS(INT64_MAX - 1, GRACE), SWEEP_KEEP },

        /* An engine's Created near INT64_MAX: nothing wraps around into "long ago". */
        { "no label, created at the end of time",
                "{\"Labels\":{" MANAGED "},\"Created\":9223372036854775800}", RUN_FACTS(NOW, GRACE),
                SWEEP_KEEP },
        { "warm, created at the end of time",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":9223372036854775800}",
                WARM_FACTS(-1, 1, true, true), SWEEP_KEEP },

        /* Without a deadline label: by age, as if the run had started at the creation. */
        { "no label, older than the run and the grace", "{\"Labels\":{" MANAGED "},\"Created\":99945}",
                RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },
        { "no label, exactly the run and the grace old", "{\"Labels\":{" MANAGED "},\"Created\":99946}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "no label, young", "{\"Labels\":{" MANAGED "},\"Created\":99990}", RUN_FACTS(NOW, GRACE),
                SWEEP_KEEP },
        { "no label, grace 0", "{\"Labels\":{" MANAGED "},\"Created\":99975}", RUN_FACTS(NOW, 0),
                SWEEP_REMOVE },
        { "no label, old, grace INT64_MAX", "{\"Labels\":{" MANAGED "},\"Created\":1}",
                RUN_FACTS(NOW, INT64_MAX), SWEEP_KEEP },
        { "no labels at all, old", "{\"Created\":1}", RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },
        { "labels null, old", "{\"Labels\":null,\"Created\":1}", RUN_FACTS(NOW, GRACE), SWEEP_REMOVE },
        { "no label, no creation time", "{\"Labels\":{" MANAGED "}}", RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "no label, creation time a string", "{\"Labels\":{" MANAGED "},\"Created\":\"1\"}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },
        { "no label, creation time a double", "{\"Labels\":{" MANAGED "},\"Created\":1.5}",
                RUN_FACTS(NOW, GRACE), SWEEP_KEEP },

        /* DEBUG_KEEP_CONTAINER's: kept whatever else it says; only "true" keeps. */
        { "keep, deadline long past",
                "{\"Labels\":{" MANAGED ",\"docker-run.keep\":\"true\",\"docker-run.deadline\":\"1\"},"
                "\"Created\":1}",
                RUN_FACTS(NOW, 0), SWEEP_KEEP },
        { "keep, no deadline, old", "{\"Labels\":{" MANAGED ",\"docker-run.keep\":\"true\"},\"Created\":1}",
                RUN_FACTS(NOW, 0), SWEEP_KEEP },
        { "keep false",
                "{\"Labels\":{" MANAGED ",\"docker-run.keep\":\"false\",\"docker-run.deadline\":\"1\"}}",
                RUN_FACTS(NOW, 0), SWEEP_REMOVE },
        { "keep TRUE is not true",
                "{\"Labels\":{" MANAGED ",\"docker-run.keep\":\"TRUE\",\"docker-run.deadline\":\"1\"}}",
                RUN_FACTS(NOW, 0), SWEEP_REMOVE },
        { "keep empty", "{\"Labels\":{" MANAGED ",\"docker-run.keep\":\"\",\"docker-run.deadline\":\"1\"}}",
                RUN_FACTS(NOW, 0), SWEEP_REMOVE },
        { "keep not a string",
                "{\"Labels\":{" MANAGED ",\"docker-run.keep\":true,\"docker-run.deadline\":\"1\"}}",
                RUN_FACTS(NOW, 0), SWEEP_REMOVE },
        { "keep, a stale warm container of ours",
                "{\"Labels\":{" POOL ",\"docker-run.keep\":\"true\"},\"State\":\"exited\",\"Created\":1}",
                WARM_FACTS(-1, 0, false, true), SWEEP_KEEP },

        /* Warm containers of another service: its claims are not ours to read, nor its pool ours to judge.
         */
        { "foreign, stale in every way", "{\"Labels\":{" POOL "},\"State\":\"exited\",\"Created\":1}",
                WARM_FACTS(-1, 0, false, false), SWEEP_KEEP },
        { "foreign, a claim long expired", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":1}",
                WARM_FACTS(1, 2, true, false), SWEEP_KEEP },
        { "foreign, fresh", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, false), SWEEP_KEEP },

        /* Ours, claimed: left to its run until the claim's deadline plus the grace, whatever else holds. */
        { "claimed, deadline passed by more than the grace",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(NOW - GRACE - 1, 2, true, true), SWEEP_REMOVE },
        { "claimed, deadline passed by exactly the grace",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(NOW - GRACE, 2, true, true), SWEEP_KEEP },
        { "claimed, deadline 0", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(0, 2, true, true), SWEEP_REMOVE },
        { "claimed, no pool, stale, exited, old, within its claim",
                "{\"Labels\":{" POOL "},\"State\":\"exited\",\"Created\":1}",
                WARM_FACTS(NOW + 10, 0, false, true), SWEEP_KEEP },
        { "claimed, expired, no pool, stale, exited",
                "{\"Labels\":{" POOL "},\"State\":\"exited\",\"Created\":1}", WARM_FACTS(1, 0, false, true),
                SWEEP_REMOVE },
        { "claimed, deadline INT64_MAX", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":1}",
                WARM_FACTS(INT64_MAX, 2, true, true), SWEEP_KEEP },
        { "claimed, an expired deadline label ignored",
                "{\"Labels\":{" POOL
                ",\"docker-run.deadline\":\"1\"},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(NOW + 10, 2, true, true), SWEEP_KEEP },

        /* Ours, unclaimed: retired (claimed by the sweeper, then removed) when stale. */
        { "unclaimed, fresh", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_KEEP },
        { "unclaimed, no pool any more", "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(-1, 0, true, true), SWEEP_RETIRE },
        { "unclaimed, another configuration",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(-1, 2, false, true), SWEEP_RETIRE },
        { "unclaimed, exited", "{\"Labels\":{" POOL "},\"State\":\"exited\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_RETIRE },
        { "unclaimed, created, never started",
                "{\"Labels\":{" POOL "},\"State\":\"created\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_RETIRE },
        { "unclaimed, paused", "{\"Labels\":{" POOL "},\"State\":\"paused\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_RETIRE },
        { "unclaimed, no state", "{\"Labels\":{" POOL "},\"Created\":99990}", WARM_FACTS(-1, 2, true, true),
                SWEEP_RETIRE },
        { "unclaimed, state not a string", "{\"Labels\":{" POOL "},\"State\":1,\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_RETIRE },
        { "unclaimed, older than the maximum age",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99399}",
                WARM_FACTS(-1, 2, true, true), SWEEP_RETIRE },
        { "unclaimed, exactly the maximum age",
                "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99400}",
                WARM_FACTS(-1, 2, true, true), SWEEP_KEEP },
        { "unclaimed, no creation time", "{\"Labels\":{" POOL "},\"State\":\"running\"}",
                WARM_FACTS(-1, 2, true, true), SWEEP_KEEP },
        { "unclaimed, an expired deadline label ignored",
                "{\"Labels\":{" POOL
                ",\"docker-run.deadline\":\"1\"},\"State\":\"running\",\"Created\":99990}",
                WARM_FACTS(-1, 2, true, true), SWEEP_KEEP },
};

/* A deadline label the sweeper cannot read: judged by the container's age instead. */
static const char *const unreadable[] = {
        "",
        "abc",
        "-5",
        "+5",
        " 5",
        "5 ",
        "1e5",
        "0x10",
        "9223372036854775808",
        "99999999999999999999",
        "5\n",
};

static void check(const char *name, const char *text, const struct sweep_facts *f, enum sweep_verdict want) {
        json_object *container = json_tokener_parse(text);
        enum sweep_verdict got;

        CHECK(container, "%s: the row's JSON parses: %s", name, text);
        if (!container)
                return;
        got = sweep_judge(container, f);
        CHECK(got == want, "%s: verdict %d, want %d", name, got, want);
        json_object_put(container);
}

static void test_rows(void) {
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                check(rows[i].name, rows[i].container, &rows[i].facts, rows[i].verdict);
}

static void test_unreadable_deadlines(void) {
        const struct sweep_facts f = RUN_FACTS(NOW, GRACE);

        for (size_t i = 0; i < ELEMENTSOF(unreadable); i++) {
                _cleanup_free_ char *label = NULL;
                json_object *s = json_object_new_string(unreadable[i]);
                char text[256], name[128];

                /* The label through json-c, so that a newline in it is escaped as JSON wants. */
                label = strdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
                json_object_put(s);
                CHECK(label, "out of memory");
                if (!label)
                        return;
                snprintf(name, sizeof(name), "deadline %s, old", label);
                snprintf(text, sizeof(text),
                        "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":%s},\"Created\":%d}", label,
                        NOW - GRACE - RUN - 1);
                check(name, text, &f, SWEEP_REMOVE);
                snprintf(name, sizeof(name), "deadline %s, young", label);
                snprintf(text, sizeof(text),
                        "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":%s},\"Created\":%d}", label,
                        NOW - GRACE - RUN);
                check(name, text, &f, SWEEP_KEEP);
                snprintf(name, sizeof(name), "deadline %s, no creation time", label);
                snprintf(text, sizeof(text), "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":%s}}", label);
                check(name, text, &f, SWEEP_KEEP);
        }
        /* Not a string at all: unreadable too. */
        check("deadline a number, old", "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":1},\"Created\":1}",
                &f, SWEEP_REMOVE);
        check("deadline a number, young",
                "{\"Labels\":{" MANAGED ",\"docker-run.deadline\":1},\"Created\":99990}", &f, SWEEP_KEEP);
}

/* The judgement reads only the container and the facts: the same answer twice, the input untouched. */
static void test_pure(void) {
        const char *text = "{\"Labels\":{" POOL "},\"State\":\"running\",\"Created\":99990}";
        const struct sweep_facts f = WARM_FACTS(-1, 0, true, true);
        json_object *container = json_tokener_parse(text);
        _cleanup_free_ char *before = NULL;

        CHECK(container, "parses");
        if (!container)
                return;
        before = strdup(json_object_to_json_string(container));
        CHECK(sweep_judge(container, &f) == SWEEP_RETIRE && sweep_judge(container, &f) == SWEEP_RETIRE,
                "the same verdict twice");
        CHECK(before && streq(before, json_object_to_json_string(container)), "the container untouched");
        json_object_put(container);
}

int main(void) {
        test_rows();
        test_unreadable_deadlines();
        test_pure();
        return tap_finish("test-sweep");
}
