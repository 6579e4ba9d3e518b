//! Kerberos failures in words an admin can act on: the krb5 error code under a GSS-API
//! failure (the minor status, krb5.h's `KRB5…` codes) named, with what to check.

use libgssapi::error::Error;

// krb5.h (com_err table krb5, base -1765328384).
const C_PRINCIPAL_UNKNOWN: i32 = -1_765_328_378;
const S_PRINCIPAL_UNKNOWN: i32 = -1_765_328_377;
const KEY_EXPIRED: i32 = -1_765_328_361;
const PREAUTH_FAILED: i32 = -1_765_328_360;
const BAD_INTEGRITY: i32 = -1_765_328_353;
const CLOCK_SKEW: i32 = -1_765_328_347;
/// The KDC's reply is outside our clock skew (checked by us when kdc_timesync is off).
const KDC_REPLY_SKEW: i32 = -1_765_328_236;
const REALM_UNKNOWN: i32 = -1_765_328_230;
const KDC_UNREACHABLE: i32 = -1_765_328_228;
const KT_NOTFOUND: i32 = -1_765_328_203;
const REALM_CANT_RESOLVE: i32 = -1_765_328_164;
const KT_KVNO_NOTFOUND: i32 = -1_765_328_154;

/// What went wrong, by kind (the caller picks what to say around it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClientUnknown,
    ServerUnknown,
    WrongKey,
    KeyExpired,
    ClockSkew,
    KdcUnreachable,
    NotInKeytab,
    Other,
}

pub fn kind(e: &Error) -> Kind {
    kind_of_code(e.minor as i32)
}

/// The kind of a krb5 error code (libkrb5's return value, or GSS-API's minor status).
pub fn kind_of_code(code: i32) -> Kind {
    match code {
        C_PRINCIPAL_UNKNOWN => Kind::ClientUnknown,
        S_PRINCIPAL_UNKNOWN => Kind::ServerUnknown,
        PREAUTH_FAILED | BAD_INTEGRITY => Kind::WrongKey,
        KEY_EXPIRED => Kind::KeyExpired,
        CLOCK_SKEW | KDC_REPLY_SKEW => Kind::ClockSkew,
        KDC_UNREACHABLE | REALM_UNKNOWN | REALM_CANT_RESOLVE => Kind::KdcUnreachable,
        KT_NOTFOUND | KT_KVNO_NOTFOUND => Kind::NotInKeytab,
        _ => Kind::Other,
    }
}

/// Our clock as an admin compares it with the KDC's: `YYYY-MM-DD HH:MM:SS UTC`.
fn our_clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    crate::clock::utc(now)
}

/// The ticket for `principal` from the keytab (the AS exchange) failed.
pub fn describe_initial(e: &Error, principal: &str, keytab: &str) -> String {
    let realm = principal.rsplit_once('@').map(|x| x.1).unwrap_or("");
    let hint = match kind(e) {
        Kind::ClientUnknown => format!("the KDC of {realm} does not know {principal}: create it (kadmin: addprinc -randkey {principal}) or set [servers.sasl] principal"),
        Kind::WrongKey => format!("the key in {keytab} is not the KDC's for {principal} (re-created or re-keyed since the keytab was written: extract it again with kadmin ktadd, or check the kvno with klist -k)"),
        Kind::KeyExpired => format!("the KDC says the key of {principal} has expired"),
        Kind::ClockSkew => format!("clock skew: the KDC's clock and ours differ by more than the allowed skew (clockskew in krb5.conf, 300 s by default); ours says {} (compare `date -u` on the KDC; the Kerberos library does not report the KDC's time); sync both with NTP, or leave kdc_timesync at its default 1 so that the KDC's time is adopted", our_clock()),
        Kind::KdcUnreachable => format!("no KDC of realm {realm} answered: check [realms] {realm} kdc in krb5.conf (or the _kerberos._udp/_tcp SRV records with dns_lookup_kdc), the network and the firewall (port 88)"),
        Kind::NotInKeytab => format!("{keytab} has no key for {principal} (klist -k {keytab} lists its keys)"),
        Kind::ServerUnknown => format!("the KDC of {realm} does not know krbtgt/{realm}: is {realm} the right realm?"),
        Kind::Other => "see krb5.conf and klist -k for the keytab".to_string(),
    };
    format!("Kerberos: no ticket for {principal} from keytab {keytab}: {e}: {hint}")
}

/// The directory's ticket (the TGS exchange for `target`) failed.
pub fn describe_service(e: &Error, principal: &str, target: &str, key_set: bool) -> String {
    let hint = match kind(e) {
        Kind::ServerUnknown => {
            let key = if key_set {
                "check [servers.sasl] server_principal"
            } else {
                "the name comes from the URI's host; set [servers.sasl] server_principal to the directory's principal (e.g. a name shared by several servers: server_principal = \"ldap/ldap.example.com\")"
            };
            format!("the KDC does not know the server principal {target}: {key}")
        }
        Kind::ClockSkew => format!(
            "clock skew between this host and the KDC; ours says {}",
            our_clock()
        ),
        Kind::KdcUnreachable => {
            "no KDC answered for the service ticket: check krb5.conf's [realms] and [domain_realm]"
                .to_string()
        }
        _ => format!("as {principal} towards {target}"),
    };
    format!("Kerberos: no service ticket for {target}: {e}: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use libgssapi::error::MajorFlags;

    fn err(minor: i32) -> Error {
        Error {
            major: MajorFlags::GSS_S_FAILURE,
            minor: minor as u32,
        }
    }

    #[test]
    fn codes_are_named() {
        assert_eq!(kind(&err(CLOCK_SKEW)), Kind::ClockSkew);
        assert_eq!(kind(&err(KDC_UNREACHABLE)), Kind::KdcUnreachable);
        assert_eq!(kind(&err(S_PRINCIPAL_UNKNOWN)), Kind::ServerUnknown);
        assert_eq!(kind(&err(0)), Kind::Other);
        let m = describe_service(&err(S_PRINCIPAL_UNKNOWN), "host/a@R", "ldap/x@R", false);
        assert!(
            m.contains("server principal ldap/x@R") && m.contains("server_principal"),
            "{m}"
        );
        let m = describe_initial(&err(CLOCK_SKEW), "host/a@R", "/k");
        assert!(m.contains("clock skew") && m.contains("ours says"), "{m}");
        let utc = crate::clock::utc;
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_133_432), "2026-12-01 13:57:12 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        let m = describe_initial(&err(KDC_UNREACHABLE), "host/a@R", "/k");
        assert!(m.contains("no KDC of realm R answered"), "{m}");
    }
}
