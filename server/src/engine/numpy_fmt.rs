//! NumPy's default `str()` of a 1-D float64 array, byte for byte (ALGORITHM.md Appendix B), the
//! text that `VCTR|` vector names hash. Owns summarisation, positional/scientific choice, digit
//! rounding, padding and line wrapping; pure and panic-free for every input (NaN, inf, empty).

use crate::engine::pyrepr::{push_repeated, Digits};

/// `np.get_printoptions()['precision']`: at most this many fraction digits are printed.
pub const PRECISION: usize = 8;
/// Arrays longer than this are summarised (`threshold`).
pub const THRESHOLD: usize = 1000;
/// Values printed at each end of a summarised array (`edgeitems`).
pub const EDGE_ITEMS: usize = 3;
/// `linewidth`: a line (closing `]` included) never exceeds this unless one word is wider.
pub const LINE_WIDTH: usize = 75;

/// The token that stands for the elided middle of a summarised array.
const SUMMARY_INSERT: &str = "...";

/// NumPy `str(np.array(values, dtype=float64))` with default print options (precision 8,
/// floatmode `maxprec`, threshold 1000, edgeitems 3, linewidth 75, sign `-`).
/// `numpy_str(&[])` is `"[]"`.
pub fn numpy_str(values: &[f64]) -> String {
    if values.is_empty() {
        return "[]".to_owned();
    }
    // Appendix B.1: above the threshold only the edge items are formatted AND used to choose
    // the format; the middle values have no influence at all (QUIRK-2).
    let summarised = values.len() > THRESHOLD;
    let shown: Vec<f64> = if summarised {
        let tail = &values[values.len() - EDGE_ITEMS..];
        values[..EDGE_ITEMS].iter().chain(tail).copied().collect()
    } else {
        values.to_vec()
    };
    let layout = Layout::new(&shown);
    let mut text = WrappedText::new(shown.len());
    let mut word = String::with_capacity(32);
    for (i, (&x, digits)) in shown.iter().zip(&layout.digits).enumerate() {
        if summarised && i == EDGE_ITEMS {
            text.push_word(SUMMARY_INSERT);
        }
        word.clear();
        layout.render(x, digits.as_ref(), &mut word);
        text.push_word(&word);
    }
    text.finish()
}

/// Appendix B.6 (`_formatArray` / `_extendLine` of NumPy ≥ 1.14): words separated by one
/// space; a word that would take its line (with the word's trailing separator or the closing
/// bracket) past `LINE_WIDTH` starts a new line, unless the line holds nothing yet. The first
/// line starts at the `[`, continuation lines with one space.
struct WrappedText {
    out: String,
    /// Length of the current line, counting the `[` or the continuation indent.
    line_len: usize,
}

impl WrappedText {
    fn new(words: usize) -> Self {
        let mut out = String::with_capacity(words * 12 + 2);
        out.push('[');
        WrappedText { out, line_len: 1 }
    }

    fn push_word(&mut self, word: &str) {
        // NumPy appends the separator after each word and strips it when wrapping.
        let separator = usize::from(self.line_len > 1);
        if self.line_len + separator + word.len() > LINE_WIDTH - 1 && self.line_len > 1 {
            // `line.rstrip()`: the padding of the line's last word goes too.
            let kept = self.out.trim_end_matches(' ').len();
            self.out.truncate(kept);
            self.out.push_str("\n ");
            self.line_len = 1;
        } else if separator == 1 {
            self.out.push(' ');
            self.line_len += 1;
        }
        self.out.push_str(word);
        self.line_len += word.len();
    }

    fn finish(mut self) -> String {
        self.out.push(']');
        self.out
    }
}

/// NumPy's `FloatingFormat` for one array under the default options: the digits of every
/// shown value and the common widths they are padded to.
struct Layout {
    scientific: bool,
    /// The digits of each shown value, `None` for nan and inf.
    digits: Vec<Option<Digits>>,
    pad_left: usize,
    pad_right: usize,
    /// Scientific mode: fraction digits every value is zero-padded to.
    precision: usize,
    /// Scientific mode: exponent digits every value is zero-padded to (at least 2).
    exp_digits: usize,
}

