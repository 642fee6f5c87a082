//! A YAML 1.2 reader that keeps the position of every node.
//!
//! Built on `granit-parser`, whose scanner accepts the multi-line quoted scalars that
//! Go's YAML libraries (and so `kubectl` and Argo) accept.
//!
//! Manifests are read into a [`Node`] tree first (anchors, aliases and merge keys
//! resolved, duplicate keys rejected), so that every later error — a wrong type deep in
//! a spec, a broken validation rule — can name the line and column it comes from.
//! JSON is YAML, so JSON manifests go through the same reader.
//!
//! Plain scalars are resolved with the YAML 1.2 core schema: `yes`, `on` and `off` are
//! strings, not booleans.

use std::collections::HashMap;
use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::path::FieldPath;

/// Nesting deeper than this is rejected rather than risking the stack.
const MAX_DEPTH: usize = 256;
/// Upper bound on nodes per document once aliases are expanded ("billion laughs").
const MAX_NODES: usize = 2_000_000;

/// A position in a source text: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub column: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A scalar as written: its text and whether it was quoted or tagged.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The scalar's text after unescaping and folding.
    pub text: String,
    /// Whether the scalar was plain (unquoted, not a block scalar): only plain scalars
    /// resolve to nulls, booleans and numbers.
    pub plain: bool,
    /// The core-schema tag, if one was given (`str`, `int`, `float`, `bool`, `null`).
    pub tag: Option<String>,
}

/// The resolved value of a scalar under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue<'a> {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// Anything else.
    Str(&'a str),
}

impl Scalar {
    /// Resolves this scalar to a typed value (YAML 1.2 core schema).
    pub fn resolve(&self) -> ScalarValue<'_> {
        match self.tag.as_deref() {
            Some("str") => return ScalarValue::Str(&self.text),
            Some("null") => return ScalarValue::Null,
            Some(_) => {}
            None if !self.plain => return ScalarValue::Str(&self.text),
            None => {}
        }
        resolve_plain(&self.text)
    }
}

