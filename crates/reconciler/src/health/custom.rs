//! Custom health checks as CEL expressions, with the semantics of Flux's
//! `healthCheckExprs` (fluxcd/pkg `runtime/cel`, RFC-0009):
//!
//! - the object's top-level fields (`apiVersion`, `kind`, `metadata`, `spec`, `status`,
//!   and any other) are variables; Windlass also binds the whole object as `self`;
//! - when `status.observedGeneration` is an integer that differs from
//!   `metadata.generation`, the object is in progress without evaluating anything;
//! - then `inProgress`, `failed` and `current` are evaluated in that order (RFC-0009's
//!   order); the first that is true decides (Progressing, Degraded, Healthy); none true
//!   means in progress;
//! - an expression that fails to evaluate (e.g. a field that does not exist yet: guard
//!   with `has(...)` or `.?field.orValue(...)`) or is not a boolean gives Unknown with
//!   the reason, as Argo does for a failing custom check.

use std::sync::{Arc, LazyLock};

use cel::{Context, Env, Program, Value as CelValue};
use serde_json::Value;

use super::{HealthStatusCode, ResourceHealth};
use crate::Error;

/// A custom check for one group/kind, as CEL expressions (the shape of Flux's
/// `healthCheckExprs`): `current` true ⇒ Healthy, `failed` true ⇒ Degraded,
/// `in_progress` true ⇒ Progressing; evaluated in Flux's order `in_progress` → `failed`
/// → `current`; none true ⇒ Progressing. The object's top-level fields are variables
/// (`status.conditions...`), and the object itself is `self`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// True when the object is healthy (Flux's `Current`). Required.
    pub current: String,
    /// True while the object is still progressing (Flux's `InProgress`).
    #[serde(default)]
    pub in_progress: Option<String>,
    /// True when the object has failed (Flux's `Failed`).
    #[serde(default)]
    pub failed: Option<String>,
}

/// The environment every custom check compiles and runs in: CEL's standard library,
/// optional syntax, and the strings extension (Flux enables cel-go's strings too).
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // The extension only adds functions; failing to register it would be a bug in the
    // pinned cel version, not a user error, and leaves the standard library working.
    let _ = env.add_extension(cel::extensions::strings);
    Arc::new(env)
});

/// One compiled expression and its source, for messages.
struct Expr {
    source: String,
    program: Program,
}

/// A compiled [`CustomHealthCheck`].
pub(super) struct Compiled {
    in_progress: Option<Expr>,
    failed: Option<Expr>,
    current: Expr,
}

impl Compiled {
    pub(super) fn new(group: &str, kind: &str, check: &CustomHealthCheck) -> crate::Result<Self> {
        let compile = |field: &'static str, source: &str| -> crate::Result<Expr> {
            let error = |message: String| Error::HealthCheckExpression {
                group: group.to_owned(),
                kind: kind.to_owned(),
                field,
                expression: source.to_owned(),
                message,
            };
            if source.trim().is_empty() {
                return Err(error("expression is empty".to_owned()));
            }
            let program = ENV.compile(source).map_err(|e| error(e.to_string()))?;
            Ok(Expr {
                source: source.to_owned(),
                program,
            })
        };
        let optional = |field, source: &Option<String>| {
            source
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| compile(field, s))
                .transpose()
        };
        Ok(Compiled {
            current: compile("current", &check.current)?,
            in_progress: optional("inProgress", &check.in_progress)?,
            failed: optional("failed", &check.failed)?,
        })
    }

    pub(super) fn evaluate(&self, obj: &Value) -> ResourceHealth {
        // Flux's built-in guard: a controller that has not seen the latest spec yet.
        let observed = obj["status"]["observedGeneration"].as_i64();
        let generation = obj["metadata"]["generation"].as_i64();
        if let (Some(observed), Some(generation)) = (observed, generation)
            && observed != generation
        {
            return ResourceHealth::status(HealthStatusCode::Progressing);
        }

        let mut context = Context::with_env(Arc::clone(&ENV));
        if let Value::Object(fields) = obj {
            for (name, value) in fields {
                match cel::to_value(value) {
                    Ok(v) => context.add_variable_from_value(name.as_str(), v),
                    Err(e) => {
                        return ResourceHealth::new(
                            HealthStatusCode::Unknown,
                            format!("failed to read field {name:?} for CEL: {e}"),
                        );
                    }
                }
            }
        }
        match cel::to_value(obj) {
            Ok(v) => context.add_variable_from_value("self", v),
            Err(e) => {
                return ResourceHealth::new(
                    HealthStatusCode::Unknown,
                    format!("failed to read the object for CEL: {e}"),
                );
            }
        }

        let order = [
            (self.in_progress.as_ref(), HealthStatusCode::Progressing),
            (self.failed.as_ref(), HealthStatusCode::Degraded),
            (Some(&self.current), HealthStatusCode::Healthy),
        ];
        for (expr, status) in order {
            let Some(expr) = expr else { continue };
            match expr.program.execute(&context) {
                Ok(CelValue::Bool(true)) => return ResourceHealth::status(status),
                Ok(CelValue::Bool(false)) => {}
                Ok(_) => {
                    return ResourceHealth::new(
                        HealthStatusCode::Unknown,
                        format!(
                            "failed to evaluate CEL expression as boolean: '{}'",
                            expr.source
                        ),
                    );
                }
                Err(e) => {
                    return ResourceHealth::new(
                        HealthStatusCode::Unknown,
                        format!(
                            "failed to evaluate the CEL expression '{}': {e}",
                            expr.source
                        ),
                    );
                }
            }
        }
        ResourceHealth::status(HealthStatusCode::Progressing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn compiled_checks_can_be_shared_between_threads() {
        assert_send_sync::<Compiled>();
        assert_send_sync::<super::super::HealthChecks>();
    }
}
