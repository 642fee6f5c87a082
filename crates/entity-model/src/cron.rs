//! Cron schedules as Argo and Kubernetes read them: robfig/cron v3, the parser of Argo
//! Workflows, Argo CD, Argo Events and the Kubernetes CronJob controller.
//!
//! ```
//! use jiff::civil::date;
//! use windlass_entity_model::cron::{self, Dialect};
//!
//! let schedule = cron::parse("*/15 9-17 * * MON-FRI", Dialect::Standard).unwrap();
//! let friday_evening = date(2024, 5, 3).at(17, 50, 0, 0);
//! assert_eq!(schedule.next(friday_evening), Some(date(2024, 5, 6).at(9, 0, 0, 0)));
//!
//! assert!(cron::parse("@daily", Dialect::FiveFields).is_err()); // Argo CD: no descriptors
//! assert!(cron::parse("0 0 * * 7", Dialect::Standard).is_err()); // Sunday is 0 only
//! ```

use jiff::civil::DateTime;
use jiff::{SignedDuration, ToSpan};

use crate::error::Error;

/// Which of robfig's parsers a field is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `cron.ParseStandard`: five fields or a descriptor (`@yearly`, `@annually`,
    /// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, `@every <duration>`).
    /// Argo Workflows' CronWorkflow schedules, Kubernetes' CronJob schedule.
    Standard,
    /// `cron.NewParser(Minute | Hour | Dom | Month | Dow)`: five fields, no descriptors.
    /// Argo CD's sync windows, Argo Events' calendar event source and trigger
    /// `conditionsReset`.
    FiveFields,
}

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    time_zone: Option<String>,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Bit sets of the minutes, hours, days of month, months and days of week that match
    /// (robfig's `SpecSchedule`; seconds are always 0 in five-field schedules).
    Spec(Fields),
    /// `@every <duration>`: a constant delay, whole seconds, at least one.
    Every(SignedDuration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

/// Set when a field was `*` or `?` (robfig's `starBit`): it changes how days match.
const STAR: u64 = 1 << 63;

struct Bounds {
    min: u64,
    max: u64,
    /// Names of the values from `min` on.
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// Parses a schedule the way robfig/cron's parser for `dialect` does, with its error
/// messages. An optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix names the schedule's
/// time zone; only the shape of the name is checked (no time zone database is read).
pub fn parse(schedule: &str, dialect: Dialect) -> Result<Schedule, Error> {
    let fail = |message: String| Error::Cron {
        schedule: schedule.to_owned(),
        message,
    };
    if schedule.is_empty() {
        return Err(fail("empty spec string".into()));
    }
    let mut spec = schedule;
    let mut time_zone = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let (Some(space), Some(eq)) = (spec.find(' '), spec.find('=')) else {
            return Err(fail(format!("no schedule after the time zone: {spec}")));
        };
        let zone = &spec[eq + 1..space];
        if !looks_like_time_zone(zone) {
            return Err(fail(format!(
                "provided bad location {zone}: unknown time zone {zone}"
            )));
        }
        time_zone = Some(zone.to_owned());
        spec = spec[space..].trim();
    }
    let kind = if spec.starts_with('@') {
        if dialect == Dialect::FiveFields {
            return Err(fail(format!("parser does not accept descriptors: {spec}")));
        }
        descriptor(spec).map_err(fail)?
    } else {
        Kind::Spec(fields(spec).map_err(fail)?)
    };
    Ok(Schedule { time_zone, kind })
}

impl Schedule {
    /// The zone of a `TZ=`/`CRON_TZ=` prefix, if there was one: times of [`Schedule::next`]
    /// are wall-clock times there.
    pub fn time_zone(&self) -> Option<&str> {
        self.time_zone.as_deref()
    }

    /// The first time after `after` the schedule fires (robfig's `Next` on wall-clock
    /// time), or `None` if none comes within five years (`0 0 30 2 *`).
    pub fn next(&self, after: DateTime) -> Option<DateTime> {
        let start = after.with().subsec_nanosecond(0).build().ok()?;
        match &self.kind {
            Kind::Every(delay) => start.checked_add(*delay).ok(),
            Kind::Spec(fields) => fields.next(start.checked_add(1.second()).ok()?),
        }
    }
}

impl Fields {
    fn next(&self, mut t: DateTime) -> Option<DateTime> {
        let bit = |set: u64, n: i8| set & (1 << n) != 0;
        let year_limit = t.year() + 5;
        'wrap: loop {
            if t.year() > year_limit {
                return None;
            }
            while !bit(self.month, t.month()) {
                t = t.first_of_month().date().at(0, 0, 0, 0);
                t = t.checked_add(1.month()).ok()?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(t) {
                t = t.date().at(0, 0, 0, 0).checked_add(1.day()).ok()?;
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while !bit(self.hour, t.hour()) {
                t = t.date().at(t.hour(), 0, 0, 0).checked_add(1.hour()).ok()?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !bit(self.minute, t.minute()) {
                t = t
                    .with()
                    .second(0)
                    .build()
                    .ok()?
                    .checked_add(1.minute())
                    .ok()?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            if t.second() != 0 {
                t = t
                    .with()
                    .second(0)
                    .build()
                    .ok()?
                    .checked_add(1.minute())
                    .ok()?;
                continue 'wrap;
            }
            return Some(t);
        }
    }

    /// robfig's `dayMatches`: with `*` in either day field both must match (so the other
    /// decides); with both restricted, either may (as in Vixie cron).
    fn day_matches(&self, t: DateTime) -> bool {
        let dom = self.dom & (1 << t.day()) != 0;
        let dow = self.dow & (1 << t.weekday().to_sunday_zero_offset()) != 0;
        if self.dom & STAR != 0 || self.dow & STAR != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }
}

fn descriptor(spec: &str) -> Result<Kind, String> {
    let fields = |s: &str| fields(s).map(Kind::Spec);
    match spec {
        "@yearly" | "@annually" => fields("0 0 1 1 *"),
        "@monthly" => fields("0 0 1 * *"),
        "@weekly" => fields("0 0 * * 0"),
        "@daily" | "@midnight" => fields("0 0 * * *"),
        "@hourly" => fields("0 * * * *"),
        _ => match spec.strip_prefix("@every ") {
            Some(text) => {
                let delay = crate::duration::parse(text)
                    .map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
                // robfig's `Every`: at least a second, fractions of a second dropped.
                let delay = delay.max(SignedDuration::from_secs(1));
                Ok(Kind::Every(SignedDuration::from_secs(delay.as_secs())))
            }
            None => Err(format!("unrecognized descriptor: {spec}")),
        },
    }
}

fn fields(spec: &str) -> Result<Fields, String> {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = parts[..] else {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            parts.len(),
            parts.join(" ")
        ));
    };
    Ok(Fields {
        minute: field(minute, &MINUTES)?,
        hour: field(hour, &HOURS)?,
        dom: field(dom, &DOM)?,
        month: field(month, &MONTHS)?,
        dow: field(dow, &DOW)?,
    })
}

/// A comma-separated list of ranges (empty entries are skipped, as robfig does).
fn field(text: &str, bounds: &Bounds) -> Result<u64, String> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0, |bits, r| Ok(bits | range(r, bounds)?))
}

