//! What a YAML scalar means to Kubernetes.
//!
//! `kubectl`, the API server and Argo read manifests with `sigs.k8s.io/yaml`: go-yaml v2
//! resolves each scalar under YAML 1.1 rules (`yes`/`on`/`y` are booleans, `0644` is octal,
//! `1_000` is an integer, timestamps stay strings), then the value is written as JSON and
//! read back the way `kubectl` reads JSON (integers that fit 64 bits stay integers, other
//! numbers become floats). Mapping keys become strings on the way (`0x10: a` has the key
//! `"16"`, `on: a` the key `"true"`).
//!
//! The rules here are go-yaml v2's `resolve.go` and `sigs.k8s.io/yaml`'s
//! `convertToJSONableObject`, checked against `kubectl` itself (see
//! `tests/kubectl_scalars.rs`).

use base64::Engine;

/// What go-yaml v2 makes of a scalar, before the conversion to JSON.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum GoValue {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `y`/`yes`/`true`/`on` and `n`/`no`/`false`/`off` in three spellings each.
    Bool(bool),
    /// An integer that fits `int64`.
    Int(i64),
    /// A positive integer beyond `int64`, up to `uint64`.
    UInt(u64),
    /// A floating point number, including `.inf` and `.nan`.
    Float(f64),
    /// Anything else: the scalar's text.
    Str,
}

/// How a scalar asks to be read: by its look, or by an explicit tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Typing {
    /// A plain scalar without a tag: resolved by its look.
    Plain,
    /// Quoted, a block scalar, `!!str`, the non-specific `!`, or a tag go-yaml does not
    /// resolve (custom `!foo`, `!!timestamp`, ...): the text as it is.
    Str,
    /// `!!binary`: base64 of the text.
    Binary,
    /// `!!null`, `!!bool`, `!!int` or `!!float`: resolved by its look, which must agree.
    Tagged(CoreTag),
}

/// The YAML tags go-yaml checks a scalar against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CoreTag {
    /// `!!null`
    Null,
    /// `!!bool`
    Bool,
    /// `!!int`
    Int,
    /// `!!float`
    Float,
}

impl Typing {
    /// The typing of a scalar from its tag (the part after `tag:yaml.org,2002:`, or
    /// `None` for any other tag) and whether it was plain.
    pub(crate) fn of(tag: Option<Option<&str>>, plain: bool) -> Typing {
        match tag {
            None if plain => Typing::Plain,
            None => Typing::Str,
            Some(Some("null")) => Typing::Tagged(CoreTag::Null),
            Some(Some("bool")) => Typing::Tagged(CoreTag::Bool),
            Some(Some("int")) => Typing::Tagged(CoreTag::Int),
            Some(Some("float")) => Typing::Tagged(CoreTag::Float),
            Some(Some("binary")) => Typing::Binary,
            Some(_) => Typing::Str,
        }
    }
}

/// Resolves a scalar the way go-yaml v2 does: its value, and its text when that changes
/// (`!!binary`). Errors are go-yaml's.
pub(crate) fn resolve(text: &str, typing: Typing) -> Result<(GoValue, Option<String>), String> {
    match typing {
        Typing::Plain => Ok((resolve_plain(text), None)),
        Typing::Str => Ok((GoValue::Str, None)),
        Typing::Binary => {
            let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| "!!binary value contains invalid base64 data".to_owned())?;
            let decoded = String::from_utf8_lossy(&bytes).into_owned();
            Ok((GoValue::Str, Some(decoded)))
        }
        Typing::Tagged(tag) => {
            let value = resolve_plain(text);
            let value = match (tag, value) {
                (CoreTag::Null, GoValue::Null)
                | (CoreTag::Bool, GoValue::Bool(_))
                | (CoreTag::Int, GoValue::Int(_) | GoValue::UInt(_))
                | (CoreTag::Float, GoValue::Float(_)) => value,
                (CoreTag::Float, GoValue::Int(n)) => GoValue::Float(n as f64),
                _ => {
                    return Err(format!(
                        "cannot decode {} `{text}` as a {}",
                        tag_name_of(value),
                        tag_name(tag)
                    ));
                }
            };
            Ok((value, None))
        }
    }
}

fn tag_name(tag: CoreTag) -> &'static str {
    match tag {
        CoreTag::Null => "!!null",
        CoreTag::Bool => "!!bool",
        CoreTag::Int => "!!int",
        CoreTag::Float => "!!float",
    }
}

