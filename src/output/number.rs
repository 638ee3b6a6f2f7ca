//! The number form of cellpk's CSV files, written fast: shortest round-trip digits in
//! exponent form (`7e7`, `1.2345678901234567e5`, `-2.5e-3`), byte for byte what
//! `format!("{v:e}")` writes.
//!
//! Separate because a sweep's rows are mostly numbers: with all 16 metrics, the standard
//! library's formatter (Grisu with a Dragon fallback, then the `fmt` machinery) took 60 %
//! of a one-thread CSV sweep (`perf`, benches/README.md). Ryu finds the same digits in a
//! fraction of the time (both give the shortest digits that read back to the value, the
//! closest of them to it) but for a tie, a value exactly halfway between the two closest
//! (`840847321408031.25`: Ryu `8.408473214080312e14`, rounding half to even; the standard
//! library `...313e14`). A tie needs a value whose exact decimal expansion has at most 18
//! significant digits (17 and the 5), which `may_tie` finds from the bits, and those
//! values go through `format!`; Ryu's layout (`123450.0`, `0.001`) is rewritten here. The
//! tests hold the two to the same bytes over special values, ties and a million random
//! values.

/// Whether the exact value of `v` (finite) has at most 18 significant decimal digits,
/// the only values where two shortest candidates can tie (or the round-trip interval end
/// at a shorter decimal, whose inclusion could differ). `v = m 2^e` with m odd: for e >= 0
/// an integer, whose trailing decimal zeros come from the factors 5 of m (at most 22, as
/// m < 2^53), so at most 18 + 22 digits, below 1e41; for e < 0, `m 5^-e / 10^-e`, whose
/// odd numerator has no trailing zero: its digits are all significant.
fn may_tie(v: f64) -> bool {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, mut e) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    if m == 0 {
        return true;
    }
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    if e >= 0 {
        v.abs() < 1e41
    } else {
        // 5^26 alone has 19 digits.
        let k = e.unsigned_abs();
        k <= 25 && u128::from(m) * 5u128.pow(k) < 10u128.pow(18)
    }
}

/// Appends `v` to `out` as `format!("{v:e}")` writes it.
pub fn push_exponential(out: &mut String, v: f64) {
    if !v.is_finite() || may_tie(v) {
        use std::fmt::Write as _;
        write!(out, "{v:e}").expect("writing to a String cannot fail");
        return;
    }
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(v).as_bytes();
    // Ryu writes `-`?, digits with a `.` in them or not, and `e` and the exponent or not.
    // The value is 0.DIGITS x 10^point: leading zeros dropped (each moving the point left),
    // trailing ones too.
    let negative = text[0] == b'-';
    let mut digits = [0u8; 24];
    let (mut n, mut point, mut fraction) = (0, 0i32, false);
    let mut rest = text[usize::from(negative)..].iter();
    for &c in rest.by_ref() {
        match c {
            b'.' => fraction = true,
            b'e' => break,
            _ => {
                point += i32::from(!fraction);
                if n == 0 && c == b'0' {
                    point -= 1;
                } else {
                    digits[n] = c;
                    n += 1;
                }
            }
        }
    }
    let (mut exponent, mut sign) = (0i32, 1);
    for &c in rest {
        match c {
            b'-' => sign = -1,
            _ => exponent = 10 * exponent + i32::from(c - b'0'),
        }
    }
    point += sign * exponent;
    while n > 0 && digits[n - 1] == b'0' {
        n -= 1;
    }

    let mut written = [0u8; 32];
    let mut len = 0;
    let mut put = |c: u8| {
        written[len] = c;
        len += 1;
    };
    if negative {
        put(b'-');
    }
    if n == 0 {
        put(b'0');
        point = 1;
    } else {
        put(digits[0]);
        if n > 1 {
            put(b'.');
            digits[1..n].iter().for_each(|&d| put(d));
        }
    }
    put(b'e');
    let e = point - 1;
    if e < 0 {
        put(b'-');
    }
    let e = e.unsigned_abs();
    for place in [100, 10, 1] {
        if e >= place || place == 1 {
            put(b'0' + (e / place % 10) as u8);
        }
    }
    out.push_str(std::str::from_utf8(&written[..len]).expect("ASCII digits and signs"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(v: f64) {
        let mut got = String::new();
        push_exponential(&mut got, v);
        assert_eq!(got, format!("{v:e}"), "bits {:#018x}", v.to_bits());
    }

    #[test]
    fn special_values_are_written_as_the_standard_library_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.3,
            1e16,
            1e15,
            1.5e16,
            123450.0,
            0.001,
            1e-5,
            1e-7,
            7e7,
            2.5e-3,
            1e22,
            1e23,
            9007199254740993.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            -5e-324,
            f64::from_bits(0x000f_ffff_ffff_ffff), // the largest subnormal
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            same(v);
        }
        for k in -324..=308 {
            same(10f64.powi(k));
            same(1.234_567_890_123_456_7 * 10f64.powi(k));
        }
    }

    #[test]
    fn ties_are_written_as_the_standard_library_writes_them() {
        // Ryu rounds this one half to even.
        same(f64::from_bits(0xc307_e5f8_2f39_10fa));
        // Values with a short exact expansion: full mantissas over small powers of two,
        // halves and quarters past 2^52, integers up to 1e40.
        for m in (1u64 << 52)..(1u64 << 52) + 2000 {
            for e in -30..30 {
                same(m as f64 * 2f64.powi(e));
                same((m | 0x000a_5a5a_5a5a_5a5a) as f64 * 2f64.powi(e));
            }
        }
        for k in 0..=40 {
            for d in [1.0, 5.0, 25.0, 125.0, 3.0, 7.5] {
                same(d * 10f64.powi(k));
                same(d * 10f64.powi(-k));
            }
        }
    }

    #[test]
    fn a_million_random_doubles_are_written_as_the_standard_library_writes_them() {
        // SplitMix64: every bit pattern (subnormals, huge, tiny), then values of the size a
        // metric has (a random mantissa between 1e-6 and 1e12).
        let mut state = 0x5eed_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for _ in 0..500_000 {
            same(f64::from_bits(next()));
            let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
            same(10f64.powf(-6.0 + 18.0 * unit));
        }
    }
}
