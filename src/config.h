/* SPDX-License-Identifier: MIT */
/* config: the service's settings, read strictly from the environment. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "enginelist.h"

struct config_tmpfs {
        char *path; /* NULL when not configured */
        char *options;
};

struct config {
        char *access_token;

        char *docker_socket_path;                /* NULL when DOCKER_ENGINES names the engines */
        char **engine_names;                     /* DOCKER_ENGINES as given, NULL when unset */
        struct engine_addr engines[ENGINES_MAX]; /* DOCKER_ENGINES's, else DOCKER_UNIX_SOCKET_PATH's */
        size_t n_engines;                        /* at least 1 */
        char *cert_path; /* DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem for the tcp:// engines */
        uint64_t docker_read_timeout_ms;  /* DOCKER_UNIX_SOCKET_READ_TIMEOUT, seconds in the environment */
        uint64_t docker_write_timeout_ms; /* DOCKER_UNIX_SOCKET_WRITE_TIMEOUT */

        char *container_hostname;
        char *container_user;
        int64_t container_memory;
        bool container_network_disabled;
        int64_t ulimit_nofile_soft, ulimit_nofile_hard;
        int64_t ulimit_nproc_soft, ulimit_nproc_hard; /* -1 when unset: no nproc ulimit */
        int64_t container_pids_limit; /* DOCKER_CONTAINER_PIDS_LIMIT, default the nproc hard limit */
        char **cap_add;               /* NULL-terminated, empty when unset */
        char **cap_drop;
        bool readonly_rootfs;
        struct config_tmpfs tmp_dir;
        struct config_tmpfs work_dir;
        char *container_runtime;      /* DOCKER_CONTAINER_RUNTIME, NULL for the engine's default */
        uint64_t container_nano_cpus; /* DOCKER_CONTAINER_CPUS in billionths of a core, 0 when unset */

        uint64_t max_execution_time_ms; /* RUN_MAX_EXECUTION_TIME, seconds */
        uint64_t max_output_size;       /* RUN_MAX_OUTPUT_SIZE, bytes */
        char **image_allowlist;         /* RUN_IMAGE_ALLOWLIST, NULL when every image is allowed */
        bool wait_for_exit; /* RUN_WAIT_FOR_EXIT: answer at the container's exit, not its answer */
        unsigned
                max_concurrent; /* RUN_MAX_CONCURRENT, runs at once on this host; 0: derived from the CPUs */
        uint64_t queue_timeout_ms; /* RUN_QUEUE_TIMEOUT, seconds; default 10, 0 refuses at once */

        uint64_t max_request_size;     /* SERVER_MAX_REQUEST_SIZE, bytes of body; default 2 MiB */
        uint64_t request_timeout_ms;   /* SERVER_REQUEST_TIMEOUT, seconds; default 10 */
        uint64_t keepalive_timeout_ms; /* SERVER_KEEPALIVE_TIMEOUT, seconds; default 5, 0 turns keep-alive
                                          off */
        unsigned keepalive_requests;   /* SERVER_KEEPALIVE_REQUESTS, per connection; default 100 */
        char **trusted_proxies; /* DOCKER_RUN_TRUSTED_PROXIES: whose X-Forwarded-For is believed; NULL: none
                                 */

        /* Accepted for compatibility; under socket activation the socket unit owns them. */
        char *listen_addr;       /* SERVER_LISTEN_ADDR, NULL when unset */
        int listen_port;         /* SERVER_LISTEN_PORT, 0 when unset */
        unsigned worker_threads; /* SERVER_WORKER_THREADS, 0 when unset */

        bool debug_keep_container;

        /* The warm pool (see pool.h). */
        char **warm_pool; /* DOCKER_RUN_WARM_POOL as given: "image=count" items, NULL when unset */
        struct config_warm {
                char *image;
                unsigned count;
        } * warm; /* the same, parsed: n_warm entries */
        size_t n_warm;
        uint64_t warm_max_age_ms; /* DOCKER_RUN_WARM_MAX_AGE, seconds; default 600 */
        char *runtime_dir;        /* DOCKER_RUN_RUNTIME_DIRECTORY, else systemd's RUNTIME_DIRECTORY, else
                                     /run/docker-run */
};

#define CONFIG_WARM_MAX            64u  /* warm containers per image */
#define CONFIG_CONCURRENT_MAX      256u /* runs at once on one host (SLOTS_COUNT_MAX) */
#define CONFIG_DEFAULT_RUNTIME_DIR "/run/docker-run"

/* The token's credential name under $CREDENTIALS_DIRECTORY, and its size cap. */
#define CONFIG_TOKEN_CREDENTIAL "api-token"
#define CONFIG_TOKEN_MAX        4096u

/* The original's limit (actix-web's JSON default). */
#define CONFIG_DEFAULT_MAX_REQUEST_SIZE   (2u * 1024u * 1024u)
#define CONFIG_DEFAULT_REQUEST_TIMEOUT_MS 10000u

/* The sweeper answers no HTTP: it needs no access token (c->access_token stays NULL). */
#define CONFIG_LOAD_SWEEPER (1u << 0)

/*
 * Load every setting from the environment (secure_getenv). Returns 0, or
 * -EINVAL with a message naming the variable and the reason in errbuf.
 * On failure *ret is left zeroed and needs no config_free().
 */
int config_load(struct config *ret, unsigned flags, char *errbuf, size_t errlen);

/* Every variable with what the documentation must say of it: "NAME<TAB>summary" lines (docker-run
 * --list-variables). */
void config_list_variables(FILE *f);

/* Print every variable of ours that is set, as NAME=VALUE lines (the token as "(set)"), escaped. */
void config_print(FILE *f);

/* Free what config_load() allocated; accepts a zeroed struct. */
void config_free(struct config *c);

/* The longest a run may take from its claim or create to its end, in whole seconds: the execution limit and
 * three engine calls. A container older than that by the sweeper's grace is left over. */
int64_t config_run_seconds(const struct config *c);

/* The handler itself, libraries and buffers included, before a request's body and a run's output. */
#define CONFIG_HANDLER_BASE_BYTES (16u * 1024u * 1024u)

/* The most memory one handler needs under this configuration: its base, the request buffer (the head, the
 * body and a chunk line) and the run's output (stdout and stderr together, handed to the answer, never
 * copied). */
uint64_t config_memory_bound(const struct config *c);

/* How many warm containers DOCKER_RUN_WARM_POOL keeps for image; 0 when none. */
unsigned config_warm_count(const struct config *c, const char *image);

/* Whether image may run under RUN_IMAGE_ALLOWLIST (always when unset). */
bool config_image_allowed(const struct config *c, const char *image);
