//! Secrets never reach the log: values under keys that name a secret are replaced.

use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Whether a variable called `key` holds a secret (case and separators ignored):
/// passwords, tokens, secrets, credentials, private keys, authorization headers.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "password",
        "passwd",
        "token",
        "secret",
        "credential",
        "privatekey",
        "authorization",
        "apikey",
        "cookie",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// `value` with every value under a secret-naming key (at any depth) replaced by
/// [`REDACTED`].
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_nothing_else() {
        let v = serde_json::json!({
            "name": "guestbook",
            "gitToken": "ghp_x",
            "input": {"repo": {"url": "https://h/r.git", "password": "p", "private_key": "k"}},
            "headers": [{"Authorization": "Bearer x"}],
            "tokenless": null
        });
        let r = redact(&v);
        assert_eq!(r["name"], "guestbook");
        assert_eq!(r["gitToken"], REDACTED);
        assert_eq!(r["input"]["repo"]["url"], "https://h/r.git");
        assert_eq!(r["input"]["repo"]["password"], REDACTED);
        assert_eq!(r["input"]["repo"]["private_key"], REDACTED);
        assert_eq!(r["headers"][0]["Authorization"], REDACTED);
        assert!(!r.to_string().contains("ghp_x"));
    }
}
