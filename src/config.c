/* SPDX-License-Identifier: MIT */
/* config: the service's settings, read strictly from the environment. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv(); the autotools config.h defines it in the real build */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "enginelist.h"
#include "parse.h"
#include "util.h"

/* Bytes of a value quoted in a message: enough to recognise it, not enough to flood the log. */
#define QUOTE_MAX 64

#define SECONDS_MAX_DOCKER  3600u
#define SECONDS_MAX_RUN     86400u
#define SECONDS_MAX_REQUEST 3600u
#define OUTPUT_SIZE_MAX     (1024u * 1024u * 1024u)
#define REQUEST_SIZE_MAX    (64u * 1024u * 1024u)

enum kind {
        KIND_SECRET, /* text never quoted back in a message */
        KIND_TEXT,
        KIND_PATH, /* absolute */
        KIND_ADDR, /* numeric IPv4 or IPv6 */
        KIND_BOOL,
        KIND_U64,
        KIND_MSEC, /* seconds in the environment, milliseconds in the struct */
        KIND_I64,
        KIND_INT,
        KIND_UNSIGNED,
        KIND_DECIMAL, /* a decimal number, scaled by 10^scale into a uint64_t: 0.5 at scale 9 is 500000000 */
        KIND_CAPS,    /* list of capability names, never NULL */
        KIND_IMAGES,  /* list of image names, NULL when empty */
        KIND_ADDRS,   /* list of numeric addresses, NULL when empty */
        KIND_ENGINES, /* list of engine addresses (enginelist.h), never empty when set */
};

struct setting {
        const char *name;
        enum kind kind;
        bool required;
        size_t offset;
        uint64_t min, max;     /* KIND_DECIMAL: scaled */
        unsigned scale;        /* KIND_DECIMAL */
        const char *fallback;  /* text used when the variable is unset */
        const char *only_with; /* ignored unless this variable is set too */
        const char *if_empty;  /* a list that may not be empty: why */
        const char *unless;    /* a required variable is not, when this one is set */
        /* For the documentation (--list-variables), which a test holds the README, the man page and the
         * shipped configuration to: */
        const char *unit;        /* of a number: "seconds", "bytes", ... */
        const char *doc_default; /* what an unset optional variable means, where there is no fallback */
};

#define FIELD(f) offsetof(struct config, f)

