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
    /// holding a comma, a quote or a line break are quoted, quotes doubled. The
    /// variables are a JSON object in one field.
    Csv,
    /// One JSON object per line: a [`Record`] (`seq`, `prev`, `call`, `hash`).
    JsonLines,
}

/// The columns of a CSV export.
pub const CSV_HEADER: &str = "seq,time,user,authMethod,clientIp,operation,target,decision,reason,outcome,error,durationMs,correlationId,commit,variables,hash";

/// `field` as a CSV field: quoted when it holds a comma, a quote or a line break.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The CSV row of `record` (without the line break), columns as [`CSV_HEADER`].
pub fn csv_row(record: &Record) -> String {
    let c = &record.call;
    let opt = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    [
        record.seq.to_string(),
        csv_field(&c.time),
        opt(&c.user),
        opt(&c.auth_method),
        opt(&c.client_ip),
        csv_field(&c.operation),
        opt(&c.target),
        csv_field(&c.decision),
        opt(&c.reason),
        csv_field(&c.outcome),
        opt(&c.error),
        c.duration_ms.to_string(),
        opt(&c.correlation_id),
        opt(&c.commit),
        csv_field(&c.variables.to_string()),
        record.hash.clone(),
    ]
    .join(",")
}

/// The JSON line of `record` (without the line break).
pub fn json_line(record: &Record) -> String {
    serde_json::to_string(record).expect("a record always serializes")
}

fn failed(e: std::io::Error) -> Error {
    Error::Export {
        message: e.to_string(),
    }
}

/// Writes the rows (or lines) of `records` to `out` as `format`, without a header.
fn write_rows(records: &[Record], format: Format, out: &mut dyn Write) -> Result<()> {
    for r in records {
        match format {
            Format::Csv => writeln!(out, "{}", csv_row(r)),
            Format::JsonLines => writeln!(out, "{}", json_line(r)),
        }
        .map_err(failed)?;
    }
    Ok(())
}

/// Writes `records` to `out` as `format` (the CSV header first).
pub fn write(records: &[Record], format: Format, out: &mut dyn Write) -> Result<()> {
    if format == Format::Csv {
        writeln!(out, "{CSV_HEADER}").map_err(failed)?;
    }
    write_rows(records, format, out)
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
        if format == Format::Csv {
            writeln!(out, "{CSV_HEADER}").map_err(failed)?;
        }
        let mut count = 0;
        loop {
            let page = self.query(&query)?;
            count += page.records.len() as u64;
            write_rows(&page.records, format, out)?;
            match page.next {
                Some(next) => query.before = Some(next),
                None => return Ok(count),
            }
        }
    }
}
