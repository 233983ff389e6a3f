//! The demo: every example service in `proto/`, generated at build time and
//! used for real. Starts one server on loopback hosting them all, runs a
//! client through each (unary, server streaming, client streaming, bidi,
//! errors, deadlines, metadata, interceptors), then shows the message
//! codec on its own. Exits non-zero, saying why, if anything goes wrong.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match rust_rpc_examples::run_demo(&mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}
