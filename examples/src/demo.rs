//! The demo behind `cargo run -p rust-rpc-examples --bin demo`: one server
//! on loopback hosting every example service, a client through each, then
//! the message codec on its own.

use std::fmt::Debug;
use std::io::Write;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use rust_rpc::channelz::v1::GetServersRequest;
use rust_rpc::channelz::{Channelz, ChannelzClient};
use rust_rpc::health::{HealthClient, HealthReporter, ServingStatus, v1::HealthCheckRequest};
use rust_rpc::reflection::v1::server_reflection_request::MessageRequest;
use rust_rpc::reflection::v1::server_reflection_response::MessageResponse;
use rust_rpc::reflection::v1::{ServerReflectionClient, ServerReflectionRequest};
use rust_rpc::transport::{Channel, Code, Endpoint, Request, Server, Status};
use rust_rpc::wkt::FileDescriptorProto;
use rust_rpc::wkt::Timestamp;
use rust_rpc::{Message, OpenEnum};

use crate::LocalServer;
use crate::calculator::{self, Arithmetic, CalculatorClient, CalculatorServer};
use crate::chat::{self, ChatRoomClient, ChatRoomServer, ChatSession, Room};
use crate::contacts::{
    Book, ContactsClient, ContactsServer, ListRequest, Person, PersonRequest, PhoneNumber, person,
    phone_number,
};
use crate::greeter::{self, FriendlyGreeter, GreeterClient, GreeterServer};
use crate::scores::{self, LiveScoresClient, LiveScoresServer, ScoreFeed, ScoreUpdate};
use crate::telemetry::{self, Collector, Reading, TelemetryClient, TelemetryServer};
use crate::users::{self, UserDirectory, UserServiceClient, UserServiceServer};
use crate::vault::{
    self, Issuer, PutRequest, SecretStore, TokenSource, User, VaultClient, VaultServer,
};

/// Why the demo failed: a call that went wrong, or a result it did not expect.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// `writeln!` to the demo's output, failing the demo if that fails.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*)?
    };
}

/// Fails the demo unless `got == want`.
fn check<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), Error> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}").into())
    }
}

/// The status `result` failed with, which must have `code`.
fn expect_code<T: Debug>(
    what: &str,
    result: Result<T, Status>,
    code: Code,
) -> Result<Status, Error> {
    match result {
        Err(status) if status.code() == code => Ok(status),
        other => Err(format!("{what}: expected {code:?}, got {other:?}").into()),
    }
}

/// Runs the demo, writing what happens to `out` (a few lines per example):
/// starts one server on 127.0.0.1 hosting every example service, runs a
/// client through each over one shared connection, shuts the server down,
/// and shows the codec on its own. Fails on the first call or result that is
/// not as expected, saying which.
pub async fn run_demo(out: &mut (dyn Write + Send)) -> Result<(), Error> {
    let feed = ScoreFeed::new();
    // The vault's tokens: valid for 15 minutes.
    let issuer = Issuer::new(Duration::from_secs(15 * 60));
    let health = HealthReporter::new();
    let channelz = Channelz::new();
    let server = LocalServer::start(
        Server::builder()
            // The standard services: health, reflection, channelz.
            .health(&health)
            .reflection()
            .channelz(&channelz)
            .add_service(channelz.service())
            // Before every call; it guards the vault's calls only.
            .interceptor(vault::authenticate(issuer.clone()))
            .add_service(ContactsServer::new(Book::default()))
            .add_service(GreeterServer::new(FriendlyGreeter))
            .add_service(UserServiceServer::new(UserDirectory::sample()))
            .add_service(CalculatorServer::new(Arithmetic))
            .add_service(LiveScoresServer::new(feed.clone()))
            .add_service(TelemetryServer::new(Collector))
            .add_service(ChatRoomServer::new(Room::new()))
            .add_service(VaultServer::new(SecretStore::new())),
    )
    .await?;
    say!(
        out,
        "server: 8 services (and health, reflection, channelz) listening on {}",
        server.addr()
    );
    // One HTTP/2 connection, shared by every client below.
    let channel = Endpoint::new(server.url())?.connect().await?;

    contacts_part(out, channel.clone()).await?;
    greeter_part(out, channel.clone()).await?;
    users_part(out, channel.clone()).await?;
    calculator_part(out, channel.clone()).await?;
    scores_part(out, channel.clone(), &feed).await?;
    telemetry_part(out, channel.clone()).await?;
    chat_part(out, channel.clone()).await?;
    vault_part(out, channel.clone(), &issuer).await?;
    standard_part(out, channel, &health).await?;

    server.shutdown().await?;
    say!(out, "server: shut down gracefully");
    codec_part(out)?;
    Ok(())
}

