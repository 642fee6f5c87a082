//! jq path expressions (`jqPathExpressions`), evaluated with `jaq-core`.
//!
//! Argo CD deletes `del(<expression>)` from both sides; here `path(<expression>)` is run
//! and the concrete paths it yields are removed, which is the same set. `jaq-core` brings
//! the language and its core definitions (`select`, `recurse`, `..`, `map`, `to_entries`,
//! `any`/`all`, ...); a few string and collection filters users write in these expressions
//! (`length`, `startswith`, `endswith`, `ltrimstr`, `rtrimstr`, `contains`, `type`,
//! `keys`, `has`, `ascii_downcase`, `ascii_upcase`, `test` for plain substrings) are
//! provided here over a small value type of our own, so no second JSON value
//! implementation is pulled in. Anything else is reported as undefined when compiled.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use jaq_core::box_iter::{BoxIter, box_once};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::native::{Fun, bome, run, unary, v};
use jaq_core::path::Opt;
use jaq_core::val::Range;
use jaq_core::{Compiler, Ctx, Error, Exn, ValR, ValT, ValX, Vars, data};
use serde_json::Value;

use super::value::Step;

/// The most paths one expression may select in one object (a runaway `repeat` stops here).
const MAX_PATHS: usize = 100_000;

type D = data::JustLut<JVal>;

/// A compiled jq path expression.
pub(crate) struct JqPaths {
    filter: jaq_core::Filter<D>,
}

impl JqPaths {
    /// Parses and compiles `expr`; `Err` says why it is refused.
    pub(crate) fn compile(expr: &str) -> Result<Self, String> {
        let code = format!("path({expr})");
        let arena = Arena::default();
        let loader = Loader::new(jaq_core::defs());
        let modules = loader
            .load(
                &arena,
                File {
                    code: &code,
                    path: (),
                },
            )
            .map_err(|errs| {
                let mut out = Vec::new();
                for (_, e) in errs {
                    match e {
                        jaq_core::load::Error::Io(v) => {
                            out.extend(v.into_iter().map(|(_, msg)| msg));
                        }
                        jaq_core::load::Error::Lex(v) => {
                            out.extend(v.into_iter().map(|(exp, at)| {
                                format!("expected {} at `{}`", exp.as_str(), snippet(at))
                            }))
                        }
                        jaq_core::load::Error::Parse(v) => {
                            out.extend(v.into_iter().map(|(exp, at)| {
                                format!("expected {} at `{}`", exp.as_str(), snippet(at))
                            }))
                        }
                    }
                }
                format!("does not parse: {}", out.join("; "))
            })?;
        let filter = Compiler::default()
            .with_funs(jaq_core::funs::<D>().chain(funs()))
            .compile(modules)
            .map_err(|errs| {
                let names: Vec<String> = errs
                    .into_iter()
                    .flat_map(|(_, v)| v)
                    .map(|(name, kind)| format!("undefined {} `{name}`", kind.as_str()))
                    .collect();
                format!("does not compile: {}", names.join(", "))
            })?;
        Ok(Self { filter })
    }

    /// The concrete paths the expression selects in `input`; `Err` for a run-time error
    /// (iterating over `null`, say) or a path through a slice.
    pub(crate) fn paths(&self, input: &Value) -> Result<Vec<Vec<Step>>, String> {
        let ctx = Ctx::<D>::new(&self.filter.lut, Vars::new([]));
        let mut out = Vec::new();
        for item in self.filter.id.run((ctx, JVal::from_json(input))) {
            let path = match item {
                Ok(path) => path,
                Err(exn) => {
                    return Err(match exn.get_err() {
                        Ok(e) => e.to_string(),
                        Err(_) => "the expression halted".into(),
                    });
                }
            };
            out.push(steps(&path, input)?);
            if out.len() > MAX_PATHS {
                return Err(format!("selects more than {MAX_PATHS} paths"));
            }
        }
        Ok(out)
    }
}

fn snippet(at: &str) -> String {
    let s: String = at.chars().take(20).collect();
    if s.is_empty() {
        "end of input".into()
    } else {
        s
    }
}

