//! The user service end to end: the real server on loopback, the generated
//! client.

use rust_rpc::transport::{Code, Server};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::users::{self, UserDirectory, UserServiceClient, UserServiceServer, user};

async fn start(directory: UserDirectory) -> (LocalServer, UserServiceClient) {
    let server =
        LocalServer::start(Server::builder().add_service(UserServiceServer::new(directory)))
            .await
            .expect("start the server");
    let client = UserServiceClient::connect(server.url())
        .await
        .expect("connect");
    (server, client)
}

#[tokio::test]
async fn finds_a_user_by_id() {
    let (server, mut client) = start(UserDirectory::sample()).await;
    assert_eq!(
        users::get_user(&mut client, 2).await.expect("GetUser(2)"),
        user(2, "Alan Turing", "alan@example.org")
    );
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn a_missing_id_is_not_found() {
    let (_server, mut client) = start(UserDirectory::new([user(7, "Bo", "bo@example.org")])).await;
    assert_eq!(
        users::get_user(&mut client, 7)
            .await
            .expect("GetUser(7)")
            .name,
        "Bo"
    );
    for id in [0, 1, 42, u64::MAX] {
        let status = users::get_user(&mut client, id).await.expect_err("missing");
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), format!("no user with id {id}"));
    }
}
