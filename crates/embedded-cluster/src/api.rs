//! Request handling: routing Kubernetes paths to verbs, and the verbs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use crate::discovery;
use crate::objects::{self, Allocator};
use crate::registry::{self, Registry, ResourceType};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, qualified};
use crate::store::{Event, EventType, ObjectKey, Store, Write};

/// Everything a request handler needs.
pub(crate) struct AppState {
    pub store: Store,
    pub registry: Registry,
    /// `None`: no authentication (plain HTTP for tests).
    pub token: Option<String>,
    pub bookmark_interval: Duration,
    pub max_body: usize,
    pub shutdown: watch::Receiver<bool>,
    pub server_address: String,
    next_ip: AtomicU32,
    next_node_port: AtomicU32,
    /// The garbage collector runs: Foreground and Orphan deletes get their
    /// finalizers (without it every policy deletes only the object).
    pub gc_enabled: bool,
    /// The simulated kubelet runs: deleting a scheduled pod is graceful
    /// (`deletionTimestamp` first, the kubelet removes it later).
    pub graceful_pods: bool,
}

impl AppState {
    pub fn new(
        store: Store,
        token: Option<String>,
        bookmark_interval: Duration,
        max_body: usize,
        shutdown: watch::Receiver<bool>,
        server_address: String,
    ) -> Self {
        Self {
            store,
            registry: Registry::new(),
            token,
            bookmark_interval,
            max_body,
            shutdown,
            server_address,
            next_ip: AtomicU32::new(10),
            next_node_port: AtomicU32::new(30000),
            gc_enabled: false,
            graceful_pods: false,
        }
    }
}

impl Allocator for AppState {
    fn cluster_ip(&self) -> String {
        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }
    fn node_port(&self) -> u32 {
        30000 + (self.next_node_port.fetch_add(1, Ordering::Relaxed) - 30000) % 2768
    }
}

type Query = HashMap<String, String>;
type ApiResult<T = Response> = Result<T, ApiError>;

/// The one handler: every path goes through here.
pub(crate) async fn handle(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = match route(&state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.token else {
        return true;
    };
    let Some(got) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Length leaks nothing useful; compare the bytes without early exit.
    got.len() == token.len()
        && got
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    let mut r = (code, serde_json::to_vec(value).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn ok(value: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, value))
}

/// Where a request points after the group and version.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

async fn route(state: &Arc<AppState>, req: Request) -> ApiResult {
    if !authorized(state, req.headers()) {
        return Err(ApiError::unauthorized());
    }
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let mut query: Query = serde_urlencoded::from_str(req.uri().query().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    default_field_manager(&mut query, req.headers());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let types = state.registry.all();
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let aggregated = accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2");
    let get = req.method() == Method::GET;
    match segs.as_slice() {
        ["version"] if get => return ok(&discovery::version()),
        ["healthz" | "livez" | "readyz"] if get => return Ok("ok".into_response()),
        ["api"] if get && aggregated => {
            return Ok(aggregated_response(&discovery::aggregated(&types, true)));
        }
        ["api"] if get => return ok(&discovery::api_versions(&state.server_address)),
        ["apis"] if get && aggregated => {
            return Ok(aggregated_response(&discovery::aggregated(&types, false)));
        }
        ["apis"] if get => return ok(&discovery::group_list(&types)),
        ["api", "v1"] if get => return ok(&discovery::resource_list(&types, "", "v1")),
        ["apis", g] if get => {
            return discovery::group(&types, g)
                .map(|v| json_response(StatusCode::OK, &v))
                .ok_or_else(|| ApiError::path_not_found(&path));
        }
        ["apis", g, v] if get => {
            if !state.registry.serves_version(g, v) {
                return Err(ApiError::path_not_found(&path));
            }
            return ok(&discovery::resource_list(&types, g, v));
        }
        ["openapi", "v2"] if get => {
            // An empty protobuf document: kubectl finds no schema in it and
            // skips client-side checks instead of failing on a 404.
            let mut r = Response::new(Body::empty());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                ),
            );
            return Ok(r);
        }
        ["openapi", "v3"] if get => {
            let hash = types.len() as u64;
            return ok(&discovery::openapi_v3_root(&types, hash));
        }
        ["openapi", "v3", rest @ ..] if get => {
            return discovery::openapi_v3_group_version(&types, &rest.join("/"))
                .map(|v| json_response(StatusCode::OK, &v))
                .ok_or_else(|| ApiError::path_not_found(&path));
        }
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found(&path)),
    };
    let target =
        resolve(state, group, version, rest).ok_or_else(|| ApiError::path_not_found(&path))?;
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let body = if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        read_body(state, req).await?
    } else {
        Bytes::new()
    };
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}; supported values: \"All\""
            )));
        }
    };
    let t = &target;
    match (&method, t.name.is_some(), t.sub.as_deref()) {
        (&Method::GET, false, None) => {
            if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) {
                let table = wants_table(&accept).then(|| table_view(state, t, &query));
                watch(state, t, &query, table)
            } else if wants_table(&accept) {
                let list = list_value(state, t, &query)?;
                let items = list["items"].as_array().cloned().unwrap_or_default();
                ok(&as_table(
                    state,
                    t,
                    &query,
                    &items,
                    list["metadata"].clone(),
                ))
            } else {
                list(state, t, &query)
            }
        }
        (&Method::GET, true, Some("log")) => {
            let pod = get_object(state, t)?;
            let tail_lines = match query.get("tailLines").map(|n| n.parse::<usize>()) {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => {
                    return Err(ApiError::bad_request(
                        "tailLines must be a non-negative integer",
                    ));
                }
            };
            let text = crate::logs::pod_log(
                &pod,
                &crate::logs::LogOptions {
                    container: query.get("container").map(String::as_str),
                    previous: query.get("previous").is_some_and(|v| v == "true"),
                    timestamps: query.get("timestamps").is_some_and(|v| v == "true"),
                    tail_lines,
                },
            )?;
            let mut r = Response::new(Body::from(text));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Ok(r)
        }
        (&Method::GET, true, Some("scale")) => ok(&scale_of(&t.rt, &get_object(state, t)?)),
        (&Method::GET, true, None) if wants_table(&accept) => {
            let object = get_object(state, t)?;
            let meta = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            ok(&as_table(state, t, &query, &[object], meta))
        }
        (&Method::GET, true, _) => ok(&get_object(state, t)?),
        (&Method::POST, false, None) => {
            let object = parse_body(&body, &content_type)?;
            let (created, warnings) = create(state, t, object, &query, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::CREATED, &created),
                &warnings,
            ))
        }
        (&Method::PUT, true, sub) if sub != Some("log") => {
            let object = parse_body(&body, &content_type)?;
            let (updated, warnings) = update(state, t, object, &query, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::OK, &updated),
                &warnings,
            ))
        }
        (&Method::PATCH, true, sub) if sub != Some("log") => {
            let (patched, warnings) = patch(state, t, &body, &content_type, &query, dry_run)?;
            Ok(with_warnings(
                json_response(StatusCode::OK, &patched),
                &warnings,
            ))
        }
        (&Method::DELETE, true, None) => {
            let options = delete_options(&body, &query)?;
            ok(&delete(state, t, &options, dry_run || options.dry_run)?)
        }
        (&Method::DELETE, false, None) => {
            let options = delete_options(&body, &query)?;
            delete_collection(state, t, &query, &options, dry_run || options.dry_run)
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {path})"
        ))),
    }
}

