//! The vault (`proto/vault.proto`, package `vault.v1`): secrets behind
//! bearer tokens, checked by async interceptors. On the server,
//! [`authenticate`] looks each call's token up (asynchronously, in the
//! [`Issuer`]'s table), decides by the call's path whether its user may make
//! it, and hands the [`User`] to the handler in the request's extensions,
//! where [`SecretStore`] reads it to record who wrote what. On the client,
//! [`bearer`] adds `authorization: Bearer <token>` to every call from a
//! [`TokenSource`], which fetches a new token when the one it has is about
//! to expire; a call may bring its own instead ([`with_token`]). The
//! generated types are re-exported here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rust_rpc::transport::{Interceptor, Request, Response, Status};
use tokio::sync::{Mutex, RwLock};

pub use crate::generated::vault::v1::*;

/// The request metadata key the bearer token goes in, as `Bearer <token>`.
pub const AUTHORIZATION: &str = "authorization";

/// The path of `Get`, as interceptors see it in [`Request::path`].
pub const GET_PATH: &str = "/vault.v1.Vault/Get";
/// The path of `Put`.
pub const PUT_PATH: &str = "/vault.v1.Vault/Put";
/// The path of `List`.
pub const LIST_PATH: &str = "/vault.v1.Vault/List";

/// How long before a token expires [`TokenSource`] replaces it, unless told
/// otherwise ([`TokenSource::refresh_before`]).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// What a user may do in the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// May `Get` and `List`.
    Reader,
    /// May also `Put`.
    Writer,
}

impl Role {
    /// The role a call to `path` takes: a reader's for `Get` and `List`, a
    /// writer's for `Put` and for any other vault method (one added later is
    /// writers-only until someone decides otherwise). `None` for a path
    /// outside the vault: another service on the same server, not the
    /// vault's business.
    pub fn required_for(path: &str) -> Option<Role> {
        match path {
            GET_PATH | LIST_PATH => Some(Role::Reader),
            PUT_PATH => Some(Role::Writer),
            _ if path.starts_with("/vault.v1.Vault/") => Some(Role::Writer),
            _ => None,
        }
    }

    /// Whether a user with this role may make a call that takes `needed`.
    pub fn covers(self, needed: Role) -> bool {
        self == Role::Writer || needed == Role::Reader
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
        })
    }
}

/// An authenticated user: who a call is from, as [`authenticate`] found it
/// from the call's bearer token. It puts it in the request's extensions,
/// where handlers read it with `request.extensions().get::<User>()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl User {
    /// A user named `name` who may read.
    pub fn reader(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            role: Role::Reader,
        }
    }

    /// A user named `name` who may read and write.
    pub fn writer(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            role: Role::Writer,
        }
    }
}

/// A bearer token as the [`Issuer`] hands it out (its `Debug` hides the
/// token).
#[derive(Clone)]
pub struct AccessToken {
    /// The token, as it goes after `Bearer `.
    pub token: String,
    /// How long from its issue the issuer accepts it.
    pub expires_in: Duration,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<hidden>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The vault's token authority, in process: issues bearer tokens for users,
/// each valid for the same lifetime, and tells [`authenticate`] whose a
/// token is. It stands in for an identity provider across the network,
/// which would check credentials before issuing and sign its tokens; here
/// server and clients share one table (behind a tokio `RwLock`), so that
/// checking a token is a real async lookup. Cheap to clone; clones share
/// the table.
#[derive(Clone)]
pub struct Issuer {
    lifetime: Duration,
    // The keys of the hash that makes tokens hard to guess.
    keys: RandomState,
    table: Arc<RwLock<Table>>,
}

#[derive(Default)]
struct Table {
    // How many tokens were issued: each one's number.
    issued: u64,
    grants: HashMap<String, Grant>,
}

struct Grant {
    user: User,
    issued_at: Instant,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the tokens.
        f.debug_struct("Issuer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer of tokens valid for `lifetime` from their issue.
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            keys: RandomState::new(),
            table: Arc::default(),
        }
    }

    /// Issues a new token for `user`, and forgets the tokens that have
    /// expired.
    pub async fn issue(&self, user: User) -> AccessToken {
        let mut table = self.table.write().await;
        table
            .grants
            .retain(|_, grant| grant.issued_at.elapsed() < self.lifetime);
        table.issued += 1;
        let number = table.issued;
        // Unique by its number, not guessable from other tokens by the hash
        // under keys of this issuer's own (a real issuer signs its tokens).
        let token = format!("{number:x}.{:016x}", self.keys.hash_one(number));
        let grant = Grant {
            user,
            issued_at: Instant::now(),
        };
        table.grants.insert(token.clone(), grant);
        AccessToken {
            token,
            expires_in: self.lifetime,
        }
    }

    /// The user `token` was issued for; `UNAUTHENTICATED` if this issuer
    /// did not issue it or it has expired (the same answer for both: no
    /// hint for whoever tries tokens).
    pub async fn verify(&self, token: &str) -> Result<User, Status> {
        match self.table.read().await.grants.get(token) {
            Some(grant) if grant.issued_at.elapsed() < self.lifetime => Ok(grant.user.clone()),
            _ => Err(Status::unauthenticated("unknown or expired bearer token")),
        }
    }
}