/// The standard services every example server runs beside its own:
/// health (what probes ask), reflection (what grpcurl asks) and channelz
/// (what grpcdebug asks).
async fn standard_part(
    out: &mut (dyn Write + Send),
    channel: Channel,
    health: &HealthReporter,
) -> Result<(), Error> {
    say!(
        out,
        "\n-- grpc.health.v1.Health, grpc.reflection.v1, grpc.channelz.v1 --"
    );
    let mut probe = HealthClient::new(channel.clone());
    let check = |service: &str| HealthCheckRequest {
        service: service.to_owned(),
        ..Default::default()
    };
    let status = probe
        .check(check("contacts.v1.Contacts"))
        .await?
        .into_inner()
        .status;
    say!(out, "Check(contacts.v1.Contacts): {:?}", status.known());
    health.set_status("contacts.v1.Contacts", ServingStatus::NotServing);
    let status = probe
        .check(check("contacts.v1.Contacts"))
        .await?
        .into_inner()
        .status;
    say!(out, "after set_status: {:?}", status.known());
    health.set_serving("contacts.v1.Contacts");

    // Reflection: one stream, two questions.
    let questions = futures_util::stream::iter([
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("contacts.v1.Contacts".into()),
    ])
    .map(|question| ServerReflectionRequest {
        message_request: Some(question),
        ..Default::default()
    });
    let mut answers = ServerReflectionClient::new(channel.clone())
        .server_reflection_info(questions)
        .await?
        .into_inner();
    while let Some(answer) = answers.message().await? {
        match answer.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                say!(out, "reflection lists {} services", list.service.len());
            }
            Some(MessageResponse::FileDescriptorResponse(files)) => {
                let names = files
                    .file_descriptor_proto
                    .iter()
                    .map(|f| FileDescriptorProto::decode_slice(f).map(|f| f.name().to_owned()))
                    .collect::<Result<Vec<_>, _>>()?;
                say!(out, "contacts.v1.Contacts is in: {}", names.join(", "));
            }
            other => return Err(format!("reflection: unexpected {other:?}").into()),
        }
    }

    // Channelz: what the server counted of every call above (this one too).
    let servers = ChannelzClient::new(channel)
        .get_servers(GetServersRequest::default())
        .await?
        .into_inner();
    for server in servers.server {
        let data = server.data.unwrap_or_default();
        say!(
            out,
            "channelz: {} calls on the server so far ({} failed, as some above meant to), {} listen socket",
            data.calls_started,
            data.calls_failed,
            server.listen_socket.len()
        );
    }
    Ok(())
}

fn person_named(name: &str) -> Person {
    Person {
        name: name.into(),
        ..Default::default()
    }
}

/// The address book: every kind of call, an error, a deadline.
async fn contacts_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(out, "\n-- contacts.v1.Contacts: one call of each kind --");
    let mut client = ContactsClient::new(channel);

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
    let ada = client
        .add_person(crate::with_deadline(ada))
        .await?
        .into_inner();
    say!(out, "unary AddPerson: {} got id {}", ada.name, ada.id);
    let found = client
        .get_person(crate::with_deadline(PersonRequest {
            id: ada.id,
            ..Default::default()
        }))
        .await?
        .into_inner();
    check("GetPerson", &found, &ada)?;
    say!(
        out,
        "unary GetPerson({}): {} <{}>",
        ada.id,
        found.name,
        found.email()
    );

    // Errors are statuses with a code and a message.
    let missing = client
        .get_person(crate::with_deadline(PersonRequest {
            id: 99,
            ..Default::default()
        }))
        .await;
    let status = expect_code("GetPerson(99)", missing, Code::NotFound)?;
    say!(out, "unary GetPerson(99): {status}");

    // Client streaming: import many people in one call.
    let names = [
        "Grace Hopper",
        "Katherine Johnson",
        "",
        "Margaret Hamilton",
        "Annie Easley",
    ];
    let summary = client
        .import(crate::with_deadline(futures_util::stream::iter(
            names.map(person_named),
        )))
        .await?
        .into_inner();
    say!(
        out,
        "client-streaming Import: {} added, {} skipped (no name)",
        summary.added,
        summary.skipped
    );
    check("Import", (summary.added, summary.skipped), (4, 1))?;

    // Server streaming: list who matches.
    let mut people = client
        .list_people(crate::with_deadline(ListRequest {
            name_contains: "e".into(),
            ..Default::default()
        }))
        .await?
        .into_inner();
    let mut listed = Vec::new();
    while let Some(p) = people.message().await? {
        listed.push(format!("{} (#{})", p.name, p.id));
    }
    say!(
        out,
        "server-streaming ListPeople(\"e\"): {}",
        listed.join(", ")
    );

    // Bidi: lookups answered as they arrive on one stream.
    let lookups = futures_util::stream::iter([2u64, 3, 1].map(|id| PersonRequest {
        id,
        ..Default::default()
    }));
    let mut answers = client
        .lookup(crate::with_deadline(lookups))
        .await?
        .into_inner();
    let mut names = Vec::new();
    while let Some(answer) = answers.next().await {
        names.push(answer?.name);
    }
    say!(out, "bidi Lookup(2, 3, 1): {}", names.join(", "));

    // Deadlines: ask for an answer within a microsecond.
    let mut hurried = Request::new(ListRequest::default());
    hurried.set_timeout(Duration::from_micros(1));
    match client.list_people(hurried).await {
        Err(status) if status.code() == Code::DeadlineExceeded => say!(out, "deadline: {status}"),
        Err(status) => say!(out, "deadline: the call failed first with {status}"),
        Ok(_) => say!(out, "deadline: the server beat a 1 µs deadline"),
    }
    Ok(())
}

