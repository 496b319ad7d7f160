/* SPDX-License-Identifier: MIT */
/* metrics: counters and histograms shared by every handler in a mapped file, rendered for Prometheus. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "util.h"

#define BOOT_ID_PATH  "/proc/sys/kernel/random/boot_id"
#define OPEN_ATTEMPTS 16u /* each retry means another handler created or replaced the file meanwhile */

static const char *const route_names[_METRICS_ROUTE_MAX] = {
        [METRICS_ROUTE_ROOT] = "root",
        [METRICS_ROUTE_VERSION] = "version",
        [METRICS_ROUTE_RUN] = "run",
        [METRICS_ROUTE_HEALTH] = "health",
        [METRICS_ROUTE_METRICS] = "metrics",
        [METRICS_ROUTE_OTHER] = "other",
};

static const char *const phase_names[_METRICS_PHASE_MAX] = {
        [METRICS_PHASE_CLAIM] = "claim",
        [METRICS_PHASE_CREATE] = "create",
        [METRICS_PHASE_ATTACH] = "attach",
        [METRICS_PHASE_START] = "start",
        [METRICS_PHASE_RUN] = "run",
        [METRICS_PHASE_REMOVE] = "remove",
};

static const struct {
        int status;
        const char *name;
} statuses[] = {
        { 200, "200" },
        { 400, "400" },
        { 401, "401" },
        { 403, "403" },
        { 404, "404" },
        { 405, "405" },
        { 408, "408" },
        { 411, "411" },
        { 413, "413" },
        { 414, "414" },
        { 429, "429" },
        { 431, "431" },
        { 500, "500" },
        { 501, "501" },
        { 503, "503" },
        { 505, "505" },
};
#define N_STATUSES (ELEMENTSOF(statuses) + 1) /* the last counts every other status */

static const struct {
        usec_t usec;
        const char *le;
} buckets[] = {
        { 5 * USEC_PER_MSEC, "0.005" },
        { 10 * USEC_PER_MSEC, "0.01" },
        { 25 * USEC_PER_MSEC, "0.025" },
        { 50 * USEC_PER_MSEC, "0.05" },
        { 100 * USEC_PER_MSEC, "0.1" },
        { 250 * USEC_PER_MSEC, "0.25" },
        { 500 * USEC_PER_MSEC, "0.5" },
        { 1 * USEC_PER_SEC, "1" },
        { 2500 * USEC_PER_MSEC, "2.5" },
        { 5 * USEC_PER_SEC, "5" },
        { 10 * USEC_PER_SEC, "10" },
        { 30 * USEC_PER_SEC, "30" },
        { 60 * USEC_PER_SEC, "60" },
};
#define N_BUCKETS (ELEMENTSOF(buckets) + 1) /* the last is +Inf */

/*
 * Each bucket counts only its own observations, so an observation is one
 * add: a handler killed between two adds can leave the sum behind, never the
 * count behind the buckets, since the count and the cumulative buckets are
 * derived when rendering.
 */
struct histogram {
        uint64_t bucket[N_BUCKETS];
        uint64_t sum_usec;
};

/* Nothing but uint64_t, each updated and read atomically on its own. */
struct counters {
        uint64_t requests[_METRICS_ROUTE_MAX][N_STATUSES];
        uint64_t runs_ok;
        uint64_t runs_error[METRICS_MAX_CODES];
        uint64_t warm[2]; /* miss, hit */
        uint64_t engine_failures[METRICS_MAX_ENGINES];
        struct histogram run_duration;
        struct histogram queue_wait;
        struct histogram engine_phase[METRICS_MAX_ENGINES][_METRICS_PHASE_MAX];
};

/* The file's layout, mapped as it is. */
struct metrics {
        struct metrics_header header;
        struct counters c;
};

static_assert(
        __atomic_always_lock_free(sizeof(uint64_t), 0), "shared counters need lock-free 64-bit atomics");
static_assert(
        sizeof(struct metrics_header) % sizeof(uint64_t) == 0, "the counters follow the header aligned");
static_assert(sizeof(struct counters) % sizeof(uint64_t) == 0, "the counters are uint64_t only");
static_assert(sizeof(struct metrics) <= UINT32_MAX, "the header records the size");

static int read_boot_id(char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        char text[64];
        ssize_t n;
        size_t len;

        fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n < 0)
                return -errno;
        text[n] = '\0';
        len = strcspn(text, "\n");
        if (len == 0 || len >= size)
                return -EIO;
        memset(buf, 0, size);
        memcpy(buf, text, len);
        return 0;
}

