/* SPDX-License-Identifier: MIT */
/* engineinfo: what an engine says it is and can enforce (GET /info, /version), cached in the runtime dir. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "docker.h"
#include "enginelist.h"

#define ENGINEINFO_RUNTIMES_MAX 512 /* bytes of the space separated runtime names kept */
#define ENGINEINFO_TTL_SEC      60  /* a cache is trusted at most this long, and only for the same process */

struct engine_info {
        unsigned ncpu;
        bool memory_limit; /* the engine enforces HostConfig.Memory */
        bool pids_limit;   /* ... HostConfig.PidsLimit */
        bool swap_limit;   /* ... HostConfig.MemorySwap */
        bool cpu_quota;    /* ... HostConfig.NanoCpus (CFS quota) */
        bool rootless;     /* a rootless engine: on cgroup v1 it enforces none of them */
        bool podman; /* Podman's Docker-compatible API: its own default runtime, stdout and stderr frames
                        not always in the order written */
        char cgroup_driver[32];
        char cgroup_version[8];
        char runtimes[ENGINEINFO_RUNTIMES_MAX]; /* " runc runsc " (spaces around each) */
        int64_t engine_pid;                     /* the engine process behind a unix socket, 0 when unknown */
        int64_t fetched;                        /* Unix seconds */
};

/* What /info and /version (may be NULL) say, pure. */
void engineinfo_parse(json_object *info, json_object *version, struct engine_info *ret);

/*
 * The engine's facts, from the cache file in dir when it still describes the engine (the same engine process
 * behind the unix socket, and younger than ENGINEINFO_TTL_SEC), else asked of the engine (GET /info and
 * /version) and cached. Returns 0, or the engine call's error.
 */
int engineinfo_get(struct docker *d, const char *dir, struct engine_info *ret);

/* The cached facts only, never asking the engine (for decisions before any engine call): 0 or -ENOENT. */
int engineinfo_cached(const char *dir, const struct engine_addr *e, struct engine_info *ret);

/*
 * Whether the engine can enforce every limit the configuration sets: 0, or -EPERM with the reason for the
 * operator in why (a rootless engine on cgroup v1, a cgroup driver of "none", a limit the engine says it
 * cannot apply, a runtime it does not know or, on Podman, cannot be asked for).
 */
int engineinfo_check(const struct engine_info *i, const struct config *c, char *why, size_t size);
