// pam_get_user, pam_get_item, pam_set_item and pam_syslog live in libpam (libpam0g-dev).
//
// -z nodelete: libpam dlopen()s the module at every pam_start() and dlclose()s it at
// pam_end(). Unloading would also unload libgcc_s (Rust's unwinder, needed for
// catch_unwind), whose initialiser runs CPUID probes that cost ~150 µs on virtual machines at
// every reload. Staying loaded after the first use makes later pam_start() calls cheap.
fn main() {
    println!("cargo:rustc-link-lib=dylib=pam");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
}
