//! The hash chain: each record carries the SHA-256 of the record before it, so editing,
//! deleting, reordering or inserting a record breaks the chain at that record.

use serde::{Deserialize, Serialize};

/// One API call, as logged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    /// When the call arrived, RFC 3339 (UTC).
    pub time: String,
    /// Who made it (`None`: not authenticated).
    pub user: Option<String>,
    /// How they authenticated (`token`, `git-credential`, ...).
    pub auth_method: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// The operation's name (a GraphQL operation).
    pub operation: String,
    /// Its variables, secrets redacted (see [`crate::redact`]).
    pub variables: serde_json::Value,
    /// The entity it targeted (`Kind/namespace/name`), if any.
    pub target: Option<String>,
    /// `allowed` or `denied`.
    pub decision: String,
    /// Why (a denial's reason names the rule or the missing permission).
    pub reason: Option<String>,
    /// `success` or `error`.
    pub outcome: String,
    /// The error, if any.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// Ties the call to its logs and to what it caused.
    pub correlation_id: Option<String>,
    /// The commit it made, if any.
    pub commit: Option<String>,
}

/// A logged call with its place in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its sequence number: 1, 2, 3, ... with no gap.
    pub seq: u64,
    /// The hash of the record before (the anchor for the first kept record), hex.
    pub prev: String,
    /// The call.
    pub call: ApiCall,
    /// SHA-256 over `prev`, `seq` and the call, hex.
    pub hash: String,
}

/// The hash before the first record of a log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a record with `seq` and `call` that follows `prev`.
pub fn hash(prev: &str, seq: u64, call: &ApiCall) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(prev.as_bytes());
    ctx.update(&seq.to_be_bytes());
    // Struct fields serialize in declaration order: the bytes are canonical.
    ctx.update(&serde_json::to_vec(call).expect("an ApiCall always serializes"));
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Record {
    /// The record of `call` following `prev` at `seq`.
    pub fn new(prev: &str, seq: u64, call: ApiCall) -> Record {
        let hash = hash(prev, seq, &call);
        Record {
            seq,
            prev: prev.to_owned(),
            call,
            hash,
        }
    }
}

/// Where and why a chain is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The first record that does not hold (or the sequence number expected where a
    /// record is missing).
    pub seq: u64,
    /// What is wrong with it.
    pub why: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.seq, self.why)
    }
}

/// Checks `records`, in the order stored, against the chain starting after `anchor`
/// at `first_seq`; the first broken record, if any.
pub fn verify<'a>(
    anchor: &str,
    first_seq: u64,
    records: impl IntoIterator<Item = (u64, &'a Record)>,
) -> Option<Broken> {
    let mut prev = anchor.to_owned();
    for (expected, (key, r)) in (first_seq..).zip(records) {
        if key != expected || r.seq != expected {
            return Some(Broken {
                seq: expected,
                why: format!(
                    "expected record {expected}, found record {} stored at {key}",
                    r.seq
                ),
            });
        }
        if r.prev != prev {
            return Some(Broken {
                seq: r.seq,
                why: "does not follow the record before it (its previous hash differs)".into(),
            });
        }
        if hash(&r.prev, r.seq, &r.call) != r.hash {
            return Some(Broken {
                seq: r.seq,
                why: "its content does not match its hash (edited)".into(),
            });
        }
        prev = r.hash.clone();
    }
    None
}
