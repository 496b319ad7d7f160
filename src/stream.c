/* SPDX-License-Identifier: MIT */
/* stream: a pure, incremental demultiplexer for the engine's attach stream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

void stream_demux_init(struct stream_demux *d, size_t max_total) {
        *d = (struct stream_demux){ .max_total = max_total };
}

static int begin_frame(struct stream_demux *d) {
        const uint8_t *h = d->header;
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
        struct stream_buffer *b;
        char *p;

        if (h[0] >= _STREAM_TYPE_MAX)
                return -EBADMSG;
        if (len > d->max_total - d->total)
                return -EFBIG;

        d->frame_type = (enum stream_type)h[0];
        d->frame_left = len;
        d->header_len = 0;
        if (len == 0)
                return 0;

        /* Grow by exactly this frame: the sum of the buffers never passes the cap. */
        b = &d->out[d->frame_type];
        p = realloc(b->data, b->len + len);
        if (!p)
                return -ENOMEM;
        b->data = p;
        d->total += len;
        return 0;
}

int stream_demux_feed(struct stream_demux *d, const void *buf, size_t len) {
        const uint8_t *p = buf;
        int r;

        while (len > 0) {
                if (d->frame_left == 0) {
                        size_t n = STREAM_HEADER_SIZE - d->header_len;

                        if (n > len)
                                n = len;
                        memcpy(d->header + d->header_len, p, n);
                        d->header_len += n;
                        p += n;
                        len -= n;
                        if (d->header_len < STREAM_HEADER_SIZE)
                                break;
                        r = begin_frame(d);
                        if (r < 0)
                                return r;
                } else {
                        struct stream_buffer *b = &d->out[d->frame_type];
                        size_t n = d->frame_left < len ? d->frame_left : len;

                        memcpy(b->data + b->len, p, n);
                        b->len += n;
                        d->frame_left -= (uint32_t)n;
                        p += n;
                        len -= n;
                }
        }
        return 0;
}

bool stream_demux_at_boundary(const struct stream_demux *d) {
        return d->header_len == 0 && d->frame_left == 0;
}

void stream_demux_done(struct stream_demux *d) {
        for (size_t i = 0; i < _STREAM_TYPE_MAX; i++) {
                free(d->out[i].data);
                d->out[i] = (struct stream_buffer){ 0 };
        }
}
