/* SPDX-License-Identifier: MIT */
/* serve: one connection: its requests read, routed and answered in turn, each logged. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>

#include "addr.h"
#include "answer.h"
#include "cgroup.h"
#include "config.h"
#include "docker.h"
#include "http.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "metrics.h"
#include "run.h"
#include "serve.h"
#include "status.h"

/* The connection: what every request on it shares. */
struct connection {
        struct conn *conn;
        struct config config;
        bool config_ok;
        char config_error[512];
        int sigfd;
        struct metrics *metrics;
        struct http_parser parser;
        char *buf; /* the bytes of the request being read, and what follows it */
        size_t len, cap;
};

/* Compare without an early exit, so the time taken says nothing about where a guess went wrong. */
static bool token_equal(const char *given, size_t given_len, const char *expected) {
        size_t n = strlen(expected);
        unsigned char diff = given_len != n;

        for (size_t i = 0; i < n; i++)
                diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
        return diff == 0;
}

/* The socket's local address as an operator writes it: an IPv4 address reached over a dual-stack socket
 * (::ffff:127.0.0.1) is that IPv4 address. */
static int local_address(int fd, char host[static INET6_ADDRSTRLEN], int *ret_port) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);

        if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                return -errno;
        if (sa.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&sa;

                inet_ntop(AF_INET, &in->sin_addr, host, INET6_ADDRSTRLEN);
                *ret_port = ntohs(in->sin_port);
                return 0;
        }
        if (sa.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

                if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, INET6_ADDRSTRLEN);
                else
                        inet_ntop(AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
                *ret_port = ntohs(in6->sin6_port);
                return 0;
        }
        return -EAFNOSUPPORT;
}

/* SERVER_LISTEN_* belong to the socket unit now; where given they must match the socket we were handed. */
static int check_listen_consistency(struct connection *k) {
        const struct config *c = &k->config;
        char host[INET6_ADDRSTRLEN] = "";
        int port = 0;

        if (!c->listen_addr && c->listen_port == 0)
                return 0;
        if (!k->conn->is_socket || local_address(k->conn->in_fd, host, &port) < 0)
                return 0;
        if (c->listen_port != 0 && c->listen_port != port) {
                snprintf(k->config_error, sizeof(k->config_error),
                        "SERVER_LISTEN_PORT: %d, but the socket unit listens on port %d", c->listen_port,
                        port);
                return -EINVAL;
        }
        if (c->listen_addr && !streq(c->listen_addr, "0.0.0.0") && !streq(c->listen_addr, "::") &&
                !addr_equal(c->listen_addr, host)) {
                snprintf(k->config_error, sizeof(k->config_error),
                        "SERVER_LISTEN_ADDR: %s, but the socket unit listens on %s", c->listen_addr, host);
                return -EINVAL;
        }
        return 0;
}

/* A configuration the unit's MemoryMax= cannot hold is refused, rather than failing runs at their largest.
 */
static int check_memory(struct connection *k) {
        uint64_t limit, need = config_memory_bound(&k->config);

        if (cgroup_memory_limit(&limit) < 0 || need <= limit)
                return 0;
        snprintf(k->config_error, sizeof(k->config_error),
                "SERVER_MAX_REQUEST_SIZE (%llu) and RUN_MAX_OUTPUT_SIZE (%llu): a handler may need %llu "
                "MiB, above "
                "its cgroup's memory limit of %llu MiB (MemoryMax= in docker-run@.service): lower them or "
                "raise "
                "MemoryMax=",
                (unsigned long long)k->config.max_request_size,
                (unsigned long long)k->config.max_output_size,
                (unsigned long long)((need + 1048575) / 1048576), (unsigned long long)(limit / 1048576));
        return -EINVAL;
}

