//! Lists. A whole list is written straight from the store. A paged list is one
//! consistent snapshot, as with the real API server: every page is read at the
//! first page's resourceVersion, which the continue token carries (the real
//! token: unpadded URL-safe base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":K}`,
//! `K` the key after the page's last object). A token whose resourceVersion has
//! left the store's history gets `410 Expired`, with a token that goes on at the
//! latest resourceVersion.

use std::ops::Bound;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::api::{
    ApiResult, AppState, Filter, Query, Target, as_version, json_response, list_kind,
};
use crate::status::ApiError;
use crate::store::{ObjectKey, PastList};

/// The real server's message for a continue token older than the history.
const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a \
    consistent list result. You can start a new list without the continue parameter, or use \
    the continue token in this response to retrieve the remainder of the results. Continuing \
    with the provided token results in an inconsistent list - objects that were created, \
    modified, or deleted between the time the first chunk was returned and now may show up in \
    the list.";

/// `GET` of a collection: the whole list written straight from the store, or a page.
pub(crate) fn list(state: &AppState, t: &Target, query: &Query) -> ApiResult {
    let paged = query.get("limit").is_some_and(|l| l != "0")
        || query.get("continue").is_some_and(|c| !c.is_empty());
    if paged {
        return Ok(match list_value(state, t, query) {
            Ok(list) => json_response(StatusCode::OK, &list),
            Err(e) => e.into_response(),
        });
    }
    // The whole list: written straight from the store, without copying every object.
    let rt = &t.rt;
    let filter = Filter::from_query(rt, query)?;
    let api_version = serde_json::to_string(&rt.api_version()).unwrap_or_default();
    let kind = serde_json::to_string(&rt.kind).unwrap_or_default();
    let mut body = Vec::with_capacity(64 * 1024);
    body.extend_from_slice(b"{\"kind\":");
    body.extend_from_slice(
        serde_json::to_string(&list_kind(rt))
            .unwrap_or_default()
            .as_bytes(),
    );
    body.extend_from_slice(b",\"apiVersion\":");
    body.extend_from_slice(api_version.as_bytes());
    body.extend_from_slice(b",\"items\":[");
    let mut first = true;
    let rv = state.store.visit(
        &rt.storage_key(),
        t.namespace.as_deref(),
        |o| filter.matches(o),
        |object| {
            if !first {
                body.push(b',');
            }
            first = false;
            write_as_version(&mut body, &api_version, &kind, object);
        },
    );
    body.extend_from_slice(b"],\"metadata\":{\"resourceVersion\":\"");
    body.extend_from_slice(rv.to_string().as_bytes());
    body.extend_from_slice(b"\"}}");
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// Writes an object as [`as_version`] would return it (`apiVersion` and `kind` first),
/// without building the copy.
fn write_as_version(out: &mut Vec<u8>, api_version: &str, kind: &str, object: &Value) {
    let Some(map) = object.as_object() else {
        let _ = serde_json::to_writer(&mut *out, object);
        return;
    };
    out.extend_from_slice(b"{\"apiVersion\":");
    out.extend_from_slice(api_version.as_bytes());
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(kind.as_bytes());
    for (key, value) in map {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.push(b'}');
}

/// Why a list is not answered.
pub(crate) enum ListError {
    /// The request is wrong.
    Api(ApiError),
    /// The `Status` of a `410 Expired` with a continue token in its metadata.
    Expired(Value),
}

impl From<ApiError> for ListError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl IntoResponse for ListError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Expired(status) => json_response(StatusCode::GONE, &status),
        }
    }
}

