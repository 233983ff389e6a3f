//! `interop-client --server_host H --server_port N --test_case NAME
//! [--use_tls true [--use_test_ca true --ca_file CA.pem] [--server_host_override X]]`:
//! runs one client test case of the public gRPC interop test descriptions
//! (grpc/grpc `doc/interop-test-descriptions.md`) against a server, in
//! plaintext or over TLS (trusting `--ca_file` with `--use_test_ca`, the
//! platform's CAs without; `--server_host_override` is the name the
//! server's certificate is checked against).
//!
//! Exit status: 0 the case passed; 1 it failed (what was expected and what
//! came is printed to stderr); 2 usage error or unknown case.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::transport::tls::{Certificate, ClientTlsConfig};
use rust_rpc::transport::{
    Channel, Code, CompressionEncoding, Endpoint, Request, Status, Stream, Streaming,
};
use rust_rpc_interop::testing::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest,
    StreamingInputCallRequest, StreamingOutputCallRequest, StreamingOutputCallResponse,
    TestServiceClient, UnimplementedServiceClient,
};
use rust_rpc_interop::{Flags, zero_payload};

const USAGE: &str = "usage: interop-client --server_host H --server_port N --test_case NAME \
                     [--use_tls true [--use_test_ca true --ca_file CA.pem] [--server_host_override X]]";

/// The test cases, in the order of the interop test descriptions' list that
/// this client implements.
const CASES: &[&str] = &[
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
];

/// Client flags the descriptions define; the credential ones only matter
/// for the cloud-to-prod cases, which this client does not implement.
const KNOWN_FLAGS: &[&str] = &[
    "server_host",
    "server_port",
    "server_host_override",
    "test_case",
    "use_tls",
    "use_test_ca",
    "ca_file",
    "default_service_account",
    "oauth_scope",
    "service_account_key_file",
];

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];
const SPECIAL_MESSAGE: &str =
    "\t\ntest with whitespace\r\nand Unicode BMP \u{263A} and non-BMP \u{1F608}\t\n";

/// A failed assertion or call: what was expected and what came instead.
type TestResult = Result<(), String>;

type RequestStream<M> = Pin<Box<dyn Stream<Item = M> + Send>>;

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, expected: T, got: T) -> TestResult {
    if expected == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {got:?}"))
    }
}

/// The value of a call that must succeed.
fn ok<T>(what: &str, result: Result<T, Status>) -> Result<T, String> {
    result.map_err(|s| format!("{what}: expected success, got {}", show(&s)))
}

/// A call (or stream read) that must fail with `code`; returns its status.
fn expect_code<T>(what: &str, result: Result<T, Status>, code: Code) -> Result<Status, String> {
    match result {
        Ok(_) => Err(format!("{what}: expected status {code:?}, got success")),
        Err(s) if s.code() == code => Ok(s),
        Err(s) => Err(format!(
            "{what}: expected status {code:?}, got {}",
            show(&s)
        )),
    }
}

fn show(status: &Status) -> String {
    format!("{:?} {:?}", status.code(), status.message())
}

/// A response payload: present, `size` bytes, all zero.
fn check_payload(what: &str, payload: Option<&Payload>, size: usize) -> TestResult {
    let Some(payload) = payload else {
        return Err(format!(
            "{what}: expected a payload of {size} bytes, got no payload"
        ));
    };
    check_eq(
        &format!("{what}: payload body size"),
        size,
        payload.body.len(),
    )?;
    match payload.body.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what}: expected a payload of zeros, got byte {:#04x} at offset {i}",
            payload.body[i]
        )),
    }
}

/// Reads every response of `stream` up to its end: the responses, or the
/// status the call ended with.
async fn read_all<T: rust_rpc::Message>(stream: &mut Streaming<T>) -> Result<Vec<T>, Status> {
    let mut all = Vec::new();
    while let Some(m) = stream.message().await? {
        all.push(m);
    }
    Ok(all)
}

