/* SPDX-License-Identifier: MIT */
/* test-cgroup: the memory limit found from /proc/self/cgroup's text under a made-up /sys/fs/cgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "tap.h"
#include "util.h"

static char root[] = "/tmp/test-cgroup-XXXXXX";

static void put(const char *path, const char *text) {
        char name[512], cmd[600];
        FILE *f;

        snprintf(name, sizeof(name), "%s%s", root, path);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", name);
        if (system(cmd) != 0)
                abort();
        f = fopen(name, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

int main(void) {
        static const struct {
                const char *name, *proc;
                int ret;
                uint64_t value;
        } cases[] = {
                { "v1 memory controller", "9:name=systemd:/x\n4:memory:/system.slice/a.service\n0::/x\n", 0,
                        67108864 },
                { "v1 joined controllers", "5:cpu,memory,pids:/joined\n", 0, 1048576 },
                { "v1 no limit", "4:memory:/unlimited\n", -ENOENT, 0 },
                { "v2", "0::/system.slice/b.service\n", 0, 33554432 },
                { "v2 max", "0::/max\n", -ENOENT, 0 },
                { "v2 without the file", "0::/nothing\n", -ENOENT, 0 },
                { "no memory controller", "1:cpu:/x\n", -ENOENT, 0 },
                { "garbage in the file", "0::/garbage\n", -ENOENT, 0 },
                { "empty", "", -ENOENT, 0 },
        };

        if (!mkdtemp(root))
                abort();
        put("/memory/system.slice/a.service/memory.limit_in_bytes", "67108864\n");
        put("/memory/joined/memory.limit_in_bytes", "1048576\n");
        put("/memory/unlimited/memory.limit_in_bytes", "9223372036854771712\n");
        put("/system.slice/b.service/memory.max", "33554432\n");
        put("/max/memory.max", "max\n");
        put("/garbage/memory.max", "lots\n");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                int r = cgroup_memory_limit_at(cases[i].proc, root, &v);

                CHECK(r == cases[i].ret, "%s: returned %d", cases[i].name, r);
                if (r == 0)
                        CHECK(v == cases[i].value, "%s: %llu", cases[i].name, (unsigned long long)v);
        }
        {
                char cmd[128];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
                if (system(cmd) != 0)
                        abort();
        }
        return tap_finish("test-cgroup");
}
