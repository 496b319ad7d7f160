/* SPDX-License-Identifier: MIT */
/* cgroup: the memory limit of the cgroup this process runs in (systemd's MemoryMax=). */
#pragma once

#include <stdint.h>

/* Limits at or above this are no limit (cgroup v1 writes "no limit" as a page-rounded INT64_MAX). */
#define CGROUP_UNLIMITED (UINT64_C(1) << 62)

/*
 * The memory limit in bytes of the cgroup described by proc_self_cgroup (the text of /proc/self/cgroup),
 * read under root (normally "/sys/fs/cgroup"): cgroup v1's memory controller, else cgroup v2's memory.max.
 * Returns 0, or -ENOENT when there is none (unlimited, or no memory controller to ask).
 */
int cgroup_memory_limit_at(const char *proc_self_cgroup, const char *root, uint64_t *ret);

/* The same for this process. */
int cgroup_memory_limit(uint64_t *ret);
