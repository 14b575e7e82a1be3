//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! Positions are byte spans into the template source; [`LineIndex`] turns them
//! into 1-based line and column (in characters) for display as
//! `FILE:LINE:COL: error: message`.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// How bad a diagnostic is: an error stops the template from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding about a template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Byte range in the source, when the finding has a place.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
    /// 1-based line and column of the start of `span` (filled by [`Diagnostics::locate`]).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// A machine-readable kind, for callers that treat some findings apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<DiagnosticCode>,
}

/// Kinds of diagnostic that callers may want to tell apart from the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    /// A variable without a default was given no value. A template checked
    /// before any pipeline exists (on upload) expects these.
    VariableWithoutValue,
}

impl Diagnostic {
    pub fn error(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            line: None,
            column: None,
            message: message.into(),
            code: None,
        }
    }

    pub fn warning(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    /// `FILE:LINE:COL: error: message` (without the position when there is none).
    pub fn render(&self, file: &str) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}: {}: {}", self.severity, self.message),
            _ => format!("{file}: {}: {}", self.severity, self.message),
        }
    }
}

/// A list of diagnostics, in source order once located.
#[derive(Debug, Clone, Default, PartialEq, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        write!(f, "the template has {errors} error(s)")?;
        for d in &self.0 {
            write!(f, "\n{}", d.render("template"))?;
        }
        Ok(())
    }
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.0.push(Diagnostic::error(span, message));
    }

    pub fn warning(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.0.push(Diagnostic::warning(span, message));
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }

    /// Fills line and column from `source`, sorts by position and drops exact repeats.
    pub fn locate(&mut self, source: &str) {
        let idx = LineIndex::new(source);
        for d in &mut self.0 {
            if let Some(span) = &d.span {
                let (l, c) = idx.line_col(span.start);
                d.line = Some(l);
                d.column = Some(c);
            }
        }
        self.0.sort_by_key(|d| {
            (
                d.span.as_ref().map_or(usize::MAX, |s| s.start),
                d.severity == Severity::Warning,
            )
        });
        self.0
            .dedup_by(|a, b| a.span == b.span && a.message == b.message);
    }

    /// Every diagnostic rendered on its own line.
    pub fn render(&self, file: &str) -> String {
        self.0
            .iter()
            .map(|d| d.render(file))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Maps byte offsets to 1-based line and character column.
pub struct LineIndex<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { source, starts }
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(6), (2, 1));
        // 'é' is two bytes; the `=` after it is the 4th character.
        assert_eq!(idx.line_col(src.find('=').unwrap()), (1, 3));
        assert_eq!(idx.line_col(src.rfind('=').unwrap()), (2, 4));
        assert_eq!(idx.line_col(src.len()), (3, 1));
    }

    #[test]
    fn render_has_file_line_col() {
        let mut d = Diagnostics::default();
        d.error(Some(6..7), "boom");
        d.warning(None, "careful");
        d.locate("a = 1\nb = 2");
        assert_eq!(
            d.render("f.hcl"),
            "f.hcl:2:1: error: boom\nf.hcl: warning: careful"
        );
        assert!(d.has_errors());
    }
}
