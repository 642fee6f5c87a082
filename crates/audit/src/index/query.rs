//! Queries over the index: filters, newest first, pages with an opaque cursor.

use redb::{ReadableDatabase, TableDefinition};

use super::{
    AuditIndex, BY_COMMIT, BY_ENTITY, BY_PATH, BY_REPO, BY_USER, EVENTS, IndexError, IndexResult,
    hex, prefix, time_bytes,
};
use crate::chain::ApiCall;
use crate::events::{Action, Event};

/// An entity, as its manifest names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityRef {
    /// `kind`, e.g. `Application`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; `None` matches only manifests that set none.
    pub namespace: Option<String>,
}

impl EntityRef {
    /// The entity of `kind` named `name` in `namespace`.
    pub fn new(kind: &str, name: &str, namespace: Option<&str>) -> EntityRef {
        EntityRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
        }
    }
}

/// Which events to return; every filter set must match (an empty query matches all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Commits that touched this entity.
    pub entity: Option<EntityRef>,
    /// Commits that touched an entity in this file (or left it unparsable).
    pub path: Option<String>,
    /// Commits by this author: their e-mail address or their name, exactly.
    pub user: Option<String>,
    /// Commits with an entity change of this action.
    pub action: Option<Action>,
    /// Events at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// Events before this time (seconds since the epoch).
    pub until: Option<i64>,
    /// Events of this repository.
    pub repository: Option<String>,
    /// Events of this branch.
    pub branch: Option<String>,
    /// The event of this commit: a full or abbreviated id (at least 4 hex digits).
    pub commit: Option<String>,
}

impl Query {
    /// Whether `event` passes every filter.
    pub fn matches(&self, event: &Event) -> bool {
        let time = event.time();
        if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time >= u) {
            return false;
        }
        if self
            .repository
            .as_deref()
            .is_some_and(|r| r != event.repository())
            || self.branch.as_deref().is_some_and(|b| b != event.branch())
        {
            return false;
        }
        let wants_commit = self.entity.is_some()
            || self.path.is_some()
            || self.user.is_some()
            || self.action.is_some()
            || self.commit.is_some();
        let Event::Commit(c) = event else {
            return !wants_commit;
        };
        if let Some(entity) = &self.entity
            && !c.changes.iter().any(|ch| {
                ch.kind == entity.kind && ch.name == entity.name && ch.namespace == entity.namespace
            })
        {
            return false;
        }
        if let Some(path) = &self.path
            && !c.changes.iter().any(|ch| &ch.path == path)
            && !c.notes.iter().any(|n| &n.path == path)
        {
            return false;
        }
        if let Some(user) = &self.user
            && &c.author.email != user
            && &c.author.name != user
        {
            return false;
        }
        if let Some(action) = self.action
            && !c.changes.iter().any(|ch| ch.action == action)
        {
            return false;
        }
        if let Some(commit) = &self.commit
            && (commit.len() < 4 || !c.commit.starts_with(&commit.to_ascii_lowercase()))
        {
            return false;
        }
        true
    }
}

/// One page of events, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<Event>,
    /// Pass this to [`AuditIndex::query`] for the next page; `None` on the last one.
    pub next: Option<String>,
}

/// `prefix` + 1: the first key after every key that starts with `prefix`.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

