/* SPDX-License-Identifier: MIT */
/* fuzz-jsontext: the validator whole and in pieces, against json-c; the escaper round trip. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonc-strict.h"
#include "jsontext.h"

#define DEPTH 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
        enum jsontext_status status;
        size_t offset, end;
        const char *error;
        enum jsontext_type type;
};

/* Feed data in pieces ending at cuts[0..n-1] (ascending), then the rest, going on past DONE to the end. */
static struct outcome run_pieces(const uint8_t *data, size_t size, const size_t *cuts, size_t n) {
        struct jsontext j;
        size_t from = 0;
        enum jsontext_status s = JSONTEXT_MORE;

        jsontext_init(&j, DEPTH);
        for (size_t k = 0; k <= n && s != JSONTEXT_INVALID; k++) {
                size_t to = k < n ? cuts[k] : size, used;

                s = jsontext_feed(&j, data + from, to - from, &used);
                if (used > to - from || (s != JSONTEXT_INVALID && j.offset != from + used))
                        abort();
                if (s == JSONTEXT_DONE && used < to - from)
                        s = jsontext_feed(&j, data + from + used, to - from - used, NULL);
                from = to;
        }
        s = jsontext_end(&j);
        return (struct outcome){ .status = s,
                .offset = j.offset,
                .end = s == JSONTEXT_DONE ? j.end : 0,
                .error = s == JSONTEXT_INVALID ? j.error : NULL,
                .type = j.type };
}

static void same(const struct outcome *a, const struct outcome *b) {
        if (a->status != b->status || a->offset != b->offset || a->end != b->end || a->error != b->error ||
                a->type != b->type)
                abort();
}

/* An independent reading of UTF-8 validity: decode each code point, then judge it. */
static bool utf8_valid(const uint8_t *s, size_t n) {
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k;

                if (s[i] < 0x80)
                        k = 0;
                else if ((s[i] & 0xe0) == 0xc0)
                        k = 1;
                else if ((s[i] & 0xf0) == 0xe0)
                        k = 2;
                else if ((s[i] & 0xf8) == 0xf0)
                        k = 3;
                else
                        return false;
                cp = s[i] & (0x7f >> k);
                if (n - i <= k)
                        return false;
                for (size_t m = 1; m <= k; m++) {
                        if ((s[i + m] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + m] & 0x3f);
                }
                if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
                        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += k + 1;
        }
        return true;
}

/* An accepted object's members are each a valid string key and a valid value of the reported type. */
static void check_members(const struct jsontext_value *object) {
        struct jsontext_cursor c;
        struct jsontext_value key, value, again, first = { 0 };
        char first_plain[64];
        size_t first_len = 0;
        int first_r = -1, r;

        if (jsontext_cursor_init(&c, object) < 0)
                abort();
        while ((r = jsontext_object_next(&c, &key, &value)) > 0) {
                char plain[64];
                size_t len;
                int d;

                if (jsontext_validate(key.ptr, key.len, DEPTH, &again, NULL, NULL) < 0 ||
                        again.type != JSONTEXT_STRING || again.len != key.len)
                        abort();
                if (jsontext_validate(value.ptr, value.len, DEPTH, &again, NULL, NULL) < 0 ||
                        again.type != value.type || again.len != value.len)
                        abort();
                d = jsontext_string_decode(key.ptr, key.len, plain, sizeof(plain), &len);
                if (d < 0 && d != -ENOBUFS)
                        abort();
                if (d == 0 && strlen(plain) == len && !jsontext_string_eq(key.ptr, key.len, plain))
                        abort();
                /* Keys are equal exactly when they decode to the same bytes. */
                if (!first.ptr) {
                        first = key;
                        first_r = d;
                        memcpy(first_plain, plain, sizeof(plain));
                        first_len = len;
                } else if (d == 0 && first_r == 0 &&
                           jsontext_string_equal(first.ptr, first.len, key.ptr, key.len) !=
                                   (len == first_len && memcmp(plain, first_plain, len) == 0))
                        abort();
        }
        if (r < 0)
                abort();
}

/* Escape in chunks of at most chunk bytes: the pieces add up to escaped_len and make one valid string. */
static void check_escape(const uint8_t *data, size_t size, size_t chunk) {
        size_t want = jsontext_escaped_len((const char *)data, size), in = 0, o = 1, len;
        char *quoted = malloc(want + 2), *back = malloc(want + 1);
        struct jsontext_value v;

        if (!quoted || !back)
                abort();
        while (in < size) {
                size_t used, wrote;

                if (o - 1 + chunk > want)
                        chunk = want - (o - 1);
                jsontext_escape((const char *)data + in, size - in, quoted + o, chunk, &used, &wrote);
                if (used == 0 || wrote > chunk)
                        abort();
                in += used;
                o += wrote;
        }
        if (o - 1 != want)
                abort();
        quoted[0] = '"';
        quoted[o] = '"';
        if (jsontext_validate(quoted, o + 1, 0, &v, NULL, NULL) < 0 || v.type != JSONTEXT_STRING)
                abort();
        /* Valid UTF-8 comes back byte for byte. */
        if (jsontext_string_decode(quoted, o + 1, back, want + 1, &len) < 0)
                abort();
        if (utf8_valid(data, size) && (len != size || memcmp(back, data, size) != 0))
                abort();
        free(back);
        free(quoted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct outcome whole = run_pieces(data, size, NULL, 0), o;
        struct jsontext_value v;
        const char *error = NULL;
        size_t error_offset = 0, cuts[2];
        uint64_t h = 14695981039346656037ULL;
        int r;

        r = jsontext_validate((const char *)data, size, DEPTH, &v, &error, &error_offset);
        if ((r == 0) != (whole.status == JSONTEXT_DONE))
                abort();
        if (r < 0 && (error != whole.error || error_offset != whole.offset || error_offset > size))
                abort();

        /* Split points derived from the input: one split, then three pieces. */
        for (size_t i = 0; i < size; i++)
                h = (h ^ data[i]) * 1099511628211ULL;
        cuts[0] = (size_t)(h % (size + 1));
        o = run_pieces(data, size, cuts, 1);
        same(&o, &whole);
        cuts[0] = (size_t)((h >> 20) % (size + 1));
        cuts[1] = (size_t)((h >> 40) % (size + 1));
        if (cuts[0] > cuts[1]) {
                size_t t = cuts[0];

                cuts[0] = cuts[1];
                cuts[1] = t;
        }
        o = run_pieces(data, size, cuts, 2);
        same(&o, &whole);

        if (r == 0) {
                if (!jsonc_strict_accepts((const char *)data, size))
                        abort();
                if (v.ptr < (const char *)data || v.ptr + v.len > (const char *)data + size)
                        abort();
                if (v.type == JSONTEXT_OBJECT)
                        check_members(&v);
        }
        check_escape(data, size, JSONTEXT_ESCAPE_MIN + (size_t)(h % 64));
        return 0;
}
