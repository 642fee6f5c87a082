//! The cluster's CA, serving certificate and bearer token.
//!
//! Generated on first start. With a data directory they are kept there (so a
//! kubeconfig written earlier stays valid across restarts); without one the
//! certificates are generated once per process and shared, because key
//! generation dominates start-up time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use ring::rand::SecureRandom;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// PEM-encoded material for the server and its kubeconfig.
#[derive(Debug)]
pub(crate) struct Credentials {
    /// The CA certificate clients trust.
    pub ca_pem: String,
    /// The serving certificate (signed by the CA).
    pub cert_pem: String,
    /// The serving certificate's private key.
    pub key_pem: String,
}

const CA_FILE: &str = "ca.crt";
const CA_KEY_FILE: &str = "ca.key";
const CERT_FILE: &str = "tls.crt";
const KEY_FILE: &str = "tls.key";
const TOKEN_FILE: &str = "token";

/// Credentials for a cluster: loaded from or generated into `data_dir`, or
/// the per-process cached set when there is no data directory.
pub(crate) fn credentials(data_dir: Option<&Path>) -> Result<Arc<Credentials>> {
    match data_dir {
        None => {
            static CACHED: OnceLock<Arc<Credentials>> = OnceLock::new();
            if let Some(c) = CACHED.get() {
                return Ok(c.clone());
            }
            let generated = Arc::new(generate()?);
            Ok(CACHED.get_or_init(|| generated).clone())
        }
        Some(dir) => {
            let paths = [CA_FILE, CERT_FILE, KEY_FILE].map(|f| dir.join(f));
            if paths.iter().all(|p| p.exists()) {
                let [ca, cert, key] = paths.map(|p| read(&p));
                let creds = Credentials {
                    ca_pem: ca?,
                    cert_pem: cert?,
                    key_pem: key?,
                };
                // Fail at start, naming the file, rather than at the first handshake.
                parse_cert(&creds.cert_pem, &dir.join(CERT_FILE))?;
                parse_key(&creds.key_pem, &dir.join(KEY_FILE))?;
                return Ok(Arc::new(creds));
            }
            let (creds, ca_key) = generate_with_ca_key()?;
            write_private(&dir.join(CA_FILE), &creds.ca_pem)?;
            write_private(&dir.join(CA_KEY_FILE), &ca_key)?;
            write_private(&dir.join(CERT_FILE), &creds.cert_pem)?;
            write_private(&dir.join(KEY_FILE), &creds.key_pem)?;
            Ok(Arc::new(creds))
        }
    }
}

/// The bearer token: kept in `data_dir` when there is one, fresh otherwise.
pub(crate) fn token(data_dir: Option<&Path>) -> Result<String> {
    if let Some(dir) = data_dir {
        let path = dir.join(TOKEN_FILE);
        if path.exists() {
            let t = read(&path)?.trim().to_owned();
            if !t.is_empty() {
                return Ok(t);
            }
        }
        let t = random_hex(32)?;
        write_private(&path, &t)?;
        return Ok(t);
    }
    random_hex(32)
}

/// `n` random bytes, hex-encoded.
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Tls("system random source failed".into()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn generate() -> Result<Credentials> {
    generate_with_ca_key().map(|(c, _)| c)
}

fn generate_with_ca_key() -> Result<(Credentials, String)> {
    let tls = |e: rcgen::Error| Error::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(tls)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "windlass-embedded-cluster-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let key = KeyPair::generate().map_err(tls)?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "windlass-embedded-cluster");
    let cert = params.signed_by(&key, &issuer).map_err(tls)?;
    Ok((
        Credentials {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
        ca_key.serialize_pem(),
    ))
}

/// A rustls server configuration (ring provider, HTTP/1.1 via ALPN).
pub(crate) fn server_config(creds: &Credentials) -> Result<Arc<rustls::ServerConfig>> {
    let cert = parse_cert(&creds.cert_pem, Path::new(CERT_FILE))?;
    let key = parse_key(&creds.key_pem, Path::new(KEY_FILE))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn parse_cert(pem: &str, path: &Path) -> Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| Error::DataDir {
        path: path.to_owned(),
        message: format!("not a PEM certificate: {e}"),
    })
}

fn parse_key(pem: &str, path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| Error::DataDir {
        path: path.to_owned(),
        message: format!("not a PEM private key: {e}"),
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `contents` to `path` readable by the owner only (0600 on Unix).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<()> {
    let io = |source| Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        // `mode` applies only when the file is created; tighten an existing one too.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    std::io::Write::write_all(&mut f, contents.as_bytes()).map_err(io)
}