fn resolve_plain(text: &str) -> ScalarValue<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(v) = i64::from_str_radix(hex, 16)
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return ScalarValue::Int(v);
        }
        return ScalarValue::Str(text);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(v) = i64::from_str_radix(oct, 8)
            && oct.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return ScalarValue::Int(v);
        }
        return ScalarValue::Str(text);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(v) = text.parse::<i64>() {
            return ScalarValue::Int(v);
        }
        if let Ok(v) = digits.parse::<u64>()
            && !text.starts_with('-')
        {
            return ScalarValue::UInt(v);
        }
        if let Ok(v) = text.parse::<f64>() {
            return ScalarValue::Float(v);
        }
    }
    if is_core_float(digits)
        && let Ok(v) = text.parse::<f64>()
    {
        return ScalarValue::Float(v);
    }
    ScalarValue::Str(text)
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` — the core schema's float shape.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// What a [`Node`] holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence of nodes.
    Sequence(Vec<Node>),
    /// A mapping, in source order, with unique keys and merge keys applied.
    Mapping(Vec<(Node, Node)>),
}

/// A YAML node and where it starts in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub mark: Mark,
    /// The node's content.
    pub kind: NodeKind,
}

impl Node {
    /// The value of the mapping entry `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| k.as_key().as_deref() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar node.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string scalar (quoted, or plain text that is not a null, boolean or number).
    pub fn as_str(&self) -> Option<&str> {
        match self.as_scalar()?.resolve() {
            ScalarValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this node is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(
            self.as_scalar().map(Scalar::resolve),
            Some(ScalarValue::Null)
        )
    }

    /// This node as a mapping key: scalar keys are their text, as in Kubernetes'
    /// YAML-to-JSON conversion. Collections cannot be keys.
    pub fn as_key(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(std::borrow::Cow::Borrowed(&s.text)),
            _ => None,
        }
    }

    /// The node at `path` below this one, or the deepest node on the way there together
    /// with whether the whole path was found.
    pub fn lookup(&self, path: &FieldPath) -> (&Node, bool) {
        let mut node = self;
        for segment in path.segments() {
            let next = match (segment, &node.kind) {
                (crate::path::Segment::Key(k), NodeKind::Mapping(_)) => node.get(k),
                (crate::path::Segment::Index(i), NodeKind::Sequence(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }

    fn count(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(_) => 1,
            NodeKind::Sequence(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeKind::Mapping(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

/// One document of a YAML stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Position of the document in its stream, starting at 0.
    pub index: usize,
    /// The document's root node.
    pub root: Node,
}

/// Why a text is not well-formed YAML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the problem is.
    pub mark: Mark,
    /// The mapping key path leading to the problem, when known (duplicate keys).
    pub path: Option<FieldPath>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}: {}", self.mark, path, self.message),
            None => write!(f, "{}: {}", self.mark, self.message),
        }
    }
}

impl std::error::Error for SyntaxError {}

/// Reads every document of a YAML (or JSON) stream.
///
/// The stream is split on `---` lines first, as `kubectl` does, so a broken document
/// does not hide the others: each document is read, or fails, on its own. Documents that
/// hold nothing (only comments, or an empty `---` section) are skipped, as `kubectl
/// apply` skips them.
pub fn parse_documents(text: &str) -> Vec<Result<Document, SyntaxError>> {
    let mut out = Vec::new();
    for (first_line, chunk) in split_documents(text) {
        match parse_chunk(chunk, first_line - 1) {
            Ok(roots) => {
                for root in roots {
                    out.push(Ok(Document {
                        index: out.len(),
                        root,
                    }));
                }
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

/// Splits a stream at lines that start a document (`---` alone or followed by a space),
/// returning each part with the number of its first line.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_separator = content
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if is_separator && offset > start {
            parts.push((start_line, &text[start..offset]));
            start = offset;
            start_line = i + 1;
        }
        offset += line.len();
    }
    if start < text.len() {
        parts.push((start_line, &text[start..]));
    }
    parts
}

fn parse_chunk(text: &str, line_offset: usize) -> Result<Vec<Node>, SyntaxError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
        line_offset,
        last_mark: Mark {
            line: line_offset + 1,
            column: 1,
        },
    };
    let mut roots = Vec::new();
    loop {
        let (event, span) = reader.next()?;
        match event {
            Event::StreamStart => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                reader.anchors.clear();
                reader.nodes = 0;
                let (event, span) = reader.next()?;
                if matches!(event, Event::DocumentEnd) {
                    continue;
                }
                let root = reader.node(event, span, &mut FieldPath::root(), 0)?;
                let (end, _) = reader.next()?;
                if !matches!(end, Event::DocumentEnd) {
                    return Err(reader.error("expected the end of the document"));
                }
                if !root.is_null() {
                    roots.push(root);
                }
            }
            _ => {
                return Err(SyntaxError {
                    mark: reader.mark(&span),
                    path: None,
                    message: "unexpected content outside a document".into(),
                });
            }
        }
    }
    Ok(roots)
}

fn is_structural(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(..)
            | Event::DocumentEnd
            | Event::Alias(_)
            | Event::Scalar(..)
            | Event::SequenceStart(..)
            | Event::SequenceEnd
            | Event::MappingStart(..)
            | Event::MappingEnd
    )
}

struct Reader<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    /// Anchored nodes with their node counts, so aliases are bounded before being copied.
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    /// Lines before the part of the stream being read.
    line_offset: usize,
    last_mark: Mark,
}

impl<'a> Reader<'a> {
    fn mark(&self, span: &Span) -> Mark {
        Mark {
            line: span.start.line() + self.line_offset,
            column: span.start.col() + 1,
        }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        loop {
            match self.parser.next_event() {
                // Presentation events (comments, anchor names) exist when other crates
                // in the build enable granit-parser's features; the tree ignores them.
                Some(Ok((event, _))) if !is_structural(&event) => continue,
                other => return self.take(other),
            }
        }
    }

