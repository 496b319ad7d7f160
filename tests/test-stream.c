/* SPDX-License-Identifier: MIT */
/* test-stream: the attach-stream demultiplexer, fed split at every byte boundary. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "stream.h"
#include "tap.h"

struct frame {
        uint8_t type;
        const char *data;
};

static size_t encode(const struct frame *frames, size_t n, uint8_t *out) {
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                uint32_t len = (uint32_t)strlen(frames[i].data);

                out[o++] = frames[i].type;
                out[o++] = 0;
                out[o++] = 0;
                out[o++] = 0;
                out[o++] = (uint8_t)(len >> 24);
                out[o++] = (uint8_t)(len >> 16);
                out[o++] = (uint8_t)(len >> 8);
                out[o++] = (uint8_t)len;
                memcpy(out + o, frames[i].data, len);
                o += len;
        }
        return o;
}

static const struct {
        const char *name;
        struct frame frames[4];
        size_t n_frames;
        size_t cap;
        int expect; /* the first error, or 0 */
        const char *stdout_, *stderr_, *stdin_;
} cases[] = {
        { "one stdout frame", { { 1, "{\"stdout\":\"hi\"}" } }, 1, 100, 0, "{\"stdout\":\"hi\"}", "", "" },
        { "stdout and stderr interleaved", { { 1, "ab" }, { 2, "err" }, { 1, "cd" } }, 3, 100, 0, "abcd",
                "err", "" },
        { "empty frame", { { 1, "" }, { 1, "x" } }, 2, 100, 0, "x", "", "" },
        { "stdin frame is kept apart", { { 0, "in" }, { 1, "out" } }, 2, 100, 0, "out", "", "in" },
        { "exactly at the cap", { { 1, "12345" }, { 2, "67890" } }, 2, 10, 0, "12345", "67890", "" },
        { "one byte past the cap", { { 1, "12345" }, { 2, "678901" } }, 2, 10, -EFBIG, NULL, NULL, NULL },
        { "one frame past the cap", { { 1, "12345678901" } }, 1, 10, -EFBIG, NULL, NULL, NULL },
        { "unknown stream type", { { 3, "x" } }, 1, 100, -EBADMSG, NULL, NULL, NULL },
        { "stream type 0xff", { { 0xff, "" } }, 1, 100, -EBADMSG, NULL, NULL, NULL },
};

static bool buffer_is(const struct stream_buffer *b, const char *s) {
        return b->len == strlen(s) && (b->len == 0 || memcmp(b->data, s, b->len) == 0);
}

/* Feed the encoded stream in two pieces split at offset. */
static void run_split(size_t i, const uint8_t *bytes, size_t len, size_t split) {
        struct stream_demux d;
        int r;

        stream_demux_init(&d, cases[i].cap);
        r = stream_demux_feed(&d, bytes, split);
        if (r == 0)
                r = stream_demux_feed(&d, bytes + split, len - split);
        CHECK(r == cases[i].expect, "%s (split %zu): got %d", cases[i].name, split, r);
        if (cases[i].expect == 0) {
                CHECK(stream_demux_at_boundary(&d), "%s: boundary at the end", cases[i].name);
                CHECK(buffer_is(&d.out[STREAM_STDOUT], cases[i].stdout_), "%s: stdout", cases[i].name);
                CHECK(buffer_is(&d.out[STREAM_STDERR], cases[i].stderr_), "%s: stderr", cases[i].name);
                CHECK(buffer_is(&d.out[STREAM_STDIN], cases[i].stdin_), "%s: stdin", cases[i].name);
        }
        CHECK(d.total <= cases[i].cap, "%s: held %zu bytes past the cap %zu", cases[i].name, d.total,
                cases[i].cap);
        stream_demux_done(&d);
}

static void test_byte_at_a_time(void) {
        struct frame frames[] = { { 1, "hello " }, { 2, "warn" }, { 1, "world" } };
        uint8_t bytes[128];
        size_t len = encode(frames, 3, bytes);
        struct stream_demux d;

        stream_demux_init(&d, 1000);
        for (size_t i = 0; i < len; i++) {
                CHECK(stream_demux_feed(&d, bytes + i, 1) == 0, "byte %zu", i);
                CHECK(stream_demux_at_boundary(&d) == (i == 13 || i == 25 || i == len - 1),
                        "boundary after byte %zu", i);
        }
        CHECK(buffer_is(&d.out[STREAM_STDOUT], "hello world"), "stdout byte by byte");
        CHECK(buffer_is(&d.out[STREAM_STDERR], "warn"), "stderr byte by byte");
        stream_demux_done(&d);
}

static void test_huge_declared_length(void) {
        /* A header announcing 4 GiB must be refused before anything is allocated for it. */
        uint8_t header[8] = { 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        struct stream_demux d;

        stream_demux_init(&d, 100000);
        CHECK(stream_demux_feed(&d, header, sizeof(header)) == -EFBIG, "4 GiB frame refused");
        CHECK(d.out[STREAM_STDOUT].data == NULL, "nothing allocated for it");
        stream_demux_done(&d);
}

static void test_truncated(void) {
        struct frame frames[] = { { 1, "abcdef" } };
        uint8_t bytes[32];
        size_t len = encode(frames, 1, bytes);
        struct stream_demux d;

        for (size_t cut = 1; cut < len; cut++) {
                stream_demux_init(&d, 100);
                CHECK(stream_demux_feed(&d, bytes, cut) == 0, "prefix %zu", cut);
                CHECK(!stream_demux_at_boundary(&d), "cut at %zu is not a boundary", cut);
                stream_demux_done(&d);
        }
}

int main(void) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t bytes[256];
                size_t len = encode(cases[i].frames, cases[i].n_frames, bytes);

                for (size_t split = 0; split <= len; split++)
                        run_split(i, bytes, len, split);
        }
        test_byte_at_a_time();
        test_huge_declared_length();
        test_truncated();
        return tap_finish("test-stream");
}