impl Layout {
    fn new(shown: &[f64]) -> Self {
        // Appendix B.2: the mode is chosen over the finite non-zero magnitudes.
        let mut magnitudes = shown
            .iter()
            .filter(|x| x.is_finite() && **x != 0.0)
            .map(|x| x.abs());
        let scientific = match magnitudes.next() {
            Some(first) => {
                let (mn, mx) =
                    magnitudes.fold((first, first), |(mn, mx), x| (mn.min(x), mx.max(x)));
                mx >= 1e8 || mn < 1e-4 || mx / mn > 1000.0
            }
            None => false,
        };

        // First pass (NumPy's dragon4 in "unique" mode, precision 8, trim '.') fixes the digits
        // of every value and so the widths.
        let digits: Vec<Option<Digits>> = shown
            .iter()
            .map(|&x| {
                x.is_finite().then(|| {
                    if scientific {
                        scientific_digits(x)
                    } else {
                        positional_digits(x)
                    }
                })
            })
            .collect();

        let mut pad_left = 0;
        let mut precision = 0;
        let mut exp_digits = 2;
        let mut any_finite = false;
        for (x, d) in shown.iter().zip(&digits) {
            let Some(d) = d else { continue };
            any_finite = true;
            // The sign bit decides, so -0.0 prints as `-0.`.
            let sign = usize::from(x.is_sign_negative());
            if scientific {
                pad_left = pad_left.max(1 + sign);
                precision = precision.max(d.len() - 1);
                exp_digits = exp_digits.max(decimal_len(d.exp.unsigned_abs()));
            } else {
                let (int_len, frac_len) = positional_lengths(d);
                pad_left = pad_left.max(int_len + sign);
                precision = precision.max(frac_len);
            }
        }
        let pad_right = match (any_finite, scientific) {
            (false, _) => 0,
            // Only used to size nan/inf: the fraction, "e", the exponent sign and digits
            // (NumPy's `exp_size + 2 + precision`; the +1 for "." is added below).
            (true, true) => exp_digits + 2 + precision,
            (true, false) => precision,
        };

        // Appendix B.5: nan/inf are right-aligned in the full field; widen it to fit them.
        if shown.iter().any(|x| !x.is_finite()) {
            let widest: usize = if shown.contains(&f64::NEG_INFINITY) {
                4
            } else {
                3
            };
            pad_left = pad_left.max(widest.saturating_sub(pad_right + 1));
        }

        Layout {
            scientific,
            digits,
            pad_left,
            pad_right,
            precision,
            exp_digits,
        }
    }

    /// Appends one padded word; `digits` are the first-pass digits of `x` (`None` when not
    /// finite).
    fn render(&self, x: f64, digits: Option<&Digits>, out: &mut String) {
        let Some(d) = digits else {
            let text = if x.is_nan() {
                "nan"
            } else if x > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let width = self.pad_left + self.pad_right + 1;
            push_repeated(out, ' ', width.saturating_sub(text.len()));
            out.push_str(text);
            return;
        };
        let sign = usize::from(x.is_sign_negative());
        let text = d.as_str();
        if self.scientific {
            // Every value gets `precision` fraction digits (zero-padded: NumPy's `min_digits`)
            // and `exp_digits` exponent digits.
            push_repeated(out, ' ', self.pad_left.saturating_sub(1 + sign));
            if sign == 1 {
                out.push('-');
            }
            let (first, rest) = text.split_at(1);
            out.push_str(first);
            out.push('.');
            out.push_str(rest);
            push_repeated(out, '0', self.precision.saturating_sub(rest.len()));
            out.push('e');
            out.push(if d.exp < 0 { '-' } else { '+' });
            let exp = d.exp.unsigned_abs();
            push_repeated(out, '0', self.exp_digits.saturating_sub(decimal_len(exp)));
            push_decimal(out, exp);
        } else {
            let (int_len, frac_len) = positional_lengths(d);
            push_repeated(out, ' ', self.pad_left.saturating_sub(int_len + sign));
            if sign == 1 {
                out.push('-');
            }
            // d0 d1 … with the point after digit `exp` (zero-padded on either side).
            if d.exp < 0 {
                out.push_str("0.");
                push_repeated(out, '0', (d.exp.unsigned_abs() - 1) as usize);
                out.push_str(text);
            } else {
                let (int_digits, frac_digits) = text.split_at(text.len().min(int_len));
                out.push_str(int_digits);
                push_repeated(out, '0', int_len - int_digits.len());
                out.push('.');
                out.push_str(frac_digits);
            }
            push_repeated(out, ' ', self.pad_right.saturating_sub(frac_len));
        }
    }
}