fn aggregated_response(value: &Value) -> Response {
    let mut r = json_response(StatusCode::OK, value);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(discovery::AGGREGATED_V2),
    );
    r
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {:?}", w);
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

fn resolve(state: &AppState, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let find = |plural: &str| state.registry.find(group, version, plural);
    let t =
        |rt: Arc<ResourceType>, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
            rt,
            namespace: ns.map(str::to_owned),
            name: name.map(str::to_owned),
            sub: sub.map(str::to_owned),
        };
    let target = match rest {
        [r] => t(find(r)?, None, None, None),
        [r, n] => t(find(r)?, None, Some(n), None),
        ["namespaces", ns, r] if find(r).is_some_and(|rt| rt.namespaced) => {
            t(find(r)?, Some(ns), None, None)
        }
        [r, n, sub] => t(find(r)?, None, Some(n), Some(sub)),
        ["namespaces", ns, r, n] => t(find(r)?, Some(ns), Some(n), None),
        ["namespaces", ns, r, n, sub] => t(find(r)?, Some(ns), Some(n), Some(sub)),
        _ => return None,
    };
    // Named objects and writes of namespaced resources need a namespace;
    // cluster-scoped resources must not have one.
    if !target.rt.namespaced && target.namespace.is_some() {
        return None;
    }
    if target.rt.namespaced && target.namespace.is_none() && target.name.is_some() {
        return None;
    }
    match target.sub.as_deref() {
        None => {}
        Some("status") if target.rt.status => {}
        Some("scale") if target.rt.scale.is_some() => {}
        Some("log") if target.rt.log => {}
        Some(_) => return None,
    }
    Some(target)
}

async fn read_body(state: &AppState, req: Request) -> ApiResult<Bytes> {
    let too_large = ApiError::too_large(state.max_body);
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > state.max_body
    {
        return Err(too_large);
    }
    axum::body::to_bytes(req.into_body(), state.max_body)
        .await
        .map_err(|e| {
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(s) = source {
                if s.to_string().contains("length limit") {
                    return too_large.clone();
                }
                source = s.source();
            }
            ApiError::bad_request(format!("reading request body: {e}"))
        })
}

fn parse_body(body: &[u8], content_type: &str) -> ApiResult<Value> {
    let value: Value = if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        crate::protobuf::decode(body).map_err(|e| {
            ApiError::bad_request(format!("the protobuf body could not be decoded: {e}"))
        })?
    } else if content_type.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|e| ApiError::bad_request(format!("yaml parse error: {e}")))?;
        yaml_body(text).map_err(|e| ApiError::bad_request(format!("yaml parse error: {e}")))?
    } else if content_type.starts_with("application/json") || content_type.is_empty() {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))?
    } else {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({content_type}) - accepted media types include: application/json, application/yaml"
        )));
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    Ok(value)
}

/// A YAML body as the API server reads it (`sigs.k8s.io/yaml`: YAML 1.1 scalars, then
/// JSON): its first document.
fn yaml_body(text: &str) -> Result<Value, String> {
    use windlass_entity_model::yaml;
    match yaml::parse_documents(text).into_iter().next() {
        None => Ok(Value::Null),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(document)) => {
            windlass_entity_model::de::from_node(&document.root, Default::default())
                .map_err(|e| e.to_string())
        }
    }
}

fn key_of(t: &Target, name: &str) -> ObjectKey {
    (t.namespace.clone().unwrap_or_default(), name.to_owned())
}

fn target_name(t: &Target) -> &str {
    t.name.as_deref().unwrap_or_default()
}

/// The object with `apiVersion`/`kind` of the version it is read through.
fn as_version(rt: &ResourceType, mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
    }
    object
}

fn get_object(state: &AppState, t: &Target) -> ApiResult<Value> {
    let name = target_name(t);
    state
        .store
        .get(&t.rt.storage_key(), &key_of(t, name))
        .map(|o| as_version(&t.rt, o))
        .ok_or_else(|| ApiError::not_found(&t.rt.group, &t.rt.plural, name))
}

/// Checks `apiVersion`/`kind` against the URL and fills them in when absent.
fn check_kind(rt: &ResourceType, object: &mut Value) -> ApiResult<()> {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
    if (!kind.is_empty() && kind != rt.kind)
        || (!api_version.is_empty() && api_version != rt.api_version())
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {} in version {:?} does not match the expected {} in version {:?}",
            rt.kind,
            if kind.is_empty() { "<unset>" } else { &kind },
            api_version,
            rt.kind,
            rt.api_version()
        )));
    }
    object["kind"] = json!(rt.kind);
    object["apiVersion"] = json!(rt.api_version());
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    Ok(())
}

/// `fieldValidation`: Strict fails, Warn (default) warns, Ignore says nothing.
fn field_validation(query: &Query, unknown: &[String]) -> ApiResult<Vec<String>> {
    let mode = query
        .get("fieldValidation")
        .map(String::as_str)
        .unwrap_or("Warn");
    let messages: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    match mode {
        "Strict" if !messages.is_empty() => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            messages.join(", ")
        ))),
        "Strict" | "Ignore" => Ok(Vec::new()),
        "Warn" | "" => Ok(messages),
        other => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of Ignore, Warn, Strict; got {other:?}"
        ))),
    }
}