/* Read one request against the deadline and the size caps; on failure the answer is set. */
static enum outcome read_request(struct connection *k, struct request *q) {
        struct http_limits limits = {
                .max_request_line = HTTP_MAX_REQUEST_LINE,
                .max_head = HTTP_MAX_HEAD,
                .max_headers = HTTP_MAX_HEADERS,
                .max_body = k->config_ok ? k->config.max_request_size : CONFIG_DEFAULT_MAX_REQUEST_SIZE,
        };
        usec_t timeout = (k->config_ok ? k->config.request_timeout_ms : CONFIG_DEFAULT_REQUEST_TIMEOUT_MS) *
                         USEC_PER_MSEC;
        usec_t deadline = q->t0 + timeout;
        /* The parser refuses past its limits and drops chunk framing as it goes: room for the head, the body
         * and one chunk line more is all a request ever needs. */
        size_t cap = limits.max_head + limits.max_body + HTTP_MAX_CHUNK_LINE + 2;
        bool continued = false;

        http_parser_init(&k->parser, &limits);
        if (!k->buf) {
                k->cap = cap;
                k->buf = malloc(cap);
                if (!k->buf) {
                        answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
                        return OUTCOME_ANSWER;
                }
        }
        for (;;) {
                size_t n = 0;
                int r;

                r = http_parser_feed(&k->parser, k->buf, &k->len, &q->http);
                if (r == 0)
                        return OUTCOME_ANSWER;
                if (r != -EAGAIN) {
                        answer_fail(&q->answer, apierror_from_http(r),
                                "Malformed or oversized request (HTTP %d)", http_status_from_error(r));
                        return OUTCOME_ANSWER;
                }
                if (http_parser_expect_continue(&k->parser) && !continued) {
                        continued = true;
                        if (conn_write_all(k->conn, RESPONSE_CONTINUE, strlen(RESPONSE_CONTINUE), deadline,
                                    false) < 0)
                                return OUTCOME_CLIENT_GONE;
                }
                if (k->len >= cap) {
                        answer_fail(&q->answer, APIERROR_REQUEST_TOO_LARGE, "Request larger than %zu bytes",
                                cap);
                        return OUTCOME_ANSWER;
                }
                r = conn_read(k->conn, k->buf + k->len, cap - k->len, deadline, &n);
                if (r == -ETIMEDOUT) {
                        answer_fail(&q->answer, APIERROR_REQUEST_TIMEOUT,
                                "Request not received within %llu ms",
                                (unsigned long long)(timeout / USEC_PER_MSEC));
                        return OUTCOME_ANSWER;
                }
                if (r < 0)
                        return OUTCOME_CLIENT_GONE;
                if (n == 0) {
                        if (k->len == 0)
                                return OUTCOME_CLIENT_GONE;
                        answer_fail(&q->answer, APIERROR_REQUEST_HTTP,
                                "Connection closed before the request was complete");
                        return OUTCOME_ANSWER;
                }
                k->len += n;
        }
}

/* Behind a trusted proxy the client is the one X-Forwarded-For names, and the proxy's request id is kept for
 * the log; ours stays our own (it names the run's container). */
static void forwarded(struct connection *k, struct request *q, char *client, size_t size) {
        struct http_slice xff = q->http.forwarded_for, rid = q->http.request_id;

        if (!k->config_ok || !k->config.trusted_proxies || !k->conn->remote[0])
                return;
        if (!addr_forwarded_client(
                    k->conn->remote, xff.ptr, xff.len, k->config.trusted_proxies, client, size))
                return;
        q->log.remote = client;
        q->log.proxy = k->conn->remote;
        if (rid.len > 0 && rid.len <= 64) {
                log_escape(q->proxy_request_id, sizeof(q->proxy_request_id), rid.ptr, rid.len);
                q->log.proxy_request_id = q->proxy_request_id;
        }
}

/* The routes: the method each takes, whether it needs the token, what serves it. */
static const struct route {
        const char *path;
        bool post; /* POST, else GET (and HEAD) */
        bool token;
        enum metrics_route metric;
} routes[] = {
        { "/", false, false, METRICS_ROUTE_ROOT },
        { "/version", false, true, METRICS_ROUTE_VERSION },
        { "/run", true, true, METRICS_ROUTE_RUN },
        { "/health", false, false, METRICS_ROUTE_HEALTH },
        { "/metrics", false, true, METRICS_ROUTE_METRICS },
};

