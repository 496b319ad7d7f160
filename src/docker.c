/* SPDX-License-Identifier: MIT */
/* docker: a minimal Docker Engine API client: a unix socket, or tcp with mutual TLS (libcurl). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "curlsym.h"
#include "docker.h"
#include "fd.h"
#include "util.h"

struct docker {
        CURL *curl; /* one handle, so create, start and remove share a kept-alive connection */
        struct curl_slist *headers;
        struct engine_addr addr;
        char *cert_path;             /* tcp: ca.pem, cert.pem, key.pem */
        char base[320];              /* http://localhost or https://HOST:PORT */
        uint64_t timeout_ms;         /* each call: DOCKER_UNIX_SOCKET_READ_TIMEOUT */
        uint64_t connect_timeout_ms; /* connecting: DOCKER_UNIX_SOCKET_WRITE_TIMEOUT */
        long status;
        bool unsent; /* the last call failed before its request left: the engine saw nothing */
        char message[512];
        char errbuf[CURL_ERROR_SIZE];
        char *body;
        size_t body_len;
        bool body_too_big;
};

struct docker_stream {
        int fd;     /* the socket; a TLS stream's belongs to its curl handle */
        CURL *curl; /* tcp: the TLS connection (CONNECT_ONLY); NULL on a unix socket */
        char pending[DOCKER_MAX_ATTACH_HEAD]; /* stream bytes that came with the attach answer's head */
        size_t pending_off, pending_len;
};

static void set_message(struct docker *d, const char *fmt, ...) _printf_(2, 3);
static void set_message(struct docker *d, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(d->message, sizeof(d->message), fmt, ap);
        va_end(ap);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct docker *d = userdata;
        size_t n = size * nmemb;
        char *p;

        if (n > DOCKER_MAX_RESPONSE - d->body_len) {
                d->body_too_big = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        p = realloc(d->body, d->body_len + n + 1);
        if (!p)
                return 0;
        memcpy(p + d->body_len, ptr, n);
        d->body = p;
        d->body_len += n;
        d->body[d->body_len] = '\0';
        return n;
}

static void curl_freep(char **p) {
        if (*p)
                sym_curl_free(*p);
}

static int errno_from_curl(CURL *curl, CURLcode code) {
        long os_errno = 0;

        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_COULDNT_CONNECT:
                if (sym_curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
                        return (int)-os_errno;
                return -ECONNREFUSED;
        default:
                return -EIO;
        }
}

/* Plain http to a unix socket, https to a tcp engine, and nothing else; the string option is libcurl 7.85,
 * the bitmask before it. */
static CURLcode restrict_protocols(CURL *curl, bool tls) {
#if HAVE_DECL_CURLOPT_PROTOCOLS_STR
        return sym_curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, tls ? "https" : "http");
#else
        return sym_curl_easy_setopt(
                curl, CURLOPT_PROTOCOLS, tls ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
#endif
}

/* Mutual TLS as the docker CLI does it (DOCKER_CERT_PATH): the engine's certificate verified against ca.pem,
 * its name included, and ours from cert.pem and key.pem. */
static bool set_tls(CURL *curl, const char *cert_path) {
        char ca[4096], cert[4096], key[4096];

        if (snprintf(ca, sizeof(ca), "%s/ca.pem", cert_path) >= (int)sizeof(ca) ||
                snprintf(cert, sizeof(cert), "%s/cert.pem", cert_path) >= (int)sizeof(cert) ||
                snprintf(key, sizeof(key), "%s/key.pem", cert_path) >= (int)sizeof(key))
                return false;
        return sym_curl_easy_setopt(curl, CURLOPT_CAINFO, ca) == CURLE_OK &&
               sym_curl_easy_setopt(curl, CURLOPT_SSLCERT, cert) == CURLE_OK &&
               sym_curl_easy_setopt(curl, CURLOPT_SSLKEY, key) == CURLE_OK &&
               sym_curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
               sym_curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
}

static CURL *new_handle(const struct docker *d, char *errbuf) {
        bool tls = d->addr.kind == ENGINE_TCP;
        CURL *curl = sym_curl_easy_init();

        if (!curl)
                return NULL;
        if ((tls ? !set_tls(curl, d->cert_path)
                 : sym_curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, d->addr.path) != CURLE_OK) ||
                sym_curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                sym_curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)d->connect_timeout_ms) !=
                        CURLE_OK ||
                sym_curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
                restrict_protocols(curl, tls) != CURLE_OK) {
                sym_curl_easy_cleanup(curl);
                return NULL;
        }
        return curl;
}

