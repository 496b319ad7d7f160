/* SPDX-License-Identifier: MIT */
/* slots: host-wide run slots shared by all handler processes, behind a first-come-first-served queue. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slots.h"
#include "util.h"

/*
 * Every sleep is on a FIFO held open for writing (O_RDWR) and flocked by the
 * process waited for, the sleeper holding a read end: when the last writer
 * goes, by close or by death, the kernel reports POLLHUP to the readers, and
 * only after it has dropped the flock. That wakes only who waits for this
 * very process, cannot be missed (it is level-triggered) and needs no
 * inotify instance (128 per user by default; closing one also blocks for a
 * grace period, 15 ms and more).
 *
 * The queue. A waiter draws a ticket from queue/state under a short flock,
 * creating and flocking its FIFO q-TICKET before the lock is dropped, so
 * every ticket below the counter is either live (its FIFO flocked) or gone
 * for good. A waiter knows that every ticket in [scan, ticket) has left and
 * sleeps on the FIFO of ticket scan - 1, its predecessor. One leaving in
 * order first writes a record (its ticket and scan) into its FIFO, so the
 * one behind jumps over the whole run of departed tickets at once. The floor
 * in the state, below which every ticket has left, ends every walk: a waiter
 * whose scan reaches it is the head, the only one trying the slots, sleeping
 * on all the slot FIFOs.
 */

/* The head re-tries the slots at least this often, should an event ever be missed. */
#define HEAD_RECHECK_USEC (200 * USEC_PER_MSEC)
/* After a wake-up that freed nothing (a slot counted at that moment), the head pauses this long. */
#define HEAD_PAUSE_USEC (2 * USEC_PER_MSEC)
/*
 * The POLLHUP a waiter sleeps on cannot be missed (it is level-triggered and
 * only the owner writes to its FIFO): this re-check only bounds the
 * unforeseen, rarely, as hundreds of waiters may be paying for it.
 */
#define QUEUE_RECHECK_USEC (5 * USEC_PER_SEC)

/* The state: next ticket, floor, check, as fixed-width text. */
#define STATE_LEN   (20 + 1 + 20 + 1 + 16 + 1)
#define SLOTS_MAGIC UINT64_C(0x736c6f74732d7131)

/* A slot's tag: ten digits or ten dashes, and a newline. */
#define TAG_LEN  11
#define TAG_NONE "----------\n"

struct queue_record {
        uint64_t magic;
        uint64_t ticket;
        uint64_t scan;
};

struct slots {
        unsigned count;
        int slots_fd, queue_fd, state_fd;
        int held_fd, tag_fd;

        /* A place in the queue, between queue_enter() and queue_leave(). */
        int own_fd;
        uint64_t ticket;
        uint64_t scan;  /* every ticket in [scan, ticket) has left */
        uint64_t floor; /* the highest floor seen: every ticket below it has left */
        int pred_fd;    /* the FIFO of ticket scan - 1, live when last looked at */
        uint64_t pred;
        bool head;

        /* While head: a read end of every slot FIFO. */
        int *watch_fds;
};

