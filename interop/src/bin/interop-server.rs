//! `interop-server --port N [--use_tls true --tls_cert_file F --tls_key_file K]`:
//! `grpc.testing.TestService` as the public gRPC interop test descriptions
//! specify it, on rust-rpc, in plaintext or over TLS with the certificate
//! chain and key (PEM) given.

use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use rust_rpc::health::HealthReporter;
use rust_rpc::transport::tls::{Identity, ServerTls, ServerTlsConfig};
use rust_rpc::transport::{
    Code, CompressionEncoding, MetadataMap, Request, Response, Server, Status, Stream, Streaming,
};
use rust_rpc_interop::testing::{
    Empty, SimpleRequest, SimpleResponse, StreamingInputCallRequest, StreamingInputCallResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse, TestService, TestServiceServer,
};
use rust_rpc_interop::{Flags, zero_payload};

const USAGE: &str = "usage: interop-server --port N [--use_tls true --tls_cert_file CERT.pem --tls_key_file KEY.pem]";

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";

type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<StreamingOutputCallResponse, Status>> + Send>>;

struct Interop;

/// Copies the echo headers the client sent into the response's initial and
/// trailing metadata.
fn echo_metadata(
    request: &MetadataMap,
    initial: &mut MetadataMap,
    trailing: &mut MetadataMap,
) -> Result<(), Status> {
    if let Some(v) = request.get(ECHO_INITIAL) {
        initial.insert(ECHO_INITIAL, v)?;
    }
    if let Some(v) = request.get_bin(ECHO_TRAILING) {
        trailing.insert_bin(ECHO_TRAILING, v?)?;
    }
    Ok(())
}

/// The status a request asks the server to answer with, if any.
fn requested_status(status: Option<&rust_rpc_interop::testing::EchoStatus>) -> Option<Status> {
    let s = status?;
    (s.code != 0).then(|| Status::new(Code::from_i32(s.code), s.message.clone()))
}

/// `expect_compressed`: the client says whether its request message is compressed.
fn check_compression(expected: bool, compressed: bool) -> Result<(), Status> {
    if expected && !compressed {
        return Err(Status::invalid_argument("expected a compressed request"));
    }
    if !expected && compressed {
        return Err(Status::invalid_argument("expected an uncompressed request"));
    }
    Ok(())
}

