/* SPDX-License-Identifier: MIT */
/* metrics-sample: a rendering with a non-zero value in every family and odd label values, on stdout. */
#include <stdio.h>
#include <stdlib.h>

#include "apierror.h"
#include "metrics.h"

int main(int argc, char **argv) {
        static const struct metrics_engine engines[] = { { "local", true },
                { "odd \"engine\"\\\nname é", false } };
        static const struct metrics_warm_image warm[] = { { "glot/bash:latest", 2 },
                { "quote\" backslash\\ newline\n café", 1 } };
        const char *codes[_APIERROR_MAX];
        struct metrics_scrape s = {
                .codes = codes,
                .n_codes = _APIERROR_MAX,
                .engines = engines,
                .n_engines = sizeof(engines) / sizeof(engines[0]),
                .warm = warm,
                .n_warm = sizeof(warm) / sizeof(warm[0]),
                .runs_in_flight = 3,
                .runs_waiting = 1,
        };
        struct metrics *m = NULL;
        char *text = NULL;
        size_t len = 0;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
                return EXIT_FAILURE;
        }
        r = metrics_open(argv[1], &m);
        if (r < 0) {
                fprintf(stderr, "metrics_open %s: %s\n", argv[1], strerror(-r));
                return EXIT_FAILURE;
        }
        for (unsigned i = 0; i < _APIERROR_MAX; i++) {
                codes[i] = apierror_code(i);
                metrics_run_error(m, i);
        }
        for (unsigned route = 0; route < _METRICS_ROUTE_MAX; route++) {
                metrics_request(m, route, 200);
                metrics_request(m, route, 599);
        }
        metrics_run_ok(m);
        metrics_warm(m, true);
        metrics_warm(m, false);
        for (unsigned e = 0; e < s.n_engines; e++) {
                metrics_engine_failure(m, e);
                for (unsigned p = 0; p < _METRICS_PHASE_MAX; p++)
                        metrics_engine_phase(m, e, p, 1000u * (p + 1) * (e + 1));
        }
        metrics_run_duration(m, 1234567);
        metrics_run_duration(m, 90 * USEC_PER_SEC);
        metrics_queue_wait(m, 4000);
        r = metrics_render(m, &s, &text, &len);
        metrics_close(m);
        if (r < 0) {
                fprintf(stderr, "metrics_render: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        fwrite(text, 1, len, stdout);
        free(text);
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