fn check_namespace_field(t: &Target, object: &mut Value) -> ApiResult<()> {
    let meta = &mut object["metadata"];
    match &t.namespace {
        Some(ns) => {
            match meta["namespace"].as_str() {
                Some(n) if !n.is_empty() && n != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
            meta["namespace"] = json!(ns);
        }
        None => {
            if let Some(m) = meta.as_object_mut() {
                m.remove("namespace");
            }
        }
    }
    Ok(())
}

fn decode(t: &Target, object: &Value, query: &Query) -> ApiResult<(Value, Vec<String>)> {
    let (decoded, unknown) = objects::decode(&t.rt, object).map_err(ApiError::bad_request)?;
    let warnings = field_validation(query, &unknown)?;
    Ok((decoded, warnings))
}

fn invalid(rt: &ResourceType, object: &Value) -> ApiResult<()> {
    let causes = objects::validate(rt, object);
    if causes.is_empty() {
        return Ok(());
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    Err(ApiError::invalid(&rt.group, &rt.kind, name, causes))
}

/// Without `fieldManager`, writes other than apply are recorded under the
/// user agent's first word, as kube-apiserver does (`kubectl/v1.32.4 ...`
/// becomes `kubectl`). Apply requires an explicit manager.
fn default_field_manager(query: &mut Query, headers: &HeaderMap) {
    if query.get("fieldManager").is_some_and(|m| !m.is_empty()) {
        return;
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let prefix = agent.split('/').next().unwrap_or_default().trim();
    if !prefix.is_empty() {
        query.insert(DEFAULT_MANAGER.into(), prefix.chars().take(128).collect());
    }
}

/// Where [`default_field_manager`] keeps the user agent's manager name, apart
/// from an explicit `fieldManager` (which apply requires).
const DEFAULT_MANAGER: &str = "\u{0}userAgentManager";

fn field_manager(query: &Query) -> Option<&str> {
    query
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .or_else(|| query.get(DEFAULT_MANAGER))
        .map(String::as_str)
}

/// Records an ordinary write in `managedFields`.
fn record_update(t: &Target, query: &Query, old: Option<&Value>, write: Write) -> Write {
    let Write::Put(mut new) = write else {
        return write;
    };
    if let Some(manager) = field_manager(query) {
        crate::managed_fields::record_update(
            crate::patch_strategic::Schema::of(&t.rt.kind, t.rt.schema.as_ref()),
            old,
            &mut new,
            manager,
            &t.rt.api_version(),
            &objects::now(),
            t.rt.status && t.sub.is_none(),
        );
    }
    Write::Put(new)
}

/// Creates an object (also used to seed the store at start).
fn create(
    state: &AppState,
    t: &Target,
    object: Value,
    query: &Query,
    dry_run: bool,
) -> ApiResult<(Value, Vec<String>)> {
    create_as(state, t, object, query, dry_run, true)
}

/// Creates an object; `record` says whether to record the write as an
/// `Update` in `managedFields` (apply brings its own entry).
fn create_as(
    state: &AppState,
    t: &Target,
    mut object: Value,
    query: &Query,
    dry_run: bool,
    record: bool,
) -> ApiResult<(Value, Vec<String>)> {
    if t.namespace.is_none() && t.rt.namespaced {
        return Err(ApiError::method_not_allowed(
            "create of a namespaced resource needs a namespace in the path",
        ));
    }
    let rt = &t.rt;
    check_kind(rt, &mut object)?;
    check_namespace_field(t, &mut object)?;
    let meta = &mut object["metadata"];
    if meta["name"].as_str().is_none_or(str::is_empty)
        && let Some(prefix) = meta["generateName"].as_str().filter(|p| !p.is_empty())
    {
        meta["name"] = json!(format!("{prefix}{}", objects::name_suffix()));
    }
    if meta["resourceVersion"]
        .as_str()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let (mut object, warnings) = decode(t, &object, query)?;
    if let Some(ns) = &t.namespace {
        match state.store.get("namespaces", &(String::new(), ns.clone())) {
            None => return Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if !n["metadata"]["deletionTimestamp"].is_null() => {
                return Err(ApiError::forbidden(format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(meta) = object["metadata"].as_object_mut() {
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            meta.remove(k);
        }
        meta.insert("uid".into(), json!(objects::new_uid()));
        meta.insert("creationTimestamp".into(), json!(objects::now()));
        if rt.has_generation() {
            meta.insert("generation".into(), json!(1));
        }
    }
    if rt.status
        && let Some(m) = object.as_object_mut()
    {
        m.remove("status");
    }
    objects::apply_defaults(&rt.kind, &mut object, state);
    objects::init_status(&rt.kind, &mut object);
    invalid(rt, &object)?;
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = key_of(t, &name);
    let (stored, _) = state
        .store
        .write(&rt.storage_key(), &key, dry_run, |current, _| {
            if current.is_some() {
                return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
            }
            if record {
                return Ok(record_update(t, query, None, Write::Put(object)));
            }
            Ok(Write::Put(object))
        })?;
    if rt.kind == "CustomResourceDefinition" && !dry_run {
        state.registry.set_crd(&name, registry::from_crd(&stored));
        tracing::info!(crd = %name, "serving custom resource");
    }
    Ok((as_version(rt, stored), warnings))
}

/// Completes an update of `old` to `new` through the main resource or a
/// subresource: carries over what the client may not change, bumps
/// generation, validates, and turns "last finalizer removed" into a delete.
fn finish_update(state: &AppState, t: &Target, old: &Value, mut new: Value) -> ApiResult<Write> {
    let rt = &t.rt;
    match t.sub.as_deref() {
        Some("status") => {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        _ if rt.status => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        _ => {}
    }
    {
        let old_meta = &old["metadata"];
        let meta = new["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
    }
    if rt.kind == "Service" {
        for k in ["clusterIP", "clusterIPs"] {
            if new["spec"].get(k).is_none_or(Value::is_null) && !old["spec"][k].is_null() {
                new["spec"][k] = old["spec"][k].clone();
            }
        }
    }
    objects::apply_defaults(&rt.kind, &mut new, state);
    if rt.kind == "CustomResourceDefinition" && t.sub.is_none() {
        objects::crd_status(&mut new);
    }
    if rt.has_generation() && objects::spec_changed(old, &new) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
        new["metadata"]["generation"] = json!(g + 1);
    }
    invalid(rt, &new)?;
    let finalizers = |v: &Value| -> Vec<Value> {
        v["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    if !old["metadata"]["deletionTimestamp"].is_null() {
        let (before, after) = (finalizers(old), finalizers(&new));
        if after.iter().any(|f| !before.contains(f)) {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                target_name(t),
                vec![crate::status::Cause::forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted",
                )],
            ));
        }
        if after.is_empty() {
            return Ok(Write::Delete);
        }
    }
    let mut same = new.clone();
    same["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    if same == *old {
        return Ok(Write::Unchanged(old.clone()));
    }
    Ok(Write::Put(new))
}

fn check_resource_version(t: &Target, current: &Value, wanted: &Value) -> ApiResult<()> {
    if let Some(rv) = wanted.as_str().filter(|s| !s.is_empty())
        && current["metadata"]["resourceVersion"].as_str() != Some(rv)
    {
        return Err(ApiError::conflict(
            &t.rt.group,
            &t.rt.plural,
            target_name(t),
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    Ok(())
}

/// After a write: CRD bookkeeping and namespace finalization.
fn after_write(
    state: &AppState,
    t: &Target,
    object: &Value,
    kind: Option<EventType>,
    dry_run: bool,
) {
    if dry_run {
        return;
    }
    if t.rt.kind == "CustomResourceDefinition" {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if kind == Some(EventType::Deleted) {
            state.registry.set_crd(name, Vec::new());
        } else if kind.is_some() && object["metadata"]["deletionTimestamp"].is_null() {
            state.registry.set_crd(name, registry::from_crd(object));
        }
    }
    if kind == Some(EventType::Deleted)
        && let Some(ns) = t.namespace.as_deref()
    {
        finish_namespace(state, ns);
    }
}

fn update(
    state: &AppState,
    t: &Target,
    mut object: Value,
    query: &Query,
    dry_run: bool,
) -> ApiResult<(Value, Vec<String>)> {
    let name = target_name(t).to_owned();
    let rt = &t.rt;
    if t.sub.as_deref() == Some("scale") {
        return update_scale(state, t, object, dry_run).map(|v| (v, Vec::new()));
    }
    check_kind(rt, &mut object)?;
    check_namespace_field(t, &mut object)?;
    match object["metadata"]["name"].as_str() {
        Some(n) if !n.is_empty() && n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => object["metadata"]["name"] = json!(name),
    }
    let wanted_rv = object["metadata"]["resourceVersion"].clone();
    let (object, warnings) = decode(t, &object, query)?;
    let (stored, kind) = state.store.write(
        &rt.storage_key(),
        &key_of(t, &name),
        dry_run,
        |current, _| {
            let current =
                current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            check_resource_version(t, current, &wanted_rv)?;
            let write = finish_update(state, t, current, object)?;
            Ok(record_update(t, query, Some(current), write))
        },
    )?;
    after_write(state, t, &stored, kind, dry_run);
    Ok((as_version(rt, stored), warnings))
}

fn patch(
    state: &AppState,
    t: &Target,
    body: &[u8],
    content_type: &str,
    query: &Query,
    dry_run: bool,
) -> ApiResult<(Value, Vec<String>)> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    enum Kind {
        Json,
        Merge,
        Strategic,
    }
    let kind = match media {
        "application/json-patch+json" => Kind::Json,
        "application/merge-patch+json" => Kind::Merge,
        // Custom resources have no Go types to carry merge keys: the real
        // server refuses strategic merge patch for them the same way.
        "application/strategic-merge-patch+json" if t.rt.crd.is_none() => Kind::Strategic,
        "application/apply-patch+yaml" => {
            return server_side_apply(state, t, body, query, dry_run);
        }
        other => {
            let accepted = if t.rt.crd.is_none() {
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            } else {
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            };
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted} (got {other})"
            )));
        }
    };
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))?;
    let json_patch = match kind {
        Kind::Json => Some(
            serde_json::from_value::<json_patch::Patch>(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?,
        ),
        Kind::Merge | Kind::Strategic => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            None
        }
    };
    let strategic = matches!(kind, Kind::Strategic);
    let rt = &t.rt;
    let name = target_name(t).to_owned();
    let mut warnings = Vec::new();
    let (stored, written) = state.store.write(
        &rt.storage_key(),
        &key_of(t, &name),
        dry_run,
        |current, _| {
            let current =
                current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            let scale = t.sub.as_deref() == Some("scale");
            let mut doc = if scale {
                scale_of(rt, current)
            } else {
                as_version(rt, current.clone())
            };
            match &json_patch {
                Some(p) => json_patch::patch(&mut doc, p).map_err(|e| {
                    ApiError::invalid(
                        &rt.group,
                        &rt.kind,
                        &name,
                        vec![crate::status::Cause {
                            reason: "FieldValueInvalid",
                            message: format!("the JSON patch could not be applied: {e}"),
                            field: String::new(),
                        }],
                    )
                })?,
                None if strategic => {
                    let kind = if scale { "Scale" } else { rt.kind.as_str() };
                    doc = crate::patch_strategic::apply(kind, &doc, &patch)
                        .map_err(ApiError::bad_request)?;
                }
                None => json_patch::merge(&mut doc, &patch),
            }
            check_resource_version(t, current, &doc["metadata"]["resourceVersion"])?;
            if scale {
                let replicas = scale_replicas(t, &doc)?;
                let mut new = current.clone();
                set_path(
                    &mut new,
                    &rt.scale.as_ref().expect("scale target").spec_replicas,
                    json!(replicas),
                );
                let t2 = Target {
                    rt: t.rt.clone(),
                    namespace: t.namespace.clone(),
                    name: t.name.clone(),
                    sub: None,
                };
                let write = finish_update(state, &t2, current, new)?;
                return Ok(record_update(&t2, query, Some(current), write));
            }
            check_kind(rt, &mut doc)?;
            let (decoded, w) = decode(t, &doc, query)?;
            warnings = w;
            let write = finish_update(state, t, current, decoded)?;
            Ok(record_update(t, query, Some(current), write))
        },
    )?;
    after_write(state, t, &stored, written, dry_run);
    let out = if t.sub.as_deref() == Some("scale") {
        scale_of(rt, &stored)
    } else {
        as_version(rt, stored)
    };
    Ok((out, warnings))
}

/// `PATCH` with `application/apply-patch+yaml`: server-side apply, creating
/// the object when it does not exist.
fn server_side_apply(
    state: &AppState,
    t: &Target,
    body: &[u8],
    query: &Query,
    dry_run: bool,
) -> ApiResult<(Value, Vec<String>)> {
    let rt = &t.rt;
    let name = target_name(t).to_owned();
    let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![crate::status::Cause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        ));
    };
    if t.sub.as_deref() == Some("scale") {
        return Err(ApiError::unsupported_media_type(
            "apply patch is not supported on the scale subresource of the embedded cluster",
        ));
    }
    let mut applied = parse_body(body, "application/apply-patch+yaml")?;
    check_kind(rt, &mut applied)?;
    check_namespace_field(t, &mut applied)?;
    match applied["metadata"]["name"].as_str() {
        Some(n) if n == name => {}
        Some(n) if !n.is_empty() => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => applied["metadata"]["name"] = json!(name),
    }
    let force = matches!(query.get("force").map(String::as_str), Some("true" | "1"));
    let now = objects::now();
    let api_version = rt.api_version();
    let req = crate::apply::Request {
        schema: crate::patch_strategic::Schema::of(&rt.kind, rt.schema.as_ref()),
        manager,
        api_version: &api_version,
        now: &now,
        force,
        skip_status: rt.status && t.sub.is_none(),
    };
    let conflict = |c: Vec<crate::apply::Conflict>| ApiError {
        code: 409,
        reason: "Conflict",
        message: crate::apply::conflict_message(&c),
        details: Some(json!({
            "name": name,
            "group": rt.group,
            "kind": rt.plural,
            "causes": crate::apply::conflict_causes(&c),
        })),
    };
    let key = key_of(t, &name);
    if state.store.get(&rt.storage_key(), &key).is_none() {
        if t.sub.is_some() {
            return Err(ApiError::not_found(&rt.group, &rt.plural, &name));
        }
        let object = crate::apply::apply(&req, None, &applied).map_err(conflict)?;
        return create_as(state, t, object, query, dry_run, false);
    }
    let mut warnings = Vec::new();
    let (stored, written) = state
        .store
        .write(&rt.storage_key(), &key, dry_run, |current, _| {
            let current =
                current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            check_resource_version(t, current, &applied["metadata"]["resourceVersion"])?;
            let live = as_version(rt, current.clone());
            let merged = crate::apply::apply(&req, Some(&live), &applied).map_err(conflict)?;
            let managed = merged["metadata"]["managedFields"].clone();
            let (mut decoded, w) = decode(t, &merged, query)?;
            warnings = w;
            // Also before the "unchanged" check: a new co-owner alone is a change.
            decoded["metadata"]["managedFields"] = managed.clone();
            Ok(match finish_update(state, t, current, decoded)? {
                Write::Put(mut new) => {
                    new["metadata"]["managedFields"] = managed;
                    Write::Put(new)
                }
                other => other,
            })
        })?;
    after_write(state, t, &stored, written, dry_run);
    Ok((as_version(rt, stored), warnings))
}

