/* SPDX-License-Identifier: MIT */
/* parse: strict numbers from text, the one place that turns digits into values. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * A plain decimal integer: digits only (no sign, no blanks, no base prefix), at least one, leading zeros
 * allowed. Returns 0 with the value, -EINVAL when it is not such a number, -ERANGE when it is outside
 * [min, max] (however many digits it has: never an overflow).
 */
int parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *ret);

/* The same for a NUL-terminated string. */
int parse_u64_str(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/*
 * A non-negative decimal number as JSON or an operator writes it ("2", "0.5", "1.25e1", "5E-1"), scaled by
 * 10^scale exactly: parse_scaled("0.5", 3, ...) is 500. Returns 0, -EINVAL when it is not a number or not a
 * whole multiple of 10^-scale (nothing is rounded), -ERANGE above max.
 */
int parse_scaled(const char *s, size_t len, unsigned scale, uint64_t max, uint64_t *ret);
