//! `rust-rpc`: list, describe and call the methods of any gRPC server, the
//! way `grpcurl` does: through the server's reflection service, or from
//! `.proto` files (read in pure Rust, no protoc). Requests and responses
//! are protobuf's canonical JSON; responses print one per line, so the tool
//! fits in a pipe. `rust-rpc --help` for the command line.

mod args;
mod call;
mod schema;
mod source;

use std::io::Read;
use std::process::ExitCode;

use rust_rpc::json::{DescriptorPool, JsonOptions};
use rust_rpc::transport::metadata::MetadataEntry;
use rust_rpc::transport::{Channel, Client, Code, Endpoint, Status};

use args::{Args, Command, Exit};
use source::Source;

/// Why the tool stops short: the status to exit with and what to say.
#[derive(Debug)]
pub struct Failure {
    code: Code,
    message: String,
    trailers: Vec<(String, String)>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            trailers: Vec::new(),
        }
    }

    /// A call's failure, with the trailers the server sent.
    pub fn from_status(status: &Status) -> Self {
        Failure {
            code: status.code(),
            message: status.message().to_owned(),
            trailers: status
                .metadata()
                .iter()
                .map(|entry| match entry {
                    MetadataEntry::Ascii(k, v) => (k.to_owned(), v.to_owned()),
                    MetadataEntry::Binary(k, v) => {
                        (k.to_owned(), String::from_utf8_lossy(v).into_owned())
                    }
                })
                .collect(),
        }
    }
}

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(Exit::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(Exit::Version) => {
            println!("rust-rpc {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(Exit::Usage(message)) => {
            eprintln!("rust-rpc: {message}\n\n{}", args::USAGE);
            return ExitCode::from(Code::InvalidArgument as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rust-rpc: cannot start: {e}");
            return ExitCode::from(Code::Internal as u8);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("rust-rpc: {}: {}", f.code, f.message);
            for (k, v) in &f.trailers {
                eprintln!("  {k}: {v}");
            }
            ExitCode::from(f.code as u8)
        }
    }
}

async fn run(args: Args) -> Result<(), Failure> {
    let channel = connect(&args).await?;
    let mut source = if args.protos.is_empty() {
        Source::reflection(channel.clone(), args.headers.clone())
    } else {
        Source::files(&args.protos, &args.import_paths)?
    };
    match &args.command {
        Command::List { service: None } => {
            for name in source.services().await? {
                println!("{name}");
            }
            Ok(())
        }
        Command::List {
            service: Some(name),
        } => {
            let files = source.files_for(name).await?;
            let Some(service) = schema::service(&files, name) else {
                return Err(Failure::new(Code::NotFound, format!("no service {name}")));
            };
            for m in &service.method {
                println!("{name}.{}", m.name());
            }
            Ok(())
        }
        Command::Describe { symbol } => {
            // Reflection knows a method by its `pkg.Service.Method` name.
            let lookup = symbol.replace('/', ".");
            let files = source.files_for(lookup.trim_start_matches('.')).await?;
            match schema::find(&files, symbol) {
                Some(found) => {
                    print!("{}", schema::describe(&found));
                    Ok(())
                }
                None => Err(Failure::new(Code::NotFound, format!("no symbol {symbol}"))),
            }
        }
        Command::Call { method } => {
            let service = schema::split_method(method).map_or(method.as_str(), |(s, _)| s);
            let files = source.files_for(service).await?;
            let method = schema::method(&files, method)?;
            let pool = DescriptorPool::new(files)
                .map_err(|e| Failure::new(Code::Internal, format!("the schema: {e}")))?;
            let data = request_data(args.data.as_deref())?;
            let requests = call::json_values(&data)?;
            let options = JsonOptions::default().emit_defaults(args.emit_defaults);
            let call = call::Call {
                pool: &pool,
                method: &method,
                options: &options,
                headers: &args.headers,
                timeout: args.timeout,
            };
            call.run(&mut Client::new(channel), &requests).await
        }
    }
}

/// `-d`'s text: as given, `@FILE`'s contents, or stdin for `@-`; `{}`
/// when absent.
fn request_data(data: Option<&str>) -> Result<String, Failure> {
    let read_failed = |what: &str, e: std::io::Error| {
        Failure::new(Code::InvalidArgument, format!("cannot read {what}: {e}"))
    };
    match data {
        None => Ok("{}".to_owned()),
        Some("@-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| read_failed("stdin", e))?;
            Ok(text)
        }
        Some(d) => match d.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| read_failed(path, e)),
            None => Ok(d.to_owned()),
        },
    }
}

/// A channel to the target, connected now so that an unreachable server
/// is reported as such.
async fn connect(args: &Args) -> Result<Channel, Failure> {
    let target = if args.target.contains("://") {
        args.target.clone()
    } else {
        format!("http://{}", args.target)
    };
    let mut endpoint = Endpoint::new(&target)
        .map_err(|e| Failure::new(Code::InvalidArgument, format!("target {target:?}: {e}")))?;
    if target.starts_with("https://") {
        endpoint = endpoint
            .tls_config(tls(args)?)
            .map_err(|e| Failure::new(Code::InvalidArgument, format!("TLS: {e}")))?;
    } else if args.cacert.is_some() || args.cert.is_some() || args.insecure {
        return Err(Failure::new(
            Code::InvalidArgument,
            "--cacert, --cert and --insecure are for https:// targets",
        ));
    }
    if let Some(t) = args.timeout {
        endpoint = endpoint.connect_timeout(t);
    }
    let authority = target
        .split("://")
        .nth(1)
        .unwrap_or(&target)
        .trim_end_matches('/');
    endpoint.connect().await.map_err(|s| {
        let code = match s.code() {
            Code::Ok => Code::Unavailable,
            c => c,
        };
        Failure::new(
            code,
            format!("cannot connect to {authority}: {}", s.message()),
        )
    })
}

fn tls(args: &Args) -> Result<rust_rpc::transport::tls::ClientTlsConfig, Failure> {
    use rust_rpc::transport::tls::{Certificate, ClientTlsConfig, Identity};
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Failure::new(Code::InvalidArgument, format!("{what}: {e}"))
    };
    let mut config = ClientTlsConfig::new().danger_accept_invalid_certificates(args.insecure);
    if let Some(ca) = &args.cacert {
        let cert =
            Certificate::from_pem_file(ca).map_err(|e| bad(&ca.display().to_string(), &e))?;
        config = config.ca_certificate(cert);
    }
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        let identity = Identity::from_pem_files(cert, key)
            .map_err(|e| bad(&cert.display().to_string(), &e))?;
        config = config.identity(identity);
    }
    Ok(config)
}
