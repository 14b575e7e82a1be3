//! String functions, including `format` and `formatlist` (cty's printf-like
//! verbs, see [`format_values`]).
//!
//! Lengths and offsets are counted in Unicode characters (scalar values), not
//! bytes; Terraform counts grapheme clusters, which differs only for
//! combining sequences such as flags and skin-toned emoji.

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::encode::{write_json, write_json_string};
use super::{
    check_string_len, found, Args, FuncContext, FuncError, MAX_ELEMENTS, MAX_STRING_BYTES,
};
use crate::template::number::Accuracy;
use crate::template::value::{self, Number, Value};

/// chomp(string): the string without trailing newlines (`\n`, `\r\n` or `\r`).
pub(super) fn chomp(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let s = a.string(0)?;
    Ok(Value::String(s.trim_end_matches(['\n', '\r']).to_string()))
}

/// indent(spaces, string): every line but the first prefixed with `spaces` spaces.
pub(super) fn indent(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let n = a.int(0)?;
    let s = a.string(1)?;
    if n < 0 {
        return Err(a.arg_err(0, format!("must not be negative, got {n}")));
    }
    let lines = s.matches('\n').count();
    if lines == 0 {
        return Ok(Value::String(s));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    check_string_len(a, lines.saturating_mul(n).saturating_add(s.len()))?;
    let pad = format!("\n{}", " ".repeat(n));
    Ok(Value::String(s.replace('\n', &pad)))
}

/// join(separator, lists...): the lists' elements joined with `separator`.
pub(super) fn join(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(2, None, "at least 2")?;
    let sep = a.string(0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for (j, v) in a.list(i)?.iter().enumerate() {
            match value::to_string(v) {
                Some(s) => parts.push(s),
                None => {
                    return Err(a.arg_err(
                        i,
                        format!("must be a list of strings, but element {j} is {}", found(v)),
                    ))
                }
            }
        }
    }
    let total = parts.iter().map(String::len).fold(
        sep.len().saturating_mul(parts.len().saturating_sub(1)),
        usize::saturating_add,
    );
    check_string_len(a, total)?;
    Ok(Value::String(parts.join(&sep)))
}

/// Maps each character with a one-character mapping, as Go's strings.ToUpper
/// and ToLower do (so "ß" stays "ß" rather than becoming "SS").
fn map_chars(s: &str, f: impl Fn(char) -> Option<char>) -> String {
    s.chars().map(|c| f(c).unwrap_or(c)).collect()
}

fn single<I: Iterator<Item = char>>(mut it: I) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

fn upper_char(c: char) -> Option<char> {
    single(c.to_uppercase())
}

fn lower_char(c: char) -> Option<char> {
    match c {
        // Go's simple mapping (Rust's full one is "i\u{307}").
        '\u{130}' => Some('i'),
        _ => single(c.to_lowercase()),
    }
}

/// Title case, as Go's unicode.ToTitle: the digraphs have a title form of
/// their own ("ǆ" → "ǅ"); every other letter's is its upper case.
fn title_char(c: char) -> Option<char> {
    match c {
        '\u{1C4}'..='\u{1C6}' => Some('\u{1C5}'),
        '\u{1C7}'..='\u{1C9}' => Some('\u{1C8}'),
        '\u{1CA}'..='\u{1CC}' => Some('\u{1CB}'),
        '\u{1F1}'..='\u{1F3}' => Some('\u{1F2}'),
        _ => upper_char(c),
    }
}

/// lower(string): the string in lower case.
pub(super) fn lower(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    Ok(Value::String(map_chars(&a.string(0)?, lower_char)))
}

/// upper(string): the string in upper case.
pub(super) fn upper(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    Ok(Value::String(map_chars(&a.string(0)?, upper_char)))
}

/// title(string): the first letter of each word in upper case (Go's strings.Title).
pub(super) fn title(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let s = a.string(0)?;
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let out = s
        .chars()
        .map(|c| {
            let r = if is_sep(prev) {
                title_char(c).unwrap_or(c)
            } else {
                c
            };
            prev = c;
            r
        })
        .collect();
    Ok(Value::String(out))
}

fn compile(a: &Args, index: usize, pattern: &str) -> Result<Regex, FuncError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(10 * 1024 * 1024)
        .dfa_size_limit(10 * 1024 * 1024)
        .build()
        .map_err(|e| {
            let detail = match e {
                regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
                other => other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            a.arg_err(
                index,
                format!("must be a valid regular expression, got {pattern:?} ({detail})"),
            )
        })
}

/// Replaces every match of `re`, expanding `$1`, `${name}` and `$$` in
/// `rep`, without building a result larger than the limit.
fn regex_replace_all(a: &Args, re: &Regex, s: &str, rep: &str) -> Result<String, FuncError> {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let m = caps.get(0).map_or(0..0, |m| m.range());
        out.push_str(&s[last..m.start]);
        caps.expand(rep, &mut out);
        last = m.end;
        check_string_len(a, out.len())?;
    }
    out.push_str(&s[last..]);
    check_string_len(a, out.len())?;
    Ok(out)
}

