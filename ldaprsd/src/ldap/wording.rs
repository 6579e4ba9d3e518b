//! Plain words for what TLS libraries and servers report, and names for the OIDs an admin
//! meets in the RootDSE.

/// Names of the OIDs an admin cares about in the RootDSE.
pub fn known_oid(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113556.1.4.319" => "paged results",
        "1.3.6.1.4.1.4203.1.11.3" => "who am I",
        "1.3.6.1.4.1.4203.1.11.1" => "password modify",
        "1.3.6.1.4.1.1466.20037" => "StartTLS",
        "1.3.6.1.4.1.42.2.27.8.5.1" => "password policy",
        "2.16.840.1.113730.3.4.18" => "proxied authorization",
        "1.2.840.113556.1.4.473" => "server-side sort",
        _ => return None,
    })
}

/// Adds plain words to the TLS verification errors rustls reports.
pub fn explain(err: &str) -> String {
    let hints = [
        (
            "UnknownIssuer",
            "the certificate is not signed by a CA in ca_file (self-signed or another CA)",
        ),
        (
            "NotValidForName",
            "the certificate is not issued for this host name or address",
        ),
        (
            "not valid for name",
            "the certificate is not issued for this host name or address",
        ),
        ("Expired", "the certificate has expired"),
        ("certificate expired", "the certificate has expired"),
        (
            "NotValidYet",
            "the certificate is not valid yet (check the clock)",
        ),
        (
            "CaUsedAsEndEntity",
            "the server presents a CA certificate as its own",
        ),
        ("Revoked", "the certificate is revoked"),
        ("BadSignature", "the certificate's signature is invalid"),
    ];
    if err.contains("invalid peer certificate") {
        if let Some((_, h)) = hints.iter().find(|(k, _)| err.contains(k)) {
            return format!("TLS certificate rejected: {h} ({err})");
        }
        return format!("TLS certificate rejected ({err})");
    }
    if err.contains("StartTLS") || err.contains("1.3.6.1.4.1.1466.20037") {
        return format!("StartTLS failed, not falling back to plain text ({err})");
    }
    err.to_string()
}
