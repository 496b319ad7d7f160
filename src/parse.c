/* SPDX-License-Identifier: MIT */
/* parse: strict numbers from text, the one place that turns digits into values. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "parse.h"

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

int parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t n = 0;
        bool big = false;

        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (!is_digit(s[i]))
                        return -EINVAL;
                /* Past max is out of range whatever follows; this also keeps n from overflowing. */
                if (!big && n > (max - (uint64_t)(s[i] - '0')) / 10)
                        big = true;
                if (!big)
                        n = n * 10 + (uint64_t)(s[i] - '0');
        }
        if (big || n < min || n > max)
                return -ERANGE;
        *ret = n;
        return 0;
}

int parse_u64_str(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        return parse_u64(s, strlen(s), min, max, ret);
}

int parse_scaled(const char *s, size_t len, unsigned scale, uint64_t max, uint64_t *ret) {
        size_t i = 0, int_end, frac_start, frac_end, digits, drop = 0;
        uint64_t exp = 0, n = 0;
        bool exp_negative = false;
        long e;

        while (i < len && is_digit(s[i]))
                i++;
        int_end = i;
        if (int_end == 0)
                return -EINVAL;
        frac_start = frac_end = int_end;
        if (i < len && s[i] == '.') {
                frac_start = ++i;
                while (i < len && is_digit(s[i]))
                        i++;
                frac_end = i;
                if (frac_end == frac_start)
                        return -EINVAL;
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                size_t e_start;
                int r;

                i++;
                if (i < len && (s[i] == '+' || s[i] == '-'))
                        exp_negative = s[i++] == '-';
                e_start = i;
                while (i < len && is_digit(s[i]))
                        i++;
                r = parse_u64(s + e_start, i - e_start, 0, 1000, &exp);
                if (r < 0)
                        return r;
        }
        if (i != len)
                return -EINVAL;

        /* The value is the digits (integer and fraction, without the point) times 10^e. */
        digits = int_end + (frac_end - frac_start);
        e = (long)scale + (exp_negative ? -(long)exp : (long)exp) - (long)(frac_end - frac_start);
        if (e < 0)
                drop = (size_t)-e < digits ? (size_t)-e : digits;
        for (size_t k = 0; k < digits; k++) {
                char c = k < int_end ? s[k] : s[frac_start + k - int_end];

                /* Digits that fall behind the point must be zero: nothing is rounded. */
                if (k >= digits - drop) {
                        if (c != '0')
                                return -EINVAL;
                        continue;
                }
                if (n > (max - (uint64_t)(c - '0')) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t)(c - '0');
        }
        for (long k = 0; k < e && n != 0; k++) {
                if (n > max / 10)
                        return -ERANGE;
                n *= 10;
        }
        if (n > max)
                return -ERANGE;
        *ret = n;
        return 0;
}
