//! Sizes of Rust source files and of the functions in them, read as text (no parser): what
//! tests/structure/ holds the harness's own code to.

/// The most lines a file of the harness (`src/`, `tests/`) may have.
pub const MAX_FILE_LINES: usize = 700;

/// The most lines a function in `tests/` may take, from its `fn` line to its closing brace.
pub const MAX_TEST_FUNCTION_LINES: usize = 80;

/// A function in a Rust file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpan {
    pub name: String,
    /// The line of its `fn` keyword, counted from 1.
    pub line: usize,
    /// Lines from the `fn` line to the line of its closing brace, both included.
    pub lines: usize,
}

/// Every function with a body in `text`, nested ones included, in the order they start.
pub fn function_spans(text: &str) -> Vec<FunctionSpan> {
    let code: Vec<char> = code_only(text).chars().collect();
    let line_at = |at: usize| code[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut spans = Vec::new();
    for at in 0..code.len() {
        let keyword = code[at..].starts_with(&['f', 'n'])
            && (at == 0 || !is_ident(code[at - 1]))
            && code.get(at + 2).is_some_and(|c| c.is_whitespace());
        if !keyword {
            continue;
        }
        let name: String = code[at + 2..]
            .iter()
            .skip_while(|c| c.is_whitespace())
            .take_while(|&&c| is_ident(c))
            .collect();
        let Some(open) = (at..code.len()).find(|&i| code[i] == '{' || code[i] == ';') else {
            continue;
        };
        if name.is_empty() || code[open] == ';' {
            continue;
        }
        let mut depth = 0usize;
        let close = (open..code.len()).find(|&i| {
            match code[i] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            depth == 0
        });
        if let Some(close) = close {
            let line = line_at(at);
            spans.push(FunctionSpan {
                name,
                line,
                lines: line_at(close) - line + 1,
            });
        }
    }
    spans
}

/// `text` with every comment, string literal and character literal blanked out (line breaks
/// kept), so the braces left are the code's own.
pub fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    // Copies `chars[from..to]`, blanking all but line breaks.
    let blank = |out: &mut String, from: usize, to: usize| {
        out.extend(
            chars[from..to]
                .iter()
                .map(|&c| if c == '\n' { c } else { ' ' }),
        );
    };
    while at < chars.len() {
        let end = literal_or_comment_end(&chars, at);
        if end > at {
            blank(&mut out, at, end);
            at = end;
        } else {
            out.push(chars[at]);
            at += 1;
        }
    }
    out
}

/// Where the comment or literal starting at `at` ends (just past it), or `at` if none starts
/// there.
fn literal_or_comment_end(chars: &[char], at: usize) -> usize {
    let rest = &chars[at..];
    let after_ident = at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_');
    let find = |from: usize, needle: &[char]| {
        (from..chars.len())
            .find(|&i| chars[i..].starts_with(needle))
            .map_or(chars.len(), |i| i + needle.len())
    };
    match rest {
        ['/', '/', ..] => find(at, &['\n']),
        ['/', '*', ..] => find(at + 2, &['*', '/']),
        ['"', ..] => string_end(chars, at + 1),
        ['r', '#' | '"', ..] | ['b', 'r', '#' | '"', ..] if !after_ident => {
            let start = if rest[0] == 'b' { at + 2 } else { at + 1 };
            let hashes = chars[start..].iter().take_while(|&&c| c == '#').count();
            if chars.get(start + hashes) != Some(&'"') {
                return at;
            }
            let mut closing = vec!['"'];
            closing.extend(std::iter::repeat_n('#', hashes));
            find(start + hashes + 1, &closing)
        }
        ['b', '"', ..] if !after_ident => string_end(chars, at + 2),
        // An escape: the character after the backslash may itself be a quote.
        ['\'', '\\', ..] => find(at + 3, &['\'']),
        ['\'', _, '\'', ..] => at + 3,
        _ => at,
    }
}

/// Just past the `"` that closes a string whose text starts at `from`.
fn string_end(chars: &[char], from: usize) -> usize {
    let mut at = from;
    while at < chars.len() {
        match chars[at] {
            '\\' => at += 2,
            '"' => return at + 1,
            _ => at += 1,
        }
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_in_strings_comments_and_chars_do_not_count() {
        let text = r##"
fn first() {
    let a = "}}{ \" }";
    let b = r#"}"}"#;
    let c = '}';
    let d = '\'';
    // }
    /* } */
    let e: &'static str = "x";
}

trait T {
    fn declared(&self);
}

pub fn second<'a>(x: &'a str) -> impl Fn(&str) -> bool + 'a {
    move |y| {
        fn inner() {}
        x == y
    }
}
"##;
        let spans: Vec<(String, usize, usize)> = function_spans(text)
            .into_iter()
            .map(|f| (f.name, f.line, f.lines))
            .collect();
        assert_eq!(
            spans,
            [
                ("first".to_owned(), 2, 9),
                ("second".to_owned(), 16, 6),
                ("inner".to_owned(), 18, 1),
            ]
        );
    }
}
