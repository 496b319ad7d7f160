/* SPDX-License-Identifier: MIT */
/* test-container: the create body and the warm pool's configuration digest. */
#include <string.h>

#include <json-c/json.h>

#include "container.h"
#include "tap.h"
#include "util.h"

static char *drop[] = { "MKNOD", "NET_RAW", "NET_BIND_SERVICE", NULL };
static char *none[] = { NULL };

static struct config reference(void) {
        return (struct config){
                .container_hostname = "glot",
                .container_user = "glot",
                .container_memory = 1000000000,
                .container_network_disabled = true,
                .ulimit_nofile_soft = 90,
                .ulimit_nofile_hard = 100,
                .ulimit_nproc_soft = 90,
                .ulimit_nproc_hard = 100,
                .container_pids_limit = 100,
                .cap_add = none,
                .cap_drop = drop,
                .readonly_rootfs = true,
                .tmp_dir = { "/tmp", "rw,noexec,nosuid,size=65536k" },
                .work_dir = { "/home/glot", "rw,exec,nosuid,size=131072k" },
                .max_execution_time_ms = 15000,
        };
}

static json_object *get(json_object *o, const char *path) {
        char key[64];

        while (o && *path) {
                size_t n = strcspn(path, "/");

                snprintf(key, sizeof(key), "%.*s", (int)n, path);
                if (!json_object_object_get_ex(o, key, &o))
                        return NULL;
                path += n + (path[n] == '/');
        }
        return o;
}

static int body(const struct config *c, int64_t memory, const char *instance, json_object **ret) {
        return container_config_json(c,
                &(struct container_params){ .image = "img:1",
                        .request_id = "00ff",
                        .deadline = 1234,
                        .memory = memory,
                        .instance = instance },
                ret);
}

static void test_body(void) {
        struct config c = reference();
        json_object *o = NULL, *ul, *v;
        int r;

        r = body(&c, c.container_memory, NULL, &o);
        CHECK(r == 0, "create body: %d", r);
        CHECK(streq(json_object_get_string(get(o, "Image")), "img:1"), "image");
        CHECK(json_object_get_int64(get(o, "HostConfig/Memory")) == 1000000000, "memory");
        CHECK(json_object_get_int64(get(o, "HostConfig/MemorySwap")) == 1000000000, "no hidden swap");
        CHECK(json_object_get_int64(get(o, "HostConfig/PidsLimit")) == 100, "pids");
        CHECK(streq(json_object_get_string(get(o, "Labels/docker-run.deadline")), "1234"), "deadline label");
        CHECK(streq(json_object_get_string(get(o, "Labels/docker-run.request-id")), "00ff"),
                "request label");
        ul = get(o, "HostConfig/Ulimits");
        CHECK(ul && json_object_array_length(ul) == 2, "nofile and nproc ulimits");
        v = get(o, "HostConfig/SecurityOpt");
        CHECK(v && json_object_array_length(v) == 1 &&
                        streq(json_object_get_string(json_object_array_get_idx(v, 0)), "no-new-privileges"),
                "no-new-privileges");
        CHECK(json_object_array_length(get(o, "HostConfig/CapDrop")) == 3, "CapDrop");
        CHECK(json_object_get_boolean(get(o, "HostConfig/ReadonlyRootfs")), "ReadonlyRootfs");
        CHECK(streq(json_object_get_string(get(o, "HostConfig/NetworkMode")), "none"), "NetworkMode");
        CHECK(json_object_object_length(get(o, "HostConfig/Tmpfs")) == 2, "two tmpfs");
        CHECK(!get(o, "HostConfig/Runtime"), "default runtime");
        CHECK(json_object_get_boolean(get(o, "OpenStdin")) && json_object_get_boolean(get(o, "StdinOnce")) &&
                        !json_object_get_boolean(get(o, "Tty")),
                "stdin once, no tty");
        CHECK(streq(json_object_get_string(get(o, "Labels/" CONTAINER_LABEL)), "true"), "label");
        CHECK(!get(o, "Labels/" CONTAINER_LABEL_KEEP) && !get(o, "Labels/" CONTAINER_LABEL_POOL),
                "a run's labels");
        json_object_put(o);

        /* A request's lower memory limit, with the swap to match. */
        r = body(&c, 50000000, NULL, &o);
        CHECK(r == 0 && json_object_get_int64(get(o, "HostConfig/Memory")) == 50000000 &&
                        json_object_get_int64(get(o, "HostConfig/MemorySwap")) == 50000000,
                "the request's memory");
        json_object_put(o);

        /* A warm container: its pool, instance and configuration digest, no request or deadline. */
        r = body(&c, c.container_memory, "0123456789abcdef", &o);
        CHECK(r == 0 && streq(json_object_get_string(get(o, "Labels/" CONTAINER_LABEL_POOL)), "img:1") &&
                        streq(json_object_get_string(get(o, "Labels/" CONTAINER_LABEL_INSTANCE)),
                                "0123456789abcdef") &&
                        get(o, "Labels/" CONTAINER_LABEL_CONFIG) &&
                        !get(o, "Labels/" CONTAINER_LABEL_REQUEST) &&
                        !get(o, "Labels/" CONTAINER_LABEL_DEADLINE),
                "a warm container's labels");
        json_object_put(o);

        /* DEBUG_KEEP_CONTAINER's containers say so, for the sweeper. */
        c.debug_keep_container = true;
        r = body(&c, c.container_memory, NULL, &o);
        CHECK(r == 0 && streq(json_object_get_string(get(o, "Labels/" CONTAINER_LABEL_KEEP)), "true"),
                "keep label");
        json_object_put(o);
        c.debug_keep_container = false;

        c.container_nano_cpus = 500000000;
        r = body(&c, c.container_memory, NULL, &o);
        CHECK(r == 0 && json_object_get_int64(get(o, "HostConfig/NanoCpus")) == 500000000, "NanoCpus");
        json_object_put(o);
        c.container_nano_cpus = 0;

        c.container_pids_limit = 0;
        c.container_runtime = "runsc";
        r = body(&c, 0, NULL, &o);
        CHECK(r == 0 && !get(o, "HostConfig/MemorySwap"), "no MemorySwap without Memory");
        CHECK(!get(o, "HostConfig/PidsLimit"), "no PidsLimit when 0");
        CHECK(streq(json_object_get_string(get(o, "HostConfig/Runtime")), "runsc"), "Runtime");
        json_object_put(o);
        c = reference();

        /* Without the nproc pair there is no nproc ulimit at all: the pids cgroup bounds the run. */
        c.ulimit_nproc_soft = c.ulimit_nproc_hard = -1;
        r = body(&c, c.container_memory, NULL, &o);
        ul = get(o, "HostConfig/Ulimits");
        CHECK(r == 0 && ul && json_object_array_length(ul) == 1 &&
                        streq(json_object_get_string(get(json_object_array_get_idx(ul, 0), "Name")),
                                "nofile"),
                "no nproc ulimit when unset");
        json_object_put(o);
}

