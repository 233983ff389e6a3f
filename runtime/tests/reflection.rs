#![deny(warnings)]
#![cfg(feature = "reflection")]
//! The reflection service over real loopback connections, with its
//! generated v1 and v1alpha clients on one stream each: list_services,
//! file_containing_symbol for services, methods, messages and nested types,
//! file_by_filename, each file sent once per stream, extension numbers, and
//! NOT_FOUND answers after which the stream goes on. (PyPI's
//! grpcio-reflection client resolves the interop service through it in
//! `.ci/run`: `interop/python/reflection_probe.py`.)

mod support;

use std::time::Duration;

use rust_rpc::Message;
use rust_rpc::health::HealthReporter;
use rust_rpc::reflection::v1::server_reflection_request::MessageRequest;
use rust_rpc::reflection::v1::server_reflection_response::MessageResponse;
use rust_rpc::reflection::v1::{
    ExtensionRequest, ServerReflectionClient, ServerReflectionRequest, ServerReflectionResponse,
};
use rust_rpc::reflection::v1alpha;
use rust_rpc::transport::{Code, Endpoint, Server, Streaming};
use rust_rpc::wkt::FileDescriptorProto;
use support::serve;
use tokio::sync::mpsc;

/// One reflection stream: a question, then its answer, in turn.
struct Conversation {
    questions: mpsc::Sender<ServerReflectionRequest>,
    answers: Streaming<ServerReflectionResponse>,
}

impl Conversation {
    async fn open(client: &mut ServerReflectionClient) -> Self {
        let (tx, rx) = mpsc::channel(4);
        let questions =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|q| (q, rx)) },
            );
        let answers = tokio::time::timeout(
            Duration::from_secs(20),
            client.server_reflection_info(questions),
        )
        .await
        .expect("a stream in time")
        .expect("a reflection stream")
        .into_inner();
        Self {
            questions: tx,
            answers,
        }
    }

    async fn ask(&mut self, question: MessageRequest) -> MessageResponse {
        let request = ServerReflectionRequest {
            message_request: Some(question),
            ..Default::default()
        };
        self.questions
            .send(request.clone())
            .await
            .expect("the stream is open");
        let answer = tokio::time::timeout(Duration::from_secs(20), self.answers.message())
            .await
            .expect("an answer in time")
            .expect("an answer")
            .expect("the stream goes on");
        assert_eq!(answer.original_request.as_ref(), Some(&request));
        answer.message_response.expect("an answer")
    }

    /// The names of the files in the answer to `question`.
    async fn files(&mut self, question: MessageRequest) -> Vec<String> {
        match self.ask(question).await {
            MessageResponse::FileDescriptorResponse(files) => files
                .file_descriptor_proto
                .iter()
                .map(|bytes| {
                    FileDescriptorProto::decode_slice(bytes)
                        .expect("a FileDescriptorProto")
                        .name()
                        .to_owned()
                })
                .collect(),
            other => panic!("files expected, got {other:?}"),
        }
    }

    async fn not_found(&mut self, question: MessageRequest) {
        match self.ask(question).await {
            MessageResponse::ErrorResponse(e) => {
                assert_eq!(e.error_code, Code::NotFound as i32, "{}", e.error_message);
            }
            other => panic!("NOT_FOUND expected, got {other:?}"),
        }
    }
}

async fn server() -> (
    support::Running,
    ServerReflectionClient,
    v1alpha::ServerReflectionClient,
) {
    let health = HealthReporter::new();
    let server = serve(Server::builder().health(&health).reflection()).await;
    let channel = Endpoint::new(format!("http://{}", server.addr))
        .expect("an endpoint")
        .connect_lazy();
    let v1 = ServerReflectionClient::new(channel.clone());
    let v1alpha = v1alpha::ServerReflectionClient::new(channel);
    (server, v1, v1alpha)
}

const SVC_FILE: &str = "services.proto";

