//! Python `repr()`/`str()` text of the values KATO hashes or stringifies: `str`, lists of lists
//! of `str` (pattern names, ALGORITHM.md §3.2 / Appendix A), `float`, and JSON metadata values
//! (§3.3.4 / Appendix C). Pure text formatting: byte-exact with CPython 3.10, never panics.

use std::fmt::{self, Write as _};

use serde_json::Value;
use unicode_general_category::{get_general_category, GeneralCategory};

/// The Unicode version whose general categories decide what `repr()` leaves unescaped.
///
/// Decision D11 (ALGORITHM.md §8.5): printability is pinned to the tables of
/// `unicode-general-category` **=0.4.0**, which carries Unicode **13.0.0** — the same version as
/// the `unicodedata` of Python 3.10, which upstream KATO ships. So every code point is classified
/// exactly as upstream classifies it. The consequence of the pin: a code point assigned after
/// Unicode 13.0 (e.g. U+1F6DD, Unicode 14) is treated as unassigned (`Cn`) and escaped
/// (`\U0001f6dd`), as Python 3.10 does; a Python ≥ 3.11 upstream would print it raw, so a pattern
/// holding such a symbol would hash differently there. Bumping the crate changes pattern names.
pub const UNICODE_VERSION: (u64, u64, u64) = unicode_general_category::UNICODE_VERSION;

/// CPython's `Py_UNICODE_ISPRINTABLE` for non-ASCII code points (Appendix A): every general
/// category except `Cc Cf Cs Co Cn Zl Zp Zs` is printable (U+0020, the one printable `Zs`, is
/// ASCII and handled by the caller).
fn is_printable_non_ascii(c: char) -> bool {
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// Python `str.isprintable()` for one character, with the Unicode tables pinned in
/// [`UNICODE_VERSION`].
pub fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        (' '..='~').contains(&c)
    } else {
        is_printable_non_ascii(c)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `\` + `marker` + the lowest `width` hex digits of `code` (lowercase, zero-padded).
fn push_hex_escape(out: &mut String, marker: char, code: u32, width: u32) {
    out.push('\\');
    out.push(marker);
    for shift in (0..width).rev() {
        let nibble = (code >> (shift * 4)) & 0xF;
        out.push(char::from(HEX[nibble as usize]));
    }
}

/// Appends CPython's `repr()` of the str `s` (`unicode_repr`, ALGORITHM.md Appendix A).
///
/// Quote: `"` when `s` holds `'` but no `"`, else `'`. Escapes: the chosen quote and `\`,
/// `\t \n \r`, other C0 controls and DEL as `\xhh`, non-printable non-ASCII as `\xhh`, `\uhhhh`
/// or `\Uhhhhhhhh`. Everything else is copied as is.
pub fn repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.reserve(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\x7f' => push_hex_escape(out, 'x', c as u32, 2),
            c if c.is_ascii() => out.push(c),
            c if is_printable_non_ascii(c) => out.push(c),
            c => {
                let code = c as u32;
                if code <= 0xFF {
                    push_hex_escape(out, 'x', code, 2);
                } else if code <= 0xFFFF {
                    push_hex_escape(out, 'u', code, 4);
                } else {
                    push_hex_escape(out, 'U', code, 8);
                }
            }
        }
    }
    out.push(quote);
}

/// Python `repr()` of a pattern, a list of events each a list of str (ALGORITHM.md §3.2):
/// `[['a', 'b'], ['c']]`. This text, UTF-8 encoded, is what the pattern name hashes.
pub fn repr_pattern(events: &[Vec<String>]) -> String {
    repr_pattern_with(events)
}

/// [`repr_pattern`] for any nesting of string-like slices (`&[&[&str]]`, `&[Vec<String>]`, …),
/// so callers need not allocate `String`s to name a pattern.
pub fn repr_pattern_with<E, S>(events: &[E]) -> String
where
    E: AsRef<[S]>,
    S: AsRef<str>,
{
    let mut out = String::with_capacity(2 + events.len() * 8);
    out.push('[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('[');
        for (j, symbol) in event.as_ref().iter().enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            repr_str(symbol.as_ref(), &mut out);
        }
        out.push(']');
    }
    out.push(']');
    out
}

