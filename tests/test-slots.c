/* SPDX-License-Identifier: MIT */
/* test-slots: run slots and their FIFO queue, driven by forked processes in a temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slots.h"
#include "tap.h"
#include "util.h"

#define MAX_CHILDREN 256

enum { ACQUIRED, RELEASED };

struct report {
        int kind;
        int index;
        int r;
        usec_t at;
};

/* What a child does: wait for a slot, report, hold it, release it, report. */
struct plan {
        unsigned count;
        int index;
        int timeout_ms; /* 0: try once */
        int tag;        /* < 0: none */
        int hold_ms;    /* < 0: until a byte on its control pipe */
        int cancel_fd;  /* < 0: none */
        bool linger;    /* stay alive until the control pipe closes */
};

struct child {
        pid_t pid;
        int ctl;
};

static char base[64], dir[80];
static int reports[2] = { -1, -1 };
static int ctls[MAX_CHILDREN];
static size_t n_ctls;
/* Reports read while waiting for another one. */
static struct report aside[64];
static size_t n_aside;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void setup(void) {
        struct report stale;
        struct pollfd p = { .fd = reports[0], .events = POLLIN };

        /* Each test starts with no report of an earlier one. */
        while (poll(&p, 1, 0) == 1 && read(reports[0], &stale, sizeof(stale)) == (ssize_t)sizeof(stale))
                ;
        n_aside = 0;
        snprintf(base, sizeof(base), "/tmp/test-slots-XXXXXX");
        if (!mkdtemp(base)) {
                perror("mkdtemp");
                exit(EXIT_FAILURE);
        }
        /* Not created yet: slots_open() makes it. */
        snprintf(dir, sizeof(dir), "%s/run", base);
        alarm(60);
}

