/* A hostile local client for the hardening tests: keeps up to N connections to the daemon's
 * socket open for SECONDS, sending the request frame HEX on each and never reading the answer;
 * a connection the daemon closes is opened again at once. Prints how many connections were
 * opened, and how many the daemon closed without answering (refused or dropped).
 * usage: flood SOCKET N SECONDS HEX */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    const char *path = argv[1];
    int n = atoi(argv[2]);
    double secs = atof(argv[3]);
    size_t hl = strlen(argv[4]) / 2;
    unsigned char *frame = malloc(hl ? hl : 1);
    for (size_t i = 0; i < hl; i++) sscanf(argv[4] + 2 * i, "%2hhx", &frame[i]);
    int *fds = calloc(n, sizeof(int));
    for (int i = 0; i < n; i++) fds[i] = -1;
    long opened = 0, closed = 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    double end = now() + secs;
    while (now() < end) {
        for (int i = 0; i < n; i++) {
            if (fds[i] >= 0) {
                char b[64];
                ssize_t r = recv(fds[i], b, sizeof b, MSG_DONTWAIT | MSG_PEEK);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                    close(fds[i]);
                    fds[i] = -1;
                    closed++;
                }
                continue;
            }
            int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (s < 0) continue;
            if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
                close(s);
                continue;
            }
            opened++;
            (void)send(s, frame, hl, MSG_NOSIGNAL | MSG_DONTWAIT);
            fds[i] = s;
        }
        usleep(2000);
    }
    printf("opened=%ld closed=%ld\n", opened, closed);
    return 0;
}
