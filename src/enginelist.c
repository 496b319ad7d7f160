/* SPDX-License-Identifier: MIT */
/* enginelist: the engines a handler may run on, the order a run tries them in, the marks of those down. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "enginelist.h"
#include "parse.h"
#include "util.h"

static bool host_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_';
}

int engine_addr_parse(const char *text, struct engine_addr *ret, const char **ret_reason) {
        struct engine_addr a = { 0 };
        const char *p, *colon;
        uint64_t port;

        if (strlen(text) >= sizeof(a.name)) {
                *ret_reason = "too long";
                return -EINVAL;
        }
        snprintf(a.name, sizeof(a.name), "%s", text);
        if (strncmp(text, "unix://", 7) == 0) {
                p = text + 7;
                if (p[0] != '/') {
                        *ret_reason = "not unix:///ABSOLUTE/PATH";
                        return -EINVAL;
                }
                if (strlen(p) >= sizeof(a.path)) {
                        *ret_reason = "the socket path is longer than a unix socket's";
                        return -EINVAL;
                }
                for (const char *s = p; *s; s++)
                        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
                                *ret_reason = "contains a control character";
                                return -EINVAL;
                        }
                a.kind = ENGINE_UNIX;
                snprintf(a.path, sizeof(a.path), "%s", p);
                *ret = a;
                return 0;
        }
        if (strncmp(text, "tcp://", 6) != 0) {
                *ret_reason = "neither unix:///PATH nor tcp://HOST:PORT";
                return -EINVAL;
        }
        p = text + 6;
        if (p[0] == '[') {
                const char *close = strchr(p, ']');

                if (!close || close == p + 1 || close[1] != ':') {
                        *ret_reason = "not tcp://[IPv6]:PORT";
                        return -EINVAL;
                }
                for (const char *s = p + 1; s < close; s++)
                        if (!strchr("0123456789abcdefABCDEF:.", *s)) {
                                *ret_reason = "not an IPv6 address in brackets";
                                return -EINVAL;
                        }
                snprintf(a.host, sizeof(a.host), "%.*s", (int)(close - p - 1), p + 1);
                colon = close + 1;
        } else {
                colon = strrchr(p, ':');
                if (!colon || colon == p) {
                        *ret_reason = "not tcp://HOST:PORT";
                        return -EINVAL;
                }
                for (const char *s = p; s < colon; s++)
                        if (!host_char(*s)) {
                                *ret_reason = "the host is not a name or an address";
                                return -EINVAL;
                        }
                snprintf(a.host, sizeof(a.host), "%.*s", (int)(colon - p), p);
        }
        if (parse_u64_str(colon + 1, 1, 65535, &port) < 0) {
                *ret_reason = "the port is not a number from 1 to 65535";
                return -EINVAL;
        }
        a.kind = ENGINE_TCP;
        a.port = (unsigned)port;
        *ret = a;
        return 0;
}

int engine_addr_unix(const char *path, struct engine_addr *ret) {
        struct engine_addr a = { .kind = ENGINE_UNIX };

        if (strlen(path) >= sizeof(a.path))
                return -ENAMETOOLONG;
        snprintf(a.path, sizeof(a.path), "%s", path);
        snprintf(a.name, sizeof(a.name), "unix://%s", path);
        *ret = a;
        return 0;
}

/* splitmix64: the tie-breaks, from the seed. */
static uint64_t mix(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

void engine_order(size_t n, const unsigned *in_flight, const bool *down, uint64_t seed, size_t *order) {
        uint64_t key[ENGINES_MAX];

        if (n > ENGINES_MAX)
                n = ENGINES_MAX;
        for (size_t i = 0; i < n; i++) {
                order[i] = i;
                key[i] = mix(&seed);
        }
        /* Insertion sort on (down, in flight, random key): n is at most 16. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        size_t a = order[j - 1], b = order[j];
                        bool later = down[a] != down[b]             ? down[a]
                                     : in_flight[a] != in_flight[b] ? in_flight[a] > in_flight[b]
                                                                    : key[a] > key[b];

                        if (!later)
                                break;
                        order[j - 1] = b;
                        order[j] = a;
                }
}

static int mark_path(const char *dir, const struct engine_addr *e, char *buf, size_t size) {
        uint64_t h = 0xcbf29ce484222325ULL;
        int r;

        for (const char *s = e->name; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        r = snprintf(buf, size, "%s/down-%016" PRIx64, dir, h);
        return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

/* The mark is the file's modification time: set to the moment the mark ends. */
void engine_mark_down(const char *dir, const struct engine_addr *e) {
        struct timespec until[2];
        char path[4096];
        _cleanup_close_ int fd = -1;

        if (mark_path(dir, e, path, sizeof(path)) < 0)
                return;
        (void)mkdir(dir, 0700);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return;
        clock_gettime(CLOCK_REALTIME, &until[0]);
        until[0].tv_sec += ENGINE_DOWN_SEC;
        until[1] = until[0];
        (void)futimens(fd, until);
}

void engine_mark_up(const char *dir, const struct engine_addr *e) {
        char path[4096];

        if (mark_path(dir, e, path, sizeof(path)) == 0)
                (void)unlink(path);
}

bool engine_is_down(const char *dir, const struct engine_addr *e) {
        char path[4096];
        struct stat st;

        if (mark_path(dir, e, path, sizeof(path)) < 0 || stat(path, &st) < 0)
                return false;
        return st.st_mtim.tv_sec > time(NULL);
}
