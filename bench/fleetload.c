/*
 * fleetload: the "typical workload" of one host of bench/fleet. It dlopen()s the NSS module
 * (libnss_ldaprs.so.2, as glibc would load it for `passwd: files ldaprs`) and calls its entry
 * points directly, so that every answer's NSS status is seen (glibc folds UNAVAIL and
 * NOTFOUND into "no such user"). Every call is logged, one line each:
 *
 *     <unix time, ms> <op> <key> <status> <microseconds>
 *
 * status: ok | notfound | unavail | tryagain | error. Every user asked for exists in the
 * directory, so anything but "ok" is a failed lookup.
 *
 * The load, at random (exponential) intervals of mean 1/RATE seconds:
 *   50 %  `ls -l` of a directory: getpwuid of 5 users of the host's own 30 (repeats)
 *   35 %  a login: getpwnam + initgroups + getpwuid of one user, 90 % one of the host's
 *         30, 10 % any of the N users (new ones: the cold path)
 *   15 %  cron: getpwnam of the host's first 3 users
 *
 *   fleetload -l LIB -n N -u UIDSTART -r RATE -d SECONDS -s SEED -o LOGFILE
 * Stops after SECONDS or at SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <nss.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getpwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long *, long *, gid_t **, long,
                                         int *);

static getpwnam_fn f_getpwnam;
static getpwuid_fn f_getpwuid;
static initgroups_fn f_initgroups;
static FILE *out;
static volatile sig_atomic_t stop;
static unsigned long long rng_state;

#define HOT 30

static void on_signal(int s) { (void)s; stop = 1; }

static double now_s(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double unit(void) { /* xorshift64*, [0,1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static const char *word(enum nss_status st) {
    switch (st) {
    case NSS_STATUS_SUCCESS: return "ok";
    case NSS_STATUS_NOTFOUND: return "notfound";
    case NSS_STATUS_UNAVAIL: return "unavail";
    case NSS_STATUS_TRYAGAIN: return "tryagain";
    default: return "error";
    }
}

static void record(const char *op, const char *key, enum nss_status st, double t0) {
    double t1 = now_s(CLOCK_MONOTONIC);
    fprintf(out, "%lld %s %s %s %.0f\n", (long long)(now_s(CLOCK_REALTIME) * 1000), op, key,
            word(st), (t1 - t0) * 1e6);
}

/* Buffers grow on ERANGE, as glibc's do. */
static char *buf;
static size_t blen = 1024;

static void do_getpwnam(const char *name) {
    struct passwd pw;
    int err = 0;
    double t0 = now_s(CLOCK_MONOTONIC);
    enum nss_status st;
    for (;;) {
        st = f_getpwnam(name, &pw, buf, blen, &err);
        if (!(st == NSS_STATUS_TRYAGAIN && err == ERANGE)) break;
        blen *= 2;
        buf = realloc(buf, blen);
    }
    record("getpwnam", name, st, t0);
}

static void do_getpwuid(uid_t uid) {
    struct passwd pw;
    int err = 0;
    char key[32];
    double t0 = now_s(CLOCK_MONOTONIC);
    enum nss_status st;
    for (;;) {
        st = f_getpwuid(uid, &pw, buf, blen, &err);
        if (!(st == NSS_STATUS_TRYAGAIN && err == ERANGE)) break;
        blen *= 2;
        buf = realloc(buf, blen);
    }
    snprintf(key, sizeof key, "%u", (unsigned)uid);
    record("getpwuid", key, st, t0);
}

static void do_initgroups(const char *name) {
    long start = 0, size = 16;
    gid_t *groups = malloc(size * sizeof *groups);
    int err = 0;
    double t0 = now_s(CLOCK_MONOTONIC);
    enum nss_status st = f_initgroups(name, (gid_t)-1, &start, &size, &groups, 65536, &err);
    /* A user without secondary groups is "notfound" from initgroups_dyn; the bench data gives
     * every user ~5 groups, so that too is a failure here. */
    record("initgroups", name, st, t0);
    free(groups);
}

static void *sym(void *h, const char *name) {
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "fleetload: %s: %s\n", name, dlerror());
        exit(2);
    }
    return p;
}

int main(int argc, char **argv) {
    const char *lib = NULL, *logfile = NULL;
    long n = 10000, uid0 = 10000, seed = 1;
    double rate = 1.0, dur = 60;
    int c;
    while ((c = getopt(argc, argv, "l:n:u:r:d:s:o:")) != -1) {
        switch (c) {
        case 'l': lib = optarg; break;
        case 'n': n = atol(optarg); break;
        case 'u': uid0 = atol(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 's': seed = atol(optarg); break;
        case 'o': logfile = optarg; break;
        default: fprintf(stderr, "usage: see the comment at the top of fleetload.c\n"); return 2;
        }
    }
    if (!lib || !logfile || n < HOT || rate <= 0) {
        fprintf(stderr, "fleetload: -l LIB and -o LOGFILE are required, N >= %d, RATE > 0\n",
                HOT);
        return 2;
    }
    void *h = dlopen(lib, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "fleetload: %s\n", dlerror());
        return 2;
    }
    f_getpwnam = (getpwnam_fn)sym(h, "_nss_ldaprs_getpwnam_r");
    f_getpwuid = (getpwuid_fn)sym(h, "_nss_ldaprs_getpwuid_r");
    f_initgroups = (initgroups_fn)sym(h, "_nss_ldaprs_initgroups_dyn");
    out = fopen(logfile, "a");
    if (!out) {
        perror(logfile);
        return 2;
    }
    setvbuf(out, NULL, _IOLBF, 0);
    buf = malloc(blen);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    rng_state = 0x9e3779b97f4a7c15ULL ^ ((unsigned long long)seed * 0x100000001b3ULL);
    long hot[HOT];
    for (int i = 0; i < HOT; i++) hot[i] = (long)(unit() * n);
    double end = now_s(CLOCK_MONOTONIC) + dur;
    char name[32];
    while (!stop && now_s(CLOCK_MONOTONIC) < end) {
        double wait = -log(1.0 - unit()) / rate;
        struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
        if (stop) break;
        double r = unit();
        if (r < 0.50) {
            for (int i = 0; i < 5; i++) do_getpwuid((uid_t)(uid0 + hot[(int)(unit() * HOT)]));
        } else if (r < 0.85) {
            long u = unit() < 0.9 ? hot[(int)(unit() * HOT)] : (long)(unit() * n);
            snprintf(name, sizeof name, "user%06ld", u);
            do_getpwnam(name);
            do_initgroups(name);
            do_getpwuid((uid_t)(uid0 + u));
        } else {
            for (int i = 0; i < 3; i++) {
                snprintf(name, sizeof name, "user%06ld", hot[i]);
                do_getpwnam(name);
            }
        }
    }
    fclose(out);
    return 0;
}
