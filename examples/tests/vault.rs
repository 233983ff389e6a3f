//! The vault end to end: the real server on loopback behind its
//! authentication interceptor, real clients with and without the bearer
//! interceptor, unary and server-streaming calls. Every test is bounded by
//! [`LIMIT`].

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use rust_rpc::transport::{Code, Request, Server, Status};
use rust_rpc_examples::greeter::{self, FriendlyGreeter, GreeterClient, GreeterServer};
use rust_rpc_examples::vault::{
    self, AUTHORIZATION, GetRequest, Issuer, ListRequest, PutReply, PutRequest, Secret,
    SecretStore, TokenSource, User, VaultClient, VaultServer,
};
use rust_rpc_examples::{DEADLINE, LocalServer};

/// How long any test here may take, all its calls included.
const LIMIT: Duration = Duration::from_secs(30);

/// The lifetime of tokens in the tests that do not wait for one to expire:
/// far longer than any test.
const LIFETIME: Duration = Duration::from_secs(600);

/// Runs a test's body; fails the test if it takes longer than [`LIMIT`].
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test finishes within its time limit")
}

/// The vault, behind `authenticate` with tokens from `issuer`.
async fn start(issuer: &Issuer) -> LocalServer {
    LocalServer::start(
        Server::builder()
            .interceptor(vault::authenticate(issuer.clone()))
            .add_service(VaultServer::new(SecretStore::new())),
    )
    .await
    .expect("start the server")
}

/// A client without credentials of its own.
async fn anonymous(server: &LocalServer) -> VaultClient {
    VaultClient::connect(server.url()).await.expect("connect")
}

/// A client that calls with tokens from `tokens`.
async fn client_with(server: &LocalServer, tokens: &TokenSource) -> VaultClient {
    anonymous(server)
        .await
        .with_interceptor(vault::bearer(tokens.clone()))
}

/// A client that calls as `user`, and its token source.
async fn client_as(
    server: &LocalServer,
    issuer: &Issuer,
    user: User,
) -> (VaultClient, TokenSource) {
    let tokens = TokenSource::new(issuer.clone(), user);
    (client_with(server, &tokens).await, tokens)
}

/// Fails unless `result` is an error with `code` and `message`.
fn assert_status<T: Debug>(result: Result<T, Status>, code: Code, message: &str) {
    let status = result.expect_err("the call fails");
    assert_eq!(
        (status.code(), status.message()),
        (code, message),
        "{status}"
    );
}

/// `Get(name)` with `authorization: value`, whatever that is.
async fn get_with_authorization(
    client: &mut VaultClient,
    name: &str,
    value: &str,
) -> Result<Secret, Status> {
    let mut request = Request::new(GetRequest {
        name: name.into(),
        ..Default::default()
    });
    request.set_timeout(DEADLINE);
    request
        .metadata_mut()
        .insert(AUTHORIZATION, value)
        .expect("valid metadata");
    Ok(client.get(request).await?.into_inner())
}