const char *docker_new_error(int r) {
        return r == -ELIBACC ? curlsym_error() : "Out of memory";
}

int docker_new(const struct engine_addr *addr, const char *cert_path, uint64_t timeout_ms,
        uint64_t connect_timeout_ms, struct docker **ret) {
        struct docker *d;

        if (addr->kind == ENGINE_TCP && !cert_path)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->addr = *addr;
        d->timeout_ms = timeout_ms;
        d->connect_timeout_ms = connect_timeout_ms;
        if (addr->kind == ENGINE_TCP)
                snprintf(d->base, sizeof(d->base),
                        strchr(addr->host, ':') ? "https://[%s]:%u" : "https://%s:%u", addr->host,
                        addr->port);
        else
                snprintf(d->base, sizeof(d->base), "http://localhost");
        if (cert_path) {
                d->cert_path = strdup(cert_path);
                if (!d->cert_path) {
                        docker_free(d);
                        return -ENOMEM;
                }
        }
        *ret = d;
        return 0;
}

const struct engine_addr *docker_engine(const struct docker *d) {
        return &d->addr;
}

/* libcurl and the handle, the first time an engine call needs them: a warm run answers without. */
static int ensure_curl(struct docker *d) {
        int r;

        if (d->curl)
                return 0;
        r = curlsym_load();
        if (r < 0) {
                set_message(d, "%s", curlsym_error());
                return r;
        }
        d->curl = new_handle(d, d->errbuf);
        if (!d->curl)
                return -ENOMEM;
        /* No "Expect: 100-continue" round trip before a create body. */
        d->headers = sym_curl_slist_append(NULL, "Content-Type: application/json");
        if (!d->headers)
                return -ENOMEM;
        d->headers = sym_curl_slist_append(d->headers, "Expect:");
        if (!d->headers)
                return -ENOMEM;
        if (sym_curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers) != CURLE_OK ||
                sym_curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms) != CURLE_OK ||
                sym_curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
                sym_curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d) != CURLE_OK)
                return -ENOMEM;
        return 0;
}

struct docker *docker_free(struct docker *d) {
        if (!d)
                return NULL;
        if (d->curl)
                sym_curl_easy_cleanup(d->curl);
        if (d->headers)
                sym_curl_slist_free_all(d->headers);
        free(d->cert_path);
        free(d->body);
        free(d);
        return NULL;
}

long docker_status(const struct docker *d) {
        return d->status;
}

bool docker_unsent(const struct docker *d) {
        return d->unsent;
}

const char *docker_message(const struct docker *d) {
        return d->message;
}

