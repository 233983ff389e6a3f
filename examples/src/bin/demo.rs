//! The demo: code generated from `proto/contacts.proto` at build time, used
//! for real. Starts the `Contacts` server on loopback, runs a client through
//! every kind of call (unary, server streaming, client streaming, bidi),
//! shows errors and deadlines, then the message codec on its own: fields from
//! a newer schema surviving a round trip, and malformed input as an error.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use rust_rpc::transport::{Code, Request, Server};
use rust_rpc::wkt::Timestamp;
use rust_rpc::{Message, OpenEnum};
use rust_rpc_examples::Book;
use rust_rpc_examples::contacts::{
    ContactsClient, ContactsServer, ListRequest, Person, PersonRequest, PhoneNumber, person,
    phone_number,
};

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn person_named(name: &str) -> Person {
    Person {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real server on a real socket.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(ContactsServer::new(Book::default()))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    println!("server: Contacts listening on {addr}");

    let mut client = ContactsClient::connect(format!("http://{addr}")).await?;

    // Unary.
    let mobile = PhoneNumber {
        number: "+44 20 7946 0958".into(),
        kind: phone_number::Kind::Mobile.into(),
        ..Default::default()
    };
    let ada = Person {
        name: "Ada Lovelace".into(),
        email: Some("ada@example.org".into()),
        phones: vec![mobile.clone()],
        labels: [("team".to_owned(), "analytical-engine".to_owned())].into(),
        updated_at: Some(Timestamp::from(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )),
        preferred: Some(person::Preferred::PreferredPhone(mobile)),
        ..Default::default()
    };
    let ada = client.add_person(ada).await?.into_inner();
    println!("unary AddPerson: {} got id {}", ada.name, ada.id);
    let found = client
        .get_person(PersonRequest {
            id: ada.id,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(found, ada);
    println!(
        "unary GetPerson({}): {} <{}>",
        ada.id,
        found.name,
        found.email()
    );

    // Errors are statuses with a code and a message.
    let missing = client
        .get_person(PersonRequest {
            id: 99,
            ..Default::default()
        })
        .await;
    match missing {
        Err(status) if status.code() == Code::NotFound => println!("unary GetPerson(99): {status}"),
        other => return Err(format!("expected NOT_FOUND, got {other:?}").into()),
    }

    // Client streaming: import many people in one call.
    let names = [
        "Grace Hopper",
        "Katherine Johnson",
        "",
        "Margaret Hamilton",
        "Annie Easley",
    ];
    let summary = client
        .import(futures_util::stream::iter(names.map(person_named)))
        .await?
        .into_inner();
    println!(
        "client-streaming Import: {} added, {} skipped (no name)",
        summary.added, summary.skipped
    );
    assert_eq!((summary.added, summary.skipped), (4, 1));

    // Server streaming: list who matches.
    let mut people = client
        .list_people(ListRequest {
            name_contains: "e".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut listed = Vec::new();
    while let Some(p) = people.message().await? {
        listed.push(format!("{} (#{})", p.name, p.id));
    }
    println!("server-streaming ListPeople(\"e\"): {}", listed.join(", "));

    // Bidi: lookups answered as they arrive on one stream.
    let lookups = futures_util::stream::iter([2u64, 3, 1].map(|id| PersonRequest {
        id,
        ..Default::default()
    }));
    let mut answers = client.lookup(lookups).await?.into_inner();
    while let Some(answer) = answers.next().await {
        println!("bidi Lookup: {}", answer?.name);
    }

    // Deadlines: ask for an answer within a microsecond.
    let mut hurried = Request::new(ListRequest::default());
    hurried.set_timeout(Duration::from_micros(1));
    match client.list_people(hurried).await {
        Err(status) if status.code() == Code::DeadlineExceeded => println!("deadline: {status}"),
        Err(status) => println!("deadline: the call failed first with {status}"),
        Ok(_) => println!("deadline: the server beat a 1 µs deadline"),
    }

    let _ = stop.send(());
    server.await??;
    println!("server: shut down gracefully");

    // The codec on its own.
    let bytes = found.encode_to_vec();
    println!(
        "\nencoded Ada into {} bytes: {} ...",
        bytes.len(),
        hex(&bytes[..16.min(bytes.len())])
    );

    // A newer client added field 99 (a string) to Person; this build doesn't
    // know it, but keeps it and writes it back.
    let mut newer = person_named("Katherine").encode_to_vec();
    newer.extend_from_slice(&[0x9a, 0x06, 0x05]);
    newer.extend_from_slice(b"orbit");
    let person = Person::decode(newer.as_slice())?;
    assert_eq!(person.encode_to_vec(), newer);
    println!(
        "a field from a newer schema survived the round trip: {:?}",
        person.unknown_fields
    );

    // An enum number this build doesn't know is kept, too (proto3 enums are open).
    let phone = PhoneNumber::decode(&[0x10, 0x07][..])?;
    assert_eq!(phone.kind, OpenEnum::Unknown(7));
    println!("unknown enum value kept: kind = {:?}", phone.kind);

    // Malformed input is an error that says what and where.
    for (what, bad) in [
        ("truncated string", &[0x12, 0x05, b'A', b'd'][..]),
        ("field number 0", &[0x00, 0x01][..]),
        ("invalid UTF-8", &[0x12, 0x02, 0xff, 0xfe][..]),
    ] {
        match Person::decode(bad) {
            Err(e) => println!("{what}: {e}"),
            Ok(p) => return Err(format!("{what} decoded as {p:?}").into()),
        }
    }
    Ok(())
}
