/* SPDX-License-Identifier: MIT */
/* log: one structured journald record per request, stderr when journald is absent. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

#define FIELD_MAX LOG_FIELD_MAX

static bool stderr_ok;
static bool journal_ok;

void log_setup(bool stderr_allowed) {
        stderr_ok = stderr_allowed;
        /* sd_journal_send() drops records silently when journald is absent: look for it ourselves. */
        journal_ok = access("/run/systemd/journal/socket", F_OK) == 0;
}

void log_escape(char *buf, size_t size, const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        if (size == 0)
                return;
        for (size_t i = 0; s && i < len; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
                        if (o + 1 >= size)
                                break;
                        buf[o++] = (char)ch;
                } else {
                        if (o + 4 >= size)
                                break;
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[ch >> 4];
                        buf[o++] = hex[ch & 15];
                }
        }
        buf[o] = '\0';
}

/* Untrusted values are escaped; MESSAGE is built from escaped parts already. */
static void field(struct iovec *iov, size_t *n, char *storage, size_t size, const char *name,
        const char *value, size_t value_len, bool escape) {
        size_t len = (size_t)snprintf(storage, size, "%s=", name);

        if (escape)
                log_escape(storage + len, size - len, value, value_len);
        else
                snprintf(storage + len, size - len, "%s", value);
        iov[*n] = (struct iovec){ .iov_base = storage, .iov_len = strlen(storage) };
        (*n)++;
}

static void number(struct iovec *iov, size_t *n, char *storage, size_t size, const char *name,
        unsigned long long value) {
        snprintf(storage, size, "%s=%llu", name, value);
        iov[*n] = (struct iovec){ .iov_base = storage, .iov_len = strlen(storage) };
        (*n)++;
}

static void to_stderr(int priority, const char *text) {
        if (stderr_ok)
                fprintf(stderr, "<%d>%s\n", priority, text);
}

static const struct {
        const char *name;
        size_t offset;
} strings[] = {
        { "DOCKER_RUN_REQUEST_ID", offsetof(struct log_record, request_id) },
        { "DOCKER_RUN_REMOTE", offsetof(struct log_record, remote) },
        { "DOCKER_RUN_PROXY", offsetof(struct log_record, proxy) },
        { "DOCKER_RUN_PROXY_REQUEST_ID", offsetof(struct log_record, proxy_request_id) },
        { "DOCKER_RUN_METHOD", offsetof(struct log_record, method) },
        { "DOCKER_RUN_PATH", offsetof(struct log_record, path) },
        { "DOCKER_RUN_ERROR", offsetof(struct log_record, error) },
        { "DOCKER_RUN_ERROR_MESSAGE", offsetof(struct log_record, message) },
        { "DOCKER_RUN_IMAGE", offsetof(struct log_record, image) },
        { "DOCKER_RUN_CONTAINER_ID", offsetof(struct log_record, container_id) },
        { "DOCKER_RUN_ENGINE", offsetof(struct log_record, engine) },
};
static const struct {
        const char *name;
        size_t offset;
} durations[] = {
        { "DOCKER_RUN_DURATION_USEC", offsetof(struct log_record, duration_usec) },
        { "DOCKER_RUN_CLAIM_USEC", offsetof(struct log_record, claim_usec) },
        { "DOCKER_RUN_CREATE_USEC", offsetof(struct log_record, create_usec) },
        { "DOCKER_RUN_ATTACH_USEC", offsetof(struct log_record, attach_usec) },
        { "DOCKER_RUN_START_USEC", offsetof(struct log_record, start_usec) },
        { "DOCKER_RUN_RUN_USEC", offsetof(struct log_record, run_usec) },
        { "DOCKER_RUN_REMOVE_USEC", offsetof(struct log_record, remove_usec) },
};

void log_request(const struct log_record *r) {
        enum { N_FIELDS = ELEMENTSOF(strings) + ELEMENTSOF(durations) + 4 };
        char storage[N_FIELDS][FIELD_MAX + 64];
        char method[32], path[256], image[256], msg[FIELD_MAX], text[FIELD_MAX * 2];
        struct iovec iov[N_FIELDS];
        /* What an operator filters on: 5xx are errors; 4xx and a client that left before its answer
         * (status 0) are warnings; answers are info. */
        int priority = r->status >= 500                     ? LOG_ERR
                       : r->status >= 400 || r->status == 0 ? LOG_WARNING
                                                            : LOG_INFO;
        bool with_engine = r->engine && r->engine_in_message;
        size_t n = 0;

        log_escape(method, sizeof(method), r->method ?: "-", strlen(r->method ?: "-"));
        log_escape(path, sizeof(path), r->path ?: "-", strlen(r->path ?: "-"));
        log_escape(image, sizeof(image), r->image ?: "", strlen(r->image ?: ""));
        log_escape(
                msg, sizeof(msg), r->message ?: "", r->message ? (r->message_len ?: strlen(r->message)) : 0);
        snprintf(text, sizeof(text), "%s %s%s%s -> %d%s%s%s%s in %llu ms (request %s%s%.12s%s%s%s)", method,
                path, r->image ? " image=" : "", image, r->status, r->error ? " " : "", r->error ?: "",
                r->message ? ": " : "", msg, (unsigned long long)(r->duration_usec / USEC_PER_MSEC),
                r->request_id ?: "-", r->container_id ? ", container " : "", r->container_id ?: "",
                r->warm ? ", warm" : "", with_engine ? ", engine " : "", with_engine ? r->engine : "");

        field(iov, &n, storage[n], sizeof(storage[0]), "MESSAGE", text, 0, false);
        number(iov, &n, storage[n], sizeof(storage[0]), "PRIORITY", (unsigned long long)priority);
        field(iov, &n, storage[n], sizeof(storage[0]), "SYSLOG_IDENTIFIER", "docker-run", 0, false);
        number(iov, &n, storage[n], sizeof(storage[0]), "DOCKER_RUN_STATUS", (unsigned long long)r->status);
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                const char *v = *(const char *const *)((const char *)r + strings[i].offset);

                size_t len = v ? strlen(v) : 0;

                if (v && strings[i].offset == offsetof(struct log_record, message) && r->message_len > 0)
                        len = r->message_len;
                if (len > 0)
                        field(iov, &n, storage[n], sizeof(storage[0]), strings[i].name, v, len, true);
        }
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                usec_t v = *(const usec_t *)((const char *)r + durations[i].offset);

                if (v > 0)
                        number(iov, &n, storage[n], sizeof(storage[0]), durations[i].name, v);
        }

        if (!journal_ok || sd_journal_sendv(iov, (int)n) < 0)
                to_stderr(priority, text);
}

void log_list_fields(FILE *f) {
        fputs("DOCKER_RUN_STATUS\n", f);
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                fprintf(f, "%s\n", strings[i].name);
        for (size_t i = 0; i < ELEMENTSOF(durations); i++)
                fprintf(f, "%s\n", durations[i].name);
}

void log_message(int priority, const char *fmt, ...) {
        char text[FIELD_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (!journal_ok || sd_journal_send("MESSAGE=%s", text, "PRIORITY=%i", priority,
                                   "SYSLOG_IDENTIFIER=docker-run", NULL) < 0) {
                /* One line per message on stderr: an engine's message may hold a newline. */
                char line[FIELD_MAX * 4];

                log_escape(line, sizeof(line), text, strlen(text));
                to_stderr(priority, line);
        }
}