fn get_path<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .fold(v, |v, seg| &v[seg])
}

fn set_path(v: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    let mut cur = v;
    for seg in &segs[..segs.len().saturating_sub(1)] {
        if !cur[*seg].is_object() {
            cur[*seg] = json!({});
        }
        cur = &mut cur[*seg];
    }
    if let Some(last) = segs.last() {
        cur[*last] = value;
    }
}

/// The `autoscaling/v1 Scale` view of an object.
fn scale_of(rt: &ResourceType, object: &Value) -> Value {
    let paths = rt.scale.as_ref().expect("scale subresource resolved");
    let meta = &object["metadata"];
    let selector = match &paths.label_selector {
        Some(p) if !get_path(object, p).is_null() => get_path(object, p).clone(),
        _ => json!(
            object["spec"]["selector"]["matchLabels"]
                .as_object()
                .map(|m| m
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        ),
    };
    let mut status =
        json!({"replicas": get_path(object, &paths.status_replicas).as_i64().unwrap_or(0)});
    if selector.as_str().is_some_and(|s| !s.is_empty()) {
        status["selector"] = selector;
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": get_path(object, &paths.spec_replicas).as_i64().unwrap_or(0)},
        "status": status,
    })
}

fn scale_replicas(t: &Target, scale: &Value) -> ApiResult<i64> {
    match scale["spec"]["replicas"].as_i64() {
        Some(n) if n >= 0 => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            target_name(t),
            vec![crate::status::Cause::invalid(
                "spec.replicas",
                &n.to_string(),
                "must be greater than or equal to 0",
            )],
        )),
        None => Ok(0),
    }
}

