//! A YAML reader that keeps the position of every node and reads values the way
//! Kubernetes does.
//!
//! Built on `granit-parser`, whose scanner accepts the multi-line quoted scalars that
//! Go's YAML libraries (and so `kubectl` and Argo) accept.
//!
//! Manifests are read into a [`Node`] tree first (anchors, aliases and merge keys
//! resolved, duplicate keys rejected), so that every later error — a wrong type deep in
//! a spec, a broken validation rule — can name the line and column it comes from.
//! JSON is YAML, so JSON manifests go through the same reader.
//!
//! Scalars mean what they mean to `kubectl`, the API server and Argo, which all read YAML
//! with `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1): `yes`, `on` and `y` are `true`,
//! `0644` is 420, `1e3` is the integer 1000, and mapping keys are the strings JSON makes
//! of them (`on:` is the key `"true"`). See [`Scalar::resolve`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::path::FieldPath;

mod resolve;

use resolve::{GoValue, JsonScalar, Typing};

/// Nesting deeper than this is rejected rather than risking the stack.
const MAX_DEPTH: usize = 256;
/// Upper bound on the nodes that aliases may copy into one file ("billion laughs"),
/// whatever the number of documents it holds.
const MAX_ALIAS_NODES: usize = 1_000_000;

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

/// A scalar: its text and the value Kubernetes reads from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The scalar's text after unescaping and folding (for `!!binary`, the decoded
    /// text; for a mapping key, the key as JSON has it).
    pub text: String,
    value: JsonScalar,
}

/// The value of a scalar as `kubectl` reads it: YAML 1.1 resolution, then JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue<'a> {
    /// `null`, `Null`, `NULL`, `~` or an empty plain scalar.
    Null,
    /// `true`/`yes`/`y`/`on` or `false`/`no`/`n`/`off` (each also capitalized or in
    /// capitals).
    Bool(bool),
    /// An integer within 64-bit signed range: decimal, `0x1F`, `0o17`, `0b101`, octal
    /// `0644`, `_` separators allowed, and whole floats such as `1e3` or `2.0`.
    Int(i64),
    /// Any other finite number (integers beyond 64-bit signed range included).
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str(&'a str),
}

