/* SPDX-License-Identifier: MIT */
/* test-docker: the engine client against a one-answer stub engine on a unix socket. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker.h"
#include "tap.h"

enum call { CALL_PING, CALL_VERSION };

static const struct {
        const char *name;
        enum call call;
        const char *status_line; /* NULL: no engine listens on the socket */
        const char *body;
        int expect;
        long expect_status;
        const char *expect_message;
} rows[] = {
        { "ping", CALL_PING, "200 OK", "OK", 0, 200, "" },
        { "version", CALL_VERSION, "200 OK", "{\"ApiVersion\":\"1.41\"}", 0, 200, "" },
        { "engine error", CALL_PING, "500 Internal Server Error", "{\"message\":\"boom\"}", -EREMOTEIO, 500,
                "boom" },
        { "error without a message", CALL_PING, "404 Not Found", "nope", -EREMOTEIO, 404,
                "engine answered HTTP 404" },
        { "version not json", CALL_VERSION, "200 OK", "{\"ApiVersion\":", -EBADMSG, 200,
                "engine answered with invalid JSON" },
        { "no engine", CALL_PING, NULL, NULL, -ENOENT, 0, NULL },
};

/* In a child: answer the first request on fd with one canned HTTP response, then exit. */
static void serve_once(int fd, const char *status_line, const char *body) {
        char buf[4096], answer[1024];
        size_t got = 0;
        int c, n;

        alarm(5); /* never outlive a client that does not come */
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                _exit(1);
        while (got < sizeof(buf) - 1) {
                ssize_t k = read(c, buf + got, sizeof(buf) - 1 - got);

                if (k <= 0)
                        _exit(1);
                got += (size_t)k;
                buf[got] = '\0';
                if (strstr(buf, "\r\n\r\n"))
                        break;
        }
        n = snprintf(answer, sizeof(answer),
                "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: "
                "close\r\n\r\n%s",
                status_line, strlen(body), body);
        if (n < 0 || (size_t)n >= sizeof(answer) || write(c, answer, (size_t)n) != n)
                _exit(1);
        close(c);
        _exit(0);
}

static int call(struct docker *d, enum call which) {
        json_object *o = NULL;
        int r;

        if (which == CALL_PING)
                return docker_ping(d);
        r = docker_version(d, &o);
        json_object_put(o);
        return r;
}

static void run_row(size_t i, const char *dir) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_docker_ struct docker *d = NULL;
        pid_t pid = -1;
        int fd = -1, r, wstatus;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/engine-%zu.sock", dir, i);
        if (rows[i].status_line) {
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                CHECK(fd >= 0, "%s: socket: %m", rows[i].name);
                CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s: bind: %m", rows[i].name);
                CHECK(listen(fd, 1) == 0, "%s: listen: %m", rows[i].name);
                pid = fork();
                CHECK(pid >= 0, "%s: fork: %m", rows[i].name);
                if (pid == 0)
                        serve_once(fd, rows[i].status_line, rows[i].body);
                close(fd);
        }

        {
                struct engine_addr a;

                CHECK(engine_addr_unix(sa.sun_path, &a) == 0, "%s: engine address", rows[i].name);
                r = docker_new(&a, NULL, 2000, 2000, &d);
        }
        CHECK(r == 0, "%s: docker_new: %d (an option this libcurl refuses?)", rows[i].name, r);
        if (r == 0) {
                r = call(d, rows[i].call);
                CHECK(r == rows[i].expect, "%s: got %d, expected %d (%s)", rows[i].name, r, rows[i].expect,
                        docker_message(d));
                CHECK(docker_status(d) == rows[i].expect_status, "%s: status %ld", rows[i].name,
                        docker_status(d));
                if (rows[i].expect_message)
                        CHECK(streq(docker_message(d), rows[i].expect_message), "%s: message '%s'",
                                rows[i].name, docker_message(d));
        }

        if (pid > 0) {
                bool answered = d && docker_status(d) != 0;

                if (!answered)
                        kill(pid, SIGKILL); /* the client never reached it */
                CHECK(waitpid(pid, &wstatus, 0) == pid, "%s: waitpid: %m", rows[i].name);
                if (answered)
                        CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "%s: the stub engine failed",
                                rows[i].name);
        }
        unlink(sa.sun_path);
}

/* docker_state_parse: the State of an inspect answer, Docker's and Podman's. */
static void test_state_parse(void) {
        static const struct {
                const char *json;
                int expect;
                bool running, oom;
                int exit_code;
        } cases[] = {
                { "{\"State\":{\"Running\":false,\"OOMKilled\":true,\"ExitCode\":137}}", 0, false, true,
                        137 },
                { "{\"State\":{\"Running\":true,\"OOMKilled\":false,\"ExitCode\":0}}", 0, true, false, 0 },
                /* Podman leaves OOMKilled out when false */
                { "{\"State\":{\"Running\":false,\"ExitCode\":2}}", 0, false, false, 2 },
                { "{\"State\":{\"Running\":false,\"OOMKilled\":\"yes\",\"ExitCode\":2}}", -EBADMSG },
                { "{\"State\":{\"Running\":0,\"ExitCode\":2}}", -EBADMSG },
                { "{\"State\":{\"Running\":false}}", -EBADMSG },
                { "{\"State\":null}", -EBADMSG },
                { "{}", -EBADMSG },
                { "[]", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_object *o = json_tokener_parse(cases[i].json);
                struct docker_state st = { .running = true, .oom_killed = true, .exit_code = -1 };
                int r = docker_state_parse(o, &st);

                CHECK(r == cases[i].expect, "state %s: %d", cases[i].json, r);
                if (r == 0)
                        CHECK(st.running == cases[i].running && st.oom_killed == cases[i].oom &&
                                        st.exit_code == cases[i].exit_code,
                                "state %s: running %d oom %d exit %d", cases[i].json, st.running,
                                st.oom_killed, st.exit_code);
                json_object_put(o);
        }
}

int main(void) {
        char dir[] = "/tmp/test-docker-XXXXXX";

        test_state_parse();

        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                run_row(i, dir);
        rmdir(dir);
        return tap_finish("test-docker");
}