/// A path value (`["spec", "containers", 0]`) as concrete steps in `input` (a negative
/// position counts from the end of the list there).
fn steps(path: &JVal, input: &Value) -> Result<Vec<Step>, String> {
    let JVal::Arr(parts) = path else {
        return Err(format!("not a path: {path}"));
    };
    let mut cur = Some(input);
    let mut out = Vec::with_capacity(parts.len());
    for p in parts.iter() {
        let step = match p {
            JVal::Str(s) => Step::Key(s.to_string()),
            JVal::Num(n) if n.fract() == 0.0 => {
                let len = cur.and_then(Value::as_array).map_or(0, Vec::len);
                let i = if *n < 0.0 { len as f64 + n } else { *n };
                if i < 0.0 {
                    return Err(format!("list position {p} is out of bounds"));
                }
                Step::Index(i as usize)
            }
            other => {
                return Err(format!(
                    "path component {other} is not a key or a list position"
                ));
            }
        };
        cur = cur.and_then(|c| match &step {
            Step::Key(k) => c.get(k.as_str()),
            Step::Index(i) => c.get(*i),
        });
        out.push(step);
    }
    Ok(out)
}

/// JSON values as jaq sees them: shared, cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) enum JVal {
    #[default]
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Vec<JVal>>),
    Obj(Rc<BTreeMap<Rc<str>, JVal>>),
}

impl JVal {
    fn from_json(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Self::Str(s.as_str().into()),
            Value::Array(a) => Self::Arr(Rc::new(a.iter().map(Self::from_json).collect())),
            Value::Object(m) => Self::Obj(Rc::new(
                m.iter()
                    .map(|(k, v)| (k.as_str().into(), Self::from_json(v)))
                    .collect(),
            )),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(false) => 1,
            Self::Bool(true) => 2,
            Self::Num(_) => 3,
            Self::Str(_) => 4,
            Self::Arr(_) => 5,
            Self::Obj(_) => 6,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Num(_) => "number",
            Self::Str(_) => "string",
            Self::Arr(_) => "array",
            Self::Obj(_) => "object",
        }
    }

    fn str(s: impl Into<Rc<str>>) -> Self {
        Self::Str(s.into())
    }

    /// A list position from a number, counting from the end when negative.
    fn position(index: &JVal, len: usize) -> Option<usize> {
        let JVal::Num(n) = index else { return None };
        let i = n.floor() as isize;
        let i = if i < 0 { len as isize + i } else { i };
        usize::try_from(i).ok().filter(|i| *i < len)
    }

    /// `[start, end)` of a slice over `len` elements.
    fn bounds(range: &Range<&JVal>, len: usize) -> Result<(usize, usize), Error<JVal>> {
        let at = |b: Option<&&JVal>, default: usize| -> Result<usize, Error<JVal>> {
            match b {
                None | Some(JVal::Null) => Ok(default),
                Some(JVal::Num(n)) => {
                    let i = n.floor() as isize;
                    let i = if i < 0 { len as isize + i } else { i };
                    Ok(i.clamp(0, len as isize) as usize)
                }
                Some(other) => Err(Error::typ((*other).clone(), "number")),
            }
        };
        let start = at(range.start.as_ref(), 0)?;
        let end = at(range.end.as_ref(), len)?.max(start);
        Ok((start, end))
    }
}

impl fmt::Display for JVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Num(n) if n.fract() == 0.0 && n.abs() < 1e17 => write!(f, "{}", *n as i64),
            Self::Num(n) => write!(f, "{n}"),
            Self::Str(s) => write!(f, "{}", Value::String(s.to_string())),
            Self::Arr(a) => {
                f.write_str("[")?;
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Self::Obj(o) => {
                f.write_str("{")?;
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{x}", Value::String(k.to_string()))?;
                }
                f.write_str("}")
            }
        }
    }
}

impl PartialEq for JVal {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for JVal {
    /// jq's order: null < false < true < numbers < strings < arrays < objects; objects by
    /// their sorted keys first, then by values.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Num(a), Self::Num(b)) => a.partial_cmp(b),
            (Self::Str(a), Self::Str(b)) => Some(a.cmp(b)),
            (Self::Arr(a), Self::Arr(b)) => a.iter().partial_cmp(b.iter()),
            (Self::Obj(a), Self::Obj(b)) => match a.keys().cmp(b.keys()) {
                Ordering::Equal => a.values().partial_cmp(b.values()),
                o => Some(o),
            },
            _ => Some(self.rank().cmp(&other.rank())),
        }
    }
}

