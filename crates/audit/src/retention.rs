//! Retention: the oldest records dropped by age or count, the chain anchored across
//! the cut (the hash of the last dropped record becomes the anchor the first kept
//! record follows), so verifying the rest still proves it whole.

use std::time::{Duration, SystemTime};

use crate::chain::{ApiCall, HEADER_LEN};
use crate::{ApiLog, Result};

/// How much of the log to keep; the oldest records beyond either bound are dropped.
/// The default keeps everything.
///
/// ```
/// use std::time::Duration;
/// use windlass_audit::{ApiCall, ApiLog, Retention};
///
/// let dir = tempfile::tempdir()?;
/// let log = ApiLog::open(&dir.path().join("audit.redb"))?;
/// for i in 0..10 {
///     log.append(ApiCall { duration_ms: i, ..ApiCall::default() })?;
/// }
/// let keep = Retention { max_records: Some(4), max_age: Some(Duration::from_secs(90 * 86_400)) };
/// assert_eq!(log.retain(&keep)?, 6);
/// assert_eq!(log.read(1, 100)?.first().map(|r| r.seq), Some(7));
/// assert_eq!(log.verify()?, None, "the chain holds from its anchor");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Drop records whose time ([`ApiCall::time`]) is older than this, oldest first:
    /// dropping stops at the first record that is recent enough or whose time does
    /// not parse as RFC 3339.
    pub max_age: Option<Duration>,
    /// Keep at most this many records (the newest).
    pub max_records: Option<u64>,
}

impl ApiLog {
    /// Applies `retention` now: drops the oldest records beyond it in one
    /// transaction, moving the chain's anchor to the last one dropped, and returns how
    /// many were dropped. [`ApiLog::verify`] and [`ApiLog::verify_signed`] keep
    /// working: a checkpoint of the last dropped record is checked against the anchor,
    /// older ones are skipped.
    pub fn retain(&self, retention: &Retention) -> Result<u64> {
        self.retain_as_of(retention, SystemTime::now())
    }

    /// [`ApiLog::retain`] with `now` as the current time.
    pub fn retain_as_of(&self, retention: &Retention, now: SystemTime) -> Result<u64> {
        let keep_from = {
            let snapshot = self.snapshot()?;
            let anchor = snapshot.anchor()?;
            let Some((last, _)) = snapshot.last()? else {
                return Ok(0);
            };
            let mut keep_from = anchor.first;
            if let Some(max) = retention.max_records {
                keep_from = keep_from.max((last + 1).saturating_sub(max));
            }
            if let Some(max_age) = retention.max_age {
                let cutoff = jiff::Timestamp::try_from(now.checked_sub(max_age).unwrap_or(now))
                    .unwrap_or(jiff::Timestamp::MIN);
                let mut too_old = anchor.first;
                snapshot.scan(anchor.first, &mut |seq, stored| {
                    let time = serde_json::from_slice::<ApiCall>(
                        stored.get(HEADER_LEN..).unwrap_or_default(),
                    )
                    .ok()
                    .and_then(|call| call.time.parse::<jiff::Timestamp>().ok());
                    match time {
                        Some(time) if time < cutoff => {
                            too_old = seq + 1;
                            true
                        }
                        _ => false,
                    }
                })?;
                keep_from = keep_from.max(too_old);
            }
            keep_from
        };
        self.store().retain(keep_from)
    }
}
