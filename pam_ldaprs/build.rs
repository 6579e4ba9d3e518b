// pam_get_user, pam_get_item, pam_set_item and pam_syslog live in libpam (libpam0g-dev).
fn main() {
    println!("cargo:rustc-link-lib=dylib=pam");
}
