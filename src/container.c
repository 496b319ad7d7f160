/* SPDX-License-Identifier: MIT */
/* container: the engine's create body for one run, built from the configuration alone. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "container.h"
#include "docker.h"
#include "util.h"

/* json-c's adders take ownership even on failure, so a NULL value is the only error to catch. */
static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static int append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *string_array(char *const *list) {
        json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; list && list[i]; i++) {
                if (append(a, json_object_new_string(list[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

static json_object *ulimit(const char *name, int64_t soft, int64_t hard) {
        json_object *u = json_object_new_object();

        if (!u)
                return NULL;
        if (add(u, "Name", json_object_new_string(name)) < 0 ||
                add(u, "Soft", json_object_new_int64(soft)) < 0 ||
                add(u, "Hard", json_object_new_int64(hard)) < 0) {
                json_object_put(u);
                return NULL;
        }
        return u;
}

static int host_config(const struct config *c, int64_t memory, json_object **ret) {
        _cleanup_json_ json_object *h = NULL, *ulimits = NULL, *tmpfs = NULL, *secopt = NULL;
        const struct config_tmpfs *mounts[] = { &c->tmp_dir, &c->work_dir };

        h = json_object_new_object();
        ulimits = json_object_new_array();
        tmpfs = json_object_new_object();
        secopt = json_object_new_array();
        if (!h || !ulimits || !tmpfs || !secopt)
                return -ENOMEM;

        if (append(ulimits, ulimit("nofile", c->ulimit_nofile_soft, c->ulimit_nofile_hard)) < 0)
                return -ENOMEM;
        if (c->ulimit_nproc_hard >= 0 &&
                append(ulimits, ulimit("nproc", c->ulimit_nproc_soft, c->ulimit_nproc_hard)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(mounts); i++)
                if (mounts[i]->path &&
                        add(tmpfs, mounts[i]->path, json_object_new_string(mounts[i]->options)) < 0)
                        return -ENOMEM;
        if (append(secopt, json_object_new_string("no-new-privileges")) < 0)
                return -ENOMEM;

        if (add(h, "Memory", json_object_new_int64(memory)) < 0)
                return -ENOMEM;
        /* Equal to Memory: the engine would otherwise allow as much swap again. */
        if (memory > 0 && add(h, "MemorySwap", json_object_new_int64(memory)) < 0)
                return -ENOMEM;
        /* The pids cgroup counts this container alone, unlike nproc, which counts the uid across the host.
         */
        if (c->container_pids_limit > 0 &&
                add(h, "PidsLimit", json_object_new_int64(c->container_pids_limit)) < 0)
                return -ENOMEM;
        if (add(h, "Privileged", json_object_new_boolean(false)) < 0 ||
                add(h, "CapAdd", string_array(c->cap_add)) < 0 ||
                add(h, "CapDrop", string_array(c->cap_drop)) < 0 ||
                add(h, "Ulimits", TAKE_PTR(ulimits)) < 0 ||
                add(h, "ReadonlyRootfs", json_object_new_boolean(c->readonly_rootfs)) < 0 ||
                add(h, "Tmpfs", TAKE_PTR(tmpfs)) < 0 || add(h, "SecurityOpt", TAKE_PTR(secopt)) < 0)
                return -ENOMEM;
        if (c->container_network_disabled && add(h, "NetworkMode", json_object_new_string("none")) < 0)
                return -ENOMEM;
        if (c->container_runtime && add(h, "Runtime", json_object_new_string(c->container_runtime)) < 0)
                return -ENOMEM;
        /* CPU time, not just wall time: one run cannot starve the others (CFS quota). */
        if (c->container_nano_cpus > 0 &&
                add(h, "NanoCpus", json_object_new_int64((int64_t)c->container_nano_cpus)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(h);
        return 0;
}

/* FNV-1a: no cryptography needed, only a change detector between our own processes. */
static void fnv1a(uint64_t *h, const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                *h = (*h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
}

/* One "key=length:value" line of the description: the length keeps a value from posing as the next line. */
static void feed(uint64_t *h, const char *key, const char *value) {
        char head[64];
        int n;

        n = snprintf(head, sizeof(head), "%s=%zu:", key, value ? strlen(value) : (size_t)0);
        fnv1a(h, head, (size_t)n);
        if (value)
                fnv1a(h, value, strlen(value));
        fnv1a(h, "\n", 1);
}

static void feed_int(uint64_t *h, const char *key, int64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRId64, v);
        feed(h, key, buf);
}

static void feed_list(uint64_t *h, const char *key, char *const *l) {
        size_t n = 0;

        for (; l && l[n]; n++)
                feed(h, key, l[n]);
        feed_int(h, key, (int64_t)n);
}

int container_config_hash(const struct config *c, const char *image, char ret[static 17]) {
        uint64_t h = 0xcbf29ce484222325ULL;

        /* Everything a warm container is created with, written out by us in a fixed order: the digest
         * changes when the configuration does, never when a library's serialization does. */
        feed(&h, "image", image);
        feed(&h, "hostname", c->container_hostname);
        feed(&h, "user", c->container_user);
        feed_int(&h, "memory", c->container_memory);
        feed_int(&h, "network-disabled", c->container_network_disabled);
        feed_int(&h, "nofile-soft", c->ulimit_nofile_soft);
        feed_int(&h, "nofile-hard", c->ulimit_nofile_hard);
        feed_int(&h, "nproc-soft", c->ulimit_nproc_soft);
        feed_int(&h, "nproc-hard", c->ulimit_nproc_hard);
        feed_int(&h, "pids", c->container_pids_limit);
        feed_list(&h, "cap-add", c->cap_add);
        feed_list(&h, "cap-drop", c->cap_drop);
        feed_int(&h, "readonly-rootfs", c->readonly_rootfs);
        feed(&h, "tmp-path", c->tmp_dir.path);
        feed(&h, "tmp-options", c->tmp_dir.path ? c->tmp_dir.options : NULL);
        feed(&h, "work-path", c->work_dir.path);
        feed(&h, "work-options", c->work_dir.path ? c->work_dir.options : NULL);
        feed(&h, "runtime", c->container_runtime);
        feed_int(&h, "nano-cpus", (int64_t)c->container_nano_cpus);
        snprintf(ret, 17, "%016" PRIx64, h);
        return 0;
}

int container_config_json(const struct config *c, const struct container_params *p, json_object **ret) {
        _cleanup_json_ json_object *o = NULL, *labels = NULL, *h = NULL;
        char deadline_str[32];
        int r;

        r = host_config(c, p->memory, &h);
        if (r < 0)
                return r;
        o = json_object_new_object();
        labels = json_object_new_object();
        if (!o || !labels)
                return -ENOMEM;
        snprintf(deadline_str, sizeof(deadline_str), "%" PRId64, p->deadline);
        if (add(labels, CONTAINER_LABEL, json_object_new_string("true")) < 0)
                return -ENOMEM;
        if (p->instance) {
                char hash[17];

                r = container_config_hash(c, p->image, hash);
                if (r < 0)
                        return r;
                if (add(labels, CONTAINER_LABEL_POOL, json_object_new_string(p->image)) < 0 ||
                        add(labels, CONTAINER_LABEL_INSTANCE, json_object_new_string(p->instance)) < 0 ||
                        add(labels, CONTAINER_LABEL_CONFIG, json_object_new_string(hash)) < 0)
                        return -ENOMEM;
        } else if (add(labels, CONTAINER_LABEL_REQUEST, json_object_new_string(p->request_id ?: "")) < 0 ||
                   add(labels, CONTAINER_LABEL_DEADLINE, json_object_new_string(deadline_str)) < 0)
                return -ENOMEM;
        /* DEBUG_KEEP_CONTAINER: kept for inspection, so the sweeper must leave it too. */
        if (c->debug_keep_container && add(labels, CONTAINER_LABEL_KEEP, json_object_new_string("true")) < 0)
                return -ENOMEM;

        if (add(o, "Hostname", json_object_new_string(c->container_hostname)) < 0 ||
                add(o, "User", json_object_new_string(c->container_user)) < 0 ||
                add(o, "AttachStdin", json_object_new_boolean(true)) < 0 ||
                add(o, "AttachStdout", json_object_new_boolean(true)) < 0 ||
                add(o, "AttachStderr", json_object_new_boolean(true)) < 0 ||
                add(o, "Tty", json_object_new_boolean(false)) < 0 ||
                add(o, "OpenStdin", json_object_new_boolean(true)) < 0 ||
                add(o, "StdinOnce", json_object_new_boolean(true)) < 0 ||
                add(o, "Image", json_object_new_string(p->image)) < 0 ||
                add(o, "NetworkDisabled", json_object_new_boolean(c->container_network_disabled)) < 0 ||
                add(o, "Labels", TAKE_PTR(labels)) < 0 || add(o, "HostConfig", TAKE_PTR(h)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}