/// Significant decimal digits of a finite non-negative number, `d0.d1d2… × 10^exp`, without
/// leading or trailing zeros (zero is the single digit `0`). Stored inline: formatting a
/// 768-dimension vector must not allocate per element.
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    buf: [u8; Digits::CAPACITY],
    len: usize,
    /// Decimal exponent of the first digit.
    pub(crate) exp: i32,
}

impl Digits {
    /// An f64 never needs more than 17 significant digits; every text parsed here (Ryu output,
    /// `{:.8e}`, and `{:.8}` of values below 1e9) stays far below this.
    const CAPACITY: usize = 32;

    /// Shortest round-trip digits of `|x|`; `x` must be finite.
    ///
    /// Ryu yields the shortest digits that round-trip and, among those, the closest to the
    /// exact value with exact ties going to the even digit — the digits of CPython's `repr`
    /// (dtoa mode 0) and of NumPy's dragon4 "unique" mode. Rust's own `{:e}` differs on such
    /// ties (it rounds half up: `203.80020141601563` where Python prints `203.80020141601562`),
    /// so it is not used here.
    pub(crate) fn shortest(x: f64) -> Digits {
        let mut buffer = ryu::Buffer::new();
        Digits::parse(buffer.format_finite(x.abs()))
    }

    /// `|x|` (finite) correctly rounded from its exact binary value, ties to even, to
    /// `precision` fraction digits of scientific notation (`{:.*e}`).
    pub(crate) fn rounded_scientific(x: f64, precision: usize) -> Digits {
        let mut text = InlineText::new();
        match write!(text, "{:.*e}", precision, x.abs()) {
            Ok(()) => Digits::parse(text.as_str()),
            Err(_) => Digits::parse(&format!("{:.*e}", precision, x.abs())),
        }
    }

    /// `|x|` (finite) correctly rounded from its exact binary value, ties to even, to
    /// `precision` fraction digits of fixed notation (`{:.*}`).
    pub(crate) fn rounded_fixed(x: f64, precision: usize) -> Digits {
        let mut text = InlineText::new();
        match write!(text, "{:.*}", precision, x.abs()) {
            Ok(()) => Digits::parse(text.as_str()),
            Err(_) => Digits::parse(&format!("{:.*}", precision, x.abs())),
        }
    }

    /// Parses a non-negative decimal literal (`123.45`, `0.00123`, `1e16`, `1.5e-7`, `1.0`).
    /// Digits past [`Digits::CAPACITY`] would be dropped (never the case for the texts above).
    fn parse(text: &str) -> Digits {
        let (mantissa, exp_text) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut digits = Digits {
            buf: [b'0'; Digits::CAPACITY],
            len: 0,
            exp: 0,
        };
        let mut leading_zeros: usize = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            if digits.len == 0 && b == b'0' {
                leading_zeros += 1;
            } else if b.is_ascii_digit() && digits.len < Digits::CAPACITY {
                digits.buf[digits.len] = b;
                digits.len += 1;
            }
        }
        while digits.len > 0 && digits.buf[digits.len - 1] == b'0' {
            digits.len -= 1;
        }
        if digits.len == 0 {
            // Zero: the single digit `0` (the buffer is pre-filled with '0').
            digits.len = 1;
            return digits;
        }
        let exp_shift: i32 = exp_text.parse().unwrap_or(0);
        let point = i32::try_from(int_part.len()).unwrap_or(i32::MAX);
        let zeros = i32::try_from(leading_zeros).unwrap_or(i32::MAX);
        digits.exp = exp_shift
            .saturating_add(point)
            .saturating_sub(zeros)
            .saturating_sub(1);
        digits
    }

    /// The digits as ASCII text (`"0"` for zero).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("0")
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// A `fmt::Write` sink on the stack for one formatted number; fails instead of growing.
struct InlineText {
    buf: [u8; 64],
    len: usize,
}