impl AuditIndex {
    /// Events that match `query`, newest first, at most `limit` of them, starting
    /// after `cursor` (the `next` of the previous page; `None` for the first page).
    ///
    /// The most selective filter picks the index scanned (commit, entity, path, user,
    /// repository and branch, else all events in time order); time bounds narrow the
    /// scan; the other filters are checked on each event.
    pub fn query(
        &self,
        query: &Query,
        limit: usize,
        cursor: Option<&str>,
    ) -> IndexResult<EventPage> {
        let cursor = match cursor {
            None => None,
            Some(text) => {
                Some(
                    unhex(text)
                        .filter(|k| k.len() > 8)
                        .ok_or_else(|| IndexError::Cursor {
                            cursor: text.to_owned(),
                        })?,
                )
            }
        };
        if query.commit.as_ref().is_some_and(|c| c.len() < 4) {
            return Ok(EventPage {
                events: Vec::new(),
                next: None,
            });
        }
        let (table, prefix): (Option<TableDefinition<&[u8], ()>>, Vec<u8>) =
            if let Some(commit) = &query.commit {
                let digits = &commit[..commit.len() & !1];
                (
                    Some(BY_COMMIT),
                    unhex(&digits.to_ascii_lowercase()).unwrap_or_default(),
                )
            } else if let Some(e) = &query.entity {
                let ns = e.namespace.as_deref().unwrap_or_default();
                (Some(BY_ENTITY), prefix(&[&e.kind, ns, &e.name]))
            } else if let Some(path) = &query.path {
                (Some(BY_PATH), prefix(&[path]))
            } else if let Some(user) = &query.user {
                (Some(BY_USER), prefix(&[user]))
            } else if let (Some(repo), Some(branch)) = (&query.repository, &query.branch) {
                (Some(BY_REPO), prefix(&[repo, branch]))
            } else {
                (None, Vec::new())
            };
        // Keys run prefix ‖ event key, and event keys start with the time: a commit
        // prefix is not followed by the time, so time bounds only apply to the others.
        let timed = !(table.is_some() && query.commit.is_some());
        let mut low = prefix.clone();
        if timed && let Some(since) = query.since {
            low.extend_from_slice(&time_bytes(since));
        }
        let mut high = match (timed.then_some(query.until).flatten(), &cursor) {
            (Some(until), _) => {
                let mut k = prefix.clone();
                k.extend_from_slice(&time_bytes(until));
                Some(k)
            }
            (None, _) => successor(&prefix),
        };
        if timed && let Some(cursor) = &cursor {
            let mut k = prefix.clone();
            k.extend_from_slice(cursor);
            if high.as_ref().is_none_or(|h| k < *h) {
                high = Some(k);
            }
        }

        let tx = self.db().begin_read().map_err(|e| self.store_error(e))?;
        let events = tx.open_table(EVENTS).map_err(|e| self.store_error(e))?;
        let mut found: Vec<(Vec<u8>, Event)> = Vec::new();
        let mut more = false;
        let mut consider = |ek: &[u8], json: &[u8]| -> IndexResult<bool> {
            if let Some(cursor) = &cursor
                && ek >= cursor.as_slice()
            {
                return Ok(true);
            }
            let event = self.decode(ek, json)?;
            if query.matches(&event) {
                if found.len() == limit {
                    more = true;
                    return Ok(false);
                }
                found.push((ek.to_vec(), event));
            }
            Ok(true)
        };
        let range = (
            std::ops::Bound::Included(low.as_slice()),
            match &high {
                Some(h) => std::ops::Bound::Excluded(h.as_slice()),
                None => std::ops::Bound::Unbounded,
            },
        );
        match table {
            None => {
                let iter = events
                    .range::<&[u8]>(range)
                    .map_err(|e| self.store_error(e))?;
                for entry in iter.rev() {
                    let (k, v) = entry.map_err(|e| self.store_error(e))?;
                    if !consider(k.value(), v.value())? {
                        break;
                    }
                }
            }
            Some(table) => {
                let index = tx.open_table(table).map_err(|e| self.store_error(e))?;
                let iter = index
                    .range::<&[u8]>(range)
                    .map_err(|e| self.store_error(e))?;
                // A commit prefix scan is in commit order; sort by event key after.
                let mut keys = Vec::new();
                for entry in iter.rev() {
                    let (k, _) = entry.map_err(|e| self.store_error(e))?;
                    let key = k.value();
                    let ek = if query.commit.is_some() {
                        &key[20.min(key.len())..]
                    } else {
                        &key[prefix.len()..]
                    };
                    if query.commit.is_some() {
                        keys.push(ek.to_vec());
                        continue;
                    }
                    let Some(json) = events.get(ek).map_err(|e| self.store_error(e))? else {
                        continue;
                    };
                    if !consider(ek, json.value())? {
                        break;
                    }
                }
                keys.sort_unstable_by(|a, b| b.cmp(a));
                for ek in keys {
                    let Some(json) = events.get(ek.as_slice()).map_err(|e| self.store_error(e))?
                    else {
                        continue;
                    };
                    if !consider(&ek, json.value())? {
                        break;
                    }
                }
            }
        }
        let next = more.then(|| found.last().map(|(k, _)| hex(k))).flatten();
        Ok(EventPage {
            events: found.into_iter().map(|(_, e)| e).collect(),
            next,
        })
    }

    /// Every event that matches `query`, newest first (all pages).
    pub fn query_all(&self, query: &Query) -> IndexResult<Vec<Event>> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.query(query, 1000, cursor.as_deref())?;
            out.extend(page.events);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// The commit events an API call produced: those of the commit it recorded
    /// ([`ApiCall::commit`]), in every repository and branch indexed.
    pub fn events_of_call(&self, call: &ApiCall) -> IndexResult<Vec<Event>> {
        match &call.commit {
            Some(commit) if commit.len() >= 4 => self.query_all(&Query {
                commit: Some(commit.clone()),
                ..Query::default()
            }),
            _ => Ok(Vec::new()),
        }
    }
}
