//! The two pattern languages of Argo CD's manifests (and of Windlass's access rules),
//! rewritten from their definitions:
//!
//! - [`Glob`]: gobwas/glob, which Argo CD uses for `sourceRepos` (with `/` as separator)
//!   and `destinations` (no separator): `*` (any run of non-separators), `**` (any run),
//!   `?` (one non-separator), `[abc]`, `[!abc]`, `[a-z]`, `[!a-z]`, `{alt1,alt2}` and `\`
//!   escapes. A pattern that does not compile matches nothing (Argo logs and moves on).
//!   Also `directory.include`/`exclude` and `ignoreDifferences` (no separator), and the
//!   attributes of an `AccessRule`.
//! - [`path_match`]: Go's `filepath.Match` (Unix), which Argo CD uses for the group, kind
//!   and name of resource allow/deny lists: `*`, `?`, `[abc]`, `[^a-z]`, `\` escapes, `/`
//!   as separator; a malformed pattern matches nothing.

/// One element of a compiled gobwas glob.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Text(Vec<char>),
    /// `*`: any run of characters that are not separators.
    Any,
    /// `**`: any run of characters.
    Super,
    /// `?`: one character that is not a separator.
    Single,
    /// `[abc]` / `[!abc]`: one character (separators included) in or not in the list.
    List {
        chars: Vec<char>,
        not: bool,
    },
    /// `[a-z]` / `[!a-z]`.
    Range {
        lo: char,
        hi: char,
        not: bool,
    },
    /// `{a,b}`: any of the alternatives.
    AnyOf(Vec<Vec<Node>>),
}

/// A compiled gobwas-style glob.
#[derive(Clone, Debug)]
pub struct Glob {
    nodes: Vec<Node>,
    separators: Vec<char>,
}

impl Glob {
    /// Compiles `pattern`; `Err` says why it is malformed.
    pub fn compile(pattern: &str, separators: &[char]) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parser = Parser { chars, pos: 0 };
        let nodes = parser.sequence(0)?;
        Ok(Glob {
            nodes,
            separators: separators.to_vec(),
        })
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        self.match_nodes(&self.nodes, &text)
    }

    fn match_nodes(&self, nodes: &[Node], text: &[char]) -> bool {
        let Some((first, rest)) = nodes.split_first() else {
            return text.is_empty();
        };
        match first {
            Node::Text(t) => text.starts_with(t) && self.match_nodes(rest, &text[t.len()..]),
            Node::Single => text.split_first().is_some_and(|(c, tail)| {
                !self.separators.contains(c) && self.match_nodes(rest, tail)
            }),
            Node::List { chars, not } => text
                .split_first()
                .is_some_and(|(c, tail)| chars.contains(c) != *not && self.match_nodes(rest, tail)),
            Node::Range { lo, hi, not } => text.split_first().is_some_and(|(c, tail)| {
                (lo <= c && c <= hi) != *not && self.match_nodes(rest, tail)
            }),
            Node::Any => {
                for k in 0..=text.len() {
                    if self.match_nodes(rest, &text[k..]) {
                        return true;
                    }
                    if k < text.len() && self.separators.contains(&text[k]) {
                        return false;
                    }
                }
                false
            }
            Node::Super => (0..=text.len()).any(|k| self.match_nodes(rest, &text[k..])),
            Node::AnyOf(alternatives) => alternatives.iter().any(|alt| {
                let mut seq = alt.clone();
                seq.extend_from_slice(rest);
                self.match_nodes(&seq, text)
            }),
        }
    }
}

