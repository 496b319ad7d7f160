/* SPDX-License-Identifier: MIT */
/* run: one request from its first byte to its answer: routes, the container's life, errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include <json-c/json.h>

#include "apierror.h"
#include "body.h"
#include "config.h"
#include "conn.h"
#include "container.h"
#include "docker.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "response.h"
#include "run.h"
#include "stream.h"
#include "util.h"

#define REQUEST_ID_BYTES 16
#define READ_CHUNK       65536u /* bytes moved per read from the engine or the client */
#define READS_PER_WAKEUP 16     /* reads before the deadline is looked at again */

enum outcome {
        OUTCOME_ANSWER,      /* an answer (success or error) is ready */
        OUTCOME_CLIENT_GONE, /* nobody to answer */
        OUTCOME_INTERRUPTED, /* a stop signal arrived */
};

struct request {
        struct conn *conn;
        struct config config;
        bool config_ok;
        char config_error[512];
        int sigfd;

        char request_id[REQUEST_ID_BYTES * 2 + 1];
        usec_t t0;

        char *buf;
        size_t len;
        struct http_request http;
        char method[17];
        char path[256];

        /* The answer: a body on success, an error code and message otherwise. */
        int status;
        bool failed;
        enum apierror error;
        char *message;
        char *body;
        size_t body_len;

        json_object *request_json;
        const char *image;
        char *container_id;
        bool container_running;
        bool warm;       /* the container came from the pool */
        usec_t deadline; /* the run's end, from the start or the claim */
        struct log_record log;
};

static void fail(struct request *q, enum apierror e, const char *fmt, ...) _printf_(3, 4);
static void fail(struct request *q, enum apierror e, const char *fmt, ...) {
        va_list ap;

        free(q->message);
        q->message = NULL;
        va_start(ap, fmt);
        if (vasprintf(&q->message, fmt, ap) < 0)
                q->message = NULL;
        va_end(ap);
        q->failed = true;
        q->error = e;
        q->status = apierror_status(e);
}

/* Success with a body the request now owns. */
static void succeed(struct request *q, char *body, size_t len) {
        free(q->body);
        q->body = body;
        q->body_len = len;
        q->failed = false;
        q->status = 200;
}

static int succeed_json(struct request *q, json_object *o, int flags) {
        const char *s;
        size_t len;
        char *copy;

        s = json_object_to_json_string_length(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, len + 1);
        succeed(q, copy, len);
        return 0;
}

static void make_request_id(char *buf) {
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[REQUEST_ID_BYTES] = { 0 };
        usec_t t = now_usec();

        /* Never blocks this late in boot; on failure an id from the clock still correlates logs. */
        if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw))
                for (size_t i = 0; i < sizeof(raw); i++)
                        raw[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)getpid();
        for (size_t i = 0; i < sizeof(raw); i++) {
                buf[2 * i] = hex[raw[i] >> 4];
                buf[2 * i + 1] = hex[raw[i] & 15];
        }
        buf[2 * sizeof(raw)] = '\0';
}

/* Compare without an early exit, so the time taken says nothing about where a guess went wrong. */
static bool token_equal(const char *given, size_t given_len, const char *expected) {
        size_t n = strlen(expected);
        unsigned char diff = given_len != n;

        for (size_t i = 0; i < n; i++)
                diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
        return diff == 0;
}

/* SERVER_LISTEN_* are the socket unit's business now; where given they must match the socket we were handed.
 */
static int check_listen_consistency(struct request *q) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        char host[INET6_ADDRSTRLEN] = "";
        int port = 0;

        if (!q->config.listen_addr && q->config.listen_port == 0)
                return 0;
        if (!q->conn->is_socket || getsockname(q->conn->in_fd, (struct sockaddr *)&sa, &len) < 0)
                return 0;
        if (sa.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&sa;

                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                port = ntohs(in->sin_port);
        } else if (sa.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                port = ntohs(in6->sin6_port);
        } else
                return 0;

        if (q->config.listen_port != 0 && q->config.listen_port != port) {
                snprintf(q->config_error, sizeof(q->config_error),
                        "SERVER_LISTEN_PORT: %d, but the socket unit listens on port %d",
                        q->config.listen_port, port);
                return -EINVAL;
        }
        if (q->config.listen_addr && !streq(q->config.listen_addr, "0.0.0.0") &&
                !streq(q->config.listen_addr, "::") && !streq(q->config.listen_addr, host)) {
                snprintf(q->config_error, sizeof(q->config_error),
                        "SERVER_LISTEN_ADDR: %s, but the socket unit listens on %s", q->config.listen_addr,
                        host);
                return -EINVAL;
        }
        return 0;
}

