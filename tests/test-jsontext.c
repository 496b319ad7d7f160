/* SPDX-License-Identifier: MIT */
/* test-jsontext: the strict validator on a table of documents fed at every split; the string helpers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "jsontext.h"
#include "jsontext-cases.h"
#include "tap.h"
#include "util.h"

#define DEPTH 128

/* Everything a validation ends with; two ways of feeding the same bytes must agree on all of it. */
struct outcome {
        enum jsontext_status status;
        size_t offset;  /* the error's offset, or the bytes consumed */
        size_t end;     /* past the value, when DONE */
        size_t done_at; /* absolute offset reported by the first feed that said DONE, or SIZE_MAX */
        const char *error;
        enum jsontext_type type;
};

/* Feed doc in pieces ending at cuts[0..n-1] (then the rest), going on past DONE to the end of input. */
static struct outcome run_pieces(const char *doc, size_t len, const size_t *cuts, size_t n, unsigned depth) {
        struct outcome o = { .done_at = SIZE_MAX };
        struct jsontext j;
        size_t from = 0;
        enum jsontext_status s = JSONTEXT_MORE;

        jsontext_init(&j, depth);
        for (size_t k = 0; k <= n && s != JSONTEXT_INVALID; k++) {
                size_t to = k < n ? cuts[k] : len, used;

                s = jsontext_feed(&j, doc + from, to - from, &used);
                if (s == JSONTEXT_DONE && o.done_at == SIZE_MAX) {
                        o.done_at = from + used;
                        CHECK(j.end == from + used, "end %zu is where the feed stopped (%zu)", j.end,
                                from + used);
                        if (used < to - from)
                                s = jsontext_feed(&j, doc + from + used, to - from - used, NULL);
                }
                from = to;
        }
        o.status = jsontext_end(&j);
        o.offset = j.offset;
        o.end = o.status == JSONTEXT_DONE ? j.end : 0;
        o.error = o.status == JSONTEXT_INVALID ? j.error : NULL;
        o.type = j.type;
        return o;
}

static bool outcome_eq(const struct outcome *a, const struct outcome *b) {
        return a->status == b->status && a->offset == b->offset && a->end == b->end &&
               a->done_at == b->done_at && a->error == b->error && a->type == b->type;
}

/* The whole feed against validate(), then every split in two and byte by byte against the whole feed. */
static void check_splits(const char *name, const char *doc, size_t len, unsigned depth) {
        struct outcome whole = run_pieces(doc, len, NULL, 0, depth), o;
        size_t *cuts = malloc((len + 1) * sizeof(size_t));
        struct jsontext_value v;
        const char *error = NULL;
        size_t error_offset = 0;
        int r = jsontext_validate(doc, len, depth, &v, &error, &error_offset);

        CHECK((r == 0) == (whole.status == JSONTEXT_DONE), "%s: validate %d, feed %d", name, r,
                whole.status);
        if (r == 0)
                CHECK(v.ptr == doc + whole.end - v.len && v.type == whole.type, "%s: the value's span",
                        name);
        else
                CHECK(error == whole.error && error_offset == whole.offset, "%s: validate's error", name);
        if (!cuts)
                abort();
        for (size_t split = 0; split <= len; split++) {
                cuts[0] = split;
                o = run_pieces(doc, len, cuts, 1, depth);
                CHECK(outcome_eq(&o, &whole), "%s: split at %zu: status %d offset %zu, whole %d offset %zu",
                        name, split, o.status, o.offset, whole.status, whole.offset);
        }
        for (size_t k = 0; k < len; k++)
                cuts[k] = k;
        o = run_pieces(doc, len, cuts, len, depth);
        CHECK(outcome_eq(&o, &whole), "%s: byte by byte: status %d offset %zu, whole %d offset %zu", name,
                o.status, o.offset, whole.status, whole.offset);
        free(cuts);
}

