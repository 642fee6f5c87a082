//! `windlass`: the Windlass command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use windlass_entity_model::load::{Loaded, load_paths};

#[derive(Parser)]
#[command(
    name = "windlass",
    version,
    about = "GitOps for Argo manifests, kept in Git"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load manifests (files or directories) and report every error with its place.
    ///
    /// Exit code 0 when everything is valid, 1 when anything is not, 2 on usage errors.
    Validate {
        /// Files or directories (`.yaml`, `.yml`, `.json` files are read, recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// One line per error, then a summary.
    Text,
    /// One JSON object for machines.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { paths, output } => {
            let loaded = load_paths(&paths);
            let text = match output {
                Output::Text => render_text(&loaded),
                Output::Json => render_json(&loaded),
            };
            print!("{text}");
            if loaded.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn render_text(loaded: &Loaded) -> String {
    let mut out = String::new();
    for error in &loaded.errors {
        out.push_str(&format!("{error}\n"));
    }
    let files = plural(loaded.files.len(), "file");
    let documents = plural(loaded.manifests.len(), "valid document");
    if loaded.is_ok() {
        out.push_str(&format!("ok: {documents} in {files}\n"));
    } else {
        out.push_str(&format!(
            "invalid: {} in {files} ({documents})\n",
            plural(loaded.errors.len(), "error"),
        ));
    }
    out
}

fn render_json(loaded: &Loaded) -> String {
    let errors: Vec<serde_json::Value> = loaded
        .errors
        .iter()
        .map(|e| {
            let location = e.location();
            serde_json::json!({
                "file": location.map(|l| l.file.display().to_string()),
                "line": location.map(|l| l.mark.line),
                "column": location.map(|l| l.mark.column),
                "path": e.field_path().map(ToString::to_string),
                "code": e.code(),
                "message": e.message(),
                "text": e.to_string(),
            })
        })
        .collect();
    let documents: Vec<serde_json::Value> = loaded
        .manifests
        .iter()
        .map(|m| {
            serde_json::json!({
                "file": m.location.file.display().to_string(),
                "line": m.location.mark.line,
                "apiVersion": m.entity.api_version(),
                "kind": m.entity.kind_name(),
                "name": m.entity.name(),
                "namespace": m.entity.namespace(),
            })
        })
        .collect();
    let report = serde_json::json!({
        "valid": loaded.is_ok(),
        "files": loaded.files.len(),
        "documents": documents,
        "errors": errors,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).expect("JSON values serialize")
    )
}
