//! `ldaprsctl server test`: for each URI, what an admin needs to see why a server is or is not
//! used — TCP connect time, StartTLS answer, TLS version and certificate (subject, issuer,
//! expiry, verification verdict), the service bind's result, and the RootDSE.

use crate::ldap::uri::host_port;
use crate::ldap::wording::explain;
use crate::ldap::ServerBlock;
use ldaprs_common::config::{seconds, TlsMode};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One URI's findings, printed line by line; `usable` is the verdict.
pub struct Report {
    pub uri: String,
    pub lines: Vec<(String, String)>,
    pub usable: bool,
}

impl Report {
    fn add(&mut self, k: &str, v: impl Into<String>) {
        self.lines.push((k.to_string(), v.into()));
    }
    fn fail(&mut self, k: &str, v: impl Into<String>) {
        self.add(k, v);
        self.usable = false;
    }
}

/// The StartTLS extended request (RFC 4511 §4.14.1), message id 1.
const STARTTLS_REQUEST: &[u8] = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16\x31\x2e\x33\x2e\x36\x2e\x31\x2e\x34\x2e\x31\x2e\x31\x34\x36\x36\x2e\x32\x30\x30\x33\x37";

/// The resultCode of an ExtendedResponse: the first ENUMERATED after tag 0x78.
fn extended_result_code(resp: &[u8]) -> Option<u8> {
    let at = resp.iter().position(|&b| b == 0x78)?;
    let rest = resp.get(at..)?;
    let e = rest
        .windows(3)
        .position(|w| w.first() == Some(&0x0a) && w.get(1) == Some(&0x01))?;
    rest.get(e + 2).copied()
}

fn describe_cert(der: &[u8]) -> String {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => {
            let left = c
                .validity()
                .time_to_expiration()
                .map(|d| format!("{} days left", d.whole_days()))
                .unwrap_or_else(|| "EXPIRED or not yet valid".into());
            format!(
                "subject {}; issuer {}; valid until {} ({left})",
                c.subject(),
                c.issuer(),
                c.validity().not_after
            )
        }
        Err(e) => format!("unparsable certificate: {e}"),
    }
}

fn handshake(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    mut sock: TcpStream,
) -> Result<rustls::ClientConnection, String> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("bad server name {host}: {e}"))?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| {
            explain(&format!("invalid peer certificate: {e}"))
                .replace("invalid peer certificate: ", "")
        })?;
    }
    Ok(conn)
}

/// A TCP connection to `host:port` within `timeout`, and how long it took.
fn tcp_connect(host: &str, port: u16, timeout: Duration) -> Result<(TcpStream, Duration), String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or("no address")?;
    let t = Instant::now();
    let s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    Ok((s, t.elapsed()))
}

/// Sends the StartTLS request and reads the resultCode of the answer.
fn starttls(sock: &mut TcpStream) -> Option<u8> {
    let mut buf = [0u8; 256];
    let res = sock
        .write_all(STARTTLS_REQUEST)
        .and_then(|_| sock.read(&mut buf));
    res.ok()
        .and_then(|n| buf.get(..n).and_then(extended_result_code))
}

/// The TLS part, blocking, with plain sockets (so that we see the handshake itself).
fn tls_probe(block: &ServerBlock, uri: &str, r: &mut Report) {
    let starttls_wanted = uri.starts_with("ldap://") && block.cfg.tls.mode == TlsMode::Starttls;
    let ldaps = uri.starts_with("ldaps://");
    let Some((host, port)) = host_port(uri) else {
        r.fail("uri", "cannot parse host and port");
        return;
    };
    let timeout = seconds(block.cfg.connect_timeout);
    let (mut sock, took) = match tcp_connect(&host, port, timeout) {
        Ok(x) => x,
        Err(e) => {
            r.fail("tcp connect", format!("FAILED: {e}"));
            return;
        }
    };
    r.add(
        "tcp connect",
        format!("ok in {:.2} ms", took.as_secs_f64() * 1000.0),
    );
    if !starttls_wanted && !ldaps {
        let plain = if block.cfg.auth.method == ldaprs_common::config::AuthMethod::Krb5 {
            "plain LDAP; user passwords are not sent here: logins go to the KDC ([servers.auth] method = \"krb5\")"
        } else if block.cfg.allow_cleartext_passwords {
            "plain LDAP; user passwords ARE sent in clear text (allow_cleartext_passwords)"
        } else {
            "plain LDAP; user passwords are NOT sent here, logins through it fail"
        };
        r.add("tls", plain);
        return;
    }
    if starttls_wanted {
        match starttls(&mut sock) {
            Some(0) => r.add("starttls", "accepted (resultCode 0)"),
            Some(rc) => {
                r.fail("starttls", format!("REFUSED by the server (resultCode {rc}); ldaprs never falls back to plain text"));
                return;
            }
            None => {
                r.fail("starttls", "no valid answer to the StartTLS request");
                return;
            }
        }
    }
    let Ok(Some(verifying)) = crate::ldap::tls::client_config(&block.cfg) else {
        r.fail(
            "tls",
            "cannot build the TLS configuration (see `ldaprsctl config check`)",
        );
        return;
    };
    match handshake(verifying, &host, sock) {
        Ok(conn) => verified(block, &conn, r),
        Err(e) => {
            r.fail("verification", format!("FAILED: {e}"));
            if let Some(c) = presented_certificate(block, &host, port, timeout, starttls_wanted) {
                r.add("certificate", c);
            }
        }
    }
}

