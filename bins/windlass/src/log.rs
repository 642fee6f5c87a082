//! Logs: every `tracing` event of the libraries (controllers' warnings included) on
//! stderr, as text or as JSON lines. Stdout is kept for the lines a user reads (the
//! kubeconfig to use, `windlass validate`'s report).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// What is logged when neither `--log-level` nor `RUST_LOG` says: Windlass's own crates
/// from `info`, other libraries' warnings and errors.
const DEFAULT_FILTER: &str = "warn,windlass=info";

/// `--log-level`: the level of Windlass's own crates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Nothing at all.
    Off,
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// What the controllers do (the default).
    Info,
    /// Details of every step.
    Debug,
    /// Everything.
    Trace,
}

impl Level {
    /// Directives in `RUST_LOG` syntax: this level for Windlass's crates (their targets
    /// all start with `windlass`), other libraries at `warn` unless this is stricter.
    fn directives(self) -> String {
        let name = |level: Level| {
            level
                .to_possible_value()
                .expect("no level is skipped")
                .get_name()
                .to_owned()
        };
        let others = name(match self {
            Level::Off | Level::Error => self,
            _ => Level::Warn,
        });
        format!("{others},windlass={}", name(self))
    }
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per event for people: time, level, target, message, fields.
    #[default]
    Text,
    /// One JSON object per line for log collectors.
    Json,
}

/// Installs the process's logger. `level` (the flag) wins over `RUST_LOG`, which wins
/// over [`DEFAULT_FILTER`]. Errs with a message naming `RUST_LOG` when it cannot be
/// parsed.
pub fn init(level: Option<Level>, format: Format) -> Result<(), String> {
    let directives = match level {
        Some(level) => level.directives(),
        None => match std::env::var("RUST_LOG") {
            Ok(value) if !value.trim().is_empty() => value,
            _ => DEFAULT_FILTER.to_owned(),
        },
    };
    let filter = EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| format!("RUST_LOG={directives:?} is not a log filter: {e}"))?;
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        Format::Text => logger.try_init(),
        Format::Json => logger.json().try_init(),
    }
    .map_err(|e| format!("cannot install the logger: {e}"))
}
