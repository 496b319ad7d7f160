/* SPDX-License-Identifier: MIT */
/* test-config: the reference environment, each variable's defaults, and every way a value is refused. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "util.h"

#define TOKEN "some-secret-token"

struct var {
        const char *key;
        const char *value; /* NULL unsets the variable */
};

/* The original's systemd unit, from API.md. */
static const struct var reference[] = {
        { "API_ACCESS_TOKEN", TOKEN },
        { "DOCKER_UNIX_SOCKET_PATH", "/var/run/docker.sock" },
        { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", "3" },
        { "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "3" },
        { "DOCKER_CONTAINER_HOSTNAME", "glot" },
        { "DOCKER_CONTAINER_USER", "glot" },
        { "DOCKER_CONTAINER_MEMORY", "1000000000" },
        { "DOCKER_CONTAINER_NETWORK_DISABLED", "true" },
        { "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", "90" },
        { "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD", "100" },
        { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", "90" },
        { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", "100" },
        { "DOCKER_CONTAINER_CAP_DROP", "MKNOD NET_RAW NET_BIND_SERVICE" },
        { "DOCKER_CONTAINER_READONLY_ROOTFS", "true" },
        { "DOCKER_CONTAINER_TMP_DIR_PATH", "/tmp" },
        { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", "rw,noexec,nosuid,size=65536k" },
        { "DOCKER_CONTAINER_WORK_DIR_PATH", "/home/glot" },
        { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", "rw,exec,nosuid,size=131072k" },
        { "RUN_MAX_EXECUTION_TIME", "15" },
        { "RUN_MAX_OUTPUT_SIZE", "100000" },
};

/* The original's required variables but the nproc pair and DOCKER_CONTAINER_CAP_DROP (optional in its code).
 */
static const char *const required[] = {
        "API_ACCESS_TOKEN",
        "DOCKER_UNIX_SOCKET_PATH",
        "DOCKER_UNIX_SOCKET_READ_TIMEOUT",
        "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT",
        "DOCKER_CONTAINER_HOSTNAME",
        "DOCKER_CONTAINER_USER",
        "DOCKER_CONTAINER_MEMORY",
        "DOCKER_CONTAINER_NETWORK_DISABLED",
        "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT",
        "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD",
        "RUN_MAX_EXECUTION_TIME",
        "RUN_MAX_OUTPUT_SIZE",
};

static const char *const integers[] = {
        "DOCKER_UNIX_SOCKET_READ_TIMEOUT",
        "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT",
        "DOCKER_CONTAINER_MEMORY",
        "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT",
        "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD",
        "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT",
        "DOCKER_CONTAINER_ULIMIT_NPROC_HARD",
        "RUN_MAX_EXECUTION_TIME",
        "RUN_MAX_OUTPUT_SIZE",
        "SERVER_LISTEN_PORT",
        "SERVER_WORKER_THREADS",
        "DOCKER_CONTAINER_PIDS_LIMIT",
        "SERVER_MAX_REQUEST_SIZE",
        "SERVER_REQUEST_TIMEOUT",
        "DOCKER_RUN_WARM_MAX_AGE",
};

/* Each with what the message must say: overflow is out of range, anything but digits is not a number. */
static const struct {
        const char *value, *reason;
} bad_integers[] = {
        { "", "empty" },
        { "12x", "not a non-negative integer: \"12x\"" },
        { "-1", "not a non-negative integer: \"-1\"" },
        { "+1", "not a non-negative integer: \"+1\"" },
        { " 1", "not a non-negative integer: \" 1\"" },
        { "1 ", "not a non-negative integer: \"1 \"" },
        { "0x10", "not a non-negative integer" },
        { "1.5", "not a non-negative integer" },
        { "1\n", "not a non-negative integer: \"1\\x0a\"" },
        { "99999999999999999999999", "not between" },
        { "18446744073709551616", "not between" },
};

static const char *const booleans[] = {
        "DOCKER_CONTAINER_NETWORK_DISABLED",
        "DOCKER_CONTAINER_READONLY_ROOTFS",
        "DEBUG_KEEP_CONTAINER",
        "RUN_WAIT_FOR_EXIT",
};

static const char *const bad_booleans[] = { "", "TRUE", "False", "1", "0", "yes", " true", "true " };

static void load_env(const struct var *over, size_t n) {
        clearenv();
        for (size_t i = 0; i < ELEMENTSOF(reference); i++)
                setenv(reference[i].key, reference[i].value, 1);
        for (size_t i = 0; i < n && over[i].key; i++) {
                if (over[i].value)
                        setenv(over[i].key, over[i].value, 1);
                else
                        unsetenv(over[i].key);
        }
}

static size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static bool strv_equal(char *const *l, const char *const *expect) {
        size_t i;

        if (!l)
                return false;
        for (i = 0; l[i] && expect[i]; i++)
                if (strcmp(l[i], expect[i]) != 0)
                        return false;
        return !l[i] && !expect[i];
}

static bool is_zero(const struct config *c) {
        static const struct config zero;

        return memcmp(c, &zero, sizeof(zero)) == 0;
}

static bool str_is(const char *s, const char *expect) {
        return s && strcmp(s, expect) == 0;
}

static void check_reference(const char *row, const struct config *c) {
        static const char *const drop[] = { "MKNOD", "NET_RAW", "NET_BIND_SERVICE", NULL };

        CHECK(str_is(c->access_token, TOKEN), "%s: token", row);
        CHECK(str_is(c->docker_socket_path, "/var/run/docker.sock"), "%s: socket path", row);
        CHECK(c->docker_read_timeout_ms == 3000, "%s: read timeout %llu", row,
                (unsigned long long)c->docker_read_timeout_ms);
        CHECK(c->docker_write_timeout_ms == 3000, "%s: write timeout %llu", row,
                (unsigned long long)c->docker_write_timeout_ms);
        CHECK(str_is(c->container_hostname, "glot"), "%s: hostname", row);
        CHECK(str_is(c->container_user, "glot"), "%s: user", row);
        CHECK(c->container_memory == 1000000000, "%s: memory %lld", row, (long long)c->container_memory);
        CHECK(c->container_network_disabled, "%s: network disabled", row);
        CHECK(c->ulimit_nofile_soft == 90 && c->ulimit_nofile_hard == 100, "%s: nofile", row);
        CHECK(c->ulimit_nproc_soft == 90 && c->ulimit_nproc_hard == 100, "%s: nproc", row);
        CHECK(c->container_pids_limit == 100, "%s: pids limit %lld", row,
                (long long)c->container_pids_limit);
        CHECK(c->cap_add && !c->cap_add[0], "%s: cap_add empty", row);
        CHECK(strv_equal(c->cap_drop, drop), "%s: cap_drop", row);
        CHECK(c->readonly_rootfs, "%s: readonly rootfs", row);
        CHECK(str_is(c->tmp_dir.path, "/tmp"), "%s: tmp path", row);
        CHECK(str_is(c->tmp_dir.options, "rw,noexec,nosuid,size=65536k"), "%s: tmp options", row);
        CHECK(str_is(c->work_dir.path, "/home/glot"), "%s: work path", row);
        CHECK(str_is(c->work_dir.options, "rw,exec,nosuid,size=131072k"), "%s: work options", row);
        CHECK(!c->container_runtime, "%s: runtime", row);
        CHECK(c->max_execution_time_ms == 15000, "%s: execution time %llu", row,
                (unsigned long long)c->max_execution_time_ms);
        CHECK(c->max_output_size == 100000, "%s: output size", row);
        CHECK(!c->image_allowlist, "%s: allowlist", row);
        CHECK(c->max_request_size == 2097152, "%s: request size 2 MiB, as the original", row);
        CHECK(c->request_timeout_ms == CONFIG_DEFAULT_REQUEST_TIMEOUT_MS, "%s: request timeout", row);
        CHECK(!c->listen_addr && c->listen_port == 0 && c->worker_threads == 0, "%s: listen", row);
        CHECK(!c->debug_keep_container, "%s: debug", row);
        CHECK(config_image_allowed(c, "glot/python:latest"), "%s: any image allowed", row);
}

static void check_optional_unset(const char *row, const struct config *c) {
        CHECK(!c->readonly_rootfs, "%s: readonly rootfs defaults to false", row);
        CHECK(!c->tmp_dir.path && !c->tmp_dir.options, "%s: no tmp dir", row);
        CHECK(!c->work_dir.path && !c->work_dir.options, "%s: no work dir", row);
        CHECK(c->cap_add && !c->cap_add[0], "%s: cap_add empty", row);
        CHECK(c->container_pids_limit == 100, "%s: pids limit", row);
}

static void check_default_options(const char *row, const struct config *c) {
        CHECK(str_is(c->tmp_dir.path, "/tmp"), "%s: tmp path", row);
        CHECK(str_is(c->tmp_dir.options, "rw,noexec,nosuid,size=65536k"), "%s: tmp options", row);
        CHECK(str_is(c->work_dir.path, "/home/glot"), "%s: work path", row);
        CHECK(str_is(c->work_dir.options, "rw,exec,nosuid,size=131072k"), "%s: work options", row);
}

static void check_no_cap_drop(const char *row, const struct config *c) {
        CHECK(c->cap_drop && !c->cap_drop[0], "%s: cap_drop empty", row);
}

static void check_no_nproc(const char *row, const struct config *c) {
        CHECK(c->ulimit_nproc_soft == -1 && c->ulimit_nproc_hard == -1, "%s: no nproc ulimit", row);
        CHECK(c->container_pids_limit == 100, "%s: pids limit %lld", row,
                (long long)c->container_pids_limit);
}

static void check_warm(const char *row, const struct config *c) {
        CHECK(c->n_warm == 2 && str_is(c->warm[0].image, "glot/python:latest") && c->warm[0].count == 4 &&
                        str_is(c->warm[1].image, "reg:5000/glot/bash=x:1") && c->warm[1].count == 64,
                "%s: the table", row);
        CHECK(config_warm_count(c, "glot/python:latest") == 4, "%s: python count", row);
        CHECK(config_warm_count(c, "glot/python") == 0, "%s: exact names", row);
        CHECK(config_warm_count(c, "reg:5000/glot/bash=x:1") == 64, "%s: the last = splits", row);
}

static void check_custom_options(const char *row, const struct config *c) {
        CHECK(str_is(c->tmp_dir.path, "/scratch"), "%s: tmp path", row);
        CHECK(str_is(c->tmp_dir.options, "rw,size=1k"), "%s: tmp options", row);
}

static void check_ignored_options(const char *row, const struct config *c) {
        CHECK(!c->tmp_dir.path && !c->tmp_dir.options, "%s: tmp options ignored", row);
        CHECK(!c->work_dir.path && !c->work_dir.options, "%s: work options ignored", row);
}

static void check_cap_drop_empty(const char *row, const struct config *c) {
        CHECK(c->cap_drop && !c->cap_drop[0], "%s: cap_drop empty, %zu items", row,
                strv_length(c->cap_drop));
}

static void check_cap_lists(const char *row, const struct config *c) {
        static const char *const drop[] = { "MKNOD", "NET_RAW", NULL };
        static const char *const add[] = { "SYS_PTRACE", "chown", "Cap2", NULL };

        CHECK(strv_equal(c->cap_drop, drop), "%s: cap_drop", row);
        CHECK(strv_equal(c->cap_add, add), "%s: cap_add keeps case", row);
}

static void check_pids_explicit(const char *row, const struct config *c) {
        CHECK(c->container_pids_limit == 50, "%s: pids %lld", row, (long long)c->container_pids_limit);
}

static void check_pids_unlimited(const char *row, const struct config *c) {
        CHECK(c->container_pids_limit == 0, "%s: pids %lld", row, (long long)c->container_pids_limit);
        CHECK(c->ulimit_nproc_hard == 0, "%s: nproc hard", row);
}

static void check_memory_zero(const char *row, const struct config *c) {
        CHECK(c->container_memory == 0, "%s: memory %lld", row, (long long)c->container_memory);
}

static void check_memory_max(const char *row, const struct config *c) {
        CHECK(c->container_memory == INT64_MAX, "%s: memory %lld", row, (long long)c->container_memory);
}

static void check_server_v4(const char *row, const struct config *c) {
        CHECK(str_is(c->listen_addr, "0.0.0.0"), "%s: addr", row);
        CHECK(c->listen_port == 8088, "%s: port %d", row, c->listen_port);
        CHECK(c->worker_threads == 10, "%s: threads %u", row, c->worker_threads);
}

static void check_server_v6(const char *row, const struct config *c) {
        CHECK(str_is(c->listen_addr, "::1"), "%s: addr", row);
        CHECK(c->listen_port == 65535, "%s: port %d", row, c->listen_port);
        CHECK(c->worker_threads == 65535, "%s: threads %u", row, c->worker_threads);
}

static void check_maxima(const char *row, const struct config *c) {
        CHECK(c->docker_read_timeout_ms == 3600000, "%s: read timeout", row);
        CHECK(c->docker_write_timeout_ms == 3600000, "%s: write timeout", row);
        CHECK(c->max_execution_time_ms == 86400000, "%s: execution time", row);
        CHECK(c->max_output_size == 1073741824, "%s: output size", row);
        CHECK(c->max_request_size == 67108864, "%s: request size", row);
        CHECK(c->request_timeout_ms == 3600000, "%s: request timeout", row);
}

static void check_minima(const char *row, const struct config *c) {
        CHECK(c->docker_read_timeout_ms == 1000, "%s: read timeout", row);
        CHECK(c->max_execution_time_ms == 1000, "%s: execution time", row);
        CHECK(c->max_output_size == 1, "%s: output size", row);
        CHECK(c->max_request_size == 1, "%s: request size", row);
        CHECK(c->request_timeout_ms == 1000, "%s: request timeout", row);
        CHECK(c->ulimit_nofile_soft == 0 && c->ulimit_nofile_hard == 0, "%s: nofile", row);
}

static void check_flags(const char *row, const struct config *c) {
        CHECK(!c->container_network_disabled, "%s: network enabled", row);
        CHECK(!c->readonly_rootfs, "%s: readonly rootfs", row);
        CHECK(c->debug_keep_container, "%s: keep container", row);
        CHECK(str_is(c->container_runtime, "runsc"), "%s: runtime", row);
}

static void check_trusted_proxies(const char *row, const struct config *c) {
        static const char *const list[] = { "127.0.0.1", "::1", "10.0.0.5", NULL };

        CHECK(strv_equal(c->trusted_proxies, list), "%s: trusted proxies", row);
}

static void check_trusted_none(const char *row, const struct config *c) {
        CHECK(!c->trusted_proxies || !c->trusted_proxies[0], "%s: no proxy trusted", row);
}

static void check_allowlist(const char *row, const struct config *c) {
        static const char *const list[] = { "glot/python:latest", "glot/bash:latest", NULL };

        CHECK(strv_equal(c->image_allowlist, list), "%s: allowlist", row);
        CHECK(config_image_allowed(c, "glot/python:latest"), "%s: python allowed", row);
        CHECK(config_image_allowed(c, "glot/bash:latest"), "%s: bash allowed", row);
        CHECK(!config_image_allowed(c, "glot/python"), "%s: no tag is another image", row);
        CHECK(!config_image_allowed(c, "glot/python:latest "), "%s: no trailing space", row);
        CHECK(!config_image_allowed(c, "GLOT/PYTHON:LATEST"), "%s: case matters", row);
        CHECK(!config_image_allowed(c, ""), "%s: empty name", row);
        CHECK(!config_image_allowed(c, "alpine"), "%s: other image", row);
}

/* The defaults of the variables added beside the original's, spelled out rather than by their macros. */
static void check_added_defaults(const char *row, const struct config *c) {
        CHECK(!c->wait_for_exit, "%s: answer at the runner's answer, not its exit", row);
        CHECK(c->max_request_size == 2u * 1024u * 1024u, "%s: request size %llu", row,
                (unsigned long long)c->max_request_size);
        CHECK(c->request_timeout_ms == 10000, "%s: request timeout %llu", row,
                (unsigned long long)c->request_timeout_ms);
        CHECK(!c->warm_pool && !c->warm && c->n_warm == 0, "%s: no warm pool", row);
        CHECK(c->warm_max_age_ms == 600000, "%s: warm max age %llu", row,
                (unsigned long long)c->warm_max_age_ms);
        CHECK(str_is(c->runtime_dir, "/run/docker-run"), "%s: runtime directory %s", row, c->runtime_dir);
        CHECK(!c->container_runtime, "%s: the engine's default runtime", row);
        CHECK(config_run_seconds(c) == 15 + 9, "%s: run seconds %lld", row,
                (long long)config_run_seconds(c));
}

#define CERTS "/tmp/docker-run-test-config-certs"

static void check_one_engine(const char *row, const struct config *c) {
        CHECK(c->n_engines == 1 && c->engines[0].kind == ENGINE_UNIX &&
                        streq(c->engines[0].path, "/var/run/docker.sock") &&
                        streq(c->engines[0].name, "unix:///var/run/docker.sock"),
                "%s: DOCKER_UNIX_SOCKET_PATH's engine", row);
        CHECK(!c->engine_names && !c->cert_path, "%s: no list, no certificates", row);
}

static void check_engines(const char *row, const struct config *c) {
        CHECK(c->n_engines == 3, "%s: %zu engines", row, c->n_engines);
        CHECK(c->engines[0].kind == ENGINE_UNIX && streq(c->engines[0].path, "/run/a.sock"), "%s: unix",
                row);
        CHECK(c->engines[1].kind == ENGINE_TCP && streq(c->engines[1].host, "10.0.0.2") &&
                        c->engines[1].port == 2376,
                "%s: tcp", row);
        CHECK(c->engines[2].kind == ENGINE_TCP && streq(c->engines[2].host, "::1"), "%s: tcp v6", row);
        CHECK(str_is(c->cert_path, CERTS), "%s: certificates", row);
        CHECK(!c->docker_socket_path, "%s: no socket path needed", row);
}

static void check_engines_replace(const char *row, const struct config *c) {
        CHECK(c->n_engines == 1 && streq(c->engines[0].path, "/run/a.sock"), "%s: the list's engine", row);
}

static void check_wait_for_exit(const char *row, const struct config *c) {
        CHECK(c->wait_for_exit, "%s: wait for exit", row);
}

static void check_no_wait_for_exit(const char *row, const struct config *c) {
        CHECK(!c->wait_for_exit, "%s: no wait for exit", row);
}

static void check_warm_age_min(const char *row, const struct config *c) {
        CHECK(c->warm_max_age_ms == 10000, "%s: %llu", row, (unsigned long long)c->warm_max_age_ms);
}

static void check_warm_age_max(const char *row, const struct config *c) {
        CHECK(c->warm_max_age_ms == 86400000, "%s: %llu", row, (unsigned long long)c->warm_max_age_ms);
}

/* An empty pool list is how the sweeper is told to retire every pool: no pool, not a mistake. */
static void check_no_warm(const char *row, const struct config *c) {
        CHECK(!c->warm && c->n_warm == 0, "%s: no pool", row);
        CHECK(config_warm_count(c, "glot/python:latest") == 0, "%s: no count", row);
}

static void check_runtime_dir_srv(const char *row, const struct config *c) {
        CHECK(str_is(c->runtime_dir, "/srv/docker-run"), "%s: %s", row, c->runtime_dir);
}

static void check_runtime_dir_systemd(const char *row, const struct config *c) {
        CHECK(str_is(c->runtime_dir, "/run/docker-run-x"), "%s: the first of systemd's: %s", row,
                c->runtime_dir);
}

static void check_runtime_dir_default(const char *row, const struct config *c) {
        CHECK(str_is(c->runtime_dir, "/run/docker-run"), "%s: %s", row, c->runtime_dir);
}

static void check_runtime_runc(const char *row, const struct config *c) {
        CHECK(str_is(c->container_runtime, "io.containerd.runc.v2"), "%s: %s", row, c->container_runtime);
}

static void check_request_limits(const char *row, const struct config *c) {
        CHECK(c->max_request_size == 2097153, "%s: request size", row);
        CHECK(c->request_timeout_ms == 11000, "%s: request timeout", row);
}

#define MAX_OVERRIDES     8
#define OK(check)         0, NULL, NULL, check
#define FAIL(var, reason) -EINVAL, var, reason, NULL

static const struct row {
        const char *name;
        struct var set[MAX_OVERRIDES];
        int ret;
        const char *var;    /* on failure, the message starts with "var: " */
        const char *reason; /* and contains this */
        void (*check)(const char *row, const struct config *c);
} rows[] = {
        { "reference", {}, OK(check_reference) },
        { "optional unset",
                { { "DOCKER_CONTAINER_READONLY_ROOTFS", NULL }, { "DOCKER_CONTAINER_TMP_DIR_PATH", NULL },
                        { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", NULL },
                        { "DOCKER_CONTAINER_WORK_DIR_PATH", NULL },
                        { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", NULL } },
                OK(check_optional_unset) },
        { "paths without options",
                { { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", NULL },
                        { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", NULL } },
                OK(check_default_options) },
        { "custom options",
                { { "DOCKER_CONTAINER_TMP_DIR_PATH", "/scratch" },
                        { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", "rw,size=1k" } },
                OK(check_custom_options) },
        { "options without path ignored, even malformed",
                { { "DOCKER_CONTAINER_TMP_DIR_PATH", NULL }, { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", "x\ny" },
                        { "DOCKER_CONTAINER_WORK_DIR_PATH", NULL },
                        { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", "" } },
                OK(check_ignored_options) },
        { "cap_drop empty", { { "DOCKER_CONTAINER_CAP_DROP", "" } }, OK(check_cap_drop_empty) },
        { "cap_drop blanks only", { { "DOCKER_CONTAINER_CAP_DROP", " \t " } }, OK(check_cap_drop_empty) },
        { "cap lists",
                { { "DOCKER_CONTAINER_CAP_DROP", "  MKNOD\t\tNET_RAW  " },
                        { "DOCKER_CONTAINER_CAP_ADD", "SYS_PTRACE chown Cap2" } },
                OK(check_cap_lists) },
        { "pids explicit", { { "DOCKER_CONTAINER_PIDS_LIMIT", "50" } }, OK(check_pids_explicit) },
        { "pids follows nproc hard 0",
                { { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", "0" },
                        { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", "0" } },
                OK(check_pids_unlimited) },
        { "memory 0 is no limit", { { "DOCKER_CONTAINER_MEMORY", "0" } }, OK(check_memory_zero) },
        { "memory int64 max", { { "DOCKER_CONTAINER_MEMORY", "9223372036854775807" } },
                OK(check_memory_max) },
        { "leading zeros", { { "DOCKER_CONTAINER_MEMORY", "000" } }, OK(check_memory_zero) },
        { "server v4",
                { { "SERVER_LISTEN_ADDR", "0.0.0.0" }, { "SERVER_LISTEN_PORT", "8088" },
                        { "SERVER_WORKER_THREADS", "10" } },
                OK(check_server_v4) },
        { "server v6",
                { { "SERVER_LISTEN_ADDR", "::1" }, { "SERVER_LISTEN_PORT", "65535" },
                        { "SERVER_WORKER_THREADS", "65535" } },
                OK(check_server_v6) },
        { "maxima",
                { { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", "3600" },
                        { "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "3600" },
                        { "RUN_MAX_EXECUTION_TIME", "86400" }, { "RUN_MAX_OUTPUT_SIZE", "1073741824" },
                        { "SERVER_MAX_REQUEST_SIZE", "67108864" }, { "SERVER_REQUEST_TIMEOUT", "3600" } },
                OK(check_maxima) },
        { "minima",
                { { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", "1" }, { "RUN_MAX_EXECUTION_TIME", "1" },
                        { "RUN_MAX_OUTPUT_SIZE", "1" }, { "SERVER_MAX_REQUEST_SIZE", "1" },
                        { "SERVER_REQUEST_TIMEOUT", "1" }, { "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", "0" },
                        { "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD", "0" } },
                OK(check_minima) },
        { "flags and runtime",
                { { "DOCKER_CONTAINER_NETWORK_DISABLED", "false" },
                        { "DOCKER_CONTAINER_READONLY_ROOTFS", "false" }, { "DEBUG_KEEP_CONTAINER", "true" },
                        { "DOCKER_CONTAINER_RUNTIME", "runsc" } },
                OK(check_flags) },
        { "allowlist", { { "RUN_IMAGE_ALLOWLIST", " glot/python:latest\tglot/bash:latest  " } },
                OK(check_allowlist) },
        /* Written to lock the service down, an empty list must never open it up. */
        { "allowlist empty", { { "RUN_IMAGE_ALLOWLIST", "" } },
                FAIL("RUN_IMAGE_ALLOWLIST", "empty: remove the variable to allow every image") },
        { "allowlist blanks", { { "RUN_IMAGE_ALLOWLIST", "   " } },
                FAIL("RUN_IMAGE_ALLOWLIST", "empty: remove the variable to allow every image") },

        { "cap drop unset", { { "DOCKER_CONTAINER_CAP_DROP", NULL } }, OK(check_no_cap_drop) },
        { "no nproc, pids limit",
                { { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", NULL },
                        { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", NULL },
                        { "DOCKER_CONTAINER_PIDS_LIMIT", "100" } },
                OK(check_no_nproc) },
        { "neither nproc nor pids limit",
                { { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", NULL },
                        { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", NULL } },
                FAIL("DOCKER_CONTAINER_PIDS_LIMIT", "neither is DOCKER_CONTAINER_ULIMIT_NPROC_HARD") },
        { "nproc soft alone", { { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", NULL } },
                FAIL("DOCKER_CONTAINER_ULIMIT_NPROC_HARD", "set both or neither") },
        { "nproc hard alone", { { "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", NULL } },
                FAIL("DOCKER_CONTAINER_ULIMIT_NPROC_SOFT", "set both or neither") },
        { "warm pools", { { "DOCKER_RUN_WARM_POOL", " glot/python:latest=4\treg:5000/glot/bash=x:1=64 " } },
                OK(check_warm) },
        { "warm pool twice", { { "DOCKER_RUN_WARM_POOL", "a=1 b=2 a=3" } },
                FAIL("DOCKER_RUN_WARM_POOL", "image named twice") },
        { "warm pool count 65", { { "DOCKER_RUN_WARM_POOL", "a=65" } },
                FAIL("DOCKER_RUN_WARM_POOL", "COUNT 1 to 64") },
        { "warm pool count 0", { { "DOCKER_RUN_WARM_POOL", "a=0" } },
                FAIL("DOCKER_RUN_WARM_POOL", "COUNT 1 to 64") },
        { "warm pool no image", { { "DOCKER_RUN_WARM_POOL", "=3" } },
                FAIL("DOCKER_RUN_WARM_POOL", "IMAGE=COUNT") },
        { "added defaults", {}, OK(check_added_defaults) },
        { "one engine by its socket", {}, OK(check_one_engine) },
        { "trusted proxies", { { "DOCKER_RUN_TRUSTED_PROXIES", " 127.0.0.1\t::1 10.0.0.5 " } },
                OK(check_trusted_proxies) },
        { "trusted proxy by name", { { "DOCKER_RUN_TRUSTED_PROXIES", "127.0.0.1 localhost" } },
                FAIL("DOCKER_RUN_TRUSTED_PROXIES", "not a numeric IPv4 or IPv6 address") },
        { "trusted proxy with a port", { { "DOCKER_RUN_TRUSTED_PROXIES", "127.0.0.1:8080" } },
                FAIL("DOCKER_RUN_TRUSTED_PROXIES", "not a numeric IPv4 or IPv6 address") },
        /* Present but empty trusts no proxy: the safe reading (unlike an empty allow-list, it opens
           nothing). */
        { "trusted proxies empty", { { "DOCKER_RUN_TRUSTED_PROXIES", "" } }, OK(check_trusted_none) },
        { "engines",
                { { "DOCKER_ENGINES", " unix:///run/a.sock\ttcp://10.0.0.2:2376 tcp://[::1]:2376 " },
                        { "DOCKER_CERT_PATH", CERTS }, { "DOCKER_UNIX_SOCKET_PATH", NULL } },
                OK(check_engines) },
        { "engines replace the socket", { { "DOCKER_ENGINES", "unix:///run/a.sock" } },
                OK(check_engines_replace) },
        { "engines empty", { { "DOCKER_ENGINES", " " } }, FAIL("DOCKER_ENGINES", "names no engine") },
        { "engines bad item", { { "DOCKER_ENGINES", "unix:///run/a.sock http://h:2375" } },
                FAIL("DOCKER_ENGINES", "neither unix:///PATH nor tcp://HOST:PORT") },
        { "engines bad port", { { "DOCKER_ENGINES", "tcp://h:99999" } },
                FAIL("DOCKER_ENGINES", "a number from 1 to 65535") },
        { "engines twice", { { "DOCKER_ENGINES", "unix:///run/a.sock unix:///run/a.sock" } },
                FAIL("DOCKER_ENGINES", "engine named twice") },
        { "engines 17",
                { { "DOCKER_ENGINES",
                        "unix:///1 unix:///2 unix:///3 unix:///4 unix:///5 unix:///6 unix:///7 "
                        "unix:///8 unix:///9 unix:///10 unix:///11 unix:///12 unix:///13 unix:///14 "
                        "unix:///15 unix:///16 unix:///17" } },
                FAIL("DOCKER_ENGINES", "more than 16 engines") },
        { "tcp engine without certificates", { { "DOCKER_ENGINES", "tcp://10.0.0.2:2376" } },
                FAIL("DOCKER_CERT_PATH", "names a tcp:// engine") },
        { "tcp engine, certificates missing",
                { { "DOCKER_ENGINES", "tcp://10.0.0.2:2376" },
                        { "DOCKER_CERT_PATH", "/nonexistent-certs" } },
                FAIL("DOCKER_CERT_PATH", "/nonexistent-certs/ca.pem") },
        { "no engine at all", { { "DOCKER_UNIX_SOCKET_PATH", NULL } },
                FAIL("DOCKER_UNIX_SOCKET_PATH", "not set") },
        { "wait for exit", { { "RUN_WAIT_FOR_EXIT", "true" } }, OK(check_wait_for_exit) },
        { "no wait for exit", { { "RUN_WAIT_FOR_EXIT", "false" } }, OK(check_no_wait_for_exit) },
        { "warm max age 10", { { "DOCKER_RUN_WARM_MAX_AGE", "10" } }, OK(check_warm_age_min) },
        { "warm max age 86400", { { "DOCKER_RUN_WARM_MAX_AGE", "86400" } }, OK(check_warm_age_max) },
        { "warm max age 9", { { "DOCKER_RUN_WARM_MAX_AGE", "9" } },
                FAIL("DOCKER_RUN_WARM_MAX_AGE", "not between 10 and 86400: \"9\"") },
        { "warm max age 0", { { "DOCKER_RUN_WARM_MAX_AGE", "0" } },
                FAIL("DOCKER_RUN_WARM_MAX_AGE", "not between") },
        { "warm max age 86401", { { "DOCKER_RUN_WARM_MAX_AGE", "86401" } },
                FAIL("DOCKER_RUN_WARM_MAX_AGE", "not between") },
        { "warm pool empty", { { "DOCKER_RUN_WARM_POOL", "" } }, OK(check_no_warm) },
        { "warm pool blanks", { { "DOCKER_RUN_WARM_POOL", " \t " } }, OK(check_no_warm) },
        { "warm pool no count", { { "DOCKER_RUN_WARM_POOL", "glot/python:latest" } },
                FAIL("DOCKER_RUN_WARM_POOL", "not IMAGE=COUNT with COUNT 1 to 64: \"glot/python:latest\"") },
        { "warm pool count empty", { { "DOCKER_RUN_WARM_POOL", "a=" } },
                FAIL("DOCKER_RUN_WARM_POOL", "IMAGE=COUNT") },
        { "warm pool count not a number", { { "DOCKER_RUN_WARM_POOL", "a=x" } },
                FAIL("DOCKER_RUN_WARM_POOL", "IMAGE=COUNT") },
        { "warm pool control", { { "DOCKER_RUN_WARM_POOL", "a=1\nb=2" } },
                FAIL("DOCKER_RUN_WARM_POOL", "control character") },
        { "runtime directory", { { "DOCKER_RUN_RUNTIME_DIRECTORY", "/srv/docker-run" } },
                OK(check_runtime_dir_srv) },
        { "runtime directory relative", { { "DOCKER_RUN_RUNTIME_DIRECTORY", "run/docker-run" } },
                FAIL("DOCKER_RUN_RUNTIME_DIRECTORY", "not an absolute path: \"run/docker-run\"") },
        { "runtime directory dot", { { "DOCKER_RUN_RUNTIME_DIRECTORY", "./run" } },
                FAIL("DOCKER_RUN_RUNTIME_DIRECTORY", "not an absolute path") },
        { "runtime directory empty", { { "DOCKER_RUN_RUNTIME_DIRECTORY", "" } },
                FAIL("DOCKER_RUN_RUNTIME_DIRECTORY", "empty") },
        { "runtime directory control", { { "DOCKER_RUN_RUNTIME_DIRECTORY", "/run/a\nb" } },
                FAIL("DOCKER_RUN_RUNTIME_DIRECTORY", "control character") },
        { "systemd's runtime directories", { { "RUNTIME_DIRECTORY", "/run/docker-run-x:/run/other" } },
                OK(check_runtime_dir_systemd) },
        { "systemd's runtime directory relative ignored", { { "RUNTIME_DIRECTORY", "docker-run-x" } },
                OK(check_runtime_dir_default) },
        { "ours before systemd's",
                { { "RUNTIME_DIRECTORY", "/run/docker-run-x" },
                        { "DOCKER_RUN_RUNTIME_DIRECTORY", "/srv/docker-run" } },
                OK(check_runtime_dir_srv) },
        { "container runtime", { { "DOCKER_CONTAINER_RUNTIME", "io.containerd.runc.v2" } },
                OK(check_runtime_runc) },
        { "request limits just above the defaults",
                { { "SERVER_MAX_REQUEST_SIZE", "2097153" }, { "SERVER_REQUEST_TIMEOUT", "11" } },
                OK(check_request_limits) },
        { "memory out of range", { { "DOCKER_CONTAINER_MEMORY", "9223372036854775808" } },
                FAIL("DOCKER_CONTAINER_MEMORY", "not between 0 and 9223372036854775807") },
        { "read timeout 0", { { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", "0" } },
                FAIL("DOCKER_UNIX_SOCKET_READ_TIMEOUT", "not between 1 and 3600: \"0\"") },
        { "read timeout 3601", { { "DOCKER_UNIX_SOCKET_READ_TIMEOUT", "3601" } },
                FAIL("DOCKER_UNIX_SOCKET_READ_TIMEOUT", "\"3601\"") },
        { "write timeout 0", { { "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "0" } },
                FAIL("DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "not between") },
        { "write timeout 3601", { { "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "3601" } },
                FAIL("DOCKER_UNIX_SOCKET_WRITE_TIMEOUT", "not between") },
        { "execution time 0", { { "RUN_MAX_EXECUTION_TIME", "0" } },
                FAIL("RUN_MAX_EXECUTION_TIME", "not between 1 and 86400") },
        { "execution time 86401", { { "RUN_MAX_EXECUTION_TIME", "86401" } },
                FAIL("RUN_MAX_EXECUTION_TIME", "not between") },
        { "output size 0", { { "RUN_MAX_OUTPUT_SIZE", "0" } }, FAIL("RUN_MAX_OUTPUT_SIZE", "not between") },
        { "output size 1 GiB + 1", { { "RUN_MAX_OUTPUT_SIZE", "1073741825" } },
                FAIL("RUN_MAX_OUTPUT_SIZE", "not between 1 and 1073741824") },
        { "pids 0", { { "DOCKER_CONTAINER_PIDS_LIMIT", "0" } },
                FAIL("DOCKER_CONTAINER_PIDS_LIMIT", "not between") },
        { "request size 0", { { "SERVER_MAX_REQUEST_SIZE", "0" } },
                FAIL("SERVER_MAX_REQUEST_SIZE", "not between") },
        { "request size 64 MiB + 1", { { "SERVER_MAX_REQUEST_SIZE", "67108865" } },
                FAIL("SERVER_MAX_REQUEST_SIZE", "not between 1 and 67108864") },
        { "request timeout 0", { { "SERVER_REQUEST_TIMEOUT", "0" } },
                FAIL("SERVER_REQUEST_TIMEOUT", "not between") },
        { "request timeout 3601", { { "SERVER_REQUEST_TIMEOUT", "3601" } },
                FAIL("SERVER_REQUEST_TIMEOUT", "not between") },
        { "port 0", { { "SERVER_LISTEN_PORT", "0" } },
                FAIL("SERVER_LISTEN_PORT", "not between 1 and 65535") },
        { "port 65536", { { "SERVER_LISTEN_PORT", "65536" } }, FAIL("SERVER_LISTEN_PORT", "not between") },
        { "port abc", { { "SERVER_LISTEN_PORT", "abc" } },
                FAIL("SERVER_LISTEN_PORT", "not a non-negative integer: \"abc\"") },
        { "threads 0", { { "SERVER_WORKER_THREADS", "0" } }, FAIL("SERVER_WORKER_THREADS", "not between") },
        { "threads 65536", { { "SERVER_WORKER_THREADS", "65536" } },
                FAIL("SERVER_WORKER_THREADS", "not between") },
        { "addr hostname", { { "SERVER_LISTEN_ADDR", "localhost" } },
                FAIL("SERVER_LISTEN_ADDR", "not a numeric IPv4 or IPv6 address: \"localhost\"") },
        { "addr short v4", { { "SERVER_LISTEN_ADDR", "1.2.3" } }, FAIL("SERVER_LISTEN_ADDR", "numeric") },
        { "addr bad v6", { { "SERVER_LISTEN_ADDR", "::g" } }, FAIL("SERVER_LISTEN_ADDR", "numeric") },
        { "addr with port", { { "SERVER_LISTEN_ADDR", "127.0.0.1:8088" } },
                FAIL("SERVER_LISTEN_ADDR", "numeric") },
        { "addr empty", { { "SERVER_LISTEN_ADDR", "" } }, FAIL("SERVER_LISTEN_ADDR", "empty") },
        { "nofile soft above hard", { { "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", "101" } },
                FAIL("DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT",
                        "101 is above DOCKER_CONTAINER_ULIMIT_NOFILE_HARD (100)") },
        { "nproc soft above hard", { { "DOCKER_CONTAINER_ULIMIT_NPROC_HARD", "89" } },
                FAIL("DOCKER_CONTAINER_ULIMIT_NPROC_SOFT",
                        "90 is above DOCKER_CONTAINER_ULIMIT_NPROC_HARD (89)") },
        { "tmp path relative", { { "DOCKER_CONTAINER_TMP_DIR_PATH", "tmp" } },
                FAIL("DOCKER_CONTAINER_TMP_DIR_PATH", "not an absolute path: \"tmp\"") },
        { "tmp path empty", { { "DOCKER_CONTAINER_TMP_DIR_PATH", "" } },
                FAIL("DOCKER_CONTAINER_TMP_DIR_PATH", "empty") },
        { "work path relative", { { "DOCKER_CONTAINER_WORK_DIR_PATH", "home/glot" } },
                FAIL("DOCKER_CONTAINER_WORK_DIR_PATH", "not an absolute path") },
        { "tmp options empty", { { "DOCKER_CONTAINER_TMP_DIR_OPTIONS", "" } },
                FAIL("DOCKER_CONTAINER_TMP_DIR_OPTIONS", "empty") },
        { "work options control", { { "DOCKER_CONTAINER_WORK_DIR_OPTIONS", "rw\n,exec" } },
                FAIL("DOCKER_CONTAINER_WORK_DIR_OPTIONS",
                        "contains a control character: \"rw\\x0a,exec\"") },
        { "cap with dash", { { "DOCKER_CONTAINER_CAP_DROP", "MKNOD NET-RAW" } },
                FAIL("DOCKER_CONTAINER_CAP_DROP", "not a capability name: \"NET-RAW\"") },
        { "cap with newline", { { "DOCKER_CONTAINER_CAP_DROP", "MKNOD\nNET_RAW" } },
                FAIL("DOCKER_CONTAINER_CAP_DROP", "not a capability name: \"MKNOD\\x0aNET_RAW\"") },
        { "cap_add with comma", { { "DOCKER_CONTAINER_CAP_ADD", "CHOWN,KILL" } },
                FAIL("DOCKER_CONTAINER_CAP_ADD", "not a capability name: \"CHOWN,KILL\"") },
        { "hostname control", { { "DOCKER_CONTAINER_HOSTNAME", "gl\x01ot" } },
                FAIL("DOCKER_CONTAINER_HOSTNAME", "contains a control character: \"gl\\x01ot\"") },
        { "user DEL", { { "DOCKER_CONTAINER_USER", "glot\x7f" } },
                FAIL("DOCKER_CONTAINER_USER", "\"glot\\x7f\"") },
        { "socket path tab", { { "DOCKER_UNIX_SOCKET_PATH", "/run/\tdocker.sock" } },
                FAIL("DOCKER_UNIX_SOCKET_PATH", "control character") },
        { "runtime empty", { { "DOCKER_CONTAINER_RUNTIME", "" } },
                FAIL("DOCKER_CONTAINER_RUNTIME", "empty") },
        { "runtime control", { { "DOCKER_CONTAINER_RUNTIME", "run\rsc" } },
                FAIL("DOCKER_CONTAINER_RUNTIME", "control character") },
        { "allowlist newline", { { "RUN_IMAGE_ALLOWLIST", "alpine\nglot/bash" } },
                FAIL("RUN_IMAGE_ALLOWLIST", "control character") },
        { "token control", { { "API_ACCESS_TOKEN", TOKEN "\x01" } },
                FAIL("API_ACCESS_TOKEN", "contains a control character") },
        { "token empty", { { "API_ACCESS_TOKEN", "" } }, FAIL("API_ACCESS_TOKEN", "empty") },
        { "quotes and backslashes escaped", { { "DOCKER_CONTAINER_MEMORY", "1\"2\\" } },
                FAIL("DOCKER_CONTAINER_MEMORY", "\"1\\x222\\x5c\"") },
        { "high bytes escaped", { { "DOCKER_CONTAINER_MEMORY", "caf\xc3\xa9" } },
                FAIL("DOCKER_CONTAINER_MEMORY", "\"caf\\xc3\\xa9\"") },
        { "first problem wins",
                { { "RUN_MAX_OUTPUT_SIZE", "x" }, { "DOCKER_CONTAINER_HOSTNAME", "" },
                        { "DOCKER_CONTAINER_MEMORY", "-5" } },
                FAIL("DOCKER_CONTAINER_HOSTNAME", "empty") },
        { "required before soft/hard",
                { { "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT", "500" }, { "RUN_MAX_OUTPUT_SIZE", NULL } },
                FAIL("RUN_MAX_OUTPUT_SIZE", "not set") },
};

/* Fill both with garbage first: a failure must leave the struct zeroed, a success an empty message. */
static int load(struct config *c, char *errbuf, size_t errlen) {
        memset(c, 0xa5, sizeof(*c));
        if (errbuf)
                memset(errbuf, 'X', errlen);
        return config_load(c, 0, errbuf, errlen);
}

static void check_failure(const char *row, int r, const struct config *c, const char *errbuf,
        const char *var, const char *reason) {
        CHECK(r == -EINVAL, "%s: returned %d", row, r);
        CHECK(is_zero(c), "%s: struct left zeroed on failure", row);
        CHECK(strncmp(errbuf, var, strlen(var)) == 0 && strncmp(errbuf + strlen(var), ": ", 2) == 0,
                "%s: message names %s: %s", row, var, errbuf);
        CHECK(strstr(errbuf, reason), "%s: message has \"%s\": %s", row, reason, errbuf);
}

static void test_rows(void) {
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const struct row *t = &rows[i];
                struct config c;
                char errbuf[512];
                int r;

                load_env(t->set, ELEMENTSOF(t->set));
                r = load(&c, errbuf, sizeof(errbuf));
                CHECK(!strstr(errbuf, TOKEN), "%s: token leaked: %s", t->name, errbuf);
                if (t->ret == 0) {
                        CHECK(r == 0, "%s: returned %d: %s", t->name, r, errbuf);
                        if (r == 0) {
                                CHECK(errbuf[0] == '\0', "%s: message on success: %s", t->name, errbuf);
                                t->check(t->name, &c);
                        }
                } else
                        check_failure(t->name, r, &c, errbuf, t->var, t->reason);
                config_free(&c);
                CHECK(is_zero(&c), "%s: config_free zeroes", t->name);
        }
}

static void test_required(void) {
        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                const struct var unset[] = { { required[i], NULL } };
                const struct var empty[] = { { required[i], "" } };
                bool list = strcmp(required[i], "DOCKER_CONTAINER_CAP_DROP") == 0;
                struct config c;
                char errbuf[512], row[128];
                int r;

                snprintf(row, sizeof(row), "%s unset", required[i]);
                load_env(unset, ELEMENTSOF(unset));
                r = load(&c, errbuf, sizeof(errbuf));
                check_failure(row, r, &c, errbuf, required[i], "not set");
                config_free(&c);

                /* An empty capability list is still a list; everything else empty is refused. */
                snprintf(row, sizeof(row), "%s empty", required[i]);
                load_env(empty, ELEMENTSOF(empty));
                r = load(&c, errbuf, sizeof(errbuf));
                if (list)
                        CHECK(r == 0, "%s: returned %d: %s", row, r, errbuf);
                else
                        check_failure(row, r, &c, errbuf, required[i], "empty");
                CHECK(!strstr(errbuf, TOKEN), "%s: token leaked: %s", row, errbuf);
                config_free(&c);
        }
}

static void test_malformed(void) {
        for (size_t i = 0; i < ELEMENTSOF(integers); i++)
                for (size_t j = 0; j < ELEMENTSOF(bad_integers); j++) {
                        const struct var over[] = { { integers[i], bad_integers[j].value } };
                        struct config c;
                        char errbuf[512], row[128];
                        int r;

                        snprintf(row, sizeof(row), "%s=\"%s\"", integers[i], bad_integers[j].value);
                        load_env(over, ELEMENTSOF(over));
                        r = load(&c, errbuf, sizeof(errbuf));
                        check_failure(row, r, &c, errbuf, integers[i], bad_integers[j].reason);
                        config_free(&c);
                }

        for (size_t i = 0; i < ELEMENTSOF(booleans); i++)
                for (size_t j = 0; j < ELEMENTSOF(bad_booleans); j++) {
                        const struct var over[] = { { booleans[i], bad_booleans[j] } };
                        struct config c;
                        char errbuf[512], row[128];
                        int r;

                        snprintf(row, sizeof(row), "%s=\"%s\"", booleans[i], bad_booleans[j]);
                        load_env(over, ELEMENTSOF(over));
                        r = load(&c, errbuf, sizeof(errbuf));
                        check_failure(row, r, &c, errbuf, booleans[i],
                                bad_booleans[j][0] ? "not true or false" : "empty");
                        config_free(&c);
                }
}

/* The sweeper answers no HTTP: it must run without any token, and still refuse everything else. */
static void test_sweeper_without_token(void) {
        const struct var unset[] = { { "API_ACCESS_TOKEN", NULL } };
        const struct var bad[] = { { "API_ACCESS_TOKEN", NULL }, { "RUN_MAX_OUTPUT_SIZE", "x" } };
        struct config c;
        char errbuf[512];
        int r;

        load_env(unset, ELEMENTSOF(unset));
        memset(&c, 0xa5, sizeof(c));
        r = config_load(&c, CONFIG_LOAD_SWEEPER, errbuf, sizeof(errbuf));
        CHECK(r == 0, "sweeper without a token: returned %d: %s", r, errbuf);
        if (r == 0)
                CHECK(!c.access_token && c.max_output_size == 100000, "sweeper: no token, the rest loaded");
        config_free(&c);

        load_env(unset, ELEMENTSOF(unset));
        r = load(&c, errbuf, sizeof(errbuf));
        check_failure("handler without a token", r, &c, errbuf, "API_ACCESS_TOKEN", "not set");

        load_env(bad, ELEMENTSOF(bad));
        memset(&c, 0xa5, sizeof(c));
        r = config_load(&c, CONFIG_LOAD_SWEEPER, errbuf, sizeof(errbuf));
        check_failure(
                "sweeper with a bad value", r, &c, errbuf, "RUN_MAX_OUTPUT_SIZE", "not a non-negative");
}

static void test_messages(void) {
        static const struct {
                const char *key, *value, *message;
        } exact[] = {
                { "DOCKER_CONTAINER_MEMORY", "12x",
                        "DOCKER_CONTAINER_MEMORY: not a non-negative integer: \"12x\"" },
                { "API_ACCESS_TOKEN", NULL, "API_ACCESS_TOKEN: not set" },
                { "DOCKER_CONTAINER_NETWORK_DISABLED", "yes",
                        "DOCKER_CONTAINER_NETWORK_DISABLED: not true or false: \"yes\"" },
        };
        char long_value[300];
        struct config c;
        char errbuf[512];
        char tiny[8];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(exact); i++) {
                const struct var over[] = { { exact[i].key, exact[i].value } };

                load_env(over, ELEMENTSOF(over));
                r = load(&c, errbuf, sizeof(errbuf));
                CHECK(r == -EINVAL && strcmp(errbuf, exact[i].message) == 0, "%s: %d \"%s\"", exact[i].key,
                        r, errbuf);
                config_free(&c);
        }

        /* A long value is quoted only in part, and never beyond the buffer. */
        memset(long_value, 'x', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = '\0';
        {
                const struct var over[] = { { "DOCKER_CONTAINER_MEMORY", long_value } };

                load_env(over, ELEMENTSOF(over));
        }
        r = load(&c, errbuf, sizeof(errbuf));
        CHECK(r == -EINVAL, "long value: %d", r);
        CHECK(strstr(errbuf, "xxx...\""), "long value truncated: %s", errbuf);
        CHECK(strlen(errbuf) < 150, "long value short: %zu", strlen(errbuf));

        r = load(&c, tiny, sizeof(tiny));
        CHECK(r == -EINVAL && strlen(tiny) == sizeof(tiny) - 1 && strncmp(tiny, "DOCKER_", 7) == 0,
                "small buffer: %d \"%s\"", r, tiny);
        r = load(&c, NULL, 0);
        CHECK(r == -EINVAL && is_zero(&c), "no buffer: %d", r);

        load_env(NULL, 0);
        r = load(&c, NULL, 0);
        CHECK(r == 0 && c.access_token, "no buffer, success: %d", r);
        config_free(&c);
        config_free(&c);
        CHECK(is_zero(&c), "config_free twice");
}

int main(void) {
        CHECK(system("mkdir -p " CERTS " && touch " CERTS "/ca.pem " CERTS "/cert.pem " CERTS "/key.pem") ==
                        0,
                "certificate files");
        test_rows();
        test_required();
        test_malformed();
        test_messages();
        test_sweeper_without_token();
        CHECK(system("rm -rf " CERTS) == 0, "certificate files removed");
        return tap_finish("test-config");
}
