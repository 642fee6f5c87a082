//! Durations as Argo reads them: Go's `time.ParseDuration` (`300ms`, `-1.5h`, `2h45m`),
//! and, where Argo accepts it, a bare integer as seconds.
//!
//! ```
//! use windlass_entity_model::duration;
//!
//! assert_eq!(duration::parse("1h30m").ok().map(|d| d.as_secs()), Some(5400));
//! assert!(duration::parse("10").is_err()); // Go wants a unit
//! assert_eq!(duration::parse_seconds_or_go("10").ok().map(|d| d.as_secs()), Some(10));
//! ```

use jiff::SignedDuration;

use crate::error::Error;

/// Nanoseconds in each unit Go knows.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Go's `time.ParseDuration`: a sign, then one or more decimal numbers each with a unit
/// (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), or `0` alone; at most about 292 years. The
/// error is Go's message.
pub fn parse(text: &str) -> Result<SignedDuration, Error> {
    let invalid = || error(text, format!("time: invalid duration {}", quote(text)));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_digits, after) = rest.split_at(int_len);
        let whole = leading_int(int_digits).ok_or_else(invalid)?;
        rest = after;
        let mut fraction = (0u64, 1f64);
        let mut has_fraction = false;
        if let Some(after_point) = rest.strip_prefix('.') {
            let len = after_point
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_point.len());
            fraction = leading_fraction(&after_point[..len]);
            has_fraction = len > 0;
            rest = &after_point[len..];
        }
        if int_digits.is_empty() && !has_fraction {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(error(
                text,
                format!("time: missing unit in duration {}", quote(text)),
            ));
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(error(
                text,
                format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(text)
                ),
            ));
        };
        const LIMIT: u64 = 1 << 63;
        if whole > LIMIT / scale {
            return Err(invalid());
        }
        let mut value = whole * scale;
        if fraction.0 > 0 {
            // As Go: float64 keeps fractions of hours accurate to the nanosecond.
            value += (fraction.0 as f64 * (scale as f64 / fraction.1)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(value)
            .filter(|t| *t <= LIMIT)
            .ok_or_else(invalid)?;
    }
    let nanos = if negative {
        0i64.checked_sub_unsigned(total)
    } else {
        i64::try_from(total).ok()
    }
    .ok_or_else(invalid)?;
    Ok(SignedDuration::from_nanos(nanos))
}

/// A bare integer as seconds (Go's `strconv.Atoi`: a sign and decimal digits), else a Go
/// duration ([`parse`]). Argo CD reads a sync retry's `backoff.duration` and
/// `backoff.maxDuration` this way (`parseStringToDuration`), Argo Rollouts a canary
/// step's `pause.duration` (`RolloutPause.DurationSeconds`, with 32-bit seconds).
pub fn parse_seconds_or_go(text: &str) -> Result<SignedDuration, Error> {
    match text.parse::<i64>() {
        Ok(seconds) => seconds
            .checked_mul(1_000_000_000)
            .map(SignedDuration::from_nanos)
            .ok_or_else(|| error(text, format!("duration {} is out of range", quote(text)))),
        Err(_) => parse(text),
    }
}

/// Go's `leadingInt`: the digits as a number, `None` beyond 2^63.
fn leading_int(digits: &str) -> Option<u64> {
    let mut x: u64 = 0;
    for b in digits.bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(b - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some(x)
}

/// Go's `leadingFraction`: the digits after the point and their scale, ignoring digits
/// past what fits.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let mut x: u64 = 0;
    let mut scale = 1f64;
    let mut overflow = false;
    for b in digits.bytes() {
        if overflow {
            continue;
        }
        if x > ((1 << 63) - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale)
}

/// Go's `quote` in the `time` package: the text in double quotes.
fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn error(text: &str, message: String) -> Error {
    Error::Duration {
        text: text.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own `time.ParseDuration` table (`time_test.go`), and its errors.
    #[test]
    fn go_parse_duration_table() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("-5s", -5_000_000_000),
            ("+5s", 5_000_000_000),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.0s", 1_000_000_000),
            ("1.00s", 1_000_000_000),
            ("1.004s", 1_004_000_000),
            ("1.0040s", 1_004_000_000),
            ("100.00100s", 100_001_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14_000_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("-2m3.4s", -123_400_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("0.100000000000000000000h", 360_000_000_000),
            ("0.830103483285477580700h", 2_988_372_539_827),
        ];
        for (text, nanos) in ok {
            assert_eq!(
                parse(text).ok().map(|d| d.as_nanos()),
                Some(i128::from(*nanos)),
                "{text}"
            );
        }
        let errors: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("1.2.3s", r#"time: missing unit in duration "1.2.3s""#),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            ("3000000h", r#"time: invalid duration "3000000h""#),
        ];
        for (text, message) in errors {
            assert_eq!(
                parse(text).map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn argo_reads_a_bare_integer_as_seconds() {
        assert_eq!(
            parse_seconds_or_go("10").ok().map(|d| d.as_secs()),
            Some(10)
        );
        assert_eq!(
            parse_seconds_or_go("+010").ok().map(|d| d.as_secs()),
            Some(10)
        );
        assert_eq!(
            parse_seconds_or_go("-3").ok().map(|d| d.as_secs()),
            Some(-3)
        );
        assert_eq!(
            parse_seconds_or_go("2m").ok().map(|d| d.as_secs()),
            Some(120)
        );
        assert!(parse_seconds_or_go("1_0").is_err());
        assert!(parse_seconds_or_go("10d").is_err());
        assert!(parse_seconds_or_go("99999999999999999").is_err());
    }
}