fn update_scale(state: &AppState, t: &Target, scale: Value, dry_run: bool) -> ApiResult<Value> {
    let rt = &t.rt;
    let name = target_name(t).to_owned();
    let replicas = scale_replicas(t, &scale)?;
    let main = Target {
        rt: t.rt.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        sub: None,
    };
    let (stored, written) = state.store.write(
        &rt.storage_key(),
        &key_of(t, &name),
        dry_run,
        |current, _| {
            let current =
                current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            check_resource_version(t, current, &scale["metadata"]["resourceVersion"])?;
            let mut new = current.clone();
            let path = &rt.scale.as_ref().expect("scale target").spec_replicas;
            set_path(&mut new, path, json!(replicas));
            finish_update(state, &main, current, new)
        },
    )?;
    after_write(state, t, &stored, written, dry_run);
    Ok(scale_of(rt, &stored))
}

/// What a delete request asks for.
#[derive(Default)]
struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    /// `propagationPolicy`: Background, Foreground or Orphan.
    policy: Option<String>,
    /// `dryRun: ["All"]` in the body (kube clients put it there).
    dry_run: bool,
    /// `gracePeriodSeconds` (query or body); `None`: the object's own.
    grace_period: Option<i64>,
}

fn delete_options(body: &[u8], query: &Query) -> ApiResult<DeleteOptions> {
    let mut o = DeleteOptions::default();
    let mut policy = query.get("propagationPolicy").cloned();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))?;
        o.uid = v["preconditions"]["uid"].as_str().map(str::to_owned);
        o.resource_version = v["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_owned);
        if let Some(p) = v["propagationPolicy"].as_str() {
            policy = Some(p.to_owned());
        }
        for value in v["dryRun"].as_array().into_iter().flatten() {
            if value != "All" {
                return Err(ApiError::bad_request(format!(
                    "Invalid dry run value: {value}; supported values: \"All\""
                )));
            }
            o.dry_run = true;
        }
        if !v["gracePeriodSeconds"].is_null() {
            o.grace_period =
                Some(v["gracePeriodSeconds"].as_i64().ok_or_else(|| {
                    ApiError::bad_request("gracePeriodSeconds must be an integer")
                })?);
        }
    }
    if let Some(g) = query.get("gracePeriodSeconds") {
        o.grace_period = Some(
            g.parse()
                .map_err(|_| ApiError::bad_request("gracePeriodSeconds must be an integer"))?,
        );
    }
    // Like the real server: a negative grace period means one second.
    if o.grace_period.is_some_and(|g| g < 0) {
        o.grace_period = Some(1);
    }
    // Without the garbage collector every policy behaves like Background
    // for the object itself.
    match policy.as_deref() {
        None | Some("Background" | "Foreground" | "Orphan") => {
            o.policy = policy;
            Ok(o)
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

fn delete(
    state: &AppState,
    t: &Target,
    options: &DeleteOptions,
    dry_run: bool,
) -> ApiResult<Value> {
    let rt = &t.rt;
    let name = target_name(t).to_owned();
    let mut mark_terminating = false;
    // Read before taking the store lock in `write` (it is not reentrant).
    let namespace_with_content =
        rt.kind == "Namespace" && !state.store.keys_in_namespace(&name).is_empty();
    let (stored, written) = state
        .store
        .write(&rt.storage_key(), &key_of(t, &name), dry_run, |current, _| {
            let current = current.ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
            let meta = &current["metadata"];
            if let Some(uid) = &options.uid
                && meta["uid"].as_str() != Some(uid) {
                    return Err(ApiError::conflict(&rt.group, &rt.plural, &name, &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta["uid"].as_str().unwrap_or_default()
                    )));
                }
            if let Some(rv) = &options.resource_version
                && meta["resourceVersion"].as_str() != Some(rv) {
                    return Err(ApiError::conflict(&rt.group, &rt.plural, &name, &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        meta["resourceVersion"].as_str().unwrap_or_default()
                    )));
                }
            if let Some(grace) = pod_grace_period(state, rt, current, options) {
                // Graceful pod deletion: the kubelet stops the containers and
                // deletes the pod for good (crate::controllers).
                let old_grace = meta["deletionGracePeriodSeconds"].as_i64();
                if !meta["deletionTimestamp"].is_null() && old_grace.is_some_and(|g| g <= grace) {
                    return Ok(Write::Unchanged(current.clone()));
                }
                let mut new = current.clone();
                let at = jiff::Timestamp::now()
                    .checked_add(jiff::SignedDuration::from_secs(grace))
                    .map_err(|e| ApiError::internal(format!("deletion time: {e}")))?;
                new["metadata"]["deletionTimestamp"] =
                    json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
                new["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                return Ok(Write::Put(new));
            }
            if let Some(fin) = gc_finalizer(state, rt, options)
                && meta["deletionTimestamp"].is_null()
            {
                // The garbage collector finishes the delete (crate::controllers).
                let mut new = current.clone();
                let list = new["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
                if !list.iter().any(|f| f == fin) {
                    let mut list = list;
                    list.push(json!(fin));
                    new["metadata"]["finalizers"] = json!(list);
                }
                new["metadata"]["deletionTimestamp"] = json!(objects::now());
                new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                return Ok(Write::Put(new));
            }
            let has_finalizers = meta["finalizers"].as_array().is_some_and(|f| !f.is_empty());
            if has_finalizers || namespace_with_content {
                if !meta["deletionTimestamp"].is_null() {
                    return Ok(Write::Unchanged(current.clone()));
                }
                let mut new = current.clone();
                new["metadata"]["deletionTimestamp"] = json!(objects::now());
                new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                if rt.kind == "Namespace" {
                    new["status"]["phase"] = json!("Terminating");
                    mark_terminating = true;
                }
                return Ok(Write::Put(new));
            }
            Ok(Write::Delete)
        })?;
    after_write(state, t, &stored, written, dry_run);
    if mark_terminating && !dry_run {
        empty_namespace(state, &name);
    }
    if rt.kind == "CustomResourceDefinition" && written == Some(EventType::Deleted) && !dry_run {
        remove_custom_resources(state, &stored);
    }
    // The object as it is now (finalizer processing may have moved on), but only if it
    // is still the same object: a writer may have re-created the name since.
    let uid = stored["metadata"]["uid"].clone();
    let result = state
        .store
        .get(&rt.storage_key(), &key_of(t, &name))
        .filter(|now| !dry_run && now["metadata"]["uid"] == uid)
        .unwrap_or(stored);
    Ok(as_version(rt, result))
}

/// The grace period of a graceful pod deletion, or `None` when the pod goes at
/// once: no kubelet, an explicit `gracePeriodSeconds=0`, a pod never scheduled
/// or already finished (as the real pod strategy decides).
fn pod_grace_period(
    state: &AppState,
    rt: &ResourceType,
    pod: &Value,
    options: &DeleteOptions,
) -> Option<i64> {
    if !state.graceful_pods || rt.kind != "Pod" || !rt.group.is_empty() {
        return None;
    }
    let unscheduled = pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty);
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if unscheduled || finished {
        return None;
    }
    let grace = options
        .grace_period
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30);
    (grace > 0).then_some(grace)
}

