/* SPDX-License-Identifier: MIT */
/* fuzz-body: the request body and runner output checks on arbitrary bytes; the early answer's watch against
 * the whole-buffer checks, however the output is split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed buf to a watch in pieces cut at the given points (ascending, each at most size). */
static void watch_in_pieces(
        struct body_watch *w, const char *buf, size_t size, const size_t *cuts, size_t n) {
        body_watch_init(w);
        for (size_t i = 0; i < n; i++)
                body_watch_feed(w, buf, cuts[i]);
        body_watch_feed(w, buf, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const struct body_maxima max = {
                .execution_time_ms = 15000, .output_size = 100000, .memory = 1 << 30
        };
        struct body_request req;
        struct body_watch whole, split, bytewise;
        enum apierror e;
        char msg[256];
        size_t end, cuts[3];
        char *buf = malloc(size ? size : 1);

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (body_parse_request(buf, size, &max, &req, &e, msg, sizeof(msg)) == 0) {
                size_t n = strlen(req.image);
                struct jsontext_value v;

                if (n == 0 || n > BODY_IMAGE_MAX)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)req.image[i] <= 0x20 || (unsigned char)req.image[i] >= 0x7f)
                                abort();
                /* The payload is the client's own bytes: inside the body, and one JSON object by itself. */
                if (req.payload < buf || req.payload + req.payload_len > buf + size ||
                        jsontext_validate(
                                req.payload, req.payload_len, BODY_JSON_MAX_DEPTH, &v, NULL, NULL) < 0 ||
                        v.type != JSONTEXT_OBJECT)
                        abort();
                if (req.execution_time_ms > max.execution_time_ms || req.output_size > max.output_size ||
                        req.memory > max.memory)
                        abort();
        }

        /* The same bytes, fed whole, in three pieces cut where the input says, and byte by byte, must give
         * the same verdict and the same end: how the runner's writes were split never matters. */
        body_watch_init(&whole);
        body_watch_feed(&whole, buf, size);
        cuts[0] = size ? data[0] % (size + 1) : 0;
        cuts[1] = size > 1 ? cuts[0] + (data[1] % (size - cuts[0] + 1)) : cuts[0];
        cuts[2] = cuts[1] + (size - cuts[1]) / 2;
        watch_in_pieces(&split, buf, size, cuts, 3);
        body_watch_init(&bytewise);
        for (size_t i = 1; i <= size && size <= 4096; i++)
                body_watch_feed(&bytewise, buf, i);
        if (size > 4096)
                bytewise = whole;
        if (split.complete != whole.complete || split.failed != whole.failed ||
                (whole.complete && split.end != whole.end))
                abort();
        if (bytewise.complete != whole.complete || bytewise.failed != whole.failed ||
                (whole.complete && bytewise.end != whole.end))
                abort();

        /* All of stdout one object (the judgement at the exit) means the early answer is that same object.
         */
        if (body_check_runner_output(buf, size, &end, msg, sizeof(msg)) == 0) {
                if (!whole.complete || whole.end != end || end == 0 || end > size)
                        abort();
        }
        /* And back: what the watcher took for the whole answer is one object by the whole-buffer check. */
        if (whole.complete) {
                if (whole.end == 0 || whole.end > size ||
                        body_check_runner_output(buf, whole.end, &end, msg, sizeof(msg)) != 0 ||
                        end != whole.end)
                        abort();
        }
        free(buf);
        return 0;
}
