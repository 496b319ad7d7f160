/* SPDX-License-Identifier: MIT */
/* rusage: run a command as our child, write its CPU time in microseconds and its peak RSS (tests/bench). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux carries the high-water mark of a forked copy of the parent's memory across exec into the child's
 * ru_maxrss: any child of the Python benchmark would report at least Python's own peak. A child of this
 * small program reports its own. Writes "UTIME_US STIME_US MAXRSS_KIB WAIT_STATUS" to OUTPUT. */
int main(int argc, char *argv[]) {
        struct rusage ru;
        FILE *out;
        pid_t pid;
        int status, null;

        if (argc < 3) {
                fprintf(stderr, "Usage: rusage OUTPUT COMMAND [ARGUMENT...]\n");
                return 2;
        }
        out = fopen(argv[1], "we");
        if (!out) {
                perror(argv[1]);
                return 2;
        }
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 2;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                perror(argv[2]);
                _exit(127);
        }
        /* The command's stdin and stdout are its connection: our copies would keep it open after it exits.
         */
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0) {
                perror("/dev/null");
                return 2;
        }
        close(null);
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        perror("wait4");
                        return 2;
                }
        fprintf(out, "%lld %lld %ld %d\n", (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
                (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, status);
        return fclose(out) == 0 ? 0 : 2;
}