static void test_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(jsontext_cases); i++) {
                const struct jsontext_case *t = &jsontext_cases[i];
                const char *error = NULL;
                size_t offset = SIZE_MAX;
                int r = jsontext_validate(t->doc, t->len, DEPTH, NULL, &error, &offset);

                CHECK((r == 0) == t->valid, "%s: expected %s, got %d (%s at %zu)", t->name,
                        t->valid ? "valid" : "invalid", r, error ? error : "-", offset);
                if (!t->valid && r < 0) {
                        CHECK(error && *error, "%s: a message", t->name);
                        CHECK(offset <= t->len, "%s: offset %zu inside the document", t->name, offset);
                        if (t->error_offset != SIZE_MAX)
                                CHECK(offset == t->error_offset, "%s: error at %zu, expected %zu (%s)",
                                        t->name, offset, t->error_offset, error);
                }
                check_splits(t->name, t->doc, t->len, DEPTH);
        }
}

/* levels of '[' (or '{"a":' where object is set) around 0, then the closers. */
static char *nest(unsigned levels, bool mixed, size_t *ret_len) {
        char *s = malloc(levels * 6 + 2), *p = s;

        if (!s)
                abort();
        for (unsigned k = 0; k < levels; k++) {
                if (mixed && k % 2) {
                        memcpy(p, "{\"a\":", 5);
                        p += 5;
                } else
                        *p++ = '[';
        }
        *p++ = '0';
        for (unsigned k = levels; k-- > 0;)
                *p++ = mixed && k % 2 ? '}' : ']';
        *ret_len = (size_t)(p - s);
        return s;
}

static void test_depth(void) {
        static const struct {
                unsigned levels, max;
                bool mixed, valid;
        } cases[] = {
                { 128, 128, false, true }, { 129, 128, false, false }, { 128, 128, true, true },
                { 129, 128, true, false }, { 1, 1, false, true }, { 2, 1, false, false },
                { 0, 0, false, true }, { 1, 0, false, false }, { 1024, 1024, true, true },
                { 1025, 1024, true, false },
                { 1025, 5000, false, false }, /* clamped to JSONTEXT_DEPTH_MAX */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t len;
                _cleanup_free_ char *doc = nest(cases[i].levels, cases[i].mixed, &len);
                const char *error = NULL;
                size_t offset = 0;
                int r = jsontext_validate(doc, len, cases[i].max, NULL, &error, &offset);

                CHECK((r == 0) == cases[i].valid, "depth %u, max %u: %d", cases[i].levels, cases[i].max, r);
                if (!cases[i].valid)
                        CHECK(r < 0 && strstr(error, "maximum depth"), "depth %u: the message says so: %s",
                                cases[i].levels, error ? error : "-");
                if (len < 1000)
                        check_splits("nesting", doc, len, cases[i].max);
        }
}

