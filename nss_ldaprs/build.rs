// rustc sets no SONAME on a cdylib; glibc and ldconfig expect libnss_ldaprs.so.2
// (research/ecosystem.md §1.3, verified).
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnss_ldaprs.so.2");
}
