/* SPDX-License-Identifier: MIT */
/* fuzz-body: the request body and runner output checks on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct body_request req;
        struct body_watch watch;
        enum apierror e;
        char msg[256];
        size_t end;
        char *buf = malloc(size ? size : 1);

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (body_parse_request(buf, size, &req, &e, msg, sizeof(msg)) == 0) {
                size_t n = strlen(req.image);

                if (n == 0 || n > BODY_IMAGE_MAX || !json_object_is_type(req.payload, json_type_object))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char)req.image[i] <= 0x20 || (unsigned char)req.image[i] >= 0x7f)
                                abort();
                json_object_put(req.root);
        }
        if (body_check_runner_output(buf, size, &end, msg, sizeof(msg)) == 0 && (end == 0 || end > size))
                abort();
        /* Fed in two pieces, the watch must agree with the whole-buffer check when it completes. */
        if (body_watch_init(&watch) == 0) {
                body_watch_feed(&watch, buf, size / 2);
                body_watch_feed(&watch, buf, size);
                if (watch.complete && body_check_runner_output(buf, size, &end, msg, sizeof(msg)) == 0 &&
                        end > size)
                        abort();
                body_watch_done(&watch);
        }
        free(buf);
        return 0;
}
