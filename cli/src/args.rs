//! The command line: a command, its positionals, and flags that may come
//! before or after them. Written by hand: the grammar is a dozen flags, and
//! a parser of our own keeps the tool's start-up and build small.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage:
  rust-rpc list TARGET [SERVICE]             services (or one service's methods)
  rust-rpc describe TARGET SYMBOL            a service, method, message or enum
  rust-rpc call TARGET SERVICE/METHOD [-d JSON | -d @FILE | -d @-]

TARGET is a URI: http://HOST:PORT (plaintext) or https://HOST:PORT (TLS);
a bare HOST:PORT means http://.

flags (before or after the positionals):
  -d, --data JSON|@FILE|@-   request(s): one JSON object per message (default {})
  -H, --header 'KEY: VALUE'  request metadata (repeatable)
  --timeout DURATION         deadline for the call: 5s, 250ms, 1.5 (seconds)
  --proto FILE               read services from .proto files, not reflection (repeatable)
  -I, --import-path DIR      where --proto files and their imports are (repeatable)
  --cacert FILE              CA certificate (PEM) to trust for https://
  --cert FILE, --key FILE    client certificate and key (PEM) for mTLS
  --insecure                 https:// without checking the server's certificate
  --emit-defaults            print fields at their default values too
  -h, --help                 this text
  -V, --version              the version

exit status: 0 when the call succeeds, else the gRPC status code (3 for a bad
command line or request, 5 for an unknown service, method or symbol, 14 when
the server cannot be reached).";

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    List { service: Option<String> },
    Describe { symbol: String },
    Call { method: String },
}

/// Everything the command line says.
#[derive(Debug)]
pub struct Args {
    pub command: Command,
    pub target: String,
    pub data: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub protos: Vec<PathBuf>,
    pub import_paths: Vec<PathBuf>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure: bool,
    pub emit_defaults: bool,
}

/// What parsing found instead of a command to run.
#[derive(Debug, PartialEq)]
pub enum Exit {
    Help,
    Version,
    Usage(String),
}

/// Parses `argv` (without the program name).
pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Args, Exit> {
    let mut positionals = Vec::new();
    let mut data = None;
    let mut headers = Vec::new();
    let mut timeout = None;
    let mut protos = Vec::new();
    let mut import_paths = Vec::new();
    let (mut cacert, mut cert, mut key) = (None, None, None);
    let mut emit_defaults = false;
    let mut insecure = false;
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        // `--flag=value` is `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, Exit> {
            match inline.clone().or_else(|| argv.next()) {
                Some(v) => Ok(v),
                None => Err(Exit::Usage(format!("{name} needs a value"))),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(Exit::Help),
            "-V" | "--version" => return Err(Exit::Version),
            "-d" | "--data" => data = Some(value(&flag)?),
            "-H" | "--header" => {
                let h = value(&flag)?;
                let Some((k, v)) = h.split_once(':') else {
                    return Err(Exit::Usage(format!("header {h:?} is not 'KEY: VALUE'")));
                };
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
            "--timeout" => timeout = Some(duration(&value(&flag)?)?),
            "--proto" => protos.push(PathBuf::from(value(&flag)?)),
            "-I" | "--import-path" => import_paths.push(PathBuf::from(value(&flag)?)),
            "--cacert" => cacert = Some(PathBuf::from(value(&flag)?)),
            "--cert" => cert = Some(PathBuf::from(value(&flag)?)),
            "--key" => key = Some(PathBuf::from(value(&flag)?)),
            "--emit-defaults" => emit_defaults = true,
            "--insecure" => insecure = true,
            f if f.starts_with("-I") && f.len() > 2 => import_paths.push(PathBuf::from(&f[2..])),
            f if f.starts_with('-') && f != "-" => {
                return Err(Exit::Usage(format!("unknown flag {f}")));
            }
            _ => positionals.push(arg),
        }
    }
    let mut positionals = positionals.into_iter();
    let command = positionals
        .next()
        .ok_or_else(|| Exit::Usage("a command is needed: list, describe or call".into()))?;
    let target = positionals
        .next()
        .ok_or_else(|| Exit::Usage(format!("{command} needs a TARGET")))?;
    let command = match command.as_str() {
        "list" => Command::List {
            service: positionals.next(),
        },
        "describe" => Command::Describe {
            symbol: positionals
                .next()
                .ok_or_else(|| Exit::Usage("describe needs a SYMBOL".into()))?,
        },
        "call" => Command::Call {
            method: positionals
                .next()
                .ok_or_else(|| Exit::Usage("call needs SERVICE/METHOD".into()))?,
        },
        other => return Err(Exit::Usage(format!("unknown command {other:?}"))),
    };
    if let Some(extra) = positionals.next() {
        return Err(Exit::Usage(format!("unexpected argument {extra:?}")));
    }
    if cert.is_some() != key.is_some() {
        return Err(Exit::Usage("--cert and --key go together".into()));
    }
    if !import_paths.is_empty() && protos.is_empty() {
        return Err(Exit::Usage("-I needs --proto files to read".into()));
    }
    Ok(Args {
        command,
        target,
        data,
        headers,
        timeout,
        protos,
        import_paths,
        cacert,
        cert,
        key,
        insecure,
        emit_defaults,
    })
}