async fn greeter_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(out, "\n-- greeter.v1.Greeter: unary --");
    let mut client = GreeterClient::new(channel);
    let greeting = greeter::say_hello(&mut client, "Ada").await?;
    check("SayHello(Ada)", greeting.as_str(), "Hello, Ada!")?;
    say!(out, "SayHello(\"Ada\"): {greeting:?}");
    let empty = greeter::say_hello(&mut client, "").await;
    let status = expect_code("SayHello(\"\")", empty, Code::InvalidArgument)?;
    say!(out, "SayHello(\"\"): {status}");
    Ok(())
}

async fn users_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(out, "\n-- users.v1.UserService: lookups by id --");
    let mut client = UserServiceClient::new(channel);
    let user = users::get_user(&mut client, 1).await?;
    check("GetUser(1)", user.name.as_str(), "Ada Lovelace")?;
    say!(out, "GetUser(1): {} <{}>", user.name, user.email);
    let missing = users::get_user(&mut client, 42).await;
    let status = expect_code("GetUser(42)", missing, Code::NotFound)?;
    say!(out, "GetUser(42): {status}");
    Ok(())
}

async fn calculator_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(
        out,
        "\n-- calculator.v1.Calculator: unary and server streaming --"
    );
    let mut client = CalculatorClient::new(channel);
    let total = calculator::sum(&mut client, 5, 10).await?;
    check("Sum(5, 10)", total, 15)?;
    say!(out, "Sum(5, 10) = {total}");
    let factors = calculator::prime_factors(&mut client, 360).await?;
    check("PrimeFactors(360)", factors.as_slice(), &[2, 2, 2, 3, 3, 5])?;
    let factors: Vec<String> = factors.iter().map(u64::to_string).collect();
    say!(
        out,
        "PrimeFactors(360) streamed {} factors: {}",
        factors.len(),
        factors.join(", ")
    );
    let one = calculator::prime_factors(&mut client, 1).await;
    let status = expect_code("PrimeFactors(1)", one, Code::InvalidArgument)?;
    say!(out, "PrimeFactors(1): {status}");
    Ok(())
}

fn score(
    match_id: &str,
    (home, away): (&str, &str),
    (home_score, away_score): (u32, u32),
    minute: u32,
    event: &str,
) -> ScoreUpdate {
    ScoreUpdate {
        match_id: match_id.into(),
        home: home.into(),
        away: away.into(),
        home_score,
        away_score,
        minute,
        event: event.into(),
        ..Default::default()
    }
}

fn full_time(update: ScoreUpdate) -> ScoreUpdate {
    ScoreUpdate {
        finished: true,
        ..update
    }
}