    fn take(
        &mut self,
        next: Option<Result<(Event<'a>, Span), granit_parser::ScanError>>,
    ) -> Result<(Event<'a>, Span), SyntaxError> {
        match next {
            Some(Ok((event, span))) => {
                self.last_mark = self.mark(&span);
                Ok((event, span))
            }
            Some(Err(e)) => Err(SyntaxError {
                mark: Mark {
                    line: e.marker().line() + self.line_offset,
                    column: e.marker().col() + 1,
                },
                path: None,
                message: e.info(),
            }),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            mark: self.last_mark,
            path: None,
            message: message.to_owned(),
        }
    }

    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        path: &mut FieldPath,
        depth: usize,
    ) -> Result<Node, SyntaxError> {
        let mark = self.mark(&span);
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                mark,
                path: Some(path.clone()),
                message: format!("nesting is deeper than {MAX_DEPTH} levels"),
            });
        }
        self.nodes += 1;
        let (node, anchor) = match event {
            Event::Alias(id) => {
                let Some((target, count)) = self.anchors.get(&id) else {
                    return Err(SyntaxError {
                        mark,
                        path: Some(path.clone()),
                        message: "alias to an unknown anchor".into(),
                    });
                };
                self.nodes += count;
                if self.nodes > MAX_NODES {
                    return Err(SyntaxError {
                        mark,
                        path: Some(path.clone()),
                        message: format!(
                            "document expands to more than {MAX_NODES} nodes (alias bomb?)"
                        ),
                    });
                }
                let mut node = target.clone();
                node.mark = mark;
                (node, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = match tag {
                    Some(tag) if tag.core_suffix().is_some() => {
                        tag.core_suffix().map(str::to_owned)
                    }
                    Some(tag) if tag.handle() == "!" && tag.suffix().is_empty() => {
                        // The non-specific tag `!` forces a string.
                        Some("str".to_owned())
                    }
                    _ => None,
                };
                let plain = matches!(style, ScalarStyle::Plain);
                let node = Node {
                    mark,
                    kind: NodeKind::Scalar(Scalar {
                        text: text.into_owned(),
                        plain,
                        tag,
                    }),
                };
                (node, anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    path.push(crate::path::Segment::Index(items.len()));
                    let item = self.node(event, span, path, depth + 1)?;
                    path.pop();
                    items.push(item);
                }
                (
                    Node {
                        mark,
                        kind: NodeKind::Sequence(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(_, anchor, _) => {
                let node = self.mapping(mark, path, depth)?;
                (node, anchor)
            }
            _ => return Err(self.error("unexpected YAML event")),
        };
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                mark,
                path: Some(path.clone()),
                message: format!("document expands to more than {MAX_NODES} nodes (alias bomb?)"),
            });
        }
        if anchor != 0 {
            let count = node.count();
            self.anchors.insert(anchor, (node.clone(), count));
        }
        Ok(node)
    }

    fn mapping(
        &mut self,
        mark: Mark,
        path: &mut FieldPath,
        depth: usize,
    ) -> Result<Node, SyntaxError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut merges: Vec<Node> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key = self.node(event, span, path, depth + 1)?;
            let Some(key_text) = key.as_key().map(|k| k.into_owned()) else {
                return Err(SyntaxError {
                    mark: key.mark,
                    path: Some(path.clone()),
                    message: "mapping keys must be scalars".into(),
                });
            };
            let (event, span) = self.next()?;
            path.push(crate::path::Segment::Key(key_text.clone()));
            let value = self.node(event, span, path, depth + 1)?;
            let is_merge = key_text == "<<" && key.as_scalar().is_some_and(|s| s.plain);
            if is_merge {
                path.pop();
                merges.push(value);
                continue;
            }
            if let Some((first, _)) = entries
                .iter()
                .find(|(k, _)| k.as_key().as_deref() == Some(key_text.as_str()))
            {
                return Err(SyntaxError {
                    mark: key.mark,
                    path: Some(path.clone()),
                    message: format!(
                        "duplicate key `{key_text}` (first defined at line {})",
                        first.mark.line
                    ),
                });
            }
            path.pop();
            entries.push((key, value));
        }
        // Merge keys (`<<: *defaults`): explicit keys win, earlier merged maps win over later.
        for merge in merges {
            let sources = match merge.kind {
                NodeKind::Mapping(_) => vec![merge],
                NodeKind::Sequence(items) => items,
                NodeKind::Scalar(_) => {
                    return Err(SyntaxError {
                        mark: merge.mark,
                        path: Some(path.key("<<")),
                        message: "a merge key (`<<`) takes a mapping or a list of mappings".into(),
                    });
                }
            };
            for source in sources {
                let NodeKind::Mapping(source_entries) = source.kind else {
                    return Err(SyntaxError {
                        mark: source.mark,
                        path: Some(path.key("<<")),
                        message: "a merge key (`<<`) takes a mapping or a list of mappings".into(),
                    });
                };
                for (k, v) in source_entries {
                    if !entries.iter().any(|(e, _)| e.as_key() == k.as_key()) {
                        entries.push((k, v));
                    }
                }
            }
        }
        Ok(Node {
            mark,
            kind: NodeKind::Mapping(entries),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text);
        assert_eq!(docs.len(), 1);
        docs.remove(0).expect("valid YAML").root
    }

    #[test]
    fn core_schema_resolution() {
        let cases = [
            ("~", ScalarValue::Null),
            ("true", ScalarValue::Bool(true)),
            ("yes", ScalarValue::Str("yes")),
            ("on", ScalarValue::Str("on")),
            ("0x1f", ScalarValue::Int(31)),
            ("0o17", ScalarValue::Int(15)),
            ("-12", ScalarValue::Int(-12)),
            ("1.5", ScalarValue::Float(1.5)),
            ("1e3", ScalarValue::Float(1000.0)),
            ("1.10", ScalarValue::Float(1.1)),
            ("v1.10", ScalarValue::Str("v1.10")),
            ("18446744073709551615", ScalarValue::UInt(u64::MAX)),
            ("10s", ScalarValue::Str("10s")),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_plain(text), expected, "{text}");
        }
    }

    #[test]
    fn marks_are_one_based() {
        let root = one("a:\n  b: 1\n");
        let b = root.get("a").and_then(|a| a.get("b")).expect("a.b");
        assert_eq!(b.mark, Mark { line: 2, column: 6 });
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_path() {
        let err = parse_documents("a:\n  b: 1\n  b: 2\n")
            .remove(0)
            .expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "3:3: a.b: duplicate key `b` (first defined at line 2)"
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let root = one("base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n");
        let thing = root.get("thing").expect("thing");
        assert_eq!(
            thing
                .get("x")
                .and_then(Node::as_scalar)
                .map(|s| s.text.as_str()),
            Some("1")
        );
        assert_eq!(
            thing
                .get("y")
                .and_then(Node::as_scalar)
                .map(|s| s.text.as_str()),
            Some("3")
        );
    }

    #[test]
    fn empty_documents_are_skipped() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n---\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].as_ref().expect("valid").index, 0);
    }

    #[test]
    fn a_broken_document_does_not_hide_the_others() {
        let docs = parse_documents("a: 1\n---\nb: [\n---\nc: 3\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].as_ref().expect_err("broken").mark.line, 3);
        let c = docs[2].as_ref().expect("valid");
        assert_eq!(
            c.root.get("c").map(|n| n.mark),
            Some(Mark { line: 5, column: 4 })
        );
        assert_eq!(c.index, 2);
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_documents(&text).remove(0).expect_err("bomb");
        assert!(err.message.contains("alias bomb"), "{err}");
    }
}