/* In the order of API.md, which is the order problems are found and reported in. */
static const struct setting settings[] = {
        { "API_ACCESS_TOKEN", KIND_SECRET, true, .offset = FIELD(access_token) },
        { "DOCKER_UNIX_SOCKET_PATH", KIND_TEXT, true, .offset = FIELD(docker_socket_path),
                .unless = "DOCKER_ENGINES" },
        { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", KIND_MSEC, true, .offset = FIELD(docker_read_timeout_ms),
                .min = 1, .max = SECONDS_MAX_DOCKER, .unit = "seconds" },
        { "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", KIND_MSEC, true, .offset = FIELD(docker_write_timeout_ms),
                .min = 1, .max = SECONDS_MAX_DOCKER, .unit = "seconds" },
        { "DOCKER_CONTAINER_HOSTNAME", KIND_TEXT, true, .offset = FIELD(container_hostname) },
        { "DOCKER_CONTAINER_USER", KIND_TEXT, true, .offset = FIELD(container_user) },
        /* 0 is the engine's "no limit". */
        { "DOCKER_CONTAINER_MEMORY", KIND_I64, true, .offset = FIELD(container_memory), .min = 0,
                .max = INT64_MAX, .unit = "bytes" },
        { "DOCKER_CONTAINER_NETWORK_DISABLED", KIND_BOOL, true,
                .offset = FIELD(container_network_disabled) },
        { "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", KIND_I64, true, .offset = FIELD(ulimit_nofile_soft),
                .min = 0, .max = INT64_MAX, .unit = "files" },
        { "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD", KIND_I64, true, .offset = FIELD(ulimit_nofile_hard),
                .min = 0, .max = INT64_MAX, .unit = "files" },
        /* Required by the original; optional here, as the pids cgroup bounds a run without counting the uid
         * across the host (see DOCKER_CONTAINER_PIDS_LIMIT). */
        { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", KIND_I64, false, .offset = FIELD(ulimit_nproc_soft),
                .min = 0, .max = INT64_MAX, .unit = "processes", .doc_default = "none" },
        { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", KIND_I64, false, .offset = FIELD(ulimit_nproc_hard),
                .min = 0, .max = INT64_MAX, .unit = "processes", .doc_default = "none" },
        /* Optional in the original's code (empty when unset), though its README lists it as required. */
        { "DOCKER_CONTAINER_CAP_DROP", KIND_CAPS, false, .offset = FIELD(cap_drop), .doc_default = "none" },
        { "RUN_MAX_EXECUTION_TIME", KIND_MSEC, true, .offset = FIELD(max_execution_time_ms), .min = 1,
                .max = SECONDS_MAX_RUN, .unit = "seconds" },
        { "RUN_MAX_OUTPUT_SIZE", KIND_U64, true, .offset = FIELD(max_output_size), .min = 1,
                .max = OUTPUT_SIZE_MAX, .unit = "bytes" },

        { "SERVER_LISTEN_ADDR", KIND_ADDR, false, .offset = FIELD(listen_addr),
                .doc_default = "the socket's" },
        { "SERVER_LISTEN_PORT", KIND_INT, false, .offset = FIELD(listen_port), .min = 1, .max = 65535,
                .unit = "a port", .doc_default = "the socket's" },
        { "SERVER_WORKER_THREADS", KIND_UNSIGNED, false, .offset = FIELD(worker_threads), .min = 1,
                .max = 65535, .unit = "threads", .doc_default = "none" },

        { "DOCKER_CONTAINER_CAP_ADD", KIND_CAPS, false, .offset = FIELD(cap_add), .doc_default = "none" },
        { "DOCKER_CONTAINER_READONLY_ROOTFS", KIND_BOOL, false, .offset = FIELD(readonly_rootfs),
                .doc_default = "false" },
        { "DOCKER_CONTAINER_TMP_DIR_PATH", KIND_PATH, false, .offset = FIELD(tmp_dir.path),
                .doc_default = "none" },
        { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", KIND_TEXT, false, .offset = FIELD(tmp_dir.options),
                .fallback = "rw,noexec,nosuid,size=65536k", .only_with = "DOCKER_CONTAINER_TMP_DIR_PATH" },
        { "DOCKER_CONTAINER_WORK_DIR_PATH", KIND_PATH, false, .offset = FIELD(work_dir.path),
                .doc_default = "none" },
        { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", KIND_TEXT, false, .offset = FIELD(work_dir.options),
                .fallback = "rw,exec,nosuid,size=131072k", .only_with = "DOCKER_CONTAINER_WORK_DIR_PATH" },
        { "DEBUG_KEEP_CONTAINER", KIND_BOOL, false, .offset = FIELD(debug_keep_container),
                .doc_default = "false" },

        { "DOCKER_CONTAINER_PIDS_LIMIT", KIND_I64, false, .offset = FIELD(container_pids_limit), .min = 1,
                .max = INT64_MAX, .unit = "processes", .doc_default = "the nproc hard limit" },
        { "DOCKER_CONTAINER_RUNTIME", KIND_TEXT, false, .offset = FIELD(container_runtime),
                .doc_default = "the engine's" },
        /* Written to lock the service down: an empty list must never open it up. */
        { "RUN_IMAGE_ALLOWLIST", KIND_IMAGES, false, .offset = FIELD(image_allowlist),
                .if_empty = "empty: remove the variable to allow every image",
                .doc_default = "every image" },
        { "SERVER_MAX_REQUEST_SIZE", KIND_U64, false, .offset = FIELD(max_request_size), .min = 1,
                .max = REQUEST_SIZE_MAX, .unit = "bytes", .doc_default = "2097152" },
        { "SERVER_REQUEST_TIMEOUT", KIND_MSEC, false, .offset = FIELD(request_timeout_ms), .min = 1,
                .max = SECONDS_MAX_REQUEST, .unit = "seconds", .doc_default = "10" },
        { "RUN_WAIT_FOR_EXIT", KIND_BOOL, false, .offset = FIELD(wait_for_exit), .doc_default = "false" },
        { "DOCKER_RUN_WARM_POOL", KIND_IMAGES, false, .offset = FIELD(warm_pool), .doc_default = "none" },
        { "DOCKER_RUN_WARM_MAX_AGE", KIND_MSEC, false, .offset = FIELD(warm_max_age_ms), .min = 10,
                .max = SECONDS_MAX_RUN, .fallback = "600", .unit = "seconds" },
        { "DOCKER_RUN_RUNTIME_DIRECTORY", KIND_PATH, false, .offset = FIELD(runtime_dir),
                .doc_default = "$RUNTIME_DIRECTORY, else /run/docker-run" },

        { "DOCKER_CONTAINER_CPUS", KIND_DECIMAL, false, .offset = FIELD(container_nano_cpus), .scale = 9,
                .min = 10000000, .max = 1024ull * 1000000000, .unit = "cores", .doc_default = "no limit" },
        { "RUN_MAX_CONCURRENT", KIND_UNSIGNED, false, .offset = FIELD(max_concurrent), .min = 1,
                .max = CONFIG_CONCURRENT_MAX, .unit = "runs", .doc_default = "twice the engine's CPUs" },
        { "RUN_QUEUE_TIMEOUT", KIND_MSEC, false, .offset = FIELD(queue_timeout_ms), .min = 0,
                .max = SECONDS_MAX_REQUEST, .fallback = "10", .unit = "seconds" },
        { "SERVER_KEEPALIVE_TIMEOUT", KIND_MSEC, false, .offset = FIELD(keepalive_timeout_ms), .min = 0,
                .max = SECONDS_MAX_REQUEST, .fallback = "5", .unit = "seconds" },
        { "SERVER_KEEPALIVE_REQUESTS", KIND_UNSIGNED, false, .offset = FIELD(keepalive_requests), .min = 1,
                .max = 100000, .fallback = "100", .unit = "requests" },
        { "DOCKER_RUN_TRUSTED_PROXIES", KIND_ADDRS, false, .offset = FIELD(trusted_proxies),
                .doc_default = "none" },
        { "DOCKER_ENGINES", KIND_ENGINES, false, .offset = FIELD(engine_names),
                .if_empty = "names no engine", .doc_default = "DOCKER_UNIX_SOCKET_PATH's engine" },
        { "DOCKER_CERT_PATH", KIND_PATH, false, .offset = FIELD(cert_path), .doc_default = "none" },
};

