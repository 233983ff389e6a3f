//! The client's TLS: its settings ([`ClientTlsConfig`]) and the
//! [`Connector`] an endpoint makes of them, which runs the handshake on each
//! new connection.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

use super::super::status::Status;
use super::{ALPN_H2, Certificate, Error, Identity, TlsInfo, provider};

/// How a client does TLS: which CAs it trusts (the platform's by default),
/// the name it expects the server's certificate to carry, and, for mTLS,
/// the identity it presents.
#[derive(Clone, Debug, Default)]
pub struct ClientTlsConfig {
    roots: Vec<CertificateDer<'static>>,
    platform_roots: Option<bool>,
    domain: Option<String>,
    identity: Option<Identity>,
    accept_invalid_certificates: bool,
}

impl ClientTlsConfig {
    /// Trusts the platform's CAs (as `rustls-native-certs` finds them), checks
    /// the endpoint's host name, presents no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `ca` (may be given more than once). Once any CA is given, the
    /// platform's are not trusted unless [`ClientTlsConfig::with_platform_roots`]
    /// says so.
    pub fn ca_certificate(mut self, ca: Certificate) -> Self {
        self.roots.extend(ca.0);
        self
    }

    /// Whether to trust the platform's CAs too (default: only when no CA
    /// was given).
    pub fn with_platform_roots(mut self, on: bool) -> Self {
        self.platform_roots = Some(on);
        self
    }

    /// The name to send as SNI and to check the server's certificate
    /// against, instead of the endpoint's host (as gRPC's
    /// `ssl_target_name_override` does): for a server reached by IP or by a
    /// name its certificate does not carry.
    pub fn domain_name(mut self, name: impl Into<String>) -> Self {
        self.domain = Some(name.into());
        self
    }

    /// mTLS: presents `identity` when the server asks for a certificate.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Accepts any server certificate: expired, self-signed, for another
    /// name. The connection is encrypted but the server is not
    /// authenticated, so anyone on the path can pose as it: for tools and
    /// tests against a server whose CA is not at hand (`rust-rpc
    /// --insecure`), never for production traffic. The handshake's
    /// signatures are still checked, so the peer holds the key of the
    /// certificate it sent.
    pub fn danger_accept_invalid_certificates(mut self, on: bool) -> Self {
        self.accept_invalid_certificates = on;
        self
    }

    pub(crate) fn connector(self) -> Result<Connector, Error> {
        let mut roots = RootCertStore::empty();
        if self.platform_roots.unwrap_or(self.roots.is_empty()) {
            roots.roots.extend(platform_roots()?.roots.iter().cloned());
        }
        for ca in self.roots {
            roots
                .add(ca)
                .map_err(|e| Error::new(format!("CA certificate: {e}")))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(format!("TLS versions: {e}")))?;
        let builder = if self.accept_invalid_certificates {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
        } else {
            builder.with_root_certificates(roots)
        };
        let mut config = match self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain, id.key)
                .map_err(|e| Error::new(format!("client certificate and key: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        let domain = match self.domain {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| Error::new(format!("TLS domain name {name:?}: {e}")))?,
            ),
            None => None,
        };
        Ok(Connector {
            config: Arc::new(config),
            domain,
        })
    }
}

/// The verifier of [`ClientTlsConfig::danger_accept_invalid_certificates`]:
/// any certificate passes; handshake signatures are checked as usual.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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

/// The platform's CA certificates, read once per process.
fn platform_roots() -> Result<&'static RootCertStore, Error> {
    static ROOTS: OnceLock<Result<RootCertStore, Error>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(Error::new(format!(
                    "no CA certificates found on this system{why}; give the CA with ClientTlsConfig::ca_certificate"
                )));
            }
            Ok(roots)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs the client's TLS handshakes for one endpoint.
pub(crate) struct Connector {
    config: Arc<rustls::ClientConfig>,
    domain: Option<ServerName<'static>>,
}

impl core::fmt::Debug for Connector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connector")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// The connector of an `https://` endpoint given no TLS config: the
    /// platform's CAs, the endpoint's host name. Built once per process.
    pub(crate) fn platform() -> Result<Arc<Connector>, Error> {
        static DEFAULT: OnceLock<Result<Arc<Connector>, Error>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| ClientTlsConfig::new().connector().map(Arc::new))
            .clone()
    }

    /// The TLS handshake with `host` (or the configured domain name) on
    /// `io`, which must negotiate HTTP/2; a failure is `UNAVAILABLE`, with a
    /// hint when the server seems not to speak TLS at all.
    pub(crate) async fn connect<Io>(
        &self,
        host: &str,
        io: Io,
    ) -> Result<(TlsStream<Io>, TlsInfo), Status>
    where
        Io: AsyncRead + AsyncWrite + Unpin,
    {
        let name = match &self.domain {
            Some(name) => name.clone(),
            None => ServerName::try_from(host.to_owned()).map_err(|e| {
                Status::unavailable(format!("{host:?} is not a name TLS can check: {e}"))
            })?,
        };
        let stream = tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, io)
            .await
            .map_err(|e| handshake_error(host, e))?;
        let conn = stream.get_ref().1;
        if conn.alpn_protocol() != Some(ALPN_H2) {
            return Err(Status::unavailable(format!(
                "the TLS server at {host} did not negotiate HTTP/2 (ALPN h2)"
            )));
        }
        let info = TlsInfo::of(conn, None);
        Ok((stream, info))
    }
}

/// A failed handshake as the status a call fails with, saying what the
/// likely cause is when rustls' error alone would not.
fn handshake_error(host: &str, e: std::io::Error) -> Status {
    let inner = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    let hint = match inner {
        Some(rustls::Error::InvalidMessage(_)) => {
            "; the server did not answer in TLS: is it a plaintext server (http://)?"
        }
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "; the server closed the connection during the handshake: is it a plaintext server (http://)?"
        }
        _ => "",
    };
    Status::unavailable(format!("TLS handshake with {host} failed: {e}{hint}"))
}
