//! (placeholder until the health module lands)
#![allow(missing_docs)]
pub use windlass_entity_model::argocd::HealthStatusCode;

pub fn severity(status: HealthStatusCode) -> u8 {
    match status {
        HealthStatusCode::Healthy => 0,
        HealthStatusCode::Suspended => 1,
        HealthStatusCode::Progressing => 2,
        HealthStatusCode::Missing => 3,
        HealthStatusCode::Degraded => 4,
        HealthStatusCode::Unknown => 5,
    }
}
pub fn is_worse(a: HealthStatusCode, b: HealthStatusCode) -> bool {
    severity(a) > severity(b)
}
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceHealth {
    pub status: HealthStatusCode,
    pub message: Option<String>,
}
#[derive(Clone, Default)]
pub struct HealthChecks;
impl HealthChecks {
    pub fn new() -> Self {
        HealthChecks
    }
    pub fn check(&self, obj: &serde_json::Value) -> Option<ResourceHealth> {
        let kind = obj["kind"].as_str()?;
        match kind {
            "Deployment" => {
                let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
                let avail = obj["status"]["availableReplicas"].as_i64().unwrap_or(0);
                let status = if avail >= want { HealthStatusCode::Healthy } else { HealthStatusCode::Progressing };
                Some(ResourceHealth { status, message: None })
            }
            "Job" => {
                let done = obj["status"]["succeeded"].as_i64().unwrap_or(0) > 0;
                let failed = obj["status"]["failed"].as_i64().unwrap_or(0) > 0;
                let status = if done { HealthStatusCode::Healthy } else if failed { HealthStatusCode::Degraded } else { HealthStatusCode::Progressing };
                Some(ResourceHealth { status, message: None })
            }
            "Service" => Some(ResourceHealth { status: HealthStatusCode::Healthy, message: None }),
            "Pod" => {
                let bad = obj["status"]["containerStatuses"].as_array().into_iter().flatten().any(|c| c["state"]["waiting"]["reason"].as_str().is_some_and(|r| r.contains("BackOff")));
                Some(ResourceHealth { status: if bad { HealthStatusCode::Degraded } else { HealthStatusCode::Healthy }, message: None })
            }
            _ => None,
        }
    }
}
