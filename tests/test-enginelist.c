/* SPDX-License-Identifier: MIT */
/* test-enginelist: DOCKER_ENGINES items, the order runs try engines in, the down marks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enginelist.h"
#include "tap.h"
#include "util.h"

static void test_parse(void) {
        static const struct {
                const char *text;
                int expect;
                enum engine_kind kind;
                const char *path_or_host;
                unsigned port;
        } cases[] = {
                { "unix:///var/run/docker.sock", 0, ENGINE_UNIX, "/var/run/docker.sock", 0 },
                { "tcp://10.0.0.2:2376", 0, ENGINE_TCP, "10.0.0.2", 2376 },
                { "tcp://engine-1.example.org:2376", 0, ENGINE_TCP, "engine-1.example.org", 2376 },
                { "tcp://[2001:db8::1]:2376", 0, ENGINE_TCP, "2001:db8::1", 2376 },
                { "tcp://[::1]:1", 0, ENGINE_TCP, "::1", 1 },
                { "tcp://h:65535", 0, ENGINE_TCP, "h", 65535 },
                { "unix://var/run/docker.sock", -EINVAL },
                { "unix://", -EINVAL },
                { "/var/run/docker.sock", -EINVAL },
                { "http://10.0.0.2:2375", -EINVAL },
                { "tcp://10.0.0.2", -EINVAL },
                { "tcp://10.0.0.2:", -EINVAL },
                { "tcp://:2376", -EINVAL },
                { "tcp://10.0.0.2:0", -EINVAL },
                { "tcp://10.0.0.2:65536", -EINVAL },
                { "tcp://10.0.0.2:23x6", -EINVAL },
                { "tcp://10.0.0.2:+2376", -EINVAL },
                { "tcp://user@host:2376", -EINVAL },
                { "tcp://host/path:2376", -EINVAL },
                { "tcp://[2001:db8::1]2376", -EINVAL },
                { "tcp://[]:2376", -EINVAL },
                { "tcp://[zz::1]:2376", -EINVAL },
                { "tcp://2001:db8::1:2376", -EINVAL },
                { "unix:///a\x01b", -EINVAL },
                { "", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct engine_addr a;
                const char *why = NULL;
                int r = engine_addr_parse(cases[i].text, &a, &why);

                CHECK(r == cases[i].expect, "\"%s\": %d (%s)", cases[i].text, r, why ? why : "");
                if (r < 0) {
                        CHECK(why && why[0], "\"%s\": a reason", cases[i].text);
                        continue;
                }
                CHECK(a.kind == cases[i].kind && streq(a.name, cases[i].text), "\"%s\": kind and name",
                        cases[i].text);
                if (a.kind == ENGINE_UNIX)
                        CHECK(streq(a.path, cases[i].path_or_host), "\"%s\": path %s", cases[i].text,
                                a.path);
                else
                        CHECK(streq(a.host, cases[i].path_or_host) && a.port == cases[i].port,
                                "\"%s\": host %s port %u", cases[i].text, a.host, a.port);
        }
        {
                char long_path[200];
                struct engine_addr a;
                const char *why;

                memset(long_path, 'a', sizeof(long_path));
                memcpy(long_path, "unix:///", 8);
                long_path[sizeof(long_path) - 1] = '\0';
                CHECK(engine_addr_parse(long_path, &a, &why) == -EINVAL, "a socket path past sun_path");
                CHECK(engine_addr_unix("/run/x.sock", &a) == 0 && streq(a.name, "unix:///run/x.sock") &&
                                a.kind == ENGINE_UNIX && streq(a.path, "/run/x.sock"),
                        "DOCKER_UNIX_SOCKET_PATH as an engine");
        }
}

static void test_order(void) {
        size_t order[ENGINES_MAX];
        unsigned first[3] = { 0 };

        {
                unsigned in_flight[] = { 3, 1, 2 };
                bool down[] = { false, false, false };

                engine_order(3, in_flight, down, 42, order);
                CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0, "fewest in flight first: %zu %zu %zu",
                        order[0], order[1], order[2]);
        }
        {
                unsigned in_flight[] = { 0, 5, 1 };
                bool down[] = { true, false, false };

                engine_order(3, in_flight, down, 42, order);
                CHECK(order[0] == 2 && order[1] == 1 && order[2] == 0, "a down engine last, however idle");
        }
        {
                unsigned in_flight[] = { 2, 2, 2 };
                bool down[] = { false, false, false };
                size_t again[ENGINES_MAX];

                for (uint64_t seed = 0; seed < 300; seed++) {
                        engine_order(3, in_flight, down, seed, order);
                        first[order[0]]++;
                        engine_order(3, in_flight, down, seed, again);
                        CHECK(memcmp(order, again, 3 * sizeof(size_t)) == 0,
                                "the same seed, the same order");
                }
                CHECK(first[0] > 60 && first[1] > 60 && first[2] > 60, "ties broken at random: %u %u %u",
                        first[0], first[1], first[2]);
        }
        {
                unsigned in_flight[] = { 1, 0 };
                bool down[] = { true, true };

                engine_order(2, in_flight, down, 7, order);
                CHECK(order[0] == 1 && order[1] == 0, "all down: still tried, fewest in flight first");
        }
}

static void test_marks(void) {
        char dir[] = "/tmp/test-enginelist-XXXXXX";
        struct engine_addr a, b;

        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        CHECK(engine_addr_unix("/run/a.sock", &a) == 0 && engine_addr_unix("/run/b.sock", &b) == 0, "addrs");
        CHECK(!engine_is_down(dir, &a), "not marked: up");
        engine_mark_down(dir, &a);
        CHECK(engine_is_down(dir, &a) && !engine_is_down(dir, &b), "marked down, and only that one");
        engine_mark_up(dir, &a);
        CHECK(!engine_is_down(dir, &a), "mark cleared");
        engine_mark_up(dir, &a); /* twice: harmless */
        {
                char cmd[128];

                snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
                CHECK(system(cmd) == 0, "cleanup");
        }
}

int main(void) {
        test_parse();
        test_order();
        test_marks();
        return tap_finish("test-enginelist");
}