/// The server side: an interceptor that lets a call to the vault go on only
/// with a bearer token `issuer` issued, not yet expired, for a user whose
/// role covers the method (found by the call's path, see
/// [`Role::required_for`]), and puts that [`User`] in the request's
/// extensions for the handler. Without `authorization` metadata the call
/// is `UNAUTHENTICATED` ("missing bearer token"), and so it is with one
/// that is not `Bearer <token>` or whose token is unknown or expired; a
/// user whose role does not cover the method gets `PERMISSION_DENIED`.
/// Calls to other services on the same server go on untouched.
pub fn authenticate(issuer: Issuer) -> impl Interceptor {
    move |request| admit(issuer.clone(), request)
}

async fn admit(issuer: Issuer, mut request: Request<()>) -> Result<Request<()>, Status> {
    let needed = match request.path() {
        Some(path) => match Role::required_for(path) {
            Some(role) => role,
            None => return Ok(request),
        },
        // A server always knows the path; without one, ask for the most.
        None => Role::Writer,
    };
    let value = request
        .metadata()
        .get(AUTHORIZATION)
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
    let token = bearer_token(value).ok_or_else(|| {
        Status::unauthenticated("malformed authorization metadata: expected \"Bearer <token>\"")
    })?;
    let user = issuer.verify(token).await?;
    if !user.role.covers(needed) {
        return Err(Status::permission_denied(format!(
            "{} is a {}; {} takes a {needed}",
            user.name,
            user.role,
            request.path().unwrap_or("this call")
        )));
    }
    request.extensions_mut().insert(user);
    Ok(request)
}

/// The token of an `authorization` value `Bearer <token>` (the scheme in
/// any case); `None` for any other form.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace);
    well_formed.then_some(token)
}

/// Bearer tokens for one user, for [`bearer`]: fetches one from the issuer
/// on first use, and a new one whenever the one it has is about to expire
/// (less than the refresh margin left), so that calls do not go out with a
/// token the server is about to refuse. Calls made while it fetches wait
/// for that one fetch. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct TokenSource {
    issuer: Issuer,
    user: User,
    refresh_before: Duration,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    current: Mutex<Option<Held>>,
    fetches: AtomicU64,
}

struct Held {
    token: String,
    // When it was asked for: no later than the issuer's clock started.
    asked_at: Instant,
    expires_in: Duration,
}

impl Held {
    /// Whether it has more than `margin` left.
    fn lasts(&self, margin: Duration) -> bool {
        self.expires_in.saturating_sub(self.asked_at.elapsed()) > margin
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the token.
        f.debug_struct("TokenSource")
            .field("user", &self.user)
            .field("refresh_before", &self.refresh_before)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens for `user` from `issuer`, replaced [`REFRESH_MARGIN`] before
    /// they expire.
    pub fn new(issuer: Issuer, user: User) -> Self {
        Self {
            issuer,
            user,
            refresh_before: REFRESH_MARGIN,
            shared: Arc::default(),
        }
    }

    /// Replaces tokens once they have less than `margin` left instead. A
    /// margin of the tokens' lifetime or more fetches one for every call.
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// The token to send now: the one it has, or, if it has none or that
    /// one has less than the margin left, a new one it fetches first.
    pub async fn token(&self) -> String {
        let mut current = self.shared.current.lock().await;
        if let Some(held) = current.as_ref().filter(|h| h.lasts(self.refresh_before)) {
            return held.token.clone();
        }
        let asked_at = Instant::now();
        let AccessToken { token, expires_in } = self.fetch().await;
        *current = Some(Held {
            token: token.clone(),
            asked_at,
            expires_in,
        });
        token
    }

    /// Asks the issuer for a new token (here in process; over the network,
    /// with credentials, in real life).
    async fn fetch(&self) -> AccessToken {
        self.shared.fetches.fetch_add(1, Ordering::Relaxed);
        self.issuer.issue(self.user.clone()).await
    }

    /// How many tokens it has fetched.
    pub fn fetches(&self) -> u64 {
        self.shared.fetches.load(Ordering::Relaxed)
    }
}

/// The client side: an interceptor that sends a token from `tokens` with
/// every call, as `authorization: Bearer <token>` (per-call credentials:
/// a token about to expire is replaced before the call goes out). A call
/// that sets its own `authorization` keeps it (see [`with_token`]).
pub fn bearer(tokens: TokenSource) -> impl Interceptor {
    move |request| add_bearer(tokens.clone(), request)
}

async fn add_bearer(tokens: TokenSource, mut request: Request<()>) -> Result<Request<()>, Status> {
    if !request.metadata().contains_key(AUTHORIZATION) {
        let value = format!("Bearer {}", tokens.token().await);
        request
            .metadata_mut()
            .insert(AUTHORIZATION, value)
            .map_err(|e| {
                Status::internal(format!("the issuer's token is not valid metadata: {e}"))
            })?;
    }
    Ok(request)
}

/// `message` in a request with the [`crate::DEADLINE`] that brings its own
/// credentials, `token`, instead of those [`bearer`] would add: for one
/// call made as someone else (an operator's token, say).
pub fn with_token<T>(message: T, token: &str) -> Result<Request<T>, Status> {
    let mut request = crate::with_deadline(message);
    // Not something to send: the caller's mistake, not the server's.
    request
        .metadata_mut()
        .insert(AUTHORIZATION, format!("Bearer {token}"))
        .map_err(|e| Status::invalid_argument(format!("not a valid token: {e}")))?;
    Ok(request)
}

/// The `Vault` service over secrets kept in memory. Its handlers take the
/// caller from the request's extensions, where [`authenticate`] put it:
/// served without that interceptor, every call fails (`INTERNAL`) rather
/// than go on unauthenticated. Cheap to clone; clones share the secrets.
#[derive(Clone, Debug, Default)]
pub struct SecretStore {
    secrets: Arc<RwLock<BTreeMap<String, Secret>>>,
}

impl SecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The user [`authenticate`] found for `request`.
fn caller<T>(request: &Request<T>) -> Result<&User, Status> {
    request.extensions().get::<User>().ok_or_else(|| {
        Status::internal("no authenticated user: serve the vault with vault::authenticate")
    })
}

impl Vault for SecretStore {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Secret>, Status> {
        caller(&request)?;
        let name = &request.get_ref().name;
        self.secrets
            .read()
            .await
            .get(name)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no secret named {name:?}")))
    }