fn tag_name_of(value: GoValue) -> &'static str {
    match value {
        GoValue::Null => "!!null",
        GoValue::Bool(_) => "!!bool",
        GoValue::Int(_) | GoValue::UInt(_) => "!!int",
        GoValue::Float(_) => "!!float",
        GoValue::Str => "!!str",
    }
}

/// go-yaml v2's implicit resolution of a plain scalar (`resolve.go`).
pub(crate) fn resolve_plain(text: &str) -> GoValue {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return GoValue::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return GoValue::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return GoValue::Null,
        ".nan" | ".NaN" | ".NAN" => return GoValue::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return GoValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return GoValue::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match text.as_bytes()[0] {
        // Go's `strconv.ParseFloat` on the text as written.
        b'.' => go_float_from_dot(text).map_or(GoValue::Str, GoValue::Float),
        b'0'..=b'9' | b'+' | b'-' => {
            // Underscores are dropped first: `1_000` is 1000, `0x_1F` is 31. (Timestamps,
            // `2001-12-14`, are strings: no number parses them.)
            let plain = text.replace('_', "");
            if let Some(n) = go_parse_int(&plain) {
                return GoValue::Int(n);
            }
            if let Some(n) = go_parse_uint(&plain) {
                return GoValue::UInt(n);
            }
            if is_yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
                && f.is_finite()
            {
                return GoValue::Float(f);
            }
            GoValue::Str
        }
        _ => GoValue::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` (no underscores left): a sign, then decimal,
/// `0x`/`0o`/`0b`, or octal with a leading `0`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` (no underscores left).
fn go_parse_uint(s: &str) -> Option<u64> {
    let lower = |i: usize| s.as_bytes().get(i).map(u8::to_ascii_lowercase);
    let (radix, digits) = match (lower(0), lower(1)) {
        (Some(b'0'), Some(b'b')) if s.len() >= 3 => (2, &s[2..]),
        (Some(b'0'), Some(b'o')) if s.len() >= 3 => (8, &s[2..]),
        (Some(b'0'), Some(b'x')) if s.len() >= 3 => (16, &s[2..]),
        (Some(b'0'), _) => (8, &s[1..]),
        (Some(_), _) => (10, s),
        (None, _) => return None,
    };
    if digits.is_empty() {
        // Only `0` itself reaches here with nothing left.
        return (radix == 8).then_some(0);
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, go-yaml's float shape.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Go's `strconv.ParseFloat` for text starting with `.`: `.5`, `.5e3`, `.5_0`
/// (underscores only between digits), finite results only.
fn go_float_from_dot(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let digit_run = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
        *i > start && bytes[start].is_ascii_digit()
    };
    if !digit_run(&mut i) {
        return None;
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        i += 1;
        if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
            i += 1;
        }
        if !digit_run(&mut i) {
            return None;
        }
    }
    if i != bytes.len() || !underscores_between_digits(s) {
        return None;
    }
    let value: f64 = s.replace('_', "").parse().ok()?;
    value.is_finite().then_some(value)
}

/// Go's `underscoreOK` for decimal text: every `_` sits between two digits.
fn underscores_between_digits(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).all(|i| {
        b[i] != b'_'
            || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// A scalar's value once written as JSON and read back by `kubectl`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum JsonScalar {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number JSON writes without a fraction or exponent, within `int64`.
    Int(i64),
    /// Any other finite number.
    Float(f64),
    /// The scalar's text.
    Str,
}

/// The JSON value of a resolved scalar: `1e3` and `1.0` are integers there, integers
/// beyond `int64` are floats, and infinities and NaN cannot be written at all.
pub(crate) fn json_value(value: GoValue, text: &str) -> Result<JsonScalar, String> {
    Ok(match value {
        GoValue::Null => JsonScalar::Null,
        GoValue::Bool(b) => JsonScalar::Bool(b),
        GoValue::Int(n) => JsonScalar::Int(n),
        GoValue::UInt(n) => JsonScalar::Float(n as f64),
        GoValue::Float(f) if !f.is_finite() => {
            return Err(format!(
                "`{text}` is {}, which JSON cannot hold (quote it to keep the text)",
                go_special_float(f)
            ));
        }
        GoValue::Float(f) => match whole_i64(f) {
            Some(n) => JsonScalar::Int(n),
            None => JsonScalar::Float(f),
        },
        GoValue::Str => JsonScalar::Str,
    })
}

/// `f` as an `int64` when Go's JSON encoder writes it as integer text that fits: whole
/// numbers below 1e21 are written as their shortest digits padded with zeros
/// (`2^63` is written `9223372036854776000`, beyond `int64`), and `kubectl` reads such
/// text as an integer.
fn whole_i64(f: f64) -> Option<i64> {
    if f.trunc() != f || f.abs() >= 1e21 {
        return None;
    }
    // Rust's `{:e}` gives the same shortest digits as Go's `strconv` (-1 precision).
    let shortest = format!("{f:e}");
    let (mantissa, exponent) = shortest.split_once('e')?;
    let exponent: usize = exponent.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut text = String::from(if negative { "-" } else { "" });
    text.push_str(&digits);
    text.extend(std::iter::repeat_n(
        '0',
        (exponent + 1).saturating_sub(digits.len()),
    ));
    text.parse().ok()
}

fn go_special_float(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// The JSON key of a mapping key (`convertToJSONableObject`): strings as they are,
/// booleans and integers as their text, floats as Go's `%g` of a float32.
pub(crate) fn json_key(value: GoValue, text: &str) -> Result<String, String> {
    match value {
        GoValue::Str => Ok(text.to_owned()),
        GoValue::Bool(b) => Ok(b.to_string()),
        GoValue::Int(n) => Ok(n.to_string()),
        GoValue::Float(f) => Ok(go_float32_key(f)),
        GoValue::Null => Err(format!(
            "the mapping key `{text}` is null, which JSON cannot hold as a key (quote it)"
        )),
        GoValue::UInt(_) => Err(format!(
            "the mapping key `{text}` is an integer beyond 64-bit signed range, which JSON \
             cannot hold as a key (quote it)"
        )),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)` with go-yaml's names for the specials.
fn go_float32_key(f: f64) -> String {
    let single = f as f32;
    if single.is_nan() {
        return ".nan".into();
    }
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // Rust's `{:e}` is the shortest text that reads back as the same float32, as Go's is.
    let shortest = format!("{single:e}");
    let (negative, body) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest.as_str()),
    };
    let (mantissa, exponent) = body.split_once('e').unwrap_or((body, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(if negative { "-" } else { "" });
    if digits == "0" {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        out.push_str(&format!("e{sign}{:02}", exponent.abs()));
        return out;
    }
    let point = exponent + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2() {
        use GoValue::*;
        let cases = [
            ("yes", Bool(true)),
            ("Y", Bool(true)),
            ("off", Bool(false)),
            ("yES", Str),
            ("0644", Int(420)),
            ("0o17", Int(15)),
            ("0x_1F", Int(31)),
            ("-0b11", Int(-3)),
            ("09", Float(9.0)),
            ("0", Int(0)),
            ("0x", Str),
            ("0b2", Str),
            ("+", Str),
            ("1__0", Int(10)),
            ("9223372036854775808", UInt(9_223_372_036_854_775_808)),
            ("1e400", Str),
            ("1.e2", Float(100.0)),
            ("0.", Float(0.0)),
            (".5_0", Float(0.5)),
            ("._5", Str),
            (".", Str),
            ("-.nan", Str),
            ("190:20:30", Str),
            ("2001-12-14", Str),
            ("0x1p3", Str),
            ("<<", Str),
        ];
        for (text, expected) in cases {
            let got = resolve_plain(text);
            match (got, expected) {
                (Float(a), Float(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text}"),
                _ => assert_eq!(got, expected, "{text}"),
            }
        }
    }

    #[test]
    fn whole_floats_become_integers_as_go_writes_them() {
        assert_eq!(whole_i64(1000.0), Some(1000));
        assert_eq!(whole_i64(-0.0), Some(0));
        assert_eq!(whole_i64(1.5), None);
        assert_eq!(
            whole_i64(4_611_686_018_427_387_904.0),
            Some(4_611_686_018_427_388_000)
        );
        assert_eq!(whole_i64(-9_223_372_036_854_775_808.0), None);
        assert_eq!(whole_i64(1e21), None);
    }

    #[test]
    fn float_keys_are_go_float32_g() {
        for (f, text) in [
            (1.5, "1.5"),
            (1000.0, "1000"),
            (1e6, "1e+06"),
            (1e8, "1e+08"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (std::f64::consts::PI, "3.1415927"),
            (-0.0, "-0"),
            (1e300, ".inf"),
        ] {
            assert_eq!(go_float32_key(f), text, "{f}");
        }
    }
}