/* The engine's errors are {"message": "..."}; keep that text for the caller. */
static void take_engine_message(struct docker *d) {
        _cleanup_json_ json_object *o = NULL;
        json_object *m;

        if (d->body)
                o = json_tokener_parse(d->body);
        if (o && json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
                set_message(d, "%s", json_object_get_string(m));
        else
                set_message(d, "engine answered HTTP %ld", d->status);
}

/*
 * One request on the shared handle. body NULL sends none. Returns 0 when the
 * engine answered with a status in [200, 300), -EREMOTEIO for any other
 * answer, or a transport error.
 */
static int request(
        struct docker *d, const char *method, const char *path, const char *body, size_t body_len) {
        char url[1024];
        CURLcode code;
        int r;

        d->status = 0;
        d->message[0] = '\0';
        d->errbuf[0] = '\0';
        d->body_len = 0;
        d->body_too_big = false;
        if (d->body)
                d->body[0] = '\0';
        r = ensure_curl(d);
        if (r < 0)
                return r;

        r = snprintf(url, sizeof(url), "%s/" DOCKER_API_VERSION "%s", d->base, path);
        if (r < 0 || (size_t)r >= sizeof(url))
                return -ENAMETOOLONG;

        if (sym_curl_easy_setopt(d->curl, CURLOPT_URL, url) != CURLE_OK)
                return -ENOMEM;
        if (body) {
                sym_curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, body);
                sym_curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        } else
                sym_curl_easy_setopt(d->curl, CURLOPT_HTTPGET, 1L);
        sym_curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, streq(method, "GET") ? NULL : method);

        code = sym_curl_easy_perform(d->curl);
        d->unsent = false;
        if (code != CURLE_OK) {
                double pretransfer = 0;

                /* Never connected (or never through TLS): the request was not sent. */
                d->unsent = sym_curl_easy_getinfo(d->curl, CURLINFO_PRETRANSFER_TIME, &pretransfer) ==
                                    CURLE_OK &&
                            pretransfer <= 0;
                if (d->body_too_big) {
                        set_message(d, "engine answer larger than %u bytes", DOCKER_MAX_RESPONSE);
                        return -EMSGSIZE;
                }
                set_message(d, "%s", d->errbuf[0] ? d->errbuf : sym_curl_easy_strerror(code));
                return errno_from_curl(d->curl, code);
        }
        sym_curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
        if (d->status < 200 || d->status >= 300) {
                take_engine_message(d);
                return -EREMOTEIO;
        }
        return 0;
}