static void test_hash(void) {
        struct config c = reference(), d;
        char base[17], h[17];

        CHECK(container_config_hash(&c, "img:1", base) == 0, "hash");
        /* Pinned: the digest is of our own description, not of a library's serialization. */
        CHECK(streq(base, "e1af78f8deebc165"), "pinned digest: %s", base);
        container_config_hash(&c, "img:1", h);
        CHECK(streq(h, base), "the same configuration, the same digest");
        container_config_hash(&c, "img:2", h);
        CHECK(!streq(h, base), "another image");

#define CHANGED(what, stmt)                                                                                 \
        do {                                                                                                \
                d = reference();                                                                            \
                stmt;                                                                                       \
                container_config_hash(&d, "img:1", h);                                                      \
                CHECK(!streq(h, base), "digest changes with %s", what);                                     \
        } while (0)
        CHANGED("hostname", d.container_hostname = "other");
        CHANGED("user", d.container_user = "root");
        CHANGED("memory", d.container_memory = 1);
        CHANGED("network", d.container_network_disabled = false);
        CHANGED("nofile", d.ulimit_nofile_hard = 101);
        CHANGED("nproc", d.ulimit_nproc_soft = 91);
        CHANGED("pids", d.container_pids_limit = 7);
        CHANGED("cap drop", d.cap_drop = none);
        CHANGED("cap add", d.cap_add = drop);
        CHANGED("read-only root", d.readonly_rootfs = false);
        CHANGED("tmp options", d.tmp_dir.options = "rw");
        CHANGED("work path", d.work_dir.path = NULL);
        CHANGED("runtime", d.container_runtime = "runsc");
        CHANGED("cpus", d.container_nano_cpus = 500000000);
        /* A value cannot pose as the next field. */
        CHANGED("a value with the next key in it",
                (d.container_hostname = "glot\nuser=12:glot", d.container_user = ""));
        /* What is not part of a container's creation does not change it. */
        d = reference();
        d.max_execution_time_ms = 1;
        container_config_hash(&d, "img:1", h);
        CHECK(streq(h, base), "the deadline is not part of the digest");
}

int main(void) {
        test_body();
        test_hash();
        return tap_finish("test-container");
}
