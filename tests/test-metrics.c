/* SPDX-License-Identifier: MIT */
/* test-metrics: the shared metrics file under concurrent and killed handlers, and its exact text. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "tap.h"

#define N_CHILDREN 8
#define N_ADDS     10000
#define ACK_EVERY  256 /* iterations a killed child acknowledges at once */

static char base[] = "/tmp/test-metrics.XXXXXX";
static unsigned n_dirs;

/* A directory path under base that does not exist yet: metrics_open creates it. */
static void fresh_dir(char *buf, size_t size) {
        snprintf(buf, size, "%s/%u", base, n_dirs++);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* A bounded text built by appending, for the expected renderings. */
struct text {
        char buf[65536];
        size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) _printf_(2, 3);
static void text_add(struct text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
        va_end(ap);
        if (n > 0 && (size_t)n < sizeof(t->buf) - t->len)
                t->len += (size_t)n;
}

static const char *const route_names[] = { "root", "version", "run", "health", "metrics", "other" };
static const char *const status_names[] = { "200", "400", "401", "403", "404", "405", "408", "411", "413",
        "414", "429", "431", "500", "501", "503", "505", "other" };
static const char *const phase_names[] = { "claim", "create", "attach", "start", "run", "remove" };
static const char *const les[] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
        "10", "30", "60", "+Inf" };
#define N_LES (sizeof(les) / sizeof(les[0]))

