/* SPDX-License-Identifier: MIT */
/* cgroup: the memory limit of the cgroup this process runs in (systemd's MemoryMax=). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "parse.h"
#include "util.h"

#define LINE_MAX_BYTES 4096

static int read_limit(const char *root, const char *controller_dir, const char *path, size_t path_len,
        const char *file, uint64_t *ret) {
        char name[LINE_MAX_BYTES + 256], text[64];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        int r;

        r = snprintf(name, sizeof(name), "%s%s%.*s/%s", root, controller_dir, (int)path_len, path, file);
        if (r < 0 || (size_t)r >= sizeof(name))
                return -ENAMETOOLONG;
        fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n <= 0)
                return -ENOENT;
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
                n--;
        if ((n == 3 && memcmp(text, "max", 3) == 0))
                return -ENOENT;
        r = parse_u64(text, (size_t)n, 0, UINT64_MAX, ret);
        if (r < 0)
                return -ENOENT;
        return *ret >= CGROUP_UNLIMITED ? -ENOENT : 0;
}

int cgroup_memory_limit_at(const char *proc_self_cgroup, const char *root, uint64_t *ret) {
        const char *line = proc_self_cgroup, *v2 = NULL;
        size_t v2_len = 0;

        /* "ID:CONTROLLERS:PATH" per line: v1's memory controller is named, v2's one line is "0::PATH". */
        while (line && *line) {
                const char *end = strchr(line, '\n') ?: line + strlen(line);
                const char *c1 = memchr(line, ':', (size_t)(end - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

                if (c2) {
                        const char *controllers = c1 + 1, *path = c2 + 1;
                        size_t clen = (size_t)(c2 - controllers);

                        for (const char *p = controllers; p < c2;) {
                                const char *comma = memchr(p, ',', (size_t)(c2 - p)) ?: c2;

                                if (comma - p == 6 && memcmp(p, "memory", 6) == 0)
                                        return read_limit(root, "/memory", path, (size_t)(end - path),
                                                "memory.limit_in_bytes", ret);
                                p = comma + 1;
                        }
                        if (clen == 0 && c1 - line == 1 && line[0] == '0') {
                                v2 = path;
                                v2_len = (size_t)(end - path);
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        if (v2)
                return read_limit(root, "", v2, v2_len, "memory.max", ret);
        return -ENOENT;
}

int cgroup_memory_limit(uint64_t *ret) {
        char text[LINE_MAX_BYTES];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n <= 0)
                return -ENOENT;
        text[n] = '\0';
        return cgroup_memory_limit_at(text, "/sys/fs/cgroup", ret);
}
