//! The hash chain: each record carries the SHA-256 of the record before it, so editing,
//! deleting, reordering or inserting a record breaks the chain at that record.
//!
//! # The stored format
//!
//! A record with sequence number `seq` is stored (under the key `seq`) as
//!
//! ```text
//! prev (32 bytes) ‖ hash (32 bytes) ‖ the call's canonical JSON
//! ```
//!
//! where `hash = SHA-256(prev ‖ seq as 8 bytes big-endian ‖ the call's JSON)` and
//! `prev` is the hash of the record before it (the log's anchor for the first kept
//! record: [`GENESIS_HASH`] until retention drops records). Verifying never parses
//! JSON: it hashes raw bytes and compares links. [`encode`] and [`Record::decode`]
//! convert between the stored bytes and the [`Record`] readers see.

use serde::{Deserialize, Serialize};

/// One API call, as logged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    /// When the call arrived, RFC 3339 in UTC with one number of fraction digits
    /// throughout (e.g. `2026-12-03T21:00:00.123Z`): queries compare times as text.
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

impl ApiCall {
    /// The canonical JSON bytes of the call, the ones hashed and stored (struct fields
    /// serialize in declaration order).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an ApiCall always serializes")
    }
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
    /// SHA-256 over `prev`, `seq` and the call (see the module documentation), hex.
    pub hash: String,
}

/// The length of a SHA-256 hash.
pub const HASH_LEN: usize = 32;

/// The stored bytes of a record before its call's JSON: `prev` and `hash`.
pub const HEADER_LEN: usize = 2 * HASH_LEN;

/// A SHA-256 hash, raw.
pub type Hash = [u8; HASH_LEN];

/// The hash before the first record of a log, raw.
pub const GENESIS_HASH: Hash = [0; HASH_LEN];