impl Scalar {
    /// The value `kubectl` reads from this scalar.
    pub fn resolve(&self) -> ScalarValue<'_> {
        match self.value {
            JsonScalar::Null => ScalarValue::Null,
            JsonScalar::Bool(b) => ScalarValue::Bool(b),
            JsonScalar::Int(n) => ScalarValue::Int(n),
            JsonScalar::Float(f) => ScalarValue::Float(f),
            JsonScalar::Str => ScalarValue::Str(&self.text),
        }
    }

    fn string(text: String) -> Self {
        Scalar {
            text,
            value: JsonScalar::Str,
        }
    }
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
                .find(|(k, _)| k.as_key() == Some(key))
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

    /// This node as a mapping key: the key's text as Kubernetes' YAML-to-JSON conversion
    /// makes it (`0x10` is `"16"`, `on` is `"true"`). Collections cannot be keys.
    pub fn as_key(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(&s.text),
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

/// Why a text is not well-formed YAML, or holds a value Kubernetes cannot read.
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
/// apply` skips them. Aliases may copy at most a million nodes into the whole stream:
/// an alias bomb split over many documents is refused as surely as one in a single
/// document.
pub fn parse_documents(text: &str) -> Vec<Result<Document, SyntaxError>> {
    let mut out = Vec::new();
    let mut alias_nodes = 0;
    for (first_line, chunk) in split_documents(text) {
        match parse_chunk(chunk, first_line - 1, &mut alias_nodes) {
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

fn parse_chunk(
    text: &str,
    line_offset: usize,
    alias_nodes: &mut usize,
) -> Result<Vec<Node>, SyntaxError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        alias_nodes,
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

struct Reader<'a, 'b> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    /// Anchored nodes with their node counts, so aliases are bounded before being copied.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied by aliases so far in the whole stream.
    alias_nodes: &'b mut usize,
    /// Lines before the part of the stream being read.
    line_offset: usize,
    last_mark: Mark,
}

/// A scalar as the parser reports it, before it is resolved.
struct RawScalar {
    text: String,
    typing: Typing,
    /// A plain `<<`: a merge key.
    merge: bool,
}

impl<'a> Reader<'a, '_> {
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

    /// Reads the node that starts with `event`. A scalar is resolved as a value, or as a
    /// mapping key when `key` is set.
    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        path: &mut FieldPath,
        depth: usize,
    ) -> Result<Node, SyntaxError> {
        self.read(event, span, path, depth, false)
            .map(|(node, _)| node)
    }

    /// Like [`Reader::node`], also telling whether the node is a merge key (`<<`).
    fn read(
        &mut self,
        event: Event<'a>,
        span: Span,
        path: &mut FieldPath,
        depth: usize,
        key: bool,
    ) -> Result<(Node, bool), SyntaxError> {
        let mark = self.mark(&span);
        let at = |message: String, path: &FieldPath| SyntaxError {
            mark,
            path: Some(path.clone()),
            message,
        };
        if depth > MAX_DEPTH {
            return Err(at(
                format!("nesting is deeper than {MAX_DEPTH} levels"),
                path,
            ));
        }
        let mut merge = false;
        let (node, anchor) = match event {
            Event::Alias(id) => {
                let Some((target, count)) = self.anchors.get(&id) else {
                    return Err(at("alias to an unknown anchor".into(), path));
                };
                *self.alias_nodes += count;
                if *self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(at(
                        format!(
                            "aliases expand the file to more than {MAX_ALIAS_NODES} nodes \
                             (alias bomb?)"
                        ),
                        path,
                    ));
                }
                let mut node = target.clone();
                node.mark = mark;
                (node, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|tag| {
                    tag.suffix_in_namespace("tag:yaml.org,2002:")
                        .map(std::borrow::Cow::into_owned)
                });
                let raw = RawScalar {
                    merge: text == "<<" && tag.is_none() && matches!(style, ScalarStyle::Plain),
                    typing: Typing::of(
                        tag.as_ref().map(Option::as_deref),
                        matches!(style, ScalarStyle::Plain),
                    ),
                    text: text.into_owned(),
                };
                merge = raw.merge && key;
                let scalar = resolve_scalar(raw, key).map_err(|message| at(message, path))?;
                let node = Node {
                    mark,
                    kind: NodeKind::Scalar(scalar),
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
        if key && !matches!(node.kind, NodeKind::Scalar(_)) {
            return Err(at("mapping keys must be scalars".into(), path));
        }
        if anchor != 0 {
            let count = node.count();
            self.anchors.insert(anchor, (node.clone(), count));
        }
        Ok((node, merge))
    }

    /// A mapping with go-yaml v2's semantics: keys are compared as JSON has them, a
    /// key given twice is an error, and a merge (`<<: *base`) sets the keys it brings
    /// where it stands — over keys written before it, under keys written after it; of a
    /// list of merged mappings, the earlier wins.
    fn mapping(
        &mut self,
        mark: Mark,
        path: &mut FieldPath,
        depth: usize,
    ) -> Result<Node, SyntaxError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        // Where each key's entry is, and the line of each key written out (not merged).
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut written: HashMap<String, usize> = HashMap::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let (key, merge) = self.read(event, span, path, depth + 1, true)?;
            let key_text = key.as_key().unwrap_or_default().to_owned();
            let (event, span) = self.next()?;
            path.push(crate::path::Segment::Key(key_text.clone()));
            let value = self.node(event, span, path, depth + 1)?;
            path.pop();
            if merge {
                for (k, v) in merged_entries(value, path)? {
                    let text = k.as_key().unwrap_or_default().to_owned();
                    upsert(&mut entries, &mut index, text, (k, v));
                }
                continue;
            }
            match written.entry(key_text.clone()) {
                Entry::Occupied(first) => {
                    return Err(SyntaxError {
                        mark: key.mark,
                        path: Some(path.key(key_text.as_str())),
                        message: format!(
                            "duplicate key `{key_text}` (first defined at line {})",
                            first.get()
                        ),
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert(key.mark.line);
                }
            }
            upsert(&mut entries, &mut index, key_text, (key, value));
        }
        Ok(Node {
            mark,
            kind: NodeKind::Mapping(entries),
        })
    }
}

/// Sets `key` in a mapping being built, replacing the entry it had.
fn upsert(
    entries: &mut Vec<(Node, Node)>,
    index: &mut HashMap<String, usize>,
    key: String,
    entry: (Node, Node),
) {
    match index.entry(key) {
        Entry::Occupied(slot) => entries[*slot.get()] = entry,
        Entry::Vacant(slot) => {
            slot.insert(entries.len());
            entries.push(entry);
        }
    }
}

/// The entries a merge key's value brings, in the order they are set: a mapping's own,
/// or those of a list of mappings from the last to the first (so the first wins).
fn merged_entries(value: Node, path: &FieldPath) -> Result<Vec<(Node, Node)>, SyntaxError> {
    let not_a_map = |node: &Node| SyntaxError {
        mark: node.mark,
        path: Some(path.key("<<")),
        message: "a merge key (`<<`) takes a mapping or a list of mappings".into(),
    };
    let sources = match value.kind {
        NodeKind::Mapping(entries) => return Ok(entries),
        NodeKind::Sequence(items) => items,
        NodeKind::Scalar(_) => return Err(not_a_map(&value)),
    };
    let mut out = Vec::new();
    for source in sources.into_iter().rev() {
        match source.kind {
            NodeKind::Mapping(entries) => out.extend(entries),
            _ => return Err(not_a_map(&source)),
        }
    }
    Ok(out)
}

/// Resolves a scalar as a value or as a mapping key.
fn resolve_scalar(raw: RawScalar, key: bool) -> Result<Scalar, String> {
    let (value, decoded) = resolve::resolve(&raw.text, raw.typing)?;
    let text = decoded.unwrap_or(raw.text);
    if key {
        return Ok(match value {
            GoValue::Str => Scalar::string(text),
            _ => Scalar::string(resolve::json_key(value, &text)?),
        });
    }
    Ok(Scalar {
        value: resolve::json_value(value, &text)?,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text);
        assert_eq!(docs.len(), 1);
        docs.remove(0).expect("valid YAML").root
    }

    fn value(text: &str) -> ScalarValue<'static> {
        let root = one(&format!("v: {text}\n"));
        let scalar = root.get("v").and_then(Node::as_scalar).expect("a scalar");
        match scalar.resolve() {
            ScalarValue::Str(s) => ScalarValue::Str(s.to_owned().leak()),
            ScalarValue::Null => ScalarValue::Null,
            ScalarValue::Bool(b) => ScalarValue::Bool(b),
            ScalarValue::Int(n) => ScalarValue::Int(n),
            ScalarValue::Float(f) => ScalarValue::Float(f),
        }
    }

    #[test]
    fn scalars_resolve_as_kubectl_reads_them() {
        let cases = [
            ("~", ScalarValue::Null),
            ("yes", ScalarValue::Bool(true)),
            ("Off", ScalarValue::Bool(false)),
            ("'yes'", ScalarValue::Str("yes")),
            ("0644", ScalarValue::Int(420)),
            ("1e3", ScalarValue::Int(1000)),
            ("1.5", ScalarValue::Float(1.5)),
            (
                "18446744073709551615",
                ScalarValue::Float(18446744073709551615.0),
            ),
            ("!!str 0644", ScalarValue::Str("0644")),
            ("!!int \"0644\"", ScalarValue::Int(420)),
            ("!!float 1", ScalarValue::Int(1)),
            ("!custom 12", ScalarValue::Str("12")),
            ("!!binary aGVsbG8=", ScalarValue::Str("hello")),
            ("2001-12-14", ScalarValue::Str("2001-12-14")),
        ];
        for (text, expected) in cases {
            assert_eq!(value(text), expected, "{text}");
        }
    }

    #[test]
    fn values_json_cannot_hold_are_errors_at_their_place() {
        for (text, message) in [
            (
                "a:\n  b: .inf\n",
                "2:6: a.b: `.inf` is +Inf, which JSON cannot hold (quote it to keep the text)",
            ),
            (
                "a: !!int yes\n",
                "1:10: a: cannot decode !!bool `yes` as a !!int",
            ),
            (
                "a:\n  ~: 1\n",
                "2:3: a: the mapping key `~` is null, which JSON cannot hold as a key (quote it)",
            ),
            (
                "a: !!binary '%%'\n",
                "1:13: a: !!binary value contains invalid base64 data",
            ),
        ] {
            let err = parse_documents(text).remove(0).expect_err(text);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn keys_are_the_strings_json_makes_of_them() {
        let root = one("on: a\n0x10: b\n1.0: c\n'y': d\n1e6: e\n");
        let keys: Vec<&str> = match &root.kind {
            NodeKind::Mapping(entries) => entries.iter().filter_map(|(k, _)| k.as_key()).collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["true", "16", "1", "y", "1e+06"]);
        let err = parse_documents("true: a\n'x': b\nyes: c\n")
            .remove(0)
            .expect_err("`yes` is the key `true` again");
        assert_eq!(
            err.to_string(),
            "3:1: true: duplicate key `true` (first defined at line 1)"
        );
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
        // (`y` would be the key `true`: YAML 1.1.)
        let root = one("base: &b {x: 1, z: 2}\nthing:\n  <<: *b\n  z: 3\n");
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
                .get("z")
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
    fn merges_set_keys_where_they_stand() {
        // go-yaml v2 (kubectl, Argo): a merge overrides keys written before it, keys
        // written after it override the merge, and the first of merged mappings wins.
        let root = one(
            "b: &b {x: 1, z: 2}\nm1: {x: 0, <<: *b}\nm2: {<<: *b, x: 0}\nm3: {<<: [{x: 5}, *b]}\n",
        );
        let x = |m: &str| {
            root.get(m)
                .and_then(|m| m.get("x"))
                .and_then(Node::as_scalar)
                .map(|s| s.text.clone())
        };
        assert_eq!(x("m1").as_deref(), Some("1"));
        assert_eq!(x("m2").as_deref(), Some("0"));
        assert_eq!(x("m3").as_deref(), Some("5"));
    }

    #[test]
    fn wide_mappings_and_merges_are_read_in_linear_time() {
        // 200,000 keys: comparing each key with every earlier one (as this reader once
        // did) takes hours; a hash per key, well under a second. A merge of all of them
        // goes the same way.
        let keys = 200_000;
        let mut text = String::from("base: &b\n");
        for i in 0..keys {
            text.push_str(&format!("  k{i}: {i}\n"));
        }
        text.push_str("copy:\n  <<: *b\n  k0: first\n");
        let root = one(&text);
        let copy = root.get("copy").expect("copy");
        assert!(matches!(&copy.kind, NodeKind::Mapping(e) if e.len() == keys));
        assert_eq!(copy.get("k0").and_then(Node::as_str), Some("first"));
    }

    /// Ten anchors, each a list of ten aliases to the one before: `a{levels}` expands to
    /// 10^levels scalars.
    fn laughs(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..levels {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        text
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let err = parse_documents(&laughs(10)).remove(0).expect_err("bomb");
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn alias_expansion_is_bounded_per_file_not_per_document() {
        // Each document expands to about 110,000 nodes: well under the bound alone, over
        // it together. The documents after the bound is reached are refused too.
        let document = laughs(5);
        let stream = [document.as_str(); 12].join("---\n");
        let docs = parse_documents(&stream);
        assert_eq!(docs.len(), 12);
        assert!(docs[0].is_ok());
        let refused: Vec<&SyntaxError> = docs.iter().filter_map(|d| d.as_ref().err()).collect();
        assert!(refused.len() >= 2, "{} documents refused", refused.len());
        assert!(
            refused.iter().all(|e| e.message.contains("alias bomb")),
            "{refused:?}"
        );
        assert!(docs.last().is_some_and(Result::is_err));
    }
}