impl From<bool> for JVal {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<isize> for JVal {
    fn from(i: isize) -> Self {
        Self::Num(i as f64)
    }
}

impl From<String> for JVal {
    fn from(s: String) -> Self {
        Self::str(s)
    }
}

impl From<Range<JVal>> for JVal {
    fn from(r: Range<JVal>) -> Self {
        let mut m = BTreeMap::new();
        m.insert("start".into(), r.start.unwrap_or_default());
        m.insert("end".into(), r.end.unwrap_or_default());
        Self::Obj(Rc::new(m))
    }
}

impl FromIterator<JVal> for JVal {
    fn from_iter<I: IntoIterator<Item = JVal>>(iter: I) -> Self {
        Self::Arr(Rc::new(iter.into_iter().collect()))
    }
}

fn math_err(l: JVal, op: jaq_core::ops::Math, r: JVal) -> ValR<JVal> {
    Err(Error::math(l, op, r))
}

impl std::ops::Add for JVal {
    type Output = ValR<JVal>;
    fn add(self, r: Self) -> Self::Output {
        use JVal::*;
        match (self, r) {
            (Null, x) | (x, Null) => Ok(x),
            (Num(a), Num(b)) => Ok(Num(a + b)),
            (Str(a), Str(b)) => Ok(JVal::str(format!("{a}{b}"))),
            (Arr(a), Arr(b)) => Ok(a.iter().chain(b.iter()).cloned().collect()),
            (Obj(a), Obj(b)) => {
                let mut m = (*a).clone();
                m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(Obj(Rc::new(m)))
            }
            (l, r) => math_err(l, jaq_core::ops::Math::Add, r),
        }
    }
}

impl std::ops::Sub for JVal {
    type Output = ValR<JVal>;
    fn sub(self, r: Self) -> Self::Output {
        match (self, r) {
            (JVal::Num(a), JVal::Num(b)) => Ok(JVal::Num(a - b)),
            (JVal::Arr(a), JVal::Arr(b)) => {
                Ok(a.iter().filter(|x| !b.contains(x)).cloned().collect())
            }
            (l, r) => math_err(l, jaq_core::ops::Math::Sub, r),
        }
    }
}

impl std::ops::Mul for JVal {
    type Output = ValR<JVal>;
    fn mul(self, r: Self) -> Self::Output {
        match (self, r) {
            (JVal::Num(a), JVal::Num(b)) => Ok(JVal::Num(a * b)),
            (JVal::Obj(a), JVal::Obj(b)) => {
                let mut m = (*a).clone();
                for (k, v) in b.iter() {
                    let merged = match (m.get(k), v) {
                        (Some(old @ JVal::Obj(_)), JVal::Obj(_)) => (old.clone() * v.clone())?,
                        _ => v.clone(),
                    };
                    m.insert(k.clone(), merged);
                }
                Ok(JVal::Obj(Rc::new(m)))
            }
            (l, r) => math_err(l, jaq_core::ops::Math::Mul, r),
        }
    }
}

impl std::ops::Div for JVal {
    type Output = ValR<JVal>;
    fn div(self, r: Self) -> Self::Output {
        match (self, r) {
            (JVal::Num(a), JVal::Num(b)) if b != 0.0 => Ok(JVal::Num(a / b)),
            (JVal::Str(a), JVal::Str(b)) => Ok(a.split(&*b).map(JVal::str).collect()),
            (l, r) => math_err(l, jaq_core::ops::Math::Div, r),
        }
    }
}

impl std::ops::Rem for JVal {
    type Output = ValR<JVal>;
    fn rem(self, r: Self) -> Self::Output {
        match (self, r) {
            (JVal::Num(a), JVal::Num(b)) if b.trunc() != 0.0 => {
                Ok(JVal::Num(a.trunc() % b.trunc()))
            }
            (l, r) => math_err(l, jaq_core::ops::Math::Rem, r),
        }
    }
}

impl std::ops::Neg for JVal {
    type Output = ValR<JVal>;
    fn neg(self) -> Self::Output {
        match self {
            JVal::Num(n) => Ok(JVal::Num(-n)),
            other => Err(Error::typ(other, "number")),
        }
    }
}

impl ValT for JVal {
    fn from_num(n: &str) -> ValR<Self> {
        n.parse::<f64>()
            .map(JVal::Num)
            .map_err(|_| Error::str(format!("invalid number {n}")))
    }

