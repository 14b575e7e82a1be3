//! A guard run before parsing: how deeply brackets nest.
//!
//! hcl-edit's expression parser backtracks on a syntax error in a way that
//! costs about 2^depth for operands nested inside unclosed brackets (found by
//! the fuzzer: `t = a*b*c[` repeated 18 times takes 0.4 s, and an 494-byte
//! expression nested 12 deep in `{` took 0.17 s; each further level doubles
//! it). Its own limit, 64 levels, allows unbounded work, so expressions are
//! held to [`MAX_NESTING`] levels, which bounds the worst case found to a few
//! tens of milliseconds while leaving room for any literal a person writes.
//! Block bodies (`stage "s" { … }`) do not take part in that backtracking and
//! count separately, up to [`MAX_BLOCK_NESTING`].
//!
//! The scan is linear and understands what can hide a bracket: quoted
//! strings (with escapes and `${…}` / `%{…}` interpolations, which do nest),
//! heredocs, and comments.

/// The deepest nesting of `{`, `[`, `(` and `${` inside one expression.
pub const MAX_NESTING: usize = 10;

/// The deepest nesting of blocks.
pub const MAX_BLOCK_NESTING: usize = 32;

#[derive(Debug)]
enum Mode {
    Code,
    /// A block body: `{` here opens a nested block unless an attribute's
    /// expression has started on this line.
    Block,
    Str,
    Heredoc {
        delim: Vec<u8>,
    },
    /// Code inside `${` / `%{`, opened at this depth.
    Interp {
        opened_at: usize,
    },
}

/// The byte offset of the first bracket nested deeper than allowed, and which
/// limit it passes.
pub fn too_deep(source: &str) -> Option<(usize, &'static str)> {
    scan(source, false)
}

/// Like [`too_deep`], for text that is one expression (no blocks).
pub fn expression_too_deep(source: &str) -> Option<(usize, &'static str)> {
    scan(source, true)
}

fn scan(source: &str, expression: bool) -> Option<(usize, &'static str)> {
    const EXPR: &str = "expression";
    let b = source.as_bytes();
    let mut stack = vec![if expression { Mode::Code } else { Mode::Block }];
    // Nesting inside the current expression, and of blocks.
    let mut depth = 0usize;
    let mut blocks = 0usize;
    // In a block body: whether an attribute's expression has begun (`name =`).
    let mut in_attr = false;
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        let at_line_start = std::mem::replace(&mut line_start, c == b'\n');
        let in_text = matches!(stack.last(), Some(Mode::Str | Mode::Heredoc { .. }));
        // Code: comments hide brackets. Text: `${` and `%{` open code again.
        // (A heredoc's closing line is a plain identifier, so checking `$`
        // before it changes nothing.)
        let next = if in_text {
            interpolation(b, i, &mut depth, &mut stack)
        } else {
            skip_comment(b, i)
        };
        if let Some(next) = next {
            if depth > MAX_NESTING {
                return Some((i, EXPR));
            }
            i = next;
            continue;
        }
        match stack.last() {
            Some(Mode::Block) if !in_attr => match c {
                b'"' => stack.push(Mode::Str),
                b'=' => in_attr = true,
                b'{' => {
                    blocks += 1;
                    if blocks > MAX_BLOCK_NESTING {
                        return Some((i, "block"));
                    }
                    stack.push(Mode::Block);
                }
                b'}' if stack.len() > 1 => {
                    blocks = blocks.saturating_sub(1);
                    stack.pop();
                }
                _ => {}
            },
            Some(Mode::Block) | Some(Mode::Code) | Some(Mode::Interp { .. }) | None => match c {
                // An attribute's expression ends at the end of its line when no
                // bracket is open; a `}` there closes the block (one-line blocks).
                b'\n' if depth == 0 && matches!(stack.last(), Some(Mode::Block)) => in_attr = false,
                b'}' if depth == 0 && matches!(stack.last(), Some(Mode::Block)) => {
                    in_attr = false;
                    continue;
                }
                b'"' => stack.push(Mode::Str),
                b'<' if b.get(i + 1) == Some(&b'<') => {
                    if let Some((delim, body)) = heredoc_start(b, i + 2) {
                        stack.push(Mode::Heredoc { delim });
                        i = body;
                        line_start = true;
                        continue;
                    }
                }
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some((i, EXPR));
                    }
                }
                b'}' if matches!(stack.last(), Some(Mode::Interp { opened_at }) if *opened_at == depth) =>
                {
                    depth -= 1;
                    stack.pop();
                }
                b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                _ => {}
            },
            Some(Mode::Str) => match c {
                b'\\' => i += 1,
                b'"' | b'\n' => {
                    stack.pop();
                }
                _ => {}
            },
            Some(Mode::Heredoc { delim }) => {
                if at_line_start && closes_heredoc(b, i, delim) {
                    stack.pop();
                    i = skip_line(b, i);
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}

/// At `$` or `%`: `$${` / `%%{` are escapes (skipped); `${` / `%{` open an
/// interpolation. Returns where scanning goes on, or None for a plain character.
fn interpolation(b: &[u8], i: usize, depth: &mut usize, stack: &mut Vec<Mode>) -> Option<usize> {
    let c = b[i];
    if c != b'$' && c != b'%' {
        return None;
    }
    match (b.get(i + 1), b.get(i + 2)) {
        (Some(&n), Some(b'{')) if n == c => Some(i + 3),
        (Some(b'{'), _) => {
            *depth += 1;
            stack.push(Mode::Interp { opened_at: *depth });
            Some(i + 2)
        }
        _ => None,
    }
}

/// After `<<`: an optional `-`, an identifier, then the end of the line.
/// Returns the delimiter and where the body starts.
fn heredoc_start(b: &[u8], mut i: usize) -> Option<(Vec<u8>, usize)> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
        i += 1;
    }
    if i == start {
        return None;
    }
    let delim = b[start..i].to_vec();
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\r') {
        i += 1;
    }
    (b.get(i) == Some(&b'\n')).then_some((delim, i + 1))
}

