//! `pods/log`: what the simulated kubelet says its containers printed.
//!
//! Nothing runs, so the log is synthesised from the pod's status: one line when a
//! container started, and for failing containers the error that stopped them. The
//! checks in front of it answer like the real kubelet (a container name is required
//! when the pod has several, waiting containers have no log yet).

use serde_json::Value;

use crate::status::ApiError;

/// The query parameters of `GET .../pods/<name>/log` that change the answer.
#[derive(Debug, Default)]
pub(crate) struct LogOptions<'a> {
    pub container: Option<&'a str>,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
}

fn containers(pod: &Value) -> Vec<&str> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod["spec"][list].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
        .collect()
}

fn status_of<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|list| pod["status"][list].as_array().into_iter().flatten())
        .find(|s| s["name"].as_str() == Some(container))
}

/// The log text of one container, or the error the real API server gives.
pub(crate) fn pod_log(pod: &Value, options: &LogOptions<'_>) -> Result<String, ApiError> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let spec_containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let container = match options.container {
        Some(c) if containers(pod).contains(&c) => c,
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if spec_containers.len() == 1 => spec_containers[0],
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                spec_containers.join(" ")
            )));
        }
    };
    let spec = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod["spec"][list].as_array().into_iter().flatten())
        .find(|c| c["name"].as_str() == Some(container))
        .cloned()
        .unwrap_or_default();
    let image = spec["image"].as_str().unwrap_or_default();
    let status = status_of(pod, container);
    let state = if options.previous {
        status.map(|s| &s["lastState"])
    } else {
        status.map(|s| &s["state"])
    };
    let Some(state) = state.filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) else {
        return Err(ApiError::bad_request(if options.previous {
            format!("previous terminated container {container:?} in pod {name:?} not found")
        } else {
            format!(
                "container {container:?} in pod {name:?} is waiting to start: ContainerCreating"
            )
        }));
    };
    if let Some(waiting) = state.get("waiting") {
        let why = match waiting["reason"].as_str() {
            Some("ImagePullBackOff" | "ErrImagePull") => {
                "trying and failing to pull image".to_owned()
            }
            Some(reason) if reason != "CrashLoopBackOff" => reason.to_owned(),
            // A crash-looping container's log is that of its last run.
            _ => {
                return pod_log(
                    pod,
                    &LogOptions {
                        container: Some(container),
                        previous: true,
                        ..*options
                    },
                );
            }
        };
        return Err(ApiError::bad_request(format!(
            "container {container:?} in pod {name:?} is waiting to start: {why}"
        )));
    }
    let mut lines: Vec<(String, String)> = Vec::new();
    if let Some(running) = state.get("running") {
        let at = running["startedAt"].as_str().unwrap_or_default().to_owned();
        lines.push((
            at,
            format!("windlass: simulated container {container} started (image {image})"),
        ));
    } else if let Some(done) = state.get("terminated") {
        let started = done["startedAt"].as_str().unwrap_or_default().to_owned();
        let finished = done["finishedAt"].as_str().unwrap_or_default().to_owned();
        lines.push((
            started,
            format!("windlass: simulated container {container} started (image {image})"),
        ));
        let code = done["exitCode"].as_i64().unwrap_or_default();
        lines.push((
            finished,
            if code == 0 {
                format!("windlass: simulated container {container} completed")
            } else {
                format!(
                    "windlass: simulated container {container} failed with exit code {code} (the failure rule matched)"
                )
            },
        ));
    }
    if let Some(n) = options.tail_lines {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    Ok(lines
        .into_iter()
        .map(|(at, line)| {
            if options.timestamps {
                format!("{at} {line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: &[&str], statuses: Value) -> Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {"containers": containers.iter().map(|c| json!({"name": c, "image": "nginx"})).collect::<Vec<_>>()},
            "status": {"containerStatuses": statuses},
        })
    }

    #[test]
    fn a_running_container_says_it_started() {
        let p = pod(
            &["app"],
            json!([{"name": "app", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]),
        );
        let text = pod_log(&p, &LogOptions::default()).expect("log");
        assert_eq!(
            text,
            "windlass: simulated container app started (image nginx)\n"
        );
        let text = pod_log(
            &p,
            &LogOptions {
                timestamps: true,
                ..LogOptions::default()
            },
        )
        .expect("log");
        assert!(text.starts_with("2026-01-01T00:00:00Z windlass:"), "{text}");
    }

    #[test]
    fn several_containers_need_a_name() {
        let p = pod(&["a", "b"], json!([]));
        let e = pod_log(&p, &LogOptions::default()).expect_err("ambiguous");
        assert_eq!(e.to_status()["code"], 400);
        assert_eq!(
            e.to_status()["message"],
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        let e = pod_log(
            &p,
            &LogOptions {
                container: Some("c"),
                ..LogOptions::default()
            },
        )
        .expect_err("unknown");
        assert_eq!(
            e.to_status()["message"],
            "container c is not valid for pod p"
        );
    }

    #[test]
    fn waiting_containers_have_no_log_and_crash_loops_show_the_last_run() {
        let p = pod(&["app"], json!([]));
        let e = pod_log(&p, &LogOptions::default()).expect_err("pending");
        assert_eq!(
            e.to_status()["message"],
            "container \"app\" in pod \"p\" is waiting to start: ContainerCreating"
        );
        let p = pod(
            &["app"],
            json!([{"name": "app",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "startedAt": "s", "finishedAt": "f"}}}]),
        );
        let text = pod_log(
            &p,
            &LogOptions {
                tail_lines: Some(1),
                ..LogOptions::default()
            },
        )
        .expect("log");
        assert_eq!(
            text,
            "windlass: simulated container app failed with exit code 1 (the failure rule matched)\n"
        );
    }
}
