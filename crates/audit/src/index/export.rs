//! Events written out as CSV (one row per entity change) or JSON lines (one event per
//! line).

use std::io::Write;

use serde::Serialize;

use super::{IndexError, IndexResult};
use crate::events::Event;

/// One CSV row: an entity change of a commit, a file that did not parse, a commit
/// without either, or a force-push.
#[derive(Serialize)]
struct Row<'a> {
    time: String,
    event: &'static str,
    repository: &'a str,
    branch: &'a str,
    commit: &'a str,
    author_name: &'a str,
    author_email: &'a str,
    committer_email: &'a str,
    action: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    path: &'a str,
    fields: String,
    note: &'a str,
    reachable: bool,
    subject: &'a str,
}

fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

fn export_error(e: impl std::fmt::Display) -> IndexError {
    IndexError::Export {
        message: e.to_string(),
    }
}

/// Writes `events` as CSV with a header row: one row per entity change (a commit's
/// details repeated on each), one per unparsable file, one per force-push (its old
/// head in `commit`, its new head and count of unreachable commits in `note`).
/// Times are RFC 3339 in UTC.
///
/// ```
/// use windlass_audit::{Event, ForcePushEvent, write_csv};
///
/// let event = Event::ForcePush(ForcePushEvent {
///     repository: "config".into(),
///     branch: "main".into(),
///     old_head: "aaaa".into(),
///     new_head: "bbbb".into(),
///     unreachable_commits: 2,
///     detected_at: 0,
/// });
/// let mut out = Vec::new();
/// write_csv(&[event], &mut out)?;
/// let text = String::from_utf8(out)?;
/// assert!(text.starts_with("time,event,repository,branch,commit,"));
/// assert!(text.contains("1970-01-01T00:00:00Z,force-push,config,main,aaaa,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_csv(events: &[Event], out: impl Write) -> IndexResult<()> {
    let mut writer = csv::Writer::from_writer(out);
    for event in events {
        match event {
            Event::Commit(c) => {
                let row = |action: &'static str| Row {
                    time: rfc3339(c.committer.time),
                    event: "commit",
                    repository: &c.repository,
                    branch: &c.branch,
                    commit: &c.commit,
                    author_name: &c.author.name,
                    author_email: &c.author.email,
                    committer_email: &c.committer.email,
                    action,
                    kind: "",
                    namespace: "",
                    name: "",
                    path: "",
                    fields: String::new(),
                    note: "",
                    reachable: c.reachable,
                    subject: c.message.lines().next().unwrap_or_default(),
                };
                for change in &c.changes {
                    writer
                        .serialize(Row {
                            kind: &change.kind,
                            namespace: change.namespace.as_deref().unwrap_or_default(),
                            name: &change.name,
                            path: &change.path,
                            fields: change.fields.join(";"),
                            ..row(change.action.as_str())
                        })
                        .map_err(export_error)?;
                }
                for note in &c.notes {
                    writer
                        .serialize(Row {
                            path: &note.path,
                            note: &note.note,
                            ..row("")
                        })
                        .map_err(export_error)?;
                }
            }
            Event::ForcePush(f) => {
                let note = format!(
                    "new head {}; {} commits unreachable",
                    f.new_head, f.unreachable_commits
                );
                writer
                    .serialize(Row {
                        time: rfc3339(f.detected_at),
                        event: "force-push",
                        repository: &f.repository,
                        branch: &f.branch,
                        commit: &f.old_head,
                        author_name: "",
                        author_email: "",
                        committer_email: "",
                        action: "",
                        kind: "",
                        namespace: "",
                        name: "",
                        path: "",
                        fields: String::new(),
                        note: &note,
                        reachable: false,
                        subject: "",
                    })
                    .map_err(export_error)?;
            }
        }
    }
    writer.flush().map_err(export_error)
}

/// Writes `events` as JSON lines: one [`Event`] per line, as it serializes.
pub fn write_json_lines(events: &[Event], mut out: impl Write) -> IndexResult<()> {
    for event in events {
        serde_json::to_writer(&mut out, event).map_err(export_error)?;
        out.write_all(b"\n").map_err(export_error)?;
    }
    out.flush().map_err(export_error)
}
