/* SPDX-License-Identifier: MIT */
/* fuzz-stream: the attach-stream demultiplexer, fed in chunks the input chooses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t held(const struct stream_demux *d) {
        size_t n = 0;

        for (size_t i = 0; i < _STREAM_TYPE_MAX; i++)
                n += d->out[i].len;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct stream_demux whole, split;
        size_t cap, chunk, off = 0;
        int rw, rs = 0;

        if (size < 2)
                return 0;
        cap = (size_t)data[0] * 16;
        chunk = (size_t)data[1] % 17 + 1;
        data += 2;
        size -= 2;

        stream_demux_init(&whole, cap);
        rw = stream_demux_feed(&whole, data, size);
        stream_demux_init(&split, cap);
        while (off < size && rs == 0) {
                size_t n = size - off < chunk ? size - off : chunk;

                rs = stream_demux_feed(&split, data + off, n);
                off += n;
        }
        /* Never more than the cap held, and the same verdict and output however the bytes arrive. */
        if (whole.total > cap || held(&whole) > cap || held(&split) > cap || rw != rs)
                abort();
        if (rw == 0)
                for (size_t i = 0; i < _STREAM_TYPE_MAX; i++)
                        if (whole.out[i].len != split.out[i].len ||
                                (whole.out[i].len &&
                                        memcmp(whole.out[i].data, split.out[i].data, whole.out[i].len)))
                                abort();
        stream_demux_done(&whole);
        stream_demux_done(&split);
        return 0;
}
