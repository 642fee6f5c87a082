//! Exporting a query's results: CSV (a header row, fields quoted where needed) or JSON
//! lines (one [`Record`] per line), newest first.

use std::io::Write;

use crate::chain::Record;
use crate::store::CallQuery;
use crate::{ApiLog, Error, Result};

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV: a header row ([`CSV_HEADER`]), then one row per record; fields
    /// holding a comma, a quote or a line break are quoted, quotes doubled (the `csv`
    /// crate). The
    /// variables are a JSON object in one field.
    Csv,
    /// One JSON object per line: a [`Record`] (`seq`, `prev`, `call`, `hash`).
    JsonLines,
}

/// The columns of a CSV export.
pub const CSV_HEADER: [&str; 16] = [
    "seq",
    "time",
    "user",
    "authMethod",
    "clientIp",
    "operation",
    "target",
    "decision",
    "reason",
    "outcome",
    "error",
    "durationMs",
    "correlationId",
    "commit",
    "variables",
    "hash",
];

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Export {
        message: e.to_string(),
    }
}

/// Where rows go: a CSV writer (it quotes what needs it), or JSON lines.
enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    JsonLines(&'a mut dyn Write),
}

impl<'a> Sink<'a> {
    /// A sink writing `format` to `out`, the CSV header first.
    fn new(format: Format, out: &'a mut dyn Write) -> Result<Sink<'a>> {
        Ok(match format {
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(CSV_HEADER).map_err(failed)?;
                Sink::Csv(Box::new(writer))
            }
            Format::JsonLines => Sink::JsonLines(out),
        })
    }

    fn rows(&mut self, records: &[Record]) -> Result<()> {
        for r in records {
            match self {
                Sink::Csv(writer) => {
                    let c = &r.call;
                    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                    writer
                        .write_record([
                            r.seq.to_string(),
                            c.time.clone(),
                            opt(&c.user),
                            opt(&c.auth_method),
                            opt(&c.client_ip),
                            c.operation.clone(),
                            opt(&c.target),
                            c.decision.clone(),
                            opt(&c.reason),
                            c.outcome.clone(),
                            opt(&c.error),
                            c.duration_ms.to_string(),
                            opt(&c.correlation_id),
                            opt(&c.commit),
                            c.variables.to_string(),
                            r.hash.clone(),
                        ])
                        .map_err(failed)?;
                }
                Sink::JsonLines(out) => {
                    serde_json::to_writer(&mut *out, r).map_err(failed)?;
                    out.write_all(b"\n").map_err(failed)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(mut writer) => writer.flush().map_err(failed),
            Sink::JsonLines(out) => out.flush().map_err(failed),
        }
    }
}

/// Writes `records` to `out` as `format` (the CSV header first).
pub fn write(records: &[Record], format: Format, out: &mut dyn Write) -> Result<()> {
    let mut sink = Sink::new(format, out)?;
    sink.rows(records)?;
    sink.finish()
}

impl ApiLog {
    /// Writes every record `query` selects (all its pages, from `query.before` on;
    /// `query.limit` is the page size) to `out` as `format`, newest first, and returns
    /// how many there were.
    ///
    /// ```
    /// use windlass_audit::{ApiCall, ApiLog, CallQuery, export::Format};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let log = ApiLog::open(&dir.path().join("audit.redb"))?;
    /// log.append(ApiCall { operation: "syncApplication".into(), ..ApiCall::default() })?;
    /// let mut csv = Vec::new();
    /// assert_eq!(log.export(&CallQuery::default(), Format::Csv, &mut csv)?, 1);
    /// assert!(String::from_utf8(csv)?.starts_with("seq,time,user,"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export(&self, query: &CallQuery, format: Format, out: &mut dyn Write) -> Result<u64> {
        let mut query = CallQuery {
            limit: query.limit.max(1),
            ..query.clone()
        };
        let mut sink = Sink::new(format, out)?;
        let mut count = 0;
        loop {
            let page = self.query(&query)?;
            count += page.records.len() as u64;
            sink.rows(&page.records)?;
            match page.next {
                Some(next) => query.before = Some(next),
                None => break,
            }
        }
        sink.finish()?;
        Ok(count)
    }
}