static enum outcome route(struct request *q, enum metrics_route *ret_metric) {
        const struct http_request *h = &q->http;
        /* HEAD is a GET answered without its body (RFC 9110 9.3.2). */
        bool get = http_slice_eq(h->method, "GET") || http_slice_eq(h->method, "HEAD"),
             post = http_slice_eq(h->method, "POST");
        const struct route *r = NULL;

        for (size_t i = 0; i < ELEMENTSOF(routes); i++)
                if (http_slice_eq(h->path, routes[i].path))
                        r = &routes[i];
        *ret_metric = r ? r->metric : METRICS_ROUTE_OTHER;
        if (!r)
                answer_fail(&q->answer, APIERROR_ROUTE_NOT_FOUND, "No route for %s", q->path);
        else if (r->post ? !post : !get)
                answer_fail(&q->answer, APIERROR_METHOD_NOT_ALLOWED, "Method %s is not allowed on %s",
                        q->method, q->path);
        else if (!q->config_ok)
                answer_fail(&q->answer, APIERROR_CONFIG, "The service is misconfigured; see its log");
        else if (r->token &&
                 (!h->has_token || !token_equal(h->token.ptr, h->token.len, q->config->access_token)))
                answer_fail(&q->answer, APIERROR_ACCESS_TOKEN, "Missing or wrong access token");
        else if (r->metric == METRICS_ROUTE_ROOT)
                status_root(q);
        else if (r->metric == METRICS_ROUTE_VERSION)
                status_version(q);
        else if (r->metric == METRICS_ROUTE_HEALTH)
                status_health(q);
        else if (r->metric == METRICS_ROUTE_METRICS)
                status_metrics(q);
        else
                return run_serve(q);
        return OUTCOME_ANSWER;
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

/* One request on the connection, from its first byte to its record. Returns a SERVE_EXIT_* code. */
/*
 * Between two requests of a kept-alive connection: wait for the next one's first byte, at most
 * SERVER_KEEPALIVE_TIMEOUT. Returns true when bytes are there (pipelined already, or arrived), false when
 * the connection is to be closed: idle too long, closed by the client, or a stop signal.
 */
static bool next_request_arrives(struct connection *k) {
        usec_t deadline = now_usec() + k->config.keepalive_timeout_ms * USEC_PER_MSEC;
        struct pollfd fds[2] = {
                { .fd = k->conn->in_fd, .events = POLLIN },
                { .fd = k->sigfd, .events = POLLIN },
        };

        if (k->len > 0)
                return true;
        for (;;) {
                int r = poll(fds, ELEMENTSOF(fds), poll_timeout_ms(deadline));

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || (r > 0 && fds[1].revents))
                        return false;
                /* Bytes that have arrived are a request to serve, even at the idle deadline; an end of the
                 * stream is the client closing between requests, which is no request at all. */
                if (r > 0 && fds[0].revents) {
                        size_t n = 0;

                        if (!k->buf || conn_read(k->conn, k->buf, k->cap, now_usec(), &n) < 0 || n == 0)
                                return false;
                        k->len = n;
                        return true;
                }
                if (now_usec() >= deadline)
                        return false;
        }
}

/* Whether the connection may carry another request after this one. */
static bool keep_alive(
        const struct connection *k, const struct request *q, enum outcome o, unsigned served) {
        return k->config_ok && k->config.keepalive_timeout_ms > 0 && served < k->config.keepalive_requests &&
               o == OUTCOME_ANSWER && q->http.consumed > 0 && q->http.keep_alive && !request_stopped(q);
}

/* One request on the connection, from its first byte to its record; *ret_keep says whether another may
 * follow. Returns a SERVE_EXIT_* code. */
