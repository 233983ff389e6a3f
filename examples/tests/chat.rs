//! Chat end to end: members on their own connections, each with one
//! bidirectional stream that sends and receives at the same time.

use rust_rpc::transport::{Code, Request, Server};
use rust_rpc_examples::LocalServer;
use rust_rpc_examples::chat::{
    self, ChatMessage, ChatRoomClient, ChatRoomServer, ChatSession, Room, USER_KEY,
};

async fn start() -> LocalServer {
    LocalServer::start(Server::builder().add_service(ChatRoomServer::new(Room::new())))
        .await
        .expect("start the server")
}

/// Joins as `user` on a connection of its own.
async fn join(server: &LocalServer, user: &str) -> ChatSession {
    let mut client = ChatRoomClient::connect(server.url())
        .await
        .expect("connect");
    chat::join(&mut client, user).await.expect("join")
}

async fn next(session: &mut ChatSession) -> (u64, String, String) {
    let m = session
        .next_message()
        .await
        .expect("a message")
        .expect("the stream goes on");
    (m.seq, m.user, m.text)
}

fn said(seq: u64, user: &str, text: &str) -> (u64, String, String) {
    (seq, user.to_owned(), text.to_owned())
}

#[tokio::test]
async fn two_members_talk_while_both_streams_stay_open() {
    let server = start().await;
    let mut ada = join(&server, "ada").await;
    let mut bob = join(&server, "bob").await;

    // Turn by turn: each sees the other's message (and its own) before
    // answering, on the stream it is still sending on.
    let turns = [
        ("ada", "hi bob"),
        ("bob", "hi ada"),
        ("ada", "how are you?"),
        ("bob", "fine, and you?"),
    ];
    for (seq, (user, text)) in (1..).zip(turns) {
        let speaker = if user == "ada" { &ada } else { &bob };
        speaker.say(text).await.expect("say");
        assert_eq!(next(&mut ada).await, said(seq, user, text));
        assert_eq!(next(&mut bob).await, said(seq, user, text));
    }

    // Both at once: the room puts the messages in one order, the same for
    // every member.
    ada.say("one").await.expect("say");
    bob.say("two").await.expect("say");
    ada.say("three").await.expect("say");
    let seen_by_ada = [
        next(&mut ada).await,
        next(&mut ada).await,
        next(&mut ada).await,
    ];
    let seen_by_bob = [
        next(&mut bob).await,
        next(&mut bob).await,
        next(&mut bob).await,
    ];
    assert_eq!(seen_by_ada, seen_by_bob);
    assert_eq!(
        seen_by_ada.iter().map(|m| m.0).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    // Each member's own messages keep the order it sent them in.
    let ada_said: Vec<&str> = seen_by_ada
        .iter()
        .filter(|m| m.1 == "ada")
        .map(|m| m.2.as_str())
        .collect();
    assert_eq!(ada_said, ["one", "three"]);
    let bob_said: Vec<&str> = seen_by_ada
        .iter()
        .filter(|m| m.1 == "bob")
        .map(|m| m.2.as_str())
        .collect();
    assert_eq!(bob_said, ["two"]);

    // Leaving ends that member's stream; the others go on.
    ada.leave();
    assert_eq!(ada.next_message().await.expect("ends OK"), None);
    assert!(ada.say("anyone?").await.is_err());
    bob.say("bye").await.expect("say");
    assert_eq!(next(&mut bob).await, said(8, "bob", "bye"));
    bob.leave();
    assert_eq!(bob.next_message().await.expect("ends OK"), None);
    server.shutdown().await.expect("shut down");
}

#[tokio::test]
async fn a_late_joiner_gets_what_is_said_after_it_joined() {
    let server = start().await;
    let mut ada = join(&server, "ada").await;
    ada.say("before").await.expect("say");
    assert_eq!(next(&mut ada).await, said(1, "ada", "before"));
    let mut cy = join(&server, "cy").await;
    cy.say("after").await.expect("say");
    assert_eq!(next(&mut cy).await, said(2, "cy", "after"));
    assert_eq!(next(&mut ada).await, said(2, "cy", "after"));
}

#[tokio::test]
async fn the_server_says_who_wrote_a_message() {
    let server = start().await;
    let mut client = ChatRoomClient::connect(server.url())
        .await
        .expect("connect");
    // A client claiming to be someone else in the message itself.
    let forged = ChatMessage {
        user: "mallory".into(),
        text: "it is me, ada".into(),
        ..Default::default()
    };
    let mut request = Request::new(futures_util::stream::iter([forged]));
    request
        .metadata_mut()
        .insert(USER_KEY, "eve")
        .expect("metadata");
    let mut stream = client.chat(request).await.expect("chat").into_inner();
    let received = stream.message().await.expect("a message");
    assert_eq!(
        received.map(|m| (m.user, m.text)),
        Some(("eve".to_owned(), "it is me, ada".to_owned()))
    );
    // The request stream ended there: eve left, after receiving her message.
    assert_eq!(stream.message().await.expect("ends OK"), None);
}

#[tokio::test]
async fn a_member_must_say_who_it_is() {
    let server = start().await;
    let mut client = ChatRoomClient::connect(server.url())
        .await
        .expect("connect");
    let anonymous = Request::new(futures_util::stream::iter(Vec::<ChatMessage>::new()));
    let status = match client.chat(anonymous).await {
        Err(status) => status,
        Ok(response) => response
            .into_inner()
            .message()
            .await
            .expect_err("no user name"),
    };
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        format!("name yourself in the {USER_KEY} metadata")
    );
}