/// regex_replace(string, pattern, replacement): every match of the RE2 `pattern`
/// replaced; `$1`, `${1}` and `$name` in the replacement insert groups.
pub(super) fn regex_replace(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(3, "3")?;
    let s = a.string(0)?;
    let pattern = a.string(1)?;
    let rep = a.string(2)?;
    let re = compile(a, 1, &pattern)?;
    Ok(Value::String(regex_replace_all(a, &re, &s, &rep)?))
}

/// replace(string, search, replacement): every occurrence of `search` replaced.
/// A search string wrapped in slashes (`"/w.*d/"`) is a regular expression.
pub(super) fn replace(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(3, "3")?;
    let s = a.string(0)?;
    let search = a.string(1)?;
    let rep = a.string(2)?;
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = compile(a, 1, &search[1..search.len() - 1])?;
        return Ok(Value::String(regex_replace_all(a, &re, &s, &rep)?));
    }
    let count = if search.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(search.as_str()).count()
    };
    let grow = rep.len().saturating_sub(search.len());
    check_string_len(a, s.len().saturating_add(count.saturating_mul(grow)))?;
    Ok(Value::String(s.replace(search.as_str(), &rep)))
}

/// split(separator, string): the pieces of the string between separators.
pub(super) fn split(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let sep = a.string(0)?;
    let s = a.string(1)?;
    let parts: Vec<Value> = if sep.is_empty() {
        // Like Go's strings.Split: one element per character.
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect()
    };
    Ok(Value::Array(parts))
}

/// strlen(string): the number of characters in the string.
pub(super) fn strlen(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    Ok(value::int(a.string(0)?.chars().count() as i64))
}

/// strrev(string): the string's grapheme clusters (what a reader sees as
/// one character: a letter with its accents, a flag, "\r\n") in reverse order.
pub(super) fn strrev(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let s = a.string(0)?;
    Ok(Value::String(s.graphemes(true).rev().collect()))
}

/// substr(string, offset, length): `length` grapheme clusters from
/// `offset`. A negative offset counts from the end; a negative length means
/// "to the end"; ranges past either end are clamped (as in Terraform).
pub(super) fn substr(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(3, "3")?;
    let s = a.string(0)?;
    let offset = a.int(1)?;
    let length = a.int(2)?;
    let total = s.graphemes(true).count() as i64;
    let mut start = offset;
    if start < 0 {
        start = start.saturating_add(total);
    }
    let start = start.clamp(0, total) as usize;
    let clusters = s.graphemes(true).skip(start);
    let out: String = if length < 0 {
        clusters.collect()
    } else {
        clusters
            .take(usize::try_from(length).unwrap_or(usize::MAX))
            .collect()
    };
    Ok(Value::String(out))
}

/// trim(string, cutset): the string without leading and trailing characters in `cutset`.
pub(super) fn trim(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let s = a.string(0)?;
    let cut = a.string(1)?;
    Ok(Value::String(
        s.trim_matches(|c| cut.contains(c)).to_string(),
    ))
}