#[tokio::test]
async fn reflection_lists_services_and_serves_their_files() {
    let (server, mut client, _) = server().await;
    let mut talk = Conversation::open(&mut client).await;

    let listed = match talk.ask(MessageRequest::ListServices(String::new())).await {
        MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
        }
        other => panic!("a list expected, got {other:?}"),
    };
    assert_eq!(
        listed,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "svc.v1.Calculator",
        ]
    );

    // A service: its file, first time on this stream.
    let files = talk
        .files(MessageRequest::FileContainingSymbol(
            "svc.v1.Calculator".into(),
        ))
        .await;
    assert_eq!(files, [SVC_FILE]);
    // A method and a message of the same file: the file again (asked for),
    // with a leading dot too.
    for symbol in [
        "svc.v1.Calculator.Square",
        ".svc.v1.Number",
        "grpc.health.v1.HealthCheckResponse.ServingStatus",
    ] {
        let files = talk
            .files(MessageRequest::FileContainingSymbol(symbol.into()))
            .await;
        assert_eq!(files.len(), 1, "{symbol}: {files:?}");
    }
    let files = talk
        .files(MessageRequest::FileByFilename(
            "grpc/health/v1/health.proto".into(),
        ))
        .await;
    assert_eq!(files, ["grpc/health/v1/health.proto"]);

    // Unknown names: NOT_FOUND, and the stream goes on.
    talk.not_found(MessageRequest::FileContainingSymbol(
        "no.such.Symbol".into(),
    ))
    .await;
    talk.not_found(MessageRequest::FileByFilename("no/such.proto".into()))
        .await;
    talk.not_found(MessageRequest::FileContainingExtension(ExtensionRequest {
        containing_type: "svc.v1.Number".into(),
        extension_number: 100,
        ..Default::default()
    }))
    .await;
    talk.not_found(MessageRequest::AllExtensionNumbersOfType(
        "no.such.Type".into(),
    ))
    .await;
    match talk
        .ask(MessageRequest::AllExtensionNumbersOfType(
            "svc.v1.Number".into(),
        ))
        .await
    {
        MessageResponse::AllExtensionNumbersResponse(numbers) => {
            assert_eq!(numbers.base_type_name, "svc.v1.Number");
            assert!(numbers.extension_number.is_empty());
        }
        other => panic!("extension numbers expected, got {other:?}"),
    }
    let files = talk
        .files(MessageRequest::FileContainingSymbol(
            "svc.v1.Calculator".into(),
        ))
        .await;
    assert_eq!(files, [SVC_FILE], "still answering after errors");
    // A graceful shutdown ends the stream the client keeps open (or it
    // would wait for it), with OK.
    server.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(20), talk.answers.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "the stream ends cleanly: {end:?}");
}

#[tokio::test]
async fn v1alpha_answers_the_same() {
    use v1alpha::server_reflection_request::MessageRequest as Alpha;
    use v1alpha::server_reflection_response::MessageResponse as AlphaAnswer;
    let (server, _, mut client) = server().await;
    let (tx, rx) = mpsc::channel(4);
    let questions =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|q| (q, rx)) });
    let mut answers = client
        .server_reflection_info(questions)
        .await
        .expect("a stream")
        .into_inner();
    tx.send(v1alpha::ServerReflectionRequest {
        message_request: Some(Alpha::FileContainingSymbol(
            "grpc.reflection.v1alpha.ServerReflection".into(),
        )),
        ..Default::default()
    })
    .await
    .expect("sent");
    let answer = tokio::time::timeout(Duration::from_secs(20), answers.message())
        .await
        .expect("in time")
        .expect("an answer")
        .expect("one");
    match answer.message_response {
        Some(AlphaAnswer::FileDescriptorResponse(files)) => {
            let file = FileDescriptorProto::decode_slice(&files.file_descriptor_proto[0])
                .expect("a FileDescriptorProto");
            assert_eq!(file.name(), "grpc/reflection/v1alpha/reflection.proto");
        }
        other => panic!("files expected, got {other:?}"),
    }
    drop(tx);
    server.stop().await;
}