/* A histogram's lines; cumulative[i] for les[i], labels "" or `k="v",`. */
static void expect_histogram(struct text *t, const char *family, const char *labels,
        const uint64_t *cumulative, const char *sum) {
        size_t n = strlen(labels);

        for (size_t i = 0; i < N_LES; i++)
                text_add(t, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", family, labels, les[i], cumulative[i]);
        if (n == 0) {
                text_add(t, "%s_sum %s\n%s_count %" PRIu64 "\n", family, sum, family, cumulative[N_LES - 1]);
                return;
        }
        /* the labels without their trailing comma */
        text_add(t, "%s_sum{%.*s} %s\n%s_count{%.*s} %" PRIu64 "\n", family, (int)n - 1, labels, sum, family,
                (int)n - 1, labels, cumulative[N_LES - 1]);
}

static const char *const codes[] = { "a.b", "docker.container.create", NULL };
static const struct metrics_engine engines[] = { { "local", true }, { "remote \"b\"", false } };
static const struct metrics_warm_image warm[] = { { "glot/bash:latest", 2 }, { "we\\ird\n", 0 } };
static const struct metrics_scrape scrape = {
        .codes = codes,
        .n_codes = 3,
        .engines = engines,
        .n_engines = 2,
        .warm = warm,
        .n_warm = 2,
        .runs_in_flight = 3,
        .runs_waiting = 1,
};

static const char gauges[] =
        "# HELP docker_run_runs_in_flight Runs being executed now.\n"
        "# TYPE docker_run_runs_in_flight gauge\n"
        "docker_run_runs_in_flight 3\n"
        "# HELP docker_run_runs_waiting Runs waiting for a free slot now.\n"
        "# TYPE docker_run_runs_waiting gauge\n"
        "docker_run_runs_waiting 1\n"
        "# HELP docker_run_warm_containers Warm containers running unclaimed, by image.\n"
        "# TYPE docker_run_warm_containers gauge\n"
        "docker_run_warm_containers{image=\"glot/bash:latest\"} 2\n"
        "docker_run_warm_containers{image=\"we\\\\ird\\n\"} 0\n"
        "# HELP docker_run_engine_up Whether the engine answered (1) or not (0).\n"
        "# TYPE docker_run_engine_up gauge\n"
        "docker_run_engine_up{engine=\"local\"} 1\n"
        "docker_run_engine_up{engine=\"remote \\\"b\\\"\"} 0\n";

static void check_text(const char *name, const char *got, size_t got_len, const char *want) {
        size_t i = 0;

        while (got[i] && got[i] == want[i])
                i++;
        CHECK(got[i] == want[i], "%s: differs at byte %zu: got «%.80s», want «%.80s»", name, i, got + i,
                want + i);
        CHECK(got_len == strlen(got), "%s: length %zu", name, got_len);
}

static void test_render_exact(void) {
        static const uint64_t run_duration[N_LES] = { 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4 };
        static const uint64_t queue_wait[N_LES] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
        static const uint64_t none[N_LES] = { 0 };
        static const uint64_t one_second[N_LES] = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1 };
        struct metrics *m = NULL;
        static struct text want;
        char dir[256], *got = NULL;
        size_t len = 0;

        fresh_dir(dir, sizeof(dir));
        CHECK(metrics_open(dir, &m) == 0 && m, "open %s", dir);
        metrics_request(m, METRICS_ROUTE_RUN, 200);
        metrics_request(m, METRICS_ROUTE_RUN, 200);
        metrics_request(m, METRICS_ROUTE_HEALTH, 418);
        metrics_request(m, (enum metrics_route)99, 404);
        metrics_run_ok(m);
        metrics_run_error(m, 1);
        metrics_run_error(m, 1);
        metrics_run_error(m, 2); /* counted, but has no name at this scrape */
        metrics_run_error(m, METRICS_MAX_CODES);
        metrics_warm(m, true);
        metrics_warm(m, false);
        metrics_warm(m, false);
        metrics_warm(m, false);
        metrics_engine_failure(m, 1);
        metrics_engine_failure(m, METRICS_MAX_ENGINES);
        metrics_run_duration(m, 5000); /* a bound is in its bucket */
        metrics_run_duration(m, 5001);
        metrics_run_duration(m, 2500000);
        metrics_run_duration(m, 61000000);
        metrics_queue_wait(m, 0);
        metrics_engine_phase(m, 1, METRICS_PHASE_START, 1000000);
        metrics_engine_phase(m, 2, (enum metrics_phase)6, 1000000);
        metrics_engine_phase(m, METRICS_MAX_ENGINES, METRICS_PHASE_RUN, 1000000);

        text_add(&want, "# HELP docker_run_requests_total HTTP requests answered, by route and status.\n"
                        "# TYPE docker_run_requests_total counter\n");
        for (size_t r = 0; r < 6; r++)
                for (size_t s = 0; s < 17; s++) {
                        int v = (r == 2 && s == 0) ? 2 : (r == 3 && s == 16) || (r == 5 && s == 4) ? 1 : 0;

                        text_add(&want, "docker_run_requests_total{route=\"%s\",status=\"%s\"} %d\n",
                                route_names[r], status_names[s], v);
                }
        text_add(&want,
                "# HELP docker_run_runs_total Runs finished, by result: ok or the error code.\n"
                "# TYPE docker_run_runs_total counter\n"
                "docker_run_runs_total{result=\"ok\"} 1\n"
                "docker_run_runs_total{result=\"a.b\"} 0\n"
                "docker_run_runs_total{result=\"docker.container.create\"} 2\n"
                "# HELP docker_run_warm_pool_total Runs that claimed a warm container (hit) or found none "
                "free (miss).\n"
                "# TYPE docker_run_warm_pool_total counter\n"
                "docker_run_warm_pool_total{outcome=\"hit\"} 1\n"
                "docker_run_warm_pool_total{outcome=\"miss\"} 3\n"
                "# HELP docker_run_engine_failures_total Failed calls to a Docker engine, by engine.\n"
                "# TYPE docker_run_engine_failures_total counter\n"
                "docker_run_engine_failures_total{engine=\"local\"} 0\n"
                "docker_run_engine_failures_total{engine=\"remote \\\"b\\\"\"} 1\n"
                "# HELP docker_run_run_duration_seconds Time from the first byte of a run request to its "
                "answer.\n"
                "# TYPE docker_run_run_duration_seconds histogram\n");
        expect_histogram(&want, "docker_run_run_duration_seconds", "", run_duration, "63.510001");
        text_add(&want, "# HELP docker_run_queue_wait_seconds Time a run waited for a free slot.\n"
                        "# TYPE docker_run_queue_wait_seconds histogram\n");
        expect_histogram(&want, "docker_run_queue_wait_seconds", "", queue_wait, "0.000000");
        text_add(&want,
                "# HELP docker_run_engine_phase_seconds Time of each phase of a run, by engine and phase.\n"
                "# TYPE docker_run_engine_phase_seconds histogram\n");
        for (size_t e = 0; e < 2; e++)
                for (size_t p = 0; p < 6; p++) {
                        char labels[128];
                        bool hit = e == 1 && p == METRICS_PHASE_START;

                        snprintf(labels, sizeof(labels), "engine=\"%s\",phase=\"%s\",",
                                e == 0 ? "local" : "remote \\\"b\\\"", phase_names[p]);
                        expect_histogram(&want, "docker_run_engine_phase_seconds", labels,
                                hit ? one_second : none, hit ? "1.000000" : "0.000000");
                }
        text_add(&want, "%s", gauges);

        CHECK(metrics_render(m, &scrape, &got, &len) == 0, "render");
        check_text("counters and gauges", got, len, want.buf);
        free(got);

        CHECK(metrics_render(NULL, &scrape, &got, &len) == 0, "render without the file");
        check_text("gauges only", got, len, gauges);
        free(got);
        metrics_close(m);

        /* Without a file every update is a no-op. */
        metrics_request(NULL, METRICS_ROUTE_RUN, 200);
        metrics_run_ok(NULL);
        metrics_run_error(NULL, 0);
        metrics_warm(NULL, true);
        metrics_engine_failure(NULL, 0);
        metrics_run_duration(NULL, 1);
        metrics_queue_wait(NULL, 1);
        metrics_engine_phase(NULL, 0, METRICS_PHASE_RUN, 1);
        CHECK(metrics_close(NULL) == NULL, "close NULL");
}