struct errmsg {
        char *buf;
        size_t size;
};

_printf_(4, 5) static int fail(struct errmsg *e, int error, const char *name, const char *fmt, ...) {
        va_list ap;
        int n;

        if (e->size == 0)
                return error;
        n = snprintf(e->buf, e->size, "%s: ", name);
        if (n >= 0 && (size_t)n < e->size) {
                va_start(ap, fmt);
                vsnprintf(e->buf + n, e->size - (size_t)n, fmt, ap);
                va_end(ap);
        }
        return error;
}

/* The environment is the operator's, but a message still must not carry raw control bytes into a log. */
static void quote(char buf[static QUOTE_MAX * 4 + sizeof("...")], const char *s) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0, i;

        for (i = 0; s[i] && i < QUOTE_MAX; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
                        buf[o++] = (char)ch;
                else {
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[ch >> 4];
                        buf[o++] = hex[ch & 0xf];
                }
        }
        if (s[i]) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
}

static int fail_value(struct errmsg *e, const char *name, const char *reason, const char *value) {
        char q[QUOTE_MAX * 4 + sizeof("...")];

        quote(q, value);
        return fail(e, -EINVAL, name, "%s: \"%s\"", reason, q);
}

static bool is_control(char c) {
        return (unsigned char)c < 0x20 || c == 0x7f;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if (is_control(*s))
                        return true;
        return false;
}

static bool memchr_control(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (is_control(s[i]))
                        return true;
        return false;
}

static bool is_separator(char c) {
        return c == ' ' || c == '\t';
}

static bool is_capability(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '_'))
                        return false;
        }
        return true;
}

