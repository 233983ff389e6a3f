//! Messages and services generated apart (`build_client(false)` plus
//! `build_server(false)` for one, `build_messages(false)` for the other) and
//! mounted in one module make the same working service as generating both
//! at once.

/// `greeter.v1`, from the two halves in OUT_DIR/split.
#[allow(missing_docs)]
pub mod greeter {
    include!(concat!(env!("OUT_DIR"), "/split/messages/greeter.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/split/services/greeter.v1.rs"));
}

use greeter::{Greeter, GreeterClient, GreeterServer, HelloReply, HelloRequest};
use rust_rpc::transport::{Request, Response, Server, Status};
use rust_rpc_examples::LocalServer;

struct Echo;

impl Greeter for Echo {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        Ok(Response::new(HelloReply {
            message: format!("hi {}", request.into_inner().name),
            ..Default::default()
        }))
    }
}

#[test]
fn each_half_holds_only_its_part() {
    let messages = include_str!(concat!(env!("OUT_DIR"), "/split/messages/greeter.v1.rs"));
    let services = include_str!(concat!(env!("OUT_DIR"), "/split/services/greeter.v1.rs"));
    assert!(messages.contains("pub struct HelloRequest"));
    assert!(!messages.contains("GreeterClient") && !messages.contains("pub trait Greeter"));
    assert!(
        services.contains("pub struct GreeterClient") && services.contains("pub trait Greeter")
    );
    assert!(!services.contains("pub struct HelloRequest"));
}

#[tokio::test]
async fn the_halves_together_serve_and_call() {
    let server = LocalServer::start(Server::builder().add_service(GreeterServer::new(Echo)))
        .await
        .expect("start the server");
    let mut client = GreeterClient::connect(server.url()).await.expect("connect");
    let reply = client
        .say_hello(HelloRequest {
            name: "split".to_owned(),
            ..Default::default()
        })
        .await
        .expect("SayHello")
        .into_inner();
    assert_eq!(reply.message, "hi split");
    server.shutdown().await.expect("shut down");
}