/* 1 when fd is a whole file of this boot and layout, 0 when it is stale, or a negative errno. */
static int file_is_current(int fd, const struct metrics_header *want) {
        struct metrics_header h;
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EEXIST; /* something that is not ours to replace */
        if (st.st_size != (off_t)sizeof(struct metrics))
                return 0;
        n = pread(fd, &h, sizeof(h), 0);
        if (n < 0)
                return -errno;
        return n == (ssize_t)sizeof(h) && memcmp(&h, want, sizeof(h)) == 0;
}

static int map_file(int fd, struct metrics **ret) {
        void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        if (p == MAP_FAILED)
                return -errno;
        *ret = p;
        return 0;
}

/*
 * Build a whole file with no name, then link it in at path: a file at path
 * is always initialized. Returns 0 with it mapped, 1 when another handler
 * linked one first, or a negative errno.
 */
static int create_file(
        const char *dir, const char *path, const struct metrics_header *want, struct metrics **ret) {
        _cleanup_close_ int fd = -1;
        struct metrics *m = NULL;
        char proc[64];
        int r;

        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0600) < 0)
                return -errno;
        /* Allocated now, not at the first write through the mapping: a full tmpfs fails here, not SIGBUS. */
        r = posix_fallocate(fd, 0, sizeof(struct metrics));
        if (r != 0)
                return -r;
        r = map_file(fd, &m);
        if (r < 0)
                return r;
        m->header = *want;
        (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0) {
                r = errno == EEXIST ? 1 : -errno;
                (void)munmap(m, sizeof(*m));
                return r;
        }
        *ret = m;
        return 0;
}

/*
 * Replace the stale file open at fd. Its replacers take turns on its lock,
 * and only one finds path still naming it: the others retry, and map the
 * new file. Returns 0 with the new file mapped, 1 to retry, or a negative errno.
 */
static int replace_file(
        int fd, const char *dir, const char *path, const struct metrics_header *want, struct metrics **ret) {
        struct stat ours, named;

        if (flock(fd, LOCK_EX) < 0)
                return -errno;
        if (fstat(fd, &ours) < 0)
                return -errno;
        if (lstat(path, &named) < 0)
                return errno == ENOENT ? 1 : -errno;
        if (ours.st_dev != named.st_dev || ours.st_ino != named.st_ino)
                return 1;
        if (unlink(path) < 0)
                return -errno;
        return create_file(dir, path, want, ret);
}

int metrics_open(const char *dir, struct metrics **ret) {
        struct metrics_header want = {
                .magic = METRICS_MAGIC,
                .layout = METRICS_LAYOUT,
                .size = (uint32_t)sizeof(struct metrics),
        };
        char path[PATH_MAX];
        int r;

        r = read_boot_id(want.boot_id, sizeof(want.boot_id));
        if (r < 0)
                return r;
        r = snprintf(path, sizeof(path), "%s/" METRICS_FILE_NAME, dir);
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;

        for (unsigned i = 0; i < OPEN_ATTEMPTS; i++) {
                _cleanup_close_ int fd = -1;

                fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (fd < 0 && errno != ENOENT)
                        return -errno;
                if (fd < 0)
                        r = create_file(dir, path, &want, ret);
                else {
                        r = file_is_current(fd, &want);
                        if (r > 0)
                                return map_file(fd, ret);
                        if (r == 0)
                                r = replace_file(fd, dir, path, &want, ret);
                }
                if (r <= 0)
                        return r;
        }
        return -EBUSY;
}

struct metrics *metrics_close(struct metrics *m) {
        if (m)
                (void)munmap(m, sizeof(*m));
        return NULL;
}