static void strv_free(char **l) {
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
}

static int parse_uint(struct errmsg *e, const struct setting *s, const char *value, uint64_t *ret) {
        char reason[96];
        int r;

        r = parse_u64_str(value, s->min, s->max, ret);
        if (r == -EINVAL)
                return fail_value(e, s->name, "not a non-negative integer", value);
        if (r < 0) {
                snprintf(reason, sizeof(reason), "not between %llu and %llu", (unsigned long long)s->min,
                        (unsigned long long)s->max);
                return fail_value(e, s->name, reason, value);
        }
        return 0;
}

static int parse_list(struct errmsg *e, const struct setting *s, const char *value, char ***ret) {
        char **l = NULL;
        size_t n = 0, i = 0;
        const char *p;

        for (p = value; *p;) {
                size_t len;

                while (is_separator(*p))
                        p++;
                len = strcspn(p, " \t");
                if (len == 0)
                        break;
                /* Tabs separate items; any other control character is a mistake inside one. */
                if ((s->kind == KIND_IMAGES || s->kind == KIND_ENGINES) && memchr_control(p, len))
                        return fail(e, -EINVAL, s->name, "contains a control character");
                if (s->kind == KIND_ENGINES) {
                        struct engine_addr a;
                        const char *why = "";
                        char *item = strndup(p, len);
                        int r;

                        if (!item)
                                return fail(e, -ENOMEM, s->name, "out of memory");
                        r = engine_addr_parse(item, &a, &why);
                        if (r < 0)
                                r = fail_value(e, s->name, why, item);
                        free(item);
                        if (r < 0)
                                return r;
                }
                if (s->kind == KIND_ADDRS) {
                        char item[INET6_ADDRSTRLEN];
                        unsigned char buf[sizeof(struct in6_addr)];

                        snprintf(item, sizeof(item), "%.*s",
                                (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
                        if (len >= sizeof(item) ||
                                (inet_pton(AF_INET, item, buf) != 1 && inet_pton(AF_INET6, item, buf) != 1))
                                return fail_value(e, s->name, "not a numeric IPv4 or IPv6 address", item);
                }
                if (s->kind == KIND_CAPS && !is_capability(p, len)) {
                        char *item = strndup(p, len);
                        int r;

                        if (!item)
                                return fail(e, -ENOMEM, s->name, "out of memory");
                        r = fail_value(e, s->name, "not a capability name", item);
                        free(item);
                        return r;
                }
                n++;
                p += len;
        }

        if (n == 0 && s->if_empty)
                return fail(e, -EINVAL, s->name, "%s", s->if_empty);
        if (n == 0 && (s->kind == KIND_IMAGES || s->kind == KIND_ADDRS)) {
                *ret = NULL;
                return 0;
        }

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return fail(e, -ENOMEM, s->name, "out of memory");
        for (p = value; i < n;) {
                size_t len;

                while (is_separator(*p))
                        p++;
                len = strcspn(p, " \t");
                l[i] = strndup(p, len);
                if (!l[i]) {
                        strv_free(l);
                        return fail(e, -ENOMEM, s->name, "out of memory");
                }
                i++;
                p += len;
        }
        *ret = l;
        return 0;
}

static int parse_text(struct errmsg *e, const struct setting *s, const char *value, char **ret) {
        char *t;

        if (has_control(value)) {
                if (s->kind == KIND_SECRET)
                        return fail(e, -EINVAL, s->name, "contains a control character");
                return fail_value(e, s->name, "contains a control character", value);
        }
        if (s->kind == KIND_PATH && value[0] != '/')
                return fail_value(e, s->name, "not an absolute path", value);
        if (s->kind == KIND_ADDR) {
                unsigned char buf[sizeof(struct in6_addr)];

                if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1)
                        return fail_value(e, s->name, "not a numeric IPv4 or IPv6 address", value);
        }
        t = strdup(value);
        if (!t)
                return fail(e, -ENOMEM, s->name, "out of memory");
        *ret = t;
        return 0;
}

/* Parse one variable into its field; an unset optional one leaves the field as it is. */
static int parse_setting(struct errmsg *e, const struct setting *s, struct config *c) {
        void *field = (char *)c + s->offset;
        const char *value;
        uint64_t n = 0;
        int r;

        if (s->only_with && !secure_getenv(s->only_with))
                return 0;
        value = secure_getenv(s->name);
        if (!value && s->required && !(s->unless && secure_getenv(s->unless)))
                return fail(e, -EINVAL, s->name, "not set");
        if (!value && s->kind == KIND_CAPS)
                value = "";
        if (!value)
                value = s->fallback;
        if (!value)
                return 0;
        /* An empty list is a list; any other empty value is a mistake, never a silent default. */
        if (!value[0] && s->kind != KIND_CAPS && s->kind != KIND_IMAGES && s->kind != KIND_ADDRS &&
                s->kind != KIND_ENGINES)
                return fail(e, -EINVAL, s->name, "empty");

        switch (s->kind) {
        case KIND_SECRET:
        case KIND_TEXT:
        case KIND_PATH:
        case KIND_ADDR:
                return parse_text(e, s, value, field);
        case KIND_CAPS:
        case KIND_IMAGES:
        case KIND_ADDRS:
        case KIND_ENGINES:
                return parse_list(e, s, value, field);
        case KIND_BOOL:
                if (streq(value, "true"))
                        *(bool *)field = true;
                else if (streq(value, "false"))
                        *(bool *)field = false;
                else
                        return fail_value(e, s->name, "not true or false", value);
                return 0;
        case KIND_DECIMAL:
                r = parse_scaled(value, strlen(value), s->scale, s->max, &n);
                if (r < 0 || n < s->min) {
                        char reason[96];

                        snprintf(reason, sizeof(reason), "not a decimal number between %g and %g",
                                (double)s->min / 1e9, (double)s->max / 1e9);
                        return fail_value(e, s->name, reason, value);
                }
                *(uint64_t *)field = n;
                return 0;
        case KIND_U64:
        case KIND_MSEC:
        case KIND_I64:
        case KIND_INT:
        case KIND_UNSIGNED:
                r = parse_uint(e, s, value, &n);
                if (r < 0)
                        return r;
                /* The table's bounds keep every conversion below in range. */
                if (s->kind == KIND_U64)
                        *(uint64_t *)field = n;
                else if (s->kind == KIND_MSEC)
                        *(uint64_t *)field = n * 1000;
                else if (s->kind == KIND_I64)
                        *(int64_t *)field = (int64_t)n;
                else if (s->kind == KIND_INT)
                        *(int *)field = (int)n;
                else
                        *(unsigned *)field = (unsigned)n;
                return 0;
        }
        return -EINVAL;
}

static int check_soft_hard(
        struct errmsg *e, const char *soft_name, int64_t soft, const char *hard_name, int64_t hard) {
        if (soft > hard)
                return fail(e, -EINVAL, soft_name, "%lld is above %s (%lld)", (long long)soft, hard_name,
                        (long long)hard);
        return 0;
}

/* DOCKER_RUN_WARM_POOL's "IMAGE=COUNT" items, parsed once into the table. */
static int parse_warm_pools(struct errmsg *e, char **items, struct config *c) {
        size_t n = 0;

        for (size_t i = 0; items && items[i]; i++)
                n++;
        if (n == 0)
                return 0;
        c->warm = calloc(n, sizeof(*c->warm));
        if (!c->warm)
                return fail(e, -ENOMEM, "DOCKER_RUN_WARM_POOL", "out of memory");
        for (size_t i = 0; i < n; i++) {
                const char *eq = strrchr(items[i], '=');
                uint64_t count;

                if (!eq || eq == items[i] || parse_u64_str(eq + 1, 1, CONFIG_WARM_MAX, &count) < 0)
                        return fail_value(
                                e, "DOCKER_RUN_WARM_POOL", "not IMAGE=COUNT with COUNT 1 to 64", items[i]);
                for (size_t k = 0; k < c->n_warm; k++)
                        if (strlen(c->warm[k].image) == (size_t)(eq - items[i]) &&
                                strncmp(c->warm[k].image, items[i], (size_t)(eq - items[i])) == 0)
                                return fail_value(e, "DOCKER_RUN_WARM_POOL", "image named twice", items[i]);
                c->warm[c->n_warm].image = strndup(items[i], (size_t)(eq - items[i]));
                if (!c->warm[c->n_warm].image)
                        return fail(e, -ENOMEM, "DOCKER_RUN_WARM_POOL", "out of memory");
                c->warm[c->n_warm].count = (unsigned)count;
                c->n_warm++;
        }
        return 0;
}

uint64_t config_memory_bound(const struct config *c) {
        return CONFIG_HANDLER_BASE_BYTES + 32768u + c->max_request_size + 1026u + c->max_output_size;
}

int64_t config_run_seconds(const struct config *c) {
        return (int64_t)((c->max_execution_time_ms + 999) / 1000) +
               (int64_t)((c->docker_read_timeout_ms * 3 + 999) / 1000);
}

unsigned config_warm_count(const struct config *c, const char *image) {
        for (size_t i = 0; i < c->n_warm; i++)
                if (streq(c->warm[i].image, image))
                        return c->warm[i].count;
        return 0;
}

/*
 * The token as a systemd credential (LoadCredential=api-token:...), which
 * keeps it out of the environment. *ret stays NULL when there is none.
 */
static int load_token_credential(struct errmsg *e, char **ret) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *path = NULL;
        char buf[CONFIG_TOKEN_MAX + 2];
        const char *dir;
        ssize_t n;

        dir = secure_getenv("CREDENTIALS_DIRECTORY");
        if (!dir || !*dir)
                return 0;
        if (asprintf(&path, "%s/" CONFIG_TOKEN_CREDENTIAL, dir) < 0)
                return fail(e, -ENOMEM, "CREDENTIALS_DIRECTORY", "out of memory");
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return fail(e, -errno, "credential " CONFIG_TOKEN_CREDENTIAL, "%s", strerror(errno));
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return fail(e, -errno, "credential " CONFIG_TOKEN_CREDENTIAL, "%s", strerror(errno));
        if ((size_t)n > CONFIG_TOKEN_MAX)
                return fail(e, -EINVAL, "credential " CONFIG_TOKEN_CREDENTIAL, "longer than 4096 bytes");
        /* A file written by echo ends in a newline that is no part of the token. */
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
                n--;
        buf[n] = '\0';
        if (n == 0)
                return fail(e, -EINVAL, "credential " CONFIG_TOKEN_CREDENTIAL, "empty");
        if (memchr_control(buf, (size_t)n))
                return fail(
                        e, -EINVAL, "credential " CONFIG_TOKEN_CREDENTIAL, "contains a control character");
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        if (!*ret)
                return fail(e, -ENOMEM, "credential " CONFIG_TOKEN_CREDENTIAL, "out of memory");
        return 0;
}