static int safe_close(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

static int lock_fd(int fd, int op) {
        while (flock(fd, op) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static bool parse_digits(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 20)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned d = (unsigned)(s[i] - '0');

                if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *ret = v;
        return true;
}

static bool parse_ticket_name(const char *name, uint64_t *ret) {
        return strncmp(name, "q-", 2) == 0 && parse_digits(name + 2, strlen(name + 2), ret);
}

static void ticket_name(uint64_t ticket, char buf[static 32]) {
        snprintf(buf, 32, "q-%" PRIu64, ticket);
}

/* A live ticket's FIFO exists and is flocked by its owner. Returns 1 live, 0 gone or dead. */
static int ticket_alive(int queue_fd, const char *name) {
        _cleanup_close_ int fd = -1;

        /* Read-only: the owner stays its FIFO's only writer, so that its departure is a POLLHUP. */
        fd = openat(queue_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
                return 0;
        return errno == EWOULDBLOCK ? 1 : -errno;
}

static uint64_t state_check(uint64_t next, uint64_t floor) {
        uint64_t x = next ^ (floor * UINT64_C(0x9e3779b97f4a7c15)) ^ SLOTS_MAGIC;

        /* splitmix64's finaliser: a torn or foreign text fails the check. */
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static void state_format(uint64_t next, uint64_t floor, char buf[static STATE_LEN + 1]) {
        snprintf(buf, STATE_LEN + 1, "%020" PRIu64 " %020" PRIu64 " %016" PRIx64 "\n", next, floor,
                state_check(next, floor));
}

/* Returns 0, or -EBADMSG when the state is missing, torn or garbage. */
static int state_read(int state_fd, uint64_t *ret_next, uint64_t *ret_floor) {
        char buf[STATE_LEN + 1], expect[STATE_LEN + 1];
        uint64_t next, floor;
        ssize_t n;

        n = pread(state_fd, buf, sizeof(buf), 0);
        if (n < 0)
                return -errno;
        if (n != STATE_LEN || !parse_digits(buf, 20, &next) || !parse_digits(buf + 21, 20, &floor) ||
                floor > next)
                return -EBADMSG;
        state_format(next, floor, expect);
        if (memcmp(buf, expect, STATE_LEN) != 0)
                return -EBADMSG;
        *ret_next = next;
        *ret_floor = floor;
        return 0;
}

static int state_write(int state_fd, uint64_t next, uint64_t floor) {
        char buf[STATE_LEN + 1];
        ssize_t n;

        state_format(next, floor, buf);
        n = pwrite(state_fd, buf, STATE_LEN, 0);
        if (n < 0)
                return -errno;
        return n == STATE_LEN ? 0 : -EIO;
}

/*
 * Rebuild a lost state from the FIFOs present: every live waiter has one,
 * so tickets above them all are free and the lowest of them is a safe floor.
 */
static int state_recover(int queue_fd, int state_fd, uint64_t *ret_next, uint64_t *ret_floor) {
        uint64_t lo = UINT64_MAX, hi = 0, next, floor;
        bool any = false;
        struct dirent *de;
        DIR *d;
        int fd, r;

        fd = openat(queue_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        for (;;) {
                uint64_t t;

                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (!parse_ticket_name(de->d_name, &t))
                        continue;
                any = true;
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
        }
        r = errno > 0 ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;
        next = any ? hi + 1 : 0;
        floor = any ? lo : next;
        if (ftruncate(state_fd, 0) < 0)
                return -errno;
        r = state_write(state_fd, next, floor);
        if (r < 0)
                return r;
        *ret_next = next;
        *ret_floor = floor;
        return 0;
}

/* With the state locked exclusively. */
static int state_load(struct slots *s, uint64_t *ret_next, uint64_t *ret_floor) {
        int r = state_read(s->state_fd, ret_next, ret_floor);

        if (r == -EBADMSG)
                r = state_recover(s->queue_fd, s->state_fd, ret_next, ret_floor);
        return r;
}

/* Raise s->floor to the present floor. */
static int floor_read(struct slots *s) {
        uint64_t next, floor;
        int r;

        r = lock_fd(s->state_fd, LOCK_SH);
        if (r < 0)
                return r;
        r = state_read(s->state_fd, &next, &floor);
        if (r == -EBADMSG) {
                r = lock_fd(s->state_fd, LOCK_EX);
                if (r >= 0)
                        r = state_load(s, &next, &floor);
        }
        (void)flock(s->state_fd, LOCK_UN);
        if (r < 0)
                return r;
        if (floor > s->floor)
                s->floor = floor;
        return 0;
}

/* With the state locked: create and flock the FIFO of ticket, or -EEXIST when a live waiter has it. */
static int queue_fifo_create(struct slots *s, uint64_t ticket) {
        _cleanup_close_ int fd = -1;
        char name[32];
        int r;

        ticket_name(ticket, name);
        for (unsigned i = 0;; i++) {
                if (mkfifoat(s->queue_fd, name, 0600) == 0)
                        break;
                if (errno != EEXIST || i > 0)
                        return -errno;
                /* A leftover of a crash, or a state that fell behind. */
                r = ticket_alive(s->queue_fd, name);
                if (r != 0)
                        return r > 0 ? -EEXIST : r;
                if (unlinkat(s->queue_fd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
        }
        fd = openat(s->queue_fd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                r = -errno;
        else
                /* Blocking: slots_waiting() may hold a shared lock for a moment. */
                r = lock_fd(fd, LOCK_EX);
        if (r < 0) {
                (void)unlinkat(s->queue_fd, name, 0);
                return r;
        }
        return TAKE_FD(fd);
}

static int queue_enter(struct slots *s) {
        uint64_t next, floor;
        int r, fd = -1;

        r = lock_fd(s->state_fd, LOCK_EX);
        if (r < 0)
                return r;
        r = state_load(s, &next, &floor);
        if (r >= 0) {
                fd = queue_fifo_create(s, next);
                if (fd == -EEXIST) {
                        r = state_recover(s->queue_fd, s->state_fd, &next, &floor);
                        if (r >= 0)
                                fd = queue_fifo_create(s, next);
                }
                if (fd < 0)
                        r = fd;
        }
        if (r >= 0) {
                r = state_write(s->state_fd, next + 1, floor);
                if (r < 0) {
                        char name[32];

                        ticket_name(next, name);
                        (void)unlinkat(s->queue_fd, name, 0);
                        fd = safe_close(fd);
                }
        }
        (void)flock(s->state_fd, LOCK_UN);
        if (r < 0)
                return r;
        s->own_fd = fd;
        s->ticket = next;
        s->scan = next;
        s->floor = floor;
        s->head = false;
        return 0;
}

/* Returns 1 when the predecessor has left (s->scan lowered past it), 0 while it waits. */
static int queue_pred_gone(struct slots *s) {
        struct queue_record rec;
        uint64_t scan;

        if (read(s->pred_fd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec) && rec.magic == SLOTS_MAGIC &&
                rec.ticket == s->pred && rec.scan <= s->pred)
                scan = rec.scan;
        else {
                char name[32];

                if (flock(s->pred_fd, LOCK_SH | LOCK_NB) < 0)
                        return errno == EWOULDBLOCK ? 0 : -errno;
                /* Gone without a record (killed, most likely): its FIFO is ours to remove. */
                ticket_name(s->pred, name);
                (void)unlinkat(s->queue_fd, name, 0);
                scan = s->pred;
        }
        s->pred_fd = safe_close(s->pred_fd);
        s->scan = scan;
        return 1;
}

static int queue_become_head(struct slots *s) {
        uint64_t next, floor;
        int r;

        if (s->floor < s->ticket) {
                /* Spare the next arrivals the walk down here. */
                r = lock_fd(s->state_fd, LOCK_EX);
                if (r < 0)
                        return r;
                r = state_load(s, &next, &floor);
                if (r >= 0 && floor < s->ticket)
                        r = state_write(s->state_fd, next, s->ticket);
                (void)flock(s->state_fd, LOCK_UN);
                if (r < 0)
                        return r;
                s->floor = s->ticket;
        }
        s->head = true;
        return 1;
}

/* Returns 1 when s is the head of the queue, 0 when it waits on s->pred_fd. */
static int queue_advance(struct slots *s) {
        int r;

        if (s->head)
                return 1;
        if (s->pred_fd >= 0) {
                r = queue_pred_gone(s);
                if (r <= 0)
                        return r;
        }
        if (s->scan > s->floor) {
                r = floor_read(s);
                if (r < 0)
                        return r;
        }
        while (s->scan > s->floor) {
                char name[32];

                ticket_name(s->scan - 1, name);
                s->pred_fd = openat(s->queue_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                if (s->pred_fd < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        s->scan--;
                        continue;
                }
                s->pred = s->scan - 1;
                r = queue_pred_gone(s);
                if (r <= 0)
                        return r;
        }
        return queue_become_head(s);
}

static void head_close(struct slots *s) {
        for (unsigned k = 0; k < s->count; k++)
                s->watch_fds[k] = safe_close(s->watch_fds[k]);
}

static int queue_record_write(int fd, const struct queue_record *rec) {
        ssize_t n = write(fd, rec, sizeof(*rec));

        if (n < 0)
                return -errno;
        return n == (ssize_t)sizeof(*rec) ? 0 : -EIO;
}

static void queue_leave(struct slots *s) {
        struct queue_record rec = { .magic = SLOTS_MAGIC, .ticket = s->ticket, .scan = s->scan };
        uint64_t next, floor;
        char name[32];

        if (s->own_fd < 0)
                return;
        ticket_name(s->ticket, name);
        (void)unlinkat(s->queue_fd, name, 0);
        /* Best effort: a floor left behind costs the next arrival one probe. */
        if (s->head && lock_fd(s->state_fd, LOCK_EX) >= 0) {
                if (state_load(s, &next, &floor) >= 0 && floor <= s->ticket)
                        (void)state_write(
                                s->state_fd, next > s->ticket ? next : s->ticket + 1, s->ticket + 1);
                (void)flock(s->state_fd, LOCK_UN);
        }
        /* Should this fail, the one behind finds us gone without a record and walks on by itself. */
        (void)queue_record_write(s->own_fd, &rec);
        s->own_fd = safe_close(s->own_fd);
        s->pred_fd = safe_close(s->pred_fd);
        head_close(s);
        s->head = false;
}

/* (Re)open the read end of slot k's FIFO, creating it if missing. */
static int head_watch(struct slots *s, unsigned k) {
        char name[32];

        snprintf(name, sizeof(name), "slot-%u", k);
        s->watch_fds[k] = safe_close(s->watch_fds[k]);
        for (unsigned i = 0;; i++) {
                /* A fresh read end: a POLLHUP left over from an earlier writer is not reported again. */
                s->watch_fds[k] = openat(s->slots_fd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                if (s->watch_fds[k] >= 0)
                        return 0;
                if (errno != ENOENT || i > 0)
                        return -errno;
                if (mkfifoat(s->slots_fd, name, 0600) < 0 && errno != EEXIST)
                        return -errno;
        }
}

/* Just taken slot k: open its tag, cleared. */
static int head_tag(struct slots *s, unsigned k) {
        char name[32];
        ssize_t n;

        snprintf(name, sizeof(name), "tag-%u", k);
        s->tag_fd = openat(s->slots_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (s->tag_fd < 0)
                return -errno;
        n = pwrite(s->tag_fd, TAG_NONE, TAG_LEN, 0);
        if (n != TAG_LEN) {
                int r = n < 0 ? -errno : -EIO;

                s->tag_fd = safe_close(s->tag_fd);
                return r;
        }
        return 0;
}

/* Returns 1 holding a slot, 0 when none is free. */
static int head_try(struct slots *s) {
        int r;

        /* Watch before trying, so that a release in between is not missed. */
        for (unsigned k = 0; k < s->count; k++) {
                r = head_watch(s, k);
                if (r < 0)
                        return r;
        }
        for (unsigned k = 0; k < s->count; k++) {
                _cleanup_close_ int fd = -1;
                char name[32];

                snprintf(name, sizeof(name), "slot-%u", k);
                /* Held open for writing, so that its going is a POLLHUP. */
                fd = openat(s->slots_fd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return -errno;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        if (errno == EWOULDBLOCK)
                                continue;
                        return -errno;
                }
                r = head_tag(s, k);
                if (r < 0)
                        return r;
                s->held_fd = TAKE_FD(fd);
                head_close(s);
                return 1;
        }
        return 0;
}

static void slots_freep(struct slots **s) {
        slots_free(*s);
}

int slots_open(const char *dir, unsigned count, struct slots **ret) {
        _cleanup_(slots_freep) struct slots *s = NULL;
        _cleanup_close_ int dir_fd = -1;

        if (count == 0 || count > SLOTS_COUNT_MAX)
                return -EINVAL;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if ((mkdirat(dir_fd, "slots", 0700) < 0 && errno != EEXIST) ||
                (mkdirat(dir_fd, "queue", 0700) < 0 && errno != EEXIST))
                return -errno;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->count = count;
        s->slots_fd = s->queue_fd = s->state_fd = s->held_fd = s->tag_fd = s->own_fd = s->pred_fd = -1;
        s->watch_fds = malloc(count * sizeof(int));
        if (!s->watch_fds)
                return -ENOMEM;
        for (unsigned k = 0; k < count; k++)
                s->watch_fds[k] = -1;
        s->slots_fd = openat(dir_fd, "slots", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->slots_fd < 0)
                return -errno;
        s->queue_fd = openat(dir_fd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->queue_fd < 0)
                return -errno;
        s->state_fd =
                openat(s->queue_fd, "state", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (s->state_fd < 0)
                return -errno;
        *ret = TAKE_PTR(s);
        return 0;
}

struct slots *slots_free(struct slots *s) {
        if (!s)
                return NULL;
        slots_release(s);
        queue_leave(s);
        if (s->watch_fds)
                head_close(s);
        safe_close(s->slots_fd);
        safe_close(s->queue_fd);
        safe_close(s->state_fd);
        free(s->watch_fds);
        free(s);
        return NULL;
}

int slots_acquire(
        struct slots *s, usec_t deadline, const struct pollfd *cancel, size_t n_cancel, usec_t *ret_waited) {
        struct pollfd fds[SLOTS_CANCEL_MAX + SLOTS_COUNT_MAX];
        usec_t start = now_usec();
        bool pause = false;
        int r;

        if (s->held_fd >= 0)
                return -EBUSY;
        if (n_cancel > SLOTS_CANCEL_MAX)
                return -EINVAL;
        r = queue_enter(s);
        if (r < 0)
                return r;

        for (;;) {
                usec_t now, wake;
                size_t n = n_cancel;

                r = queue_advance(s);
                if (r > 0)
                        r = head_try(s);
                if (r != 0)
                        break;
                now = now_usec();
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                for (size_t i = 0; i < n_cancel; i++)
                        fds[i] = (struct pollfd){ .fd = cancel[i].fd, .events = cancel[i].events };
                if (!s->head)
                        fds[n++] = (struct pollfd){ .fd = s->pred_fd, .events = POLLIN };
                else if (!pause)
                        /* POLLHUP needs no asking. */
                        for (unsigned k = 0; k < s->count; k++)
                                fds[n++] = (struct pollfd){ .fd = s->watch_fds[k] };
                wake = now + (!s->head ? QUEUE_RECHECK_USEC : pause ? HEAD_PAUSE_USEC : HEAD_RECHECK_USEC);
                if (poll(fds, n, poll_timeout_ms(wake < deadline ? wake : deadline)) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                for (size_t i = 0; i < n_cancel; i++)
                        if (fds[i].revents != 0)
                                r = -ECANCELED;
                if (r < 0)
                        break;
                /* A slot FIFO woke the head; should it still find none free, it pauses rather than spin. */
                pause = false;
                for (size_t i = n_cancel; s->head && i < n; i++)
                        pause = pause || fds[i].revents != 0;
        }
        queue_leave(s);
        if (r < 0)
                return r;
        if (ret_waited)
                *ret_waited = now_usec() - start;
        return 0;
}

int slots_set_tag(struct slots *s, unsigned tag) {
        char buf[TAG_LEN + 1];
        ssize_t n;

        if (s->held_fd < 0)
                return -ENOLCK;
        snprintf(buf, sizeof(buf), "%010u\n", tag);
        n = pwrite(s->tag_fd, buf, TAG_LEN, 0);
        if (n < 0)
                return -errno;
        return n == TAG_LEN ? 0 : -EIO;
}

void slots_release(struct slots *s) {
        if (s->held_fd < 0)
                return;
        s->tag_fd = safe_close(s->tag_fd);
        (void)flock(s->held_fd, LOCK_UN);
        s->held_fd = safe_close(s->held_fd);
}

/* Open dir/sub, or -ENOENT when either is missing. */
static int open_subdir(const char *dir, const char *sub) {
        _cleanup_close_ int fd = -1;
        int r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

/* The tag of held slot k, or -1 for none. */
static int64_t tag_read(int dir_fd, unsigned k) {
        _cleanup_close_ int fd = -1;
        char name[32], buf[TAG_LEN];
        uint64_t tag;

        snprintf(name, sizeof(name), "tag-%u", k);
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 || pread(fd, buf, TAG_LEN, 0) != TAG_LEN || buf[TAG_LEN - 1] != '\n' ||
                !parse_digits(buf, TAG_LEN - 1, &tag) || tag > UINT_MAX)
                return -1;
        return (int64_t)tag;
}

int slots_count(const char *dir, unsigned count, unsigned *ret_held, unsigned *per_tag, size_t n_tags) {
        int64_t tags[SLOTS_COUNT_MAX];
        _cleanup_close_ int dir_fd = -1;
        unsigned held = 0;

        if (count > SLOTS_COUNT_MAX)
                return -EINVAL;
        dir_fd = open_subdir(dir, "slots");
        if (dir_fd < 0 && dir_fd != -ENOENT)
                return dir_fd;
        for (unsigned k = 0; dir_fd >= 0 && k < count; k++) {
                _cleanup_close_ int fd = -1;
                char name[32];

                snprintf(name, sizeof(name), "slot-%u", k);
                /* Read-write: should our shared lock make the head miss a free slot, our close wakes it. */
                fd = openat(dir_fd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
                        (void)flock(fd, LOCK_UN);
                        continue;
                }
                if (errno != EWOULDBLOCK)
                        return -errno;
                tags[held++] = tag_read(dir_fd, k);
        }
        *ret_held = held;
        if (per_tag) {
                memset(per_tag, 0, n_tags * sizeof(*per_tag));
                for (unsigned i = 0; i < held; i++)
                        if (tags[i] >= 0 && (uint64_t)tags[i] < n_tags)
                                per_tag[tags[i]]++;
        }
        return 0;
}

int slots_waiting(const char *dir, unsigned *ret) {
        unsigned n = 0;
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = open_subdir(dir, "queue");
        if (fd == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        for (;;) {
                uint64_t t;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno > 0 ? -errno : 0;
                        break;
                }
                if (!parse_ticket_name(de->d_name, &t))
                        continue;
                r = ticket_alive(dirfd(d), de->d_name);
                if (r < 0)
                        break;
                n += (unsigned)r;
        }
        closedir(d);
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}
