//! jq path expressions (`jqPathExpressions`), evaluated with `jaq-core`.

use serde_json::Value;

use super::value::Step;

/// A compiled jq path expression.
pub(crate) struct JqPaths;

impl JqPaths {
    /// Parses and compiles `expr`; `Err` says why it is refused.
    pub(crate) fn compile(_expr: &str) -> Result<Self, String> {
        Err("jq path expressions are not supported yet".into())
    }

    /// The concrete paths the expression selects in `input`.
    pub(crate) fn paths(&self, _input: &Value) -> Result<Vec<Vec<Step>>, String> {
        Ok(Vec::new())
    }
}