/* The engines: DOCKER_ENGINES's, else DOCKER_UNIX_SOCKET_PATH's one; a tcp:// one needs DOCKER_CERT_PATH's
 * three files, checked now rather than at the first run. */
static int engines_from(struct errmsg *e, struct config *c) {
        bool tcp = false;

        if (!c->engine_names) {
                if (engine_addr_unix(c->docker_socket_path, &c->engines[0]) < 0)
                        return fail_value(e, "DOCKER_UNIX_SOCKET_PATH", "longer than a unix socket's path",
                                c->docker_socket_path);
                c->n_engines = 1;
                return 0;
        }
        for (size_t i = 0; c->engine_names[i]; i++) {
                const char *why = "";

                if (c->n_engines == ENGINES_MAX)
                        return fail(e, -EINVAL, "DOCKER_ENGINES", "names more than %d engines", ENGINES_MAX);
                if (engine_addr_parse(c->engine_names[i], &c->engines[c->n_engines], &why) < 0)
                        return fail_value(e, "DOCKER_ENGINES", why, c->engine_names[i]);
                for (size_t k = 0; k < c->n_engines; k++)
                        if (streq(c->engines[k].name, c->engine_names[i]))
                                return fail_value(
                                        e, "DOCKER_ENGINES", "engine named twice", c->engine_names[i]);
                tcp |= c->engines[c->n_engines].kind == ENGINE_TCP;
                c->n_engines++;
        }
        if (tcp && !c->cert_path)
                return fail(e, -EINVAL, "DOCKER_CERT_PATH",
                        "not set, but DOCKER_ENGINES names a tcp:// engine: it needs the directory of "
                        "ca.pem, "
                        "cert.pem and key.pem");
        for (const char *f = "ca.pem\0cert.pem\0key.pem\0"; tcp && *f; f += strlen(f) + 1) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", c->cert_path, f) < 0)
                        return fail(e, -ENOMEM, "DOCKER_CERT_PATH", "out of memory");
                if (access(path, R_OK) < 0)
                        return fail(e, -EINVAL, "DOCKER_CERT_PATH", "%s: %s", path, strerror(errno));
        }
        return 0;
}

