//! Change sets: what one commit does, and the optimistic-concurrency expectation it
//! is applied under.

use std::collections::BTreeMap;

use gix::ObjectId;

use crate::{Error, Result};

/// A person as Git records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Identity {
    /// An identity from a name and an e-mail address.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity {
            name: name.into(),
            email: email.into(),
        }
    }

    /// An identity from raw bytes, rejecting what is not UTF-8 with a clear error.
    pub fn from_bytes(name: &[u8], email: &[u8]) -> Result<Self> {
        let text = |field, bytes: &[u8]| {
            String::from_utf8(bytes.to_vec()).map_err(|e| Error::InvalidInput {
                field,
                reason: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
            })
        };
        Ok(Identity {
            name: text("author name", name)?,
            email: text("author email", email)?,
        })
    }

    /// Checks what Git cannot store in a signature.
    pub(crate) fn validate(&self, role: &'static str) -> Result<()> {
        let (name_field, email_field) = match role {
            "committer" => ("committer name", "committer email"),
            _ => ("author name", "author email"),
        };
        for (field, value) in [(name_field, &self.name), (email_field, &self.email)] {
            if value
                .chars()
                .any(|c| matches!(c, '<' | '>' | '\n' | '\r' | '\0'))
            {
                return Err(Error::InvalidInput {
                    field,
                    reason: format!("{value:?} contains '<', '>', a newline or NUL"),
                });
            }
        }
        if self.name.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: name_field,
                reason: "is empty".into(),
            });
        }
        Ok(())
    }
}

/// What happens to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The file gets these bytes (created or replaced).
    Upsert(Vec<u8>),
    /// The file is removed (nothing happens if it does not exist). A directory at the
    /// path is an error ([`Error::PathKind`]): removing one takes [`Change::DeleteTree`].
    Delete,
    /// Whatever is at the path is removed, a directory with everything below it
    /// (nothing happens if there is nothing).
    DeleteTree,
}

/// Upserts and deletes applied as one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    /// The acting user: the commit's author.
    pub author: Identity,
    /// The commit message.
    pub message: String,
    /// Path (`/`-separated, relative) → change.
    pub changes: BTreeMap<String, Change>,
    /// Make a commit even when nothing differs from the parent.
    pub allow_empty: bool,
}

impl ChangeSet {
    /// An empty change set by `author` with `message`.
    pub fn new(author: Identity, message: impl Into<String>) -> Self {
        ChangeSet {
            author,
            message: message.into(),
            changes: BTreeMap::new(),
            allow_empty: false,
        }
    }

    /// A change set whose message arrives as bytes; non-UTF-8 is rejected clearly.
    pub fn with_message_bytes(author: Identity, message: &[u8]) -> Result<Self> {
        let message = String::from_utf8(message.to_vec()).map_err(|e| Error::InvalidInput {
            field: "message",
            reason: format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        })?;
        Ok(Self::new(author, message))
    }

    /// Adds an upsert of `path`; the path is checked at once.
    pub fn upsert(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Result<Self> {
        validate_path(path)?;
        self.changes
            .insert(path.to_owned(), Change::Upsert(bytes.into()));
        Ok(self)
    }

    /// Adds a delete of the file `path`; the path is checked at once.
    pub fn delete(mut self, path: &str) -> Result<Self> {
        validate_path(path)?;
        self.changes.insert(path.to_owned(), Change::Delete);
        Ok(self)
    }

    /// Adds a delete of `path` and everything below it (a directory); the path is
    /// checked at once.
    pub fn delete_tree(mut self, path: &str) -> Result<Self> {
        validate_path(path)?;
        self.changes.insert(path.to_owned(), Change::DeleteTree);
        Ok(self)
    }

    /// Checks every path, size and text of the change set; nothing is written on error.
    pub(crate) fn validate(&self, max_blob_size: usize, max_size: usize) -> Result<()> {
        self.author.validate("author")?;
        if self.message.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "message",
                reason: "is empty".into(),
            });
        }
        if self.message.contains('\0') {
            return Err(Error::InvalidInput {
                field: "message",
                reason: "contains NUL".into(),
            });
        }
        let mut size = 0usize;
        for (path, change) in &self.changes {
            validate_path(path)?;
            let Change::Upsert(bytes) = change else {
                continue;
            };
            if bytes.len() > max_blob_size {
                return Err(Error::BlobTooLarge {
                    path: path.clone(),
                    size: bytes.len(),
                    limit: max_blob_size,
                });
            }
            size = size.saturating_add(bytes.len());
            // A path cannot be both a file and a directory in one tree: no directory
            // above a file written may be written as a file too.
            for (at, _) in path.match_indices('/') {
                if let Some(Change::Upsert(_)) = self.changes.get(&path[..at]) {
                    return Err(Error::InvalidPath {
                        path: path.clone(),
                        reason: "a directory above it is written as a file in the same change set",
                    });
                }
            }
        }
        if size > max_size {
            return Err(Error::ChangeSetTooLarge {
                size,
                limit: max_size,
            });
        }
        Ok(())
    }
}

