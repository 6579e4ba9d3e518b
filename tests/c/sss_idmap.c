/* SSSD's own id mapping, for comparison with ldaprs's (tests/tests/ad_idmap.rs): loads
 * libsss_idmap.so.0 (Debian's libsss-idmap0, the library sssd_be uses for ldap_id_mapping),
 * computes the domain's range as SSSD does (sss_idmap_calculate_range with slice -1), adds the
 * domain and maps each SID.
 * Usage: sss_idmap LOWER UPPER RANGESIZE DOMAIN_SID SID...   prints "slice N min A max B",
 * then "SID ID" per SID. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct sss_idmap_range { uint32_t min; uint32_t max; };
typedef int (*init_fn)(void *, void *, void *, void **);
typedef int (*set_fn)(void *, uint32_t);
typedef int (*calc_fn)(void *, const char *, uint32_t *, struct sss_idmap_range *);
typedef int (*add_fn)(void *, const char *, const char *, struct sss_idmap_range *);
typedef int (*map_fn)(void *, const char *, uint32_t *);

static void *sym(void *h, const char *name) {
    void *p = dlsym(h, name);
    if (!p) { fprintf(stderr, "no %s in libsss_idmap.so.0\n", name); exit(2); }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: sss_idmap LOWER UPPER RANGESIZE DOMAIN_SID SID...\n"); return 2; }
    void *h = dlopen("libsss_idmap.so.0", RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    void *ctx = NULL;
    if (((init_fn)sym(h, "sss_idmap_init"))(NULL, NULL, NULL, &ctx) != 0) return 3;
    ((set_fn)sym(h, "sss_idmap_ctx_set_lower"))(ctx, (uint32_t)strtoul(argv[1], NULL, 10));
    ((set_fn)sym(h, "sss_idmap_ctx_set_upper"))(ctx, (uint32_t)strtoul(argv[2], NULL, 10));
    ((set_fn)sym(h, "sss_idmap_ctx_set_rangesize"))(ctx, (uint32_t)strtoul(argv[3], NULL, 10));
    uint32_t slice = (uint32_t)-1;
    struct sss_idmap_range r;
    int err = ((calc_fn)sym(h, "sss_idmap_calculate_range"))(ctx, argv[4], &slice, &r);
    if (err != 0) { fprintf(stderr, "calculate_range: %d\n", err); return 4; }
    printf("slice %u min %u max %u\n", slice, r.min, r.max);
    err = ((add_fn)sym(h, "sss_idmap_add_domain"))(ctx, "dom", argv[4], &r);
    if (err != 0) { fprintf(stderr, "add_domain: %d\n", err); return 5; }
    for (int i = 5; i < argc; i++) {
        uint32_t id = 0;
        err = ((map_fn)sym(h, "sss_idmap_sid_to_unix"))(ctx, argv[i], &id);
        if (err != 0) printf("%s error %d\n", argv[i], err);
        else printf("%s %u\n", argv[i], id);
    }
    return 0;
}