int config_load(struct config *ret, unsigned flags, char *errbuf, size_t errlen) {
        /* The optional numbers' defaults; an unset variable leaves its field as it is. */
        _cleanup_(config_free) struct config c = {
                .max_request_size = CONFIG_DEFAULT_MAX_REQUEST_SIZE,
                .request_timeout_ms = CONFIG_DEFAULT_REQUEST_TIMEOUT_MS,
                .ulimit_nproc_soft = -1,
                .ulimit_nproc_hard = -1,
        };
        struct errmsg e = { errbuf, errlen };
        int r;

        if (errlen > 0)
                errbuf[0] = '\0';
        memset(ret, 0, sizeof(*ret));

        if (!(flags & CONFIG_LOAD_SWEEPER)) {
                r = load_token_credential(&e, &c.access_token);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                /* The credential, when there is one, is preferred over the variable. */
                if (settings[i].offset == FIELD(access_token) &&
                        (c.access_token || flags & CONFIG_LOAD_SWEEPER))
                        continue;
                r = parse_setting(&e, &settings[i], &c);
                if (r < 0)
                        return r;
        }

        r = check_soft_hard(&e, "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", c.ulimit_nofile_soft,
                "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD", c.ulimit_nofile_hard);
        if (r < 0)
                return r;
        if ((c.ulimit_nproc_soft < 0) != (c.ulimit_nproc_hard < 0))
                return fail(&e, -EINVAL,
                        c.ulimit_nproc_soft < 0 ? "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT"
                                                : "DOCKER_CONTAINER_ULIMIT_NPROC_HARD",
                        "not set, but %s is: set both or neither",
                        c.ulimit_nproc_soft < 0 ? "DOCKER_CONTAINER_ULIMIT_NPROC_HARD"
                                                : "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT");
        r = check_soft_hard(&e, "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", c.ulimit_nproc_soft,
                "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", c.ulimit_nproc_hard);
        if (r < 0)
                return r;

        r = parse_warm_pools(&e, c.warm_pool, &c);
        if (r < 0)
                return r;
        if (!c.runtime_dir) {
                const char *d = secure_getenv("RUNTIME_DIRECTORY");

                /* systemd's RuntimeDirectory= may name several, separated by colons: ours is the first. */
                c.runtime_dir =
                        d && d[0] == '/' ? strndup(d, strcspn(d, ":")) : strdup(CONFIG_DEFAULT_RUNTIME_DIR);
                if (!c.runtime_dir)
                        return fail(&e, -ENOMEM, "DOCKER_RUN_RUNTIME_DIRECTORY", "out of memory");
        }

        r = engines_from(&e, &c);
        if (r < 0)
                return r;

        /* Its minimum is 1, so 0 means unset. The nproc hard limit bounds the same fork bomb, but per uid
         * across the host; a hard limit of 0 leaves pids_limit 0, which the caller omits. Without either, a
         * fork bomb would have no bound at all. */
        if (c.container_pids_limit == 0 && c.ulimit_nproc_hard < 0)
                return fail(&e, -EINVAL, "DOCKER_CONTAINER_PIDS_LIMIT",
                        "not set, and neither is DOCKER_CONTAINER_ULIMIT_NPROC_HARD: set one of them");
        if (c.container_pids_limit == 0)
                c.container_pids_limit = c.ulimit_nproc_hard;

        *ret = c;
        memset(&c, 0, sizeof(c));
        return 0;
}

