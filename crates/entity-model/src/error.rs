//! The crate's error type: every variant names the place it comes from.

use std::fmt;
use std::path::PathBuf;

use crate::path::FieldPath;
use crate::yaml::Mark;

/// A position in a file: `apps/web.yaml:12:7`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, as the user named it (relative paths stay relative).
    pub file: PathBuf,
    /// Line and column inside the file.
    pub mark: Mark,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.mark)
    }
}

/// Everything that can go wrong reading, checking or placing an entity.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not well-formed YAML or JSON (including duplicate keys).
    #[error("{location}: {}{message}", field_prefix(path.as_ref()))]
    Syntax {
        /// Where the problem is.
        location: Location,
        /// The key path leading to the problem, when known.
        path: Option<FieldPath>,
        /// What is wrong.
        message: String,
    },
    /// A document does not fit the shape of its kind: a wrong type, a missing required
    /// field (`kind`, `spec`, ...), an unknown field that would otherwise be dropped.
    #[error("{location}: {path}: {message}")]
    Schema {
        /// Where the offending value is.
        location: Location,
        /// The offending field.
        path: FieldPath,
        /// What is wrong.
        message: String,
    },
    /// A well-typed document breaks one of Argo's (or Windlass's) rules.
    #[error("{location}: {path}: {message}")]
    Invalid {
        /// Where the offending value is (or the closest field that exists).
        location: Location,
        /// The offending field.
        path: FieldPath,
        /// The rule that is broken.
        message: String,
    },
    /// A duration Go's `time.ParseDuration` (Argo's parser) refuses.
    #[error("{message}")]
    Duration {
        /// The duration as written.
        text: String,
        /// Go's message (`time: unknown unit "d" in duration "1d"`).
        message: String,
    },
    /// A cron schedule robfig/cron (Argo's parser) refuses.
    #[error("{message}")]
    Cron {
        /// The schedule as written.
        schedule: String,
        /// robfig/cron's message (`expected exactly 5 fields, found 6: [...]`).
        message: String,
    },
    /// A name or path does not fit the config repository's layout.
    #[error("{subject}: {message}")]
    Layout {
        /// The entity key or repository path concerned.
        subject: String,
        /// What is wrong.
        message: String,
    },
}

fn field_prefix(path: Option<&FieldPath>) -> String {
    match path {
        Some(path) if !path.is_root() => format!("{path}: "),
        _ => String::new(),
    }
}

impl Error {
    /// Where in a file the error is, when it concerns a file's content.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Syntax { location, .. }
            | Error::Schema { location, .. }
            | Error::Invalid { location, .. } => Some(location),
            Error::Io { .. }
            | Error::Layout { .. }
            | Error::Duration { .. }
            | Error::Cron { .. } => None,
        }
    }

    /// The field the error is about, when there is one.
    pub fn field_path(&self) -> Option<&FieldPath> {
        match self {
            Error::Syntax { path, .. } => path.as_ref(),
            Error::Schema { path, .. } | Error::Invalid { path, .. } => Some(path),
            Error::Io { .. }
            | Error::Layout { .. }
            | Error::Duration { .. }
            | Error::Cron { .. } => None,
        }
    }

    /// A stable one-word name of the variant, for machine-readable output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Syntax { .. } => "syntax",
            Error::Schema { .. } => "schema",
            Error::Invalid { .. } => "invalid",
            Error::Layout { .. } => "layout",
            Error::Duration { .. } => "duration",
            Error::Cron { .. } => "cron",
        }
    }

    /// The error without its location: what is wrong.
    pub fn message(&self) -> String {
        match self {
            Error::Io { source, .. } => source.to_string(),
            Error::Syntax { message, .. }
            | Error::Schema { message, .. }
            | Error::Invalid { message, .. }
            | Error::Layout { message, .. }
            | Error::Duration { message, .. }
            | Error::Cron { message, .. } => message.clone(),
        }
    }
}
