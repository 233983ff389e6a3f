//! `test-certs --out DIR`: makes the certificates that the gRPC interop
//! matrix needs to run over TLS. They are made fresh for each test run, so
//! no key material is kept in the repository.
//!
//! It writes these files into DIR, and creates DIR if it does not exist:
//!
//! * `ca.pem`: a self-signed CA certificate. The clients trust it.
//! * `server.pem`, `server.key`: the server's certificate, signed by that CA
//!   (the file holds the leaf only), and its key. Its subject alternative
//!   names are `*.test.google.fr`, `foo.test.google.fr`, `localhost`,
//!   `127.0.0.1` and `::1`. The public interop tests connect with
//!   `--server_host_override foo.test.google.fr`, a name that gRPC's own
//!   test certificate covers with `*.test.google.fr`. Extended key usage:
//!   serverAuth.
//! * `client.pem`, `client.key`: a client certificate (CN `interop-client`,
//!   extended key usage clientAuth) signed by the same CA, for mutual TLS.
//! * `other-ca.pem`: a second self-signed CA that is unrelated to the first.
//!   It is for tests that a peer whose certificate this CA did not sign is
//!   rejected.
//!
//! Keys are ECDSA P-256 in PKCS#8 PEM. Every certificate is valid from one
//! day ago (so clocks that differ a little still accept it) to 30 days from
//! now. Nothing is printed on success. A bad argument or a failure prints
//! the reason to stderr and exits with status 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

const USAGE: &str = "usage: test-certs --out DIR";

/// The server certificate's subject alternative names (IP addresses are
/// recognised as such by rcgen).
const SERVER_NAMES: [&str; 5] = [
    "*.test.google.fr",
    "foo.test.google.fr",
    "localhost",
    "127.0.0.1",
    "::1",
];

fn main() -> ExitCode {
    let result = parse_args(std::env::args_os().skip(1)).and_then(|out| write_all(&out));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-certs: {e}");
            ExitCode::from(2)
        }
    }
}

/// The directory given with `--out DIR` or `--out=DIR`.
fn parse_args(args: impl Iterator<Item = std::ffi::OsString>) -> Result<PathBuf, String> {
    let mut out = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let value = if arg == "--out" {
            args.next()
                .ok_or_else(|| format!("--out needs a directory\n{USAGE}"))?
        } else if let Some(v) = arg.to_str().and_then(|a| a.strip_prefix("--out=")) {
            v.into()
        } else if arg == "--help" || arg == "-h" {
            return Err(USAGE.to_owned());
        } else {
            return Err(format!("unexpected argument {arg:?}\n{USAGE}"));
        };
        if value.is_empty() {
            return Err(format!("--out needs a directory\n{USAGE}"));
        }
        out = Some(PathBuf::from(value));
    }
    out.ok_or_else(|| USAGE.to_owned())
}

/// Makes every certificate and key, then writes them into `dir`.
fn write_all(dir: &Path) -> Result<(), String> {
    let files = make_all().map_err(|e| format!("cannot make the certificates: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// (file name, PEM text) of everything `test-certs` writes.
fn make_all() -> Result<Vec<(&'static str, String)>, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let validity = |params: &mut CertificateParams| {
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
    };

    let (ca_params, ca_key) = ca_params_and_key("rust-rpc interop test CA", validity)?;
    let ca_pem = ca_params.self_signed(&ca_key)?.pem();
    let ca = Issuer::new(ca_params, ca_key);

    let mut server = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
    leaf(&mut server, "rust-rpc interop server", validity);
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_pem = server.signed_by(&server_key, &ca)?.pem();

    let mut client = CertificateParams::default();
    leaf(&mut client, "interop-client", validity);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_pem = client.signed_by(&client_key, &ca)?.pem();

    let (other_params, other_key) = ca_params_and_key("rust-rpc interop unrelated CA", validity)?;
    let other_pem = other_params.self_signed(&other_key)?.pem();

    Ok(vec![
        ("ca.pem", ca_pem),
        ("server.pem", server_pem),
        ("server.key", server_key.serialize_pem()),
        ("client.pem", client_pem),
        ("client.key", client_key.serialize_pem()),
        ("other-ca.pem", other_pem),
    ])
}

/// A CA's parameters (may sign leaf certificates, not other CAs) and a new key.
fn ca_params_and_key(
    name: &str,
    validity: impl Fn(&mut CertificateParams),
) -> Result<(CertificateParams, KeyPair), rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params);
    Ok((params, KeyPair::generate()?))
}

/// What the server and client certificates share: subject, key usage, an
/// authority key identifier naming the CA, validity.
fn leaf(params: &mut CertificateParams, name: &str, validity: impl Fn(&mut CertificateParams)) {
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    validity(params);
}