/* "required; seconds, 1 to 86400", "default 10; seconds, 0 to 3600", "default false; true or false": what
 * the documentation must say of a variable. */
static void describe(const struct setting *s, char *buf, size_t size) {
        char what[160];

        switch (s->kind) {
        case KIND_SECRET:
                snprintf(what, sizeof(what), "text, never logged");
                break;
        case KIND_TEXT:
                snprintf(what, sizeof(what), "text");
                break;
        case KIND_PATH:
                snprintf(what, sizeof(what), "an absolute path");
                break;
        case KIND_ADDR:
                snprintf(what, sizeof(what), "a numeric IPv4 or IPv6 address");
                break;
        case KIND_BOOL:
                snprintf(what, sizeof(what), "true or false");
                break;
        case KIND_CAPS:
                snprintf(what, sizeof(what), "capability names, space separated");
                break;
        case KIND_ADDRS:
                snprintf(what, sizeof(what), "numeric IPv4 or IPv6 addresses, space separated");
                break;
        case KIND_ENGINES:
                snprintf(what, sizeof(what), "unix:///PATH and tcp://HOST:PORT items, space separated");
                break;
        case KIND_IMAGES:
                snprintf(what, sizeof(what), "%s, space separated",
                        s->offset == FIELD(warm_pool) ? "IMAGE=COUNT items, COUNT 1 to 64" : "image names");
                break;
        case KIND_DECIMAL:
                snprintf(what, sizeof(what), "%s, %g to %g", s->unit, (double)s->min / 1e9,
                        (double)s->max / 1e9);
                break;
        default:
                if (s->max == INT64_MAX)
                        snprintf(
                                what, sizeof(what), "%s, %llu or more", s->unit, (unsigned long long)s->min);
                else
                        snprintf(what, sizeof(what), "%s, %llu to %llu", s->unit, (unsigned long long)s->min,
                                (unsigned long long)s->max);
        }
        if (s->required && s->unless)
                snprintf(buf, size, "required unless %s is set; %s", s->unless, what);
        else if (s->required)
                snprintf(buf, size, "required; %s", what);
        else
                snprintf(buf, size, "default %s; %s", s->fallback ?: s->doc_default ?: "none", what);
}

