//! The greeter (`proto/greeter.proto`, package `greeter.v1`): the smallest
//! service, one unary call. The generated types are re-exported here.

use rust_rpc::transport::{Request, Response, Status};

pub use crate::generated::greeter::v1::*;

/// The `Greeter` service: greets whoever gives a name.
#[derive(Clone, Copy, Debug, Default)]
pub struct FriendlyGreeter;

impl Greeter for FriendlyGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let name = request.get_ref().name.trim();
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        Ok(Response::new(HelloReply {
            message: format!("Hello, {name}!"),
            ..Default::default()
        }))
    }
}

/// Asks the server to greet `name` (within [`crate::DEADLINE`]) and returns
/// the greeting.
pub async fn say_hello(client: &mut GreeterClient, name: &str) -> Result<String, Status> {
    let request = crate::with_deadline(HelloRequest {
        name: name.to_owned(),
        ..Default::default()
    });
    Ok(client.say_hello(request).await?.into_inner().message)
}