/// `5s`, `250ms`, `1m`, `1.5` (seconds).
fn duration(text: &str) -> Result<Duration, Exit> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(Exit::Usage(format!(
                "timeout {text:?}: unknown unit {unit:?}"
            )));
        }
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * scale < 1e9 => {
            Ok(Duration::from_secs_f64(n * scale))
        }
        _ => Err(Exit::Usage(format!(
            "timeout {text:?} is not a positive duration"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, Exit> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_go_before_or_after_the_positionals() {
        let a = args("-H x-a:1 call http://h:1 pkg.S/M -d {} --timeout 250ms -H X-B:2").unwrap();
        assert_eq!(
            a.command,
            Command::Call {
                method: "pkg.S/M".into()
            }
        );
        assert_eq!(a.target, "http://h:1");
        assert_eq!(a.data.as_deref(), Some("{}"));
        assert_eq!(a.timeout, Some(Duration::from_millis(250)));
        assert_eq!(
            a.headers,
            [("x-a".into(), "1".into()), ("x-b".into(), "2".into())]
        );
        let a = args("list --proto=a.proto -Iinc --import-path other h:1 pkg.S").unwrap();
        assert_eq!(
            a.command,
            Command::List {
                service: Some("pkg.S".into())
            }
        );
        assert_eq!(
            a.import_paths,
            [PathBuf::from("inc"), PathBuf::from("other")]
        );
        assert_eq!(
            args("describe h:1 pkg.M").unwrap().command,
            Command::Describe {
                symbol: "pkg.M".into()
            }
        );
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for (line, why) in [
            ("", "a command is needed"),
            ("call h:1", "call needs SERVICE/METHOD"),
            ("list", "list needs a TARGET"),
            ("fetch h:1", "unknown command"),
            ("list h:1 a b", "unexpected argument"),
            ("list h:1 --bogus", "unknown flag --bogus"),
            ("call h:1 a/b -d", "-d needs a value"),
            ("call h:1 a/b -H novalue", "is not 'KEY: VALUE'"),
            ("call h:1 a/b --timeout 5x", "unknown unit"),
            ("call h:1 a/b --timeout -1", "not a positive duration"),
            ("call h:1 a/b --cert c.pem", "--cert and --key go together"),
            ("list h:1 -I dir", "-I needs --proto"),
        ] {
            match args(line) {
                Err(Exit::Usage(message)) => assert!(message.contains(why), "{line}: {message}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        assert!(matches!(args("list --help"), Err(Exit::Help)));
    }
}
