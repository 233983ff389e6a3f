//! The greeter end to end: the real server on loopback, the generated client.

use rust_rpc::transport::{Code, Server};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::greeter::{self, FriendlyGreeter, GreeterClient, GreeterServer};

async fn start() -> (LocalServer, GreeterClient) {
    let server =
        LocalServer::start(Server::builder().add_service(GreeterServer::new(FriendlyGreeter)))
            .await
            .expect("start the server");
    let client = GreeterClient::connect(server.url()).await.expect("connect");
    (server, client)
}

#[tokio::test]
async fn greets_by_name() {
    let (server, mut client) = start().await;
    assert_eq!(
        greeter::say_hello(&mut client, "Ada")
            .await
            .expect("SayHello"),
        "Hello, Ada!"
    );
    // Surrounding blanks are not part of the name.
    assert_eq!(
        greeter::say_hello(&mut client, "  Grace \n")
            .await
            .expect("SayHello"),
        "Hello, Grace!"
    );
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn an_empty_name_is_an_invalid_argument() {
    let (_server, mut client) = start().await;
    for name in ["", "   "] {
        let status = greeter::say_hello(&mut client, name)
            .await
            .expect_err("no name");
        assert_eq!(status.code(), Code::InvalidArgument, "{name:?}");
        assert_eq!(status.message(), "name must not be empty");
    }
}