/// The hash before the first record of a log, hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of the record at `seq` holding `call_json` that follows `prev`.
pub fn hash(prev: &Hash, seq: u64, call_json: &[u8]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(prev);
    ctx.update(&seq.to_be_bytes());
    ctx.update(call_json);
    let mut out = [0; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The stored bytes of the record at `seq` holding `call_json` that follows `prev`.
pub fn encode(prev: &Hash, seq: u64, call_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + call_json.len());
    out.extend_from_slice(prev);
    out.extend_from_slice(&hash(prev, seq, call_json));
    out.extend_from_slice(call_json);
    out
}

/// The hash a stored record claims for itself (`None`: too short to be a record).
pub fn stored_hash(stored: &[u8]) -> Option<Hash> {
    stored.get(HASH_LEN..HEADER_LEN)?.try_into().ok()
}

/// The hash a stored record claims to follow (`None`: too short to be a record).
pub fn stored_prev(stored: &[u8]) -> Option<Hash> {
    stored.get(..HASH_LEN)?.try_into().ok()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` in lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// The bytes `text` spells in hex (`None`: not hex).
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// A hash spelled in hex (`None`: not 64 hex digits).
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    from_hex(text)?.try_into().ok()
}

impl Record {
    /// The record of `call` following `prev` (hex) at `seq`.
    ///
    /// # Panics
    ///
    /// If `prev` is not a hash in hex.
    pub fn new(prev: &str, seq: u64, call: ApiCall) -> Record {
        let raw = hash_from_hex(prev).expect("prev is a SHA-256 in hex");
        let hash = to_hex(&hash(&raw, seq, &call.to_json()));
        Record {
            seq,
            prev: prev.to_owned(),
            call,
            hash,
        }
    }

    /// The record stored as `stored` under `seq`; why it is not one otherwise.
    pub fn decode(seq: u64, stored: &[u8]) -> Result<Record, String> {
        let (Some(prev), Some(hash)) = (stored_prev(stored), stored_hash(stored)) else {
            return Err(format!("{} bytes, fewer than its two hashes", stored.len()));
        };
        let call = serde_json::from_slice(&stored[HEADER_LEN..]).map_err(|e| e.to_string())?;
        Ok(Record {
            seq,
            prev: to_hex(&prev),
            call,
            hash: to_hex(&hash),
        })
    }

    /// The bytes this record is stored as (its `prev` and `hash` as they are, not
    /// recomputed).
    ///
    /// # Panics
    ///
    /// If `prev` or `hash` is not a hash in hex.
    pub fn encode(&self) -> Vec<u8> {
        let json = self.call.to_json();
        let mut out = Vec::with_capacity(HEADER_LEN + json.len());
        out.extend_from_slice(&hash_from_hex(&self.prev).expect("prev is a SHA-256 in hex"));
        out.extend_from_slice(&hash_from_hex(&self.hash).expect("hash is a SHA-256 in hex"));
        out.extend_from_slice(&json);
        out
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

/// Checks the links of the record stored as `stored` under `key`, where the record
/// `expected` following a record whose hash is `prev` belongs: its key, its length and
/// its `prev` (not its own hash: see [`content_holds`]). `Ok` gives its hash.
pub fn check_link(expected: u64, key: u64, prev: &Hash, stored: &[u8]) -> Result<Hash, Broken> {
    if key != expected {
        return Err(Broken {
            seq: expected,
            why: if key > expected {
                format!("missing: expected record {expected}, found record {key}")
            } else {
                format!("out of place: expected record {expected}, found record {key}")
            },
        });
    }
    let (Some(claimed_prev), Some(hash)) = (stored_prev(stored), stored_hash(stored)) else {
        return Err(Broken {
            seq: key,
            why: format!(
                "not a record: {} bytes, fewer than its two hashes",
                stored.len()
            ),
        });
    };
    if claimed_prev != *prev {
        return Err(Broken {
            seq: key,
            why: "does not follow the record before it (its previous hash differs)".into(),
        });
    }
    Ok(hash)
}

/// Whether the record stored as `stored` under `seq` hashes to the hash it claims
/// (records too short to be one do not).
pub fn content_holds(seq: u64, stored: &[u8]) -> bool {
    match (stored_prev(stored), stored_hash(stored)) {
        (Some(prev), Some(claimed)) => hash(&prev, seq, &stored[HEADER_LEN..]) == claimed,
        _ => false,
    }
}

/// Why a record whose content does not match its hash is broken.
pub const EDITED: &str = "its content does not match its hash (edited)";

/// Checks stored records `(key, bytes)`, in key order, against the chain starting
/// after `anchor` at `first_seq`; the first broken record, if any. (One thread; the
/// log's [`crate::ApiLog::verify`] spreads the hashing over the cores.)
pub fn verify<'a>(
    anchor: &Hash,
    first_seq: u64,
    records: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Option<Broken> {
    let mut prev = *anchor;
    for (expected, (key, stored)) in (first_seq..).zip(records) {
        match check_link(expected, key, &prev, stored) {
            Err(broken) => return Some(broken),
            Ok(hash) => prev = hash,
        }
        if !content_holds(key, stored) {
            return Some(Broken {
                seq: key,
                why: EDITED.into(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let hex = to_hex(&bytes);
            prop_assert_eq!(from_hex(&hex), Some(bytes));
        }

        #[test]
        fn a_record_round_trips_through_its_stored_bytes(
            seq in 1u64..u64::MAX,
            user in proptest::option::of("[a-z,\"\n]{0,12}"),
            duration in any::<u64>(),
        ) {
            let call = ApiCall { user, duration_ms: duration, ..ApiCall::default() };
            let record = Record::new(GENESIS, seq, call);
            let stored = record.encode();
            prop_assert_eq!(&stored, &encode(&GENESIS_HASH, seq, &record.call.to_json()));
            prop_assert!(content_holds(seq, &stored));
            prop_assert!(!content_holds(seq ^ 1, &stored), "the seq is hashed");
            prop_assert_eq!(Record::decode(seq, &stored), Ok(record));
        }
    }
}
