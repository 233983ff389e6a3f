#![deny(warnings)]
#![cfg(feature = "tls")]
//! TLS and mTLS over real loopback connections, with certificates made at
//! test time: every kind of call over TLS, what handlers see of the peer,
//! the name checked (and its override), client certificates required and
//! optional, certificate reload, ALPN, plaintext and TLS peers meeting the
//! other kind, and the handshake timeout.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::transport::tls::{
    Certificate, ClientTlsConfig, Identity, ServerTls, ServerTlsConfig,
};
use rust_rpc::transport::{Channel, Code, Endpoint, Server, Status};
use support::certs::Ca;
use support::{CalculatorClient, Running, bounded, num, serve, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every await here is bounded: a hung handshake fails the test.
/// The status of a call that must fail with `UNAVAILABLE` (`why` says why
/// it must), for the test to read its message.
async fn unavailable<T: std::fmt::Debug>(
    what: &str,
    why: &str,
    call: impl std::future::Future<Output = Result<T, Status>>,
) -> Status {
    let err = bounded(what, call).await.expect_err(why);
    assert_eq!(err.code(), Code::Unavailable, "{what}: {err}");
    err
}

async fn tls_server(config: ServerTlsConfig) -> Running {
    let tls = ServerTls::new(config).expect("a server TLS config");
    serve(Server::builder().tls(tls)).await
}

fn channel(uri: &str, config: ClientTlsConfig) -> Channel {
    Endpoint::new(uri)
        .expect("an endpoint")
        .connect_timeout(Duration::from_secs(10))
        .tls_config(config)
        .expect("a client TLS config")
        .connect_lazy()
}

/// The description (see `support::describe`) of one call, as the server saw it.
#[allow(deprecated)] // `fail` is deprecated in the proto, to test that.
async fn described(client: &mut CalculatorClient) -> Result<String, Status> {
    let reply = bounded("describe", client.fail(text(""))).await?;
    Ok(reply.into_inner().value)
}

#[tokio::test]
async fn every_kind_of_call_over_tls() {
    let ca = Ca::new("test CA");
    let server = tls_server(ServerTlsConfig::new(ca.server(&["localhost"]))).await;
    let uri = format!("https://localhost:{}", server.addr.port());
    let mut client = CalculatorClient::new(channel(
        &uri,
        ClientTlsConfig::new().ca_certificate(ca.certificate()),
    ));

    let squared = bounded("unary", client.square(num(12)))
        .await
        .expect("unary");
    assert_eq!(squared.get_ref().value, 144);
    let counted: Vec<i64> = bounded("server streaming", async {
        let stream = client.count_to(num(5)).await.expect("server streaming");
        stream
            .into_inner()
            .map(|n| n.expect("a number").value)
            .collect()
            .await
    })
    .await;
    assert_eq!(counted, [1, 2, 3, 4, 5]);
    let numbers = futures_util::stream::iter([num(1), num(2), num(39)]);
    let sum = bounded("client streaming", client.sum(numbers))
        .await
        .expect("client streaming");
    assert_eq!(sum.get_ref().value, 42);
    let doubled: Vec<i64> = bounded("bidi", async {
        let numbers = futures_util::stream::iter([num(1), num(2), num(3)]);
        let stream = client.double(numbers).await.expect("bidi");
        stream
            .into_inner()
            .map(|n| n.expect("a number").value)
            .collect()
            .await
    })
    .await;
    assert_eq!(doubled, [2, 4, 6]);

    // The handler sees a TLS peer with an address, no client certificate,
    // and the name the client asked for.
    let seen = described(&mut client).await.expect("describe");
    for line in ["addr=true", "tls=true", "client_certs=0", "sni=localhost"] {
        assert!(seen.lines().any(|l| l == line), "{line} not in\n{seen}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_server_certificate_must_chain_to_a_trusted_ca_and_carry_the_name() {
    let ca = Ca::new("test CA");
    let server = tls_server(ServerTlsConfig::new(ca.server(&["foo.test.google.fr"]))).await;
    let port = server.addr.port();

    // Another CA: the chain does not verify.
    let other = Ca::new("another CA");
    let mut client = CalculatorClient::new(channel(
        &format!("https://localhost:{port}"),
        ClientTlsConfig::new()
            .ca_certificate(other.certificate())
            .domain_name("foo.test.google.fr"),
    ));
    let err = unavailable("wrong CA", "an untrusted server", client.square(num(1))).await;
    assert!(err.message().contains("UnknownIssuer"), "{err}");

    // The right CA, but the certificate does not name 127.0.0.1.
    let mut client = CalculatorClient::new(channel(
        &format!("https://127.0.0.1:{port}"),
        ClientTlsConfig::new().ca_certificate(ca.certificate()),
    ));
    let err = unavailable(
        "wrong name",
        "a name the certificate lacks",
        client.square(num(1)),
    )
    .await;
    assert!(err.message().contains("not valid for name"), "{err}");

    // The override names what the certificate carries (as the interop
    // tests' --server_host_override does): it goes through, and is the SNI.
    let mut client = CalculatorClient::new(channel(
        &format!("https://127.0.0.1:{port}"),
        ClientTlsConfig::new()
            .ca_certificate(ca.certificate())
            .domain_name("foo.test.google.fr"),
    ));
    let seen = described(&mut client).await.expect("with the override");
    assert!(seen.contains("sni=foo.test.google.fr"), "{seen}");
    server.stop().await;
}

#[tokio::test]
async fn mtls_required_refuses_clients_without_a_certificate_and_shows_the_chain() {
    let ca = Ca::new("test CA");
    let clients_ca = Ca::new("clients' CA");
    let server = tls_server(
        ServerTlsConfig::new(ca.server(&["localhost"])).client_ca_root(clients_ca.certificate()),
    )
    .await;
    let uri = format!("https://localhost:{}", server.addr.port());
    let trusting = || ClientTlsConfig::new().ca_certificate(ca.certificate());

    // No certificate: refused in the handshake.
    let mut anonymous = CalculatorClient::new(channel(&uri, trusting()));
    let err = unavailable(
        "no client certificate",
        "mTLS requires a certificate",
        anonymous.square(num(1)),
    )
    .await;
    assert!(
        err.message().contains("wants a client certificate"),
        "{err}"
    );

    // A certificate from a CA the server does not trust: refused too.
    let stranger = Ca::new("stranger CA");
    let mut untrusted =
        CalculatorClient::new(channel(&uri, trusting().identity(stranger.client("eve"))));
    let err = unavailable(
        "untrusted client certificate",
        "an untrusted client certificate",
        untrusted.square(num(1)),
    )
    .await;
    assert!(err.message().contains("does not trust"), "{err}");

    // The clients' CA's certificate: accepted, and the handler gets its
    // chain, byte for byte.
    let (cert_pem, key_pem) = clients_ca.client_pem("alice");
    let identity = Identity::from_pem(&cert_pem, &key_pem).expect("alice's identity");
    let mut alice = CalculatorClient::new(channel(&uri, trusting().identity(identity)));
    let seen = described(&mut alice).await.expect("alice is let in");
    assert!(seen.contains("client_certs=1"), "{seen}");
    server.stop().await;

    // The chain itself, through an interceptor that compares it.
    let expected = Certificate::from_pem(&cert_pem).expect("alice's certificate");
    let expected = Arc::new(expected.as_der().to_vec());
    let check = move |request: rust_rpc::transport::Request<()>| {
        let expected = expected.clone();
        async move {
            match request.peer_certificates() {
                Some(chain) if chain == expected.as_slice() => Ok(request),
                other => Err(Status::permission_denied(format!(
                    "unexpected client chain: {other:?}"
                ))),
            }
        }
    };
    let tls = ServerTls::new(
        ServerTlsConfig::new(ca.server(&["localhost"])).client_ca_root(clients_ca.certificate()),
    )
    .expect("a server TLS config");
    let server = serve(Server::builder().tls(tls).interceptor(check)).await;
    let uri = format!("https://localhost:{}", server.addr.port());
    let identity = Identity::from_pem(&cert_pem, &key_pem).expect("alice's identity");
    let mut alice = CalculatorClient::new(channel(&uri, trusting().identity(identity)));
    bounded("the chain matches", alice.square(num(3)))
        .await
        .expect("alice's chain as presented");
    server.stop().await;
}

#[tokio::test]
async fn mtls_optional_lets_both_in_and_tells_them_apart() {
    let ca = Ca::new("test CA");
    let server = tls_server(
        ServerTlsConfig::new(ca.server(&["localhost"]))
            .client_ca_root(ca.certificate())
            .client_auth_optional(true),
    )
    .await;
    let uri = format!("https://localhost:{}", server.addr.port());
    let trusting = || ClientTlsConfig::new().ca_certificate(ca.certificate());
    let mut anonymous = CalculatorClient::new(channel(&uri, trusting()));
    let seen = described(&mut anonymous)
        .await
        .expect("anonymous is let in");
    assert!(seen.contains("client_certs=0"), "{seen}");
    let mut bob = CalculatorClient::new(channel(&uri, trusting().identity(ca.client("bob"))));
    let seen = described(&mut bob).await.expect("bob is let in");
    assert!(seen.contains("client_certs=1"), "{seen}");
    server.stop().await;
}

#[tokio::test]
async fn reloaded_certificates_serve_new_connections_and_old_ones_go_on() {
    let first = Ca::new("first CA");
    let second = Ca::new("second CA");
    let tls = ServerTls::new(ServerTlsConfig::new(first.server(&["localhost"])))
        .expect("a server TLS config");
    let server = serve(Server::builder().tls(tls.clone())).await;
    let uri = format!("https://localhost:{}", server.addr.port());
    let trusting = |ca: &Ca| ClientTlsConfig::new().ca_certificate(ca.certificate());

    let mut old = CalculatorClient::new(channel(&uri, trusting(&first)));
    bounded("before reload", old.square(num(2)))
        .await
        .expect("the first certificate");

    // A config that does not check out is refused, and the old one stays.
    let (cert, _) = second.server_pem(&["localhost"]);
    let (_, wrong_key) = second.server_pem(&["localhost"]);
    let mismatched = Identity::from_pem(cert, wrong_key).expect("parses");
    let err = tls
        .reload(ServerTlsConfig::new(mismatched))
        .expect_err("a key that is not the certificate's");
    assert!(!err.to_string().is_empty());
    let mut still_first = CalculatorClient::new(channel(&uri, trusting(&first)));
    bounded("after a refused reload", still_first.square(num(2)))
        .await
        .expect("still the first certificate");

    tls.reload(ServerTlsConfig::new(second.server(&["localhost"])))
        .expect("a reload");
    let mut new = CalculatorClient::new(channel(&uri, trusting(&second)));
    bounded("after reload", new.square(num(3)))
        .await
        .expect("the second certificate");
    let mut stale = CalculatorClient::new(channel(&uri, trusting(&first)));
    let err = unavailable(
        "stale trust",
        "new connections present the second certificate",
        stale.square(num(3)),
    )
    .await;
    assert!(err.message().contains("UnknownIssuer"), "{err}");
    // The connection made before the reload is still up and serving.
    bounded("old connection", old.square(num(4)))
        .await
        .expect("the old connection goes on");
    server.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_of_a_tls_server_is_told_to_use_tls() {
    let ca = Ca::new("test CA");
    let server = tls_server(ServerTlsConfig::new(ca.server(&["localhost"]))).await;
    let channel = Endpoint::new(format!("http://127.0.0.1:{}", server.addr.port()))
        .expect("an endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);
    let err = unavailable(
        "plaintext to TLS",
        "the server wants TLS",
        client.square(num(1)),
    )
    .await;
    assert!(err.message().contains("requires TLS"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn a_tls_client_of_a_plaintext_server_is_told_it_is_plaintext() {
    let ca = Ca::new("test CA");
    let server = serve(Server::builder()).await;
    let mut client = CalculatorClient::new(channel(
        &format!("https://localhost:{}", server.addr.port()),
        ClientTlsConfig::new().ca_certificate(ca.certificate()),
    ));
    let err = unavailable(
        "TLS to plaintext",
        "the server is plaintext",
        client.square(num(1)),
    )
    .await;
    assert!(err.message().contains("plaintext"), "{err}");
    server.stop().await;
}

/// A raw rustls client offering `alpn`, to see what the server negotiates.
async fn handshake_offering(
    ca: &Ca,
    addr: std::net::SocketAddr,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in ca.certificate().as_der() {
        roots.add(cert.clone()).expect("the CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

#[tokio::test]
async fn clients_that_do_not_negotiate_h2_are_refused() {
    let ca = Ca::new("test CA");
    let server = tls_server(ServerTlsConfig::new(ca.server(&["localhost"]))).await;
    let uri = format!("https://localhost:{}", server.addr.port());

    // Offering only HTTP/1.1: the handshake itself fails.
    let refused = bounded(
        "http/1.1 only",
        handshake_offering(&ca, server.addr, &[b"http/1.1"]),
    )
    .await;
    let err = refused.expect_err("no protocol in common");
    assert!(err.to_string().contains("NoApplicationProtocol"), "{err}");

    // Offering nothing: the handshake completes, then the server closes.
    let mut stream = bounded("no ALPN", handshake_offering(&ca, server.addr, &[]))
        .await
        .expect("a handshake without ALPN");
    let _ = stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let read = bounded("closed", stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the server answered a client without ALPN: {read:?}"
    );

    // Everyone else is still served.
    let mut client = CalculatorClient::new(channel(
        &uri,
        ClientTlsConfig::new().ca_certificate(ca.certificate()),
    ));
    bounded("bystander", client.square(num(5)))
        .await
        .expect("a well-behaved client");
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_handshake_is_closed_in_time() {
    let ca = Ca::new("test CA");
    let tls = ServerTls::new(ServerTlsConfig::new(ca.server(&["localhost"])))
        .expect("a server TLS config");
    let server = serve(
        Server::builder()
            .tls(tls)
            .handshake_timeout(Duration::from_millis(300)),
    )
    .await;
    // A TLS record header, then nothing.
    let mut stalled = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x40])
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let read = bounded("stalled handshake", stalled.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "a stalled handshake was answered: {read:?}"
    );
    server.stop().await;
}

#[test]
fn bad_key_material_is_a_clear_error() {
    let err = Certificate::from_pem("not a certificate").expect_err("no PEM");
    assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
    let ca = Ca::new("test CA");
    let (cert, _) = ca.server_pem(&["localhost"]);
    let err = Identity::from_pem(
        &cert,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .and_then(|id| ServerTls::new(ServerTlsConfig::new(id)).map(|_| ()))
    .expect_err("a key that is no key");
    assert!(!err.to_string().is_empty());
    let err = Identity::from_pem(&cert, "").expect_err("no key at all");
    assert!(err.to_string().contains("private key"), "{err}");
    let err = Certificate::from_pem_file("/nonexistent/ca.pem").expect_err("no file");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    // A file that is there but holds the wrong thing: the error names it.
    let dir = std::env::temp_dir().join(format!("rust-rpc-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (cert, key) = ca.server_pem(&["localhost"]);
    let (cert_file, key_file) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert_file, &cert).expect("write");
    std::fs::write(&key_file, &key).expect("write");
    Identity::from_pem_files(&cert_file, &key_file).expect("the right files");
    let err = Identity::from_pem_files(&key_file, &key_file).expect_err("a key as the certificate");
    assert!(err.to_string().contains("server.key"), "{err}");
    let err =
        Identity::from_pem_files(&cert_file, &cert_file).expect_err("a certificate as the key");
    assert!(
        err.to_string().contains("server.pem") && err.to_string().contains("private key"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn https_without_a_config_trusts_the_platforms_cas_only() {
    let ca = Ca::new("a CA no platform knows");
    let server = tls_server(ServerTlsConfig::new(ca.server(&["localhost"]))).await;
    let channel = Endpoint::new(format!("https://localhost:{}", server.addr.port()))
        .expect("an https endpoint")
        .connect_lazy();
    let mut client = CalculatorClient::new(channel);
    let err = unavailable(
        "platform roots",
        "the test CA is no platform CA",
        client.square(num(1)),
    )
    .await;
    // Either the platform's CAs were read and do not include ours, or the
    // machine has none, which is said as such.
    assert!(
        err.message().contains("UnknownIssuer") || err.message().contains("no CA certificates"),
        "{err}"
    );
    server.stop().await;
}
