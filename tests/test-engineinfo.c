/* SPDX-License-Identifier: MIT */
/* test-engineinfo: when an engine's cached facts are trusted: the same engine process, and never longer
 * than ENGINEINFO_TTL_SEC (a socket-activated engine's socket belongs to systemd, whose pid never changes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engineinfo.h"
#include "enginelist.h"
#include "tap.h"
#include "util.h"

/* The cache file's name: engine- and the FNV-1a hash of the socket's path, as engineinfo.c names it. */
static void cache_file(const char *dir, const char *socket_path, char *buf, size_t size) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (const char *s = socket_path; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        snprintf(buf, size, "%s/engine-%016" PRIx64, dir, h);
}

static void write_cache(const char *path, int64_t pid, int64_t fetched) {
        FILE *f = fopen(path, "w");

        CHECK(f != NULL, "cache file %s opened", path);
        if (!f)
                return;
        fprintf(f,
                "pid=%" PRId64 "\nfetched=%" PRId64
                "\nncpu=2\nmemory=1\npids=1\nswap=1\ncpu=1\nrootless=0\npodman=0\n"
                "cgroup-driver=cgroupfs\ncgroup-version=1\nruntimes=runc\n",
                pid, fetched);
        fclose(f);
}

int main(void) {
        char dir[] = "/tmp/test-engineinfo-XXXXXX", sock[100], cache[512];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct engine_addr e;
        struct engine_info i;
        int64_t now = (int64_t)time(NULL);
        int fd;

        CHECK(mkdtemp(dir) != NULL, "temp dir");
        snprintf(sock, sizeof(sock), "%s/docker.sock", dir);
        /* The "engine": a socket this process listens on, so its peer is our own pid. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0,
                "listening");
        CHECK(engine_addr_unix(sock, &e) == 0, "the engine's address");
        cache_file(dir, sock, cache, sizeof(cache));

        write_cache(cache, getpid(), now);
        CHECK(engineinfo_cached(dir, &e, &i) == 0 && i.ncpu == 2,
                "fresh facts of the same process are used");
        write_cache(cache, getpid() + 1, now);
        CHECK(engineinfo_cached(dir, &e, &i) == -ENOENT, "another process behind the socket: asked again");
        write_cache(cache, getpid(), now - ENGINEINFO_TTL_SEC - 5);
        CHECK(engineinfo_cached(dir, &e, &i) == -ENOENT,
                "the same process after the TTL: asked again (the engine may have been reloaded)");
        write_cache(cache, 0, now - ENGINEINFO_TTL_SEC + 5);
        close(fd);
        unlink(sock);
        CHECK(engineinfo_cached(dir, &e, &i) == 0, "no process to see: trusted within the TTL");

        unlink(cache);
        rmdir(dir);
        return tap_finish("test-engineinfo");
}
