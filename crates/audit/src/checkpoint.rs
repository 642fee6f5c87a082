//! Signed checkpoints: the head of the log signed with an Ed25519 key, so that cutting
//! the log short or rewriting it with every hash recomputed is caught.

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// The log's head at one moment, signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last record's sequence number.
    pub seq: u64,
    /// Its hash, hex.
    pub hash: String,
    /// The Ed25519 public key that signed, hex.
    pub public_key: String,
    /// The signature over `seq` and `hash`, hex.
    pub signature: String,
}

fn message(seq: u64, hash: &str) -> Vec<u8> {
    format!("windlass-audit-checkpoint\n{seq}\n{hash}\n").into_bytes()
}

use crate::chain::{from_hex as unhex, to_hex as hex};

impl Checkpoint {
    /// `seq` and `hash` signed with `key`.
    pub fn sign(seq: u64, hash: &str, key: &Ed25519KeyPair) -> Checkpoint {
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            public_key: hex(key.public_key().as_ref()),
            signature: hex(key.sign(&message(seq, hash)).as_ref()),
        }
    }

    /// Whether `public_key` (raw 32 bytes) signed this checkpoint.
    pub fn verify(&self, public_key: &[u8]) -> bool {
        unhex(&self.signature).is_some_and(|sig| {
            UnparsedPublicKey::new(&ED25519, public_key)
                .verify(&message(self.seq, &self.hash), &sig)
                .is_ok()
        })
    }
}
