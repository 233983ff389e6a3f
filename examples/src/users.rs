//! The user service (`proto/users.proto`, package `users.v1`): a lookup by
//! id that answers `NOT_FOUND` when there is no such user. The generated
//! types are re-exported here.

use std::collections::BTreeMap;

use rust_rpc::transport::{Request, Response, Status};

pub use crate::generated::users::v1::*;

/// The `UserService` over a fixed, in-memory set of users.
#[derive(Clone, Debug, Default)]
pub struct UserDirectory {
    users: BTreeMap<u64, UserResponse>,
}

/// A user record with these fields.
pub fn user(id: u64, name: &str, email: &str) -> UserResponse {
    UserResponse {
        id,
        name: name.to_owned(),
        email: email.to_owned(),
        ..Default::default()
    }
}

impl UserDirectory {
    /// A directory of `users`, found by their ids (a later duplicate id wins).
    pub fn new(users: impl IntoIterator<Item = UserResponse>) -> Self {
        Self {
            users: users.into_iter().map(|u| (u.id, u)).collect(),
        }
    }

    /// A directory with three sample users, ids 1 to 3.
    pub fn sample() -> Self {
        Self::new([
            user(1, "Ada Lovelace", "ada@example.org"),
            user(2, "Alan Turing", "alan@example.org"),
            user(3, "Grace Hopper", "grace@example.org"),
        ])
    }
}

impl UserService for UserDirectory {
    async fn get_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let id = request.get_ref().id;
        self.users
            .get(&id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no user with id {id}")))
    }
}

/// Looks up the user with `id` (within [`crate::DEADLINE`]).
pub async fn get_user(client: &mut UserServiceClient, id: u64) -> Result<UserResponse, Status> {
    let request = crate::with_deadline(UserRequest {
        id,
        ..Default::default()
    });
    Ok(client.get_user(request).await?.into_inner())
}
