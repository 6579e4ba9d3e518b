/* security.md NSS-01: a process that starts with fds 0-2 closed, then opens files that get
 * fds 0, 1 and 2 ("victims"), then does lookups. The module must never use or write to them,
 * and must not leak fds.
 *   stdio MODULE.so VICTIM_PREFIX RESULT_FILE
 * Writes "alice=S nosuch=S group=S pre=S fds_before=N fds_after=N" to RESULT_FILE (pre: a
 * lookup made while 0-2 were still closed). */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef int (*grnam_fn)(const char *, struct group *, char *, size_t, int *);

static int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) return 4;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) return 4;
    pwnam_fn pwnam = (pwnam_fn)dlsym(h, "_nss_ldaprs_getpwnam_r");
    grnam_fn grnam = (grnam_fn)dlsym(h, "_nss_ldaprs_getgrnam_r");
    if (!pwnam || !grnam) return 4;
    close(0); close(1); close(2);
    char buf[4096];
    struct passwd pw;
    struct group gr;
    int err;
    /* With 0-2 closed, socket() would return fd 0: the module must move it to >= 3. */
    int pre = pwnam("alice", &pw, buf, sizeof buf, &err);
    char path[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%d", argv[2], i);
        if (open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) != i) return 5;
    }
    int before = count_fds();
    int a = 0, n = 0, g = 0;
    for (int i = 0; i < 50; i++) {
        a = pwnam("alice", &pw, buf, sizeof buf, &err);
        n = pwnam("nosuch", &pw, buf, sizeof buf, &err);
        g = grnam("developers", &gr, buf, sizeof buf, &err);
    }
    int after = count_fds();
    int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) return 6;
    dprintf(out, "alice=%d nosuch=%d group=%d pre=%d fds_before=%d fds_after=%d\n", a, n, g, pre, before, after);
    close(out);
    return 0;
}