static void teardown(void) {
        (void)nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void report_send(const struct report *rep) {
        if (write(reports[1], rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
                _exit(EXIT_FAILURE);
}

static int report_read(struct report *ret, int timeout_ms) {
        struct pollfd p = { .fd = reports[0], .events = POLLIN };

        if (poll(&p, 1, timeout_ms) != 1)
                return -ETIMEDOUT;
        return read(reports[0], ret, sizeof(*ret)) == (ssize_t)sizeof(*ret) ? 0 : -EIO;
}

static _Noreturn void child_run(const struct plan *p, int ctl) {
        struct pollfd cancel = { .fd = p->cancel_fd, .events = POLLIN };
        struct report rep = { .kind = ACQUIRED, .index = p->index };
        struct slots *s = NULL;
        char b;

        alarm(60);
        for (size_t i = 0; i < n_ctls; i++)
                close(ctls[i]);
        rep.r = slots_open(dir, p->count, &s);
        if (rep.r >= 0)
                rep.r = slots_acquire(s, now_usec() + (usec_t)p->timeout_ms * USEC_PER_MSEC, &cancel,
                        p->cancel_fd >= 0 ? 1 : 0, NULL);
        rep.at = now_usec();
        if (rep.r == 0 && p->tag >= 0 && slots_set_tag(s, (unsigned)p->tag) < 0)
                _exit(EXIT_FAILURE);
        report_send(&rep);
        if (rep.r == 0) {
                if (p->hold_ms > 0)
                        usleep((useconds_t)p->hold_ms * 1000);
                else if (p->hold_ms < 0)
                        (void)!read(ctl, &b, 1);
                rep.kind = RELEASED;
                rep.at = now_usec();
                slots_release(s);
                report_send(&rep);
        }
        while (p->linger && read(ctl, &b, 1) > 0)
                ;
        slots_free(s);
        _exit(EXIT_SUCCESS);
}

static struct child spawn(const struct plan *p) {
        int ctl[2];
        pid_t pid;

        if (pipe2(ctl, O_CLOEXEC) < 0 || n_ctls >= MAX_CHILDREN) {
                perror("pipe2");
                exit(EXIT_FAILURE);
        }
        pid = fork();
        if (pid < 0) {
                perror("fork");
                exit(EXIT_FAILURE);
        }
        if (pid == 0) {
                close(ctl[1]);
                child_run(p, ctl[0]);
        }
        close(ctl[0]);
        ctls[n_ctls++] = ctl[1];
        return (struct child){ .pid = pid, .ctl = ctl[1] };
}

static void child_release(const struct child *c) {
        if (write(c->ctl, "x", 1) != 1)
                perror("write");
}

static void ctl_close(struct child *c) {
        for (size_t i = 0; i < n_ctls; i++)
                if (ctls[i] == c->ctl) {
                        ctls[i] = ctls[--n_ctls];
                        break;
                }
        if (c->ctl >= 0)
                close(c->ctl);
        c->ctl = -1;
}

/* Close its control pipe (releasing a held slot) and wait for it; returns its exit status. */
static int child_reap(struct child *c) {
        int status = 0;

        ctl_close(c);
        if (c->pid > 0 && waitpid(c->pid, &status, 0) < 0)
                return -1;
        c->pid = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void child_kill(struct child *c) {
        kill(c->pid, SIGKILL);
        (void)child_reap(c);
}

static unsigned waiting(void) {
        unsigned n = 0;

        return slots_waiting(dir, &n) < 0 ? UINT32_MAX : n;
}

static unsigned held(unsigned count) {
        unsigned n = 0;

        return slots_count(dir, count, &n, NULL, 0) < 0 ? UINT32_MAX : n;
}

/* Wait until exactly n processes are queued, for at most 5 s. */
static bool wait_waiting(unsigned n) {
        for (usec_t end = now_usec() + 5 * USEC_PER_SEC; now_usec() < end; usleep(500))
                if (waiting() == n)
                        return true;
        return false;
}

/* Take the report of kind from index, read now or set aside earlier: reports of others may come first. */
static bool expect_report(int kind, int index, int timeout_ms, struct report *ret) {
        struct report rep = { 0 };

        for (size_t i = 0; i < n_aside; i++)
                if (aside[i].kind == kind && aside[i].index == index) {
                        *ret = aside[i];
                        aside[i] = aside[--n_aside];
                        return true;
                }
        while (report_read(&rep, timeout_ms) == 0) {
                if (rep.kind == kind && rep.index == index) {
                        *ret = rep;
                        return true;
                }
                if (n_aside < ELEMENTSOF(aside))
                        aside[n_aside++] = rep;
        }
        return false;
}

static unsigned queue_entries(void) {
        char path[128];
        unsigned n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/queue", dir);
        d = opendir(path);
        if (!d)
                return UINT32_MAX;
        for (struct dirent *de = readdir(d); de; de = readdir(d))
                n += strncmp(de->d_name, "q-", 2) == 0;
        closedir(d);
        return n;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *)a, y = *(const usec_t *)b;

        return x < y ? -1 : x > y;
}

static void test_capacity(void) {
        struct child h[3], w;
        struct report rep = { 0 }, rel = { 0 }, acq = { 0 };
        struct slots *s;
        usec_t t0;
        int r;

        setup();
        for (int i = 0; i < 3; i++)
                h[i] = spawn(&(struct plan){ .count = 3,
                        .index = i,
                        .timeout_ms = 1000,
                        .tag = -1,
                        .hold_ms = -1,
                        .cancel_fd = -1 });
        for (int i = 0; i < 3; i++) {
                CHECK(report_read(&rep, 2000) == 0 && rep.kind == ACQUIRED && rep.r == 0, "holder %d: r=%d",
                        rep.index, rep.r);
        }
        CHECK(held(3) == 3, "held %u", held(3));

        /* The fourth, trying once, is refused at once. */
        r = slots_open(dir, 3, &s);
        CHECK(r == 0, "slots_open: %d", r);
        t0 = now_usec();
        r = slots_acquire(s, now_usec(), NULL, 0, NULL);
        CHECK(r == -ETIMEDOUT && now_usec() - t0 < 50 * USEC_PER_MSEC, "try once: %d after %" PRIu64 " us",
                r, now_usec() - t0);
        CHECK(slots_set_tag(s, 1) == -ENOLCK, "tag without a slot");
        s = slots_free(s);

        /* With 200 ms it gives up after 200 ms. */
        t0 = now_usec();
        w = spawn(&(struct plan){ .count = 3, .index = 10, .timeout_ms = 200, .tag = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 10, 2000, &rep) && rep.r == -ETIMEDOUT, "200 ms waiter: %d", rep.r);
        CHECK(rep.at - t0 >= 200 * USEC_PER_MSEC && rep.at - t0 < 400 * USEC_PER_MSEC,
                "gave up after %" PRIu64 " us", rep.at - t0);
        CHECK(child_reap(&w) == 0, "200 ms waiter exit");

        /* With 1 s it gets a slot as soon as one is released. */
        w = spawn(&(struct plan){
                .count = 3, .index = 11, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(wait_waiting(1), "waiter queued");
        usleep(50 * 1000);
        child_release(&h[1]);
        CHECK(report_read(&rep, 2000) == 0, "first report");
        if (rep.kind == RELEASED) {
                rel = rep;
                CHECK(expect_report(ACQUIRED, 11, 2000, &acq), "waiter acquired");
        } else {
                acq = rep;
                CHECK(expect_report(RELEASED, 1, 2000, &rel), "holder released");
        }
        CHECK(acq.index == 11 && acq.r == 0, "waiter: %d", acq.r);
        CHECK(acq.at - rel.at < 50 * USEC_PER_MSEC, "handover took %" PRIu64 " us", acq.at - rel.at);

        for (int i = 0; i < 3; i++)
                CHECK(child_reap(&h[i]) == 0, "holder %d exit", i);
        CHECK(child_reap(&w) == 0, "waiter exit");
        CHECK(held(3) == 0 && waiting() == 0, "all free: held %u waiting %u", held(3), waiting());
        teardown();
}

static void test_killed_holder(void) {
        usec_t lat[20];
        struct report rep = { 0 };

        setup();
        for (size_t i = 0; i < ELEMENTSOF(lat); i++) {
                struct child h, w;
                usec_t t0;

                h = spawn(&(struct plan){ .count = 1,
                        .index = 0,
                        .timeout_ms = 1000,
                        .tag = -1,
                        .hold_ms = -1,
                        .cancel_fd = -1 });
                CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
                w = spawn(&(struct plan){
                        .count = 1, .index = 1, .timeout_ms = 2000, .tag = -1, .cancel_fd = -1 });
                CHECK(wait_waiting(1), "waiter queued");
                usleep(10 * 1000);
                t0 = now_usec();
                kill(h.pid, SIGKILL);
                CHECK(expect_report(ACQUIRED, 1, 2000, &rep) && rep.r == 0, "waiter after kill: %d", rep.r);
                lat[i] = rep.at - t0;
                CHECK(lat[i] < 500 * USEC_PER_MSEC, "slot of a killed holder freed after %" PRIu64 " us",
                        lat[i]);
                (void)child_reap(&h);
                CHECK(child_reap(&w) == 0, "waiter exit");
        }
        qsort(lat, ELEMENTSOF(lat), sizeof(lat[0]), cmp_usec);
        printf("# SIGKILLed holder to the waiter's acquisition, %zu runs: median %" PRIu64
               " us, max %" PRIu64 " us\n",
                ELEMENTSOF(lat), lat[ELEMENTSOF(lat) / 2], lat[ELEMENTSOF(lat) - 1]);
        teardown();
}

/* Queue waiters first..last behind a held slot, each once the previous is in. */
static void queue_up(struct child *w, int first, int last, int hold_ms, int cancel_fd) {
        unsigned before = waiting();

        for (int i = first; i <= last; i++) {
                w[i] = spawn(&(struct plan){ .count = 1,
                        .index = i,
                        .timeout_ms = 5000,
                        .tag = -1,
                        .hold_ms = hold_ms,
                        .cancel_fd = cancel_fd });
                CHECK(wait_waiting(before + (unsigned)(i - first + 1)), "waiter %d queued", i);
        }
}

/* Expect the acquisitions of the listed indexes, in this order, each within max_gap of the previous release.
 */
static void expect_order(const int *order, size_t n, usec_t last_release, usec_t max_gap) {
        struct report rep = { 0 };

        for (size_t i = 0; i < n; i++) {
                struct report acq = { 0 };

                CHECK(expect_report(ACQUIRED, order[i], 3000, &acq) && acq.r == 0, "acquisition %zu by %d",
                        i, order[i]);
                CHECK(acq.at - last_release < max_gap, "waiter %d acquired %" PRIu64 " us after the release",
                        order[i], acq.at - last_release);
                CHECK(expect_report(RELEASED, order[i], 3000, &rep), "release by %d", order[i]);
                last_release = rep.at;
        }
}

static void test_fifo(void) {
        static const int order[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        struct child h, w[9];
        struct report rep = { 0 };

        setup();
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        queue_up(w, 1, 8, 2, -1);
        child_release(&h);
        CHECK(expect_report(RELEASED, 0, 2000, &rep), "holder released");
        expect_order(order, ELEMENTSOF(order), rep.at, 50 * USEC_PER_MSEC);
        CHECK(child_reap(&h) == 0, "holder exit");
        for (int i = 1; i <= 8; i++)
                CHECK(child_reap(&w[i]) == 0, "waiter %d exit", i);
        CHECK(waiting() == 0 && queue_entries() == 0, "queue empty: %u left", queue_entries());
        teardown();
}

static void test_killed_waiters(void) {
        static const int order[] = { 2, 4, 5, 6 };
        struct child h, w[7];
        struct report rep = { 0 };
        usec_t t0;

        setup();
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        queue_up(w, 1, 6, 5, -1);
        child_kill(&w[3]); /* in the middle */
        CHECK(wait_waiting(5), "5 left");
        child_kill(&w[1]); /* at the head */
        CHECK(wait_waiting(4), "4 left");
        child_release(&h);
        CHECK(expect_report(RELEASED, 0, 2000, &rep), "holder released");
        expect_order(order, ELEMENTSOF(order), rep.at, 50 * USEC_PER_MSEC);
        CHECK(child_reap(&h) == 0, "holder exit");
        for (int i = 2; i <= 6; i++)
                if (i != 3)
                        CHECK(child_reap(&w[i]) == 0, "waiter %d exit", i);
        CHECK(queue_entries() == 0, "the FIFOs of the killed are removed: %u left", queue_entries());

        /* The head killed just as the slot comes free: the next takes it at once. */
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        queue_up(w, 1, 3, 5, -1);
        t0 = now_usec();
        child_kill(&w[1]);
        child_release(&h);
        expect_order((const int[]){ 2, 3 }, 2, t0, 100 * USEC_PER_MSEC);
        CHECK(child_reap(&h) == 0, "holder exit");
        CHECK(child_reap(&w[2]) == 0 && child_reap(&w[3]) == 0, "waiters exit");
        teardown();
}

static void test_cancel(void) {
        struct child h, w[4];
        struct report rep = { 0 };
        int cancel[2][2];
        usec_t t0;

        setup();
        CHECK(pipe2(cancel[0], O_CLOEXEC) == 0 && pipe2(cancel[1], O_CLOEXEC) == 0, "pipes");
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        queue_up(w, 1, 1, 5, cancel[0][0]);
        queue_up(w, 2, 2, 5, cancel[1][0]);
        queue_up(w, 3, 3, 5, -1);
        CHECK(wait_waiting(3), "3 queued");

        /* In the middle, then at the head: the third is left alone at the head. */
        for (int i = 1; i >= 0; i--) {
                t0 = now_usec();
                CHECK(write(cancel[i][1], "x", 1) == 1, "cancel");
                CHECK(expect_report(ACQUIRED, i + 1, 2000, &rep) && rep.r == -ECANCELED, "cancelled: %d",
                        rep.r);
                CHECK(rep.at - t0 < 100 * USEC_PER_MSEC, "cancelled after %" PRIu64 " us", rep.at - t0);
                CHECK(wait_waiting((unsigned)i + 1), "%d left", i + 1);
        }
        child_release(&h);
        CHECK(expect_report(RELEASED, 0, 2000, &rep), "holder released");
        expect_order((const int[]){ 3 }, 1, rep.at, 50 * USEC_PER_MSEC);
        CHECK(child_reap(&h) == 0, "holder exit");
        for (int i = 1; i <= 3; i++)
                CHECK(child_reap(&w[i]) == 0, "waiter %d exit", i);
        CHECK(queue_entries() == 0, "queue empty");
        for (int i = 0; i < 2; i++) {
                close(cancel[i][0]);
                close(cancel[i][1]);
        }
        teardown();
}

static void test_tags(void) {
        static const int tags[] = { 0, 1, 1, -1 };
        unsigned per_tag[3], n;
        struct child h[5];
        struct report rep = { 0 };

        setup();
        CHECK(slots_count(dir, 4, &n, per_tag, 3) == 0 && n == 0, "no directory yet");
        CHECK(slots_waiting(dir, &n) == 0 && n == 0, "no directory yet");
        for (int i = 0; i < 4; i++) {
                h[i] = spawn(&(struct plan){ .count = 4,
                        .index = i,
                        .timeout_ms = 1000,
                        .tag = tags[i],
                        .hold_ms = -1,
                        .cancel_fd = -1 });
                CHECK(expect_report(ACQUIRED, i, 2000, &rep) && rep.r == 0, "holder %d", i);
        }
        CHECK(slots_count(dir, 4, &n, per_tag, 3) == 0 && n == 4 && per_tag[0] == 1 && per_tag[1] == 2 &&
                        per_tag[2] == 0,
                "held %u: %u %u %u", n, per_tag[0], per_tag[1], per_tag[2]);
        CHECK(held(2) == 2, "a smaller count sees only its slots: %u", held(2));

        /* A killed holder is not counted; its successor's tag replaces its own. */
        child_kill(&h[1]);
        CHECK(slots_count(dir, 4, &n, per_tag, 3) == 0 && n == 3 && per_tag[0] == 1 && per_tag[1] == 1,
                "after the kill: held %u: %u %u", n, per_tag[0], per_tag[1]);
        h[4] = spawn(&(struct plan){
                .count = 4, .index = 4, .timeout_ms = 1000, .tag = 7, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 4, 2000, &rep) && rep.r == 0, "holder 4");
        CHECK(slots_count(dir, 4, &n, per_tag, 3) == 0 && n == 4 && per_tag[0] == 1 && per_tag[1] == 1 &&
                        per_tag[2] == 0,
                "tag 7 beyond n_tags: held %u: %u %u %u", n, per_tag[0], per_tag[1], per_tag[2]);
        for (int i = 0; i < 5; i++)
                if (i != 1)
                        CHECK(child_reap(&h[i]) == 0, "holder %d exit", i);
        CHECK(held(4) == 0, "all released");
        teardown();
}

static void test_mixed_counts(void) {
        struct child a, b, c, d;
        struct report rep = { 0 };

        setup();
        a = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "count 1 holds slot 0");
        b = spawn(&(struct plan){ .count = 2, .index = 1, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 1, 2000, &rep) && rep.r == 0, "count 2 takes slot 1 at once: %d",
                rep.r);
        c = spawn(&(struct plan){ .count = 1, .index = 2, .tag = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 2, 2000, &rep) && rep.r == -ETIMEDOUT, "count 1 is full: %d", rep.r);
        d = spawn(&(struct plan){ .count = 3, .index = 3, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 3, 2000, &rep) && rep.r == 0, "count 3 takes slot 2: %d", rep.r);
        CHECK(held(1) == 1 && held(3) == 3, "held %u of 1, %u of 3", held(1), held(3));
        CHECK(child_reap(&b) == 0 && child_reap(&c) == 0 && child_reap(&d) == 0, "exits");

        /*
         * Slot 1 is free, but one configured with 1 slot waits ahead: trying
         * once does not pass it, waiting does, in turn, once it is served.
         */
        b = spawn(&(struct plan){
                .count = 1, .index = 1, .timeout_ms = 5000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(wait_waiting(1), "count 1 waits");
        c = spawn(&(struct plan){ .count = 2, .index = 2, .tag = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 2, 2000, &rep) && rep.r == -ETIMEDOUT, "trying once stays behind: %d",
                rep.r);
        d = spawn(&(struct plan){
                .count = 2, .index = 3, .timeout_ms = 5000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(wait_waiting(2), "count 2 waits behind");
        child_release(&a);
        CHECK(expect_report(ACQUIRED, 1, 2000, &rep) && rep.r == 0, "count 1 served first");
        CHECK(expect_report(ACQUIRED, 3, 2000, &rep) && rep.r == 0, "then count 2");
        CHECK(child_reap(&a) == 0 && child_reap(&b) == 0 && child_reap(&c) == 0 && child_reap(&d) == 0,
                "exits");
        teardown();
}

static unsigned open_fds(void) {
        unsigned n = 0;
        DIR *d = opendir("/proc/self/fd");

        if (!d)
                return 0;
        for (struct dirent *de = readdir(d); de; de = readdir(d))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void write_file(const char *name, const char *text, size_t len) {
        char path[160];
        int fd;

        snprintf(path, sizeof(path), "%s/queue/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len, "write %s", path);
        if (fd >= 0)
                close(fd);
}

static void test_robust(void) {
        static const char garbage[] = "\x01garbage, neither digits nor a newline";
        char path[160], state[128];
        struct child h, w[3];
        struct report rep = { 0 };
        struct slots *s;
        struct stat st;
        ssize_t n;
        unsigned fds;
        int fd, r;

        setup();
        fds = open_fds();
        r = slots_open(dir, 1, &s);
        CHECK(r == 0, "slots_open creates the directory: %d", r);
        CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "mode %o", st.st_mode & 07777);
        s = slots_free(s);

        /* Garbage in the counter, and the FIFOs of crashed waiters: reset, walked over and removed. */
        write_file("state", garbage, sizeof(garbage) - 1);
        for (int i = 0; i < 6; i++) {
                snprintf(path, sizeof(path), "%s/queue/q-%d", dir, i);
                CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path);
        }
        r = slots_open(dir, 1, &s);
        CHECK(r == 0, "slots_open: %d", r);
        r = slots_acquire(s, now_usec(), NULL, 0, NULL);
        CHECK(r == 0, "try once past stale FIFOs: %d", r);
        CHECK(queue_entries() == 0, "stale FIFOs removed: %u left", queue_entries());
        slots_release(s);

        /* A crashed waiter's FIFO at the very ticket the counter gives out next (7, after 6). */
        snprintf(path, sizeof(path), "%s/queue/q-7", dir);
        CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path);
        r = slots_acquire(s, now_usec(), NULL, 0, NULL);
        CHECK(r == 0, "try once over a stale FIFO at the next ticket: %d", r);
        CHECK(queue_entries() == 0, "%u left", queue_entries());
        CHECK(slots_set_tag(s, 5) == 0, "tag");
        s = slots_free(s);
        CHECK(held(1) == 0, "slots_free() releases");
        CHECK(open_fds() == fds, "descriptors: %u before, %u after", fds, open_fds());

        /* The counter torn while one waits: the next still queues behind it. */
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        queue_up(w, 1, 1, 5, -1);
        snprintf(path, sizeof(path), "%s/queue/state", dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, state, sizeof(state)) : -1;
        CHECK(n > 30, "state read: %zd", n);
        if (fd >= 0)
                close(fd);
        write_file("state", state, 30);
        queue_up(w, 2, 2, 5, -1);
        CHECK(wait_waiting(2), "both queued");
        child_release(&h);
        CHECK(expect_report(RELEASED, 0, 2000, &rep), "holder released");
        expect_order((const int[]){ 1, 2 }, 2, rep.at, 50 * USEC_PER_MSEC);
        CHECK(child_reap(&h) == 0 && child_reap(&w[1]) == 0 && child_reap(&w[2]) == 0, "exits");
        CHECK(waiting() == 0 && queue_entries() == 0, "queue empty");
        teardown();
}

/* One stress worker: cycles acquisitions, checking the number of holders in a flocked counter file. */
static _Noreturn void stress_worker(unsigned count, int cycles, const char *counter) {
        struct slots *s = NULL;
        int fd, bad = 0;

        alarm(60);
        fd = open(counter, O_RDWR | O_CLOEXEC);
        if (fd < 0 || slots_open(dir, count, &s) < 0)
                _exit(2);
        srand((unsigned)getpid());
        for (int i = 0; i < cycles; i++) {
                unsigned v = 0, n = 0;

                if (slots_acquire(s, now_usec() + 30 * USEC_PER_SEC, NULL, 0, NULL) < 0)
                        _exit(3);
                flock(fd, LOCK_EX);
                (void)!pread(fd, &v, sizeof(v), 0);
                v++;
                bad |= v > count;
                (void)!pwrite(fd, &v, sizeof(v), 0);
                flock(fd, LOCK_UN);
                bad |= slots_count(dir, count, &n, NULL, 0) < 0 || n > count || n == 0;
                usleep((useconds_t)(rand() % 1000));
                flock(fd, LOCK_EX);
                (void)!pread(fd, &v, sizeof(v), 0);
                v--;
                (void)!pwrite(fd, &v, sizeof(v), 0);
                flock(fd, LOCK_UN);
                slots_release(s);
        }
        slots_free(s);
        _exit(bad ? 4 : 0);
}

static void test_stress(void) {
        enum { WORKERS = 32, CYCLES = 20, COUNT = 3 };
        pid_t pids[WORKERS];
        char counter[160];
        unsigned zero = 0;
        usec_t t0 = now_usec();
        int fd, failed = 0;

        setup();
        snprintf(counter, sizeof(counter), "%s/counter", base);
        fd = open(counter, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && write(fd, &zero, sizeof(zero)) == sizeof(zero), "counter");
        close(fd);
        for (int i = 0; i < WORKERS; i++) {
                pids[i] = fork();
                if (pids[i] == 0)
                        stress_worker(COUNT, CYCLES, counter);
        }
        for (int i = 0; i < WORKERS; i++) {
                int status = 0;

                if (pids[i] < 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
                        WEXITSTATUS(status) != 0) {
                        failed++;
                        fprintf(stderr, "worker %d: status %#x\n", i, status);
                }
        }
        CHECK(failed == 0, "%d of %d workers failed", failed, WORKERS);
        CHECK(held(COUNT) == 0 && waiting() == 0 && queue_entries() == 0, "all free");
        printf("# stress: %d processes x %d cycles on %d slots in %" PRIu64 " ms\n", WORKERS, CYCLES, COUNT,
                (uint64_t)((now_usec() - t0) / USEC_PER_MSEC));
        teardown();
}

/* Release to the next waiter's acquisition, over a chain of waiters. */
static void measure_handover(void) {
        enum { N = 60 };
        usec_t acq[N + 1], rel[N + 1], lat[N];
        struct child h, w[N + 1];
        struct report rep = { 0 };

        setup();
        h = spawn(&(struct plan){
                .count = 1, .index = 0, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, 0, 2000, &rep) && rep.r == 0, "holder");
        for (int i = 1; i <= N; i++) {
                w[i] = spawn(&(struct plan){ .count = 1,
                        .index = i,
                        .timeout_ms = 10000,
                        .tag = -1,
                        .hold_ms = 1,
                        .cancel_fd = -1 });
                CHECK(wait_waiting((unsigned)i), "waiter %d queued", i);
        }
        child_release(&h);
        for (int i = 0; i < 2 * N + 1; i++) {
                CHECK(report_read(&rep, 3000) == 0 && rep.r == 0, "report %d", i);
                (rep.kind == ACQUIRED ? acq : rel)[rep.index] = rep.at;
        }
        for (int i = 0; i < N; i++)
                lat[i] = acq[i + 1] - rel[i];
        qsort(lat, N, sizeof(lat[0]), cmp_usec);
        printf("# release to the next waiter's acquisition, %d handovers: median %" PRIu64
               " us, p90 %" PRIu64 " us, max %" PRIu64 " us\n",
                N, lat[N / 2], lat[N * 9 / 10], lat[N - 1]);
        CHECK(lat[N / 2] < 5 * USEC_PER_MSEC, "median handover %" PRIu64 " us", lat[N / 2]);
        CHECK(child_reap(&h) == 0, "holder exit");
        for (int i = 1; i <= N; i++)
                CHECK(child_reap(&w[i]) == 0, "waiter %d exit", i);
        teardown();
}

static uint64_t cpu_ns(const struct child *c, size_t n) {
        uint64_t sum = 0;

        for (size_t i = 0; i < n; i++) {
                char path[64];
                unsigned long long ns = 0;
                FILE *f;

                snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)c[i].pid);
                f = fopen(path, "re");
                if (f && fscanf(f, "%llu", &ns) == 1)
                        sum += ns;
                if (f)
                        fclose(f);
        }
        return sum;
}

static uint64_t children_cpu_ns(void) {
        struct rusage ru;

        getrusage(RUSAGE_CHILDREN, &ru);
        return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * UINT64_C(1000000000) +
               ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * UINT64_C(1000);
}

/* The CPU time of 200 waiters: idle, and per admission. */
static void measure_idle_cpu(void) {
        enum { N = 200, IDLE_SEC = 3 };
        static struct child w[N];
        uint64_t c0, c1, c2, ru0, ru1;
        struct report rep = { 0 };
        struct child h;

        setup();
        h = spawn(&(struct plan){
                .count = 1, .index = N, .timeout_ms = 1000, .tag = -1, .hold_ms = -1, .cancel_fd = -1 });
        CHECK(expect_report(ACQUIRED, N, 2000, &rep) && rep.r == 0, "holder");
        ru0 = children_cpu_ns();
        for (int i = 0; i < N; i++)
                w[i] = spawn(&(struct plan){ .count = 1,
                        .index = i,
                        .timeout_ms = 50000,
                        .tag = -1,
                        .cancel_fd = -1,
                        .linger = true });
        CHECK(wait_waiting(N), "%d queued: %u", N, waiting());
        c0 = cpu_ns(w, N);
        sleep(IDLE_SEC);
        c1 = cpu_ns(w, N);
        child_release(&h);
        for (int i = 0; i < 2 * N + 1; i++)
                CHECK(report_read(&rep, 5000) == 0 && rep.r == 0, "report %d", i);
        c2 = cpu_ns(w, N);
        for (int i = 0; i < N; i++)
                CHECK(child_reap(&w[i]) == 0, "waiter %d exit", i);
        ru1 = children_cpu_ns();
        printf("# %d idle waiters: %" PRIu64 " us of CPU per second in all\n", N,
                (c1 - c0) / 1000 / IDLE_SEC);
        printf("# per admission with up to %d waiting: %" PRIu64
               " us of CPU in all waiters (schedstat); %" PRIu64
               " us per waiter over its whole life, fork to exit (getrusage)\n",
                N - 1, (c2 - c1) / 1000 / N, (ru1 - ru0) / 1000 / (uint64_t)N);
        CHECK((c2 - c1) / N < 1000 * 1000, "per admission %" PRIu64 " ns", (c2 - c1) / N);
        CHECK((c1 - c0) / IDLE_SEC < 20 * 1000 * 1000, "idle %" PRIu64 " ns/s", (c1 - c0) / IDLE_SEC);
        CHECK(child_reap(&h) == 0, "holder exit");
        teardown();
}

int main(void) {
        if (pipe2(reports, O_CLOEXEC) < 0) {
                perror("pipe2");
                return EXIT_FAILURE;
        }
        test_capacity();
        test_killed_holder();
        test_fifo();
        test_killed_waiters();
        test_cancel();
        test_tags();
        test_mixed_counts();
        test_robust();
        test_stress();
        measure_handover();
        measure_idle_cpu();
        return tap_finish("test-slots");
}