/// A list (paged when asked) as a value.
pub(crate) fn list_value(state: &AppState, t: &Target, query: &Query) -> Result<Value, ListError> {
    let rt = &t.rt;
    let filter = Filter::from_query(rt, query)?;
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None | Some(Ok(0)) => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err(ApiError::bad_request("limit must be a non-negative integer").into());
        }
    };
    let token = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => {
            if query
                .get("resourceVersion")
                .is_some_and(|v| !v.is_empty() && v != "0")
            {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                )
                .into());
            }
            Some(Continue::decode(token, t).map_err(|why| {
                ApiError::bad_request(format!(
                    "invalid continue token: continue key is not valid: {why}"
                ))
            })?)
        }
    };
    let (from, at) = match &token {
        None => (Bound::Unbounded, None),
        Some(c) => (c.from.as_ref(), c.resource_version),
    };
    let page = state
        .store
        .list_page(
            &rt.storage_key(),
            t.namespace.as_deref(),
            from,
            at,
            limit,
            |o| filter.matches(o),
        )
        .map_err(|e| match (e, &token) {
            (PastList::Compacted(_), Some(c)) => {
                let mut status = ApiError::gone(INCONSISTENT_CONTINUE).to_status();
                status["metadata"]["continue"] = json!(c.encode_latest());
                ListError::Expired(status)
            }
            (PastList::Compacted(_), None) => {
                ApiError::gone("The resourceVersion for the provided list is too old.").into()
            }
            (PastList::Future(now), _) => ApiError::bad_request(format!(
                "invalid continue token: continue key is not valid: resourceVersion {} is newer than the server's {now}",
                at.unwrap_or_default()
            ))
            .into(),
        })?;
    let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
    if page.remaining > 0
        && let Some((last, _)) = page.items.last()
    {
        metadata["continue"] = json!(Continue::encode(page.resource_version as i64, t, last));
        // Only an unfiltered list says how many are left, as upstream.
        let selected = ["labelSelector", "fieldSelector"]
            .iter()
            .any(|k| query.get(*k).is_some_and(|v| !v.trim().is_empty()));
        if !selected {
            metadata["remainingItemCount"] = json!(page.remaining);
        }
    }
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|(_, v)| as_version(rt, v))
        .collect();
    Ok(json!({
        "kind": list_kind(rt),
        "apiVersion": rt.api_version(),
        "metadata": metadata,
        "items": items,
    }))
}

/// A decoded continue token.
struct Continue {
    /// `None`: the latest resourceVersion (a token from a `410`).
    resource_version: Option<u64>,
    from: Bound<ObjectKey>,
    /// The token's key, to hand on in a `410`'s token.
    start: String,
}

impl Continue {
    /// The token for the page after `last`, read at `rv`; the key is relative to
    /// the list's scope, as etcd keys below the list's prefix are.
    fn encode(rv: i64, t: &Target, last: &ObjectKey) -> String {
        let start = if t.namespace.is_some() || !t.rt.namespaced {
            format!("{}\0", last.1)
        } else {
            format!("{}/{}\0", last.0, last.1)
        };
        Self::token(rv, &start)
    }

    fn token(rv: i64, start: &str) -> String {
        // Field order as the real server's (Go marshals a struct in field order).
        let json = format!(
            "{{\"v\":\"meta.k8s.io/v1\",\"rv\":{rv},\"start\":{}}}",
            Value::String(start.to_owned())
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// The same position at the latest resourceVersion.
    fn encode_latest(&self) -> String {
        Self::token(-1, &self.start)
    }

    /// Reads a token for a list of `t`; `Err` says what is wrong with it.
    fn decode(token: &str, t: &Target) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match v["v"].as_str() {
            Some("meta.k8s.io/v1") => {}
            other => {
                return Err(format!(
                    "server does not recognize this encoded version {}",
                    other.unwrap_or_default()
                ));
            }
        }
        let resource_version = match v["rv"].as_i64() {
            Some(-1) => None,
            Some(rv) if rv > 0 => Some(rv as u64),
            _ => {
                return Err(
                    "incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into(),
                );
            }
        };
        let start = v["start"].as_str().unwrap_or_default().to_owned();
        if start.is_empty() {
            return Err("encoded start key empty (version meta.k8s.io/v1)".into());
        }
        // "<key>\0" starts just after <key>; anything else at it.
        let (key, after) = match start.strip_suffix('\0') {
            Some(key) => (key, true),
            None => (start.as_str(), false),
        };
        let key = match (&t.namespace, t.rt.namespaced) {
            (Some(ns), _) => (ns.clone(), key.to_owned()),
            (None, false) => (String::new(), key.to_owned()),
            (None, true) => match key.split_once('/') {
                Some((ns, name)) => (ns.to_owned(), name.to_owned()),
                None => (key.to_owned(), String::new()),
            },
        };
        if key.1.contains('/') || key.1.contains('\0') {
            return Err(format!("invalid start key {start:?}"));
        }
        Ok(Self {
            resource_version,
            from: if after {
                Bound::Excluded(key)
            } else {
                Bound::Included(key)
            },
            start,
        })
    }
}