    fn from_map<I: IntoIterator<Item = (Self, Self)>>(iter: I) -> ValR<Self> {
        let mut m = BTreeMap::new();
        for (k, v) in iter {
            match k {
                JVal::Str(k) => {
                    m.insert(k, v);
                }
                other => return Err(Error::typ(other, "string")),
            }
        }
        Ok(JVal::Obj(Rc::new(m)))
    }

    fn key_values(self) -> BoxIter<'static, ValR<(Self, Self), Self>> {
        match self {
            JVal::Arr(a) => Box::new(
                (0..a.len())
                    .map(move |i| Ok((JVal::Num(i as f64), a[i].clone())))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            JVal::Obj(o) => Box::new(
                o.iter()
                    .map(|(k, v)| Ok((JVal::Str(k.clone()), v.clone())))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            other => box_once(Err(Error::typ(other, "iterable"))),
        }
    }

    fn values(self) -> Box<dyn Iterator<Item = ValR<Self>>> {
        match self {
            JVal::Arr(a) => Box::new(a.iter().cloned().map(Ok).collect::<Vec<_>>().into_iter()),
            JVal::Obj(o) => Box::new(o.values().cloned().map(Ok).collect::<Vec<_>>().into_iter()),
            other => box_once(Err(Error::typ(other, "iterable"))),
        }
    }

    fn index(self, index: &Self) -> ValR<Self> {
        match (&self, index) {
            (JVal::Null, _) => Ok(JVal::Null),
            (JVal::Obj(o), JVal::Str(k)) => Ok(o.get(k).cloned().unwrap_or_default()),
            (JVal::Arr(a), JVal::Num(_)) => Ok(JVal::position(index, a.len())
                .map(|i| a[i].clone())
                .unwrap_or_default()),
            (JVal::Arr(_) | JVal::Str(_), JVal::Obj(o)) => {
                let range = o.get("start")..o.get("end");
                self.clone().range(range)
            }
            _ => Err(Error::index(self, index.clone())),
        }
    }

    fn range(self, range: Range<&Self>) -> ValR<Self> {
        match &self {
            JVal::Null => Ok(JVal::Null),
            JVal::Arr(a) => {
                let (s, e) = JVal::bounds(&range, a.len())?;
                Ok(a[s..e].iter().cloned().collect())
            }
            JVal::Str(st) => {
                let chars: Vec<char> = st.chars().collect();
                let (s, e) = JVal::bounds(&range, chars.len())?;
                Ok(JVal::str(chars[s..e].iter().collect::<String>()))
            }
            _ => Err(Error::typ(self, "array or string")),
        }
    }

    fn map_values<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        match self {
            JVal::Arr(a) => {
                let items: Result<Vec<_>, _> = a.iter().cloned().flat_map(f).collect();
                Ok(JVal::Arr(Rc::new(items?)))
            }
            JVal::Obj(o) => {
                let mut m = BTreeMap::new();
                for (k, v) in o.iter() {
                    if let Some(y) = f(v.clone()).next() {
                        m.insert(k.clone(), y?);
                    }
                }
                Ok(JVal::Obj(Rc::new(m)))
            }
            other => opt.fail(other, |v| Exn::from(Error::typ(v, "iterable"))),
        }
    }

    fn map_index<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        index: &Self,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        match (self, index) {
            (v @ (JVal::Arr(_) | JVal::Str(_)), JVal::Obj(o)) => {
                let range = o.get("start")..o.get("end");
                v.map_range(range, opt, f)
            }
            (JVal::Null, JVal::Str(_)) => JVal::Obj(Rc::default()).map_index(index, opt, f),
            (JVal::Obj(o), JVal::Str(k)) => {
                let mut m = (*o).clone();
                let old = m.get(k).cloned().unwrap_or_default();
                match f(old).next().transpose()? {
                    Some(y) => {
                        m.insert(k.clone(), y);
                    }
                    None => {
                        m.remove(k);
                    }
                }
                Ok(JVal::Obj(Rc::new(m)))
            }
            (JVal::Arr(a), JVal::Num(_)) => {
                let Some(i) = JVal::position(index, a.len()) else {
                    let e = Error::str(format!("index {index} out of bounds"));
                    return opt.fail(JVal::Arr(a), |_| Exn::from(e));
                };
                let mut items = (*a).clone();
                match f(items[i].clone()).next().transpose()? {
                    Some(y) => items[i] = y,
                    None => {
                        items.remove(i);
                    }
                }
                Ok(JVal::Arr(Rc::new(items)))
            }
            (v, _) => opt.fail(v, |v| Exn::from(Error::index(v, index.clone()))),
        }
    }

