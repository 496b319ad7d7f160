/* SPDX-License-Identifier: MIT */
/* addr: numeric addresses as an operator writes them: compared as addresses, and X-Forwarded-For. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define HOPS_MAX 32 /* X-Forwarded-For entries looked at, from the right */

/* 16 bytes, IPv4 as v4-mapped IPv6: one form to compare. */
static bool parse(const char *s, size_t len, unsigned char ret[static 16]) {
        char buf[INET6_ADDRSTRLEN];

        if (len == 0 || len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET6, buf, ret) == 1)
                return true;
        memset(ret, 0, 10);
        ret[10] = ret[11] = 0xff;
        return inet_pton(AF_INET, buf, ret + 12) == 1;
}

bool addr_equal(const char *a, const char *b) {
        unsigned char x[16], y[16];

        return parse(a, strlen(a), x) && parse(b, strlen(b), y) && memcmp(x, y, 16) == 0;
}

bool addr_in(const char *addr, char *const *list) {
        for (size_t i = 0; list && list[i]; i++)
                if (addr_equal(addr, list[i]))
                        return true;
        return false;
}

bool addr_forwarded_client(
        const char *peer, const char *xff, size_t xff_len, char *const *trusted, char *ret, size_t size) {
        size_t end = xff_len;

        snprintf(ret, size, "%s", peer);
        if (!trusted || !addr_in(peer, trusted) || xff_len == 0)
                return false;
        for (int hops = 0; hops < HOPS_MAX; hops++) {
                size_t start = end, a, b;
                unsigned char raw[16];
                char hop[INET6_ADDRSTRLEN];

                while (start > 0 && xff[start - 1] != ',')
                        start--;
                a = start;
                b = end;
                while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
                        a++;
                while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
                        b--;
                if (!parse(xff + a, b - a, raw)) {
                        snprintf(ret, size, "%s", peer);
                        return false;
                }
                snprintf(hop, sizeof(hop), "%.*s", (int)(b - a), xff + a);
                if (!addr_in(hop, trusted) || start == 0) {
                        snprintf(ret, size, "%s", hop);
                        return true;
                }
                end = start - 1;
        }
        snprintf(ret, size, "%s", peer);
        return false;
}