/// Lengths of the integer part (without sign) and fraction part of `d` in positional notation.
fn positional_lengths(d: &Digits) -> (usize, usize) {
    if d.exp < 0 {
        (1, d.exp.unsigned_abs() as usize - 1 + d.len())
    } else {
        let int_len = d.exp.unsigned_abs() as usize + 1;
        (int_len, d.len().saturating_sub(int_len))
    }
}

fn decimal_len(mut n: u32) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn push_decimal(out: &mut String, n: u32) {
    use std::fmt::Write as _;
    let _ = write!(out, "{n}");
}

/// Positional digits of `|x|` (finite), Appendix B.3: the shortest round-trip digits if they
/// need at most `PRECISION` fraction digits, otherwise the exact binary value correctly
/// rounded (ties to even) to `PRECISION` digits, trailing zeros trimmed.
///
/// This is dragon4's "unique" mode with a cutoff: digit generation stops at uniqueness or at
/// the cutoff, whichever comes first. Rounding the exact value is not enough on its own: in
/// [2^26, 1e8) half an ulp (7.45e-9) exceeds half a unit of the 8th fraction digit, so the
/// shortest digits and the rounded exact value can differ there.
fn positional_digits(x: f64) -> Digits {
    let shortest = Digits::shortest(x);
    let frac_len = i64::try_from(shortest.len()).unwrap_or(i64::MAX) - 1 - i64::from(shortest.exp);
    if frac_len > PRECISION as i64 {
        // `{:.N}` rounds the exact binary value, ties to even (the `round_half_even_*` rows of
        // the tests pin this). Shortest digits need > 8 fraction digits only below 1e9, so the
        // rounded text is short.
        Digits::rounded_fixed(x, PRECISION)
    } else {
        shortest
    }
}