/// trimprefix(string, prefix): the string without `prefix` at its start, once.
pub(super) fn trimprefix(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let s = a.string(0)?;
    let p = a.string(1)?;
    Ok(Value::String(
        s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

/// trimsuffix(string, suffix): the string without `suffix` at its end, once.
pub(super) fn trimsuffix(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let s = a.string(0)?;
    let p = a.string(1)?;
    Ok(Value::String(
        s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

// ---------------------------------------------------------------------------
// format and formatlist

/// format(spec, values...): the values formatted according to `spec`.
pub(super) fn format(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let spec = a.string(0)?;
    let rest: Vec<Value> = a.vals[1..].iter().map(|v| v.as_ref().clone()).collect();
    let out = format_values(&spec, &rest).map_err(|e| a.invalid(e))?;
    Ok(Value::String(out))
}

/// formatlist(spec, values...): `format` applied element-wise; list arguments
/// must have equal lengths and other arguments repeat for every element.
pub(super) fn formatlist(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let spec = a.string(0)?;
    let rest: Vec<Value> = a.vals[1..].iter().map(|v| v.as_ref().clone()).collect();
    let rest = &rest[..];
    let mut len: Option<(usize, usize)> = None;
    for (i, v) in rest.iter().enumerate() {
        if let Value::Array(l) = v {
            match len {
                None => len = Some((l.len(), i)),
                Some((n, j)) if n != l.len() => {
                    return Err(a.arg_err(
                        i + 1,
                        format!(
                            "has length {}, which is inconsistent with argument {} of length {n}",
                            l.len(),
                            j + 2
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    let n = len.map_or(1, |(n, _)| n);
    let mut out = Vec::with_capacity(n.min(MAX_ELEMENTS));
    let mut total = 0usize;
    let mut call_args = Vec::with_capacity(rest.len());
    for iter in 0..n {
        call_args.clear();
        for v in rest {
            call_args.push(match v {
                Value::Array(l) => l[iter].clone(),
                other => other.clone(),
            });
        }
        let s = format_values(&spec, &call_args)
            .map_err(|e| a.invalid(format!("error on format iteration {iter}: {e}")))?;
        total = total.saturating_add(s.len());
        check_string_len(a, total)?;
        out.push(Value::String(s));
    }
    Ok(Value::Array(out))
}

/// The largest width or precision a verb may ask for.
const MAX_WIDTH: usize = 1_000_000;

#[derive(Default, Debug)]
struct Verb {
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Formats `args` according to `spec` with cty's verbs:
///
/// `%%` a literal percent; `%v` default format (strings as `%s`, numbers as
/// `%g`, bools as `%t`, anything else and null as JSON); `%#v` JSON; `%t`
/// bool; `%b %d %o %x %X` integers in base 2, 10, 8, 16; `%e %E %f %g %G`
/// floating point; `%s` string; `%q` JSON-quoted string.
///
/// Between `%` and the verb: flags (`-` pad on the right, `0` pad with zeros,
/// `+` always print a sign, space for a sign space, `#` alternate form), an
/// optional explicit argument index `[n]` (1-based; later verbs continue from
/// n+1), a width and a `.precision`. Too few arguments, unused arguments and
/// values that do not convert are errors.
pub(crate) fn format_values(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next_arg = 1usize;
    let mut max_used = 0usize;
    let mut verbs = 0usize;
    let bytes = spec.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(rel) = spec[i..].find('%') else {
            out.push_str(&spec[i..]);
            break;
        };
        out.push_str(&spec[i..i + rel]);
        let start = i + rel;
        i = start + 1;
        if bytes.get(i) == Some(&b'%') {
            out.push('%');
            i += 1;
            continue;
        }
        let mut verb = Verb::default();
        // Flags.
        while let Some(&c) = bytes.get(i) {
            match c {
                b'0' => verb.zero = true,
                b'#' => verb.sharp = true,
                b'-' => verb.minus = true,
                b'+' => verb.plus = true,
                b' ' => verb.space = true,
                _ => break,
            }
            i += 1;
        }
        let unrecognized = |at: usize| -> String {
            match spec[at..].chars().next() {
                Some(c) => format!("unrecognized format character {c:?} at offset {at}"),
                None => format!("invalid format string starting at offset {start}"),
            }
        };
        // Explicit argument index.
        let mut arg_num = next_arg;
        if bytes.get(i) == Some(&b'[') {
            i += 1;
            if !matches!(bytes.get(i), Some(b'1'..=b'9')) {
                return Err(unrecognized(i));
            }
            let (n, len) = parse_decimal(&bytes[i..]);
            i += len;
            if bytes.get(i) != Some(&b']') {
                return Err(unrecognized(i));
            }
            i += 1;
            arg_num = n.ok_or_else(|| format!("argument index too large at offset {start}"))?;
        }
        // Width.
        if matches!(bytes.get(i), Some(b'1'..=b'9')) {
            let (n, len) = parse_decimal(&bytes[i..]);
            i += len;
            verb.width = Some(n.filter(|n| *n <= MAX_WIDTH).ok_or_else(|| {
                format!("width too large at offset {start}: the limit is {MAX_WIDTH}")
            })?);
        }
        // Precision.
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            let (n, len) = parse_decimal(&bytes[i..]);
            i += len;
            verb.prec = Some(if len == 0 {
                0
            } else {
                n.filter(|n| *n <= MAX_WIDTH).ok_or_else(|| {
                    format!("precision too large at offset {start}: the limit is {MAX_WIDTH}")
                })?
            });
        }
        // The verb letter.
        let Some(&mode) = bytes.get(i).filter(|c| c.is_ascii_alphabetic()) else {
            return Err(unrecognized(i));
        };
        i += 1;
        let raw = &spec[start..i];
        verbs += 1;
        let Some(arg) = args.get(arg_num - 1) else {
            return Err(format!(
                "not enough arguments for {raw:?} at {start}: need index {arg_num} but have {} total",
                args.len()
            ));
        };
        max_used = max_used.max(arg_num);
        next_arg = arg_num.saturating_add(1);
        let bad = |why: String| format!("unsupported value for {raw:?} at {start}: {why}");
        if mode != b'v' && arg.is_null() {
            return Err(bad("null value cannot be formatted".to_string()));
        }
        match mode {
            b'v' => format_as_is(&verb, arg, &mut out).map_err(bad)?,
            b't' => match value::to_bool(arg) {
                Some(b) => out.push_str(if b { "true" } else { "false" }),
                None => return Err(bad(format!("bool required, got {}", found(arg)))),
            },
            b'b' | b'd' | b'o' | b'x' | b'X' => {
                let n = super::to_number(arg)
                    .ok_or_else(|| bad(format!("number required, got {}", found(arg))))?;
                format_integer(&verb, mode, &n, &mut out).map_err(bad)?;
            }
            b'e' | b'E' | b'f' | b'g' | b'G' => {
                let n = super::to_number(arg)
                    .ok_or_else(|| bad(format!("number required, got {}", found(arg))))?;
                format_float(&verb, mode, &n, &mut out);
            }
            b's' | b'q' => {
                let s = value::to_string(arg)
                    .ok_or_else(|| bad(format!("string required, got {}", found(arg))))?;
                let s = match verb.prec {
                    Some(p) if p > 0 => truncate_chars(&s, p),
                    _ => s.as_str(),
                };
                if mode == b's' {
                    pad_width(&verb, s, &mut out);
                } else {
                    let mut q = String::new();
                    write_json_string(s, &mut q);
                    pad_width(&verb, &q, &mut out);
                }
            }
            other => {
                return Err(format!(
                    "unsupported format verb {:?} in {raw:?} at offset {start}",
                    other as char
                ))
            }
        }
        if out.len() > MAX_STRING_BYTES {
            return Err(super::too_long_message());
        }
    }
    if args.len() > max_used {
        return Err(if verbs == 0 {
            "too many arguments; no verbs in format string".to_string()
        } else {
            format!("too many arguments; only {max_used} used by format string")
        });
    }
    Ok(out)
}

/// Parses leading ASCII digits: (value if it fits, number of digits).
fn parse_decimal(b: &[u8]) -> (Option<usize>, usize) {
    let len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n: Option<usize> = Some(0);
    for d in &b[..len] {
        n = n
            .and_then(|n| n.checked_mul(10))
            .and_then(|n| n.checked_add(usize::from(d - b'0')));
    }
    (n, len)
}

/// The first `n` grapheme clusters of `s`.
fn truncate_chars(s: &str, n: usize) -> &str {
    match s.grapheme_indices(true).nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Pads to the verb's width in grapheme clusters (cty's formatPadWidth).
fn pad_width(verb: &Verb, s: &str, out: &mut String) {
    let len = s.graphemes(true).count();
    let pad = verb.width.map_or(0, |w| w.saturating_sub(len));
    let c = if verb.zero { '0' } else { ' ' };
    if verb.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(c, pad));
    } else {
        out.extend(std::iter::repeat_n(c, pad));
        out.push_str(s);
    }
}

fn format_as_is(verb: &Verb, arg: &Value, out: &mut String) -> Result<(), String> {
    if !verb.sharp {
        match arg {
            Value::String(s) => {
                pad_width(verb, s, out);
                return Ok(());
            }
            Value::Number(n) => {
                let s = n.text(b'g', -1);
                pad_width(verb, &s, out);
                return Ok(());
            }
            _ => {}
        }
    }
    let mut json = String::new();
    write_json(arg, &mut json, 0)?;
    pad_width(verb, &json, out);
    Ok(())
}

/// Integers as Go's fmt formats a big.Int.
fn format_integer(verb: &Verb, mode: u8, n: &Number, out: &mut String) -> Result<(), String> {
    let i = match n.to_int() {
        Some((i, Accuracy::Exact)) => i,
        _ => return Err("an integer is required".to_string()),
    };
    let mag = i.magnitude();
    let mut digits = match mode {
        b'b' => mag.to_str_radix(2),
        b'o' => mag.to_str_radix(8),
        b'x' => mag.to_str_radix(16),
        b'X' => mag.to_str_radix(16).to_ascii_uppercase(),
        _ => mag.to_str_radix(10),
    };
    let prefix = match (verb.sharp, mode) {
        (true, b'b') => "0b",
        (true, b'o') => "0",
        (true, b'x') => "0x",
        (true, b'X') => "0X",
        _ => "",
    };
    let sign = if i.sign() == num_bigint::Sign::Minus {
        "-"
    } else if verb.plus {
        "+"
    } else if verb.space {
        " "
    } else {
        ""
    };
    let mut zeros = 0;
    if let Some(p) = verb.prec {
        if digits.len() < p {
            zeros = p - digits.len();
        } else if digits == "0" && p == 0 {
            digits.clear();
        }
    }
    let len = sign.len() + prefix.len() + zeros + digits.len();
    let (mut left, mut right) = (0, 0);
    if let Some(w) = verb.width.filter(|w| *w > len) {
        let d = w - len;
        if verb.minus {
            right = d;
        } else if verb.zero && verb.prec.is_none() {
            zeros = d;
        } else {
            left = d;
        }
    }
    out.extend(std::iter::repeat_n(' ', left));
    out.push_str(sign);
    out.push_str(prefix);
    out.extend(std::iter::repeat_n('0', zeros));
    out.push_str(&digits);
    out.extend(std::iter::repeat_n(' ', right));
    Ok(())
}

/// Floating point as Go's fmt formats a big.Float (`Float.Format`): the
/// number's own digits at the verb's precision (6 by default; %g without one
/// takes the shortest exact digits), then sign, width and padding.
fn format_float(verb: &Verb, mode: u8, n: &Number, out: &mut String) {
    let prec = match (mode, verb.prec) {
        (b'g' | b'G', None) => -1,
        (_, None) => 6,
        (_, Some(p)) => p as i64,
    };
    let text = n.text(mode, prec);
    let (sign, body) = if let Some(b) = text.strip_prefix('-') {
        ("-", b)
    } else if let Some(b) = text.strip_prefix('+') {
        (if verb.space { " " } else { "+" }, b)
    } else if verb.plus {
        ("+", text.as_str())
    } else if verb.space {
        (" ", text.as_str())
    } else {
        ("", text.as_str())
    };
    let pad = verb
        .width
        .map_or(0, |w| w.saturating_sub(sign.len() + body.len()));
    if verb.zero && !n.is_inf() {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', pad));
        out.push_str(body);
    } else if verb.minus {
        out.push_str(sign);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', pad));
    } else {
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(sign);
        out.push_str(body);
    }
}