async fn scores_part(
    out: &mut (dyn Write + Send),
    channel: Channel,
    feed: &ScoreFeed,
) -> Result<(), Error> {
    say!(
        out,
        "\n-- scores.v1.LiveScores: the server pushes updates --"
    );
    let ars_che = ("Arsenal", "Chelsea");
    let liv_mci = ("Liverpool", "Man City");
    feed.publish(score("ars-che", ars_che, (0, 0), 0, "kick-off"));
    feed.publish(score("liv-mci", liv_mci, (0, 0), 0, "kick-off"));

    let mut client = LiveScoresClient::new(channel);
    let mut updates = scores::subscribe(&mut client, "ars-che").await?;
    let first = updates.message().await?.ok_or("no current state")?;
    say!(out, "Subscribe(ars-che), now: {}", scores::describe(&first));
    // The feed goes on; only this match's updates reach the subscriber.
    let timeline = [
        score("ars-che", ars_che, (1, 0), 23, "goal: Saka"),
        score("liv-mci", liv_mci, (0, 1), 30, "goal: Haaland"),
        score("ars-che", ars_che, (1, 1), 52, "goal: Palmer"),
        score("ars-che", ars_che, (2, 1), 88, "goal: Martinelli"),
        full_time(score("ars-che", ars_che, (2, 1), 90, "")),
    ];
    for update in timeline {
        feed.publish(update.clone());
        if update.match_id == "ars-che" {
            let pushed = updates.message().await?.ok_or("the stream ended early")?;
            check("pushed update", &pushed, &update)?;
            say!(out, "  pushed: {}", scores::describe(&pushed));
        }
    }
    let after = updates.message().await?;
    check("after full time", after, None)?;
    say!(
        out,
        "  the stream ended at full time (Liverpool's goal was not sent)"
    );
    let unknown = scores::subscribe(&mut client, "nope").await;
    let status = expect_code("Subscribe(nope)", unknown.map(|_| ()), Code::NotFound)?;
    say!(out, "Subscribe(nope): {status}");

    // A deadline bounds a subscription: follow the other match for 100 ms.
    let mut brief = Request::new(scores::SubscribeRequest {
        match_id: "liv-mci".into(),
        ..Default::default()
    });
    brief.set_timeout(Duration::from_millis(100));
    let mut updates = client.subscribe(brief).await?.into_inner();
    let now = updates.message().await?.ok_or("no current state")?;
    let status = expect_code(
        "after 100 ms",
        updates.message().await,
        Code::DeadlineExceeded,
    )?;
    say!(
        out,
        "Subscribe(liv-mci) for 100 ms: {}, then {status}",
        scores::describe(&now)
    );
    Ok(())
}

async fn telemetry_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(out, "\n-- telemetry.v1.Telemetry: client streaming --");
    let mut client = TelemetryClient::new(channel);
    // A thermometer's day: 10,000 readings between 18.0 and 27.9 degrees.
    let readings = (0..10_000u64).map(|i| Reading {
        timestamp_ms: 1_700_000_000_000 + i * 1_000,
        value: 18.0 + (i % 100) as f64 / 10.0,
        ..Default::default()
    });
    let summary = telemetry::upload(&mut client, "thermo-7", readings).await?;
    check("Upload count", summary.count, 10_000)?;
    say!(
        out,
        "Upload as {:?} ({} metadata): {} readings, min {:.1}, max {:.1}, mean {:.2}",
        summary.device_id,
        telemetry::DEVICE_ID_KEY,
        summary.count,
        summary.min,
        summary.max,
        summary.mean
    );
    Ok(())
}

/// Reads the next message of both sessions, which must be the same.
async fn both_receive(ada: &mut ChatSession, bob: &mut ChatSession) -> Result<String, Error> {
    let to_ada = ada.next_message().await?.ok_or("ada's stream ended")?;
    let to_bob = bob.next_message().await?.ok_or("bob's stream ended")?;
    check("what ada and bob received", &to_ada, &to_bob)?;
    Ok(format!("#{} {}: {}", to_ada.seq, to_ada.user, to_ada.text))
}

async fn chat_part(out: &mut (dyn Write + Send), channel: Channel) -> Result<(), Error> {
    say!(out, "\n-- chat.v1.ChatRoom: bidi, both ways at once --");
    let mut ada = chat::join(&mut ChatRoomClient::new(channel.clone()), "ada").await?;
    let mut bob = chat::join(&mut ChatRoomClient::new(channel), "bob").await?;
    say!(out, "ada and bob joined the room");
    ada.say("hi bob!").await?;
    say!(
        out,
        "both received {}",
        both_receive(&mut ada, &mut bob).await?
    );
    bob.say("hi ada, how is the engine?").await?;
    say!(
        out,
        "both received {}",
        both_receive(&mut ada, &mut bob).await?
    );
    ada.leave();
    check(
        "ada's stream after leaving",
        ada.next_message().await?,
        None,
    )?;
    bob.leave();
    check(
        "bob's stream after leaving",
        bob.next_message().await?,
        None,
    )?;
    say!(out, "both left; the server ended their streams");
    Ok(())
}

