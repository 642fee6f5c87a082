//! The `git` side of the benchmark: commands isolated from the user's configuration,
//! the plumbing peer of a commit, and `git cat-file --batch` kept open.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{BRANCH, Result};

/// `git` on `git_dir`, isolated from the user's and the system's configuration.
pub(crate) fn git_cmd(git_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.env("GIT_DIR", git_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Windlass")
        .env("GIT_COMMITTER_EMAIL", "windlass@localhost")
        .env_remove("GIT_INDEX_FILE")
        .args(args);
    cmd
}

/// Runs a command (feeding it `input`) and returns its standard output.
pub(crate) fn run(mut cmd: Command, input: Option<&[u8]>) -> Result<String> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let describe = |cmd: &Command| {
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        format!("git {}", args.join(" "))
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(&cmd)))?;
    if let Some(input) = input {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            describe(&cmd),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// A single-file commit as a script would make it with plumbing: hash-object, an
/// update of a temporary index (`GIT_INDEX_FILE`, kept across commits so write-tree
/// only rewrites the trees on the changed path), write-tree, commit-tree, and a
/// compare-and-swap update-ref.
pub(crate) struct Plumbing {
    pub(crate) git_dir: PathBuf,
    index: PathBuf,
    config: &'static [&'static str],
    tip: String,
}

impl Plumbing {
    pub(crate) fn new(git_dir: PathBuf, config: &'static [&'static str]) -> Result<Self> {
        let index = git_dir.join("bench-index");
        let mut plumbing = Plumbing {
            git_dir,
            index,
            config,
            tip: String::new(),
        };
        run(plumbing.cmd(&["read-tree", BRANCH]), None)?;
        plumbing.tip = run(plumbing.cmd(&["rev-parse", BRANCH]), None)?
            .trim()
            .to_owned();
        Ok(plumbing)
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = git_cmd(&self.git_dir, &[]);
        cmd.env("GIT_INDEX_FILE", &self.index);
        for setting in self.config {
            cmd.args(["-c", setting]);
        }
        cmd.args(args);
        cmd
    }

    pub(crate) fn commit(&mut self, path: &str, content: &[u8], message: &str) -> Result<()> {
        let blob = run(self.cmd(&["hash-object", "-w", "--stdin"]), Some(content))?;
        let cacheinfo = format!("100644,{},{path}", blob.trim());
        run(
            self.cmd(&["update-index", "--add", "--cacheinfo", &cacheinfo]),
            None,
        )?;
        let tree = run(self.cmd(&["write-tree"]), None)?;
        let commit = run(
            self.cmd(&["commit-tree", tree.trim(), "-p", &self.tip, "-m", message]),
            None,
        )?;
        let commit = commit.trim().to_owned();
        run(
            self.cmd(&[
                "update-ref",
                "-m",
                message,
                "refs/heads/main",
                &commit,
                &self.tip,
            ]),
            None,
        )?;
        self.tip = commit;
        Ok(())
    }
}

/// `git cat-file --batch`, kept open.
pub(crate) struct CatFile {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    header: String,
}

impl CatFile {
    pub(crate) fn start(git_dir: &Path) -> Result<Self> {
        let mut child = git_cmd(git_dir, &["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(CatFile {
            child,
            stdin: Some(stdin),
            stdout,
            header: String::new(),
        })
    }

    /// Reads the object `spec` names into `out`; `false` if it is missing.
    pub(crate) fn read(&mut self, spec: &str, out: &mut Vec<u8>) -> Result<bool> {
        let stdin = self.stdin.as_mut().expect("open until drop");
        stdin.write_all(spec.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        self.header.clear();
        self.stdout.read_line(&mut self.header)?;
        // `<id> blob <size>` or `<spec> missing`.
        let mut fields = self.header.split_ascii_whitespace();
        let (Some(_), Some(kind), Some(size)) = (fields.next(), fields.next(), fields.next())
        else {
            return Ok(false);
        };
        if kind != "blob" {
            return Err(format!("{spec} is a {kind}, not a blob").into());
        }
        let size: usize = size.parse()?;
        out.resize(size + 1, 0);
        self.stdout.read_exact(out)?;
        out.truncate(size);
        Ok(true)
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