/// The lines for a handshake that passed verification.
fn verified(block: &ServerBlock, conn: &rustls::ClientConnection, r: &mut Report) {
    r.add(
        "tls",
        format!(
            "{:?}, {:?}",
            conn.protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            conn.negotiated_cipher_suite()
                .map(|c| c.suite())
                .unwrap_or(rustls::CipherSuite::Unknown(0))
        )
        .replace('"', ""),
    );
    if let Some(c) = conn.peer_certificates().and_then(|c| c.first()) {
        r.add("certificate", describe_cert(c));
    }
    r.add(
        "verification",
        if block.cfg.tls.verify {
            "ok (chain and host name)"
        } else {
            "OFF (verify = false): any certificate is accepted"
        },
    );
}

/// What the server presented, through a second, non-verifying handshake (after a failed
/// verification, so that the admin sees the certificate that was refused).
fn presented_certificate(
    block: &ServerBlock,
    host: &str,
    port: u16,
    timeout: Duration,
    starttls_wanted: bool,
) -> Option<String> {
    let mut cfg_any = block.cfg.clone();
    cfg_any.tls.verify = false;
    let any = crate::ldap::tls::client_config(&cfg_any).ok()??;
    let (mut s2, _) = tcp_connect(host, port, timeout).ok()?;
    if starttls_wanted {
        let mut buf = [0u8; 256];
        s2.write_all(STARTTLS_REQUEST)
            .and_then(|_| s2.read(&mut buf))
            .ok()?;
    }
    let conn = handshake(any, host, s2).ok()?;
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| describe_cert(c))
}

/// Tests every URI of a block.
pub async fn server_test(block: &ServerBlock) -> Vec<Report> {
    let mut out: Vec<Report> = super::server_test_srv::srv_reports(block)
        .await
        .into_iter()
        .map(|(uri, lines, usable)| Report { uri, lines, usable })
        .collect();
    for uri in block.uris() {
        let mut r = Report {
            uri: uri.clone(),
            lines: Vec::new(),
            usable: true,
        };
        if !uri.starts_with("ldapi://") {
            tls_probe(block, &uri, &mut r);
        } else {
            r.add(
                "transport",
                "ldapi:// (local Unix socket; passwords may be sent)",
            );
        }
        if r.usable {
            match block.diagnose(&uri).await {
                Ok((bind, rootdse)) => {
                    // The daemon cannot search with a refused service account: not usable.
                    if bind.contains(": REFUSED (") {
                        r.fail("service bind", bind);
                    } else {
                        r.add("service bind", bind);
                    }
                    for (k, v) in rootdse {
                        r.add(&k, v);
                    }
                }
                Err(e) => r.fail("ldap", format!("FAILED: {e}")),
            }
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parsing() {
        assert_eq!(
            host_port("ldaps://h.example.com"),
            Some(("h.example.com".into(), 636))
        );
        assert_eq!(
            host_port("ldap://127.0.0.1:3389/"),
            Some(("127.0.0.1".into(), 3389))
        );
        assert_eq!(host_port("ldap://[::1]:10389"), Some(("::1".into(), 10389)));
        assert_eq!(host_port("ldap://[::1]"), Some(("::1".into(), 389)));
    }

    #[test]
    fn starttls_request_is_well_formed() {
        assert_eq!(STARTTLS_REQUEST.len(), 31);
        assert_eq!(&STARTTLS_REQUEST[9..], b"1.3.6.1.4.1.1466.20037");
        // A success response: LDAPMessage { id 1, ExtendedResponse { resultCode 0, "", "" } }.
        let ok = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(extended_result_code(&ok), Some(0));
        let refused = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x34, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(extended_result_code(&refused), Some(0x34));
        assert_eq!(extended_result_code(&[0x30]), None);
    }
}
