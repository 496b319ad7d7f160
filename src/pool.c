/* SPDX-License-Identifier: MIT */
/* pool: warm containers, created and started ahead of time, each claimed by exactly one handler. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "container.h"
#include "parse.h"
#include "pool.h"
#include "util.h"

#define MACHINE_ID_MAX 64

void pool_instance(const struct config *c, char ret[static 17]) {
        char id[MACHINE_ID_MAX + 1] = "";
        uint64_t h = 0xcbf29ce484222325ULL;
        _cleanup_close_ int fd = -1;
        ssize_t n = -1;

        /* Without a machine id (a bare container), the host name still tells hosts apart. */
        fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0)
                n = read(fd, id, MACHINE_ID_MAX);
        if (n > 0)
                id[n] = '\0';
        else if (gethostname(id, sizeof(id) - 1) < 0)
                id[0] = '\0';
        id[strcspn(id, "\n")] = '\0';
        for (const char *s = id; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        h = (h ^ '\n') * 0x100000001b3ULL;
        for (const char *s = c->runtime_dir; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        snprintf(ret, 17, "%016" PRIx64, h);
}

static int claim_path(const struct config *c, const char *id, char *buf, size_t size) {
        int r = snprintf(buf, size, "%s/claim-%s", c->runtime_dir, id);

        if (r < 0 || (size_t)r >= size)
                return -ENAMETOOLONG;
        return 0;
}

/*
 * The member file: the ids of a pool's containers (of this instance, image and configuration) as the last
 * refill saw them and started them, so that a claim needs no engine call (and no libcurl) before its
 * answer. A stale id costs a cold run: its attach answers 404. Rewritten whole and renamed into place, under
 * a lock file, by every refill and every removal.
 */
static int members_path(const struct config *c, const struct engine_addr *e, const char *image,
        const char *suffix, char *buf, size_t size) {
        char hash[17], instance[17];
        uint64_t h = 0xcbf29ce484222325ULL;
        int r;

        r = container_config_hash(c, image, hash);
        if (r < 0)
                return r;
        pool_instance(c, instance);
        for (const char *p = hash; *p; p++)
                h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        for (const char *p = instance; *p; p++)
                h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        /* Each engine its own pool. */
        for (const char *p = e->name; *p; p++)
                h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        r = snprintf(buf, size, "%s/pool-%016" PRIx64 "%s", c->runtime_dir, h, suffix);
        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

/* Read up to max ids of the member file into ids (65 bytes each); -ENOENT when there is none. */
static int members_read(const struct config *c, const struct engine_addr *e, const char *image,
        char (*ids)[65], size_t max, size_t *ret_n) {
        char path[4096], text[POOL_MEMBERS_MAX * 65 + 1];
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        ssize_t len;
        int r;

        r = members_path(c, e, image, "", path, sizeof(path));
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        len = read(fd, text, sizeof(text) - 1);
        if (len < 0)
                return -errno;
        text[len] = '\0';
        for (char *line = text, *next; *line && n < max; line = next) {
                next = strchr(line, '\n');
                if (!next)
                        break; /* the last line ends in a newline: a torn one is not an id */
                *next++ = '\0';
                if (strlen(line) == 64 && strspn(line, "0123456789abcdef") == 64)
                        memcpy(ids[n++], line, 65);
        }
        *ret_n = n;
        return 0;
}

static int members_write(
        const struct config *c, const struct engine_addr *e, const char *image, char (*ids)[65], size_t n) {
        char path[4096], tmp[4096 + 32];
        _cleanup_close_ int fd = -1;
        int r;

        r = members_path(c, e, image, "", path, sizeof(path));
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < n; i++) {
                ids[i][64] = '\n';
                r = write(fd, ids[i], 65) == 65 ? 0 : -EIO;
                ids[i][64] = '\0';
                if (r < 0) {
                        (void)unlink(tmp);
                        return r;
                }
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

/* Hold the member file's lock for a read-modify-write. */
static int members_lock(const struct config *c, const struct engine_addr *e, const char *image) {
        char path[4096];
        int fd, r;

        r = members_path(c, e, image, ".lock", path, sizeof(path));
        if (r < 0)
                return r;
        (void)mkdir(c->runtime_dir, 0700);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

void pool_forget(struct docker *d, const struct config *c, const char *image, const char *id) {
        const struct engine_addr *e = docker_engine(d);
        char ids[POOL_MEMBERS_MAX][65];
        size_t n = 0, k = 0;
        int lock;

        lock = members_lock(c, e, image);
        if (lock < 0)
                return;
        if (members_read(c, e, image, ids, POOL_MEMBERS_MAX, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        if (!streq(ids[i], id))
                                memcpy(ids[k++], ids[i], 65);
                if (k != n)
                        (void)members_write(c, e, image, ids, k);
        }
        close(lock);
}

/* The pool's members: running, of this image and instance, created under the present configuration. */
static int list_members(struct docker *d, const struct config *c, const char *image, json_object **ret) {
        _cleanup_json_ json_object *all = NULL, *members = NULL;
        _cleanup_free_ char *pool_label = NULL, *instance_label = NULL;
        char hash[17], instance[17];
        int r;

        r = container_config_hash(c, image, hash);
        if (r < 0)
                return r;
        pool_instance(c, instance);
        if (asprintf(&pool_label, CONTAINER_LABEL_POOL "=%s", image) < 0)
                return -ENOMEM;
        if (asprintf(&instance_label, CONTAINER_LABEL_INSTANCE "=%s", instance) < 0)
                return -ENOMEM;
        r = docker_list(d,
                &(struct docker_list_query){ .labels = { pool_label, instance_label }, .status = "running" },
                &all);
        if (r < 0)
                return r;
        members = json_object_new_array();
        if (!members)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *m = json_object_array_get_idx(all, i), *labels, *v;

                if (json_object_object_get_ex(m, "Labels", &labels) &&
                        json_object_object_get_ex(labels, CONTAINER_LABEL_CONFIG, &v) &&
                        streq(json_object_get_string(v), hash) &&
                        json_object_array_add(members, json_object_get(m)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(members);
        return 0;
}

static const char *member_id(json_object *member) {
        json_object *id;

        if (!json_object_object_get_ex(member, "Id", &id) || !json_object_is_type(id, json_type_string))
                return NULL;
        return json_object_get_string(id);
}

static bool is_claimed(const struct config *c, const char *id) {
        char path[4096];

        return claim_path(c, id, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int pool_claim_id(const struct config *c, const char *id, int64_t deadline) {
        char path[4096], tmp[4096 + 32], text[32];
        _cleanup_close_ int fd = -1;
        uint64_t nonce = 0;
        int len, r;

        r = claim_path(c, id, path, sizeof(path));
        if (r < 0)
                return r;
        (void)mkdir(c->runtime_dir, 0700);
        if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != (ssize_t)sizeof(nonce))
                nonce = (uint64_t)getpid() ^ (uint64_t)now_usec();
        /* Written whole under a name of our own, then linked into place: a claim file is never seen
         * half-written, and link() fails when another claim exists. */
        snprintf(tmp, sizeof(tmp), "%s/.claim-%s.%016" PRIx64, c->runtime_dir, id, nonce);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        len = snprintf(text, sizeof(text), "%" PRId64 "\n", deadline);
        if (write(fd, text, (size_t)len) != len) {
                r = errno > 0 ? -errno : -EIO;
                (void)unlink(tmp);
                return r;
        }
        r = link(tmp, path) < 0 ? -errno : 0;
        (void)unlink(tmp);
        return r;
}

/* Claim the first free id of ids, starting at a random one so that handlers arriving together mostly try
 * different ones. */
static int claim_one(const struct config *c, char (*ids)[65], size_t n, int64_t deadline, char **ret_id) {
        size_t start = 0;
        int r;

        if (n == 0)
                return -ENOENT;
        if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != (ssize_t)sizeof(start))
                start = (size_t)getpid();
        for (size_t i = 0; i < n; i++) {
                const char *id = ids[(start + i) % n];
                char *copy;

                r = pool_claim_id(c, id, deadline);
                if (r == -EEXIST)
                        continue; /* another handler won this one */
                if (r < 0)
                        return r;
                copy = strdup(id);
                if (!copy) {
                        pool_release(c, id);
                        return -ENOMEM;
                }
                *ret_id = copy;
                return 0;
        }
        return -ENOENT;
}

int pool_claim(
        struct docker *d, const struct config *c, const char *image, int64_t deadline, char **ret_id) {
        const struct engine_addr *e = docker_engine(d);
        _cleanup_json_ json_object *members = NULL;
        char ids[POOL_MEMBERS_MAX][65];
        size_t n = 0;
        int r;

        /* The member file, when a refill has written one: no engine call before the answer. */
        r = members_read(c, e, image, ids, POOL_MEMBERS_MAX, &n);
        if (r == 0)
                return claim_one(c, ids, n, deadline, ret_id);
        r = list_members(d, c, image, &members);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(members) && n < POOL_MEMBERS_MAX; i++) {
                const char *id = member_id(json_object_array_get_idx(members, i));

                if (id && strlen(id) == 64)
                        memcpy(ids[n++], id, 65);
        }
        return claim_one(c, ids, n, deadline, ret_id);
}

void pool_release(const struct config *c, const char *id) {
        char path[4096];

        if (claim_path(c, id, path, sizeof(path)) == 0)
                (void)unlink(path);
}

int pool_claim_deadline(const struct config *c, const char *id, int64_t *ret) {
        _cleanup_close_ int fd = -1;
        char path[4096], text[32];
        struct stat st;
        uint64_t v;
        ssize_t n;

        if (claim_path(c, id, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n > 0 && text[n - 1] == '\n' && parse_u64(text, (size_t)n - 1, 0, INT64_MAX, &v) == 0) {
                *ret = (int64_t)v;
                return 0;
        }
        /* It exists, so it is claimed: judge it by its age, as if its run had started when it was made. */
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret = (int64_t)st.st_mtime + config_run_seconds(c);
        return 0;
}

static int start_one(struct docker *d, const struct config *c, const char *image, char ret_id[static 65]) {
        _cleanup_json_ json_object *body = NULL;
        _cleanup_free_ char *id = NULL;
        char instance[17];
        int r;

        pool_instance(c, instance);
        r = container_config_json(c,
                &(struct container_params){ .image = image,
                        .deadline = -1,
                        .memory = c->container_memory,
                        .instance = instance },
                &body);
        if (r < 0)
                return r;
        r = docker_create(d, NULL, body, &id);
        if (r < 0)
                return r;
        r = docker_start(d, id);
        if (r < 0) {
                (void)docker_remove(d, id);
                return r;
        }
        snprintf(ret_id, 65, "%s", id);
        return 0;
}

int pool_count(struct docker *d, const struct config *c, const char *image) {
        _cleanup_json_ json_object *members = NULL;
        int n = 0, r;

        r = list_members(d, c, image, &members);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(members); i++) {
                const char *id = member_id(json_object_array_get_idx(members, i));

                n += id && !is_claimed(c, id);
        }
        return n;
}

int pool_fill(
        struct docker *d, const struct config *c, const char *image, unsigned count, unsigned max_new) {
        const struct engine_addr *e = docker_engine(d);
        _cleanup_json_ json_object *members = NULL;
        char ids[POOL_MEMBERS_MAX][65];
        unsigned free_members = 0, started = 0;
        size_t n = 0;
        int lock, r;

        r = list_members(d, c, image, &members);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(members); i++) {
                const char *id = member_id(json_object_array_get_idx(members, i));

                if (!id || strlen(id) != 64)
                        continue;
                if (n < POOL_MEMBERS_MAX)
                        memcpy(ids[n++], id, 65);
                if (!is_claimed(c, id))
                        free_members++;
        }
        while (free_members + started < count && started < max_new && n < POOL_MEMBERS_MAX) {
                r = start_one(d, c, image, ids[n]);
                if (r < 0)
                        break;
                n++;
                started++;
        }
        /* The engine's own view, and what was just started, for the next claims. */
        lock = members_lock(c, e, image);
        if (lock >= 0) {
                (void)members_write(c, e, image, ids, n);
                close(lock);
        }
        return started > 0 || r >= 0 ? (int)started : r;
}