    async fn put(&self, request: Request<PutRequest>) -> Result<Response<PutReply>, Status> {
        let written_by = caller(&request)?.name.clone();
        let PutRequest { name, value, .. } = request.into_inner();
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        let mut secrets = self.secrets.write().await;
        let version = secrets.get(&name).map_or(1, |old| old.version + 1);
        let secret = Secret {
            name: name.clone(),
            value,
            version,
            written_by: written_by.clone(),
            ..Default::default()
        };
        secrets.insert(name, secret);
        Ok(Response::new(PutReply {
            version,
            written_by,
            ..Default::default()
        }))
    }

    type ListStream = BoxStream<'static, Result<Secret, Status>>;

    async fn list(
        &self,
        request: Request<ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        caller(&request)?;
        let prefix = request.get_ref().prefix.as_str();
        // The secrets as they are now: a Put while the stream is sent does
        // not change it.
        let matching: Vec<Result<Secret, Status>> = self
            .secrets
            .read()
            .await
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(_, secret)| Ok(secret.clone()))
            .collect();
        Ok(Response::new(futures_util::stream::iter(matching).boxed()))
    }
}

/// Reads the secret `name` (within [`crate::DEADLINE`]) with the
/// credentials the client's interceptor adds.
pub async fn get(client: &mut VaultClient, name: &str) -> Result<Secret, Status> {
    let request = crate::with_deadline(GetRequest {
        name: name.to_owned(),
        ..Default::default()
    });
    Ok(client.get(request).await?.into_inner())
}

/// Stores `value` as the secret `name` (within [`crate::DEADLINE`]); the
/// reply says its version and who the server found wrote it.
pub async fn put(client: &mut VaultClient, name: &str, value: &str) -> Result<PutReply, Status> {
    let request = crate::with_deadline(PutRequest {
        name: name.to_owned(),
        value: value.to_owned(),
        ..Default::default()
    });
    Ok(client.put(request).await?.into_inner())
}

/// Lists the secrets whose names start with `prefix` and collects the
/// stream (within [`crate::DEADLINE`] for the whole stream).
pub async fn list(client: &mut VaultClient, prefix: &str) -> Result<Vec<Secret>, Status> {
    let request = crate::with_deadline(ListRequest {
        prefix: prefix.to_owned(),
        ..Default::default()
    });
    let mut stream = client.list(request).await?.into_inner();
    let mut secrets = Vec::new();
    while let Some(secret) = stream.message().await? {
        secrets.push(secret);
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::{LIST_PATH, PUT_PATH, Role, bearer_token};

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(bearer_token("Bearer 1.abc"), Some("1.abc"));
        assert_eq!(bearer_token("bearer 1.abc"), Some("1.abc"));
        for malformed in [
            "",
            "Bearer",
            "Bearer ",
            "Basic YWRhOnB3",
            "1.abc",
            "Bearer a b",
        ] {
            assert_eq!(bearer_token(malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn decides_by_path() {
        assert_eq!(Role::required_for(LIST_PATH), Some(Role::Reader));
        assert_eq!(Role::required_for(PUT_PATH), Some(Role::Writer));
        assert_eq!(
            Role::required_for("/vault.v1.Vault/Delete"),
            Some(Role::Writer)
        );
        assert_eq!(Role::required_for("/greeter.v1.Greeter/SayHello"), None);
        assert!(Role::Writer.covers(Role::Writer) && Role::Writer.covers(Role::Reader));
        assert!(Role::Reader.covers(Role::Reader) && !Role::Reader.covers(Role::Writer));
    }
}