    fn map_range<'a, I: Iterator<Item = ValX<'a, Self>>>(
        self,
        range: Range<&Self>,
        opt: Opt,
        f: impl Fn(Self) -> I,
    ) -> ValX<'a, Self> {
        let JVal::Arr(a) = self else {
            return opt.fail(self, |v| Exn::from(Error::typ(v, "array")));
        };
        let (s, e) = match JVal::bounds(&range, a.len()) {
            Ok(b) => b,
            Err(err) => return opt.fail(JVal::Arr(a), |_| Exn::from(err)),
        };
        let slice: JVal = a[s..e].iter().cloned().collect();
        let replacement = match f(slice).next().transpose()? {
            Some(JVal::Arr(r)) => (*r).clone(),
            Some(other) => return Err(Exn::from(Error::typ(other, "array"))),
            None => Vec::new(),
        };
        let mut items = (*a).clone();
        items.splice(s..e, replacement);
        Ok(JVal::Arr(Rc::new(items)))
    }

    fn as_bool(&self) -> bool {
        !matches!(self, JVal::Null | JVal::Bool(false))
    }

    fn into_string(self) -> Self {
        match self {
            s @ JVal::Str(_) => s,
            other => JVal::str(other.to_string()),
        }
    }
}

fn str_op(x: JVal, arg: JVal, name: &str, f: impl Fn(&str, &str) -> JVal) -> ValR<JVal> {
    match (&x, &arg) {
        (JVal::Str(a), JVal::Str(b)) => Ok(f(a, b)),
        _ => Err(Error::str(format!(
            "{name}: {x} and {arg} cannot be used, both must be strings"
        ))),
    }
}

fn contains(a: &JVal, b: &JVal) -> bool {
    match (a, b) {
        (JVal::Str(a), JVal::Str(b)) => a.contains(&**b),
        (JVal::Arr(a), JVal::Arr(b)) => b.iter().all(|y| a.iter().any(|x| contains(x, y))),
        (JVal::Obj(a), JVal::Obj(b)) => b
            .iter()
            .all(|(k, y)| a.get(k).is_some_and(|x| contains(x, y))),
        _ => a == b,
    }
}

