/* SPDX-License-Identifier: MIT */
/* runner: a small glot code runner for the test images. It reads one JSON payload on stdin, writes its
 * files into the current directory, runs the command and prints exactly one JSON object
 * {"stdout","stderr","error"} on stdout. It never writes to its own stderr: the handler treats any
 * runner stderr as a failure of the runner itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#define PAYLOAD_MAX (16u * 1024 * 1024)
#define OUTPUT_MAX  (8u * 1024 * 1024)
#define CHUNK       (64u * 1024)

#define streq(a, b) (strcmp((a), (b)) == 0)

struct buf {
        char *data;
        size_t len;
        size_t allocated;
};

struct result {
        struct buf out;
        struct buf err;
        char error[512];
};

static int fail(struct result *r, int ret, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(r->error, sizeof(r->error), fmt, ap);
        va_end(ap);
        return ret;
}

/* Keeps at most limit bytes; the rest is dropped so the child can keep writing without blocking. */
static int buf_append(struct buf *b, const char *p, size_t n, size_t limit) {
        if (b->len >= limit)
                return 0;
        if (n > limit - b->len)
                n = limit - b->len;
        if (b->len + n > b->allocated) {
                size_t want = b->allocated ? b->allocated : CHUNK;
                char *d;

                while (want < b->len + n)
                        want *= 2;
                d = realloc(b->data, want);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->allocated = want;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

static void buf_reset(struct buf *b) {
        free(b->data);
        *b = (struct buf){ 0 };
}

/* Reads fd to EOF; -EFBIG once more than limit bytes arrive. */
static int read_all(int fd, size_t limit, struct buf *b) {
        char chunk[CHUNK];

        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                if ((size_t)n > limit - b->len)
                        return -EFBIG;
                r = buf_append(b, chunk, n, limit);
                if (r < 0)
                        return r;
        }
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

/* Only plain relative names: the files must land below the working directory. */
static bool file_name_ok(const char *name) {
        const char *p = name;

        if (!*name || *name == '/')
                return false;
        for (;;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                if (!p[n])
                        return true;
                p += n + 1;
        }
}

static int mkdir_parents(const char *path) {
        char *copy = strdup(path);
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (char *s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        break;
                }
                *s = '/';
        }
        free(copy);
        return r;
}

static int write_file(const char *name, const char *content, size_t len) {
        int fd, r;

        r = mkdir_parents(name);
        if (r < 0)
                return r;
        fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, content, len);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

static int write_files(struct json_object *files, struct result *r) {
        size_t n;

        if (json_object_is_type(files, json_type_null))
                return 0;
        if (!json_object_is_type(files, json_type_array))
                return fail(r, -EINVAL, "files must be an array");
        n = json_object_array_length(files);
        for (size_t i = 0; i < n; i++) {
                struct json_object *f = json_object_array_get_idx(files, i), *name, *content;
                const char *s;
                int k;

                if (!json_object_is_type(f, json_type_object) ||
                        !json_object_object_get_ex(f, "name", &name) ||
                        !json_object_is_type(name, json_type_string) ||
                        !json_object_object_get_ex(f, "content", &content) ||
                        !json_object_is_type(content, json_type_string))
                        return fail(r, -EINVAL, "files[%zu] must have a string name and content", i);
                s = json_object_get_string(name);
                /* An embedded NUL would silently shorten the name. */
                if ((size_t)json_object_get_string_len(name) != strlen(s) || !file_name_ok(s))
                        return fail(r, -EINVAL, "invalid file name: %s", s);
                k = write_file(s, json_object_get_string(content), json_object_get_string_len(content));
                if (k < 0)
                        return fail(r, k, "failed to write file %s: %s", s, strerror(-k));
        }
        return 0;
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* Runs /bin/sh with argv and in on its stdin, capturing stdout and stderr. Stdin is fed through poll
 * with the output pipes so that a child which never reads it, or writes more than a pipe holds
 * before reading, cannot deadlock us. */
static int run_argv(char *const argv[], const char *in, size_t in_len, struct result *r) {
        int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
        size_t off = 0;
        int status, k = 0;
        pid_t pid = -1;

        buf_reset(&r->out);
        buf_reset(&r->err);
        r->error[0] = '\0';

        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
                k = -errno;
                goto finish;
        }

        pid = fork();
        if (pid < 0) {
                k = -errno;
                goto finish;
        }
        if (pid == 0) {
                /* dup2 clears O_CLOEXEC on the copies; the originals go away at exec. */
                if (dup2(pin[0], STDIN_FILENO) < 0 || dup2(pout[1], STDOUT_FILENO) < 0 ||
                        dup2(perr[1], STDERR_FILENO) < 0)
                        _exit(127);
                /* Ignored signals survive exec: give the command the usual SIGPIPE. */
                signal(SIGPIPE, SIG_DFL);
                execv("/bin/sh", argv);
                _exit(127);
        }

        close_fd(&pin[0]);
        close_fd(&pout[1]);
        close_fd(&perr[1]);
        if (in_len == 0)
                close_fd(&pin[1]);
        else if (fcntl(pin[1], F_SETFL, O_NONBLOCK) < 0)
                close_fd(&pin[1]);

        while (pin[1] >= 0 || pout[0] >= 0 || perr[0] >= 0) {
                struct pollfd p[3];
                int *fds[3];
                nfds_t n = 0;

                if (pin[1] >= 0) {
                        fds[n] = &pin[1];
                        p[n++] = (struct pollfd){ .fd = pin[1], .events = POLLOUT };
                }
                if (pout[0] >= 0) {
                        fds[n] = &pout[0];
                        p[n++] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
                }
                if (perr[0] >= 0) {
                        fds[n] = &perr[0];
                        p[n++] = (struct pollfd){ .fd = perr[0], .events = POLLIN };
                }

                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        k = -errno;
                        break;
                }

                for (nfds_t i = 0; i < n; i++) {
                        char chunk[CHUNK];
                        ssize_t m;

                        if (!p[i].revents)
                                continue;

                        if (fds[i] == &pin[1]) {
                                m = write(pin[1], in + off, in_len - off);
                                if (m < 0) {
                                        if (errno == EAGAIN || errno == EINTR)
                                                continue;
                                        /* EPIPE: the child is done reading; the rest is not wanted. */
                                        close_fd(&pin[1]);
                                        continue;
                                }
                                off += (size_t)m;
                                if (off == in_len)
                                        close_fd(&pin[1]);
                                continue;
                        }

                        m = read(*fds[i], chunk, sizeof(chunk));
                        if (m < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (m <= 0) {
                                close_fd(fds[i]);
                                continue;
                        }
                        k = buf_append(fds[i] == &pout[0] ? &r->out : &r->err, chunk, m, OUTPUT_MAX);
                        if (k < 0)
                                goto finish;
                }
        }

finish:
        close_fd(&pin[0]);
        close_fd(&pin[1]);
        close_fd(&pout[0]);
        close_fd(&pout[1]);
        close_fd(&perr[0]);
        close_fd(&perr[1]);
        if (k < 0 && pid <= 0)
                return fail(r, k, "failed to start command: %s", strerror(-k));

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return fail(r, -errno, "failed to wait for command: %s", strerror(errno));
        if (k < 0)
                return fail(r, k, "failed to run command: %s", strerror(-k));

        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                return fail(r, 1, "Exit code: %d", WEXITSTATUS(status));
        if (WIFSIGNALED(status))
                return fail(r, 1, "Killed by signal %d", WTERMSIG(status));
        return 0;
}

static int run_command(const char *cmd, const char *in, size_t in_len, struct result *r) {
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };

        return run_argv(argv, in, in_len, r);
}

