/* Times N runs of a command as sshd runs its AuthorizedKeysCommand: fork, exec, stdout read
 * through a pipe until EOF, wait. Prints one line per run: "us=MICROSECONDS bytes=STDOUT_BYTES".
 * Exits 1 if a run does not exit 0.
 *   spawn_time N /path/to/command ARGS...   (tests/tests/ssh_keys.rs) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn_time N COMMAND [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("pipe");
            return 1;
        }
        long long t0 = now_us();
        pid_t pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            close(p[0]);
            close(p[1]);
            execv(argv[2], argv + 2);
            _exit(127);
        }
        close(p[1]);
        char buf[65536];
        long bytes = 0;
        ssize_t r;
        while ((r = read(p[0], buf, sizeof buf)) > 0)
            bytes += r;
        close(p[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        long long t1 = now_us();
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "run %d: status %d\n", i, st);
            return 1;
        }
        printf("us=%lld bytes=%ld\n", t1 - t0, bytes);
    }
    return 0;
}
