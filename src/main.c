/* SPDX-License-Identifier: MIT */
/* docker-run: serve one HTTP request on a socket-activated or inetd connection. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "apierror.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "parse.h"
#include "serve.h"
#include "sweep.h"

/* The sweeper's mode: no connection, the same configuration, one pass. */
static int sweep(int64_t grace_sec) {
        struct config c;
        char error[512];
        int r;

        log_setup(true);
        r = config_load(&c, CONFIG_LOAD_SWEEPER, error, sizeof(error));
        if (r < 0) {
                log_message(LOG_ERR, "Invalid configuration: %s", error);
                return 1;
        }
        r = sweep_run(&c, grace_sec);
        config_free(&c);
        if (r < 0)
                return 1;
        log_message(LOG_INFO, "Sweep done: %d leftover container(s) removed", r);
        return 0;
}

/* What the handler sees of its configuration, and whether it accepts it: for operators and the tests. */
static int check_config(void) {
        struct config c;
        char error[512];
        int r;

        r = config_load(&c, 0, error, sizeof(error));
        if (r < 0) {
                fprintf(stderr, "Invalid configuration: %s\n", error);
                return 1;
        }
        config_print(stdout);
        config_free(&c);
        return 0;
}

int main(int argc, char *argv[]) {
        struct conn c;
        int r;

        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("docker-run %s\n", PACKAGE_VERSION_STRING);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--check-config") == 0)
                return check_config();
        /* What the documentation must say: a test holds the README, the man page and the configuration to
         * it. */
        if (argc == 2 && strcmp(argv[1], "--list-variables") == 0) {
                config_list_variables(stdout);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--list-errors") == 0) {
                for (int e = 0; e < _APIERROR_MAX; e++)
                        printf("%s\t%d\n", apierror_code((enum apierror)e),
                                apierror_status((enum apierror)e));
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--list-fields") == 0) {
                log_list_fields(stdout);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "--sweep") == 0) {
                uint64_t grace = SWEEP_GRACE_SEC;

                /* An optional grace in seconds, for tests and impatient operators; bounded, so that adding
                 * it to a deadline can never wrap around into the past. */
                if (argc > 3 || (argc == 3 && parse_u64_str(argv[2], 0, SWEEP_GRACE_MAX_SEC, &grace) < 0)) {
                        fprintf(stderr, "Usage: docker-run --sweep [GRACE_SECONDS], at most %u seconds\n",
                                SWEEP_GRACE_MAX_SEC);
                        return SERVE_EXIT_INTERNAL;
                }
                signal(SIGPIPE, SIG_IGN);
                return sweep((int64_t)grace);
        }
        if (argc > 1) {
                fprintf(stderr,
                        "Usage: docker-run [--sweep [GRACE_SECONDS] | --check-config | --version]\n");
                return SERVE_EXIT_INTERNAL;
        }

        /* A client that leaves must not kill us before the container is removed. */
        signal(SIGPIPE, SIG_IGN);

        r = conn_open(&c);
        log_setup(r < 0 || !conn_is_client(&c, STDERR_FILENO));
        if (r < 0) {
                log_message(LOG_ERR, "Failed to find the connection (socket activation or inetd): %s",
                        r == -EISCONN ? "got a listening socket; the socket unit needs Accept=yes"
                                      : strerror(-r));
                return SERVE_EXIT_INTERNAL;
        }
        return serve_connection(&c);
}