/* A key that is absent is fine; one of the wrong type is not. */
static int get_string(struct json_object *o, const char *key, const char **ret, size_t *ret_len) {
        struct json_object *v;

        *ret = NULL;
        if (ret_len)
                *ret_len = 0;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = json_object_get_string(v);
        if (ret_len)
                *ret_len = json_object_get_string_len(v);
        return 0;
}

static int run_instructions(struct json_object *ri, const char *in, size_t in_len, struct result *r) {
        struct json_object *builds = NULL;
        const char *cmd;

        if (!json_object_is_type(ri, json_type_object))
                return fail(r, -EINVAL, "runInstructions must be an object");
        if (json_object_object_get_ex(ri, "buildCommands", &builds) &&
                !json_object_is_type(builds, json_type_null)) {
                size_t n;

                if (!json_object_is_type(builds, json_type_array))
                        return fail(r, -EINVAL, "runInstructions.buildCommands must be an array of strings");
                n = json_object_array_length(builds);
                for (size_t i = 0; i < n; i++)
                        if (!json_object_is_type(json_object_array_get_idx(builds, i), json_type_string))
                                return fail(r, -EINVAL,
                                        "runInstructions.buildCommands must be an array of strings");
                /* Builds get no stdin; the first failure is the answer, output and all. */
                for (size_t i = 0; i < n; i++) {
                        int k = run_command(
                                json_object_get_string(json_object_array_get_idx(builds, i)), "", 0, r);

                        if (k != 0)
                                return k;
                }
        }
        if (get_string(ri, "runCommand", &cmd, NULL) < 0 || !cmd || !*cmd)
                return fail(r, -EINVAL, "runInstructions.runCommand must be a non-empty string");
        return run_command(cmd, in, in_len, r);
}