/// Checks that `path` stays inside the repository and can be a Git tree path:
/// relative, `/`-separated, no empty, `.`, `..` or `.git` component, no NUL or backslash.
pub fn validate_path(path: &str) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("the path is empty");
    }
    if path.starts_with('/') {
        return fail("absolute paths are not allowed");
    }
    if path.contains('\0') {
        return fail("NUL is not allowed");
    }
    if path.contains('\\') {
        return fail("backslashes are not allowed (use '/')");
    }
    for component in path.split('/') {
        match component {
            "" => return fail("empty path components ('//' or a trailing '/') are not allowed"),
            "." | ".." => return fail("'.' and '..' components are not allowed"),
            c if c.eq_ignore_ascii_case(".git") => {
                return fail("a '.git' component is not allowed");
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a file must be at the branch's tip for a per-file write to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileExpectation {
    /// The file is this blob (the one the caller edited from).
    Blob(ObjectId),
    /// The file must not exist (the caller creates it).
    Absent,
}

/// The optimistic-concurrency mode of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Whole-branch: the branch must be at this commit (`None`: it must not exist yet).
    /// If it moved, the write fails with a conflict.
    Branch(Option<ObjectId>),
    /// Per-file: each touched file must still be what the caller read. If the branch
    /// moved only in other files, the change applies on top of the new tip.
    /// Touched files without an expectation are written whatever they are.
    Files(BTreeMap<String, FileExpectation>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape_or_confuse_git_are_rejected() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/",
            "./a",
            "a\\b",
            "a\0b",
            ".git/config",
            "x/.GIT/y",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a.yaml",
            "runtimes/prod/runtime.yaml",
            ".github/x",
            "a..b/c",
        ] {
            assert!(validate_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_file_and_a_directory_at_one_path_are_refused_whatever_sorts_between() {
        let who = Identity::new("A", "a@example.com");
        // `a.yaml` sorts between `a` and `a/x`.
        let change = ChangeSet::new(who.clone(), "both")
            .upsert("a", "file")
            .and_then(|c| c.upsert("a.yaml", "x"))
            .and_then(|c| c.upsert("a/x", "below"))
            .expect("paths");
        let err = change
            .validate(1024, 1024)
            .expect_err("a is a file and a directory");
        assert_eq!(
            err.to_string(),
            "invalid path \"a/x\": a directory above it is written as a file in the same change set"
        );
        let deep = ChangeSet::new(who.clone(), "deep")
            .upsert("a/b", "file")
            .and_then(|c| c.upsert("a/b-c", "x"))
            .and_then(|c| c.upsert("a/b/c/d", "below"))
            .expect("paths");
        assert!(deep.validate(1024, 1024).is_err());
        // Deleting the file while writing below it is asked for: allowed.
        let replace = ChangeSet::new(who, "replace")
            .delete("a")
            .and_then(|c| c.upsert("a/x", "below"))
            .expect("paths");
        replace.validate(1024, 1024).expect("valid");
    }

    #[test]
    fn a_change_set_is_bounded_in_bytes() {
        let who = Identity::new("A", "a@example.com");
        let mut change = ChangeSet::new(who, "many");
        for i in 0..10 {
            change = change
                .upsert(&format!("f{i}"), vec![b'x'; 100])
                .expect("path");
        }
        change.validate(100, 1000).expect("exactly at the limit");
        change = change.upsert("one-more", "x").expect("path");
        let err = change.validate(100, 1000).expect_err("over");
        assert_eq!(
            err.to_string(),
            "the change set holds 1001 bytes, more than the limit of 1000 bytes"
        );
    }

    #[test]
    fn non_utf8_identities_and_messages_are_rejected() {
        let err = Identity::from_bytes(b"Ali\xffce", b"a@example.com").expect_err("not UTF-8");
        assert_eq!(
            err.to_string(),
            "invalid author name: not valid UTF-8 (at byte 3)"
        );
        let who = Identity::new("A", "a@example.com");
        let err = ChangeSet::with_message_bytes(who, b"fix \xc3").expect_err("not UTF-8");
        assert_eq!(
            err.to_string(),
            "invalid message: not valid UTF-8 (at byte 4)"
        );
    }
}
