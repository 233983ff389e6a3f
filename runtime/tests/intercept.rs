#![deny(warnings)]
//! Async interceptors on both sides, over real loopback connections:
//! a server interceptor that checks a bearer token (UNAUTHENTICATED without
//! one, PERMISSION_DENIED with the wrong one) and hands the handler who the
//! caller is; the order several run in; the deadline they run within; what
//! they see (path, peer) with and without tower layers; and a client
//! interceptor that adds credentials it refreshes asynchronously.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::transport::{Channel, Code, Endpoint, Request, Server, Status};
use support::{CalculatorClient, User, bounded, num, serve, text};
use tokio::sync::Mutex;

fn channel(addr: std::net::SocketAddr) -> Channel {
    Endpoint::new(format!("http://{addr}"))
        .expect("an endpoint")
        .connect_lazy()
}

/// The server side of bearer tokens: which token is whose.
async fn check_token(request: Request<()>) -> Result<Request<()>, Status> {
    // An await that really waits, as a token lookup would.
    tokio::task::yield_now().await;
    let Some(value) = request.metadata().get("authorization") else {
        return Err(Status::unauthenticated("no bearer token"));
    };
    let user = match value.strip_prefix("Bearer ") {
        Some("alice-token") => "alice",
        Some(_) => return Err(Status::permission_denied("this token opens nothing here")),
        None => return Err(Status::unauthenticated("not a bearer token")),
    };
    let mut request = request;
    request.extensions_mut().insert(User(user.to_owned()));
    Ok(request)
}

fn with_token(token: &str, value: i64) -> Request<support::Number> {
    let mut request = Request::new(num(value));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}"))
        .expect("valid metadata");
    request
}

#[tokio::test]
#[allow(deprecated)] // `fail`, deprecated in the proto, describes the call.
async fn a_bearer_token_check_rejects_and_admits() {
    let server = serve(Server::builder().interceptor(check_token)).await;
    let mut client = CalculatorClient::new(channel(server.addr));

    let err = bounded("no token", client.square(num(3)))
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    let err = bounded("wrong token", client.square(with_token("mallory-token", 3)))
        .await
        .expect_err("the wrong token");
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");

    let squared = bounded("right token", client.square(with_token("alice-token", 3)))
        .await
        .expect("alice's token");
    assert_eq!(squared.get_ref().value, 9);

    // The handler sees who the interceptor said the caller is, the path,
    // and the peer.
    let mut request = Request::new(text(""));
    request
        .metadata_mut()
        .insert("authorization", "Bearer alice-token")
        .expect("valid metadata");
    let seen = bounded("describe", client.fail(request))
        .await
        .expect("describe")
        .into_inner()
        .value;
    for line in [
        "user=alice",
        "path=/svc.v1.Calculator/Fail",
        "addr=true",
        "tls=false",
    ] {
        assert!(seen.lines().any(|l| l == line), "{line} not in\n{seen}");
    }

    // Streaming calls go through it too.
    let err = bounded("streaming without a token", async {
        client
            .double(futures_util::stream::iter([num(1)]))
            .await
            .map(|_| ())
    })
    .await
    .expect_err("no token on a stream");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    server.stop().await;
}

#[tokio::test]
#[allow(deprecated)]
async fn interceptors_run_in_order_each_on_what_the_one_before_returned() {
    let first = |mut request: Request<()>| async move {
        request
            .metadata_mut()
            .insert("x-seen", "first")
            .expect("valid metadata");
        Ok(request)
    };
    let second = |mut request: Request<()>| async move {
        let before = request.metadata().get("x-seen").unwrap_or("-").to_owned();
        request
            .metadata_mut()
            .insert("x-seen", format!("{before},second"))
            .expect("valid metadata");
        Ok(request)
    };
    let server = serve(Server::builder().interceptor(first).interceptor(second)).await;
    let mut client = CalculatorClient::new(channel(server.addr));
    let seen = bounded("describe", client.fail(text("")))
        .await
        .expect("describe")
        .into_inner()
        .value;
    assert!(seen.contains("seen=first,second"), "{seen}");
    server.stop().await;
}

