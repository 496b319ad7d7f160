/* SPDX-License-Identifier: MIT */
/* addr: numeric addresses as an operator writes them: compared as addresses, and X-Forwarded-For. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether two numeric addresses are the same (IPv6 text forms vary; ::ffff:a.b.c.d is a.b.c.d). */
bool addr_equal(const char *a, const char *b);

/* Whether addr equals one of the NULL-terminated list. */
bool addr_in(const char *addr, char *const *list);

/*
 * The client's address for the log: the peer's, unless the peer is one of the trusted proxies and the
 * X-Forwarded-For value (xff, xff_len; may be empty) names a hop: then the rightmost hop that is not itself
 * a trusted proxy. A malformed X-Forwarded-For is not believed (the peer's address stays). Writes ret (size
 * at least 64); returns true when the address came from a proxy.
 */
bool addr_forwarded_client(
        const char *peer, const char *xff, size_t xff_len, char *const *trusted, char *ret, size_t size);
