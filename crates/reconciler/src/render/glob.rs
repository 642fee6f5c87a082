//! Glob patterns with the semantics of Argo CD's `util/glob` (gobwas/glob compiled
//! without separators): `*` and `**` match any run of characters, `/` included; `?`
//! one character; `[abc]`, `[a-z]`, `[!a-z]` one character of (or not of) a class;
//! `{a,b}` any of the alternatives (which may hold patterns and nest); `\` escapes.

/// One element of a pattern without alternatives.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Literal(char),
    Any,
    One,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern: its alternatives expanded.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    alternatives: Vec<Vec<Token>>,
}

/// Expanding more alternatives than this is refused (`{a,b}{c,d}...` grows fast).
const MAX_ALTERNATIVES: usize = 4096;

impl Glob {
    /// Compiles `pattern`; an unbalanced `[` or `{` is an error, as in gobwas/glob.
    pub(crate) fn new(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let alternatives = expand(&chars, &mut pos, false)?;
        if pos != chars.len() {
            return Err(format!("unexpected {:?} in glob {pattern:?}", chars[pos]));
        }
        let alternatives = alternatives
            .into_iter()
            .map(|alt| tokens(&alt))
            .collect::<Result<_, _>>()?;
        Ok(Glob { alternatives })
    }

    /// Whether `text` matches the whole pattern.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        self.alternatives.iter().any(|alt| match_tokens(alt, &text))
    }
}

/// Expands `{a,b}` alternatives of `chars[*pos..]` into plain patterns (escapes and
/// classes kept as written). Inside braces it stops at the matching `,` or `}`.
fn expand(chars: &[char], pos: &mut usize, in_braces: bool) -> Result<Vec<Vec<char>>, String> {
    let mut results: Vec<Vec<char>> = vec![Vec::new()];
    while *pos < chars.len() {
        let c = chars[*pos];
        match c {
            '\\' => {
                let next = chars.get(*pos + 1).copied();
                for r in &mut results {
                    r.push('\\');
                    r.extend(next);
                }
                *pos += 2;
            }
            '[' => {
                let end = chars[*pos..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|i| *pos + i)
                    .ok_or_else(|| "unclosed [ in glob".to_owned())?;
                for r in &mut results {
                    r.extend_from_slice(&chars[*pos..=end]);
                }
                *pos = end + 1;
            }
            '{' => {
                *pos += 1;
                let mut options = Vec::new();
                loop {
                    options.extend(expand(chars, pos, true)?);
                    match chars.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return Err("unclosed { in glob".to_owned()),
                    }
                }
                let mut next = Vec::with_capacity(results.len() * options.len());
                for r in &results {
                    for o in &options {
                        let mut combined = r.clone();
                        combined.extend_from_slice(o);
                        next.push(combined);
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return Err("glob has too many alternatives".to_owned());
                }
                results = next;
            }
            ',' | '}' if in_braces => return Ok(results),
            _ => {
                for r in &mut results {
                    r.push(c);
                }
                *pos += 1;
            }
        }
    }
    if in_braces {
        return Err("unclosed { in glob".to_owned());
    }
    Ok(results)
}

fn tokens(chars: &[char]) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if let Some(&c) = chars.get(i + 1) {
                    out.push(Token::Literal(c));
                }
                i += 2;
            }
            '*' => {
                if out.last() != Some(&Token::Any) {
                    out.push(Token::Any);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::One);
                i += 1;
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while j < chars.len() && chars[j] != ']' {
                    let lo = chars[j];
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&c| c != ']')
                    {
                        ranges.push((lo, chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                if j >= chars.len() {
                    return Err("unclosed [ in glob".to_owned());
                }
                out.push(Token::Class { negated, ranges });
                i = j + 1;
            }
            c => {
                out.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Wildcard matching with single-star backtracking (linear in practice).
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        let step = match tokens.get(t) {
            Some(Token::Any) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            Some(Token::One) => true,
            Some(Token::Literal(c)) => *c == text[s],
            Some(Token::Class { negated, ranges }) => {
                ranges
                    .iter()
                    .any(|&(lo, hi)| lo <= text[s] && text[s] <= hi)
                    != *negated
            }
            None => false,
        };
        if step {
            t += 1;
            s += 1;
        } else if let Some((st, ss)) = star {
            t = st + 1;
            s = ss + 1;
            star = Some((st, ss + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).expect("valid glob").matches(text)
    }

    #[test]
    fn stars_cross_directories_like_argo() {
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
    fn malformed_patterns_are_errors() {
        assert!(Glob::new("{a,b").is_err());
        assert!(Glob::new("[abc").is_err());
    }
}