impl InlineText {
    fn new() -> Self {
        InlineText {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for InlineText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Python `repr(float)` (== `str(float)`), ALGORITHM.md Appendix C.
///
/// Shortest round-trip digits; with `decpt = exp + 1` (value = 0.DIGITS × 10^decpt), fixed
/// notation when `-4 < decpt <= 16` (integral values get `.0`), else `d[.ddd]e±XX` with at least
/// two exponent digits. Non-finite: `inf`, `-inf`, `nan`; negative zero is `-0.0`.
pub fn py_float_repr(x: f64) -> String {
    let mut out = String::with_capacity(24);
    push_py_float_repr(x, &mut out);
    out
}

/// Appends [`py_float_repr`] of `x` to `out`.
pub fn push_py_float_repr(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let shortest = Digits::shortest(x);
    let (digits, exp) = (shortest.as_str(), shortest.exp);
    if x.is_sign_negative() {
        out.push('-');
    }
    let decpt = exp + 1;
    let n = digits.len() as i32;
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            push_repeated(out, '0', decpt.unsigned_abs() as usize);
            out.push_str(digits);
        } else if decpt >= n {
            out.push_str(digits);
            push_repeated(out, '0', (decpt - n).unsigned_abs() as usize);
            out.push_str(".0");
        } else {
            let (int_part, frac_part) = digits.split_at(decpt.unsigned_abs() as usize);
            out.push_str(int_part);
            out.push('.');
            out.push_str(frac_part);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    }
}

/// Appends `count` copies of `c`.
pub(crate) fn push_repeated(out: &mut String, c: char, count: usize) {
    for _ in 0..count {
        out.push(c);
    }
}

/// Python `str()` of a metadata value as Python's `json` module would have parsed it
/// (ALGORITHM.md §3.3.4, Appendix C): a top-level string is returned unchanged, everything else
/// as its `repr` (`True`, `None`, `123`, `45.67`, `['a', 1]`, `{'k': 'v'}`).
///
/// Integers are printed in decimal. Known divergences, both from serde_json's number model
/// (it is built without `arbitrary_precision`): a JSON integer outside the `i64`/`u64` range
/// arrives as an `f64` and is rendered as the Python float repr of that `f64`
/// (`18446744073709551616` → `1.8446744073709552e+19`, where Python prints the exact integer);
/// and the JSON integer `-0` arrives as the float `-0.0` (Python prints `0`).
pub fn py_str_json(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            py_repr_json(other, &mut out);
            out
        }
    }
}

