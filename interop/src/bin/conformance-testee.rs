//! `conformance-testee`: the program protobuf's `conformance_test_runner`
//! drives. It reads requests on stdin and answers on stdout, each framed as a
//! 4-byte little-endian length and a serialized message
//! (`conformance.ConformanceRequest` in, `conformance.ConformanceResponse` out).
//!
//! Binary protobuf, JSON and text-format input and output are handled by
//! rust-rpc's generated code; JSPB is answered `skipped` (it is
//! Google-internal).

#[cfg(conformance_protos)]
#[allow(dead_code)] // the suite's messages have far more than the testee touches
mod generated {
    include!(concat!(env!("OUT_DIR"), "/conformance/mod.rs"));
}

#[cfg(conformance_protos)]
fn main() -> std::process::ExitCode {
    testee::run()
}

#[cfg(not(conformance_protos))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "conformance-testee was built without the conformance .proto files; \
         run interop/conformance/setup.sh, then rebuild"
    );
    std::process::ExitCode::from(2)
}

#[cfg(conformance_protos)]
mod testee {
    use std::io::{self, Read, Write};
    use std::process::ExitCode;

    use std::sync::Arc;

    use rust_rpc::json::{self, JsonOptions, JsonValue, TypeRegistry};
    use rust_rpc::text::{self, TextMessage, TextOptions};
    use rust_rpc::{Message, OpenEnum};

    use crate::generated::conformance::{
        ConformanceRequest, ConformanceResponse, FailureSet, TestCategory, WireFormat,
        conformance_request, conformance_response::Result as Outcome,
    };
    use crate::generated::protobuf_test_messages;