/// Deletes everything in a terminating namespace, then the namespace once empty.
fn empty_namespace(state: &AppState, ns: &str) {
    for (resource, key) in state.store.keys_in_namespace(ns) {
        let _ = state.store.write(&resource, &key, false, |current, _| {
            let Some(current) = current else {
                return Ok(Write::Unchanged(Value::Null));
            };
            let has_finalizers = current["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
            if has_finalizers {
                if current["metadata"]["deletionTimestamp"].is_null() {
                    let mut new = current.clone();
                    new["metadata"]["deletionTimestamp"] = json!(objects::now());
                    new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                    return Ok(Write::Put(new));
                }
                return Ok(Write::Unchanged(current.clone()));
            }
            Ok(Write::Delete)
        });
    }
    finish_namespace(state, ns);
}

/// Removes a terminating namespace once nothing is left in it.
fn finish_namespace(state: &AppState, ns: &str) {
    let key = (String::new(), ns.to_owned());
    let Some(namespace) = state.store.get("namespaces", &key) else {
        return;
    };
    if namespace["metadata"]["deletionTimestamp"].is_null()
        || !state.store.keys_in_namespace(ns).is_empty()
    {
        return;
    }
    let _ = state
        .store
        .write("namespaces", &key, false, |current, _| match current {
            Some(c)
                if c["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(Vec::is_empty) =>
            {
                Ok(Write::Delete)
            }
            Some(c) => Ok(Write::Unchanged(c.clone())),
            None => Ok(Write::Unchanged(Value::Null)),
        });
}

/// A deleted CRD takes its objects with it.
fn remove_custom_resources(state: &AppState, crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    let resource = qualified(group, plural);
    let (_, objects) = state.store.list(&resource, None, None, |_| true);
    for (key, _) in objects {
        let _ = state.store.write(&resource, &key, false, |c, _| {
            Ok(if c.is_some() {
                Write::Delete
            } else {
                Write::Unchanged(Value::Null)
            })
        });
    }
    tracing::info!(
        crd = crd["metadata"]["name"].as_str().unwrap_or_default(),
        "stopped serving custom resource"
    );
}

struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn from_query(rt: &ResourceType, query: &Query) -> ApiResult<Self> {
        Ok(Self {
            labels: LabelSelector::parse(
                query
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or_default(),
            )
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
            fields: FieldSelector::parse(
                query
                    .get("fieldSelector")
                    .map(String::as_str)
                    .unwrap_or_default(),
                &rt.kind,
            )
            .map_err(ApiError::bad_request)?,
        })
    }
    fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

fn list_kind(rt: &ResourceType) -> String {
    format!("{}List", rt.kind)
}

/// `kubectl get` asks for server-side printing.
fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table") && accept.contains("g=meta.k8s.io")
}

/// How to print objects of one resource as `Table`s.
struct TableView {
    kind: String,
    printer_columns: Option<Vec<Value>>,
    include: crate::table::Include,
}

impl TableView {
    fn render(&self, objects: &[Value], meta: Value) -> Value {
        crate::table::table(
            &self.kind,
            self.printer_columns.as_deref(),
            objects,
            self.include,
            meta,
        )
    }
}

/// Custom resources get their CRD version's printer columns.
fn table_view(state: &AppState, t: &Target, query: &Query) -> TableView {
    let printer_columns: Option<Vec<Value>> = t.rt.crd.as_ref().map(|crd| {
        state
            .store
            .get(
                &qualified("apiextensions.k8s.io", "customresourcedefinitions"),
                &(String::new(), crd.clone()),
            )
            .and_then(|c| {
                c["spec"]["versions"]
                    .as_array()?
                    .iter()
                    .find(|v| v["name"].as_str() == Some(t.rt.version.as_str()))?
                    ["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
            })
            .unwrap_or_default()
    });
    TableView {
        kind: t.rt.kind.clone(),
        printer_columns,
        include: crate::table::Include::parse(query.get("includeObject").map(String::as_str)),
    }
}

/// The `Table` of `objects`.
fn as_table(state: &AppState, t: &Target, query: &Query, objects: &[Value], meta: Value) -> Value {
    table_view(state, t, query).render(objects, meta)
}

fn list(state: &AppState, t: &Target, query: &Query) -> ApiResult {
    let paged = query.get("limit").is_some_and(|l| l != "0")
        || query.get("continue").is_some_and(|c| !c.is_empty());
    if paged {
        return ok(&list_value(state, t, query)?);
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

fn list_value(state: &AppState, t: &Target, query: &Query) -> ApiResult<Value> {
    let rt = &t.rt;
    let filter = Filter::from_query(rt, query)?;
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => None,
        Some(Ok(0)) => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err(ApiError::bad_request(
                "limit must be a non-negative integer",
            ));
        }
    };
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => Some(decode_continue(token)?),
    };
    let (rv, items) = state.store.list(
        &rt.storage_key(),
        t.namespace.as_deref(),
        after.as_ref(),
        |o| filter.matches(o),
    );
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    let total = items.len();
    let items: Vec<(ObjectKey, Value)> = match limit {
        Some(n) if total > n => {
            let page: Vec<_> = items.into_iter().take(n).collect();
            if let Some((last, _)) = page.last() {
                metadata["continue"] = json!(encode_continue(last));
                metadata["remainingItemCount"] = json!(total - n);
            }
            page
        }
        _ => items,
    };
    let items: Vec<Value> = items.into_iter().map(|(_, v)| as_version(rt, v)).collect();
    Ok(json!({
        "kind": list_kind(rt),
        "apiVersion": rt.api_version(),
        "metadata": metadata,
        "items": items,
    }))
}

fn encode_continue(key: &ObjectKey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"v": "1", "ns": key.0, "name": key.1}).to_string())
}

