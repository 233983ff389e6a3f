//! TLS and mTLS over rustls (feature `tls`, on by default): key material
//! from PEM, the server's [`ServerTls`] (reloadable) and the client's
//! [`ClientTlsConfig`], and what a handshake tells about the peer
//! ([`TlsInfo`]).
//!
//! Both sides speak HTTP/2 only, negotiated by ALPN (`h2`): a peer that does
//! not negotiate it is refused, as gRPC requires. The crypto is rustls'
//! `ring` provider, chosen explicitly (never the process default, which
//! panics when two providers are compiled in).
//!
//! ```no_run
//! # fn run(cert: &[u8], key: &[u8], ca: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use rust_rpc::transport::tls::{Certificate, ClientTlsConfig, Identity, ServerTls, ServerTlsConfig};
//! use rust_rpc::transport::{Endpoint, Server};
//!
//! // Server: its certificate chain and key, reloadable while it serves.
//! let tls = ServerTls::new(ServerTlsConfig::new(Identity::from_pem(cert, key)?))?;
//! let server = Server::builder().tls(tls.clone());
//!
//! // Client: trusts `ca` (instead of the platform's roots).
//! let endpoint = Endpoint::new("https://localhost:50051")?
//!     .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)?))?;
//! # let _ = (server, endpoint); Ok(()) }
//! ```

mod client;
mod server;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use client::ClientTlsConfig;
pub(crate) use client::Connector;

pub use server::{ServerTls, ServerTlsConfig};

/// The one application protocol gRPC runs on.
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The crypto provider both sides use.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// What to add to the message of a connection that TLS ended, when the
/// alert alone would leave the reader guessing. h2 keeps only the text of
/// an I/O error, so the alert is found by rustls' own wording for it.
pub(crate) fn hint(error: &std::io::Error) -> Option<&'static str> {
    use rustls::AlertDescription as Alert;
    let received = |alert: Alert| {
        let text = rustls::Error::AlertReceived(alert).to_string();
        error.to_string().contains(&text)
    };
    if received(Alert::CertificateRequired) || received(Alert::HandshakeFailure) {
        Some("; the server wants a client certificate (ClientTlsConfig::identity)")
    } else if received(Alert::UnknownCA) || received(Alert::BadCertificate) {
        Some("; the server does not trust this client's certificate")
    } else {
        None
    }
}

/// Bad key material or a TLS setting rustls refused; says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// One or more X.509 certificates: a CA's to trust, or a chain to present.
#[derive(Clone, Debug)]
pub struct Certificate(Vec<CertificateDer<'static>>);

impl Certificate {
    /// Every `CERTIFICATE` block of `pem`; an error if there is none or one
    /// is not valid PEM.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let certs = CertificateDer::pem_slice_iter(pem.as_ref())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::new(format!("invalid certificate PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::new("no CERTIFICATE in the PEM"));
        }
        Ok(Self(certs))
    }

    /// [`Certificate::from_pem`] on the file at `path`; errors name the file.
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        Self::from_pem(read(path)?).map_err(|e| in_file(path, e))
    }

    /// One certificate in DER.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Self {
        Self(vec![CertificateDer::from(der.into())])
    }

    /// The certificates, in DER, in the order given.
    pub fn as_der(&self) -> &[CertificateDer<'static>] {
        &self.0
    }
}

/// A certificate chain (leaf first) and its private key: what a server
/// presents, or a client for mTLS.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// The chain from `cert_pem` (leaf first) and the key (PKCS#8, PKCS#1
    /// or SEC1) from `key_pem`.
    pub fn from_pem(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let chain = Certificate::from_pem(cert_pem)?.0;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_ref())
            .map_err(|e| Error::new(format!("invalid private key PEM: {e}")))?;
        Ok(Self { chain, key })
    }

    /// [`Identity::from_pem`] on the files at `cert_path` and `key_path`;
    /// errors name the file.
    pub fn from_pem_files(
        cert_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self, Error> {
        let (cert_path, key_path) = (cert_path.as_ref(), key_path.as_ref());
        let chain = Certificate::from_pem_file(cert_path)?.0;
        let key = PrivateKeyDer::from_pem_slice(&read(key_path)?).map_err(|e| {
            in_file(
                key_path,
                Error::new(format!("invalid private key PEM: {e}")),
            )
        })?;
        Ok(Self { chain, key })
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
}

/// `error`, saying which file it is about.
fn in_file(path: &std::path::Path, error: Error) -> Error {
    Error::new(format!("{}: {error}", path.display()))
}

/// What a TLS handshake established: the peer's certificate chain (leaf
/// first; on a server, empty unless the client presented one), the server
/// name the client asked for (SNI), and the protocol version.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    certificates: Vec<CertificateDer<'static>>,
    server_name: Option<String>,
    version: Option<rustls::ProtocolVersion>,
    cipher_suite: Option<rustls::CipherSuite>,
}

impl TlsInfo {
    fn of<D>(conn: &rustls::ConnectionCommon<D>, server_name: Option<String>) -> Self {
        Self {
            certificates: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            server_name,
            version: conn.protocol_version(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
        }
    }

    /// The peer's certificates, leaf first, in DER (parse them with an X.509
    /// crate such as `x509-parser` to read names). Empty when the peer
    /// presented none.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// The server name the client sent (SNI), on a server.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The TLS version negotiated (1.2 or 1.3).
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.version
    }

    /// The cipher suite negotiated, such as `TLS13_AES_128_GCM_SHA256`.
    pub fn cipher_suite(&self) -> Option<rustls::CipherSuite> {
        self.cipher_suite
    }

    /// The cipher suite's standard name, as channelz reports it.
    #[cfg(feature = "channelz")]
    pub(crate) fn cipher_suite_name(&self) -> Option<String> {
        self.cipher_suite.map(|s| format!("{s:?}"))
    }
}
