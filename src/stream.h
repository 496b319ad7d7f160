/* SPDX-License-Identifier: MIT */
/* stream: a pure, incremental demultiplexer for the engine's attach stream. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_HEADER_SIZE 8

enum stream_type {
        STREAM_STDIN = 0,
        STREAM_STDOUT = 1,
        STREAM_STDERR = 2,
        _STREAM_TYPE_MAX,
};

struct stream_buffer {
        char *data;
        size_t len;
};

/*
 * Each frame is an 8-byte header (stream type, three zero bytes, big-endian
 * u32 length) and its payload. The sum of all payloads is capped: a frame
 * whose declared length would pass the cap is refused before any of it is
 * stored, and buffers grow only by what a frame brings, so the memory held
 * never exceeds the cap plus one header.
 */
struct stream_demux {
        size_t max_total;
        size_t total;
        uint8_t header[STREAM_HEADER_SIZE];
        size_t header_len;
        uint32_t frame_left;
        enum stream_type frame_type;
        struct stream_buffer out[_STREAM_TYPE_MAX];
};

void stream_demux_init(struct stream_demux *d, size_t max_total);

/*
 * Feed bytes read from the stream, split anywhere. Returns 0, -EFBIG when the
 * output passes the cap, -EBADMSG on an unknown stream type, or -ENOMEM.
 * After an error the demuxer must not be fed again.
 */
int stream_demux_feed(struct stream_demux *d, const void *buf, size_t len);

/* Whether the stream may end here: not inside a header or a frame. */
bool stream_demux_at_boundary(const struct stream_demux *d);

/* Free the buffers; accepts a zeroed or already freed demuxer. */
void stream_demux_done(struct stream_demux *d);
