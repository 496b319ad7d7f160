/* SPDX-License-Identifier: MIT */
/* test-pool: claims of warm containers in a temporary runtime directory, from one process and from many. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "pool.h"
#include "tap.h"
#include "util.h"

#define RACERS 20
#define ID     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char base[64], dir[96];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void setup(void) {
        snprintf(base, sizeof(base), "/tmp/test-pool-XXXXXX");
        if (!mkdtemp(base)) {
                perror("mkdtemp");
                exit(EXIT_FAILURE);
        }
        /* Not created yet: the first claim makes it. */
        snprintf(dir, sizeof(dir), "%s/run", base);
}

static void teardown(void) {
        (void)nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The configuration the pool reads: its runtime directory, and config_run_seconds()'s two terms. */
static struct config config_for(char *runtime_dir) {
        return (struct config){
                .runtime_dir = runtime_dir,
                .max_execution_time_ms = 15000,
                .docker_read_timeout_ms = 3000,
        };
}

static int claim_file(const char *id, char *buf, size_t size) {
        int r = snprintf(buf, size, "%s/claim-%s", dir, id);

        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

/* What a claim file holds, NUL-terminated; -errno when it cannot be read. */
static int read_claim(const char *id, char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        char path[256];
        ssize_t n;

        if (claim_file(id, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

static int write_claim(const char *id, const char *text, size_t len, time_t mtime) {
        _cleanup_close_ int fd = -1;
        struct timespec times[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
        char path[256];

        if (claim_file(id, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        (void)mkdir(dir, 0700);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t)len)
                return -EIO;
        if (futimens(fd, times) < 0)
                return -errno;
        return 0;
}

/* Every name in the runtime directory but claim-* ones: a claim leaves nothing else behind. */
static size_t count_others(char *first, size_t size) {
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        first[0] = '\0';
        if (!d)
                return 0;
        while ((e = readdir(d))) {
                if (streq(e->d_name, ".") || streq(e->d_name, "..") || strncmp(e->d_name, "claim-", 6) == 0)
                        continue;
                if (n++ == 0)
                        snprintf(first, size, "%s", e->d_name);
        }
        closedir(d);
        return n;
}

static void check_clean(const char *what) {
        char first[256];
        size_t n = count_others(first, sizeof(first));

        CHECK(n == 0, "%s: no temporary file left behind: %zu, such as %s", what, n, first);
}

static void test_claim_release(void) {
        struct config c = config_for(dir);
        struct stat st;
        char text[64], path[256];
        int64_t deadline = 0;
        int r;

        setup();
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == -ENOENT, "not claimed yet: %d", r);

        r = pool_claim_id(&c, ID, 1700000123);
        CHECK(r == 0, "first claim: %d", r);
        CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
                "the runtime directory made, 0700");
        CHECK(claim_file(ID, path, sizeof(path)) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
                        (st.st_mode & 07777) == 0600,
                "the claim is a file of mode 0600");
        CHECK(read_claim(ID, text, sizeof(text)) == 0 && streq(text, "1700000123\n"),
                "it holds the deadline: %s", text);
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == 0 && deadline == 1700000123, "its deadline read back: %d %" PRId64, r, deadline);
        check_clean("after a claim");

        r = pool_claim_id(&c, ID, 1800000000);
        CHECK(r == -EEXIST, "a second claim of the same id: %d", r);
        CHECK(read_claim(ID, text, sizeof(text)) == 0 && streq(text, "1700000123\n"),
                "the first claim's deadline stays: %s", text);
        check_clean("after a refused claim");

        r = pool_claim_id(&c, "another", 5);
        CHECK(r == 0, "another id claimed beside it: %d", r);
        r = pool_claim_deadline(&c, "another", &deadline);
        CHECK(r == 0 && deadline == 5, "its own deadline: %d %" PRId64, r, deadline);

        pool_release(&c, ID);
        CHECK(read_claim(ID, text, sizeof(text)) == -ENOENT, "released: the file is gone");
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == -ENOENT, "released: not claimed: %d", r);
        r = pool_claim_deadline(&c, "another", &deadline);
        CHECK(r == 0 && deadline == 5, "the other claim untouched by the release: %d", r);
        pool_release(&c, ID);
        CHECK(read_claim(ID, text, sizeof(text)) == -ENOENT, "releasing twice is harmless");

        r = pool_claim_id(&c, ID, 42);
        CHECK(r == 0, "claimed again after the release: %d", r);
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == 0 && deadline == 42, "with the new deadline: %d %" PRId64, r, deadline);
        pool_release(&c, ID);
        pool_release(&c, "another");
        check_clean("after releases");

        r = pool_claim_id(&c, ID, INT64_MAX);
        CHECK(r == 0, "a claim with the largest deadline: %d", r);
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == 0 && deadline == INT64_MAX, "read back whole: %" PRId64, deadline);
        teardown();
}

static void test_long_id(void) {
        struct config c = config_for(dir);
        char id[5000];
        int64_t deadline = 0;

        setup();
        memset(id, 'a', sizeof(id) - 1);
        id[sizeof(id) - 1] = '\0';
        CHECK(pool_claim_id(&c, id, 1) == -ENAMETOOLONG, "an id too long for a path");
        CHECK(pool_claim_deadline(&c, id, &deadline) == -ENAMETOOLONG && deadline == 0,
                "its deadline neither, ret untouched");
        pool_release(&c, id);
        check_clean("after a refused id");
        teardown();
}

