/* SPDX-License-Identifier: MIT */
/* jsontext-verdict: jsontext's and json-c's verdicts, for the differential test against Python. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonc-strict.h"
#include "jsontext.h"
#include "jsontext-cases.h"
#include "util.h"

#define DEPTH   128
#define DOC_MAX (1u << 24) /* the largest document in a stream */

static void verdict(const char *buf, size_t len) {
        bool ours = jsontext_validate(buf, len, DEPTH, NULL, NULL, NULL) == 0;

        printf("%s %s\n", ours ? "valid" : "invalid", jsonc_strict_accepts(buf, len) ? "valid" : "invalid");
}

static int read_exact(void *buf, size_t n) {
        size_t got = fread(buf, 1, n, stdin);

        if (got == n)
                return 1;
        return got == 0 ? 0 : -EIO;
}

/* Documents on stdin, each as a 4-byte big-endian length and its bytes; one verdict line each. */
static int stream(void) {
        _cleanup_free_ char *buf = malloc(DOC_MAX);
        uint8_t head[4];
        int r;

        if (!buf)
                return -ENOMEM;
        while ((r = read_exact(head, sizeof(head))) > 0) {
                uint32_t n =
                        (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];

                if (n > DOC_MAX || (n > 0 && read_exact(buf, n) <= 0))
                        return -EIO;
                verdict(buf, n);
        }
        fflush(stdout);
        return r;
}

/* The unit test's table, in the stream format. */
static void dump_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(jsontext_cases); i++) {
                uint32_t n = (uint32_t)jsontext_cases[i].len;
                uint8_t head[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

                fwrite(head, 1, sizeof(head), stdout);
                fwrite(jsontext_cases[i].doc, 1, n, stdout);
        }
        fflush(stdout);
}

static int file(const char *path) {
        _cleanup_free_ char *buf = malloc(DOC_MAX);
        FILE *f = fopen(path, "rbe");
        size_t n;

        if (!f || !buf) {
                if (f)
                        fclose(f);
                return -errno;
        }
        n = fread(buf, 1, DOC_MAX, f);
        fclose(f);
        printf("%s: ", path);
        verdict(buf, n);
        return 0;
}

int main(int argc, char *argv[]) {
        int r = 0;

        if (argc == 2 && streq(argv[1], "--cases")) {
                dump_cases();
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "-")) {
                r = stream();
                if (r < 0)
                        fprintf(stderr, "jsontext-verdict: bad stream on stdin: %s\n", strerror(-r));
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (argc < 2) {
                fprintf(stderr, "usage: jsontext-verdict FILE... | - (length-prefixed stream) | --cases\n");
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++)
                if (file(argv[i]) < 0) {
                        fprintf(stderr, "jsontext-verdict: %s: %m\n", argv[i]);
                        r = -1;
                }
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