/* The text after "series " at the start of a line, or NULL. */
static const char *value_text(const char *text, const char *series) {
        size_t n = strlen(series);

        for (const char *line = text; line && *line;
                line = strchr(line, '\n'), line = line ? line + 1 : NULL)
                if (strncmp(line, series, n) == 0 && line[n] == ' ')
                        return line + n + 1;
        return NULL;
}

static uint64_t value_of(const char *text, const char *series) {
        const char *v = value_text(text, series);

        return v ? strtoull(v, NULL, 10) : UINT64_MAX;
}

static char *render(struct metrics *m) {
        char *text = NULL;
        size_t len;

        if (metrics_render(m, &scrape, &text, &len) < 0)
                return NULL;
        return text;
}

/*
 * Walk every histogram: buckets non-decreasing, _count equal to the +Inf
 * bucket. Returns the number of series, or -1 at the first violation.
 */
static int check_histograms(const char *text) {
        uint64_t last = 0, inf = UINT64_MAX;
        bool in_buckets = false;
        int series = 0;

        for (const char *line = text; *line;) {
                const char *end = strchr(line, '\n'), *space = memchr(line, ' ', (size_t)(end - line));
                const char *brace = memchr(line, '{', (size_t)(end - line));
                size_t name_len = (size_t)((brace && brace < space ? brace : space) - line);
                uint64_t v = strtoull(space + 1, NULL, 10);

                if (line[0] == '#') {
                        in_buckets = false;
                } else if (name_len > 7 && memcmp(line + name_len - 7, "_bucket", 7) == 0) {
                        if (in_buckets && v < last) {
                                fprintf(stderr, "decreasing bucket: %.*s\n", (int)(end - line), line);
                                return -1;
                        }
                        if (strstr(line, "le=\"+Inf\"") && strstr(line, "le=\"+Inf\"") < end)
                                inf = v;
                        last = v;
                        in_buckets = true;
                } else if (name_len > 6 && memcmp(line + name_len - 6, "_count", 6) == 0) {
                        if (v != inf) {
                                fprintf(stderr, "count %" PRIu64 " but +Inf %" PRIu64 "\n", v, inf);
                                return -1;
                        }
                        series++;
                        in_buckets = false;
                        inf = UINT64_MAX;
                } else {
                        in_buckets = false;
                }
                line = end + 1;
        }
        return series;
}

/* What each concurrent child adds, N_ADDS times. */
static void add_everything(struct metrics *m, unsigned child, unsigned i) {
        metrics_request(m, METRICS_ROUTE_RUN, 200);
        metrics_request(m, (enum metrics_route)(i % 6), 429);
        metrics_run_ok(m);
        metrics_run_error(m, i % 3);
        metrics_warm(m, i & 1);
        metrics_engine_failure(m, child % 2);
        metrics_run_duration(m, i);
        metrics_queue_wait(m, (usec_t)i * 7000);
        metrics_engine_phase(m, child % 2, (enum metrics_phase)(i % 6), (usec_t)i * 13);
}