#[tokio::test]
async fn a_slow_interceptor_is_bound_by_the_calls_deadline() {
    let slow = |request: Request<()>| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(request)
    };
    let server = serve(Server::builder().interceptor(slow)).await;
    let mut client = CalculatorClient::new(channel(server.addr));
    let mut request = Request::new(num(2));
    request.set_timeout(Duration::from_millis(200));
    let err = bounded("slow interceptor", client.square(request))
        .await
        .expect_err("the deadline passes in the interceptor");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    server.stop().await;
}

#[tokio::test]
#[allow(deprecated)]
async fn behind_tower_layers_interceptors_see_the_same_call() {
    let server = serve(
        Server::builder()
            .layer(tower::layer::util::Identity::new())
            .interceptor(check_token),
    )
    .await;
    let mut client = CalculatorClient::new(channel(server.addr));
    let err = bounded("no token", client.square(num(3)))
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    let mut request = Request::new(text(""));
    request
        .metadata_mut()
        .insert("authorization", "Bearer alice-token")
        .expect("valid metadata");
    let seen = bounded("describe", client.fail(request))
        .await
        .expect("describe")
        .into_inner()
        .value;
    for line in ["user=alice", "addr=true", "path=/svc.v1.Calculator/Fail"] {
        assert!(seen.lines().any(|l| l == line), "{line} not in\n{seen}");
    }
    server.stop().await;
}

/// Bearer tokens that expire, fetched asynchronously from an issuer when
/// the one held is about to: what a client interceptor holds.
struct TokenSource {
    held: Mutex<Option<(String, tokio::time::Instant)>>,
    fetches: AtomicUsize,
    lifetime: Duration,
}

impl TokenSource {
    /// Lets the token held expire now (instead of waiting for it, which a
    /// loaded machine could make happen sooner than a test expects).
    async fn expire(&self) {
        if let Some((_, expires)) = &mut *self.held.lock().await {
            *expires = tokio::time::Instant::now();
        }
    }

    async fn token(&self) -> String {
        let mut held = self.held.lock().await;
        if let Some((token, expires)) = &*held
            && tokio::time::Instant::now() < *expires
        {
            return token.clone();
        }
        // The issuer is a network call in real life.
        tokio::task::yield_now().await;
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let token = "alice-token".to_owned();
        *held = Some((token.clone(), tokio::time::Instant::now() + self.lifetime));
        token
    }
}

#[tokio::test]
async fn a_client_interceptor_adds_credentials_it_refreshes() {
    let server = serve(Server::builder().interceptor(check_token)).await;
    let source = Arc::new(TokenSource {
        held: Mutex::new(None),
        fetches: AtomicUsize::new(0),
        lifetime: Duration::from_secs(600),
    });
    let credentials = {
        let source = source.clone();
        move |mut request: Request<()>| {
            let source = source.clone();
            async move {
                // The path is known to client interceptors too.
                assert_eq!(request.path(), Some("/svc.v1.Calculator/Square"));
                let token = source.token().await;
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {token}"))
                    .map_err(|e| Status::internal(format!("metadata: {e}")))?;
                Ok(request)
            }
        }
    };
    let mut client = CalculatorClient::new(channel(server.addr)).with_interceptor(credentials);
    for i in 0..3 {
        let squared = bounded("with credentials", client.square(num(i)))
            .await
            .expect("the interceptor's token");
        assert_eq!(squared.get_ref().value, i * i);
    }
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        1,
        "one token, reused"
    );
    source.expire().await;
    bounded("after expiry", client.square(num(4)))
        .await
        .expect("a fresh token");
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        2,
        "refreshed once expired"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_interceptor_can_fail_the_call_before_it_is_sent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let count = move |request: Request<()>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move { Ok(request) }
    };
    let server = serve(Server::builder().interceptor(count)).await;
    let refuse = |_: Request<()>| async { Err(Status::unauthenticated("no credentials to send")) };
    let mut client = CalculatorClient::new(channel(server.addr)).with_interceptor(refuse);
    let err = bounded("refused by the client", client.square(num(1)))
        .await
        .expect_err("the client interceptor refuses");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert_eq!(err.message(), "no credentials to send");
    let err = bounded("refused stream", async {
        client
            .count_to(num(3))
            .await
            .map(|s| s.into_inner().count())
    })
    .await
    .expect_err("streams too");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    // Nothing reached the server.
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}