/// Appends Python `repr()` of a JSON value (strings quoted per Appendix A, objects in JSON key
/// order, which serde_json keeps with `preserve_order`).
pub fn py_repr_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&py_float_repr(f));
            }
        }
        Value::String(s) => repr_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_str(key, out);
                out.push_str(": ");
                py_repr_json(value, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// ALGORITHM.md Appendix A; every expected text is CPython 3.10's `repr(s)`.
    #[test]
    fn repr_str_matches_cpython() {
        let table: &[(&str, &str, &str)] = &[
            ("plain", "hello", "'hello'"),
            ("empty", "", "''"),
            ("single_quote", "it's", "\"it's\""),
            ("double_quote", "a\"b", "'a\"b'"),
            ("both_quotes", "'\"", "'\\'\"'"),
            ("both_quotes_rev", "\"'x", "'\"\\'x'"),
            ("backslash", "a\\b", "'a\\\\b'"),
            ("backslash_and_quote", "\\'", "\"\\\\'\""),
            ("tab_newline_cr", "t\tn\nr\r", "'t\\tn\\nr\\r'"),
            ("nul_and_unit_sep", "\0\u{1f}", "'\\x00\\x1f'"),
            ("del", "\u{7f}", "'\\x7f'"),
            ("space_tilde", " ~", "' ~'"),
            (
                "latin1_printable",
                "caf\u{e9} na\u{ef}ve",
                "'caf\u{e9} na\u{ef}ve'",
            ),
            ("nbsp", "\u{a0}", "'\\xa0'"),
            ("soft_hyphen", "\u{ad}", "'\\xad'"),
            ("nel_c1", "\u{85}\u{9f}", "'\\x85\\x9f'"),
            ("zero_width_space", "\u{200b}", "'\\u200b'"),
            ("line_separator", "\u{2028}", "'\\u2028'"),
            ("paragraph_separator", "\u{2029}", "'\\u2029'"),
            ("ideographic_space", "\u{3000}", "'\\u3000'"),
            ("bom", "\u{feff}", "'\\ufeff'"),
            ("private_use", "\u{e000}", "'\\ue000'"),
            ("noncharacter", "\u{ffff}", "'\\uffff'"),
            ("replacement_char", "\u{fffd}", "'\u{fffd}'"),
            ("cjk", "\u{6f22}\u{5b57}", "'\u{6f22}\u{5b57}'"),
            ("emoji", "\u{1f600}", "'\u{1f600}'"),
            ("combining", "e\u{301}", "'e\u{301}'"),
            ("unicode14_unassigned_in_13", "\u{1f6dd}", "'\\U0001f6dd'"),
            ("unicode14_arabic", "\u{870}", "'\\u0870'"),
            ("max_code_point", "\u{10ffff}", "'\\U0010ffff'"),
            ("supplementary_private", "\u{f0000}", "'\\U000f0000'"),
            ("tag_char", "\u{e0001}", "'\\U000e0001'"),
            ("musical_format", "\u{1d173}", "'\\U0001d173'"),
            ("mongolian_vowel_sep", "\u{180e}", "'\\u180e'"),
            ("ogham_space", "\u{1680}", "'\\u1680'"),
            ("vctr_symbol", "VCTR|x", "'VCTR|x'"),
        ];
        for &(case, input, expected) in table {
            let mut out = String::new();
            repr_str(input, &mut out);
            assert_eq!(out, expected, "case {case}");
        }
    }

    /// ALGORITHM.md §3.2 (all eight rows) plus empty and boundary-sensitive patterns.
    #[test]
    fn repr_pattern_matches_cpython() {
        let table: &[(&[&[&str]], &str)] = &[
            (&[&["hello"], &["world"]], "[['hello'], ['world']]"),
            (&[&["a"], &["b"], &["c"]], "[['a'], ['b'], ['c']]"),
            (
                &[&["alpha"], &["beta"], &["gamma"]],
                "[['alpha'], ['beta'], ['gamma']]",
            ),
            (
                &[&["beginning"], &["middle"], &["end"]],
                "[['beginning'], ['middle'], ['end']]",
            ),
            (
                &[&["bar", "foo"], &["hello", "world"]],
                "[['bar', 'foo'], ['hello', 'world']]",
            ),
            (&[&["it's", "x"], &["a\"b"]], "[[\"it's\", 'x'], ['a\"b']]"),
            (
                &[&["caf\u{e9}", "na\u{ef}ve"], &["\u{a0}", "tab\there"]],
                "[['caf\u{e9}', 'na\u{ef}ve'], ['\\xa0', 'tab\\there']]",
            ),
            (&[&["", "A"], &["VCTR|x"]], "[['', 'A'], ['VCTR|x']]"),
            (&[], "[]"),
            (&[&[]], "[[]]"),
            (&[&["a", "b"]], "[['a', 'b']]"),
            (&[&["a"], &["b"]], "[['a'], ['b']]"),
        ];
        for &(events, expected) in table {
            assert_eq!(repr_pattern_with(events), expected);
            let owned: Vec<Vec<String>> = events
                .iter()
                .map(|event| event.iter().map(|s| (*s).to_owned()).collect())
                .collect();
            assert_eq!(repr_pattern(&owned), expected);
        }
    }

    /// ALGORITHM.md Appendix C examples and boundaries of the fixed/exponent switch; expected
    /// texts are CPython 3.10's `repr(x)`.
    #[test]
    fn float_repr_matches_cpython() {
        let table: &[(f64, &str)] = &[
            (45.67, "45.67"),
            (1.0, "1.0"),
            (1e-05, "1e-05"),
            (1e+16, "1e+16"),
            (1.5e+16, "1.5e+16"),
            (1000000000000000.0, "1000000000000000.0"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e+308, "1.7976931348623157e+308"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e+22, "1e+22"),
            (1.2345678901234568e+17, "1.2345678901234568e+17"),
            (9999999999999998.0, "9999999999999998.0"),
            (-2.5, "-2.5"),
            (1e+100, "1e+100"),
            (1.2345e-07, "1.2345e-07"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (0.5, "0.5"),
            (12345.678, "12345.678"),
            (-1e-05, "-1e-05"),
            (9.900000000000001e-05, "9.900000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            // An exact tie between two shortest candidates goes to the even digit.
            (203.80020141601562, "203.80020141601562"),
            (67108864.00195312, "67108864.00195312"),
        ];
        for &(x, expected) in table {
            assert_eq!(py_float_repr(x), expected, "{x:e}");
        }
    }

    /// ALGORITHM.md §3.3.4 / Appendix C: `str(json.loads(text))` in CPython 3.10.
    #[test]
    fn str_of_json_matches_cpython() {
        let table: &[(&str, &str)] = &[
            ("123", "123"),
            ("45.67", "45.67"),
            ("true", "True"),
            ("false", "False"),
            ("null", "None"),
            ("\"test\"", "test"),
            ("\"it's\"", "it's"),
            ("[]", "[]"),
            ("{}", "{}"),
            ("-7", "-7"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("1E2", "100.0"),
            ("1.5e300", "1.5e+300"),
            ("1e-7", "1e-07"),
            ("0.0", "0.0"),
            ("-0.0", "-0.0"),
            (
                "[1, \"a\", [true, null], {\"k\": \"it's\"}]",
                "[1, 'a', [True, None], {'k': \"it's\"}]",
            ),
            (
                "{\"z\": 1, \"a\": [2.5, \"x\\ty\"], \"q\\\"\": {\"n\": null}}",
                "{'z': 1, 'a': [2.5, 'x\\ty'], 'q\"': {'n': None}}",
            ),
            (
                "[\"caf\\u00e9\", \"\\u00a0\", \"\\ud83d\\ude00\"]",
                "['caf\u{e9}', '\\xa0', '\u{1f600}']",
            ),
            ("[1.0, 1e16, 1e-05]", "[1.0, 1e+16, 1e-05]"),
            ("\"a\\nb\"", "a\nb"),
        ];
        for &(json, expected) in table {
            let value: Value = serde_json::from_str(json).expect("valid JSON");
            assert_eq!(py_str_json(&value), expected, "json {json}");
        }
    }

    /// The documented divergences of `py_str_json` (serde_json has no big integers and no
    /// integer negative zero).
    #[test]
    fn str_of_json_documented_divergences() {
        let table: &[(&str, &str, &str)] = &[
            (
                "18446744073709551616",
                "1.8446744073709552e+19",
                "18446744073709551616",
            ),
            (
                "-9223372036854775809",
                "-9.223372036854776e+18",
                "-9223372036854775809",
            ),
            ("-0", "-0.0", "0"),
        ];
        for &(json, ours, _python) in table {
            let value: Value = serde_json::from_str(json).expect("valid JSON");
            assert_eq!(py_str_json(&value), ours, "json {json}");
        }
    }

    #[test]
    fn metadata_type_conversion_example() {
        // test_metadata_type_conversion_to_strings (ALGORITHM.md §3.3.4).
        let metadata: Value =
            serde_json::from_str(r#"{"count": 123, "price": 45.67, "flag": true, "name": "test"}"#)
                .expect("valid JSON");
        let strings: Vec<(String, String)> = metadata
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), py_str_json(v)))
            .collect();
        let expected = [
            ("count", "123"),
            ("price", "45.67"),
            ("flag", "True"),
            ("name", "test"),
        ];
        assert_eq!(strings.len(), expected.len());
        for ((key, text), (want_key, want_text)) in strings.iter().zip(expected) {
            assert_eq!((key.as_str(), text.as_str()), (want_key, want_text));
        }
    }

    fn golden() -> Value {
        serde_json::from_str(include_str!("testdata/pyrepr_golden.json"))
            .expect("pyrepr_golden.json is JSON")
    }

    /// Random strings over all planes (controls, quotes, separators, private use, code points
    /// assigned after Unicode 13) from `testdata/gen_golden.py`, repr'd by CPython 3.10.
    #[test]
    fn matches_cpython_golden_strings_patterns_floats_and_json() {
        let golden = golden();
        for case in golden["strings"].as_array().expect("strings") {
            let input = case["s"].as_str().expect("s");
            let mut out = String::new();
            repr_str(input, &mut out);
            assert_eq!(
                out,
                case["repr"].as_str().expect("repr"),
                "string {input:?}"
            );
        }
        for case in golden["patterns"].as_array().expect("patterns") {
            let events: Vec<Vec<String>> =
                serde_json::from_value(case["events"].clone()).expect("events");
            assert_eq!(repr_pattern(&events), case["repr"].as_str().expect("repr"));
        }
        for case in golden["floats"].as_array().expect("floats") {
            let text = case.as_str().expect("float repr");
            let x: f64 = text.parse().expect("a Python float repr parses as f64");
            assert_eq!(py_float_repr(x), text);
        }
        for case in golden["json"].as_array().expect("json") {
            let text = case["json"].as_str().expect("json");
            let value: Value = serde_json::from_str(text).expect("valid JSON");
            assert_eq!(
                py_str_json(&value),
                case["str"].as_str().expect("str"),
                "{text}"
            );
        }
    }

    /// Exhaustive: the printable non-ASCII code points, as hex ranges `start-end` one per
    /// line, hash to the same SHA-1 as CPython 3.10's `str.isprintable` gives (D11 pin).
    #[test]
    fn printability_equals_python_3_10_for_every_code_point() {
        assert_eq!(UNICODE_VERSION, (13, 0, 0));
        let mut ranges: Vec<String> = Vec::new();
        let mut start: Option<u32> = None;
        for code in 0x80..=0x11_0000u32 {
            let printable = char::from_u32(code).is_some_and(is_printable);
            match (printable, start) {
                (true, None) => start = Some(code),
                (false, Some(first)) => {
                    ranges.push(format!("{first:x}-{:x}", code - 1));
                    start = None;
                }
                _ => {}
            }
        }
        let text = ranges.join("\n");
        let golden = golden();
        assert_eq!(
            ranges.len() as u64,
            golden["printable_ranges_count"].as_u64().expect("n")
        );
        let digest = crate::engine::naming::sha1_hex(text.as_bytes());
        assert_eq!(digest, "bf6198bcf9dec0f31984c50e14ee82dd748ce61e");
        assert_eq!(
            digest,
            golden["printable_ranges_sha1"].as_str().expect("sha1")
        );
        assert!(is_printable(' ') && !is_printable('\u{a0}') && is_printable('\u{e9}'));
    }

    /// Any `char` sequence is handled without panicking and the result is quoted.
    #[test]
    fn repr_str_never_panics() {
        let sample: String = (0..0x11_0000u32)
            .step_by(97)
            .filter_map(char::from_u32)
            .collect();
        let mut out = String::new();
        repr_str(&sample, &mut out);
        assert!(out.starts_with('\'') && out.ends_with('\''));
    }
}
