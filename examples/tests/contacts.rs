//! The address book service end to end over loopback.

use futures_util::StreamExt;
use rust_rpc::transport::{Code, Server};
use rust_rpc_examples::Book;
use rust_rpc_examples::contacts::{
    ContactsClient, ContactsServer, ListRequest, Person, PersonRequest,
};

fn named(name: &str) -> Person {
    Person {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_kind_of_call_against_the_book() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        Server::builder()
            .add_service(ContactsServer::new(Book::default()))
            .serve_with_listener(listener, std::future::pending()),
    );
    let mut client = ContactsClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");

    let ada = client
        .add_person(named("Ada"))
        .await
        .expect("add")
        .into_inner();
    assert_eq!(ada.id, 1);
    let err = client
        .add_person(named(""))
        .await
        .map(|_| ())
        .expect_err("no name");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .get_person(PersonRequest {
            id: 7,
            ..Default::default()
        })
        .await
        .map(|_| ())
        .expect_err("missing");
    assert_eq!(err.code(), Code::NotFound);

    let summary = client
        .import(futures_util::stream::iter(["Bob", "", "Cy"].map(named)))
        .await
        .expect("import")
        .into_inner();
    assert_eq!((summary.added, summary.skipped), (2, 1));

    let names: Vec<String> = client
        .list_people(ListRequest::default())
        .await
        .expect("list")
        .into_inner()
        .map(|p| p.expect("person").name)
        .collect()
        .await;
    assert_eq!(names, ["Ada", "Bob", "Cy"]);

    let answers: Vec<Result<String, Code>> = client
        .lookup(futures_util::stream::iter([3u64, 9].map(|id| {
            PersonRequest {
                id,
                ..Default::default()
            }
        })))
        .await
        .expect("lookup")
        .into_inner()
        .map(|r| r.map(|p| p.name).map_err(|s| s.code()))
        .collect()
        .await;
    // The first lookup answers; the second ends the call with NOT_FOUND.
    assert_eq!(answers, [Ok("Cy".to_owned()), Err(Code::NotFound)]);
}