static int run_language(struct json_object *payload, const char *in, size_t in_len, struct result *r) {
        struct json_object *files, *first;
        const char *cmd, *language, *name;
        char *argv[3] = { (char *)"sh", NULL, NULL }, *dotted = NULL;
        int k;

        if (get_string(payload, "command", &cmd, NULL) < 0)
                return fail(r, -EINVAL, "command must be a string");
        if (cmd && *cmd)
                return run_command(cmd, in, in_len, r);

        if (get_string(payload, "language", &language, NULL) < 0 || !language)
                return fail(r, -EINVAL, "language must be a string");
        if (!streq(language, "sh") && !streq(language, "bash"))
                return fail(r, -EINVAL, "unsupported language");
        /* write_files() has checked the shape of every entry already. */
        if (!json_object_object_get_ex(payload, "files", &files) ||
                !json_object_is_type(files, json_type_array) || json_object_array_length(files) == 0)
                return fail(r, -EINVAL, "no files given");
        first = json_object_array_get_idx(files, 0);
        json_object_object_get_ex(first, "name", &first);
        name = json_object_get_string(first);

        /* Passed as an argument, not through sh -c: no quoting to get wrong. A leading dash would
         * read as an option. */
        if (name[0] == '-') {
                if (asprintf(&dotted, "./%s", name) < 0)
                        return fail(r, -ENOMEM, "out of memory");
                name = dotted;
        }
        argv[1] = (char *)name;
        k = run_argv(argv, in, in_len, r);
        free(dotted);
        return k;
}

static int run_payload(const struct buf *input, struct result *r) {
        struct json_object *payload, *ri;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        const char *in;
        size_t in_len, end;
        int k;

        if (input->len > 0 && memchr(input->data, '\0', input->len))
                return fail(r, -EINVAL, "invalid payload json: NUL byte");
        tok = json_tokener_new();
        if (!tok)
                return fail(r, -ENOMEM, "out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        payload = json_tokener_parse_ex(tok, input->data ? input->data : "", (int)input->len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (jerr == json_tokener_continue)
                return fail(r, -EINVAL, "invalid payload json: unexpected end of input");
        if (jerr != json_tokener_success)
                return fail(r, -EINVAL, "invalid payload json: %s", json_tokener_error_desc(jerr));
        for (size_t i = end; i < input->len; i++)
                if (!strchr(" \t\r\n", input->data[i])) {
                        json_object_put(payload);
                        return fail(r, -EINVAL, "invalid payload json: trailing data");
                }
        if (!json_object_is_type(payload, json_type_object)) {
                json_object_put(payload);
                return fail(r, -EINVAL, "payload must be a json object");
        }

        if (get_string(payload, "stdin", &in, &in_len) < 0) {
                k = fail(r, -EINVAL, "stdin must be a string");
                goto out;
        }
        if (!in)
                in = "";

        k = write_files(json_object_object_get(payload, "files"), r);
        if (k < 0)
                goto out;

        if (json_object_object_get_ex(payload, "runInstructions", &ri) &&
                !json_object_is_type(ri, json_type_null))
                k = run_instructions(ri, in, in_len, r);
        else
                k = run_language(payload, in, in_len, r);
out:
        json_object_put(payload);
        return k;
}

static int print_result(const struct result *r) {
        struct json_object *o = json_object_new_object();
        const char *s;
        size_t len;
        int k;

        if (!o)
                return -ENOMEM;
        /* Insertion order is kept: the handler's size accounting expects stdout, stderr, error. */
        json_object_object_add(
                o, "stdout", json_object_new_string_len(r->out.data ? r->out.data : "", r->out.len));
        json_object_object_add(
                o, "stderr", json_object_new_string_len(r->err.data ? r->err.data : "", r->err.len));
        json_object_object_add(o, "error", json_object_new_string(r->error));
        s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        k = s ? write_all(STDOUT_FILENO, s, len) : -ENOMEM;
        json_object_put(o);
        return k;
}

int main(void) {
        struct result r = { 0 };
        struct buf input = { 0 };
        int k;

        /* A child that exits without reading its stdin must give us EPIPE, not kill us. */
        signal(SIGPIPE, SIG_IGN);

        k = read_all(STDIN_FILENO, PAYLOAD_MAX, &input);
        if (k == -EFBIG)
                fail(&r, k, "payload too large (over %u bytes)", PAYLOAD_MAX);
        else if (k < 0)
                fail(&r, k, "failed to read payload: %s", strerror(-k));
        else
                run_payload(&input, &r);
        buf_reset(&input);

        k = print_result(&r);
        buf_reset(&r.out);
        buf_reset(&r.err);
        return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