impl TestService for Interop {
    async fn empty_call(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let mut response = Response::new(Empty::default());
        let mut trailers = MetadataMap::new();
        echo_metadata(request.metadata(), response.metadata_mut(), &mut trailers)?;
        *response.trailers_mut() = trailers;
        Ok(response)
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let mut initial = MetadataMap::new();
        let mut trailing = MetadataMap::new();
        echo_metadata(request.metadata(), &mut initial, &mut trailing)?;
        let compressed = request.compression().is_some();
        let r = request.get_ref();
        if let Some(expect) = &r.expect_compressed {
            check_compression(expect.value, compressed)?;
        }
        if let Some(status) = requested_status(r.response_status.as_ref()) {
            return Err(status.with_metadata(initial));
        }
        let mut response = Response::new(SimpleResponse {
            payload: Some(zero_payload(r.response_size)),
            ..Default::default()
        });
        if r.response_compressed.as_ref().is_some_and(|c| c.value) {
            response.set_compression(CompressionEncoding::Gzip);
        }
        *response.metadata_mut() = initial;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    async fn cacheable_unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        self.unary_call(request).await
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<Self::StreamingOutputCallStream>, Status> {
        let r = request.into_inner();
        if let Some(status) = requested_status(r.response_status.as_ref()) {
            return Err(status);
        }
        // Compression is switched per message, as each ResponseParameters asks.
        let compress = r
            .response_parameters
            .iter()
            .any(|p| p.compressed.as_ref().is_some_and(|c| c.value));
        let mut response = Response::new(());
        let per_message = response.message_compression();
        let stream = futures_util::stream::iter(r.response_parameters).then(move |p| {
            let per_message = per_message.clone();
            async move {
                if p.interval_us > 0 {
                    tokio::time::sleep(Duration::from_micros(p.interval_us as u64)).await;
                }
                per_message.set(p.compressed.as_ref().is_some_and(|c| c.value));
                Ok(StreamingOutputCallResponse {
                    payload: Some(zero_payload(p.size)),
                    ..Default::default()
                })
            }
        });
        let mut response = response.map(|()| Box::pin(stream) as ResponseStream);
        if compress {
            response.set_compression(CompressionEncoding::Gzip);
        }
        Ok(response)
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let mut stream = request.into_inner();
        let mut total = 0usize;
        while let Some(m) = stream.message().await? {
            if let Some(expect) = &m.expect_compressed {
                check_compression(expect.value, stream.last_message_compressed())?;
            }
            total += m.payload.as_ref().map_or(0, |p| p.body.len());
        }
        let aggregated_payload_size =
            i32::try_from(total).map_err(|_| Status::out_of_range("aggregate too large"))?;
        Ok(Response::new(StreamingInputCallResponse {
            aggregated_payload_size,
            ..Default::default()
        }))
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Self::FullDuplexCallStream>, Status> {
        let mut initial = MetadataMap::new();
        let mut trailing = MetadataMap::new();
        echo_metadata(request.metadata(), &mut initial, &mut trailing)?;
        let requests = request.into_inner();
        let stream = requests
            .map(|item| -> Result<Vec<(i32, i32)>, Status> {
                let r = item?;
                if let Some(status) = requested_status(r.response_status.as_ref()) {
                    return Err(status);
                }
                Ok(r.response_parameters
                    .iter()
                    .map(|p| (p.size, p.interval_us))
                    .collect())
            })
            .flat_map(|batch| match batch {
                Ok(params) => futures_util::stream::iter(params.into_iter().map(Ok)).left_stream(),
                Err(e) => futures_util::stream::iter([Err(e)]).right_stream(),
            })
            .then(|item| async move {
                let (size, interval_us) = item?;
                if interval_us > 0 {
                    tokio::time::sleep(Duration::from_micros(interval_us as u64)).await;
                }
                Ok(StreamingOutputCallResponse {
                    payload: Some(zero_payload(size)),
                    ..Default::default()
                })
            });
        let mut response = Response::new(Box::pin(stream) as ResponseStream);
        *response.metadata_mut() = initial;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Self::HalfDuplexCallStream>, Status> {
        let mut requests = request.into_inner();
        let mut sizes = Vec::new();
        while let Some(r) = requests.message().await? {
            sizes.extend(r.response_parameters.iter().map(|p| p.size));
        }
        let stream = futures_util::stream::iter(sizes.into_iter().map(|size| {
            Ok(StreamingOutputCallResponse {
                payload: Some(zero_payload(size)),
                ..Default::default()
            })
        }));
        Ok(Response::new(Box::pin(stream) as ResponseStream))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "UnimplementedCall is not implemented, by design",
        ))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let flags = match Flags::from_env() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("interop-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let port: u16 = match flags.get("port").map(str::parse) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("interop-server: --port N is required");
            return ExitCode::from(2);
        }
    };
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], port));
    // Health (every service SERVING) and reflection too, so that probes and
    // tools (and interop/python/reflection_probe.py) can find the service.
    let health = HealthReporter::new();
    let mut server = Server::builder()
        .add_service(TestServiceServer::new(Interop))
        .health(&health)
        .reflection();
    if flags.flag("use_tls") {
        let (Some(cert), Some(key)) = (flags.get("tls_cert_file"), flags.get("tls_key_file"))
        else {
            eprintln!(
                "interop-server: --use_tls needs --tls_cert_file and --tls_key_file\n{USAGE}"
            );
            return ExitCode::from(2);
        };
        let tls = Identity::from_pem_files(cert, key)
            .and_then(|identity| ServerTls::new(ServerTlsConfig::new(identity)));
        match tls {
            Ok(tls) => server = server.tls(tls),
            Err(e) => {
                eprintln!("interop-server: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match server.serve_with_shutdown(addr, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop-server: {e}");
            ExitCode::FAILURE
        }
    }
}