static int parse_body(struct docker *d, json_object **ret) {
        json_object *o;

        o = d->body ? json_tokener_parse(d->body) : NULL;
        if (!o) {
                set_message(d, "engine answered with invalid JSON");
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

int docker_ping(struct docker *d) {
        return request(d, "GET", "/_ping", NULL, 0);
}

int docker_ping_within(struct docker *d, uint64_t timeout_ms) {
        uint64_t saved = d->timeout_ms;
        int r;

        if (timeout_ms < saved)
                d->timeout_ms = timeout_ms;
        r = docker_ping(d);
        d->timeout_ms = saved;
        return r;
}

int docker_info(struct docker *d, json_object **ret) {
        int r;

        r = request(d, "GET", "/info", NULL, 0);
        if (r < 0)
                return r;
        return parse_body(d, ret);
}

int docker_version(struct docker *d, json_object **ret) {
        int r;

        r = request(d, "GET", "/version", NULL, 0);
        if (r < 0)
                return r;
        return parse_body(d, ret);
}

/* Container ids come from the engine: refuse anything that is not plain hex. */
static bool id_is_valid(const char *id) {
        size_t n = strlen(id);

        if (n == 0 || n > 64)
                return false;
        return strspn(id, "0123456789abcdef") == n;
}

/* An id, or a name of ours ("docker-run-" and hex): never client input in a URL. */
static bool ref_is_valid(const char *ref) {
        static const char prefix[] = "docker-run-";

        if (id_is_valid(ref))
                return true;
        return strncmp(ref, prefix, sizeof(prefix) - 1) == 0 && id_is_valid(ref + sizeof(prefix) - 1);
}

int docker_create(struct docker *d, const char *name, json_object *body, char **ret_id) {
        _cleanup_json_ json_object *answer = NULL;
        char path[256];
        const char *s, *id;
        size_t len;
        json_object *v;
        char *copy;
        int r;

        r = snprintf(path, sizeof(path), "/containers/create%s%s", name ? "?name=" : "", name ?: "");
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
        if (!s)
                return -ENOMEM;

        r = request(d, "POST", path, s, len);
        if (r < 0)
                return r;
        r = parse_body(d, &answer);
        if (r < 0)
                return r;
        /* "Warnings" may be null, a list, or absent: only "Id" matters. */
        if (!json_object_object_get_ex(answer, "Id", &v) || !json_object_is_type(v, json_type_string)) {
                set_message(d, "engine answer has no container id");
                return -EBADMSG;
        }
        id = json_object_get_string(v);
        if (!id_is_valid(id)) {
                set_message(d, "engine answered an invalid container id");
                return -EBADMSG;
        }
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        *ret_id = copy;
        return 0;
}

static int container_call(struct docker *d, const char *method, const char *id, const char *suffix) {
        char path[256];
        int r;

        if (!ref_is_valid(id))
                return -EINVAL;
        r = snprintf(path, sizeof(path), "/containers/%s%s", id, suffix);
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        return request(d, method, path, streq(method, "POST") ? "" : NULL, 0);
}

int docker_start(struct docker *d, const char *id) {
        int r;

        r = container_call(d, "POST", id, "/start");
        /* 304: already started, which is what we asked for. */
        if (r == -EREMOTEIO && d->status == 304)
                return 0;
        return r;
}

int docker_kill(struct docker *d, const char *id) {
        int r;

        r = container_call(d, "POST", id, "/kill?signal=KILL");
        /* 409: not running any more; the goal is reached. */
        if (r == -EREMOTEIO && d->status == 409)
                return 0;
        return r;
}

int docker_remove(struct docker *d, const char *id) {
        int r;

        r = container_call(d, "DELETE", id, "?v=1&force=1");
        if (r == -EREMOTEIO && d->status == 404)
                return 0;
        return r;
}

int docker_state_parse(json_object *inspect, struct docker_state *ret) {
        json_object *state, *running, *oom, *code;

        if (!json_object_is_type(inspect, json_type_object) ||
                !json_object_object_get_ex(inspect, "State", &state) ||
                !json_object_is_type(state, json_type_object) ||
                !json_object_object_get_ex(state, "Running", &running) ||
                !json_object_is_type(running, json_type_boolean) ||
                !json_object_object_get_ex(state, "ExitCode", &code) ||
                !json_object_is_type(code, json_type_int))
                return -EBADMSG;
        /* Podman leaves OOMKilled out when false. */
        if (json_object_object_get_ex(state, "OOMKilled", &oom) &&
                !json_object_is_type(oom, json_type_boolean))
                return -EBADMSG;
        *ret = (struct docker_state){
                .running = json_object_get_boolean(running),
                .oom_killed = oom && json_object_get_boolean(oom),
                .exit_code = (int)json_object_get_int(code),
        };
        return 0;
}

int docker_inspect_state(struct docker *d, const char *id, struct docker_state *ret) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = container_call(d, "GET", id, "/json");
        if (r < 0)
                return r;
        r = parse_body(d, &o);
        if (r < 0)
                return r;
        r = docker_state_parse(o, ret);
        if (r < 0)
                set_message(d, "engine answered an inspect without a State");
        return r;
}

static int filter_add(json_object *filters, const char *key, const char *value) {
        json_object *a;

        if (!json_object_object_get_ex(filters, key, &a)) {
                a = json_object_new_array();
                if (!a || json_object_object_add(filters, key, a) < 0)
                        return -ENOMEM;
        }
        if (json_object_array_add(a, json_object_new_string(value)) < 0)
                return -ENOMEM;
        return 0;
}

int docker_list(struct docker *d, const struct docker_list_query *q, json_object **ret) {
        _cleanup_json_ json_object *filters = NULL, *answer = NULL;
        _cleanup_(curl_freep) char *escaped = NULL;
        const char *s;
        char path[2048], limit[32] = "";
        int r;

        /* Built with json-c: an image in a label value must not break out of the filter. */
        filters = json_object_new_object();
        if (!filters)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(q->labels) && q->labels[i]; i++)
                if (filter_add(filters, "label", q->labels[i]) < 0)
                        return -ENOMEM;
        if ((q->status && filter_add(filters, "status", q->status) < 0) ||
                (q->before && filter_add(filters, "before", q->before) < 0))
                return -ENOMEM;
        r = ensure_curl(d);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(filters, JSON_C_TO_STRING_PLAIN);
        escaped = s ? sym_curl_easy_escape(d->curl, s, 0) : NULL;
        if (!escaped)
                return -ENOMEM;
        if (q->limit > 0)
                snprintf(limit, sizeof(limit), "&limit=%u", q->limit);
        r = snprintf(path, sizeof(path), "/containers/json?all=1%s&filters=%s", limit, escaped);
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        r = request(d, "GET", path, NULL, 0);
        if (r < 0)
                return r;
        r = parse_body(d, &answer);
        if (r < 0)
                return r;
        if (!json_object_is_type(answer, json_type_array)) {
                set_message(d, "engine answered a list that is not an array");
                return -EBADMSG;
        }
        *ret = TAKE_PTR(answer);
        return 0;
}

