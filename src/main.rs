//! `protoc-gen-rust-rpc`. With no arguments, the protoc plugin: reads a
//! `CodeGeneratorRequest` on stdin, writes a `CodeGeneratorResponse` on
//! stdout. With arguments, a compiler that needs no protoc:
//! `protoc-gen-rust-rpc --proto_path DIR --out OUT a.proto`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use protoc_gen_rust_rpc::Options;
use protoc_gen_rust_rpc::parse::Parser;

const USAGE: &str = "\
usage: protoc-gen-rust-rpc [OPTIONS] FILE.proto...
       protoc-gen-rust-rpc            (no arguments: run as a protoc plugin)

Generates Rust code for rust-rpc from .proto files, without protoc.

options:
  -I, --proto_path DIR   an include directory; imports and FILEs are found in
                         them (repeatable; default: the current directory)
  -o, --out DIR          where to write the generated files (required)
      --opt OPTIONS      generator options, as protoc's --rust-rpc_opt takes
                         them: key=value[,key=value...]
      --protoc[=PATH]    parse with protoc (PATH, else $PROTOC, else protoc
                         on PATH) instead of the pure-Rust parser
  -h, --help             this text
  -V, --version          the version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return plugin();
    }
    match compile(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("protoc-gen-rust-rpc: {message}");
            ExitCode::FAILURE
        }
    }
}

fn plugin() -> ExitCode {
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

/// The command line of the compiler mode.
#[derive(Debug, Default, PartialEq)]
struct Args {
    includes: Vec<PathBuf>,
    out: Option<PathBuf>,
    options: String,
    parser: Parser,
    inputs: Vec<PathBuf>,
}

enum Parsed {
    Run(Args),
    Help,
    Version,
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut a = Args::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        // `--flag=value` and `--flag value` alike.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "-I" | "--proto_path" => a.includes.push(PathBuf::from(value(flag)?)),
            "-o" | "--out" => a.out = Some(PathBuf::from(value(flag)?)),
            "--opt" => {
                let v = value(flag)?;
                if !a.options.is_empty() {
                    a.options.push(',');
                }
                a.options.push_str(&v);
            }
            "--protoc" => a.parser = Parser::Protoc(inline.clone().map(PathBuf::from)),
            _ if flag.starts_with("-I") && flag.len() > 2 => {
                a.includes.push(PathBuf::from(&flag[2..]))
            }
            _ if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option {arg:?}\n\n{USAGE}"));
            }
            _ => a.inputs.push(PathBuf::from(arg)),
        }
    }
    Ok(Parsed::Run(a))
}

fn compile(args: &[String]) -> Result<(), String> {
    let mut a = match parse_args(args)? {
        Parsed::Help => {
            print!("{USAGE}");
            return Ok(());
        }
        Parsed::Version => {
            println!("protoc-gen-rust-rpc {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Parsed::Run(a) => a,
    };
    let out = a
        .out
        .take()
        .ok_or_else(|| format!("--out DIR is required\n\n{USAGE}"))?;
    if a.inputs.is_empty() {
        return Err(format!("no .proto files given\n\n{USAGE}"));
    }
    if a.includes.is_empty() {
        a.includes.push(PathBuf::from("."));
    }
    let options = Options::parse(&a.options).map_err(|e| e.to_string())?;
    let (files, _) =
        protoc_gen_rust_rpc::generate_from_files(&a.inputs, &a.includes, &a.parser, &options)
            .map_err(|e| e.to_string())?;
    for f in files {
        let path = out.join(&f.name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, f.content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        match parse_args(&args)? {
            Parsed::Run(a) => Ok(a),
            _ => Err("not a run".to_owned()),
        }
    }

    #[test]
    fn flags_in_both_spellings() {
        let a = run(&[
            "-I",
            "a",
            "--proto_path=b",
            "-Ic",
            "--out",
            "o",
            "--opt",
            "bytes=bytes",
            "--opt=map=btree",
            "x.proto",
        ])
        .unwrap();
        assert_eq!(
            a.includes,
            [PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")]
        );
        assert_eq!(a.out, Some(PathBuf::from("o")));
        assert_eq!(a.options, "bytes=bytes,map=btree");
        assert_eq!(a.inputs, [PathBuf::from("x.proto")]);
        assert_eq!(a.parser, Parser::Pure);
        assert_eq!(
            run(&["--protoc", "x.proto"]).unwrap().parser,
            Parser::Protoc(None)
        );
        assert_eq!(
            run(&["--protoc=/bin/protoc", "x.proto"]).unwrap().parser,
            Parser::Protoc(Some(PathBuf::from("/bin/protoc")))
        );
    }

    #[test]
    fn bad_command_lines_are_errors() {
        assert!(
            run(&["--frobnicate", "x.proto"])
                .unwrap_err()
                .contains("unknown option \"--frobnicate\"")
        );
        assert!(run(&["--out"]).unwrap_err().contains("--out needs a value"));
        assert!(
            compile(&["x.proto".to_owned()])
                .unwrap_err()
                .contains("--out DIR is required")
        );
    }
}