/// The filters beyond jaq-core's own that path expressions commonly use.
fn funs() -> impl Iterator<Item = Fun<D>> {
    let natives: [jaq_core::native::Filter<jaq_core::RunPtr<D>>; 12] = [
        ("length", v(0), |cv| {
            bome(match &cv.1 {
                JVal::Null => Ok(JVal::Num(0.0)),
                JVal::Bool(_) => Err(Error::typ(cv.1.clone(), "value with a length")),
                JVal::Num(n) => Ok(JVal::Num(n.abs())),
                JVal::Str(s) => Ok(JVal::Num(s.chars().count() as f64)),
                JVal::Arr(a) => Ok(JVal::Num(a.len() as f64)),
                JVal::Obj(o) => Ok(JVal::Num(o.len() as f64)),
            })
        }),
        ("type", v(0), |cv| bome(Ok(JVal::str(cv.1.type_name())))),
        ("keys", v(0), |cv| {
            bome(match cv.1 {
                JVal::Obj(o) => Ok(o.keys().map(|k| JVal::Str(k.clone())).collect()),
                JVal::Arr(a) => Ok((0..a.len()).map(|i| JVal::Num(i as f64)).collect()),
                other => Err(Error::typ(other, "object or array")),
            })
        }),
        ("has", v(1), |cv| {
            unary(cv, |x, k| match (&x, &k) {
                (JVal::Obj(o), JVal::Str(k)) => Ok(JVal::Bool(o.contains_key(k))),
                (JVal::Arr(a), JVal::Num(i)) => {
                    Ok(JVal::Bool(*i >= 0.0 && (*i as usize) < a.len()))
                }
                _ => Err(Error::index(x, k)),
            })
        }),
        ("contains", v(1), |cv| {
            unary(cv, |x, y| {
                if x.rank() != y.rank()
                    && !(matches!(x, JVal::Bool(_)) && matches!(y, JVal::Bool(_)))
                {
                    return Err(Error::str(format!(
                        "{x} and {y} cannot have their containment checked"
                    )));
                }
                Ok(JVal::Bool(contains(&x, &y)))
            })
        }),
        ("startswith", v(1), |cv| {
            unary(cv, |x, p| {
                str_op(x, p, "startswith", |a, b| JVal::Bool(a.starts_with(b)))
            })
        }),
        ("endswith", v(1), |cv| {
            unary(cv, |x, p| {
                str_op(x, p, "endswith", |a, b| JVal::Bool(a.ends_with(b)))
            })
        }),
        ("ltrimstr", v(1), |cv| {
            unary(cv, |x, p| match (&x, &p) {
                (JVal::Str(a), JVal::Str(b)) => {
                    Ok(a.strip_prefix(&**b).map_or(x.clone(), JVal::str))
                }
                _ => Ok(x),
            })
        }),
        ("rtrimstr", v(1), |cv| {
            unary(cv, |x, p| match (&x, &p) {
                (JVal::Str(a), JVal::Str(b)) => {
                    Ok(a.strip_suffix(&**b).map_or(x.clone(), JVal::str))
                }
                _ => Ok(x),
            })
        }),
        ("ascii_downcase", v(0), |cv| {
            bome(match &cv.1 {
                JVal::Str(s) => Ok(JVal::str(s.to_ascii_lowercase())),
                _ => Err(Error::typ(cv.1.clone(), "string")),
            })
        }),
        ("ascii_upcase", v(0), |cv| {
            bome(match &cv.1 {
                JVal::Str(s) => Ok(JVal::str(s.to_ascii_uppercase())),
                _ => Err(Error::typ(cv.1.clone(), "string")),
            })
        }),
        // Regular expressions are not supported: a pattern without metacharacters is a
        // substring test, anything else is an error naming the pattern.
        ("test", v(1), |cv| {
            unary(cv, |x, re| match (&x, &re) {
                (JVal::Str(s), JVal::Str(p))
                    if !p.contains(|c: char| "\\^$.|?*+()[]{}".contains(c)) =>
                {
                    Ok(JVal::Bool(s.contains(&**p)))
                }
                _ => Err(Error::str(format!(
                    "test({re}): regular expressions are not supported"
                ))),
            })
        }),
    ];
    natives.into_iter().map(run::<D>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(expr: &str, v: &Value) -> Vec<String> {
        let jq = JqPaths::compile(expr).expect(expr);
        jq.paths(v)
            .expect("runs")
            .into_iter()
            .map(|p| {
                p.iter()
                    .map(|s| match s {
                        Step::Key(k) => format!("/{k}"),
                        Step::Index(i) => format!("/{i}"),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn argo_documented_expressions_select_paths() {
        let d = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "injected-init-container"}, {"name": "mine"}],
            "containers": [{"name": "istio-proxy", "image": "x"}, {"name": "web"}]
        }}}, "webhooks": [{"clientConfig": {"caBundle": "abc"}}, {"clientConfig": {}}]});
        assert_eq!(
            paths(
                r#".spec.template.spec.initContainers[] | select(.name == "injected-init-container")"#,
                &d
            ),
            ["/spec/template/spec/initContainers/0"]
        );
        assert_eq!(
            paths(".webhooks[]?.clientConfig.caBundle", &d),
            [
                "/webhooks/0/clientConfig/caBundle",
                "/webhooks/1/clientConfig/caBundle"
            ]
        );
        assert_eq!(
            paths(
                r#".spec.template.spec.containers[] | select(.name | startswith("istio")) | .image"#,
                &d
            ),
            ["/spec/template/spec/containers/0/image"]
        );
        assert_eq!(
            paths(r#".metadata.annotations["a/b"]"#, &d),
            ["/metadata/annotations/a/b"]
        );
        assert_eq!(paths(".spec.template.spec.containers[-1]", &d).len(), 1);
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        let e = JqPaths::compile(".spec[").err().expect("parse error");
        assert!(e.starts_with("does not parse"), "{e}");
        let e = JqPaths::compile(".spec | nosuchfilter")
            .err()
            .expect("undefined");
        assert!(e.contains("nosuchfilter"), "{e}");
        let jq = JqPaths::compile(".spec.list[]").expect("compiles");
        assert!(jq.paths(&json!({"spec": {}})).is_err());
    }
}
