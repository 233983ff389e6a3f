//! `protoc-gen-rust-rpc`: the protoc plugin. Reads a `CodeGeneratorRequest`
//! on stdin, writes a `CodeGeneratorResponse` on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut request = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut request) {
        eprintln!("protoc-gen-rust-rpc: cannot read the request from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let response = protoc_gen_rust_rpc::plugin_response(&request);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(&response).and_then(|()| stdout.flush()) {
        eprintln!("protoc-gen-rust-rpc: cannot write the response to stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