static void test_concurrent_adds(void) {
        struct metrics *m = NULL;
        char dir[256], *text;
        pid_t pids[N_CHILDREN];
        int ok = 0;

        fresh_dir(dir, sizeof(dir));
        CHECK(metrics_open(dir, &m) == 0, "open");
        for (unsigned c = 0; c < N_CHILDREN; c++) {
                pids[c] = fork();
                if (pids[c] == 0) {
                        struct metrics *own = NULL;

                        /* Each child maps the file itself, as a handler does. */
                        if (metrics_open(dir, &own) < 0)
                                _exit(1);
                        for (unsigned i = 0; i < N_ADDS; i++)
                                add_everything(own, c, i);
                        _exit(0);
                }
        }
        for (unsigned c = 0; c < N_CHILDREN; c++) {
                int status;

                if (pids[c] > 0 && waitpid(pids[c], &status, 0) == pids[c] && WIFEXITED(status) &&
                        WEXITSTATUS(status) == 0)
                        ok++;
        }
        CHECK(ok == N_CHILDREN, "%d children of %d counted", ok, N_CHILDREN);

        text = render(m);
        CHECK(text, "render");
        if (!text)
                return;
        CHECK(value_of(text, "docker_run_requests_total{route=\"run\",status=\"200\"}") == 80000,
                "requests");
        CHECK(value_of(text, "docker_run_requests_total{route=\"root\",status=\"429\"}") == 8 * 1667,
                "requests per route");
        CHECK(value_of(text, "docker_run_runs_total{result=\"ok\"}") == 80000, "runs ok");
        CHECK(value_of(text, "docker_run_runs_total{result=\"a.b\"}") == 8 * 3334, "runs error 0");
        CHECK(value_of(text, "docker_run_runs_total{result=\"docker.container.create\"}") == 8 * 3333,
                "runs error 1");
        CHECK(value_of(text, "docker_run_warm_pool_total{outcome=\"hit\"}") == 40000, "warm hits");
        CHECK(value_of(text, "docker_run_warm_pool_total{outcome=\"miss\"}") == 40000, "warm misses");
        CHECK(value_of(text, "docker_run_engine_failures_total{engine=\"local\"}") == 40000, "engine 0");
        CHECK(value_of(text, "docker_run_run_duration_seconds_count") == 80000, "run duration count");
        /* 8 × (0 + 1 + … + 9999) µs */
        CHECK(value_text(text, "docker_run_run_duration_seconds_sum") &&
                        strncmp(value_text(text, "docker_run_run_duration_seconds_sum"), "399.960000\n",
                                11) == 0,
                "run duration sum");
        CHECK(value_of(text, "docker_run_run_duration_seconds_bucket{le=\"0.005\"}") == 8 * 5001,
                "run duration first bucket");
        /* 7 ms × i: up to 5 ms none but i = 0, up to 60 s i ≤ 8571 */
        CHECK(value_of(text, "docker_run_queue_wait_seconds_bucket{le=\"0.005\"}") == 8,
                "queue first bucket");
        CHECK(value_of(text, "docker_run_queue_wait_seconds_bucket{le=\"60\"}") == 8 * 8572,
                "queue 60 s bucket");
        CHECK(value_of(text, "docker_run_queue_wait_seconds_count") == 80000, "queue count");
        CHECK(value_of(text, "docker_run_engine_phase_seconds_count{engine=\"local\",phase=\"claim\"}") ==
                        4 * 1667,
                "phase count");
        CHECK(check_histograms(text) == 14, "histogram invariants");
        free(text);
        metrics_close(m);
}