fn closes_heredoc(b: &[u8], i: usize, delim: &[u8]) -> bool {
    let end = b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p);
    b[i..end].trim_ascii() == delim
}

/// At a comment (`#`, `//`, `/* */`): where scanning goes on. A line
/// comment stops at its line break, which may end an attribute.
fn skip_comment(b: &[u8], i: usize) -> Option<usize> {
    match (b[i], b.get(i + 1)) {
        (b'#', _) | (b'/', Some(b'/')) => Some(skip_line(b, i)),
        (b'/', Some(b'*')) => Some(find(b, i + 2, b"*/").map_or(b.len(), |j| j + 2)),
        _ => None,
    }
}

fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("x = {}1{}\n", "[".repeat(n), "]".repeat(n))
    }

    fn blocks(n: usize, inner: &str) -> String {
        format!("{}{inner}{}", "a \"l\" {\n".repeat(n), "}\n".repeat(n))
    }

    #[test]
    fn counts_brackets_in_expressions() {
        assert_eq!(too_deep(&nested(MAX_NESTING)), None);
        assert_eq!(
            too_deep(&nested(MAX_NESTING + 1)),
            Some((4 + MAX_NESTING, "expression"))
        );
        // The fuzzer's pathological shapes are caught however they end.
        assert!(too_deep(&format!("t = {}T!%T", "q*T*t[".repeat(40))).is_some());
        let e = format!("{}1", "{7-7--".repeat(MAX_NESTING + 1));
        assert_eq!(
            expression_too_deep(&e),
            Some((6 * MAX_NESTING, "expression"))
        );
    }

    #[test]
    fn blocks_count_apart_from_expressions() {
        // Blocks do not use up the expression limit…
        let src = blocks(MAX_NESTING + 5, &nested(MAX_NESTING));
        assert_eq!(too_deep(&src), None, "{src}");
        // …but have a limit of their own.
        let deep = blocks(MAX_BLOCK_NESTING + 1, "");
        assert_eq!(too_deep(&deep).map(|(_, k)| k), Some("block"));
        // One-line blocks, comments after attributes, heredocs and multi-line
        // expressions all end where they should.
        let src = format!(
            "a {{ x = 1 }}\nb {{\n  x = 1 # note {{\n  y = [\n    1,\n  ]\n  z = <<EOF\n  {{{{{{\nEOF\n{}}}\n",
            blocks(MAX_BLOCK_NESTING - 1, "")
        );
        assert_eq!(too_deep(&src), None, "{src}");
    }

    #[test]
    fn ignores_brackets_in_strings_heredocs_and_comments() {
        let deep = "[".repeat(40);
        let src = format!(
            "a = \"{deep} \\\" {deep}\"\n# {deep}\n// {deep}\n/* {deep} */\nb = <<EOF\n{deep}\n$${{ {deep}\nEOF\nc = <<-X\n  {deep}\n  X\nd = \"$${{\" \n"
        );
        assert_eq!(too_deep(&src), None, "{src}");
    }

    #[test]
    fn counts_interpolations_as_nesting() {
        let inner = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING - 1),
            "]".repeat(MAX_NESTING - 1)
        );
        assert_eq!(too_deep(&format!("a = \"${{{inner}}}\"\n")), None);
        assert!(too_deep(&format!("a = \"${{[{inner}]}}\"\n")).is_some());
        // A `}` that closes an interpolation leaves the string, not the code.
        assert_eq!(too_deep("a = \"${x}{{{{{{{{{{{{{{{{{{{{\"\nb = 1\n"), None);
        let heredoc = format!("a = <<EOF\n%{{ if [{inner}] }}x%{{ endif }}\nEOF\n");
        assert!(too_deep(&heredoc).is_some());
    }
}