static void test_incremental(void) {
        struct jsontext j;
        size_t used = 99;
        const char *obj = "{\"a\":[1,2]}";

        /* The object is answered for at its closing brace, whatever follows. */
        jsontext_init(&j, DEPTH);
        CHECK(jsontext_feed(&j, "{\"a\":[1,2]}garbage", 18, &used) == JSONTEXT_DONE && used == 11,
                "done at the brace, used %zu", used);
        CHECK(j.type == JSONTEXT_OBJECT && j.start == 0 && j.end == 11, "object 0..%zu", j.end);
        CHECK(jsontext_feed(&j, "garbage", 7, &used) == JSONTEXT_INVALID && used == 0 && j.offset == 11,
                "then the garbage is refused at %zu", j.offset);
        CHECK(jsontext_feed(&j, " ", 1, &used) == JSONTEXT_INVALID && used == 0, "and stays refused");
        CHECK(jsontext_end(&j) == JSONTEXT_INVALID, "to the end");

        jsontext_init(&j, DEPTH);
        for (size_t i = 0; i < strlen(obj); i++) {
                enum jsontext_status s = jsontext_feed(&j, obj + i, 1, &used);

                CHECK(s == (i + 1 == strlen(obj) ? JSONTEXT_DONE : JSONTEXT_MORE) && used == 1,
                        "byte %zu: %d used %zu", i, s, used);
        }
        CHECK(jsontext_feed(&j, " \n\t\r", 4, &used) == JSONTEXT_DONE && used == 4, "trailing whitespace");
        CHECK(jsontext_feed(&j, NULL, 0, &used) == JSONTEXT_DONE && used == 0, "an empty feed");
        CHECK(jsontext_end(&j) == JSONTEXT_DONE && j.end == 11 && j.offset == 15, "done, end %zu", j.end);

        /* A top-level number needs what follows it. */
        jsontext_init(&j, DEPTH);
        CHECK(jsontext_feed(&j, "  12", 4, &used) == JSONTEXT_MORE && used == 4, "12 is not over yet");
        CHECK(j.type == JSONTEXT_NUMBER && j.start == 2, "but it is a number from 2");
        CHECK(jsontext_feed(&j, "3 ", 2, &used) == JSONTEXT_DONE && used == 1 && j.end == 5,
                "123 ends at %zu", j.end);
        jsontext_init(&j, DEPTH);
        CHECK(jsontext_feed(&j, "-0.5e3", 6, &used) == JSONTEXT_MORE, "-0.5e3 fed");
        CHECK(jsontext_end(&j) == JSONTEXT_DONE && j.end == 6, "ended by the end of input");
        jsontext_init(&j, DEPTH);
        CHECK(jsontext_feed(&j, "1", 1, &used) == JSONTEXT_MORE, "1 fed");
        CHECK(jsontext_feed(&j, " ", 1, &used) == JSONTEXT_DONE && used == 0 && j.end == 1,
                "ended by the next feed's first byte, which it leaves");
        jsontext_init(&j, DEPTH);
        CHECK(jsontext_feed(&j, "1e", 2, &used) == JSONTEXT_MORE, "1e fed");
        CHECK(jsontext_end(&j) == JSONTEXT_INVALID && j.offset == 2, "1e is not a number");

        /* Types of the top-level value. */
        static const struct {
                const char *doc;
                enum jsontext_type type;
        } types[] = {
                { " {}", JSONTEXT_OBJECT },
                { "[{}]", JSONTEXT_ARRAY },
                { "\"{\"", JSONTEXT_STRING },
                { "-1", JSONTEXT_NUMBER },
                { "true", JSONTEXT_TRUE },
                { "false", JSONTEXT_FALSE },
                { "null", JSONTEXT_NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                struct jsontext_value v;

                jsontext_init(&j, DEPTH);
                CHECK(j.type == JSONTEXT_NONE, "no type before the value");
                jsontext_feed(&j, types[i].doc, 1, NULL);
                CHECK(j.type == types[i].type || types[i].doc[0] == ' ', "%s: type from the first byte",
                        types[i].doc);
                CHECK(jsontext_validate(types[i].doc, strlen(types[i].doc), DEPTH, &v, NULL, NULL) == 0 &&
                                v.type == types[i].type,
                        "%s: type %d", types[i].doc, v.type);
        }

        /* A state copied mid-document goes on independently. */
        struct jsontext a, b;
        jsontext_init(&a, DEPTH);
        jsontext_feed(&a, "[\"\xe2\x82", 4, NULL);
        b = a;
        CHECK(jsontext_feed(&a, "\xac\"]", 3, NULL) == JSONTEXT_DONE, "the euro sign completed");
        CHECK(jsontext_feed(&b, "\"]", 2, NULL) == JSONTEXT_INVALID && b.offset == 4, "the copy cut short");
}

static void test_object(void) {
        const char *doc =
                " { \"image\" : \"a\\\"b\", \"\\u0069mage\":{\"x\":\"}\"} ,\"payload\":"
                "{\"n\":123456789012345678901234567890, \"s\":[\"]\",{}]},\"e\":\"\",\"f\":-0.5e10 ,"
                "\"t\":true,\"z\":null,\"\":false } ";
        static const struct {
                const char *key, *value;
                enum jsontext_type type;
        } members[] = {
                { "\"image\"", "\"a\\\"b\"", JSONTEXT_STRING },
                { "\"\\u0069mage\"", "{\"x\":\"}\"}", JSONTEXT_OBJECT },
                { "\"payload\"", "{\"n\":123456789012345678901234567890, \"s\":[\"]\",{}]}",
                        JSONTEXT_OBJECT },
                { "\"e\"", "\"\"", JSONTEXT_STRING },
                { "\"f\"", "-0.5e10", JSONTEXT_NUMBER },
                { "\"t\"", "true", JSONTEXT_TRUE },
                { "\"z\"", "null", JSONTEXT_NULL },
                { "\"\"", "false", JSONTEXT_FALSE },
        };
        struct jsontext_value v, key, value;
        struct jsontext_cursor c;
        size_t n = 0;
        int r;

        CHECK(jsontext_validate(doc, strlen(doc), DEPTH, &v, NULL, NULL) == 0, "the object is valid");
        CHECK(v.type == JSONTEXT_OBJECT && v.ptr == doc + 1 && v.len == strlen(doc) - 2, "its span");
        CHECK(jsontext_cursor_init(&c, &v) == 0, "a cursor on it");
        while ((r = jsontext_object_next(&c, &key, &value)) > 0) {
                if (n >= ELEMENTSOF(members))
                        break;
                CHECK(key.len == strlen(members[n].key) && memcmp(key.ptr, members[n].key, key.len) == 0,
                        "member %zu: key %.*s", n, (int)key.len, key.ptr);
                CHECK(value.len == strlen(members[n].value) &&
                                memcmp(value.ptr, members[n].value, value.len) == 0,
                        "member %zu: value %.*s", n, (int)value.len, value.ptr);
                CHECK(value.type == members[n].type && key.type == JSONTEXT_STRING, "member %zu: types", n);
                n++;
        }
        CHECK(r == 0 && n == ELEMENTSOF(members), "%zu members, then %d", n, r);
        CHECK(jsontext_object_next(&c, &key, &value) == 0, "the end stays the end");

        /* The first and second keys are the same name: the caller can refuse the duplicate. */
        struct jsontext_value first;
        jsontext_cursor_init(&c, &v);
        jsontext_object_next(&c, &first, &value);
        CHECK(jsontext_string_eq(first.ptr, first.len, "image"), "\"image\" is image");
        jsontext_object_next(&c, &key, &value);
        CHECK(jsontext_string_eq(key.ptr, key.len, "image"), "\"\\u0069mage\" is image");
        CHECK(jsontext_string_equal(first.ptr, first.len, key.ptr, key.len), "the two keys are equal");
        jsontext_object_next(&c, &key, &value);
        CHECK(!jsontext_string_equal(first.ptr, first.len, key.ptr, key.len), "not the third");

        CHECK(jsontext_validate("{}", 2, DEPTH, &v, NULL, NULL) == 0 && jsontext_cursor_init(&c, &v) == 0 &&
                        jsontext_object_next(&c, &key, &value) == 0,
                "{} has no members");
        CHECK(jsontext_validate(" { } ", 5, DEPTH, &v, NULL, NULL) == 0 &&
                        jsontext_cursor_init(&c, &v) == 0 && jsontext_object_next(&c, &key, &value) == 0,
                "{ } has no members");
        CHECK(jsontext_validate("[1]", 3, DEPTH, &v, NULL, NULL) == 0 &&
                        jsontext_cursor_init(&c, &v) == -EINVAL,
                "no cursor on an array");

        /* Bytes that are not a valid object are reported, never read past. */
        static const char *const broken[] = { "{\"a\"", "{\"a\":", "{\"a\":1 \"b\":2}", "{\"a\":[1,2}",
                "{,\"a\":1}", "{\"a\":tru}", "{\"a\":\"x}", "{\"a\" 1}", "{\"a\":-", "{\"a\":1,",
                "{\"a\":1,}" };
        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                struct jsontext_value b = { broken[i], strlen(broken[i]), JSONTEXT_OBJECT };
                int k = 0;

                CHECK(jsontext_cursor_init(&c, &b) == 0, "%s: cursor", broken[i]);
                do
                        r = jsontext_object_next(&c, &key, &value);
                while (r > 0 && ++k < 10);
                CHECK(r == -EBADMSG || (r == 0 && strchr(broken[i], '}')), "%s: %d", broken[i], r);
        }
}

