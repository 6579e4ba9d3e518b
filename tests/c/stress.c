/* Hammers the NSS module from many threads and checks every answer.
 *   stress MODULE.so THREADS ITERATIONS
 * Keys are the test fixture's users and groups (tests/fixtures, rfc2307), plus unknown names and
 * ids. An answer is wrong if it is SUCCESS with a name/id that does not match the request or
 * the fixture, or NOTFOUND for an entry that exists. UNAVAIL/TRYAGAIN are allowed (the daemon
 * is being restarted). Prints "lookups=N ok=N unavail=N notfound=N wrong=N" and exits 0. */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef int (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef int (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef int (*initgroups_fn)(const char *, gid_t, long *, long *, gid_t **, long, int *);

static pwnam_fn pwnam;
static pwuid_fn pwuid;
static grnam_fn grnam;
static initgroups_fn initgroups_dyn;
static long iterations;

struct user { const char *name; uid_t uid; gid_t gid; };
static const struct user users[] = {
    {"alice", 10001, 10001}, {"bob", 10002, 10001}, {"carol", 10003, 10003},
    {"dave", 10004, 10001}, {"erin", 10005, 10001},
};
struct grp { const char *name; gid_t gid; int members; };
static const struct grp groups[] = {
    {"employees", 10001, 4}, {"carol", 10003, 1}, {"developers", 20001, 3},
    {"admins", 20002, 1}, {"contractors", 20003, 1},
};
#define NU (sizeof users / sizeof users[0])
#define NG (sizeof groups / sizeof groups[0])

struct counts { long lookups, ok, unavail, notfound, wrong; };

static void *worker(void *arg) {
    struct counts *c = arg;
    unsigned seed = (unsigned)(size_t)arg;
    char buf[4096];
    for (long i = 0; i < iterations; i++) {
        int err = 0, st;
        seed = seed * 1103515245u + 12345u;
        int kind = (seed >> 16) % 5;
        const struct user *u = &users[(seed >> 8) % NU];
        const struct grp *g = &groups[(seed >> 4) % NG];
        c->lookups++;
        if (kind == 0) {
            struct passwd pw;
            st = pwnam(u->name, &pw, buf, sizeof buf, &err);
            if (st == 1) { if (strcmp(pw.pw_name, u->name) || pw.pw_uid != u->uid || pw.pw_gid != u->gid) c->wrong++; else c->ok++; }
            else if (st == 0) { c->notfound++; c->wrong++; }
            else c->unavail++;
        } else if (kind == 1) {
            struct passwd pw;
            st = pwuid(u->uid, &pw, buf, sizeof buf, &err);
            if (st == 1) { if (strcmp(pw.pw_name, u->name) || pw.pw_uid != u->uid) c->wrong++; else c->ok++; }
            else if (st == 0) { c->notfound++; c->wrong++; }
            else c->unavail++;
        } else if (kind == 2) {
            struct group gr;
            st = grnam(g->name, &gr, buf, sizeof buf, &err);
            if (st == 1) {
                int n = 0;
                for (char **m = gr.gr_mem; *m; m++) n++;
                if (strcmp(gr.gr_name, g->name) || gr.gr_gid != g->gid || n != g->members) c->wrong++; else c->ok++;
            } else if (st == 0) { c->notfound++; c->wrong++; }
            else c->unavail++;
        } else if (kind == 3) {
            struct passwd pw;
            char name[32];
            snprintf(name, sizeof name, "nosuch%u", seed % 1000);
            st = pwnam(name, &pw, buf, sizeof buf, &err);
            if (st == 1) c->wrong++;
            else if (st == 0) { c->notfound++; c->ok++; }
            else c->unavail++;
        } else {
            long start = 0, size = 4;
            gid_t *gs = malloc(size * sizeof(gid_t));
            st = initgroups_dyn(u->name, u->gid, &start, &size, &gs, 0, &err);
            if (st == 1) {
                int bad = 0;
                for (long k = 0; k < start; k++) if (gs[k] == u->gid || gs[k] < 10000) bad = 1;
                if (bad) c->wrong++; else c->ok++;
            } else if (st == 0) { c->notfound++; c->wrong++; }
            else c->unavail++;
            free(gs);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: stress MODULE THREADS ITERATIONS\n"); return 4; }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 4; }
    pwnam = (pwnam_fn)dlsym(h, "_nss_ldaprs_getpwnam_r");
    pwuid = (pwuid_fn)dlsym(h, "_nss_ldaprs_getpwuid_r");
    grnam = (grnam_fn)dlsym(h, "_nss_ldaprs_getgrnam_r");
    initgroups_dyn = (initgroups_fn)dlsym(h, "_nss_ldaprs_initgroups_dyn");
    if (!pwnam || !pwuid || !grnam || !initgroups_dyn) { fprintf(stderr, "missing symbols\n"); return 4; }
    int threads = atoi(argv[2]);
    iterations = atol(argv[3]);
    pthread_t *t = calloc(threads, sizeof *t);
    struct counts *c = calloc(threads, sizeof *c);
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, &c[i]);
    struct counts sum = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        sum.lookups += c[i].lookups; sum.ok += c[i].ok; sum.unavail += c[i].unavail;
        sum.notfound += c[i].notfound; sum.wrong += c[i].wrong;
    }
    printf("lookups=%ld ok=%ld unavail=%ld notfound=%ld wrong=%ld\n", sum.lookups, sum.ok, sum.unavail, sum.notfound, sum.wrong);
    return 0;
}