/// The next response of a stream, which must be there.
async fn next_response(
    what: &str,
    stream: &mut Streaming<StreamingOutputCallResponse>,
) -> Result<StreamingOutputCallResponse, String> {
    match stream.message().await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(format!(
            "{what}: expected a response, got the end of the stream (OK)"
        )),
        Err(s) => Err(format!("{what}: expected a response, got {}", show(&s))),
    }
}

// FIRST_REQUEST_NOTE: a bidi call returns once the server's response
// headers are in, and a server may hold them back until its first response
// (grpcio does), which FullDuplexCall only sends after the first request:
// so the first request must be queued before the call is made.

/// A request stream fed from a channel: it ends (half-closes) when the
/// sender is dropped.
fn channel_stream<M: Send + 'static>(
    rx: tokio::sync::mpsc::UnboundedReceiver<M>,
) -> RequestStream<M> {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    }))
}

fn bool_value(value: bool) -> Option<BoolValue> {
    Some(BoolValue {
        value,
        ..Default::default()
    })
}

fn large_simple_request() -> SimpleRequest {
    SimpleRequest {
        response_size: 314_159,
        payload: Some(zero_payload(271_828)),
        ..Default::default()
    }
}

fn input_request(size: i32) -> StreamingInputCallRequest {
    StreamingInputCallRequest {
        payload: Some(zero_payload(size)),
        ..Default::default()
    }
}

fn output_request(response_size: i32, payload_size: i32) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters {
            size: response_size,
            ..Default::default()
        }],
        payload: Some(zero_payload(payload_size)),
        ..Default::default()
    }
}

struct Tester {
    channel: Channel,
}

impl Tester {
    fn client(&self) -> TestServiceClient {
        TestServiceClient::new(self.channel.clone())
    }

    async fn run(&self, case: &str) -> TestResult {
        match case {
            "empty_unary" => self.empty_unary().await,
            "large_unary" => self.large_unary().await,
            "client_streaming" => self.client_streaming().await,
            "server_streaming" => self.server_streaming().await,
            "ping_pong" => self.ping_pong().await,
            "empty_stream" => self.empty_stream().await,
            "cancel_after_begin" => self.cancel_after_begin().await,
            "cancel_after_first_response" => self.cancel_after_first_response().await,
            "timeout_on_sleeping_server" => self.timeout_on_sleeping_server().await,
            "custom_metadata" => self.custom_metadata().await,
            "status_code_and_message" => self.status_code_and_message().await,
            "special_status_message" => self.special_status_message().await,
            "unimplemented_method" => self.unimplemented_method().await,
            "unimplemented_service" => self.unimplemented_service().await,
            "client_compressed_unary" => self.client_compressed_unary().await,
            "server_compressed_unary" => self.server_compressed_unary().await,
            "client_compressed_streaming" => self.client_compressed_streaming().await,
            "server_compressed_streaming" => self.server_compressed_streaming().await,
            other => Err(format!("no test case {other:?}")),
        }
    }

    async fn empty_unary(&self) -> TestResult {
        let response = ok(
            "EmptyCall",
            self.client().empty_call(Empty::default()).await,
        )?;
        // "Response is non-null": the reply decoded as an Empty, with nothing
        // in it.
        check_eq("EmptyCall response", &Empty::default(), response.get_ref())
    }

    async fn large_unary(&self) -> TestResult {
        let response = ok(
            "UnaryCall",
            self.client().unary_call(large_simple_request()).await,
        )?;
        check_payload(
            "UnaryCall response",
            response.get_ref().payload.as_ref(),
            314_159,
        )
    }

    async fn client_streaming(&self) -> TestResult {
        let requests = [27_182, 8, 1_828, 45_904].map(input_request);
        let response = ok(
            "StreamingInputCall",
            self.client()
                .streaming_input_call(futures_util::stream::iter(requests))
                .await,
        )?;
        check_eq(
            "aggregated_payload_size",
            74_922,
            response.get_ref().aggregated_payload_size,
        )
    }