/// gobwas/glob's `Match`: compile and match; a malformed pattern matches nothing.
pub fn glob_match(pattern: &str, text: &str, separators: &[char]) -> bool {
    Glob::compile(pattern, separators).is_ok_and(|g| g.is_match(text))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// A sequence up to the end, or (inside `depth` braces) up to `,` or `}`.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        let mut text = Vec::new();
        let flush = |text: &mut Vec<char>, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        while let Some(c) = self.peek() {
            if depth > 0 && (c == ',' || c == '}') {
                break;
            }
            self.pos += 1;
            match c {
                '*' => {
                    flush(&mut text, &mut nodes);
                    if self.peek() == Some('*') {
                        self.pos += 1;
                        nodes.push(Node::Super);
                    } else {
                        nodes.push(Node::Any);
                    }
                }
                '?' => {
                    flush(&mut text, &mut nodes);
                    nodes.push(Node::Single);
                }
                '[' => {
                    flush(&mut text, &mut nodes);
                    nodes.push(self.class()?);
                }
                '{' => {
                    flush(&mut text, &mut nodes);
                    let mut alternatives = Vec::new();
                    loop {
                        alternatives.push(self.sequence(depth + 1)?);
                        match self.next() {
                            Some(',') => continue,
                            // gobwas accepts an unclosed brace at the end.
                            Some('}') | None => break,
                            Some(other) => return Err(format!("unexpected {other:?}")),
                        }
                    }
                    nodes.push(Node::AnyOf(alternatives));
                }
                '\\' => {
                    if let Some(escaped) = self.next() {
                        text.push(escaped);
                    }
                }
                other => text.push(other),
            }
        }
        flush(&mut text, &mut nodes);
        Ok(nodes)
    }

    /// After `[`: `!`? then `lo-hi` or a list of characters, then `]`.
    fn class(&mut self) -> Result<Node, String> {
        let mut not = false;
        let mut first = self.next().ok_or("unexpected end of input")?;
        if first == '!' {
            not = true;
            first = self.next().ok_or("unexpected end of input")?;
        }
        if self.peek() == Some('-') {
            self.pos += 1;
            let hi = self.next().ok_or("unexpected end of input")?;
            if self.next() != Some(']') {
                return Err("expected close range character".into());
            }
            if hi < first {
                return Err(format!(
                    "hi character '{hi}' should be greater than lo '{first}'"
                ));
            }
            return Ok(Node::Range { lo: first, hi, not });
        }
        self.pos -= 1;
        let mut chars = Vec::new();
        loop {
            match self.next() {
                None => return Err("unexpected end of input".into()),
                Some(']') => break,
                Some('\\') => {
                    if let Some(c) = self.next() {
                        chars.push(c);
                    }
                }
                Some(c) => chars.push(c),
            }
        }
        if chars.is_empty() {
            return Err("could not parse range".into());
        }
        Ok(Node::List { chars, not })
    }
}

/// Go's `filepath.Match` on Unix: whether all of `name` matches `pattern`; a malformed
/// pattern matches nothing (Argo ignores the error).
pub fn path_match(pattern: &str, name: &str) -> bool {
    let Some(items) = parse_path_pattern(pattern) else {
        return false;
    };
    let name: Vec<char> = name.chars().collect();
    path_match_items(&items, &name)
}

#[derive(Debug)]
enum PathItem {
    Char(char),
    Star,
    Question,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn parse_path_pattern(pattern: &str) -> Option<Vec<PathItem>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => items.push(PathItem::Star),
            '?' => items.push(PathItem::Question),
            '\\' => {
                i += 1;
                items.push(PathItem::Char(*chars.get(i)?));
            }
            '[' => {
                i += 1;
                let negated = chars.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    if chars.get(i) == Some(&']') && !ranges.is_empty() {
                        break;
                    }
                    let lo = class_char(&chars, &mut i)?;
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        hi = class_char(&chars, &mut i)?;
                    }
                    ranges.push((lo, hi));
                }
                items.push(PathItem::Class { negated, ranges });
            }
            c => items.push(PathItem::Char(c)),
        }
        i += 1;
    }
    Some(items)
}

/// One character of a `[...]` class (Go's `getEsc`): not `-` or `]` unescaped.
fn class_char(chars: &[char], i: &mut usize) -> Option<char> {
    let mut c = *chars.get(*i)?;
    if c == '-' || c == ']' {
        return None;
    }
    if c == '\\' {
        *i += 1;
        c = *chars.get(*i)?;
    }
    *i += 1;
    Some(c)
}

