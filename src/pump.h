/* SPDX-License-Identifier: MIT */
/* pump: a run's attach stream: the payload in, the demultiplexed output out, until something ends it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "body.h"
#include "docker.h"
#include "stream.h"
#include "util.h"

/* Why the pump stopped. */
enum pump_end {
        PUMP_COMPLETE,      /* stdout holds the runner's whole answer (early answer) */
        PUMP_EOF,           /* the stream ended at a frame boundary: the container is done */
        PUMP_TRUNCATED,     /* the stream ended inside a frame */
        PUMP_DEADLINE,      /* the run's deadline passed */
        PUMP_TOO_BIG,       /* the output passed its cap */
        PUMP_BAD_FRAME,     /* a frame of an unknown stream */
        PUMP_BROKEN,        /* reading the stream failed; see error */
        PUMP_CLIENT_GONE,   /* the client hung up */
        PUMP_STOPPED,       /* a stop signal arrived */
        PUMP_WRITE_TIMEOUT, /* the container took none of its payload for the write timeout */
        PUMP_NOMEM,
};

struct pump {
        struct docker_stream *stream; /* not owned */
        const char *payload;          /* not owned; written to the container's stdin, then stdin closed */
        size_t payload_len, payload_sent;
        usec_t write_timeout; /* how long the payload may wait for the stream to take more */
        usec_t blocked_since; /* when a send last found no room after the start, 0 while it moves */
        bool started;         /* the container runs: from now on a payload that does not move times out */
        bool write_timed_out;
        bool stdin_closed;
        int hangup_fd; /* the client's socket, -1 for none */
        short hangup_events;
        int sigfd;     /* -1 for none */
        bool early;    /* end as soon as stdout holds one whole JSON object, and the streams have settled */
        usec_t settle; /* how long after the answer is whole other frames may still come */
        usec_t settle_until; /* once the answer is whole: when the pump ends, at the latest */
        usec_t quiet;        /* ... or this long after the last bytes came, if sooner */
        usec_t last_bytes;   /* when bytes last came from the stream */
        struct stream_demux demux;
        struct body_watch watch;
        int error; /* with PUMP_BROKEN: the negative errno */
};

struct pump_params {
        struct docker_stream *stream;
        const char *payload;
        size_t payload_len;
        usec_t write_timeout;
        size_t max_output;
        int hangup_fd;
        short hangup_events;
        int sigfd;
        bool early;
        usec_t settle; /* PUMP_SETTLE_USEC unless a test says otherwise */
        usec_t quiet;  /* PUMP_QUIET_USEC, likewise */
};

/*
 * An engine copies a container's stdout and stderr pipes in two separate loops: a frame of stderr written
 * before the answer can reach us after it (seen with dockerd and with Podman). So the early answer waits,
 * once stdout holds the whole object, until the stream ends, or has been quiet for PUMP_QUIET_USEC, or
 * PUMP_SETTLE_USEC have passed, and anything that arrives meanwhile counts. Measured with dockerd 20.10 on
 * the stderr-first test image: 16 of 40 runs delivered the stderr frame after stdout, at most 0.22 ms
 * after it (1.5 ms with three busy loops on the two CPUs); the stream's end came 19-32 ms after stdout,
 * which a warm run no longer waits for.
 */
#define PUMP_SETTLE_USEC (100 * USEC_PER_MSEC)
#define PUMP_QUIET_USEC  (5 * USEC_PER_MSEC)

/* Set the pump up; 0 or -ENOMEM. pump_done() is needed either way. */
int pump_init(struct pump *p, const struct pump_params *params);

/* Send what the stream takes now without waiting; stdin is closed once all is sent (or the runner exited
 * without reading it: its output tells). */
void pump_send_now(struct pump *p);

/* The container has started: the write timeout applies from now on (before, the engine holds the payload).
 */
void pump_started(struct pump *p);

/* Move bytes until the stream ends, the deadline, the cap, the client, a signal or (early) the answer and
 * the settling after it: PUMP_COMPLETE then (PUMP_EOF when the stream ended while it settled). */
enum pump_end pump_run(struct pump *p, usec_t deadline);

/* The demultiplexed output so far, per stream. */
const struct stream_buffer *pump_output(const struct pump *p, enum stream_type t);

/* Take one stream's output over (the caller frees it); the pump keeps none of it. */
char *pump_take_output(struct pump *p, enum stream_type t, size_t *ret_len);

void pump_done(struct pump *p);
