//! The `<line>` elements of SVG drawings, formatted as `mnistvec/io/svg.py` formats them.
//!
//! Each drawn stroke is one element
//! `<line x1="X0" y1="Y0" x2="X1" y2="Y1" stroke-width="W" stroke-opacity="A" />`, its six numbers written
//! like C's and Python's `%g`: six significant digits, correctly rounded (ties to even, on the exact
//! binary value), trailing zeros and a trailing point removed, in exponent form `d.ddddde±XX` (at least
//! two exponent digits) when the decimal exponent is below -4 or at least 6. The numbers come already in
//! pixels and rounded to 1/1000 (the Python side does that for the whole batch), so the text is the same
//! byte for byte.

use std::io::Write;

/// The most bytes one element takes: the template's 66 and six numbers of at most 13 each
/// (`-d.ddddde-XXX`).
pub const MAX_ELEMENT_BYTES: usize = 66 + 6 * 13;

/// Appends `value` formatted as `%g` (module doc) to `out`. Infinite and NaN values are written as
/// Python writes them (`inf`, `-inf`, `nan`), though callers never pass them.
pub fn push_g(value: f64, out: &mut Vec<u8>) {
    if !value.is_finite() {
        out.extend_from_slice(match value {
            v if v.is_nan() => b"nan".as_slice(),
            v if v > 0.0 => b"inf",
            _ => b"-inf",
        });
        return;
    }
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    if let Some(thousandths) = whole_thousandths(value) {
        push_thousandths(thousandths, out);
        return;
    }
    let scientific = format!("{value:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} writes a decimal exponent");
    if !(-4..6).contains(&exponent) {
        out.extend_from_slice(strip_zeros(mantissa).as_bytes());
        let sign = if exponent < 0 { '-' } else { '+' };
        write!(out, "e{sign}{:02}", exponent.abs()).expect("writing to a Vec");
    } else {
        let fixed = format!("{value:.*}", (5 - exponent) as usize);
        out.extend_from_slice(strip_zeros(&fixed).as_bytes());
    }
}

/// `k` when `value` is the double nearest to `k / 1000` for a whole `k` with `0 < |k| < 10^6`: then its
/// six significant digits are those of `k / 1000` exactly (at most six digits, so no rounding happens and
/// `%g` writes it in fixed notation). None for any other value.
fn whole_thousandths(value: f64) -> Option<i64> {
    let scaled = value * 1000.0;
    if !(scaled.abs() < 1e6) {
        return None;
    }
    let k = scaled.round() as i64;
    (k != 0 && k as f64 / 1000.0 == value).then_some(k)
}

/// Appends `k / 1000` in fixed notation, without trailing zeros: `-12.5` for `k = -12500`.
fn push_thousandths(k: i64, out: &mut Vec<u8>) {
    if k < 0 {
        out.push(b'-');
    }
    let (whole, mut fraction) = (k.unsigned_abs() / 1000, k.unsigned_abs() % 1000);
    out.extend_from_slice(whole.to_string().as_bytes());
    if fraction != 0 {
        out.push(b'.');
        let mut digits = 3;
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        let text = fraction.to_string();
        out.extend(std::iter::repeat(b'0').take(digits - text.len()));
        out.extend_from_slice(text.as_bytes());
    }
}

/// A decimal without its trailing fractional zeros, and without its point if nothing follows it.
fn strip_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// Appends the elements of one drawing's strokes to `out`: `rows` holds `[x0, y0, x1, y1, width, opacity]`
/// per stroke, and only the strokes whose `drawn` flag is non-zero are written.
pub fn push_lines(rows: &[f64], drawn: &[u8], out: &mut Vec<u8>) {
    for (row, &on) in rows.chunks_exact(6).zip(drawn) {
        if on == 0 {
            continue;
        }
        for (k, name) in [
            "<line x1=\"",
            "\" y1=\"",
            "\" x2=\"",
            "\" y2=\"",
            "\" stroke-width=\"",
            "\" stroke-opacity=\"",
        ]
        .iter()
        .enumerate()
        {
            out.extend_from_slice(name.as_bytes());
            push_g(row[k], out);
        }
        out.extend_from_slice(b"\" />");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(value: f64) -> String {
        let mut out = Vec::new();
        push_g(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_like_percent_g() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (12.345, "12.345"),
            (-3.25, "-3.25"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (123456.5, "123456"),
            (123457.5, "123458"),
            (999999.5, "1e+06"),
            (9.999995, "10"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (27.999, "27.999"),
            (0.001, "0.001"),
            (-0.05, "-0.05"),
            (999.999, "999.999"),
            (1000.5, "1000.5"),
            (1234.565, "1234.57"),
            (0.1 + 0.2, "0.3"),
            (f64::INFINITY, "inf"),
        ];
        for (value, text) in cases {
            assert_eq!(g(value), text, "{value}");
        }
    }

    #[test]
    fn an_element_never_exceeds_its_bound() {
        let mut out = Vec::new();
        push_lines(
            &[-1.23456e-300, -1e300, -1e-5, -123456.7, -9.99999e-100, -1.0],
            &[1],
            &mut out,
        );
        assert!(out.len() <= MAX_ELEMENT_BYTES, "{}", out.len());
    }

    #[test]
    fn writes_only_the_drawn_strokes() {
        let mut out = Vec::new();
        push_lines(
            &[1.0, 2.0, 3.0, 4.0, 0.5, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 0.0],
            &[1, 0],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<line x1=\"1\" y1=\"2\" x2=\"3\" y2=\"4\" stroke-width=\"0.5\" stroke-opacity=\"1\" />"
        );
    }
}