    async fn server_streaming(&self) -> TestResult {
        let sizes = [31_415, 9, 2_653, 58_979];
        let request = StreamingOutputCallRequest {
            response_parameters: sizes
                .iter()
                .map(|&size| ResponseParameters {
                    size,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut stream = ok(
            "StreamingOutputCall",
            self.client().streaming_output_call(request).await,
        )?
        .into_inner();
        let responses = ok("StreamingOutputCall responses", read_all(&mut stream).await)?;
        check_eq("number of responses", sizes.len(), responses.len())?;
        for (i, (response, size)) in responses.iter().zip(sizes).enumerate() {
            check_payload(
                &format!("response {i}"),
                response.payload.as_ref(),
                size as usize,
            )?;
        }
        Ok(())
    }

    async fn ping_pong(&self) -> TestResult {
        let steps = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)];
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // The first request goes with the call (see FIRST_REQUEST_NOTE).
        let (response_size, payload_size) = steps[0];
        tx.send(output_request(response_size, payload_size))
            .map_err(|_| "request 0: the call stopped taking requests".to_owned())?;
        let mut stream = ok(
            "FullDuplexCall",
            self.client().full_duplex_call(channel_stream(rx)).await,
        )?
        .into_inner();
        for (i, (response_size, payload_size)) in steps.into_iter().enumerate() {
            if i > 0 {
                tx.send(output_request(response_size, payload_size))
                    .map_err(|_| format!("request {i}: the call stopped taking requests"))?;
            }
            let response = next_response(&format!("response {i}"), &mut stream).await?;
            check_payload(
                &format!("response {i}"),
                response.payload.as_ref(),
                response_size as usize,
            )?;
        }
        drop(tx); // half-close
        let rest = ok(
            "FullDuplexCall after half-close",
            read_all(&mut stream).await,
        )?;
        check_eq("number of responses", steps.len(), steps.len() + rest.len())
    }

    async fn empty_stream(&self) -> TestResult {
        let requests = futures_util::stream::empty::<StreamingOutputCallRequest>();
        let mut stream = ok(
            "FullDuplexCall",
            self.client().full_duplex_call(requests).await,
        )?
        .into_inner();
        let responses = ok("FullDuplexCall responses", read_all(&mut stream).await)?;
        check_eq("number of responses", 0, responses.len())
    }

    async fn cancel_after_begin(&self) -> TestResult {
        // The request stream cancels the call the first time it is asked for
        // a message and never yields one: the call's headers are out by then
        // (the stream is read only once the call has started), and no
        // payload is.
        let nothing: RequestStream<StreamingInputCallRequest> =
            Box::pin(futures_util::stream::empty());
        let mut request = Request::new(nothing);
        let cancel = request.cancel_handle();
        *request.get_mut() = Box::pin(futures_util::stream::poll_fn(move |_| {
            cancel.cancel();
            Poll::<Option<StreamingInputCallRequest>>::Pending
        }));
        let result = self.client().streaming_input_call(request).await;
        expect_code(
            "StreamingInputCall cancelled after begin",
            result,
            Code::Cancelled,
        )
        .map(drop)
    }

    async fn cancel_after_first_response(&self) -> TestResult {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // The request goes with the call (see FIRST_REQUEST_NOTE); the
        // request side stays open until the call is cancelled.
        tx.send(output_request(31_415, 27_182))
            .map_err(|_| "the call stopped taking requests".to_owned())?;
        let mut request = Request::new(channel_stream(rx));
        let cancel = request.cancel_handle();
        let mut stream = ok(
            "FullDuplexCall",
            self.client().full_duplex_call(request).await,
        )?
        .into_inner();
        let response = next_response("first response", &mut stream).await?;
        check_payload("first response", response.payload.as_ref(), 31_415)?;
        cancel.cancel();
        let after = stream.message().await;
        expect_code("FullDuplexCall after cancelling", after, Code::Cancelled)?;
        drop(tx);
        Ok(())
    }

    async fn timeout_on_sleeping_server(&self) -> TestResult {
        // One request, and the request side stays open: the client waits.
        let first = StreamingOutputCallRequest {
            payload: Some(zero_payload(27_182)),
            ..Default::default()
        };
        let requests = futures_util::stream::iter([first]).chain(futures_util::stream::pending());
        let mut request = Request::new(requests);
        request.set_timeout(Duration::from_millis(1));
        let result = match self.client().full_duplex_call(request).await {
            Ok(response) => read_all(&mut response.into_inner()).await.map(drop),
            Err(status) => Err(status),
        };
        expect_code(
            "FullDuplexCall with a 1 ms timeout",
            result,
            Code::DeadlineExceeded,
        )
        .map(drop)
    }

    async fn custom_metadata(&self) -> TestResult {
        fn add_metadata<T>(request: &mut Request<T>) -> TestResult {
            let metadata = request.metadata_mut();
            metadata
                .insert(ECHO_INITIAL, ECHO_INITIAL_VALUE)
                .map_err(|e| e.to_string())?;
            metadata
                .insert_bin(ECHO_TRAILING, ECHO_TRAILING_VALUE)
                .map_err(|e| e.to_string())
        }
        fn check_trailing(
            what: &str,
            trailers: Option<&rust_rpc::transport::MetadataMap>,
        ) -> TestResult {
            let got = trailers.and_then(|t| t.get_bin(ECHO_TRAILING)).transpose();
            let got = got.map_err(|e| format!("{what}: trailing {ECHO_TRAILING}: {e}"))?;
            check_eq(
                &format!("{what}: trailing {ECHO_TRAILING}"),
                Some(ECHO_TRAILING_VALUE.to_vec()),
                got,
            )
        }

        let mut request = Request::new(large_simple_request());
        add_metadata(&mut request)?;
        let response = ok("UnaryCall", self.client().unary_call(request).await)?;
        check_eq(
            "UnaryCall: initial metadata",
            Some(ECHO_INITIAL_VALUE),
            response.metadata().get(ECHO_INITIAL),
        )?;
        check_trailing("UnaryCall", Some(response.trailers()))?;
        check_payload(
            "UnaryCall response",
            response.get_ref().payload.as_ref(),
            314_159,
        )?;

        let mut request = Request::new(futures_util::stream::iter([output_request(
            314_159, 271_828,
        )]));
        add_metadata(&mut request)?;
        let response = ok(
            "FullDuplexCall",
            self.client().full_duplex_call(request).await,
        )?;
        check_eq(
            "FullDuplexCall: initial metadata",
            Some(ECHO_INITIAL_VALUE),
            response.metadata().get(ECHO_INITIAL),
        )?;
        let mut stream = response.into_inner();
        let responses = ok("FullDuplexCall responses", read_all(&mut stream).await)?;
        check_eq("FullDuplexCall: number of responses", 1, responses.len())?;
        check_payload(
            "FullDuplexCall response",
            responses[0].payload.as_ref(),
            314_159,
        )?;
        check_trailing("FullDuplexCall", stream.trailers())
    }

    /// UnaryCall (and, with `duplex`, FullDuplexCall) asking the server to
    /// end the call with code 2 and `message`.
    async fn echo_status(&self, message: &str, duplex: bool) -> TestResult {
        let echo = || {
            Some(EchoStatus {
                code: 2,
                message: message.to_owned(),
                ..Default::default()
            })
        };
        let request = SimpleRequest {
            response_status: echo(),
            ..Default::default()
        };
        let status = expect_code(
            "UnaryCall",
            self.client().unary_call(request).await,
            Code::Unknown,
        )?;
        check_eq("UnaryCall: status message", message, status.message())?;
        if duplex {
            let request = StreamingOutputCallRequest {
                response_status: echo(),
                ..Default::default()
            };
            let result = match self
                .client()
                .full_duplex_call(futures_util::stream::iter([request]))
                .await
            {
                Ok(response) => read_all(&mut response.into_inner()).await.map(drop),
                Err(status) => Err(status),
            };
            let status = expect_code("FullDuplexCall", result, Code::Unknown)?;
            check_eq("FullDuplexCall: status message", message, status.message())?;
        }
        Ok(())
    }

    async fn status_code_and_message(&self) -> TestResult {
        self.echo_status("test status message", true).await
    }

    async fn special_status_message(&self) -> TestResult {
        self.echo_status(SPECIAL_MESSAGE, false).await
    }

    async fn unimplemented_method(&self) -> TestResult {
        let result = self.client().unimplemented_call(Empty::default()).await;
        expect_code("TestService/UnimplementedCall", result, Code::Unimplemented).map(drop)
    }

    async fn unimplemented_service(&self) -> TestResult {
        let mut client = UnimplementedServiceClient::new(self.channel.clone());
        let result = client.unimplemented_call(Empty::default()).await;
        expect_code(
            "UnimplementedService/UnimplementedCall",
            result,
            Code::Unimplemented,
        )
        .map(drop)
    }

    async fn client_compressed_unary(&self) -> TestResult {
        let request = |expect: bool| SimpleRequest {
            expect_compressed: bool_value(expect),
            ..large_simple_request()
        };
        // The probe: uncompressed, but says it is compressed.
        let probe = self.client().unary_call(request(true)).await;
        expect_code(
            "probe (uncompressed, expect_compressed=true)",
            probe,
            Code::InvalidArgument,
        )?;

        let mut compressed = Request::new(request(true));
        compressed.set_compression(CompressionEncoding::Gzip);
        let response = ok(
            "compressed UnaryCall",
            self.client().unary_call(compressed).await,
        )?;
        check_payload(
            "compressed UnaryCall response",
            response.get_ref().payload.as_ref(),
            314_159,
        )?;

        let response = ok(
            "uncompressed UnaryCall",
            self.client().unary_call(request(false)).await,
        )?;
        check_payload(
            "uncompressed UnaryCall response",
            response.get_ref().payload.as_ref(),
            314_159,
        )
    }

    async fn server_compressed_unary(&self) -> TestResult {
        for compressed in [true, false] {
            let what = format!("UnaryCall with response_compressed={compressed}");
            let request = SimpleRequest {
                response_compressed: bool_value(compressed),
                ..large_simple_request()
            };
            let response = ok(&what, self.client().unary_call(request).await)?;
            check_eq(
                &format!("{what}: response compressed flag"),
                compressed,
                response.compression().is_some(),
            )?;
            check_payload(&what, response.get_ref().payload.as_ref(), 314_159)?;
        }
        Ok(())
    }

    async fn client_compressed_streaming(&self) -> TestResult {
        let request = |expect: bool, size: i32| StreamingInputCallRequest {
            expect_compressed: bool_value(expect),
            ..input_request(size)
        };
        // The probe: uncompressed, but says it is compressed.
        let probe = self
            .client()
            .streaming_input_call(futures_util::stream::iter([request(true, 27_182)]))
            .await;
        expect_code(
            "probe (uncompressed, expect_compressed=true)",
            probe,
            Code::InvalidArgument,
        )?;

        // Compression is switched per message: each message is encoded as the
        // switch stands when the stream yields it.
        let nothing: RequestStream<StreamingInputCallRequest> =
            Box::pin(futures_util::stream::empty());
        let mut call = Request::new(nothing);
        call.set_compression(CompressionEncoding::Gzip);
        let switch = call.message_compression();
        let messages = [
            (true, request(true, 27_182)),
            (false, request(false, 45_904)),
        ];
        *call.get_mut() = Box::pin(futures_util::stream::iter(messages).map(
            move |(compress, m)| {
                switch.set(compress);
                m
            },
        ));
        let response = ok(
            "StreamingInputCall",
            self.client().streaming_input_call(call).await,
        )?;
        check_eq(
            "aggregated_payload_size",
            73_086,
            response.get_ref().aggregated_payload_size,
        )
    }

    async fn server_compressed_streaming(&self) -> TestResult {
        let params = [(true, 31_415), (false, 92_653)];
        let request = StreamingOutputCallRequest {
            response_parameters: params
                .iter()
                .map(|&(compressed, size)| ResponseParameters {
                    size,
                    compressed: bool_value(compressed),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut stream = ok(
            "StreamingOutputCall",
            self.client().streaming_output_call(request).await,
        )?
        .into_inner();
        for (i, (compressed, size)) in params.into_iter().enumerate() {
            let response = next_response(&format!("response {i}"), &mut stream).await?;
            check_eq(
                &format!("response {i} (compressed={compressed}): compressed flag"),
                compressed,
                stream.last_message_compressed(),
            )?;
            check_payload(
                &format!("response {i}"),
                response.payload.as_ref(),
                size as usize,
            )?;
        }
        let rest = ok(
            "StreamingOutputCall after the responses",
            read_all(&mut stream).await,
        )?;
        check_eq(
            "number of responses",
            params.len(),
            params.len() + rest.len(),
        )
    }
}

/// Runs `future` with a bound on the whole case, so that a peer that never
/// answers fails the case, saying so, instead of hanging it (and within the
/// 60 s that run_matrix.py allows a case by default).
async fn bounded(future: impl Future<Output = TestResult>) -> TestResult {
    const LIMIT: Duration = Duration::from_secs(30);
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "expected the case to finish within {LIMIT:?}, it did not"
            ))
        })
}

