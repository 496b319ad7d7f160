/* SPDX-License-Identifier: MIT */
/* engineinfo: what an engine says it is and can enforce (GET /info, /version), cached in the runtime dir. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engineinfo.h"
#include "parse.h"
#include "util.h"

#define CACHE_MAX 2048

static bool boolean(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

static void string(json_object *o, const char *key, char *buf, size_t size) {
        json_object *v;

        buf[0] = '\0';
        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
                snprintf(buf, size, "%s", json_object_get_string(v));
}

/* Runtime names are the engine's: keep only what is a plain name. */
static bool plain_name(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n < 64 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

void engineinfo_parse(json_object *info, json_object *version, struct engine_info *ret) {
        struct engine_info i = { 0 };
        json_object *v;
        size_t used;

        if (json_object_object_get_ex(info, "NCPU", &v) && json_object_is_type(v, json_type_int) &&
                json_object_get_int64(v) > 0 && json_object_get_int64(v) < 65536)
                i.ncpu = (unsigned)json_object_get_int64(v);
        i.memory_limit = boolean(info, "MemoryLimit");
        i.pids_limit = boolean(info, "PidsLimit");
        i.swap_limit = boolean(info, "SwapLimit");
        i.cpu_quota = boolean(info, "CpuCfsQuota");
        /* Docker says it in SecurityOptions, Podman in Rootless. */
        i.rootless = boolean(info, "Rootless");
        if (json_object_object_get_ex(info, "SecurityOptions", &v) &&
                json_object_is_type(v, json_type_array))
                for (size_t k = 0; k < json_object_array_length(v); k++) {
                        const char *opt = json_object_get_string(json_object_array_get_idx(v, k));

                        if (opt && strstr(opt, "name=rootless"))
                                i.rootless = true;
                }
        string(info, "CgroupDriver", i.cgroup_driver, sizeof(i.cgroup_driver));
        string(info, "CgroupVersion", i.cgroup_version, sizeof(i.cgroup_version));
        snprintf(i.runtimes, sizeof(i.runtimes), " ");
        used = 1;
        if (json_object_object_get_ex(info, "Runtimes", &v) && json_object_is_type(v, json_type_object)) {
                json_object_object_foreach(v, name, val) {
                        size_t n = strlen(name);

                        (void)val;
                        if (!plain_name(name) || used + n + 2 > sizeof(i.runtimes))
                                continue;
                        memcpy(i.runtimes + used, name, n);
                        used += n;
                        i.runtimes[used++] = ' ';
                        i.runtimes[used] = '\0';
                }
        }
        if (version && json_object_object_get_ex(version, "Components", &v) &&
                json_object_is_type(v, json_type_array))
                for (size_t k = 0; k < json_object_array_length(v); k++) {
                        json_object *name;

                        if (json_object_object_get_ex(json_object_array_get_idx(v, k), "Name", &name) &&
                                json_object_is_type(name, json_type_string) &&
                                strstr(json_object_get_string(name), "Podman"))
                                i.podman = true;
                }
        *ret = i;
}

/* The process behind the engine's unix socket: another pid means the engine restarted. */
static int64_t engine_pid(const char *socket_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (!socket_path || strlen(socket_path) >= sizeof(sa.sun_path))
                return 0;
        strcpy(sa.sun_path, socket_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return 0;
        return cred.pid;
}

static int cache_path(const char *dir, const struct engine_addr *e, char *buf, size_t size) {
        uint64_t h = 0xcbf29ce484222325ULL;
        int r;

        /* A unix engine by its path, as before there were several (the cache of an upgraded host holds). */
        for (const char *s = e->kind == ENGINE_UNIX ? e->path : e->name; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        r = snprintf(buf, size, "%s/engine-%016" PRIx64, dir, h);
        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int read_cache(const char *path, struct engine_info *ret) {
        struct engine_info i = { 0 };
        _cleanup_close_ int fd = -1;
        char text[CACHE_MAX];
        ssize_t n;
        int fields = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n <= 0)
                return -ENOENT;
        text[n] = '\0';
        for (char *line = text, *next; line && *line; line = next) {
                char *eq;
                uint64_t v = 0;

                next = strchr(line, '\n');
                if (!next)
                        return -EBADMSG; /* torn: the last line ends in a newline */
                *next++ = '\0';
                eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq++ = '\0';
                if (streq(line, "runtimes"))
                        snprintf(i.runtimes, sizeof(i.runtimes), "%s", eq);
                else if (streq(line, "cgroup-driver"))
                        snprintf(i.cgroup_driver, sizeof(i.cgroup_driver), "%s", eq);
                else if (streq(line, "cgroup-version"))
                        snprintf(i.cgroup_version, sizeof(i.cgroup_version), "%s", eq);
                else if (parse_u64_str(eq, 0, INT64_MAX, &v) < 0)
                        return -EBADMSG;
                else if (streq(line, "pid"))
                        i.engine_pid = (int64_t)v;
                else if (streq(line, "fetched"))
                        i.fetched = (int64_t)v;
                else if (streq(line, "ncpu"))
                        i.ncpu = (unsigned)(v < 65536 ? v : 0);
                else if (streq(line, "memory"))
                        i.memory_limit = v;
                else if (streq(line, "pids"))
                        i.pids_limit = v;
                else if (streq(line, "swap"))
                        i.swap_limit = v;
                else if (streq(line, "cpu"))
                        i.cpu_quota = v;
                else if (streq(line, "rootless"))
                        i.rootless = v;
                else if (streq(line, "podman"))
                        i.podman = v;
                else
                        continue;
                fields++;
        }
        if (fields < 12)
                return -EBADMSG;
        *ret = i;
        return 0;
}

static void write_cache(const char *dir, const char *path, const struct engine_info *i) {
        char tmp[4096], text[CACHE_MAX];
        _cleanup_close_ int fd = -1;
        int n;

        n = snprintf(text, sizeof(text),
                "pid=%" PRId64 "\nfetched=%" PRId64
                "\nncpu=%u\nmemory=%d\npids=%d\nswap=%d\ncpu=%d\nrootless=%d\n"
                "podman=%d\ncgroup-driver=%s\ncgroup-version=%s\nruntimes=%s\n",
                i->engine_pid, i->fetched, i->ncpu, i->memory_limit, i->pids_limit, i->swap_limit,
                i->cpu_quota, i->rootless, i->podman, i->cgroup_driver, i->cgroup_version, i->runtimes);
        if (n < 0 || (size_t)n >= sizeof(text) ||
                snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid()) >= (int)sizeof(tmp))
                return;
        (void)mkdir(dir, 0700);
        /* Written whole under a name of our own, then renamed over: a reader never sees half of it. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return;
        if (write(fd, text, (size_t)n) != n || rename(tmp, path) < 0)
                (void)unlink(tmp);
}

int engineinfo_cached(const char *dir, const struct engine_addr *e, struct engine_info *ret) {
        char path[4096];
        struct engine_info i;
        int64_t pid;

        if (cache_path(dir, e, path, sizeof(path)) < 0 || read_cache(path, &i) < 0)
                return -ENOENT;
        pid = e->kind == ENGINE_UNIX ? engine_pid(e->path) : 0;
        /* Another engine process, or too old: a reload (runtimes registered) or a socket-activated engine,
         * whose socket is systemd's and whose pid never changes, must be seen within the TTL. */
        if ((pid > 0 && pid != i.engine_pid) || (int64_t)time(NULL) - i.fetched > ENGINEINFO_TTL_SEC)
                return -ENOENT;
        *ret = i;
        return 0;
}

int engineinfo_get(struct docker *d, const char *dir, struct engine_info *ret) {
        const struct engine_addr *e = docker_engine(d);
        _cleanup_json_ json_object *info = NULL, *version = NULL;
        struct engine_info i;
        char path[4096];
        int r;

        if (engineinfo_cached(dir, e, ret) == 0)
                return 0;
        r = docker_info(d, &info);
        if (r < 0)
                return r;
        r = docker_version(d, &version);
        if (r < 0)
                return r;
        engineinfo_parse(info, version, &i);
        i.engine_pid = e->kind == ENGINE_UNIX ? engine_pid(e->path) : 0;
        i.fetched = (int64_t)time(NULL);
        if (cache_path(dir, e, path, sizeof(path)) == 0)
                write_cache(dir, path, &i);
        *ret = i;
        return 0;
}

static bool has_runtime(const struct engine_info *i, const char *name) {
        char needle[80];

        snprintf(needle, sizeof(needle), " %s ", name);
        return strstr(i->runtimes, needle) != NULL;
}

int engineinfo_check(const struct engine_info *i, const struct config *c, char *why, size_t size) {
        /* Rootless engines enforce cgroup limits only on cgroup v2 with delegation: elsewhere they run
         * containers without them, and tell the API client nothing. */
        if (i->rootless && (c->container_memory > 0 || c->container_pids_limit > 0) &&
                !streq(i->cgroup_version, "2")) {
                snprintf(why, size,
                        "the engine is rootless on cgroup %s, where it enforces no memory or pids "
                        "limit (and says nothing): run a rootful engine, or one on cgroup v2 with "
                        "delegation",
                        i->cgroup_version[0] ? i->cgroup_version : "v1 (or unknown)");
                return -EPERM;
        }
        if (streq(i->cgroup_driver, "none") && (c->container_memory > 0 || c->container_pids_limit > 0)) {
                snprintf(why, size,
                        "the engine's cgroup driver is \"none\": it enforces no memory or pids limit");
                return -EPERM;
        }
        if (c->container_memory > 0 && (!i->memory_limit || !i->swap_limit)) {
                snprintf(why, size,
                        "the engine cannot limit %s (DOCKER_CONTAINER_MEMORY is set): enable the "
                        "memory cgroup (and swap accounting)",
                        i->memory_limit ? "swap" : "memory");
                return -EPERM;
        }
        if (c->container_pids_limit > 0 && !i->pids_limit) {
                snprintf(why, size,
                        "the engine cannot limit processes (the pids cgroup), which bounds a fork bomb");
                return -EPERM;
        }
        if (c->container_nano_cpus > 0 && !i->cpu_quota) {
                snprintf(why, size,
                        "the engine cannot limit CPU (DOCKER_CONTAINER_CPUS is set): no CFS quota");
                return -EPERM;
        }
        if (c->container_runtime && i->podman) {
                snprintf(why, size,
                        "DOCKER_CONTAINER_RUNTIME=%s, but the engine is Podman, whose Docker API ignores "
                        "HostConfig.Runtime: set the runtime in Podman's containers.conf instead",
                        c->container_runtime);
                return -EPERM;
        }
        if (c->container_runtime && !has_runtime(i, c->container_runtime)) {
                snprintf(why, size,
                        "DOCKER_CONTAINER_RUNTIME=%s is not registered with the engine (it knows:%s)",
                        c->container_runtime, i->runtimes);
                return -EPERM;
        }
        return 0;
}