fn path_match_items(items: &[PathItem], name: &[char]) -> bool {
    let Some((first, rest)) = items.split_first() else {
        return name.is_empty();
    };
    let one = |ok: &dyn Fn(char) -> bool| {
        name.split_first()
            .is_some_and(|(c, tail)| *c != '/' && ok(*c) && path_match_items(rest, tail))
    };
    match first {
        PathItem::Char(c) => name
            .split_first()
            .is_some_and(|(n, tail)| n == c && path_match_items(rest, tail)),
        PathItem::Question => one(&|_| true),
        PathItem::Class { negated, ranges } => {
            one(&|c| ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated)
        }
        PathItem::Star => {
            for k in 0..=name.len() {
                if path_match_items(rest, &name[k..]) {
                    return true;
                }
                if k < name.len() && name[k] == '/' {
                    return false;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without separators, as `directory.include`/`exclude` use it.
    fn m(pattern: &str, text: &str) -> bool {
        Glob::compile(pattern, &[])
            .expect("valid glob")
            .is_match(text)
    }

    #[test]
    fn without_separators_stars_cross_directories_like_argo() {
        assert!(m("*.yaml", "deploy.yaml"));
        assert!(m("*.yaml", "sub/deploy.yaml"));
        assert!(m("**/*.yaml", "a/b/deploy.yaml"));
        assert!(m("sub/*", "sub/x/y.json"));
        assert!(!m("*.yaml", "deploy.yml"));
        assert!(m("*", ""));
    }

    #[test]
    fn alternatives_classes_and_escapes() {
        assert!(m("{config.json,env-usw2/*}", "config.json"));
        assert!(m("{config.json,env-usw2/*}", "env-usw2/a.yaml"));
        assert!(!m("{config.json,env-usw2/*}", "env-use1/a.yaml"));
        assert!(m("*.{yaml,yml}", "a.yml"));
        assert!(m("{a,{b,c}}x", "cx"));
        assert!(m("file[0-9].yaml", "file3.yaml"));
        assert!(!m("file[!0-9].yaml", "file3.yaml"));
        assert!(m("file?.yaml", "filea.yaml"));
        assert!(m("\\*.yaml", "*.yaml"));
        assert!(!m("\\*.yaml", "a.yaml"));
    }

    #[test]
    fn an_unclosed_class_is_an_error_an_unclosed_brace_at_the_end_is_not() {
        assert!(Glob::compile("[abc", &[]).is_err());
        assert!(m("{a,b", "b"), "gobwas accepts it");
    }

    #[test]
    fn gobwas_semantics() {
        let cases: &[(&str, &str, &[char], bool)] = &[
            (
                "https://github.com/argoproj/*",
                "https://github.com/argoproj/argo-cd",
                &['/'],
                true,
            ),
            (
                "https://github.com/argoproj/*",
                "https://github.com/argoproj/a/b",
                &['/'],
                false,
            ),
            (
                "https://github.com/argoproj/**",
                "https://github.com/argoproj/a/b",
                &['/'],
                true,
            ),
            (
                "https://github.com/*/argo-cd",
                "https://github.com/argoproj/argo-cd",
                &['/'],
                true,
            ),
            ("*", "https://x/y", &[], true),
            (
                "https://*.example.com",
                "https://kube.example.com",
                &[],
                true,
            ),
            ("team-?", "team-a", &[], true),
            ("team-?", "team-ab", &[], false),
            ("team-[ab]", "team-b", &[], true),
            ("team-[!ab]", "team-b", &[], false),
            ("team-[!ab]", "team-c", &[], true),
            ("team-[a-c]", "team-c", &[], true),
            ("team-[!a-c]", "team-d", &[], true),
            ("{dev,prod}-*", "prod-eu", &[], true),
            ("{dev,prod}-*", "qa-eu", &[], false),
            ("{dev,{qa,uat}}", "uat", &[], true),
            ("a\\*b", "a*b", &[], true),
            ("a\\*b", "axb", &[], false),
            ("a,b}", "a,b}", &[], true),
            ("", "", &[], true),
            ("", "x", &[], false),
            ("[", "[", &[], false),
            ("[]", "]", &[], false),
            ("[z-a]", "b", &[], false),
            ("ns-*-x", "ns-a/b-x", &['/'], false),
            ("ns-*-x", "ns-a/b-x", &[], true),
        ];
        for (pattern, text, seps, want) in cases {
            assert_eq!(
                glob_match(pattern, text, seps),
                *want,
                "{pattern:?} vs {text:?} with {seps:?}"
            );
        }
    }

    #[test]
    fn filepath_match_semantics() {
        let cases = [
            ("*", "Deployment", true),
            ("*", "", true),
            ("", "", true),
            ("Deploy*", "Deployment", true),
            ("*.k8s.io", "rbac.authorization.k8s.io", true),
            ("apps", "apps", true),
            ("apps", "Apps", false),
            ("Cluster?ole", "ClusterRole", true),
            ("[CR]ole", "Role", true),
            ("[^CR]ole", "Role", false),
            ("[a-z]*", "namespace", true),
            ("a/*", "a/b/c", false),
            ("*", "a/b", false),
            ("\\*", "*", true),
            ("[", "[", false),
            ("[]", "]", false),
            ("[-a]", "-", false),
            ("a\\", "a", false),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(path_match(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Escapes every gobwas special character, so the pattern is the literal text.
    fn escape(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if matches!(c, '*' | '?' | '\\' | '[' | ']' | '{' | '}' | ',') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    proptest! {
        #[test]
        fn an_escaped_text_matches_itself_only(text in "[a-z/*?\\[\\]{},!.:-]{0,12}", other in "[a-z/*.]{0,12}") {
            let pattern = escape(&text);
            prop_assert!(glob_match(&pattern, &text, &['/']));
            prop_assert_eq!(glob_match(&pattern, &other, &['/']), other == text);
        }

        #[test]
        fn a_prefix_star_matches_within_one_segment(prefix in "[a-z]{0,6}", rest in "[a-z/]{0,8}") {
            let pattern = format!("{}*", escape(&prefix));
            let text = format!("{prefix}{rest}");
            prop_assert_eq!(glob_match(&pattern, &text, &['/']), !rest.contains('/'));
            let super_pattern = format!("{}**", escape(&prefix));
            prop_assert!(glob_match(&super_pattern, &text, &['/']));
            prop_assert_eq!(path_match(&pattern, &text), !rest.contains('/'));
        }
    }
}
