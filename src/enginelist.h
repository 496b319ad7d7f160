/* SPDX-License-Identifier: MIT */
/* enginelist: the engines a handler may run on (DOCKER_ENGINES): their addresses, the order a run tries them
 * in, and the marks, shared by all handlers, of the ones found down. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENGINES_MAX 16

enum engine_kind {
        ENGINE_UNIX, /* unix:///path: the engine's socket on this host */
        ENGINE_TCP,  /* tcp://HOST:PORT: always TLS, client certificate, the engine's name verified */
};

struct engine_addr {
        enum engine_kind kind;
        char path[108]; /* ENGINE_UNIX: the socket (sun_path's size) */
        char host[256]; /* ENGINE_TCP: a name, an IPv4 address, or an IPv6 one without its brackets */
        unsigned port;  /* ENGINE_TCP */
        char name[300]; /* as written in DOCKER_ENGINES: logs, metrics and /health call it so */
};

/*
 * Pure: one item of DOCKER_ENGINES, "unix:///ABSOLUTE/PATH" or "tcp://HOST:PORT" (HOST a name, an IPv4
 * address or [IPv6]; PORT 1 to 65535). Returns 0, or -EINVAL with *ret_reason saying what is wrong.
 */
int engine_addr_parse(const char *text, struct engine_addr *ret, const char **ret_reason);

/* The engine on a unix socket path, as DOCKER_UNIX_SOCKET_PATH names it (named "unix://PATH"). */
int engine_addr_unix(const char *path, struct engine_addr *ret);

/*
 * Pure: the order a run tries n engines in: those not marked down first, fewest runs in flight first, ties
 * broken by seed (any random number: the same seed, the same order); then the ones marked down, in the same
 * way, as a last resort rather than no engine at all. order receives n indices.
 */
void engine_order(size_t n, const unsigned *in_flight, const bool *down, uint64_t seed, size_t *order);

/* How long an engine found unreachable is passed over by every handler of this host. */
#define ENGINE_DOWN_SEC 10

/* Mark the engine down until ENGINE_DOWN_SEC from now, for every handler (a file under dir). */
void engine_mark_down(const char *dir, const struct engine_addr *e);

/* Clear the mark: the engine answered. */
void engine_mark_up(const char *dir, const struct engine_addr *e);

/* Whether the engine is marked down now. */
bool engine_is_down(const char *dir, const struct engine_addr *e);