/* Read one request against the deadline and the size caps; on failure the answer is set. */
static enum outcome read_request(struct request *q) {
        struct http_limits limits = {
                .max_request_line = HTTP_MAX_REQUEST_LINE,
                .max_head = HTTP_MAX_HEAD,
                .max_headers = HTTP_MAX_HEADERS,
                .max_body = q->config_ok ? q->config.max_request_size : CONFIG_DEFAULT_MAX_REQUEST_SIZE,
        };
        usec_t timeout = q->config_ok ? q->config.request_timeout_ms * USEC_PER_MSEC
                                      : CONFIG_DEFAULT_REQUEST_TIMEOUT_MS * USEC_PER_MSEC;
        usec_t deadline = q->t0 + timeout;
        size_t cap = limits.max_head + limits.max_body;
        bool continued = false;

        for (;;) {
                size_t n = 0;
                int r;

                r = http_request_parse(q->buf, q->len, &limits, &q->http);
                if (r == 0)
                        return OUTCOME_ANSWER;
                if (r != -EAGAIN) {
                        fail(q, apierror_from_http(r), "Malformed or oversized request (HTTP %d)",
                                http_status_from_error(r));
                        return OUTCOME_ANSWER;
                }
                if (q->http.head_len > 0 && q->http.expect_continue && !continued) {
                        continued = true;
                        if (conn_write_all(q->conn, RESPONSE_CONTINUE, strlen(RESPONSE_CONTINUE), deadline) <
                                0)
                                return OUTCOME_CLIENT_GONE;
                }
                /* The parser refuses past its limits, so the buffer never needs more than cap. */
                if (!q->buf) {
                        q->buf = malloc(cap + 1);
                        if (!q->buf) {
                                fail(q, APIERROR_INTERNAL, "Out of memory");
                                return OUTCOME_ANSWER;
                        }
                }
                if (q->len >= cap) {
                        fail(q, APIERROR_REQUEST_TOO_LARGE, "Request larger than %zu bytes", cap);
                        return OUTCOME_ANSWER;
                }
                r = conn_read(q->conn, q->buf + q->len, cap - q->len, deadline, &n);
                if (r == -ETIMEDOUT) {
                        fail(q, APIERROR_REQUEST_TIMEOUT, "Request not received within %llu ms",
                                (unsigned long long)(timeout / USEC_PER_MSEC));
                        return OUTCOME_ANSWER;
                }
                if (r < 0)
                        return OUTCOME_CLIENT_GONE;
                if (n == 0) {
                        if (q->len == 0)
                                return OUTCOME_CLIENT_GONE;
                        fail(q, APIERROR_REQUEST_HTTP, "Connection closed before the request was complete");
                        return OUTCOME_ANSWER;
                }
                q->len += n;
        }
}

static void serve_root(struct request *q) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "name", json_object_new_string("docker-run")) < 0 ||
                json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION_STRING)) < 0 ||
                json_object_object_add(o, "description",
                        json_object_new_string("Api for running code in transient docker containers")) < 0 ||
                succeed_json(q, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
                fail(q, APIERROR_INTERNAL, "Out of memory");
}

static json_object *engine_string(json_object *from, const char *key) {
        json_object *v;

        if (json_object_object_get_ex(from, key, &v) && json_object_is_type(v, json_type_string))
                return json_object_new_string(json_object_get_string(v));
        return json_object_new_string("");
}

