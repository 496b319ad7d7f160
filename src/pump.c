/* SPDX-License-Identifier: MIT */
/* pump: a run's attach stream: the payload in, the demultiplexed output out, until something ends it. */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "pump.h"

#define READ_CHUNK       65536u /* bytes moved per read from the engine */
#define READS_PER_WAKEUP 16     /* reads before the deadline and the client are looked at again */

int pump_init(struct pump *p, const struct pump_params *params) {
        *p = (struct pump){
                .stream = params->stream,
                .payload = params->payload,
                .payload_len = params->payload_len,
                .write_timeout = params->write_timeout,
                .hangup_fd = params->hangup_fd,
                .hangup_events = params->hangup_events,
                .sigfd = params->sigfd,
                .early = params->early,
                .settle = params->settle,
                .quiet = params->quiet,
        };
        stream_demux_init(&p->demux, params->max_output);
        body_watch_init(&p->watch);
        return 0;
}

static void close_stdin(struct pump *p) {
        if (!p->stdin_closed) {
                (void)docker_stream_shutdown_write(p->stream);
                p->stdin_closed = true;
        }
}

void pump_send_now(struct pump *p) {
        while (!p->stdin_closed && !p->write_timed_out) {
                size_t n = 0;
                int r = docker_stream_send(
                        p->stream, p->payload + p->payload_sent, p->payload_len - p->payload_sent, &n);

                if (r == -EAGAIN) {
                        usec_t now = now_usec();

                        /* The original's DOCKER_UNIX_SOCKET_WRITE_TIMEOUT: a write to the engine may block
                         * this long. Its stdin never half-sent to a runner: the run fails instead. */
                        if (p->started && p->blocked_since == 0)
                                p->blocked_since = now;
                        else if (p->started && now - p->blocked_since >= p->write_timeout)
                                p->write_timed_out = true;
                        return;
                }
                p->blocked_since = 0;
                if (r == 0)
                        p->payload_sent += n;
                /* A runner that exits without reading its stdin is not our error: its output says. */
                if (r < 0 || p->payload_sent == p->payload_len)
                        close_stdin(p);
        }
}

void pump_started(struct pump *p) {
        p->started = true;
        p->blocked_since = 0;
        pump_send_now(p); /* a payload still waiting starts its write timeout now */
}

/* Wait for the stream, the client and the signal; returns PUMP_COMPLETE to mean "go on". */
static enum pump_end wait_events(struct pump *p, usec_t deadline, bool *ret_readable) {
        struct pollfd fds[3] = {
                { .fd = docker_stream_fd(p->stream), .events = POLLIN },
                { .fd = p->hangup_events ? p->hangup_fd : -1, .events = p->hangup_events },
                { .fd = p->sigfd, .events = POLLIN },
        };
        int timeout = docker_stream_pending(p->stream) ? 0 : poll_timeout_ms(deadline);
        int r;

        /* While the payload waits for room, look again in time to notice the write timeout. */
        if (!p->stdin_closed && !p->write_timed_out) {
                fds[0].events |= POLLOUT;
                if (p->blocked_since > 0) {
                        usec_t until = p->blocked_since + p->write_timeout;
                        int t = poll_timeout_ms(until);

                        if (t < timeout)
                                timeout = t;
                }
        }
        *ret_readable = docker_stream_pending(p->stream);
        r = poll(fds, ELEMENTSOF(fds), timeout);
        if (r < 0 && errno != EINTR) {
                p->error = -errno;
                return PUMP_BROKEN;
        }
        if (r > 0 && fds[2].revents)
                return PUMP_STOPPED;
        if (r > 0 && fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
                return PUMP_CLIENT_GONE;
        /* Room for the payload, or time to notice it has waited for room too long. */
        if (!p->stdin_closed)
                pump_send_now(p);
        if (r > 0 && fds[0].revents & (POLLIN | POLLHUP | POLLERR))
                *ret_readable = true;
        return PUMP_COMPLETE;
}

/* Read what is there; PUMP_COMPLETE means "nothing more now". */
static enum pump_end receive(struct pump *p) {
        char buf[READ_CHUNK];

        for (int i = 0; i < READS_PER_WAKEUP; i++) {
                size_t n = 0;
                int r;

                r = docker_stream_recv(p->stream, buf, sizeof(buf), &n);
                if (r == -EAGAIN)
                        return PUMP_COMPLETE;
                /* Podman resets the attach connection of a container that exited with stdin unread: that
                 * is the stream's end, what came before it whole. */
                if (r == -ECONNRESET)
                        return stream_demux_at_boundary(&p->demux) ? PUMP_EOF : PUMP_TRUNCATED;
                if (r < 0) {
                        p->error = r;
                        return PUMP_BROKEN;
                }
                if (n == 0)
                        return stream_demux_at_boundary(&p->demux) ? PUMP_EOF : PUMP_TRUNCATED;
                p->last_bytes = now_usec();
                r = stream_demux_feed(&p->demux, buf, n);
                if (r == -EFBIG)
                        return PUMP_TOO_BIG;
                if (r == -EBADMSG)
                        return PUMP_BAD_FRAME;
                if (r < 0)
                        return PUMP_NOMEM;
                body_watch_feed(
                        &p->watch, p->demux.out[STREAM_STDOUT].data, p->demux.out[STREAM_STDOUT].len);
                if (p->early && p->watch.complete && p->settle_until == 0)
                        p->settle_until = now_usec() + p->settle;
        }
        return PUMP_COMPLETE;
}

enum pump_end pump_run(struct pump *p, usec_t deadline) {
        for (;;) {
                enum pump_end e;
                bool readable = false;
                usec_t until = deadline;

                /* The answer is whole: settling ends at its own time, or at the deadline, the answer kept.
                 */
                if (p->settle_until > 0) {
                        if (p->settle_until < until)
                                until = p->settle_until;
                        if (p->quiet > 0 && p->last_bytes + p->quiet < until)
                                until = p->last_bytes + p->quiet;
                        if (now_usec() >= until)
                                return PUMP_COMPLETE;
                } else if (now_usec() >= deadline)
                        return PUMP_DEADLINE;
                e = wait_events(p, until, &readable);
                if (e != PUMP_COMPLETE)
                        return e;
                if (p->write_timed_out)
                        return PUMP_WRITE_TIMEOUT;
                if (!readable)
                        continue;
                e = receive(p);
                if (e != PUMP_COMPLETE)
                        return e;
        }
}

const struct stream_buffer *pump_output(const struct pump *p, enum stream_type t) {
        return &p->demux.out[t];
}

char *pump_take_output(struct pump *p, enum stream_type t, size_t *ret_len) {
        char *data = TAKE_PTR(p->demux.out[t].data);

        *ret_len = p->demux.out[t].len;
        p->demux.out[t].len = 0;
        return data;
}

void pump_done(struct pump *p) {
        stream_demux_done(&p->demux);
}