/// Scientific digits of `|x|` (finite), Appendix B.4: the shortest round-trip mantissa if it
/// has at most `PRECISION` fraction digits, otherwise the exact value correctly rounded to
/// `PRECISION` of them (which may carry into the exponent: 9.999999999e5 → 1.e+06).
fn scientific_digits(x: f64) -> Digits {
    let shortest = Digits::shortest(x);
    if shortest.len() > PRECISION + 1 {
        Digits::rounded_scientific(x, PRECISION)
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    /// ALGORITHM.md §1.4 and Appendix B examples, then edge cases; every expected text was
    /// produced by NumPy 2.2.6 (`str(np.array(values))`, identical since NumPy 1.14).
    #[test]
    fn formats_like_numpy() {
        let table: &[(&str, &[f64], &str)] = &[
            ("spec_2_5_1000", &[2.5, 1000.0], "[   2.5 1000. ]"),
            ("spec_neg_1_5", &[-1.5, 2.25, 0.0], "[-1.5   2.25  0.  ]"),
            ("spec_1_2000", &[1.0, 2000.0], "[1.e+00 2.e+03]"),
            ("spec_1e-5_1", &[1.0e-05, 1.0], "[1.e-05 1.e+00]"),
            ("spec_1e10_neg", &[10000000000.0, -3.5], "[ 1.0e+10 -3.5e+00]"),
            ("spec_123456_789", &[123456.789, 0.5], "[1.23456789e+05 5.00000000e-01]"),
            ("spec_0_0015", &[0.0015, 2.0], "[1.5e-03 2.0e+00]"),
            ("spec_0_1_0_2_0_3", &[0.1, 0.2, 0.3], "[0.1 0.2 0.3]"),
            ("spec_1_5_0_5", &[1.5, 0.5], "[1.5 0.5]"),
            ("spec_1_0_0", &[1.0, 0.0, 0.0], "[1. 0. 0.]"),
            ("empty", &[], "[]"),
            ("shortest_tie_goes_even", &[67108864.00195312, 67108864.00585938], "[67108864.00195312 67108864.00585938]"),
            ("shortest_tie_with_other", &[99999999.99804688, 123456.5], "[99999999.99804688   123456.5       ]"),
            ("single_zero", &[0.0], "[0.]"),
            ("negative_zero", &[-0.0], "[-0.]"),
            ("neg_zero_and_one", &[-0.0, 1.0], "[-0.  1.]"),
            ("ints", &[1.0, 2.0, 3.0], "[1. 2. 3.]"),
            ("negatives", &[-1.0, -22.5, 3.125], "[ -1.    -22.5     3.125]"),
            ("third", &[0.3333333333333333, 0.6666666666666666], "[0.33333333 0.66666667]"),
            ("point_three", &[0.30000000000000004, 1.0], "[0.3 1. ]"),
            ("round_half_even_down", &[0.001953125], "[0.00195312]"),
            ("round_half_even_up", &[0.005859375], "[0.00585938]"),
            ("ninth_digit_5_binary_above", &[0.123456785], "[0.12345678]"),
            ("ninth_digit_5_binary_below", &[0.123456775], "[0.12345678]"),
            ("carry_to_integer", &[0.999999999, 0.5], "[1.  0.5]"),
            ("eight_digits_exact", &[0.12345678], "[0.12345678]"),
            ("nine_digits", &[0.123456789], "[0.12345679]"),
            ("near_1e8_positional", &[99999999.5, 1.0], "[9.99999995e+07 1.00000000e+00]"),
            ("near_1e8_rounding", &[67108863.99999999], "[67108863.99999999]"),
            ("1e8_scientific", &[100000000.0, 1.0], "[1.e+08 1.e+00]"),
            ("just_below_1e8", &[99999999.99999999], "[99999999.99999999]"),
            ("1e-4_positional", &[0.0001, 0.05], "[0.0001 0.05  ]"),
            ("below_1e-4_scientific", &[9.99999e-05, 0.05], "[9.99999e-05 5.00000e-02]"),
            ("ratio_1000_positional", &[1.0, 1000.0], "[   1. 1000.]"),
            ("ratio_above_1000_scientific", &[1.0, 1000.0000000001], "[1.e+00 1.e+03]"),
            ("ratio_1001", &[0.5, 500.5], "[5.000e-01 5.005e+02]"),
            ("large_integer_1e16_sci", &[1.0e+16], "[1.e+16]"),
            ("large_integer_and_small", &[1.0e+16, 1.5e+16, 1.0], "[1.0e+16 1.5e+16 1.0e+00]"),
            ("sci_3digit_exponent", &[1.0e-100, 1.0], "[1.e-100 1.e+000]"),
            ("sci_3digit_positive", &[1.0e+200, -0.0025, 0.0], "[ 1.0e+200 -2.5e-003  0.0e+000]"),
            ("sci_rounding", &[123456.789012345, 0.5], "[1.23456789e+05 5.00000000e-01]"),
            ("sci_carry_exponent", &[999999.99999, 1.0e-09], "[1.e+06 1.e-09]"),
            ("sci_zero", &[0.0, 1.0e-05], "[0.e+00 1.e-05]"),
            ("sci_neg_zero", &[-0.0, 1.0e-05, -3000000000.0], "[-0.e+00  1.e-05 -3.e+09]"),
            ("nan_one", &[NAN, 1.0], "[nan  1.]"),
            ("inf_neginf_one", &[INF, -INF, 1.0], "[ inf -inf   1.]"),
            ("nan_sci", &[NAN, 1000000000.0], "[   nan 1.e+09]"),
            ("only_nan", &[NAN], "[nan]"),
            ("nan_inf", &[NAN, INF], "[nan inf]"),
            ("nan_neginf", &[NAN, -INF], "[ nan -inf]"),
            ("neginf_only", &[-INF], "[-inf]"),
            ("mixed_sci_nonfinite", &[NAN, -INF, 1.0e-07, 25000000000.0, -0.0], "[     nan     -inf  1.0e-07  2.5e+10 -0.0e+00]"),
            ("nonfinite_wide_positional", &[NAN, 123.456, -INF], "[    nan 123.456    -inf]"),
            ("subnormal", &[5.0e-324, 1.0], "[5.e-324 1.e+000]"),
            ("max_double", &[1.7976931348623157e+308, -2.2250738585072014e-308], "[ 1.79769313e+308 -2.22507386e-308]"),
            ("thirty", &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0], "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]"),
            ("wrap_negative", &[-0.0, -1.5, -3.0, -4.5, -6.0, -7.5, -9.0, -10.5, -12.0, -13.5, -15.0, -16.5, -18.0, -19.5, -21.0, -22.5, -24.0, -25.5, -27.0, -28.5, -30.0, -31.5, -33.0, -34.5, -36.0, -37.5, -39.0, -40.5, -42.0, -43.5, -45.0, -46.5, -48.0, -49.5, -51.0, -52.5, -54.0, -55.5, -57.0, -58.5], "[ -0.   -1.5  -3.   -4.5  -6.   -7.5  -9.  -10.5 -12.  -13.5 -15.  -16.5\n -18.  -19.5 -21.  -22.5 -24.  -25.5 -27.  -28.5 -30.  -31.5 -33.  -34.5\n -36.  -37.5 -39.  -40.5 -42.  -43.5 -45.  -46.5 -48.  -49.5 -51.  -52.5\n -54.  -55.5 -57.  -58.5]"),
            ("wrap_sci", &[1.0, 3.375, 11.390625, 38.443359375, 129.746337890625, 437.8938903808594, 1477.8918800354004, 4987.885095119476, 16834.112196028233, 56815.128661595285, 191751.0592328841, 647159.8249109838, 2184164.4090745705, 7371554.880626675, 24878997.72211503, 83966617.31213821, 283387333.4284665, 956432250.3210744, 3227958844.8336263, 10894361101.313488], "[1.00000000e+00 3.37500000e+00 1.13906250e+01 3.84433594e+01\n 1.29746338e+02 4.37893890e+02 1.47789188e+03 4.98788510e+03\n 1.68341122e+04 5.68151287e+04 1.91751059e+05 6.47159825e+05\n 2.18416441e+06 7.37155488e+06 2.48789977e+07 8.39666173e+07\n 2.83387333e+08 9.56432250e+08 3.22795884e+09 1.08943611e+10]"),
            ("wrap_exact_fit", &[1234567.0, 1234567.0, 1234567.0, 1234567.0, 1234567.0, 1234567.0, 1234567.0, 1234567.0, 1234567.0], "[1234567. 1234567. 1234567. 1234567. 1234567. 1234567. 1234567. 1234567.\n 1234567.]"),
            ("wrap_one_over", &[12345678.0, 12345678.0, 12345678.0, 12345678.0, 12345678.0, 12345678.0, 12345678.0, 12345678.0, 12345678.0], "[12345678. 12345678. 12345678. 12345678. 12345678. 12345678. 12345678.\n 12345678. 12345678.]"),
            ("wide_words", &[0.12345678, 0.24691356, 0.37037034, 0.49382712, 0.6172839, 0.74074068, 0.86419746, 0.98765424, 1.11111102, 1.2345678, 1.35802458, 1.48148136, 1.60493814, 1.72839492, 1.8518517, 1.97530848, 2.09876526, 2.22222204, 2.34567882, 2.4691356, 2.59259238, 2.71604916, 2.83950594, 2.96296272], "[0.12345678 0.24691356 0.37037034 0.49382712 0.6172839  0.74074068\n 0.86419746 0.98765424 1.11111102 1.2345678  1.35802458 1.48148136\n 1.60493814 1.72839492 1.8518517  1.97530848 2.09876526 2.22222204\n 2.34567882 2.4691356  2.59259238 2.71604916 2.83950594 2.96296272]"),
        ];
        for &(case, values, expected) in table {
            assert_eq!(numpy_str(values), expected, "case {case}");
        }
    }

    fn summarised(head: [f64; 3], fill: f64, len: usize, tail: [f64; 3]) -> Vec<f64> {
        let mut values = head.to_vec();
        values.resize(len - 3, fill);
        values.extend(tail);
        values
    }

    /// Appendix B.1: above 1000 elements only the three values at each end are formatted and
    /// choose the format (the middle fill would force scientific mode if it were looked at).
    #[test]
    fn summarises_long_arrays_from_their_edges() {
        let counting: Vec<f64> = (0..1001).map(f64::from).collect();
        let table: Vec<(&str, Vec<f64>, &str)> = vec![
            (
                "range_1001",
                counting,
                "[   0.    1.    2. ...  998.  999. 1000.]",
            ),
            (
                "mode_from_edges",
                summarised([1.0, 2.0, 3.0], 1e300, 1001, [4.0, 5.0, 6.0]),
                "[1. 2. 3. ... 4. 5. 6.]",
            ),
            (
                "non_finite_edges",
                summarised([NAN, 1.5, -INF], 0.0, 1006, [2.25, INF, -0.0]),
                "[  nan  1.5   -inf ...  2.25   inf -0.  ]",
            ),
            (
                "scientific_edges",
                summarised([1e-20, 2.0, 3.0], 0.0, 1006, [4.0, 5.0, 6e30]),
                "[1.e-20 2.e+00 3.e+00 ... 4.e+00 5.e+00 6.e+30]",
            ),
        ];
        for (case, values, expected) in table {
            assert_eq!(numpy_str(&values), expected, "case {case}");
        }
    }

    /// Exactly 1000 elements is not summarised: all values printed, wrapped over many lines.
    #[test]
    fn thousand_elements_are_printed_in_full() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.25).collect();
        let text = numpy_str(&values);
        assert!(text.starts_with("[  0.     0.25   0.5    0.75   1.     1.25"));
        assert!(text.ends_with("249.25 249.5  249.75]"));
        assert_eq!(
            crate::engine::naming::sha1_hex(text.as_bytes()),
            "c28362af1865c9cb9df7d41733a75200781e9ae9"
        );
    }

    fn parse_f64(v: &Value) -> f64 {
        let text = v.as_str().expect("golden values are Python float reprs");
        text.parse().expect("a Python float repr parses as f64")
    }

    fn parse_all(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("list of values")
            .iter()
            .map(parse_f64)
            .collect()
    }

    /// 300 arrays drawn by `testdata/gen_golden.py` (fixed seed) and printed by real NumPy.
    #[test]
    fn matches_numpy_golden_table() {
        let golden: Value = serde_json::from_str(include_str!("testdata/numpy_golden.json"))
            .expect("numpy_golden.json is JSON");
        let cases = golden["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 300);
        for (i, case) in cases.iter().enumerate() {
            let values = if let Some(len) = case["len"].as_u64() {
                let mut values = parse_all(&case["head"]);
                let tail = parse_all(&case["tail"]);
                let len = usize::try_from(len).expect("small length");
                values.resize(len - tail.len(), parse_f64(&case["fill"]));
                values.extend(tail);
                values
            } else {
                parse_all(&case["values"])
            };
            let expected = case["str"].as_str().expect("str");
            assert_eq!(
                numpy_str(&values),
                expected,
                "golden case {i} ({})",
                case["kind"]
            );
        }
    }

    /// Never panics, whatever the bits; the output is bracketed and no line is wider than
    /// the line width unless it holds a single word.
    #[test]
    fn any_bit_pattern_formats_without_panicking() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            // xorshift64*: deterministic, no dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for len in [0usize, 1, 2, 5, 17, 80, 999, 1000, 1001, 1500] {
            for _ in 0..4 {
                let values: Vec<f64> = (0..len).map(|_| f64::from_bits(next())).collect();
                let text = numpy_str(&values);
                assert!(text.starts_with('[') && text.ends_with(']'), "{text}");
                for line in text.lines() {
                    assert!(
                        line.len() <= LINE_WIDTH || !line.trim().contains(' '),
                        "line too long: {line:?}"
                    );
                }
            }
        }
    }
}
