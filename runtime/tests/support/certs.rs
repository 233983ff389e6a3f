//! Certificates made at test time (rcgen): a CA, server certificates for
//! the names a test needs, client certificates for mTLS. No key material is
//! kept anywhere.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rust_rpc::transport::tls::{Certificate, Identity};

/// A certificate authority that issues certificates for one test.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a CA certificate");
        Self { issuer }
    }

    /// The CA's certificate, in PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA's certificate, to trust.
    pub fn certificate(&self) -> Certificate {
        Certificate::from_pem(self.pem()).expect("the CA's PEM")
    }

    /// A server certificate for `names` (DNS names or IP addresses), and
    /// its key, in PEM.
    pub fn server_pem(&self, names: &[&str]) -> (String, String) {
        self.leaf(names, "server", ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A server identity for `names`.
    pub fn server(&self, names: &[&str]) -> Identity {
        let (cert, key) = self.server_pem(names);
        Identity::from_pem(cert, key).expect("a server identity")
    }

    /// A client certificate named `name` for mTLS, and its key, in PEM.
    pub fn client_pem(&self, name: &str) -> (String, String) {
        self.leaf(&[], name, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// A client identity named `name`.
    pub fn client(&self, name: &str) -> Identity {
        let (cert, key) = self.client_pem(name);
        Identity::from_pem(cert, key).expect("a client identity")
    }

    fn leaf(&self, names: &[&str], cn: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf parameters");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("a leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a leaf certificate");
        (cert.pem(), key.serialize_pem())
    }
}
