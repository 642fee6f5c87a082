//! Verifying the chain on every core: the scan checks each record's links in order
//! (cheap comparisons of stored hashes) and hands chunks of raw records to workers,
//! which hash them; the first broken record is the lowest seq any of them finds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};

use crate::Result;
use crate::chain::{self, Broken};
use crate::store::Snapshot;

/// Records per chunk handed to a worker.
const CHUNK_RECORDS: usize = 4096;

/// Raw records, back to back.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// Each record's seq and where its bytes end in `bytes`.
    records: Vec<(u64, usize)>,
}

impl Chunk {
    /// The seq of the first record in it whose content does not match its hash.
    fn first_edited(&self) -> Option<u64> {
        let mut start = 0;
        for &(seq, end) in &self.records {
            if !chain::content_holds(seq, &self.bytes[start..end]) {
                return Some(seq);
            }
            start = end;
        }
        None
    }
}

/// Verifies the chain as `snapshot` sees it, hashing on every core; the first broken
/// record, as [`chain::verify`] would name it.
pub(crate) fn verify_snapshot(snapshot: &dyn Snapshot) -> Result<Option<Broken>> {
    let anchor = snapshot.anchor()?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The lowest seq found edited so far (u64::MAX: none).
    let edited = AtomicU64::new(u64::MAX);
    let (send, receive) = mpsc::sync_channel::<Chunk>(2 * workers);
    let receive = Mutex::new(receive);
    let mut link_broken = None;
    let scanned = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = receive.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(chunk) = next else { break };
                    if let Some(seq) = chunk.first_edited() {
                        edited.fetch_min(seq, Ordering::Relaxed);
                    }
                }
            });
        }
        let mut prev = anchor.hash;
        let mut expected = anchor.first;
        let mut chunk = Chunk::default();
        let scanned = snapshot.scan(0, &mut |key, stored| {
            match chain::check_link(expected, key, &prev, stored) {
                Err(broken) => {
                    link_broken = Some(broken);
                    return false;
                }
                Ok(hash) => prev = hash,
            }
            expected += 1;
            chunk.bytes.extend_from_slice(stored);
            chunk.records.push((key, chunk.bytes.len()));
            if chunk.records.len() == CHUNK_RECORDS {
                let full = std::mem::take(&mut chunk);
                // Workers only stop once the sender is dropped.
                let _ = send.send(full);
                // Nothing after an edited record matters.
                return key < edited.load(Ordering::Relaxed);
            }
            true
        });
        if !chunk.records.is_empty() {
            let _ = send.send(chunk);
        }
        drop(send);
        scanned
    });
    scanned?;
    let edited = edited.into_inner();
    Ok(match link_broken {
        Some(broken) if broken.seq <= edited => Some(broken),
        _ if edited != u64::MAX => Some(Broken {
            seq: edited,
            why: chain::EDITED.into(),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{GENESIS_HASH, encode};
    use crate::store::{Anchor, Query};
    use proptest::prelude::*;

    /// Stored records in memory, as a snapshot.
    struct Records(Vec<(u64, Vec<u8>)>);

    impl Snapshot for Records {
        fn anchor(&self) -> Result<Anchor> {
            Ok(Anchor::default())
        }
        fn last(&self) -> Result<Option<(u64, Vec<u8>)>> {
            Ok(self.0.last().cloned())
        }
        fn get(&self, seq: u64) -> Result<Option<Vec<u8>>> {
            Ok(self
                .0
                .iter()
                .find(|(k, _)| *k == seq)
                .map(|(_, v)| v.clone()))
        }
        fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<()> {
            for (k, v) in self.0.iter().filter(|(k, _)| *k >= from) {
                if !visit(*k, v) {
                    break;
                }
            }
            Ok(())
        }
        fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>> {
            Ok(Vec::new())
        }
        fn query(&self, _: &Query) -> Result<Vec<(u64, Vec<u8>)>> {
            Ok(Vec::new())
        }
    }

    fn chain_of(n: u64) -> Vec<(u64, Vec<u8>)> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let stored = encode(&prev, seq, format!("{{\"n\":{seq}}}").as_bytes());
                prev = chain::stored_hash(&stored).expect("a record");
                (seq, stored)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever is tampered with, in however many places, the parallel verify
        /// names the same first broken record as the plain one-thread walk.
        #[test]
        fn names_the_same_first_break_as_the_sequential_walk(
            n in 0u64..12_000,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 0..4),
        ) {
            let mut records = chain_of(n);
            for (at, kind, byte) in edits {
                if records.is_empty() {
                    break;
                }
                let i = at.index(records.len());
                match kind {
                    0 => {
                        let stored = &mut records[i].1;
                        let j = usize::from(byte) % stored.len();
                        stored[j] ^= 1;
                    }
                    1 => {
                        records.remove(i);
                    }
                    2 => records[i].1.truncate(usize::from(byte) % 64),
                    _ => {
                        let j = (i + 1).min(records.len() - 1);
                        let (a, b) = (records[i].1.clone(), records[j].1.clone());
                        records[i].1 = b;
                        records[j].1 = a;
                    }
                }
            }
            let expected = chain::verify(
                &GENESIS_HASH,
                1,
                records.iter().map(|(k, v)| (*k, v.as_slice())),
            );
            prop_assert_eq!(verify_snapshot(&Records(records)).expect("in memory"), expected);
        }
    }
}