/* Children updating in a tight loop, killed at random moments; the file stays consistent. */
static void test_killed_mid_update(void) {
        uint64_t acked = 0, killed = 0;
        struct metrics *m = NULL;
        char dir[256], *text;
        uint64_t v;

        fresh_dir(dir, sizeof(dir));
        CHECK(metrics_open(dir, &m) == 0, "open");
        for (unsigned round = 0; round < 5; round++) {
                pid_t pids[N_CHILDREN];
                int p[2];
                char buf[4096];
                ssize_t n;

                CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
                for (unsigned c = 0; c < N_CHILDREN; c++) {
                        pids[c] = fork();
                        if (pids[c] == 0) {
                                struct metrics *own = NULL;

                                close(p[0]);
                                if (metrics_open(dir, &own) < 0)
                                        _exit(1);
                                for (unsigned i = 0;; i++) {
                                        metrics_request(own, METRICS_ROUTE_RUN, 200);
                                        metrics_run_duration(own, (usec_t)(i % 70) * USEC_PER_SEC);
                                        metrics_engine_phase(own, 0, METRICS_PHASE_RUN, i % 100000);
                                        if (i % ACK_EVERY == ACK_EVERY - 1 && write(p[1], "", 1) != 1)
                                                _exit(1);
                                }
                        }
                }
                close(p[1]);
                (void)fcntl(p[0], F_SETFL, O_NONBLOCK);
                for (unsigned c = 0; c < N_CHILDREN; c++) {
                        uint32_t r = 0;
                        usec_t deadline;

                        /* Drain the acknowledgements for a random 1 to 20 ms, then kill one child. */
                        (void)getrandom(&r, sizeof(r), 0);
                        deadline = now_usec() + USEC_PER_MSEC + r % (19 * USEC_PER_MSEC);
                        while (now_usec() < deadline) {
                                struct pollfd pfd = { .fd = p[0], .events = POLLIN };

                                (void)poll(&pfd, 1, poll_timeout_ms(deadline));
                                while ((n = read(p[0], buf, sizeof(buf))) > 0)
                                        acked += (uint64_t)n;
                        }
                        if (pids[c] > 0 && kill(pids[c], SIGKILL) == 0)
                                killed++;
                }
                for (unsigned c = 0; c < N_CHILDREN; c++)
                        if (pids[c] > 0)
                                (void)waitpid(pids[c], NULL, 0);
                while ((n = read(p[0], buf, sizeof(buf))) > 0)
                        acked += (uint64_t)n;
                close(p[0]);
        }
        CHECK(killed == 5 * N_CHILDREN, "killed %" PRIu64, killed);
        printf("killed %" PRIu64 " children that had acknowledged %" PRIu64 " iterations\n", killed,
                acked * ACK_EVERY);
        CHECK(acked > 0, "children acknowledged %" PRIu64 " batches", acked);

        text = render(m);
        CHECK(text, "render");
        if (!text)
                return;
        /* At most ACK_EVERY unacknowledged iterations per killed child. */
        v = value_of(text, "docker_run_requests_total{route=\"run\",status=\"200\"}");
        CHECK(v >= acked * ACK_EVERY && v <= (acked + killed) * ACK_EVERY,
                "requests %" PRIu64 " for %" PRIu64 " acknowledged", v, acked * ACK_EVERY);
        v = value_of(text, "docker_run_run_duration_seconds_count");
        CHECK(v >= acked * ACK_EVERY && v <= (acked + killed) * ACK_EVERY, "durations %" PRIu64, v);
        v = value_of(text, "docker_run_engine_phase_seconds_count{engine=\"local\",phase=\"run\"}");
        CHECK(v >= acked * ACK_EVERY && v <= (acked + killed) * ACK_EVERY, "phases %" PRIu64, v);
        CHECK(check_histograms(text) == 14, "histogram invariants after kills");
        free(text);
        metrics_close(m);

        /* And the file is still fine for the next handler. */
        CHECK(metrics_open(dir, &m) == 0, "reopen after kills");
        metrics_close(m);
}

static int file_path(const char *dir, char *buf, size_t size) {
        return snprintf(buf, size, "%s/" METRICS_FILE_NAME, dir);
}

static uint64_t runs_ok(struct metrics *m) {
        char *text = render(m);
        uint64_t v = text ? value_of(text, "docker_run_runs_total{result=\"ok\"}") : UINT64_MAX;

        free(text);
        return v;
}

#define BAD(offset, bytes) offset, bytes, sizeof(bytes) - 1, 0
#define TRUNCATE(to)       -1, NULL, 0, to
static const struct {
        const char *name;
        off_t offset; /* where to write bad, or -1 to truncate the file */
        const char *bad;
        size_t len;
        off_t truncate_to;
} stale[] = {
        { "wrong magic", BAD(offsetof(struct metrics_header, magic), "XXXXXXXX") },
        { "wrong layout", BAD(offsetof(struct metrics_header, layout), "\x7f\0\0\0") },
        { "wrong size in header", BAD(offsetof(struct metrics_header, size), "\x10\0\0\0") },
        { "another boot",
                BAD(offsetof(struct metrics_header, boot_id), "00000000-0000-0000-0000-000000000000") },
        { "truncated", TRUNCATE(100) },
        { "empty", TRUNCATE(0) },
        { "longer", TRUNCATE(1 << 20) },
};