/// The vault: bearer tokens added by a client interceptor, checked by the
/// server's, on unary and streaming calls.
async fn vault_part(
    out: &mut (dyn Write + Send),
    channel: Channel,
    issuer: &Issuer,
) -> Result<(), Error> {
    say!(
        out,
        "\n-- vault.v1.Vault: bearer tokens, checked by async interceptors --"
    );
    // Each client sends its user's token with every call.
    let ada = TokenSource::new(issuer.clone(), User::writer("ada"));
    let bob = TokenSource::new(issuer.clone(), User::reader("bob"));
    let mut as_ada = VaultClient::new(channel.clone()).with_interceptor(vault::bearer(ada.clone()));
    let mut as_bob = VaultClient::new(channel.clone()).with_interceptor(vault::bearer(bob.clone()));

    let put = vault::put(&mut as_ada, "db-password", "correct horse").await?;
    check(
        "Put as ada",
        (put.version, put.written_by.as_str()),
        (1, "ada"),
    )?;
    vault::put(&mut as_ada, "api-key", "k-2f9c").await?;
    let secret = vault::get(&mut as_bob, "db-password").await?;
    say!(
        out,
        "Get(db-password) as bob (reader): {:?}, version {}, written by {}",
        secret.value,
        secret.version,
        secret.written_by
    );
    let listed = vault::list(&mut as_bob, "").await?;
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    say!(out, "server-streaming List as bob: {}", names.join(", "));
    let denied = vault::put(&mut as_bob, "db-password", "hunter2").await;
    let status = expect_code("Put as bob", denied, Code::PermissionDenied)?;
    say!(out, "Put as bob: {status}");
    let anonymous = vault::get(&mut VaultClient::new(channel), "db-password").await;
    let status = expect_code("Get without a token", anonymous, Code::Unauthenticated)?;
    say!(out, "Get without a token: {status}");
    // One call brings its own token, which bob's interceptor leaves alone.
    let ops = issuer.issue(User::writer("ops")).await;
    let rotate = PutRequest {
        name: "api-key".into(),
        value: "k-7d01".into(),
        ..Default::default()
    };
    let put = as_bob
        .put(vault::with_token(rotate, &ops.token)?)
        .await?
        .into_inner();
    check("Put with ops's token", put.written_by.as_str(), "ops")?;
    say!(
        out,
        "Put(api-key) on bob's client with a token of its own: version {}, written by {}",
        put.version,
        put.written_by
    );
    check("tokens fetched", (ada.fetches(), bob.fetches()), (1, 1))?;
    say!(
        out,
        "tokens fetched: 1 for ada's 2 calls, 1 for bob's 3 (reused until near expiry)"
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The codec on its own: unknown fields and enum values kept, malformed
/// input an error.
fn codec_part(out: &mut (dyn Write + Send)) -> Result<(), Error> {
    say!(out, "\n-- the message codec on its own --");
    let ada = Person {
        name: "Ada Lovelace".into(),
        email: Some("ada@example.org".into()),
        ..Default::default()
    };
    let bytes = ada.encode_to_vec();
    say!(
        out,
        "encoded Ada into {} bytes: {} ...",
        bytes.len(),
        hex(&bytes[..16.min(bytes.len())])
    );

    // A newer client added field 99 (a string) to Person; this build doesn't
    // know it, but keeps it and writes it back.
    let mut newer = person_named("Katherine").encode_to_vec();
    newer.extend_from_slice(&[0x9a, 0x06, 0x05]);
    newer.extend_from_slice(b"orbit");
    let person = Person::decode(newer.as_slice())?;
    check("re-encoded", person.encode_to_vec(), newer)?;
    say!(
        out,
        "a field from a newer schema survived the round trip: {:?}",
        person.unknown_fields
    );

    // An enum number this build doesn't know is kept, too (proto3 enums are open).
    let phone = PhoneNumber::decode(&[0x10, 0x07][..])?;
    check("kind", phone.kind, OpenEnum::Unknown(7))?;
    say!(out, "unknown enum value kept: kind = {:?}", phone.kind);

    // Malformed input is an error that says what and where.
    for (what, bad) in [
        ("truncated string", &[0x12, 0x05, b'A', b'd'][..]),
        ("field number 0", &[0x00, 0x01][..]),
        ("invalid UTF-8", &[0x12, 0x02, 0xff, 0xfe][..]),
    ] {
        match Person::decode(bad) {
            Err(e) => say!(out, "{what}: {e}"),
            Ok(p) => return Err(format!("{what} decoded as {p:?}").into()),
        }
    }
    Ok(())
}