static void test_string_eq(void) {
        static const struct {
                const char *span, *plain;
                bool eq;
        } cases[] = {
                { "\"image\"", "image", true },
                { "\"\\u0069mage\"", "image", true },
                { "\"\\u0069\\u006D\\u0061\\u0067\\u0065\"", "image", true },
                { "\"imag\"", "image", false },
                { "\"images\"", "image", false },
                { "\"Image\"", "image", false },
                { "\"\"", "", true },
                { "\"a\"", "", false },
                { "\"\"", "a", false },
                { "\"a\\u0000\"", "a", false },
                { "\"caf\xc3\xa9\"", "caf\xc3\xa9", true },
                { "\"caf\\u00e9\"", "caf\xc3\xa9", true },
                { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", true },
                { "\"\\/\\\"\\\\\\b\\f\\n\\r\\t\"", "/\"\\\b\f\n\r\t", true },
                { "\"a\"", "\"a\"", false },
                { "image", "image", false },
                { "\"image", "image", false },
                { "\"image\"x", "image", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(jsontext_string_eq(cases[i].span, strlen(cases[i].span), cases[i].plain) ==
                                cases[i].eq,
                        "%s vs %s", cases[i].span, cases[i].plain);

        static const struct {
                const char *a, *b;
                bool equal;
        } pairs[] = {
                { "\"image\"", "\"image\"", true },
                { "\"image\"", "\"\\u0069mage\"", true },
                { "\"\\u0069mage\"", "\"\\u0069\\u006d\\u0061\\u0067\\u0065\"", true },
                { "\"image\"", "\"imag\"", false },
                { "\"\"", "\"\"", true },
                { "\"\"", "\"\\u0000\"", false },
                { "\"\\u0000\"", "\"\\u0000\"", true },
                { "\"caf\xc3\xa9\"", "\"caf\\u00e9\"", true },
                { "\"\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00\"", true },
                { "\"\\/\"", "\"/\"", true },
                { "\"\\n\"", "\"\\u000a\"", true },
                { "\"\\n\"", "\"n\"", false },
                { "\"a\"", "a", false },
                { "\"a", "\"a", false },
                { "\"a\"", "\"a\"x", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                size_t la = strlen(pairs[i].a), lb = strlen(pairs[i].b);

                CHECK(jsontext_string_equal(pairs[i].a, la, pairs[i].b, lb) == pairs[i].equal, "%s vs %s",
                        pairs[i].a, pairs[i].b);
                CHECK(jsontext_string_equal(pairs[i].b, lb, pairs[i].a, la) == pairs[i].equal, "%s vs %s",
                        pairs[i].b, pairs[i].a);
        }
}

static void test_string_decode(void) {
        static const struct {
                const char *span;
                const char *out;
                size_t out_len;
                int r;
        } cases[] = {
                { "\"abc\"", "abc", 3, 0 },
                { "\"\"", "", 0, 0 },
                { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8, 0 },
                { "\"a\\u0000b\"", "a\0b", 3, 0 },
                { "\"\\u00e9\\u20AC\"", "\xc3\xa9\xe2\x82\xac", 5, 0 },
                { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4, 0 },
                { "\"\\uD83D\\uDE00x\"", "\xf0\x9f\x98\x80x", 5, 0 },
                { "\"\\ud800\"", "\xef\xbf\xbd", 3, 0 },
                { "\"\\udc00\"", "\xef\xbf\xbd", 3, 0 },
                { "\"\\ud800x\"", "\xef\xbf\xbdx", 4, 0 },
                { "\"\\ud800\\u0041\"",
                        "\xef\xbf\xbd"
                        "A",
                        4, 0 },
                { "\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80", 7, 0 },
                { "\"\\u0080\\u07ff\\u0800\\uffff\"", "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 10, 0 },
                { "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4, 0 },
                { "\"raw \xf0\x9f\x98\x80\"", "raw \xf0\x9f\x98\x80", 8, 0 },
                { "abc", NULL, 0, -EBADMSG },
                { "\"abc", NULL, 0, -EBADMSG },
                { "\"a\"b\"", NULL, 0, -EBADMSG },
                { "\"\\x\"", NULL, 0, -EBADMSG },
                { "\"\\u12\"", NULL, 0, -EBADMSG },
                { "\"", NULL, 0, -EBADMSG },
        };
        char out[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t len = 999;
                int r = jsontext_string_decode(cases[i].span, strlen(cases[i].span), out, sizeof(out), &len);

                CHECK(r == cases[i].r, "%s: %d", cases[i].span, r);
                if (r == 0 && cases[i].r == 0)
                        CHECK(len == cases[i].out_len && memcmp(out, cases[i].out, len) == 0 &&
                                        out[len] == '\0',
                                "%s: decoded to %zu bytes", cases[i].span, len);
                if (r < 0)
                        CHECK(len == 999, "%s: *ret_len untouched", cases[i].span);
                if (cases[i].r == 0) {
                        /* Exactly the length and its NUL fit; one byte less does not. */
                        CHECK(jsontext_string_decode(cases[i].span, strlen(cases[i].span), out,
                                      cases[i].out_len + 1, &len) == 0,
                                "%s: fits in %zu", cases[i].span, cases[i].out_len + 1);
                        CHECK(jsontext_string_decode(cases[i].span, strlen(cases[i].span), out,
                                      cases[i].out_len, &len) == -ENOBUFS,
                                "%s: not in %zu", cases[i].span, cases[i].out_len);
                }
        }
}

/* Escape all of s with an output buffer of size bytes at a time; check each chunk is whole escapes. */
static char *escape_chunked(const char *s, size_t n, size_t size, size_t *ret_len) {
        size_t cap = jsontext_escaped_len(s, n), in = 0, o = 0, calls = 0;
        char *out = malloc(cap + 1), *chunk = malloc(size + 2);

        if (!out || !chunk)
                abort();
        while (in < n && calls++ <= n) {
                size_t used, wrote;

                jsontext_escape(s + in, n - in, chunk + 1, size, &used, &wrote);
                CHECK(wrote <= size && used <= n - in && (used > 0 || size < JSONTEXT_ESCAPE_MIN),
                        "size %zu: wrote %zu, used %zu", size, wrote, used);
                if (used == 0)
                        break;
                /* A chunk on its own between quotes is a valid string: no escape or character was split. */
                chunk[0] = '"';
                chunk[wrote + 1] = '"';
                CHECK(jsontext_validate(chunk, wrote + 2, 0, NULL, NULL, NULL) == 0, "size %zu: chunk %.*s",
                        size, (int)wrote, chunk + 1);
                CHECK(o + wrote <= cap, "size %zu: no more than escaped_len", size);
                if (o + wrote > cap)
                        break;
                memcpy(out + o, chunk + 1, wrote);
                o += wrote;
                in += used;
        }
        free(chunk);
        *ret_len = o;
        return out;
}

static void test_escape(void) {
        static const struct {
                const char *in;
                size_t in_len;
                const char *out;
        } cases[] = {
#define E(in, out) { in, sizeof(in) - 1, out }
                E("", ""),
                E("plain text", "plain text"),
                E("a\0b", "a\\u0000b"),
                E("\0\0", "\\u0000\\u0000"),
                E("\"quoted\" \\back\\", "\\\"quoted\\\" \\\\back\\\\"),
                E("\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
                E("\x01\x1f\x7f", "\\u0001\\u001f\x7f"),
                E("/", "/"),
                E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                E("\xff", "\xef\xbf\xbd"),
                E("\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd"),
                E("\xc3", "\xef\xbf\xbd"),
                E("\xc3"
                  "a",
                        "\xef\xbf\xbd"
                        "a"),
                E("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"),
                E("\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd"),
                E("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
                E("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
                E("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),
                E("\xef\xbf\xbd", "\xef\xbf\xbd"),
                E("x\xe9y", "x\xef\xbf\xbdy"),
                E("Traceback\n  File \"<stdin>\", line 1\n\0\xff",
                        "Traceback\\n  File \\\"<stdin>\\\", line 1\\n\\u0000\xef\xbf\xbd"),
#undef E
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t want = strlen(cases[i].out), len;

                CHECK(jsontext_escaped_len(cases[i].in, cases[i].in_len) == want,
                        "case %zu: escaped_len %zu", i, jsontext_escaped_len(cases[i].in, cases[i].in_len));
                for (size_t size = 1; size <= want + 8; size++) {
                        _cleanup_free_ char *out = escape_chunked(cases[i].in, cases[i].in_len, size, &len);

                        if (size >= JSONTEXT_ESCAPE_MIN)
                                CHECK(len == want && memcmp(out, cases[i].out, len) == 0,
                                        "case %zu size %zu: %.*s", i, size, (int)len, out);
                }
        }

        /* Tiny outputs: nothing that does not fit is written, nothing is cut. */
        char out[8];
        size_t in, wrote;
        memset(out, 'X', sizeof(out));
        jsontext_escape("\0", 1, out, 5, &in, &wrote);
        CHECK(in == 0 && wrote == 0 && out[0] == 'X', "\\u0000 does not fit in 5");
        jsontext_escape("ab\0", 3, out, 5, &in, &wrote);
        CHECK(in == 2 && wrote == 2 && memcmp(out, "ab", 2) == 0 && out[2] == 'X',
                "ab, then stop before NUL");
        jsontext_escape("\xe2\x82\xac", 3, out, 2, &in, &wrote);
        CHECK(in == 0 && wrote == 0, "a 3-byte character does not fit in 2");
        jsontext_escape("abc", 3, out, 0, &in, &wrote);
        CHECK(in == 0 && wrote == 0, "nothing fits in 0");

        /* A megabyte of every byte value, NULs and invalid UTF-8 included, in bounded chunks. */
        size_t n = 1024 * 1024, len;
        char *big = malloc(n);
        uint32_t x = 12345;
        if (!big)
                abort();
        for (size_t k = 0; k < n; k++) {
                x = x * 1103515245 + 12345;
                big[k] = (char)(x >> 16);
        }
        size_t want = jsontext_escaped_len(big, n);
        char *out1 = escape_chunked(big, n, 4096, &len);
        CHECK(len == want, "1 MiB of noise: %zu bytes escaped, escaped_len %zu", len, want);
        char *quoted = malloc(len + 2);
        if (!quoted)
                abort();
        quoted[0] = '"';
        memcpy(quoted + 1, out1, len);
        quoted[len + 1] = '"';
        CHECK(jsontext_validate(quoted, len + 2, 0, NULL, NULL, NULL) == 0, "and valid as one JSON string");
        free(quoted);
        free(out1);
        free(big);
}

static double ms_since(const struct timespec *t0) {
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_speed(void) {
        /* 2 MiB of the runner's kind of answer: strings with escapes and non-ASCII, numbers, nesting. */
        static const char item[] =
                "{\"stdout\":\"hello w\\u00f6rld \xe2\x82\xac\\n\",\"n\":[1,-2.5e3,true,null],"
                "\"deep\":{\"a\":{\"b\":\"caf\xc3\xa9\"}}},\n";
        size_t n = 2 * 1024 * 1024, len = 0;
        char *doc = malloc(n + 64);
        struct timespec t0;
        double best = 1e9;

        if (!doc)
                abort();
        doc[len++] = '[';
        while (len + sizeof(item) < n) {
                memcpy(doc + len, item, sizeof(item) - 1);
                len += sizeof(item) - 1;
        }
        memcpy(doc + len, "{}]", 3);
        len += 3;
        for (int k = 0; k < 5; k++) {
                clock_gettime(CLOCK_MONOTONIC, &t0);
                CHECK(jsontext_validate(doc, len, DEPTH, NULL, NULL, NULL) == 0,
                        "the 2 MiB document is valid");
                if (ms_since(&t0) < best)
                        best = ms_since(&t0);
        }
        printf("# validated %zu bytes in %.2f ms\n", len, best);
        CHECK(best < 100, "2 MiB in %.2f ms", best);
        free(doc);
}

int main(void) {
        test_table();
        test_depth();
        test_incremental();
        test_object();
        test_string_eq();
        test_string_decode();
        test_escape();
        test_speed();
        return tap_finish("test-jsontext");
}