static void test_replace_stale(void) {
        for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
                struct metrics *m = NULL;
                struct metrics_header h = { 0 };
                char dir[256], path[300];
                struct stat before, after, st_dir;
                int fd;

                fresh_dir(dir, sizeof(dir));
                file_path(dir, path, sizeof(path));
                CHECK(metrics_open(dir, &m) == 0, "%s: open", stale[i].name);
                metrics_run_ok(m);
                metrics_close(m);
                CHECK(stat(dir, &st_dir) == 0 && (st_dir.st_mode & 07777) == 0700, "%s: directory 0700",
                        stale[i].name);

                /* Reopened unchanged, the count is kept. */
                CHECK(metrics_open(dir, &m) == 0 && runs_ok(m) == 1, "%s: kept", stale[i].name);
                metrics_close(m);

                CHECK(stat(path, &before) == 0, "%s: stat", stale[i].name);
                fd = open(path, O_RDWR | O_CLOEXEC);
                if (stale[i].offset >= 0)
                        CHECK(pwrite(fd, stale[i].bad, stale[i].len, stale[i].offset) ==
                                        (ssize_t)stale[i].len,
                                "%s: tamper", stale[i].name);
                else
                        CHECK(ftruncate(fd, stale[i].truncate_to) == 0, "%s: truncate", stale[i].name);
                close(fd);

                CHECK(metrics_open(dir, &m) == 0 && runs_ok(m) == 0, "%s: replaced with a zeroed file",
                        stale[i].name);
                metrics_close(m);
                CHECK(stat(path, &after) == 0 && after.st_ino != before.st_ino, "%s: a new file",
                        stale[i].name);
                CHECK((after.st_mode & 07777) == 0600 && S_ISREG(after.st_mode), "%s: mode %o",
                        stale[i].name, (unsigned)after.st_mode);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                CHECK(pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == METRICS_MAGIC &&
                                h.layout == METRICS_LAYOUT && h.size == after.st_size && h.boot_id[35] &&
                                !h.boot_id[36],
                        "%s: header", stale[i].name);
                close(fd);
        }
}

static void test_refused(void) {
        struct metrics *m = NULL;
        char dir[256], path[300];

        fresh_dir(dir, sizeof(dir));
        CHECK(mkdir(dir, 0700) == 0, "mkdir");
        file_path(dir, path, sizeof(path));
        CHECK(symlink("/tmp/elsewhere", path) == 0, "symlink");
        CHECK(metrics_open(dir, &m) == -ELOOP && !m, "a symlink is not followed");
        CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0, "fifo");
        CHECK(metrics_open(dir, &m) == -EEXIST && !m, "a fifo is not replaced");
        CHECK(metrics_open("/nonexistent/docker-run", &m) == -ENOENT && !m, "no parent directory");
}

/*
 * Children opening one directory at the same moment, fresh or holding a
 * stale file: every one must map the one file, so that no add is lost.
 */
static void test_concurrent_open(bool with_stale) {
        unsigned good = 0;

        for (unsigned round = 0; round < 20; round++) {
                struct metrics *m = NULL;
                char dir[256], go;
                pid_t pids[N_CHILDREN];
                int p[2];
                unsigned ok = 0;

                fresh_dir(dir, sizeof(dir));
                if (with_stale) {
                        char path[300];
                        int fd;

                        CHECK(mkdir(dir, 0700) == 0, "mkdir");
                        file_path(dir, path, sizeof(path));
                        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                        CHECK(fd >= 0 && write(fd, "stale", 5) == 5, "stale file");
                        close(fd);
                }
                CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
                for (unsigned c = 0; c < N_CHILDREN; c++) {
                        pids[c] = fork();
                        if (pids[c] == 0) {
                                struct metrics *own = NULL;

                                close(p[1]);
                                if (read(p[0], &go, 1) != 0) /* waits for the parent's close */
                                        _exit(2);
                                if (metrics_open(dir, &own) < 0)
                                        _exit(1);
                                metrics_run_ok(own);
                                _exit(0);
                        }
                }
                close(p[0]);
                close(p[1]);
                for (unsigned c = 0; c < N_CHILDREN; c++) {
                        int status;

                        if (pids[c] > 0 && waitpid(pids[c], &status, 0) == pids[c] && WIFEXITED(status) &&
                                WEXITSTATUS(status) == 0)
                                ok++;
                }
                CHECK(ok == N_CHILDREN, "round %u: %u of %d opened", round, ok, N_CHILDREN);
                CHECK(metrics_open(dir, &m) == 0, "round %u: open", round);
                if (runs_ok(m) == N_CHILDREN)
                        good++;
                metrics_close(m);
        }
        CHECK(good == 20, "%s: %u of 20 rounds shared one file", with_stale ? "stale" : "fresh", good);
}

int main(void) {
        if (!mkdtemp(base)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        test_render_exact();
        test_concurrent_adds();
        test_killed_mid_update();
        test_replace_stale();
        test_refused();
        test_concurrent_open(false);
        test_concurrent_open(true);
        (void)nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        return tap_finish("test-metrics");
}