fn names(secrets: &[Secret]) -> Vec<&str> {
    secrets.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn without_a_token_every_call_is_unauthenticated() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let mut client = anonymous(&server).await;
        let missing = "missing bearer token";
        assert_status(
            vault::get(&mut client, "db").await,
            Code::Unauthenticated,
            missing,
        );
        assert_status(
            vault::put(&mut client, "db", "x").await,
            Code::Unauthenticated,
            missing,
        );
        assert_status(
            vault::list(&mut client, "").await,
            Code::Unauthenticated,
            missing,
        );
        // The Put never reached the store.
        let (mut writer, _) = client_as(&server, &issuer, User::writer("ada")).await;
        assert_status(
            vault::get(&mut writer, "db").await,
            Code::NotFound,
            "no secret named \"db\"",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn a_malformed_or_unknown_token_is_unauthenticated() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let mut client = anonymous(&server).await;
        let malformed = "malformed authorization metadata: expected \"Bearer <token>\"";
        for value in [
            "Bearer",
            "Basic YWRhOnB3",
            "1.0123456789abcdef",
            "Bearer a b",
        ] {
            assert_status(
                get_with_authorization(&mut client, "db", value).await,
                Code::Unauthenticated,
                malformed,
            );
        }
        // A token of another issuer, one made up, one close to a real one.
        let real = issuer.issue(User::writer("ada")).await.token;
        let other = Issuer::new(LIFETIME).issue(User::writer("ada")).await.token;
        for token in [other, "1.0123456789abcdef".to_owned(), format!("{real}0")] {
            assert_status(
                get_with_authorization(&mut client, "db", &format!("Bearer {token}")).await,
                Code::Unauthenticated,
                "unknown or expired bearer token",
            );
        }
        // The real one gets through (to a secret that is not there).
        assert_status(
            get_with_authorization(&mut client, "db", &format!("Bearer {real}")).await,
            Code::NotFound,
            "no secret named \"db\"",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    bounded(async {
        let issuer = Issuer::new(Duration::from_millis(20));
        let server = start(&issuer).await;
        let token = issuer.issue(User::writer("ada")).await;
        // Past its lifetime for sure, whatever the machine's load.
        tokio::time::sleep(token.expires_in * 2).await;
        let mut client = anonymous(&server).await;
        let request = vault::with_token(GetRequest::default(), &token.token).expect("a request");
        assert_status(
            client.get(request).await,
            Code::Unauthenticated,
            "unknown or expired bearer token",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn a_reader_may_get_and_list_but_not_put() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let (mut ada, _) = client_as(&server, &issuer, User::writer("ada")).await;
        let (mut bob, _) = client_as(&server, &issuer, User::reader("bob")).await;
        vault::put(&mut ada, "db-password", "hunter2")
            .await
            .expect("Put as ada");

        let secret = vault::get(&mut bob, "db-password")
            .await
            .expect("Get as bob");
        assert_eq!(secret.value, "hunter2");
        let listed = vault::list(&mut bob, "").await.expect("List as bob");
        assert_eq!(listed, std::slice::from_ref(&secret));

        assert_status(
            vault::put(&mut bob, "db-password", "oops").await,
            Code::PermissionDenied,
            "bob is a reader; /vault.v1.Vault/Put takes a writer",
        );
        // The secret is as ada left it.
        assert_eq!(
            vault::get(&mut bob, "db-password").await.expect("Get"),
            secret
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn the_handler_records_the_writer_the_interceptor_found() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let (mut ada, _) = client_as(&server, &issuer, User::writer("ada")).await;
        let (mut cy, _) = client_as(&server, &issuer, User::writer("cy")).await;
        let (mut bob, _) = client_as(&server, &issuer, User::reader("bob")).await;

        let put = vault::put(&mut ada, "api-key", "k-1").await.expect("Put");
        assert_eq!((put.version, put.written_by.as_str()), (1, "ada"));
        let secret = vault::get(&mut ada, "api-key").await.expect("Get");
        assert_eq!(
            secret,
            Secret {
                name: "api-key".into(),
                value: "k-1".into(),
                version: 1,
                written_by: "ada".into(),
                ..Default::default()
            }
        );

        let put = vault::put(&mut cy, "api-key", "k-2").await.expect("Put");
        assert_eq!((put.version, put.written_by.as_str()), (2, "cy"));
        let secret = vault::get(&mut bob, "api-key").await.expect("Get");
        assert_eq!(
            (
                secret.value.as_str(),
                secret.version,
                secret.written_by.as_str()
            ),
            ("k-2", 2, "cy")
        );

        // Past the interceptor, the handler still checks what it is given.
        assert_status(
            vault::put(&mut ada, "", "x").await,
            Code::InvalidArgument,
            "name must not be empty",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn streaming_calls_pass_through_the_interceptor() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let (mut ada, _) = client_as(&server, &issuer, User::writer("ada")).await;
        let (mut bob, bob_tokens) = client_as(&server, &issuer, User::reader("bob")).await;
        assert_eq!(vault::list(&mut bob, "").await.expect("List"), []);
        for name in ["db-replica", "api-key", "db-primary", "dbx"] {
            vault::put(&mut ada, name, "v").await.expect("Put");
        }
        // The handler streams what it finds in name order; it took bob
        // from the extensions, or it would have failed.
        let listed = vault::list(&mut bob, "db-").await.expect("List");
        assert_eq!(names(&listed), ["db-primary", "db-replica"]);
        assert!(listed.iter().all(|s| s.written_by == "ada"), "{listed:?}");
        let listed = vault::list(&mut ada, "").await.expect("List");
        assert_eq!(
            names(&listed),
            ["api-key", "db-primary", "db-replica", "dbx"]
        );
        // bob's token went with every one of his calls.
        assert_eq!(bob_tokens.fetches(), 1);

        let mut nobody = anonymous(&server).await;
        assert_status(
            vault::list(&mut nobody, "db-").await,
            Code::Unauthenticated,
            "missing bearer token",
        );
        let request =
            vault::with_token(ListRequest::default(), "1.0123456789abcdef").expect("a request");
        let outcome = match nobody.list(request).await {
            Ok(response) => response.into_inner().message().await.map(|_| ()),
            Err(status) => Err(status),
        };
        assert_status(
            outcome,
            Code::Unauthenticated,
            "unknown or expired bearer token",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn a_fresh_token_is_fetched_once_and_shared() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        let tokens = TokenSource::new(issuer.clone(), User::writer("ada"));
        assert_eq!(tokens.fetches(), 0);
        let mut client = client_with(&server, &tokens).await;
        vault::put(&mut client, "a", "1").await.expect("Put");
        vault::get(&mut client, "a").await.expect("Get");
        vault::list(&mut client, "").await.expect("List");
        // Clones of the client, at the same time: they wait for the token
        // the first one has, no fetch of their own.
        let calls = (0..8).map(|i| {
            let mut client = client.clone();
            async move { vault::put(&mut client, &format!("k{i}"), "v").await }
        });
        for reply in futures_util::future::join_all(calls).await {
            assert_eq!(reply.expect("Put").written_by, "ada");
        }
        assert_eq!(tokens.fetches(), 1);
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn the_token_source_refreshes_a_token_about_to_expire() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        // Due for refresh 20 ms after it is fetched, yet valid at the
        // server for minutes: the test waits for the source's refresh, not
        // for the server's clock.
        let fresh_for = Duration::from_millis(20);
        let tokens = TokenSource::new(issuer.clone(), User::writer("ada"))
            .refresh_before(LIFETIME - fresh_for);
        let mut client = client_with(&server, &tokens).await;
        let first = tokens.token().await;
        assert_eq!(tokens.fetches(), 1);
        for round in 1..=3 {
            tokio::time::sleep(fresh_for * 2).await;
            let put = vault::put(&mut client, "rotating", "v").await.expect("Put");
            assert_eq!((put.version, put.written_by.as_str()), (round, "ada"));
            assert_eq!(tokens.fetches(), 1 + round);
        }
        assert_ne!(tokens.token().await, first);
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn a_call_may_bring_its_own_token() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = start(&issuer).await;
        // bob's client reads as bob; one call writes with an operator's token.
        let (mut bob, bob_tokens) = client_as(&server, &issuer, User::reader("bob")).await;
        let ops = issuer.issue(User::writer("ops")).await;
        let request = vault::with_token(
            PutRequest {
                name: "db-password".into(),
                value: "rotated".into(),
                ..Default::default()
            },
            &ops.token,
        )
        .expect("a request");
        let reply = bob.put(request).await.expect("Put with ops's token");
        assert_eq!(
            reply.into_inner(),
            PutReply {
                version: 1,
                written_by: "ops".into(),
                ..Default::default()
            }
        );
        // bob's interceptor left that call alone: no token of his was
        // needed. His own calls still carry his own.
        assert_eq!(bob_tokens.fetches(), 0);
        let secret = vault::get(&mut bob, "db-password").await.expect("Get");
        assert_eq!(secret.written_by, "ops");
        assert_eq!(bob_tokens.fetches(), 1);
        assert_status(
            vault::put(&mut bob, "db-password", "x").await,
            Code::PermissionDenied,
            "bob is a reader; /vault.v1.Vault/Put takes a writer",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn other_services_on_the_server_are_not_guarded() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server = LocalServer::start(
            Server::builder()
                .interceptor(vault::authenticate(issuer.clone()))
                .add_service(VaultServer::new(SecretStore::new()))
                .add_service(GreeterServer::new(FriendlyGreeter)),
        )
        .await
        .expect("start the server");
        let mut greeter = GreeterClient::connect(server.url()).await.expect("connect");
        assert_eq!(
            greeter::say_hello(&mut greeter, "Ada")
                .await
                .expect("SayHello without a token"),
            "Hello, Ada!"
        );
        assert_status(
            vault::get(&mut anonymous(&server).await, "db").await,
            Code::Unauthenticated,
            "missing bearer token",
        );
        server.shutdown().await.expect("shut down");
    })
    .await
}

#[tokio::test]
async fn the_vault_without_its_interceptor_serves_no_one() {
    bounded(async {
        let issuer = Issuer::new(LIFETIME);
        let server =
            LocalServer::start(Server::builder().add_service(VaultServer::new(SecretStore::new())))
                .await
                .expect("start the server");
        let (mut ada, _) = client_as(&server, &issuer, User::writer("ada")).await;
        let unguarded = "no authenticated user: serve the vault with vault::authenticate";
        assert_status(
            vault::put(&mut ada, "db", "x").await,
            Code::Internal,
            unguarded,
        );
        assert_status(vault::get(&mut ada, "db").await, Code::Internal, unguarded);
        assert_status(vault::list(&mut ada, "").await, Code::Internal, unguarded);
        server.shutdown().await.expect("shut down");
    })
    .await
}
