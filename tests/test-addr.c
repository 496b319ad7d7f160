/* SPDX-License-Identifier: MIT */
/* test-addr: addresses compared as addresses, and the client behind trusted proxies. */
#include <string.h>

#include "addr.h"
#include "tap.h"
#include "util.h"

int main(void) {
        static char *trusted[] = { "127.0.0.1", "10.0.0.2", "::1", NULL };
        static const struct {
                const char *a, *b;
                bool equal;
        } pairs[] = {
                { "127.0.0.1", "127.0.0.1", true },
                { "127.0.0.1", "::ffff:127.0.0.1", true },
                { "::1", "0:0:0:0:0:0:0:1", true },
                { "127.0.0.1", "127.0.0.2", false },
                { "127.0.0.1", "localhost", false },
                { "", "", false },
        };
        static const struct {
                const char *name, *peer, *xff;
                const char *client;
                bool proxied;
        } cases[] = {
                { "no proxy", "192.0.2.1", "203.0.113.9", "192.0.2.1", false },
                { "trusted proxy", "127.0.0.1", "203.0.113.9", "203.0.113.9", true },
                { "v4-mapped peer", "::ffff:127.0.0.1", "203.0.113.9", "203.0.113.9", true },
                { "chain of proxies", "127.0.0.1", "203.0.113.9, 10.0.0.2", "203.0.113.9", true },
                { "spoofed left of the truth", "127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7", true },
                { "v6 hop", "127.0.0.1", "2001:db8::1", "2001:db8::1", true },
                { "no header", "127.0.0.1", "", "127.0.0.1", false },
                { "garbage", "127.0.0.1", "not-an-address", "127.0.0.1", false },
                { "garbage on the right", "127.0.0.1", "203.0.113.9, x", "127.0.0.1", false },
                { "a port is not an address", "127.0.0.1", "203.0.113.9:443", "127.0.0.1", false },
                { "only proxies", "127.0.0.1", "10.0.0.2", "10.0.0.2", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
                CHECK(addr_equal(pairs[i].a, pairs[i].b) == pairs[i].equal, "\"%s\" vs \"%s\"", pairs[i].a,
                        pairs[i].b);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char client[64];
                bool proxied = addr_forwarded_client(
                        cases[i].peer, cases[i].xff, strlen(cases[i].xff), trusted, client, sizeof(client));

                CHECK(proxied == cases[i].proxied && streq(client, cases[i].client), "%s: %s (%d)",
                        cases[i].name, client, proxied);
        }
        {
                char client[64];

                CHECK(!addr_forwarded_client("127.0.0.1", "203.0.113.9", 11, NULL, client, sizeof(client)) &&
                                streq(client, "127.0.0.1"),
                        "no trusted proxies: the peer");
        }
        return tap_finish("test-addr");
}
