/* SPDX-License-Identifier: MIT */
/* docker-run: serve one HTTP request on a socket-activated or inetd connection. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>

#include "conn.h"
#include "log.h"
#include "run.h"

int main(int argc, char *argv[]) {
        struct conn c;
        int r;

        if (argc > 1 && (strcmp(argv[1], "--version") == 0)) {
                printf("docker-run %s\n", PACKAGE_VERSION_STRING);
                return 0;
        }

        /* A client that leaves must not kill us before the container is removed. */
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
                return RUN_EXIT_INTERNAL;

        r = conn_open(&c);
        log_setup(r < 0 || !conn_is_client(&c, STDERR_FILENO));
        if (r < 0) {
                log_message(LOG_ERR, "Failed to find the connection (socket activation or inetd): %s",
                        r == -EISCONN ? "got a listening socket; the socket unit needs Accept=yes"
                                      : strerror(-r));
                return RUN_EXIT_INTERNAL;
        }
        r = run_serve(&c);
        curl_global_cleanup();
        return r;
}