/// `*`, `?`, `n`, `n-m`, each optionally `/step` (`n/step` runs to the maximum).
fn range(expr: &str, bounds: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end, mut extra) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (bounds.min, bounds.max, STAR)
    } else {
        let start = int_or_name(low_and_high[0], bounds)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => int_or_name(low_and_high[1], bounds)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end, 0)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = plain_int(range_and_step[1])?;
            if low_and_high.len() == 1 {
                end = bounds.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < bounds.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            bounds.min
        ));
    }
    if end > bounds.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            bounds.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok((start..=end)
        .step_by(step as usize)
        .fold(extra, |bits, n| bits | (1 << n)))
}

fn int_or_name(text: &str, bounds: &Bounds) -> Result<u64, String> {
    let lower = text.to_ascii_lowercase();
    match bounds.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(bounds.min + i as u64),
        None => plain_int(text),
    }
}

/// robfig's `mustParseInt` (Go's `strconv.Atoi`, then no negatives).
fn plain_int(text: &str) -> Result<u64, String> {
    let n: i64 = text.parse().map_err(|e: std::num::ParseIntError| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("failed to parse int from {text}: strconv.Atoi: parsing {text:?}: {why}")
    })?;
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {text}"))
}

/// Whether `zone` has the shape of an IANA time zone name (`UTC`, `Asia/Tokyo`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+3`); the zone database is not consulted.
pub fn looks_like_time_zone(zone: &str) -> bool {
    !zone.is_empty()
        && !zone.starts_with('/')
        && !zone.ends_with('/')
        && !zone.contains("..")
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn err(schedule: &str, dialect: Dialect) -> String {
        parse(schedule, dialect).expect_err(schedule).to_string()
    }

    /// Accepted and refused spellings, with robfig's messages (its `parser_test.go` and
    /// the parser's code).
    #[test]
    fn parses_as_robfig() {
        for ok in [
            "* * * * *",
            "* * * * ?",
            "? ? ? ? ?",
            "*/5 9-17 * * MON-FRI",
            "0 0 1 jan,JUL *",
            "5/15 * * * *",
            "0-59/10 * * * *",
            "*-5 * * * *",
            "0 0 1,,15 * *",
            "+5 * * * *",
            "0 0 * * sun",
            "CRON_TZ=Asia/Tokyo 0 9 * * *",
            "TZ=UTC 0 9 * * *",
            "@daily",
            "@midnight",
            "@annually",
            "@every 1h30m",
            "@every 500ms",
        ] {
            assert!(parse(ok, Dialect::Standard).is_ok(), "{ok}");
        }
        for (bad, message) in [
            ("", "empty spec string"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            (
                "0 * * * * *",
                "expected exactly 5 fields, found 6: [0 * * * * *]",
            ),
            ("61 * * * *", "end of range (61) above maximum (59): 61"),
            ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
            ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("1/2/3 * * * *", "too many slashes: 1/2/3"),
            (
                "0 0 L * *",
                r#"failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax"#,
            ),
            (
                "0 0 * * 1#2",
                r#"failed to parse int from 1#2: strconv.Atoi: parsing "1#2": invalid syntax"#,
            ),
            ("*/-1 * * * *", "negative number (-1) not allowed: -1"),
            ("@reboot", "unrecognized descriptor: @reboot"),
            (
                "@every 5",
                r#"failed to parse duration @every 5: time: missing unit in duration "5""#,
            ),
            ("@daily ", "unrecognized descriptor: @daily "),
            (
                "TZ=../etc 0 * * * *",
                "provided bad location ../etc: unknown time zone ../etc",
            ),
        ] {
            assert_eq!(err(bad, Dialect::Standard), message, "{bad:?}");
        }
        assert_eq!(
            err("@hourly", Dialect::FiveFields),
            "parser does not accept descriptors: @hourly"
        );
        assert_eq!(
            err("CRON_TZ=UTC @hourly", Dialect::FiveFields),
            "parser does not accept descriptors: @hourly"
        );
        assert!(parse("CRON_TZ=UTC 0 * * * *", Dialect::FiveFields).is_ok());
        assert_eq!(
            parse("CRON_TZ=Europe/Paris 0 * * * *", Dialect::FiveFields)
                .expect("valid")
                .time_zone(),
            Some("Europe/Paris")
        );
    }

    #[test]
    fn next_times_as_robfig() {
        let at = |y, mo, d, h, mi, s| date(y, mo, d).at(h, mi, s, 0);
        let next = |schedule: &str, after: DateTime| {
            parse(schedule, Dialect::Standard)
                .expect(schedule)
                .next(after)
        };
        // From robfig's spec_test.go.
        let cases = [
            (
                "0 * * * *",
                at(2012, 7, 9, 14, 45, 0),
                Some(at(2012, 7, 9, 15, 0, 0)),
            ),
            (
                "*/15 * * * *",
                at(2012, 7, 9, 14, 59, 59),
                Some(at(2012, 7, 9, 15, 0, 0)),
            ),
            (
                "* 20-22 * * *",
                at(2012, 7, 9, 23, 59, 59),
                Some(at(2012, 7, 10, 20, 0, 0)),
            ),
            (
                "0 0 29 2 *",
                at(2012, 3, 1, 0, 0, 0),
                Some(at(2016, 2, 29, 0, 0, 0)),
            ),
            ("0 0 30 2 *", at(2012, 1, 1, 0, 0, 0), None),
            // Both day fields restricted: either matches. One starred: both must.
            (
                "0 0 1 * MON",
                at(2012, 7, 2, 0, 0, 0),
                Some(at(2012, 7, 9, 0, 0, 0)),
            ),
            (
                "0 0 15 * *",
                at(2012, 7, 9, 0, 0, 0),
                Some(at(2012, 7, 15, 0, 0, 0)),
            ),
            (
                "0 0 */2 * MON",
                at(2012, 7, 9, 0, 0, 0),
                Some(at(2012, 7, 11, 0, 0, 0)),
            ),
            (
                "0 0 * * MON",
                at(2012, 7, 9, 0, 0, 0),
                Some(at(2012, 7, 16, 0, 0, 0)),
            ),
            (
                "@monthly",
                at(2012, 12, 31, 23, 59, 59),
                Some(at(2013, 1, 1, 0, 0, 0)),
            ),
            (
                "@every 90s",
                at(2012, 7, 9, 14, 45, 30),
                Some(at(2012, 7, 9, 14, 47, 0)),
            ),
            (
                "@every 500ms",
                at(2012, 7, 9, 14, 45, 30),
                Some(at(2012, 7, 9, 14, 45, 31)),
            ),
        ];
        for (schedule, after, expected) in cases {
            assert_eq!(next(schedule, after), expected, "{schedule} after {after}");
        }
    }

    fn matches(fields: &Fields, t: DateTime) -> bool {
        let bit = |set: u64, n: i8| set & (1 << n) != 0;
        t.second() == 0
            && bit(fields.minute, t.minute())
            && bit(fields.hour, t.hour())
            && bit(fields.month, t.month())
            && fields.day_matches(t)
    }

    fn field_text(max: u64) -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_owned()),
            (0..=max).prop_map(|n| n.to_string()),
            (0..=max, 1..=max.max(1)).prop_map(|(n, s)| format!("{n}/{s}")),
            (0..=max, 0..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
            (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
        ]
    }

    proptest! {
        /// `next` is the first matching minute after the given time, found by brute force.
        #[test]
        fn next_is_the_first_matching_minute(
            minute in field_text(59),
            hour in field_text(23),
            dom in field_text(30).prop_map(|f| f.replace('0', "1")),
            dow in field_text(6),
            start in 0i64..(4 * 366 * 24 * 60),
            second in 0i8..60,
        ) {
            let text = format!("{minute} {hour} {dom} * {dow}");
            let Ok(schedule) = parse(&text, Dialect::Standard) else {
                return Ok(());
            };
            let Kind::Spec(fields) = &schedule.kind else { unreachable!() };
            let after = date(2023, 1, 1).at(0, 0, 0, 0)
                .checked_add(start.minutes()).expect("in range")
                .with().second(second).build().expect("valid");
            let got = schedule.next(after).expect("a time within five years");
            prop_assert!(got > after && matches(fields, got), "{text}: {got}");
            // Nothing matched between `after` and `got`.
            let mut t = after.with().second(0).build().expect("valid")
                .checked_add(1.minute()).expect("in range");
            let mut steps = 0;
            while t < got && steps < 50_000 {
                prop_assert!(!matches(fields, t), "{text}: {t} matches before {got}");
                t = t.checked_add(1.minute()).expect("in range");
                steps += 1;
            }
        }
    }
}