/// The endpoint the flags describe: plaintext, or with `--use_tls` TLS
/// trusting `--ca_file` (with `--use_test_ca`) or the platform's CAs, and
/// checking the name `--server_host_override` gives instead of the host.
fn endpoint(flags: &Flags, host: &str, port: u16) -> Result<Endpoint, String> {
    if !flags.flag("use_tls") {
        if flags.get("server_host_override").is_some() {
            eprintln!("interop-client: note: --server_host_override applies to TLS only");
        }
        return Endpoint::new(format!("http://{host}:{port}")).map_err(|e| e.to_string());
    }
    let mut tls = ClientTlsConfig::new();
    if flags.flag("use_test_ca") {
        let Some(ca) = flags.get("ca_file") else {
            return Err("--use_test_ca needs --ca_file (the test CA's certificate, PEM)".into());
        };
        tls = tls.ca_certificate(Certificate::from_pem_file(ca).map_err(|e| e.to_string())?);
    }
    if let Some(name) = flags.get("server_host_override") {
        tls = tls.domain_name(name);
    }
    Endpoint::new(format!("https://{host}:{port}"))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("interop-client: {message}\n{USAGE}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let flags = match Flags::from_env() {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    if let Some(unknown) = std::env::args()
        .skip(1)
        .filter_map(|a| {
            a.strip_prefix("--")
                .map(|f| f.split('=').next().unwrap_or("").to_owned())
        })
        .find(|f| !KNOWN_FLAGS.contains(&f.as_str()))
    {
        return usage_error(&format!("unknown flag --{unknown}"));
    }
    let Some(case) = flags.get("test_case") else {
        return usage_error(&format!(
            "--test_case is required; cases: {}",
            CASES.join(", ")
        ));
    };
    if !CASES.contains(&case) {
        return usage_error(&format!(
            "unknown test case {case:?}; cases: {}",
            CASES.join(", ")
        ));
    }
    let host = flags.get("server_host").unwrap_or("localhost");
    let port: u16 = match flags.get("server_port").map(str::parse) {
        Some(Ok(p)) => p,
        Some(Err(_)) => return usage_error("--server_port must be a port number"),
        None => return usage_error("--server_port is required"),
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let channel = match endpoint(&flags, &host, port) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(e) => return usage_error(&e),
    };
    match bounded(Tester { channel }.run(case)).await {
        Ok(()) => {
            println!("interop-client: {case}: passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("interop-client: {case}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