    pub fn run() -> ExitCode {
        let stdin = io::stdin();
        let stdout = io::stdout();
        let mut input = stdin.lock();
        let mut output = stdout.lock();
        loop {
            let mut len = [0u8; 4];
            match input.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("conformance-testee: reading a request length: {e}");
                    return ExitCode::FAILURE;
                }
            }
            let mut request = vec![0u8; u32::from_le_bytes(len) as usize];
            if let Err(e) = input.read_exact(&mut request) {
                eprintln!("conformance-testee: reading a request: {e}");
                return ExitCode::FAILURE;
            }
            let response = match ConformanceRequest::decode_slice(&request) {
                Ok(req) => handle(&req),
                Err(e) => {
                    Outcome::RuntimeError(format!("cannot decode the ConformanceRequest: {e}"))
                }
            };
            let bytes = ConformanceResponse {
                result: Some(response),
                ..Default::default()
            }
            .encode_to_vec();
            let written = u32::try_from(bytes.len())
                .map_err(|_| io::Error::other("response too large"))
                .and_then(|n| output.write_all(&n.to_le_bytes()))
                .and_then(|()| output.write_all(&bytes))
                .and_then(|()| output.flush());
            if let Err(e) = written {
                eprintln!("conformance-testee: writing a response: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    /// Where a test's input comes from.
    enum Input<'a> {
        Protobuf(&'a [u8]),
        Json(&'a str),
        Text(&'a str),
    }

    /// How the test wants JSON and text read and written.
    struct Formats {
        json: JsonOptions,
        text: TextOptions,
    }

    /// Reads the input as an `M`, writes it in the requested format.
    fn round_trip<M: Message + JsonValue + TextMessage>(
        input: &Input<'_>,
        output: OpenEnum<WireFormat>,
        formats: &Formats,
    ) -> Outcome {
        let options = &formats.json;
        let message: M = match input {
            Input::Protobuf(bytes) => match M::decode_slice(bytes) {
                Ok(m) => m,
                Err(e) => return Outcome::ParseError(e.to_string()),
            },
            Input::Json(text) => match json::from_str_with(text, options) {
                Ok(m) => m,
                Err(e) => return Outcome::ParseError(e.to_string()),
            },
            Input::Text(input) => match text::from_str_with(input, &formats.text) {
                Ok(m) => m,
                Err(e) => return Outcome::ParseError(e.to_string()),
            },
        };
        match output {
            OpenEnum::Known(WireFormat::Protobuf) => {
                Outcome::ProtobufPayload(message.encode_to_vec())
            }
            OpenEnum::Known(WireFormat::Json) => match json::to_string_with(&message, options) {
                Ok(text) => Outcome::JsonPayload(text),
                Err(e) => Outcome::SerializeError(e.to_string()),
            },
            OpenEnum::Known(WireFormat::TextFormat) => {
                match text::to_string_with(&message, &formats.text) {
                    Ok(out) => Outcome::TextPayload(out),
                    Err(e) => Outcome::SerializeError(e.to_string()),
                }
            }
            other => Outcome::Skipped(format!("output format {other:?} is not supported")),
        }
    }

    /// The message types an `Any` in the tests holds, and the extensions
    /// the JSON tests use.
    fn formats(req: &ConformanceRequest) -> Formats {
        use protobuf_test_messages::{editions, proto2, proto3};
        let mut types = TypeRegistry::new();
        types
            .add::<proto3::TestAllTypesProto3>()
            .add::<proto2::TestAllTypesProto2>()
            .add::<editions::TestAllTypesEdition2023>()
            .add::<editions::proto3::TestAllTypesProto3>()
            .add::<editions::proto2::TestAllTypesProto2>()
            .add_extension(&proto2::EXTENSION_INT32)
            .add_extension(&editions::proto2::EXTENSION_INT32)
            .add_extension(&editions::EXTENSION_INT32)
            .add_extension(&proto2::GROUPFIELD)
            .add_extension(&editions::proto2::GROUPFIELD)
            .add_extension(&editions::GROUPLIKETYPE)
            .add_extension(&editions::DELIMITED_EXT);
        let types = Arc::new(types);
        let ignore_unknown =
            req.test_category == OpenEnum::Known(TestCategory::JsonIgnoreUnknownParsingTest);
        Formats {
            json: JsonOptions::default()
                .types(types.clone())
                .ignore_unknown_fields(ignore_unknown),
            text: TextOptions::default()
                .types(types)
                .print_unknown_fields(req.print_unknown_fields),
        }
    }

    fn handle(req: &ConformanceRequest) -> Outcome {
        if req.message_type == "conformance.FailureSet" {
            // No expected failures: every test must pass.
            return Outcome::ProtobufPayload(FailureSet::default().encode_to_vec());
        }
        let input = match &req.payload {
            Some(conformance_request::Payload::ProtobufPayload(p)) => Input::Protobuf(p),
            Some(conformance_request::Payload::JsonPayload(text)) => Input::Json(text),
            Some(conformance_request::Payload::JspbPayload(_)) => {
                return Outcome::Skipped("JSPB is not supported".into());
            }
            Some(conformance_request::Payload::TextPayload(text)) => Input::Text(text),
            None => return Outcome::RuntimeError("request has no payload".into()),
        };
        let output = req.requested_output_format;
        let options = &formats(req);
        use protobuf_test_messages::{editions, proto2, proto3};
        match req.message_type.as_str() {
            "protobuf_test_messages.proto3.TestAllTypesProto3" => {
                round_trip::<proto3::TestAllTypesProto3>(&input, output, options)
            }
            "protobuf_test_messages.proto2.TestAllTypesProto2" => {
                round_trip::<proto2::TestAllTypesProto2>(&input, output, options)
            }
            "protobuf_test_messages.proto2.TestAllRequiredTypesProto2" => {
                round_trip::<proto2::TestAllRequiredTypesProto2>(&input, output, options)
            }
            "protobuf_test_messages.editions.TestAllTypesEdition2023" => {
                round_trip::<editions::TestAllTypesEdition2023>(&input, output, options)
            }
            "protobuf_test_messages.editions.proto2.TestAllTypesProto2" => {
                round_trip::<editions::proto2::TestAllTypesProto2>(&input, output, options)
            }
            "protobuf_test_messages.editions.proto2.TestAllRequiredTypesProto2" => {
                round_trip::<editions::proto2::TestAllRequiredTypesProto2>(&input, output, options)
            }
            "protobuf_test_messages.editions.proto3.TestAllTypesProto3" => {
                round_trip::<editions::proto3::TestAllTypesProto3>(&input, output, options)
            }
            other => Outcome::RuntimeError(format!("unknown message type {other}")),
        }
    }
}