fn decode_continue(token: &str) -> ApiResult<ObjectKey> {
    let bad = || ApiError::bad_request("continue key is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    match (v["ns"].as_str(), v["name"].as_str()) {
        (Some(ns), Some(name)) => Ok((ns.to_owned(), name.to_owned())),
        _ => Err(bad()),
    }
}

fn delete_collection(
    state: &AppState,
    t: &Target,
    query: &Query,
    options: &DeleteOptions,
    dry_run: bool,
) -> ApiResult {
    let rt = &t.rt;
    let filter = Filter::from_query(rt, query)?;
    let (rv, items) = state
        .store
        .list(&rt.storage_key(), t.namespace.as_deref(), None, |o| {
            filter.matches(o)
        });
    let mut deleted = Vec::new();
    for ((ns, name), _) in items {
        let target = Target {
            rt: t.rt.clone(),
            namespace: (!ns.is_empty()).then_some(ns),
            name: Some(name),
            sub: None,
        };
        match delete(state, &target, options, dry_run) {
            Ok(v) => deleted.push(v),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    ok(&json!({
        "kind": list_kind(rt),
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": deleted,
    }))
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    event_line(
        "BOOKMARK",
        &json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
    )
}

fn gone_line(message: String) -> Bytes {
    event_line("ERROR", &ApiError::gone(message).to_status())
}

/// What a filtered watcher should see of one event, if anything.
fn translate(
    table: Option<&TableView>,
    rt: &ResourceType,
    namespace: Option<&str>,
    filter: &Filter,
    e: &Event,
) -> Option<Bytes> {
    let in_scope = |o: &Value| {
        namespace.is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            && filter.matches(o)
    };
    let now = in_scope(&e.object);
    let kind = match e.kind {
        EventType::Added if now => "ADDED",
        EventType::Deleted if now => "DELETED",
        EventType::Modified => match (e.old.as_ref().is_some_and(in_scope), now) {
            (true, true) => "MODIFIED",
            (false, true) => "ADDED",
            (true, false) => "DELETED",
            (false, false) => return None,
        },
        _ => return None,
    };
    Some(event_line(
        kind,
        &rendered(table, as_version(rt, e.object.clone())),
    ))
}

/// A watched object as sent: itself, or a one-row `Table`.
fn rendered(table: Option<&TableView>, object: Value) -> Value {
    match table {
        Some(view) => {
            let meta = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
            view.render(&[object], meta)
        }
        None => object,
    }
}

fn watch(state: &Arc<AppState>, t: &Target, query: &Query, table: Option<TableView>) -> ApiResult {
    let rt = t.rt.clone();
    let filter = Filter::from_query(&rt, query)?;
    let namespace = t.namespace.clone();
    let bookmarks = matches!(
        query.get("allowWatchBookmarks").map(String::as_str),
        Some("true" | "1")
    );
    let send_initial = query.get("sendInitialEvents").map(String::as_str);
    let timeout = match query.get("timeoutSeconds").map(|s| s.parse::<u64>()) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(Duration::from_secs(n)),
        Some(Ok(_)) => None,
        Some(Err(_)) => {
            return Err(ApiError::bad_request(
                "timeoutSeconds must be a non-negative integer",
            ));
        }
    };
    let rv_param = query
        .get("resourceVersion")
        .map(String::as_str)
        .unwrap_or("");
    let from = match rv_param {
        "" | "0" => None,
        s => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s:?}")))?,
        ),
    };
    let initial = match (from, send_initial) {
        (_, Some("true")) => true,
        (None, Some("false")) => false,
        (None, _) => true,
        (Some(_), _) => false,
    };
    let announce_initial_end = send_initial == Some("true") && bookmarks;

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );

    let subscription = match state.store.subscribe(&rt.storage_key(), from) {
        Ok(s) => s,
        Err(compacted) => {
            let line = gone_line(format!(
                "too old resource version: {} ({})",
                from.unwrap_or_default(),
                compacted + 1
            ));
            tokio::spawn(async move {
                let _ = tx.send(line).await;
            });
            return Ok(response);
        }
    };
    // The initial list is read after subscribing; events already applied to
    // it are skipped by resourceVersion below.
    let (list_rv, initial_objects) = if initial {
        state
            .store
            .list(&rt.storage_key(), namespace.as_deref(), None, |o| {
                filter.matches(o)
            })
    } else {
        (subscription.resource_version, Vec::new())
    };
    let mut shutdown = state.shutdown.clone();
    let interval = state.bookmark_interval;
    tokio::spawn(async move {
        let mut last_rv = subscription.resource_version;
        for (_, o) in initial_objects {
            if tx
                .send(event_line(
                    "ADDED",
                    &rendered(table.as_ref(), as_version(&rt, o)),
                ))
                .await
                .is_err()
            {
                return;
            }
        }
        if announce_initial_end {
            last_rv = last_rv.max(list_rv);
            if tx.send(bookmark(&rt, list_rv, true)).await.is_err() {
                return;
            }
        }
        for e in subscription.backlog {
            last_rv = e.resource_version;
            if let Some(line) = translate(table.as_ref(), &rt, namespace.as_deref(), &filter, &e)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        let mut live = subscription.live;
        let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(bookmark(&rt, last_rv, false)).await.is_err() {
                        return;
                    }
                }
                received = live.recv() => match received {
                    Ok(e) => {
                        // Already part of the initial list.
                        if e.resource_version <= list_rv && initial {
                            continue;
                        }
                        last_rv = e.resource_version;
                        if e.resource != rt.storage_key() {
                            continue;
                        }
                        if let Some(line) = translate(table.as_ref(), &rt, namespace.as_deref(), &filter, &e)
                            && tx.send(line).await.is_err() {
                                return;
                            }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(gone_line(format!(
                            "too old resource version: {last_rv}: the watcher fell behind"
                        ))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(response)
}

/// Creates the objects every cluster starts with.
pub(crate) fn seed(state: &AppState) {
    let Some(rt) = state.registry.find("", "v1", "namespaces") else {
        return;
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        // Already there when restarted from a data directory.
        if state
            .store
            .get("namespaces", &(String::new(), name.to_owned()))
            .is_some()
        {
            continue;
        }
        let t = Target {
            rt: rt.clone(),
            namespace: None,
            name: None,
            sub: None,
        };
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        if let Err(e) = create(state, &t, object, &Query::new(), false) {
            tracing::warn!(namespace = name, error = %e.message, "seeding failed");
        }
    }
}

/// The finalizer a Foreground or Orphan delete puts on the object for the
/// garbage collector (none when it does not run, and never on namespaces).
fn gc_finalizer(
    state: &AppState,
    rt: &ResourceType,
    options: &DeleteOptions,
) -> Option<&'static str> {
    if !state.gc_enabled || rt.kind == "Namespace" {
        return None;
    }
    match options.policy.as_deref() {
        Some("Foreground") => Some("foregroundDeletion"),
        Some("Orphan") => Some("orphan"),
        _ => None,
    }
}

// Write paths for the simulated controllers and the garbage collector
// (crate::controllers): the same defaulting, validation and bookkeeping as
// requests get.

fn internal_target(state: &AppState, resource: &str, key: &ObjectKey) -> ApiResult<Target> {
    let rt = state
        .registry
        .all()
        .into_iter()
        .find(|r| r.storage_key() == resource)
        .ok_or_else(|| ApiError::internal(format!("resource {resource} is not served")))?;
    Ok(Target {
        rt,
        namespace: (!key.0.is_empty()).then(|| key.0.clone()),
        name: (!key.1.is_empty()).then(|| key.1.clone()),
        sub: None,
    })
}

/// Creates `object` in `namespace` ("" for cluster-scoped) as a POST would.
pub(crate) fn create_internal(
    state: &AppState,
    resource: &str,
    namespace: &str,
    object: Value,
) -> ApiResult<Value> {
    let t = internal_target(state, resource, &(namespace.to_owned(), String::new()))?;
    create(state, &t, object, &Query::new(), false).map(|(v, _)| v)
}

/// Replaces an object with `f` applied to it as a PUT would (removing the
/// last finalizer of an object being deleted deletes it). `Null` when the
/// object is gone.
pub(crate) fn update_internal(
    state: &AppState,
    resource: &str,
    key: &ObjectKey,
    f: impl FnOnce(&mut Value),
) -> ApiResult<Value> {
    let t = internal_target(state, resource, key)?;
    let (stored, kind) = state.store.write(resource, key, false, |current, _| {
        let Some(current) = current else {
            return Ok(Write::Unchanged(Value::Null));
        };
        let mut new = current.clone();
        f(&mut new);
        finish_update(state, &t, current, new)
    })?;
    after_write(state, &t, &stored, kind, false);
    Ok(stored)
}

/// Deletes an object as a DELETE with `propagationPolicy` would.
pub(crate) fn delete_internal(
    state: &AppState,
    resource: &str,
    key: &ObjectKey,
    policy: Option<&str>,
) -> ApiResult<Value> {
    let t = internal_target(state, resource, key)?;
    let options = DeleteOptions {
        policy: policy.map(str::to_owned),
        ..DeleteOptions::default()
    };
    delete(state, &t, &options, false)
}

/// Deletes a pod for good, as the kubelet does once its containers stopped
/// (a DELETE with `gracePeriodSeconds=0`).
pub(crate) fn delete_internal_now(
    state: &AppState,
    resource: &str,
    key: &ObjectKey,
) -> ApiResult<Value> {
    let t = internal_target(state, resource, key)?;
    let options = DeleteOptions {
        grace_period: Some(0),
        ..DeleteOptions::default()
    };
    delete(state, &t, &options, false)
}