/* Of RACERS processes claiming one id at once, exactly one wins; the claim holds the winner's deadline. */
static void test_race(void) {
        struct config c = config_for(dir);
        pid_t pids[RACERS];
        int go[2], wins = 0, losses = 0, others = 0, winner = -1;
        int64_t deadline = 0;
        int r;

        setup();
        CHECK(mkdir(dir, 0700) == 0, "runtime directory");
        if (pipe2(go, O_CLOEXEC) < 0) {
                perror("pipe2");
                exit(EXIT_FAILURE);
        }
        for (int i = 0; i < RACERS; i++) {
                pids[i] = fork();
                if (pids[i] < 0) {
                        perror("fork");
                        exit(EXIT_FAILURE);
                }
                if (pids[i] == 0) {
                        char byte;

                        close(go[1]);
                        /* Every racer waits here until the parent closes its end: they start together. */
                        if (read(go[0], &byte, 1) != 0)
                                _exit(3);
                        r = pool_claim_id(&c, ID, 1000 + i);
                        _exit(r == 0 ? 0 : r == -EEXIST ? 1 : 2);
                }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < RACERS; i++) {
                int status;

                if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status)) {
                        others++;
                        continue;
                }
                if (WEXITSTATUS(status) == 0) {
                        wins++;
                        winner = i;
                } else if (WEXITSTATUS(status) == 1)
                        losses++;
                else
                        others++;
        }
        CHECK(wins == 1 && losses == RACERS - 1 && others == 0, "one winner: %d won, %d lost, %d failed",
                wins, losses, others);
        r = pool_claim_deadline(&c, ID, &deadline);
        CHECK(r == 0 && deadline == 1000 + winner, "the claim is the winner's: %" PRId64 ", winner %d",
                deadline, winner);
        check_clean("after the race");
        teardown();
}

/*
 * A claim file that exists is a claim, whatever it holds: one being written (empty), torn, or not ours to
 * parse. Its deadline is then the file's age plus the longest a run takes.
 */
static const struct {
        const char *name;
        const char *text;
        size_t len; /* 0: strlen */
        bool by_age;
        int64_t deadline; /* when not by age */
} claims[] = {
        { "empty", "", 0, true, 0 },
        { "garbage", "garbage", 0, true, 0 },
        { "a newline only", "\n", 0, true, 0 },
        { "torn, no newline", "170000", 0, true, 0 },
        { "digits then garbage", "12x\n", 0, true, 0 },
        { "negative", "-5\n", 0, true, 0 },
        { "plus sign", "+5\n", 0, true, 0 },
        { "space", " 5\n", 0, true, 0 },
        { "two lines", "5\n6\n", 0, true, 0 },
        { "NUL inside", "1\0002\n", 4, true, 0 },
        { "above INT64_MAX", "9223372036854775808\n", 0, true, 0 },
        { "twenty digits", "99999999999999999999\n", 0, true, 0 },
        { "longer than a number", "1111111111111111111111111111111111111111\n", 0, true, 0 },
        { "a deadline", "1234\n", 0, false, 1234 },
        { "deadline 0", "0\n", 0, false, 0 },
        { "INT64_MAX", "9223372036854775807\n", 0, false, INT64_MAX },
};

static void test_unreadable_claims(void) {
        struct config c = config_for(dir);
        const time_t mtime = 1600000000;

        setup();
        for (size_t i = 0; i < ELEMENTSOF(claims); i++) {
                size_t len = claims[i].len ?: strlen(claims[i].text);
                int64_t deadline = -1, want;
                int r;

                r = write_claim(ID, claims[i].text, len, mtime);
                CHECK(r == 0, "%s: written: %d", claims[i].name, r);
                want = claims[i].by_age ? (int64_t)mtime + config_run_seconds(&c) : claims[i].deadline;
                r = pool_claim_deadline(&c, ID, &deadline);
                CHECK(r == 0 && deadline == want, "%s: deadline %d %" PRId64 ", want %" PRId64,
                        claims[i].name, r, deadline, want);
                r = pool_claim_id(&c, ID, 99);
                CHECK(r == -EEXIST, "%s: still claimed: %d", claims[i].name, r);
                pool_release(&c, ID);
                CHECK(pool_claim_deadline(&c, ID, &deadline) == -ENOENT, "%s: released", claims[i].name);
        }
        CHECK(config_run_seconds(&c) == 15 + 9,
                "the run's length: 15 s and three 3 s engine timeouts: %" PRId64, config_run_seconds(&c));
        check_clean("after unreadable claims");
        teardown();
}

static bool is_instance(const char *s) {
        if (strlen(s) != 16)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static void test_instance(void) {
        char a1[] = "/run/docker-run", a2[] = "/run/docker-run", b[] = "/run/docker-run-b", e[] = "";
        struct config ca1 = config_for(a1), ca2 = config_for(a2), cb = config_for(b), ce = config_for(e);
        char ia1[17], ia1_again[17], ia2[17], ib[17], ie[17];

        memset(ia1, 'X', sizeof(ia1));
        pool_instance(&ca1, ia1);
        pool_instance(&ca1, ia1_again);
        pool_instance(&ca2, ia2);
        pool_instance(&cb, ib);
        pool_instance(&ce, ie);
        CHECK(is_instance(ia1) && is_instance(ib) && is_instance(ie), "16 lowercase hex digits: %s %s %s",
                ia1, ib, ie);
        CHECK(streq(ia1, ia1_again), "stable for one directory: %s %s", ia1, ia1_again);
        CHECK(streq(ia1, ia2), "the same for the same directory in another struct: %s %s", ia1, ia2);
        CHECK(!streq(ia1, ib), "different for two directories: %s %s", ia1, ib);
        CHECK(!streq(ia1, ie), "different from no directory: %s %s", ia1, ie);
}

int main(void) {
        /* A racer that hangs must fail the test, not the machine's patience. */
        alarm(60);
        test_claim_release();
        test_long_id();
        test_race();
        test_unreadable_claims();
        test_instance();
        return tap_finish("test-pool");
}