static void add(uint64_t *counter, uint64_t n) {
        __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static void observe(struct histogram *h, usec_t usec) {
        size_t i = 0;

        while (i < ELEMENTSOF(buckets) && usec > buckets[i].usec)
                i++;
        add(&h->bucket[i], 1);
        add(&h->sum_usec, usec);
}

void metrics_request(struct metrics *m, enum metrics_route route, int status) {
        size_t s = 0;

        if (!m)
                return;
        if ((unsigned)route >= _METRICS_ROUTE_MAX)
                route = METRICS_ROUTE_OTHER;
        while (s < ELEMENTSOF(statuses) && statuses[s].status != status)
                s++;
        add(&m->c.requests[route][s], 1);
}

void metrics_run_ok(struct metrics *m) {
        if (m)
                add(&m->c.runs_ok, 1);
}

void metrics_run_error(struct metrics *m, unsigned code) {
        if (m && code < METRICS_MAX_CODES)
                add(&m->c.runs_error[code], 1);
}

void metrics_warm(struct metrics *m, bool hit) {
        if (m)
                add(&m->c.warm[hit], 1);
}

void metrics_engine_failure(struct metrics *m, unsigned engine) {
        if (m && engine < METRICS_MAX_ENGINES)
                add(&m->c.engine_failures[engine], 1);
}

void metrics_run_duration(struct metrics *m, usec_t usec) {
        if (m)
                observe(&m->c.run_duration, usec);
}

void metrics_queue_wait(struct metrics *m, usec_t usec) {
        if (m)
                observe(&m->c.queue_wait, usec);
}

void metrics_engine_phase(struct metrics *m, unsigned engine, enum metrics_phase phase, usec_t usec) {
        if (m && engine < METRICS_MAX_ENGINES && (unsigned)phase < _METRICS_PHASE_MAX)
                observe(&m->c.engine_phase[engine][phase], usec);
}

/* The text is rendered twice: measured with buf NULL, then written into a buffer of that size. */
struct out {
        char *buf;
        size_t size;
        size_t len;
};

struct label {
        const char *name;
        const char *value;
};

static void out_bytes(struct out *o, const char *s, size_t n) {
        if (o->buf && o->len < o->size && n < o->size - o->len)
                memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void out_str(struct out *o, const char *s) {
        out_bytes(o, s, strlen(s));
}

static void out_printf(struct out *o, const char *fmt, ...) _printf_(2, 3);
static void out_printf(struct out *o, const char *fmt, ...) {
        char text[64]; /* numbers only */
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (n > 0)
                out_bytes(o, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static void out_label_value(struct out *o, const char *s) {
        for (; *s; s++)
                if (*s == '\\')
                        out_str(o, "\\\\");
                else if (*s == '"')
                        out_str(o, "\\\"");
                else if (*s == '\n')
                        out_str(o, "\\n");
                else
                        out_bytes(o, s, 1);
}

static void out_family(struct out *o, const char *name, const char *type, const char *help) {
        out_str(o, "# HELP ");
        out_str(o, name);
        out_str(o, " ");
        out_str(o, help);
        out_str(o, "\n# TYPE ");
        out_str(o, name);
        out_str(o, " ");
        out_str(o, type);
        out_str(o, "\n");
}

/* A sample's name and labels, up to the space before its value. */
static void out_name(struct out *o, const char *family, const char *suffix, const struct label *labels,
        size_t n, const char *le) {
        out_str(o, family);
        out_str(o, suffix);
        if (n > 0 || le) {
                out_str(o, "{");
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                out_str(o, ",");
                        out_str(o, labels[i].name);
                        out_str(o, "=\"");
                        out_label_value(o, labels[i].value);
                        out_str(o, "\"");
                }
                if (le) {
                        if (n > 0)
                                out_str(o, ",");
                        out_str(o, "le=\"");
                        out_str(o, le);
                        out_str(o, "\"");
                }
                out_str(o, "}");
        }
        out_str(o, " ");
}

static void out_sample(
        struct out *o, const char *family, const struct label *labels, size_t n, uint64_t value) {
        out_name(o, family, "", labels, n, NULL);
        out_printf(o, "%" PRIu64 "\n", value);
}

static void out_histogram(
        struct out *o, const char *family, const struct label *labels, size_t n, const struct histogram *h) {
        uint64_t cumulative = 0;

        for (size_t i = 0; i < N_BUCKETS; i++) {
                cumulative += h->bucket[i];
                out_name(o, family, "_bucket", labels, n, i < ELEMENTSOF(buckets) ? buckets[i].le : "+Inf");
                out_printf(o, "%" PRIu64 "\n", cumulative);
        }
        out_name(o, family, "_sum", labels, n, NULL);
        out_printf(o, "%" PRIu64 ".%06" PRIu64 "\n", h->sum_usec / (uint64_t)USEC_PER_SEC,
                h->sum_usec % (uint64_t)USEC_PER_SEC);
        out_name(o, family, "_count", labels, n, NULL);
        out_printf(o, "%" PRIu64 "\n", cumulative);
}

static void render_counters(struct out *o, const struct counters *c, const struct metrics_scrape *s) {
        size_t n_codes = s->n_codes < METRICS_MAX_CODES ? s->n_codes : METRICS_MAX_CODES;
        size_t n_engines = s->n_engines < METRICS_MAX_ENGINES ? s->n_engines : METRICS_MAX_ENGINES;
        const char *family;

        family = "docker_run_requests_total";
        out_family(o, family, "counter", "HTTP requests answered, by route and status.");
        for (size_t r = 0; r < _METRICS_ROUTE_MAX; r++)
                for (size_t st = 0; st < N_STATUSES; st++) {
                        struct label l[] = {
                                { "route", route_names[r] },
                                { "status", st < ELEMENTSOF(statuses) ? statuses[st].name : "other" },
                        };

                        out_sample(o, family, l, ELEMENTSOF(l), c->requests[r][st]);
                }

        family = "docker_run_runs_total";
        out_family(o, family, "counter", "Runs finished, by result: ok or the error code.");
        out_sample(o, family, &(struct label){ "result", "ok" }, 1, c->runs_ok);
        for (size_t i = 0; i < n_codes; i++)
                if (s->codes[i])
                        out_sample(o, family, &(struct label){ "result", s->codes[i] }, 1, c->runs_error[i]);

        family = "docker_run_warm_pool_total";
        out_family(
                o, family, "counter", "Runs that claimed a warm container (hit) or found none free (miss).");
        out_sample(o, family, &(struct label){ "outcome", "hit" }, 1, c->warm[true]);
        out_sample(o, family, &(struct label){ "outcome", "miss" }, 1, c->warm[false]);

        family = "docker_run_engine_failures_total";
        out_family(o, family, "counter", "Failed calls to a Docker engine, by engine.");
        for (size_t e = 0; e < n_engines; e++)
                out_sample(o, family, &(struct label){ "engine", s->engines[e].name }, 1,
                        c->engine_failures[e]);

        family = "docker_run_run_duration_seconds";
        out_family(o, family, "histogram", "Time from the first byte of a run request to its answer.");
        out_histogram(o, family, NULL, 0, &c->run_duration);

        family = "docker_run_queue_wait_seconds";
        out_family(o, family, "histogram", "Time a run waited for a free slot.");
        out_histogram(o, family, NULL, 0, &c->queue_wait);

        family = "docker_run_engine_phase_seconds";
        out_family(o, family, "histogram", "Time of each phase of a run, by engine and phase.");
        for (size_t e = 0; e < n_engines; e++)
                for (size_t p = 0; p < _METRICS_PHASE_MAX; p++) {
                        struct label l[] = { { "engine", s->engines[e].name }, { "phase", phase_names[p] } };

                        out_histogram(o, family, l, ELEMENTSOF(l), &c->engine_phase[e][p]);
                }
}

static void render_gauges(struct out *o, const struct metrics_scrape *s) {
        size_t n_engines = s->n_engines < METRICS_MAX_ENGINES ? s->n_engines : METRICS_MAX_ENGINES;
        const char *family;

        family = "docker_run_runs_in_flight";
        out_family(o, family, "gauge", "Runs being executed now.");
        out_sample(o, family, NULL, 0, s->runs_in_flight);

        family = "docker_run_runs_waiting";
        out_family(o, family, "gauge", "Runs waiting for a free slot now.");
        out_sample(o, family, NULL, 0, s->runs_waiting);

        family = "docker_run_warm_containers";
        out_family(o, family, "gauge", "Warm containers running unclaimed, by image.");
        for (size_t i = 0; i < s->n_warm; i++)
                out_sample(o, family, &(struct label){ "image", s->warm[i].image }, 1, s->warm[i].count);

        family = "docker_run_engine_up";
        out_family(o, family, "gauge", "Whether the engine answered (1) or not (0).");
        for (size_t e = 0; e < n_engines; e++)
                out_sample(o, family, &(struct label){ "engine", s->engines[e].name }, 1, s->engines[e].up);
}

static void render(struct out *o, const struct counters *c, const struct metrics_scrape *s) {
        if (c)
                render_counters(o, c, s);
        render_gauges(o, s);
}

/* One consistent copy: both rendering passes must see the same numbers. */
static void snapshot(const struct counters *from, struct counters *to) {
        const uint64_t *src = (const uint64_t *)from;
        uint64_t *dst = (uint64_t *)to;

        for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
                dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int metrics_render(const struct metrics *m, const struct metrics_scrape *s, char **ret, size_t *ret_len) {
        _cleanup_free_ struct counters *c = NULL;
        struct out o = {};
        char *buf;

        if (m) {
                c = malloc(sizeof(*c));
                if (!c)
                        return -ENOMEM;
                snapshot(&m->c, c);
        }
        render(&o, c, s);
        buf = malloc(o.len + 1);
        if (!buf)
                return -ENOMEM;
        o = (struct out){ .buf = buf, .size = o.len + 1 };
        render(&o, c, s);
        buf[o.len < o.size ? o.len : o.size - 1] = '\0';
        *ret = buf;
        *ret_len = o.len;
        return 0;
}
