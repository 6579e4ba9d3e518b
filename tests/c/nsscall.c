/* Calls the NSS module's exports directly, the way glibc does, and prints what came back.
 *   nsscall MODULE.so pwnam NAME [BUFLEN]   |  pwuid UID  |  grnam NAME  |  grgid GID
 *   nsscall MODULE.so initgroups NAME [SKIPGID] [LIMIT]
 * Output: "status=S errno=E us=MICROSECONDS" then the record (passwd/group line or gids).
 * A buffer is allocated with exactly BUFLEN bytes (default 1024) so that ERANGE is testable. */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef int (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef int (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef int (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef int (*initgroups_fn)(const char *, gid_t, long *, long *, gid_t **, long, int *);

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void *sym(void *h, const char *name) {
    void *f = dlsym(h, name);
    if (!f) { fprintf(stderr, "missing %s\n", name); exit(4); }
    return f;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: nsscall MODULE OP ARG [BUFLEN]\n"); return 4; }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 4; }
    const char *op = argv[2], *arg = argv[3];
    size_t buflen = argc > 4 ? strtoul(argv[4], NULL, 10) : 1024;
    char *buf = malloc(buflen ? buflen : 1);
    int err = 0, st;
    long long t0, t1;
    if (!strcmp(op, "pwnam") || !strcmp(op, "pwuid")) {
        struct passwd pw;
        t0 = now_us();
        if (!strcmp(op, "pwnam")) st = ((pwnam_fn)sym(h, "_nss_ldaprs_getpwnam_r"))(arg, &pw, buf, buflen, &err);
        else st = ((pwuid_fn)sym(h, "_nss_ldaprs_getpwuid_r"))((uid_t)strtoul(arg, NULL, 10), &pw, buf, buflen, &err);
        t1 = now_us();
        printf("status=%d errno=%d us=%lld\n", st, err, t1 - t0);
        if (st == 1) printf("%s:%s:%u:%u:%s:%s:%s\n", pw.pw_name, pw.pw_passwd, pw.pw_uid, pw.pw_gid, pw.pw_gecos, pw.pw_dir, pw.pw_shell);
    } else if (!strcmp(op, "grnam") || !strcmp(op, "grgid")) {
        struct group gr;
        t0 = now_us();
        if (!strcmp(op, "grnam")) st = ((grnam_fn)sym(h, "_nss_ldaprs_getgrnam_r"))(arg, &gr, buf, buflen, &err);
        else st = ((grgid_fn)sym(h, "_nss_ldaprs_getgrgid_r"))((gid_t)strtoul(arg, NULL, 10), &gr, buf, buflen, &err);
        t1 = now_us();
        printf("status=%d errno=%d us=%lld\n", st, err, t1 - t0);
        if (st == 1) {
            printf("%s:%s:%u:", gr.gr_name, gr.gr_passwd, gr.gr_gid);
            for (char **m = gr.gr_mem; *m; m++) printf("%s%s", *m, m[1] ? "," : "");
            printf("\n");
        }
    } else if (!strcmp(op, "initgroups")) {
        long start = 0, size = argc > 6 ? 1 : 4;
        gid_t skip = argc > 4 ? (gid_t)strtoul(argv[4], NULL, 10) : 0;
        long limit = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
        gid_t *groups = malloc(size * sizeof(gid_t));
        t0 = now_us();
        st = ((initgroups_fn)sym(h, "_nss_ldaprs_initgroups_dyn"))(arg, skip, &start, &size, &groups, limit, &err);
        t1 = now_us();
        printf("status=%d errno=%d us=%lld\n", st, err, t1 - t0);
        for (long i = 0; i < start; i++) printf("%u%s", groups[i], i + 1 < start ? " " : "\n");
        free(groups);
    } else {
        fprintf(stderr, "unknown op %s\n", op);
        return 4;
    }
    free(buf);
    return 0;
}
