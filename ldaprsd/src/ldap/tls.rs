//! rustls client configuration for one `[[servers]]` block: CA bundle, client certificate, and
//! verification (on unless `verify = false`, which ldap3 implements with its own
//! accept-anything verifier and which we announce with a warning at every start).

use ldaprs_common::config::{Server, TlsSection};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A TLS set-up problem, naming the server block and the file.
#[derive(Debug)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu
    "/etc/pki/tls/certs/ca-bundle.crt",   // RHEL, Fedora
    "/etc/ssl/ca-bundle.pem",             // SUSE
];

fn load_roots(server: &str, tls: &TlsSection) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let files: Vec<String> = match &tls.ca_file {
        Some(p) => vec![p.display().to_string()],
        None => SYSTEM_BUNDLES
            .iter()
            .filter(|p| std::path::Path::new(p).exists())
            .map(|p| p.to_string())
            .collect(),
    };
    for f in &files {
        let certs = CertificateDer::pem_file_iter(f)
            .map_err(|e| TlsError(format!("server `{server}`: cannot read ca_file {f}: {e}")))?;
        for c in certs {
            let c =
                c.map_err(|e| TlsError(format!("server `{server}`: bad certificate in {f}: {e}")))?;
            // Bundles hold a few certificates rustls cannot parse; skip those, as libraries do.
            let _ = roots.add(c);
        }
    }
    if roots.is_empty() && tls.verify {
        return Err(TlsError(format!(
            "server `{server}`: no CA certificates found (tried {}); set [servers.tls] ca_file",
            if files.is_empty() {
                SYSTEM_BUNDLES.join(", ")
            } else {
                files.join(", ")
            }
        )));
    }
    Ok(roots)
}

/// `verify = false`: any certificate is accepted (signatures are still checked, so the
/// handshake is real; who is on the other end is not). main.rs warns at every start.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds the client config, or None when no URI of this block can use TLS.
pub fn client_config(server: &Server) -> Result<Option<Arc<rustls::ClientConfig>>, TlsError> {
    use ldaprs_common::config::TlsMode;
    let tls = &server.tls;
    let uses_tls = tls.mode == TlsMode::Starttls
        || tls.mode == TlsMode::Ldaps
        || server
            .uris()
            .iter()
            .any(|u| u.starts_with("ldaps://") || u.starts_with(super::srv::PREFIX));
    if !uses_tls {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("server `{}`: TLS set-up: {e}", server.name)))?;
    let builder = if tls.verify {
        versions.with_root_certificates(load_roots(&server.name, tls)?)
    } else {
        versions
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    };
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    TlsError(format!(
                        "server `{}`: client_cert {}: {e}",
                        server.name,
                        cert.display()
                    ))
                })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                TlsError(format!(
                    "server `{}`: client_key {}: {e}",
                    server.name,
                    key.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                TlsError(format!("server `{}`: client certificate: {e}", server.name))
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Some(Arc::new(config)))
}
