//! The persistent [`Backend`]: every acknowledged change is committed to a
//! `redb` database (one durable transaction per group of changes) before the API
//! server answers, and the last `resourceVersion` is kept with it so the
//! counter continues upward after a restart.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;

use crate::store::{Backend, Change, ObjectKey, Snapshot};

/// `resource \0 namespace \0 name` → the object as JSON.
const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// `"resourceVersion"` → the counter after the last change.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RV: &str = "resourceVersion";

/// A store backend in one redb file.
pub(crate) struct RedbBackend {
    db: Database,
}

fn key(resource: &str, k: &ObjectKey) -> String {
    format!("{resource}\0{}\0{}", k.0, k.1)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl RedbBackend {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        let db = Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // Create the tables so a fresh database reads as empty.
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(OBJECTS).map_err(err)?;
        tx.open_table(META).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Self { db })
    }
}

impl Backend for RedbBackend {
    fn load(&self) -> Result<Snapshot, String> {
        let tx = self.db.begin_read().map_err(err)?;
        let meta = tx.open_table(META).map_err(err)?;
        let resource_version = meta.get(RV).map_err(err)?.map(|v| v.value()).unwrap_or(0);
        let table = tx.open_table(OBJECTS).map_err(err)?;
        let mut objects = Vec::new();
        for entry in table.iter().map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            let k = k.value();
            let mut parts = k.splitn(3, '\0');
            let (Some(resource), Some(ns), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("malformed key {k:?}"));
            };
            let object: Value =
                serde_json::from_slice(v.value()).map_err(|e| format!("object {k:?}: {e}"))?;
            objects.push((
                resource.to_owned(),
                (ns.to_owned(), name.to_owned()),
                object,
            ));
        }
        Ok(Snapshot {
            resource_version,
            objects,
        })
    }

    fn commit(&self, resource_version: u64, changes: &[Change<'_>]) -> Result<(), String> {
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut table = tx.open_table(OBJECTS).map_err(err)?;
            for change in changes {
                match *change {
                    Change::Put {
                        resource,
                        key: k,
                        object,
                    } => {
                        let bytes = serde_json::to_vec(object).map_err(err)?;
                        table
                            .insert(key(resource, k).as_str(), bytes.as_slice())
                            .map_err(err)?;
                    }
                    Change::Delete { resource, key: k } => {
                        table.remove(key(resource, k).as_str()).map_err(err)?;
                    }
                }
            }
            let mut meta = tx.open_table(META).map_err(err)?;
            meta.insert(RV, resource_version).map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.redb");
        {
            let b = RedbBackend::open(&path).expect("open");
            let k = ("ns".to_owned(), "a".to_owned());
            let gone = ("ns".to_owned(), "b".to_owned());
            let obj = json!({"metadata": {"name": "a"}});
            b.commit(
                1,
                &[Change::Put {
                    resource: "configmaps",
                    key: &k,
                    object: &obj,
                }],
            )
            .expect("put");
            b.commit(
                3,
                &[
                    Change::Put {
                        resource: "configmaps",
                        key: &gone,
                        object: &obj,
                    },
                    Change::Delete {
                        resource: "configmaps",
                        key: &gone,
                    },
                ],
            )
            .expect("a put and a delete in one transaction");
        }
        let s = RedbBackend::open(&path)
            .expect("reopen")
            .load()
            .expect("load");
        assert_eq!(s.resource_version, 3);
        assert_eq!(s.objects.len(), 1);
        assert_eq!(s.objects[0].1, ("ns".to_owned(), "a".to_owned()));
    }
}
