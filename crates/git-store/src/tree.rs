//! Readers of object ids and references that callers key caches on.

use gix::ObjectId;

use crate::{Error, Result, Store};

impl Store {
    /// The id of the tree (directory) at `path` in `commit` (`""` for the root tree), or
    /// `None` when there is no directory there.
    ///
    /// Two commits whose trees at `path` have the same id hold exactly the same files
    /// below it: what a cache of anything derived from a directory keys on.
    pub fn tree_id_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let meta = self.commit_meta(commit)?;
        Ok(self
            .entry_at(meta.tree, path)?
            .filter(|e| e.is_tree)
            .map(|e| e.id))
    }

    /// Every branch and tag (`refs/heads/*`, `refs/tags/*`) and any other reference
    /// under `refs/`, with the object it points to (tags not peeled), sorted by name.
    pub fn references(&self) -> Result<Vec<(String, ObjectId)>> {
        self.with_repo(|repo| {
            let context = "listing references";
            let platform = repo.references().map_err(|e| Error::git(context, e))?;
            let mut out = Vec::new();
            for reference in platform.all().map_err(|e| Error::git(context, e))? {
                let reference = reference.map_err(|e| Error::git(context, e))?;
                if let Some(id) = reference.target().try_id() {
                    out.push((reference.name().as_bstr().to_string(), id.to_owned()));
                }
            }
            out.sort();
            Ok(out)
        })
    }
}
