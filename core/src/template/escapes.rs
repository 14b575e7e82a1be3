//! A mend for hcl-edit 0.10: inside a quoted string, the text of a template
//! directive (`"%{ if c }a\nb%{ endif }"`, `"%{ for x in xs }${x}\n%{ endfor }"`)
//! keeps its backslash escapes as written (`a\nb` with a backslash), where
//! HCL and Terraform read them as in the rest of the string (a newline).
//! Printing such a template back escapes the backslash again, so each round
//! trip would double it.
//!
//! Right after parsing, [`unescape_directives`] decodes those escapes in
//! place, so the tree means what the source says everywhere it is used
//! (evaluation, deferred expressions, printing). Heredocs are left alone:
//! their text has no escapes.

use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;
use hcl_edit::template::{Element, HeredocTemplate, StringTemplate, Template};
use hcl_edit::visit_mut::{self, VisitMut};
use hcl_edit::Span;

/// An escape that HCL does not know, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadEscape {
    pub span: Option<std::ops::Range<usize>>,
    pub message: String,
}

/// Decodes the escapes of directive text in every quoted string of `body`.
pub(crate) fn unescape_directives(body: &mut Body) -> Result<(), BadEscape> {
    let mut v = Unescaper::default();
    v.visit_body_mut(body);
    v.error.map_or(Ok(()), Err)
}

/// [`unescape_directives`] for one expression.
pub(crate) fn unescape_directives_in_expr(expr: &mut Expression) -> Result<(), BadEscape> {
    let mut v = Unescaper::default();
    v.visit_expr_mut(expr);
    v.error.map_or(Ok(()), Err)
}

#[derive(Default)]
struct Unescaper {
    /// For each template being walked, innermost last: whether it is quoted.
    quoted: Vec<bool>,
    error: Option<BadEscape>,
}

impl VisitMut for Unescaper {
    fn visit_string_template_mut(&mut self, node: &mut StringTemplate) {
        self.quoted.push(true);
        visit_mut::visit_string_template_mut(self, node);
        self.quoted.pop();
    }

    fn visit_heredoc_template_mut(&mut self, node: &mut HeredocTemplate) {
        self.quoted.push(false);
        visit_mut::visit_heredoc_template_mut(self, node);
        self.quoted.pop();
    }

    /// Reached for a directive's text (a quoted string's own elements are
    /// visited directly, and hcl-edit decoded those).
    fn visit_template_mut(&mut self, node: &mut Template) {
        if self.quoted.last() == Some(&true) {
            for el in node.iter_mut() {
                let Element::Literal(lit) = el else { continue };
                if !lit.value().contains('\\') {
                    continue;
                }
                match unescape(lit.value()) {
                    // In place, so the literal keeps its span.
                    Ok(text) => *lit.value_mut() = text,
                    Err((at, message)) => {
                        // The literal is the source text as written, so the
                        // escape is `at` bytes into its span.
                        let span = lit.span().map(|s| s.start + at..s.start + at + 2);
                        self.error.get_or_insert(BadEscape { span, message });
                    }
                }
            }
        }
        visit_mut::visit_template_mut(self, node);
    }
}

/// HCL's escapes: `\n`, `\r`, `\t`, `\"`, `\\`, `\uNNNN`, `\UNNNNNNNN`.
/// `Err` with the byte offset of the bad escape in `raw`, and why.
fn unescape(raw: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next().map(|(_, c)| c) {
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('"') => '"',
            Some('\\') => '\\',
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == n)
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        (at, format!("invalid escape \\{u}{hex}: it needs {n} hex digits of a Unicode scalar value"))
                    })?
            }
            other => {
                let shown = other.map(String::from).unwrap_or_default();
                return Err((
                    at,
                    format!(
                        "invalid escape \\{shown}: HCL knows \\n, \\r, \\t, \\\", \\\\, \\uNNNN and \\UNNNNNNNN (write \\\\ for a backslash)"
                    ),
                ));
            }
        };
        out.push(decoded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(src: &str) -> Result<String, BadEscape> {
        let mut body = hcl_edit::parser::parse_body(src).unwrap();
        unescape_directives(&mut body)?;
        Ok(body.to_string())
    }

    #[test]
    fn directive_text_is_decoded_and_round_trips() {
        let src = "v = \"x\\t%{ if true }a\\nb\\\"c\\\\d\\u00e9${1}%{ endif }\"\n";
        let once = printed(src).unwrap();
        // Printed back, the text is escaped once, as it was written.
        assert_eq!(
            once,
            "v = \"x\\t%{ if true }a\\nb\\\"c\\\\dé${1}%{ endif }\"\n"
        );
        assert_eq!(printed(&once).unwrap(), once);
    }

    #[test]
    fn heredocs_keep_their_backslashes() {
        let src = "v = <<EOT\n%{ if true }a\\nb%{ endif }\nEOT\n";
        assert_eq!(printed(src).unwrap(), src);
    }

    #[test]
    fn an_unknown_escape_is_an_error_with_its_place() {
        let src = "v = \"%{ if true }a\\qb%{ endif }\"\n";
        let e = printed(src).unwrap_err();
        assert!(e.message.contains("invalid escape \\q"), "{}", e.message);
        assert_eq!(e.span, Some(18..20));
    }
}