void config_list_variables(FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                char summary[256];

                describe(&settings[i], summary, sizeof(summary));
                fprintf(f, "%s\t%s\n", settings[i].name, summary);
        }
}

void config_print(FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                const char *v = secure_getenv(settings[i].name);

                if (!v)
                        continue;
                fprintf(f, "%s=", settings[i].name);
                if (settings[i].kind == KIND_SECRET)
                        fputs("(set)", f);
                for (; settings[i].kind != KIND_SECRET && *v; v++) {
                        unsigned char ch = (unsigned char)*v;

                        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
                                fputc(ch, f);
                        else
                                fprintf(f, "\\x%02x", ch);
                }
                fputc('\n', f);
        }
}

void config_free(struct config *c) {
        if (!c)
                return;
        free(c->access_token);
        free(c->docker_socket_path);
        strv_free(c->engine_names);
        free(c->cert_path);
        free(c->container_hostname);
        free(c->container_user);
        strv_free(c->cap_add);
        strv_free(c->cap_drop);
        free(c->tmp_dir.path);
        free(c->tmp_dir.options);
        free(c->work_dir.path);
        free(c->work_dir.options);
        free(c->container_runtime);
        strv_free(c->image_allowlist);
        strv_free(c->trusted_proxies);
        strv_free(c->warm_pool);
        for (size_t i = 0; i < c->n_warm; i++)
                free(c->warm[i].image);
        free(c->warm);
        free(c->runtime_dir);
        free(c->listen_addr);
        memset(c, 0, sizeof(*c));
}

bool config_image_allowed(const struct config *c, const char *image) {
        if (!c->image_allowlist)
                return true;
        for (size_t i = 0; c->image_allowlist[i]; i++)
                if (streq(c->image_allowlist[i], image))
                        return true;
        return false;
}
