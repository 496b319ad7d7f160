/* SPDX-License-Identifier: MIT */
/* test-parse: the one number parser, table-driven. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "tap.h"
#include "util.h"

static const struct {
        const char *s;
        uint64_t min, max;
        int ret;
        uint64_t value;
} integers[] = {
        { "0", 0, 10, 0, 0 },
        { "10", 0, 10, 0, 10 },
        { "11", 0, 10, -ERANGE, 0 },
        { "000123", 0, 1000, 0, 123 },
        { "5", 6, 10, -ERANGE, 0 },
        { "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
        { "99999999999999999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
        { "9223372036854775808", 0, INT64_MAX, -ERANGE, 0 },
        { "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
        { "", 0, 10, -EINVAL, 0 },
        { "-1", 0, 10, -EINVAL, 0 },
        { "+1", 0, 10, -EINVAL, 0 },
        { " 1", 0, 10, -EINVAL, 0 },
        { "1 ", 0, 10, -EINVAL, 0 },
        { "0x10", 0, 100, -EINVAL, 0 },
        { "1.0", 0, 10, -EINVAL, 0 },
        { "1e3", 0, 10000, -EINVAL, 0 },
};

static const struct {
        const char *s;
        unsigned scale;
        uint64_t max;
        int ret;
        uint64_t value;
} scaled[] = {
        { "2", 3, UINT64_MAX, 0, 2000 },
        { "0.5", 3, UINT64_MAX, 0, 500 },
        { "0.1", 3, UINT64_MAX, 0, 100 },
        { "1.25e1", 3, UINT64_MAX, 0, 12500 },
        { "5E-1", 3, UINT64_MAX, 0, 500 },
        { "5e+0", 3, UINT64_MAX, 0, 5000 },
        { "0.0001", 3, UINT64_MAX, -EINVAL, 0 },
        { "0.0010", 3, UINT64_MAX, 0, 1 },
        { "1e-3", 3, UINT64_MAX, 0, 1 },
        { "1e-4", 3, UINT64_MAX, -EINVAL, 0 },
        { "0e-9", 3, UINT64_MAX, 0, 0 },
        { "0.000", 3, UINT64_MAX, 0, 0 },
        { "100000", 0, UINT64_MAX, 0, 100000 },
        { "1e5", 0, UINT64_MAX, 0, 100000 },
        { "1.5", 0, UINT64_MAX, -EINVAL, 0 },
        { "0.5", 9, UINT64_MAX, 0, 500000000 },
        { "1.000000001", 9, UINT64_MAX, 0, 1000000001 },
        { "1.0000000001", 9, UINT64_MAX, -EINVAL, 0 },
        { "15", 3, 15000, 0, 15000 },
        { "15.001", 3, 15000, -ERANGE, 0 },
        { "1e30", 0, UINT64_MAX, -ERANGE, 0 },
        { "123456789012345678901234567890", 0, UINT64_MAX, -ERANGE, 0 },
        { "1e1000", 0, UINT64_MAX, -ERANGE, 0 },
        { "0e1000", 0, UINT64_MAX, 0, 0 },
        { "1e1001", 0, UINT64_MAX, -ERANGE, 0 },
        { "-1", 3, UINT64_MAX, -EINVAL, 0 },
        { "", 3, UINT64_MAX, -EINVAL, 0 },
        { ".5", 3, UINT64_MAX, -EINVAL, 0 },
        { "5.", 3, UINT64_MAX, -EINVAL, 0 },
        { "5e", 3, UINT64_MAX, -EINVAL, 0 },
        { "5e+", 3, UINT64_MAX, -EINVAL, 0 },
        { "NaN", 3, UINT64_MAX, -EINVAL, 0 },
        { "Infinity", 3, UINT64_MAX, -EINVAL, 0 },
        { "0x1", 3, UINT64_MAX, -EINVAL, 0 },
        { "1 ", 3, UINT64_MAX, -EINVAL, 0 },
};

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(integers); i++) {
                uint64_t v = 12345;
                int r = parse_u64_str(integers[i].s, integers[i].min, integers[i].max, &v);

                CHECK(r == integers[i].ret, "u64 \"%s\": returned %d", integers[i].s, r);
                if (r == 0)
                        CHECK(v == integers[i].value, "u64 \"%s\": %llu", integers[i].s,
                                (unsigned long long)v);
                else
                        CHECK(v == 12345, "u64 \"%s\": value untouched on failure", integers[i].s);
        }
        for (size_t i = 0; i < ELEMENTSOF(scaled); i++) {
                uint64_t v = 12345;
                int r = parse_scaled(scaled[i].s, strlen(scaled[i].s), scaled[i].scale, scaled[i].max, &v);

                CHECK(r == scaled[i].ret, "scaled \"%s\" x10^%u: returned %d", scaled[i].s, scaled[i].scale,
                        r);
                if (r == 0)
                        CHECK(v == scaled[i].value, "scaled \"%s\": %llu", scaled[i].s,
                                (unsigned long long)v);
                else
                        CHECK(v == 12345, "scaled \"%s\": value untouched on failure", scaled[i].s);
        }
        /* A length, not a NUL, ends the text. */
        {
                uint64_t v = 0;

                CHECK(parse_u64("12345", 3, 0, 1000, &v) == 0 && v == 123, "u64 by length");
        }
        return tap_finish("test-parse");
}
