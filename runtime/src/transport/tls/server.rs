//! The server's TLS: its settings ([`ServerTlsConfig`]), the reloadable
//! config its connections are accepted with ([`ServerTls`]), and the
//! handshake each accepted connection goes through before HTTP/2.

use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::server::TlsStream;

use super::super::frames::{FRAME_HEADER_LEN, INADEQUATE_SECURITY, SETTINGS, goaway_frame};
use super::{ALPN_H2, Certificate, Error, Identity, TlsInfo, provider};

/// How a server does TLS: the identity it presents and, for mTLS, the CAs
/// whose client certificates it accepts.
#[derive(Clone, Debug)]
pub struct ServerTlsConfig {
    identity: Identity,
    client_roots: Vec<CertificateDer<'static>>,
    client_auth_optional: bool,
}

impl ServerTlsConfig {
    /// TLS with `identity` (certificate chain and key), no client
    /// certificates asked for.
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            client_roots: Vec::new(),
            client_auth_optional: false,
        }
    }

    /// mTLS: asks every client for a certificate and accepts only those
    /// issued by `ca` (may be given more than once). Without
    /// [`ServerTlsConfig::client_auth_optional`], a client without one is
    /// refused in the handshake.
    pub fn client_ca_root(mut self, ca: Certificate) -> Self {
        self.client_roots.extend(ca.0);
        self
    }

    /// With client CAs: also accept clients that present no certificate
    /// (`true`); a certificate that is presented must still verify.
    /// Handlers tell the two apart by
    /// [`TlsInfo::peer_certificates`](super::TlsInfo::peer_certificates).
    pub fn client_auth_optional(mut self, optional: bool) -> Self {
        self.client_auth_optional = optional;
        self
    }

    fn build(self) -> Result<rustls::ServerConfig, Error> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(format!("TLS versions: {e}")))?;
        let builder = if self.client_roots.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for ca in self.client_roots {
                roots
                    .add(ca)
                    .map_err(|e| Error::new(format!("client CA certificate: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = if self.client_auth_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| Error::new(format!("client certificate verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder
            .with_single_cert(self.identity.chain, self.identity.key)
            .map_err(|e| Error::new(format!("server certificate and key: {e}")))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(config)
    }
}

/// A server's TLS config, shared by its clones: give one to
/// [`Server::tls`](crate::transport::Server::tls) and keep another to
/// [`ServerTls::reload`] new certificates while the server runs.
#[derive(Clone)]
pub struct ServerTls {
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl core::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

/// A TLS connection after its handshake, and what it established.
pub(crate) type Accepted<Io> = (TlsStream<Prefixed<Io>>, TlsInfo);

impl ServerTls {
    /// Checks `config` (the key must match the certificate, the CAs must
    /// parse) and makes it the one new connections are accepted with.
    pub fn new(config: ServerTlsConfig) -> Result<Self, Error> {
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(config.build()?))),
        })
    }

    /// Replaces the config for connections accepted from now on (renewed
    /// certificates, a new client CA); connections already open keep
    /// theirs. A config that does not check out is an error, and the old
    /// one stays.
    pub fn reload(&self, config: ServerTlsConfig) -> Result<(), Error> {
        let config = Arc::new(config.build()?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
        Ok(())
    }

    /// The TLS handshake on an accepted connection (the caller bounds it in
    /// time). A plaintext HTTP/2 client is told, in a GOAWAY it can read,
    /// that this server wants TLS; a client that negotiates anything but
    /// `h2` is refused.
    pub(crate) async fn accept<Io>(&self, mut io: Io) -> Result<Accepted<Io>, String>
    where
        Io: AsyncRead + AsyncWrite + Unpin,
    {
        let mut first = [0u8; 1];
        match io.read(&mut first).await {
            Ok(0) => return Err("closed before the TLS handshake".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("read failed before the TLS handshake: {e}")),
        }
        // A TLS record starts with its content type (22, handshake); an
        // HTTP/2 client's preface with "PRI".
        if first[0] == b'P' {
            refuse_plaintext(io).await;
            return Err("a plaintext HTTP/2 client on the TLS port (told to use TLS)".into());
        }
        let config = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let stream = tokio_rustls::TlsAcceptor::from(config)
            .accept(Prefixed {
                first: Some(first[0]),
                io,
            })
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        let conn = stream.get_ref().1;
        if conn.alpn_protocol() != Some(ALPN_H2) {
            return Err("the client did not negotiate HTTP/2 (ALPN h2): refused".into());
        }
        let info = TlsInfo::of(conn, conn.server_name().map(str::to_owned));
        Ok((stream, info))
    }
}

/// Answers a plaintext HTTP/2 client on a TLS port as HTTP/2 would: its
/// SETTINGS, then GOAWAY INADEQUATE_SECURITY saying why, so that the client
/// fails with that reason instead of a bare reset. Reads what the client
/// sent (for a moment, up to a bound) before closing, so that closing with
/// unread bytes does not reset the connection before the GOAWAY is read.
async fn refuse_plaintext<Io: AsyncRead + AsyncWrite + Unpin>(mut io: Io) {
    let mut reply = vec![0u8; FRAME_HEADER_LEN];
    reply[3] = SETTINGS;
    reply.extend(goaway_frame(
        0,
        INADEQUATE_SECURITY,
        b"this server requires TLS: connect with https://",
    ));
    let drain = async {
        io.write_all(&reply).await?;
        io.flush().await?;
        let mut sink = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            match io.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        io.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// A connection whose first byte was read to tell TLS from plaintext: that
/// byte, then the rest.
pub(crate) struct Prefixed<Io> {
    first: Option<u8>,
    io: Io,
}

impl<Io: AsyncRead + Unpin> AsyncRead for Prefixed<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if buf.remaining() > 0
            && let Some(byte) = self.first.take()
        {
            buf.put_slice(&[byte]);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Prefixed<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
