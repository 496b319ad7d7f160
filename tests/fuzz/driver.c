/* SPDX-License-Identifier: MIT */
/* driver: replay files (or every file of directories) through a fuzz target without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (1024u * 1024u)

static int replay(const char *path) {
        static uint8_t buf[INPUT_MAX];
        FILE *f = fopen(path, "rb");
        size_t n;

        if (!f) {
                perror(path);
                return 1;
        }
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        return 0;
}

int main(int argc, char *argv[]) {
        int failed = 0, count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *e;

                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed |= replay(argv[i]);
                        count++;
                        continue;
                }
                d = opendir(argv[i]);
                if (!d) {
                        perror(argv[i]);
                        return 1;
                }
                while ((e = readdir(d))) {
                        char path[4096];

                        if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        failed |= replay(path);
                        count++;
                }
                closedir(d);
        }
        printf("replayed %d input(s)\n", count);
        return failed;
}