/* The stream's own bytes, past the attach answer's head: from the socket, or through TLS. Both return the
 * count, 0 at the end, -EAGAIN when nothing is there now, or another negative errno. */
static ssize_t raw_recv(struct docker_stream *s, void *buf, size_t len) {
        ssize_t n;

        if (s->curl) {
                size_t got = 0;
                CURLcode c = sym_curl_easy_recv(s->curl, buf, len, &got);

                if (c == CURLE_AGAIN)
                        return -EAGAIN;
                return c == CURLE_OK ? (ssize_t)got : -ECONNRESET;
        }
        n = recv(s->fd, buf, len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        return n < 0 ? -errno : n;
}

static ssize_t raw_send(struct docker_stream *s, const void *buf, size_t len) {
        ssize_t n;

        if (s->curl) {
                size_t sent = 0;
                CURLcode c = sym_curl_easy_send(s->curl, buf, len, &sent);

                if (c == CURLE_AGAIN)
                        return -EAGAIN;
                return c == CURLE_OK ? (ssize_t)sent : -EPIPE;
        }
        n = send(s->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        return n < 0 ? -EPIPE : n;
}

static int stream_send_all(struct docker_stream *s, const char *buf, size_t len, usec_t deadline) {
        while (len > 0) {
                size_t n = 0;
                int r;

                r = docker_stream_send(s, buf, len, &n);
                if (r == -EAGAIN) {
                        r = fd_wait(s->fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
                buf += n;
                len -= n;
        }
        return 0;
}

/* Read the attach answer's head; stream bytes after it stay in s->pending. */
static int read_attach_head(struct docker *d, struct docker_stream *s, usec_t deadline) {
        char *buf = s->pending;
        size_t len = 0;
        char *end = NULL;
        int r;

        while (!end) {
                ssize_t n;

                if (len >= sizeof(s->pending) - 1) {
                        set_message(d, "attach answer head larger than %zu bytes", sizeof(s->pending));
                        return -EMSGSIZE;
                }
                n = raw_recv(s, buf + len, sizeof(s->pending) - 1 - len);
                if (n == -EAGAIN) {
                        r = fd_wait(s->fd, POLLIN, deadline);
                        if (r < 0) {
                                set_message(d, "engine did not answer the attach request in time");
                                return r;
                        }
                        continue;
                }
                if (n < 0) {
                        set_message(d, "%s", strerror((int)-n));
                        return -EIO;
                }
                if (n == 0) {
                        set_message(d, "engine closed the connection during attach");
                        return -ECONNRESET;
                }
                len += (size_t)n;
                buf[len] = '\0';
                end = strstr(buf, "\r\n\r\n");
        }

        if (sscanf(buf, "HTTP/1.%*[01] %ld", &d->status) != 1) {
                set_message(d, "engine answered attach with a malformed status line");
                return -EBADMSG;
        }
        if (d->status != 101 && d->status != 200) {
                /* The error body, when it came with the head, carries the engine's message. */
                free(d->body);
                d->body = strdup(end + 4);
                d->body_len = d->body ? strlen(d->body) : 0;
                take_engine_message(d);
                return -EREMOTEIO;
        }
        s->pending_off = (size_t)(end + 4 - buf);
        s->pending_len = len;
        return 0;
}

/* Connect to a unix socket, blocking at most timeout_ms (a full listen backlog), then non-blocking. */
static int connect_unix(const char *path, uint64_t timeout_ms, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
                .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
        r = fd_set_nonblock(fd);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* TCP and the TLS handshake, by libcurl (CONNECT_ONLY), bounded by the connect timeout; then its socket. */
static int connect_tls(struct docker *d, struct docker_stream *s) {
        curl_socket_t fd = CURL_SOCKET_BAD;
        CURLcode code;
        int r;

        r = curlsym_load();
        if (r < 0) {
                set_message(d, "%s", curlsym_error());
                return r;
        }
        s->curl = new_handle(d, d->errbuf);
        if (!s->curl)
                return -ENOMEM;
        d->errbuf[0] = '\0';
        if (sym_curl_easy_setopt(s->curl, CURLOPT_URL, d->base) != CURLE_OK ||
                sym_curl_easy_setopt(s->curl, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK)
                return -ENOMEM;
        code = sym_curl_easy_perform(s->curl);
        if (code != CURLE_OK) {
                set_message(d, "Failed to connect to %s: %s", d->addr.name,
                        d->errbuf[0] ? d->errbuf : sym_curl_easy_strerror(code));
                return errno_from_curl(s->curl, code);
        }
        if (sym_curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
                fd == CURL_SOCKET_BAD) {
                set_message(d, "Failed to connect to %s: no socket", d->addr.name);
                return -EIO;
        }
        s->fd = (int)fd;
        return 0;
}

int docker_attach(struct docker *d, const char *id, usec_t deadline, struct docker_stream **ret) {
        _cleanup_docker_stream_ struct docker_stream *s = NULL;
        char req[512];
        int r;

        d->status = 0;
        d->message[0] = '\0';
        if (!id_is_valid(id))
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1; /* not 0: a failed attach must not close the handler's stdin */
        /* A connection of its own, which the engine hijacks: we speak HTTP on it ourselves, so on a unix
         * socket a plain connect is all it takes (and a warm run answers without loading libcurl at all);
         * over tcp, libcurl makes the TLS connection and carries our bytes. */
        if (d->addr.kind == ENGINE_TCP)
                r = connect_tls(d, s);
        else {
                r = connect_unix(d->addr.path, d->connect_timeout_ms, &s->fd);
                if (r < 0)
                        set_message(d, "Failed to connect to %s: %s", d->addr.path, strerror(-r));
        }
        if (r < 0)
                return r;

        r = snprintf(req, sizeof(req),
                "POST /" DOCKER_API_VERSION
                "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                "Host: localhost\r\n"
                "Content-Length: 0\r\n"
                "Connection: Upgrade\r\n"
                "Upgrade: tcp\r\n"
                "\r\n",
                id);
        if (r < 0 || (size_t)r >= sizeof(req))
                return -ENAMETOOLONG;
        r = stream_send_all(s, req, (size_t)r, deadline);
        if (r < 0) {
                set_message(d, "failed to send the attach request: %s", strerror(-r));
                return r;
        }
        r = read_attach_head(d, s, deadline);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct docker_stream *docker_stream_free(struct docker_stream *s) {
        if (!s)
                return NULL;
        if (s->curl)
                sym_curl_easy_cleanup(s->curl); /* closes its socket */
        else
                closep(&s->fd);
        free(s);
        return NULL;
}

int docker_stream_fd(const struct docker_stream *s) {
        return s->fd;
}

bool docker_stream_pending(const struct docker_stream *s) {
        return s->pending_off < s->pending_len;
}

int docker_stream_send(struct docker_stream *s, const void *buf, size_t len, size_t *ret_n) {
        ssize_t n = raw_send(s, buf, len);

        if (n < 0)
                return (int)n;
        *ret_n = (size_t)n;
        return 0;
}

int docker_stream_recv(struct docker_stream *s, void *buf, size_t len, size_t *ret_n) {
        ssize_t n;

        if (docker_stream_pending(s)) {
                size_t k = s->pending_len - s->pending_off;

                if (k > len)
                        k = len;
                memcpy(buf, s->pending + s->pending_off, k);
                s->pending_off += k;
                *ret_n = k;
                return 0;
        }
        n = raw_recv(s, buf, len);
        if (n == -EAGAIN)
                return -EAGAIN;
        if (n < 0)
                return -ECONNRESET;
        *ret_n = (size_t)n;
        return 0;
}

int docker_stream_shutdown_write(struct docker_stream *s) {
        if (shutdown(s->fd, SHUT_WR) < 0)
                return -errno;
        return 0;
}
