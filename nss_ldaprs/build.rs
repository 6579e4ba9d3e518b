// rustc sets no SONAME on a cdylib; glibc and ldconfig expect libnss_ldaprs.so.2
// (research/ecosystem.md §1.3, verified).
//
// -z nodelete: the module keeps a mapping of the shared cache and static state that other
// threads may be using; glibc never unloads NSS modules, but a program that dlopen()s the
// module itself (a benchmark, a test harness) could, and must not pull them from under a
// running lookup.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnss_ldaprs.so.2");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