/* The engine's answer re-cased the way the original serialized it: exactly these keys. */
static int version_json(json_object *engine, json_object **ret) {
        static const char *const keys[][2] = {
                { "Version", "version" },
                { "ApiVersion", "apiVersion" },
                { "GitCommit", "gitCommit" },
                { "GoVersion", "goVersion" },
                { "Os", "os" },
                { "Arch", "arch" },
                { "KernelVersion", "kernelVersion" },
                { "BuildTime", "buildTime" },
        };
        _cleanup_json_ json_object *docker = json_object_new_object(), *platform = json_object_new_object(),
                                   *components = json_object_new_array(), *top = json_object_new_object();
        json_object *v;

        if (!docker || !platform || !components || !top)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_object_object_add(docker, keys[i][1], engine_string(engine, keys[i][0])) < 0)
                        return -ENOMEM;
        if (!json_object_object_get_ex(engine, "Platform", &v))
                v = NULL;
        if (json_object_object_add(platform, "name", engine_string(v, "Name")) < 0)
                return -ENOMEM;
        if (json_object_object_get_ex(engine, "Components", &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *from = json_object_array_get_idx(v, i), *c = json_object_new_object();

                        if (!c || json_object_array_add(components, c) < 0 ||
                                json_object_object_add(c, "name", engine_string(from, "Name")) < 0 ||
                                json_object_object_add(c, "version", engine_string(from, "Version")) < 0)
                                return -ENOMEM;
                }
        if (json_object_object_add(docker, "platform", TAKE_PTR(platform)) < 0 ||
                json_object_object_add(docker, "components", TAKE_PTR(components)) < 0 ||
                json_object_object_add(top, "docker", TAKE_PTR(docker)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(top);
        return 0;
}

static void serve_version(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        _cleanup_json_ json_object *engine = NULL, *answer = NULL;
        int r;

        r = docker_new(q->config.docker_socket_path, q->config.docker_read_timeout_ms, &d);
        if (r < 0)
                return fail(q, APIERROR_INTERNAL, "Out of memory");
        r = docker_version(d, &engine);
        if (r == -EREMOTEIO || r == -EBADMSG || r == -EMSGSIZE)
                return fail(
                        q, APIERROR_DOCKER_VERSION, "Failed to get docker version: %s", docker_message(d));
        if (r < 0)
                return fail(q, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s", docker_message(d));
        if (version_json(engine, &answer) < 0 ||
                succeed_json(q, answer, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED) < 0)
                fail(q, APIERROR_INTERNAL, "Out of memory");
}

/* Validate the body; on success q->image points into q->request_json. */
static int parse_run_body(struct request *q, json_object **ret_payload) {
        struct body_request b;
        enum apierror e;
        char msg[256];
        int r;

        r = body_parse_request(q->http.body.ptr, q->http.body.len, &b, &e, msg, sizeof(msg));
        if (r == -ENOMEM)
                fail(q, APIERROR_INTERNAL, "Out of memory");
        else if (r < 0)
                fail(q, e, "%s", msg);
        if (r < 0)
                return r;
        q->request_json = b.root;
        q->image = b.image;
        q->log.image = b.image;
        *ret_payload = b.payload;
        return 0;
}

/* The runner's stdout must be exactly one JSON object; it is then answered byte for byte. */
static void take_runner_output(struct request *q, struct stream_demux *demux) {
        struct stream_buffer *out = &demux->out[STREAM_STDOUT];
        char why[256];
        size_t end;
        char *body;
        int r;

        if (demux->out[STREAM_STDIN].len > 0)
                return fail(q, APIERROR_CODERUNNER_STDIN, "Code runner returned unexpected stdin data: %.*s",
                        (int)demux->out[STREAM_STDIN].len, demux->out[STREAM_STDIN].data);
        if (demux->out[STREAM_STDERR].len > 0)
                return fail(q, APIERROR_CODERUNNER_STDERR,
                        "Code runner failed with the following message: %.*s",
                        (int)demux->out[STREAM_STDERR].len, demux->out[STREAM_STDERR].data);

        r = body_check_runner_output(out->data, out->len, &end, why, sizeof(why));
        if (r == -ENOMEM)
                return fail(q, APIERROR_INTERNAL, "Out of memory");
        if (r < 0)
                return fail(q, APIERROR_CODERUNNER_STDOUT_DECODE,
                        "Failed to decode json returned from code runner: %s", why);

        /* Leading whitespace is kept, trailing dropped: the answer is the runner's own bytes. */
        body = malloc(end);
        if (!body)
                return fail(q, APIERROR_INTERNAL, "Out of memory");
        memcpy(body, out->data, end);
        succeed(q, body, end);
}

struct pump {
        struct docker *docker; /* to tell a vanished engine from a runner that said nothing */
        struct docker_stream *stream;
        const char *payload;
        size_t payload_len, payload_sent;
        bool stdin_closed;
        struct stream_demux demux;
        struct body_watch watch;
};

static void close_stdin(struct pump *p) {
        if (!p->stdin_closed) {
                (void)docker_stream_shutdown_write(p->stream);
                p->stdin_closed = true;
        }
}

/* Send what the socket takes now without waiting; stdin is closed once all is sent. */
static void pump_send_now(struct pump *p) {
        while (!p->stdin_closed) {
                size_t n = 0;
                int r = docker_stream_send(
                        p->stream, p->payload + p->payload_sent, p->payload_len - p->payload_sent, &n);

                if (r == -EAGAIN)
                        return;
                if (r == 0)
                        p->payload_sent += n;
                /* A runner that exits without reading its stdin is not our error: its output says. */
                if (r < 0 || p->payload_sent == p->payload_len)
                        close_stdin(p);
        }
}

/* Move the payload in and the output out until the stream ends, the deadline, a cap, the client or a signal.
 */
static enum outcome pump_run(struct request *q, struct pump *p, usec_t deadline) {
        char buf[READ_CHUNK];

        for (;;) {
                struct pollfd fds[3] = {
                        { .fd = docker_stream_fd(p->stream), .events = POLLIN },
                        { .fd = conn_hangup_events(q->conn) ? q->conn->in_fd : -1,
                                .events = conn_hangup_events(q->conn) },
                        { .fd = q->sigfd, .events = POLLIN },
                };
                int r;

                if (now_usec() >= deadline) {
                        fail(q, APIERROR_LIMITS_EXECUTION_TIME, "Max execution time exceeded (%llu ms)",
                                (unsigned long long)q->config.max_execution_time_ms);
                        return OUTCOME_ANSWER;
                }
                if (!p->stdin_closed)
                        fds[0].events |= POLLOUT;
                r = poll(fds, ELEMENTSOF(fds),
                        docker_stream_pending(p->stream) ? 0 : poll_timeout_ms(deadline));
                if (r < 0 && errno != EINTR) {
                        fail(q, APIERROR_DOCKER_STREAM_READ, "Failed while reading stream: %s",
                                strerror(errno));
                        return OUTCOME_ANSWER;
                }
                if (r <= 0 && !docker_stream_pending(p->stream))
                        continue;
                if (fds[2].revents)
                        return OUTCOME_INTERRUPTED;
                if (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
                        return OUTCOME_CLIENT_GONE;

                if (fds[0].revents & POLLOUT)
                        pump_send_now(p);

                if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !docker_stream_pending(p->stream))
                        continue;
                for (int i = 0; i < READS_PER_WAKEUP; i++) {
                        size_t n = 0;

                        r = docker_stream_recv(p->stream, buf, sizeof(buf), &n);
                        if (r == -EAGAIN)
                                break;
                        if (r < 0) {
                                fail(q, APIERROR_DOCKER_STREAM_READ, "Failed while reading stream: %s",
                                        strerror(-r));
                                return OUTCOME_ANSWER;
                        }
                        if (n == 0) {
                                /* Without the runner's answer, the end may be the engine's: ask it. */
                                if (!p->watch.complete && docker_ping(p->docker) < 0) {
                                        fail(q, APIERROR_DOCKER_UNIXSOCKET,
                                                "Unix socket failure: the engine went away during the run: "
                                                "%s",
                                                docker_message(p->docker));
                                        return OUTCOME_ANSWER;
                                }
                                if (!stream_demux_at_boundary(&p->demux)) {
                                        fail(q, APIERROR_DOCKER_STREAM_READ,
                                                "Failed while reading stream: it ended inside a frame");
                                        return OUTCOME_ANSWER;
                                }
                                q->container_running = false;
                                take_runner_output(q, &p->demux);
                                return OUTCOME_ANSWER;
                        }
                        r = stream_demux_feed(&p->demux, buf, n);
                        if (r == -EFBIG) {
                                fail(q, APIERROR_LIMITS_READ_SIZE, "Max output size exceeded (%llu bytes)",
                                        (unsigned long long)q->config.max_output_size);
                                return OUTCOME_ANSWER;
                        }
                        if (r == -EBADMSG) {
                                fail(q, APIERROR_DOCKER_STREAM_READ,
                                        "Failed while reading stream: Unknown stream type");
                                return OUTCOME_ANSWER;
                        }
                        if (r < 0) {
                                fail(q, APIERROR_INTERNAL, "Out of memory");
                                return OUTCOME_ANSWER;
                        }
                        /*
                         * The runner's answer is whole: answer now rather than at the container's exit,
                         * which the engine reports tens of milliseconds later. Anything it writes after
                         * its answer is not waited for (RUN_WAIT_FOR_EXIT=true waits, as the original did).
                         */
                        body_watch_feed(&p->watch, p->demux.out[STREAM_STDOUT].data,
                                p->demux.out[STREAM_STDOUT].len);
                        if (p->watch.complete && !q->config.wait_for_exit) {
                                take_runner_output(q, &p->demux);
                                return OUTCOME_ANSWER;
                        }
                }
        }
}

/* An engine call failed: the socket is unreachable, or the engine said no. */
static void fail_engine(
        struct request *q, struct docker *d, int r, enum apierror refused, const char *what) {
        if (r == -EREMOTEIO || r == -EBADMSG)
                fail(q, refused, "Failed to %s: %s", what, docker_message(d));
        else if (r == -ENOMEM)
                fail(q, APIERROR_INTERNAL, "Out of memory");
        else
                fail(q, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s", docker_message(d));
}

/* The run's deadline as wall-clock time, for labels and claims: the sweeper compares it across processes. */
static int64_t wall_deadline(const struct config *c) {
        return (int64_t)time(NULL) + (int64_t)((c->max_execution_time_ms + 999) / 1000) +
               (int64_t)((c->docker_read_timeout_ms * 3 + 999) / 1000);
}

static int attach(struct request *q, struct docker *d, struct pump *p) {
        usec_t t = now_usec();
        int r;

        r = docker_attach(
                d, q->container_id, t + q->config.docker_read_timeout_ms * USEC_PER_MSEC, &p->stream);
        q->log.attach_usec = now_usec() - t;
        if (r < 0)
                fail_engine(q, d, r, APIERROR_DOCKER_CONTAINER_ATTACH, "attach to container");
        return r;
}

/* A cold container: create, attach, start. On success the clock is running. */
static int cold_container(struct request *q, struct docker *d, struct pump *p) {
        _cleanup_json_ json_object *create = NULL;
        char name[64];
        usec_t t;
        int r;

        r = container_config_json(
                &q->config, q->image, q->request_id, wall_deadline(&q->config), false, &create);
        if (r < 0) {
                fail(q, APIERROR_INTERNAL, "Out of memory");
                return r;
        }
        snprintf(name, sizeof(name), "docker-run-%s", q->request_id);

        t = now_usec();
        r = docker_create(d, name, create, &q->container_id);
        q->log.create_usec = now_usec() - t;
        if (r < 0) {
                fail_engine(q, d, r, APIERROR_DOCKER_CONTAINER_CREATE, "create container");
                return r;
        }
        q->log.container_id = q->container_id;

        /* Attach before start, as docker run does: no output can be missed. */
        r = attach(q, d, p);
        if (r < 0)
                return r;

        /* The engine holds stdin until the container runs: the payload waits there, not on a round trip. */
        pump_send_now(p);

        t = now_usec();
        q->deadline = t + q->config.max_execution_time_ms * USEC_PER_MSEC;
        r = docker_start(d, q->container_id);
        q->log.start_usec = now_usec() - t;
        if (r < 0) {
                fail_engine(q, d, r, APIERROR_DOCKER_CONTAINER_START, "start container");
                return r;
        }
        q->container_running = true;
        return 0;
}

/*
 * A warm container from the image's pool: claimed, then attached; its
 * runner has been waiting on stdin. Returns -ENOENT, silently, when the
 * pool has none free: the caller falls back to a cold one.
 */
static int warm_container(struct request *q, struct docker *d, struct pump *p) {
        usec_t t = now_usec();
        int r;

        if (config_warm_count(&q->config, q->image) == 0)
                return -ENOENT;
        r = pool_claim(d, &q->config, q->image, wall_deadline(&q->config), &q->container_id);
        if (r < 0)
                return -ENOENT;
        /* The deadline starts at the claim. */
        q->deadline = t + q->config.max_execution_time_ms * USEC_PER_MSEC;
        q->warm = true;
        q->container_running = true;
        q->log.container_id = q->container_id;
        q->log.claim_usec = now_usec() - t;

        return attach(q, d, p);
}

static enum outcome run_container(
        struct request *q, struct docker *d, const char *payload, size_t payload_len) {
        struct pump p = { .docker = d, .payload = payload, .payload_len = payload_len };
        enum outcome o = OUTCOME_ANSWER;
        usec_t t;
        int r;

        r = warm_container(q, d, &p);
        if (r == -ENOENT)
                r = cold_container(q, d, &p);
        if (r >= 0 && body_watch_init(&p.watch) < 0) {
                fail(q, APIERROR_INTERNAL, "Out of memory");
                r = -ENOMEM;
        }
        if (r >= 0) {
                stream_demux_init(&p.demux, q->config.max_output_size);
                t = now_usec();
                o = pump_run(q, &p, q->deadline);
                q->log.run_usec = now_usec() - t;
                stream_demux_done(&p.demux);
                body_watch_done(&p.watch);
        }
        docker_stream_free(p.stream);
        return o;
}

static enum outcome serve_run(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        json_object *payload = NULL;
        const char *s;
        size_t len;
        int r;

        if (parse_run_body(q, &payload) < 0)
                return OUTCOME_ANSWER;
        if (!config_image_allowed(&q->config, q->image)) {
                fail(q, APIERROR_REQUEST_IMAGE_NOT_ALLOWED, "Image '%s' is not in RUN_IMAGE_ALLOWLIST",
                        q->image);
                return OUTCOME_ANSWER;
        }
        s = json_object_to_json_string_length(
                payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s) {
                fail(q, APIERROR_DOCKER_PAYLOAD_SERIALIZE,
                        "Failed to send payload to stream: serialization failed");
                return OUTCOME_ANSWER;
        }

        r = docker_new(q->config.docker_socket_path, q->config.docker_read_timeout_ms, &d);
        if (r < 0) {
                fail(q, APIERROR_INTERNAL, "Out of memory");
                return OUTCOME_ANSWER;
        }
        return run_container(q, d, s, len);
}

static enum outcome route(struct request *q) {
        const struct http_request *h = &q->http;
        bool get = http_slice_eq(h->method, "GET"), post = http_slice_eq(h->method, "POST");
        enum { ROUTE_ROOT, ROUTE_VERSION, ROUTE_RUN } which;

        if (http_slice_eq(h->path, "/"))
                which = ROUTE_ROOT;
        else if (http_slice_eq(h->path, "/version"))
                which = ROUTE_VERSION;
        else if (http_slice_eq(h->path, "/run"))
                which = ROUTE_RUN;
        else {
                fail(q, APIERROR_ROUTE_NOT_FOUND, "No route for %s", q->path);
                return OUTCOME_ANSWER;
        }

        if ((which == ROUTE_RUN && !post) || (which != ROUTE_RUN && !get))
                fail(q, APIERROR_METHOD_NOT_ALLOWED, "Method %s is not allowed on %s", q->method, q->path);
        else if (!q->config_ok)
                fail(q, APIERROR_CONFIG, "The service is misconfigured; see its log");
        else if (which == ROUTE_ROOT)
                serve_root(q);
        else if (!h->has_token || !token_equal(h->token.ptr, h->token.len, q->config.access_token))
                fail(q, APIERROR_ACCESS_TOKEN, "Missing or wrong access token");
        else if (which == ROUTE_VERSION)
                serve_version(q);
        else
                return serve_run(q);
        return OUTCOME_ANSWER;
}

static int write_answer(struct request *q) {
        _cleanup_free_ char *error_body = NULL, *response = NULL;
        const char *body = q->body;
        size_t body_len = q->body_len, len;
        int r;

        if (q->failed) {
                r = apierror_json(q->error, q->message ?: "", q->message ? strlen(q->message) : 0,
                        &error_body, &body_len);
                if (r < 0)
                        return r;
                body = error_body;
        }
        r = response_format(q->status, q->request_id, body, body_len, &response, &len);
        if (r < 0)
                return r;
        return conn_write_all(q->conn, response, len, now_usec() + 10 * USEC_PER_SEC);
}

/* After the answer: remove the container, or with DEBUG_KEEP_CONTAINER stop it and keep it. */
static void dispose_container(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        usec_t t = now_usec();
        int r;

        if (!q->container_id)
                return;
        r = docker_new(q->config.docker_socket_path, q->config.docker_read_timeout_ms, &d);
        if (r < 0)
                return log_message(
                        LOG_ERR, "Failed to remove container %s: %s", q->container_id, strerror(-r));
        if (q->config.debug_keep_container) {
                if (q->container_running && docker_kill(d, q->container_id) < 0)
                        log_message(LOG_WARNING, "Failed to kill kept container %s: %s, ignoring",
                                q->container_id, docker_message(d));
                return;
        }
        r = docker_remove(d, q->container_id);
        if (r < 0)
                log_message(
                        LOG_ERR, "Failed to remove container %s: %s", q->container_id, docker_message(d));
        else if (q->warm)
                pool_release(&q->config, q->container_id);
        q->log.remove_usec = now_usec() - t;
}

/* One run, one warm container: the pool is topped up by the handler that used it, after all else. */
static void replace_warm_container(struct request *q) {
        _cleanup_docker_ struct docker *d = NULL;
        int r;

        if (!q->warm || q->config.debug_keep_container)
                return;
        r = docker_new(q->config.docker_socket_path, q->config.docker_read_timeout_ms, &d);
        if (r >= 0)
                r = pool_fill(d, &q->config, q->image, config_warm_count(&q->config, q->image), 1);
        if (r < 0)
                log_message(LOG_WARNING, "Failed to start a warm container for %s: %s, ignoring", q->image,
                        d ? docker_message(d) : strerror(-r));
}

static int setup_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

int run_serve(struct conn *c) {
        struct request q = { .conn = c, .sigfd = -1, .t0 = now_usec() };
        enum outcome o;
        int ret = RUN_EXIT_OK;

        make_request_id(q.request_id);
        q.log.request_id = q.request_id;
        q.log.remote = c->remote[0] ? c->remote : NULL;
        q.sigfd = setup_signals();

        q.config_ok = config_load(&q.config, 0, q.config_error, sizeof(q.config_error)) == 0;
        if (q.config_ok && check_listen_consistency(&q) < 0)
                q.config_ok = false;
        if (!q.config_ok)
                log_message(LOG_ERR, "Invalid configuration: %s", q.config_error);

        o = read_request(&q);
        if (q.http.method.len > 0) {
                log_escape(q.method, sizeof(q.method), q.http.method.ptr, q.http.method.len);
                log_escape(q.path, sizeof(q.path), q.http.path.ptr, q.http.path.len);
                q.log.method = q.method;
                q.log.path = q.path;
        }
        if (o == OUTCOME_ANSWER && !q.failed)
                o = route(&q);
        if (o == OUTCOME_INTERRUPTED) {
                /* Still worth an answer: the client learns the run was cut short, not lost. */
                fail(&q, APIERROR_INTERNAL, "The service was stopped during the run");
                ret = RUN_EXIT_INTERRUPTED;
        }

        /* Answer first, then remove: the removal never delays the client. */
        if (o != OUTCOME_CLIENT_GONE && write_answer(&q) < 0)
                o = OUTCOME_CLIENT_GONE;
        if (o == OUTCOME_CLIENT_GONE) {
                fail(&q, APIERROR_INTERNAL, "The client closed the connection before the answer");
                q.status = 0;
                ret = RUN_EXIT_CLIENT_GONE;
        }
        conn_shutdown(c);
        q.log.duration_usec = now_usec() - q.t0;
        dispose_container(&q);

        q.log.status = q.status;
        if (q.failed) {
                q.log.error = apierror_code(q.error);
                q.log.message = q.message;
        }
        log_request(&q.log);
        conn_close(c);
        replace_warm_container(&q);

        json_object_put(q.request_json);
        free(q.container_id);
        free(q.message);
        free(q.body);
        free(q.buf);
        config_free(&q.config);
        closep(&q.sigfd);
        return ret;
}