static int serve_request(struct connection *k, unsigned served, bool *ret_keep) {
        struct request q = {
                .conn = k->conn,
                .config = &k->config,
                .config_ok = k->config_ok,
                .sigfd = k->sigfd,
                .metrics = k->metrics,
                .t0 = now_usec(),
        };
        struct answer_wire wire = { .request_id = q.id };
        char client[64];
        enum metrics_route metric = METRICS_ROUTE_OTHER;
        char log_message_text[LOG_FIELD_MAX];
        struct http_slice method, path;
        enum outcome o;
        int ret = SERVE_EXIT_OK;

        request_make_id(q.id);
        q.log.request_id = q.id;
        q.log.remote = k->conn->remote[0] ? k->conn->remote : NULL;

        o = read_request(k, &q);
        if (http_parser_request_line(&k->parser, k->buf, &method, &path) == 0) {
                log_escape(q.method, sizeof(q.method), method.ptr, method.len);
                log_escape(q.path, sizeof(q.path), path.ptr, path.len);
                q.log.method = q.method;
                q.log.path = q.path;
        }
        if (o == OUTCOME_ANSWER && !q.answer.failed)
                forwarded(k, &q, client, sizeof(client));
        if (o == OUTCOME_ANSWER && !q.answer.failed)
                o = route(&q, &metric);
        /* A HEAD request's answer has no body, whatever it is (also an error's). */
        wire.head_only = streq(q.method, "HEAD");
        /* Kept alive only after a request read whole: one the answer cut short leaves its bytes unread. */
        *ret_keep = keep_alive(k, &q, o, served + 1);
        wire.keep_alive = *ret_keep;
        wire.keep_alive_timeout = k->config_ok ? (unsigned)(k->config.keepalive_timeout_ms / 1000) : 0;
        if (o == OUTCOME_INTERRUPTED) {
                /* Still worth an answer: the client learns the run was cut short, not lost. */
                answer_fail(&q.answer, APIERROR_INTERNAL, "The service was stopped during the run");
                ret = SERVE_EXIT_INTERRUPTED;
        }

        /* Answer first, then remove: the removal never delays the client. */
        if (o != OUTCOME_CLIENT_GONE && answer_write(&q.answer, &wire, k->conn) < 0)
                o = OUTCOME_CLIENT_GONE;
        if (o == OUTCOME_CLIENT_GONE) {
                answer_fail(
                        &q.answer, APIERROR_INTERNAL, "The client closed the connection before the answer");
                q.answer.status = 0;
                ret = SERVE_EXIT_CLIENT_GONE;
                *ret_keep = false;
        }
        if (!*ret_keep)
                conn_shutdown(k->conn);
        q.log.duration_usec = now_usec() - q.t0;
        run_finish(&q);

        q.log.status = q.answer.status;
        if (q.answer.failed) {
                q.log.error = apierror_code(q.answer.error);
                q.log.message = log_message_text;
                q.log.message_len =
                        answer_message_head(&q.answer, log_message_text, sizeof(log_message_text));
        }
        log_request(&q.log);
        metrics_request(k->metrics, metric, q.answer.status);
        run_release(&q);
        answer_done(&q.answer);
        /* What follows this request (pipelined bytes, or none) moves to the front for the next. */
        if (*ret_keep && q.http.consumed <= k->len) {
                memmove(k->buf, k->buf + q.http.consumed, k->len - q.http.consumed);
                k->len -= q.http.consumed;
        }
        return ret;
}

int serve_connection(struct conn *c) {
        struct connection k = { .conn = c, .sigfd = -1 };
        int ret;

        k.sigfd = setup_signals();
        k.config_ok = config_load(&k.config, 0, k.config_error, sizeof(k.config_error)) == 0;
        if (k.config_ok && (check_listen_consistency(&k) < 0 || check_memory(&k) < 0)) {
                config_free(&k.config);
                k.config_ok = false;
        }
        if (!k.config_ok)
                log_message(LOG_ERR, "Invalid configuration: %s", k.config_error);
        else if (metrics_open(k.config.runtime_dir, &k.metrics) < 0)
                k.metrics = NULL; /* counted nowhere, served all the same */

        for (unsigned served = 0;; served++) {
                bool keep = false;

                ret = serve_request(&k, served, &keep);
                if (!keep || !next_request_arrives(&k))
                        break;
        }
        conn_close(c);

        free(k.buf);
        metrics_close(k.metrics);
        config_free(&k.config);
        closep(&k.sigfd);
        return ret;
}
