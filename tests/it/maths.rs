//! The portable maths of the core: the `libm` functions `src/sim` calls (`exp`, `log`,
//! `log1p`, `expm1`; `sqrt` is exact in IEEE 754 and needs no check) against reference values
//! computed independently, not recorded from this machine.
//!
//! The reference digits come from Python's mpmath 1.3.0 at 200 bits of precision, evaluated at
//! the exact binary value of each f64 input (`mpmath.mpf(x)` of the Python float), printed to
//! 25 significant digits:
//!
//! ```text
//! import mpmath; mpmath.mp.prec = 200
//! mpmath.nstr(mpmath.exp(mpmath.mpf(10.5)), 25)
//! ```
//!
//! Rust's parser rounds those digits to the nearest f64, the correctly rounded result; musl's
//! libm, which the `libm` crate ports, is within 1 ulp of it.

/// (function, argument, reference value to 25 significant digits). The digits are kept as
/// mpmath printed them (more than an f64 holds, and e among them) so anyone can recompute them.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
const REFERENCE: [(&str, f64, f64); 24] = [
    ("exp", 1.0, 2.718281828459045235360287),
    ("exp", -0.5, 6.065306597126334236037995e-1),
    ("exp", 10.5, 3.631550267424663773891203e+4),
    ("exp", -20.25, 1.605228055185611608653934e-9),
    ("exp", 0.001, 1.001000500166708341688893),
    ("exp", 700.0, 1.01423205473500450945533e+304),
    ("exp", -700.0, 9.859676543759770856705373e-305),
    ("log", 2.0, 6.931471805599453094172321e-1),
    ("log", 0.1, -2.30258509299404562850684),
    ("log", 10.0, 2.302585092994045684017991),
    ("log", 1e-300, -6.907755278982137051803383e+2),
    ("log", 0.999999, -1.000000500029089026855238e-6),
    ("log", 123456.789, 1.172364648718588101602963e+1),
    ("log", 1.5, 4.054651081081643819780131e-1),
    ("log1p", 1e-10, 9.999999999500000364355306e-11),
    ("log1p", 0.5, 4.054651081081643819780131e-1),
    ("log1p", -0.5, -6.931471805599453094172321e-1),
    ("log1p", 2.0, 1.098612288668109691395245),
    ("log1p", 1e-300, 1.000000000000000025059092e-300),
    ("expm1", 1e-10, 1.000000000050000036433864e-10),
    ("expm1", -0.3, -2.591817793182821257083918e-1),
    ("expm1", 1.0, 1.718281828459045235360287),
    ("expm1", 5.0, 1.474131591025766034211156e+2),
    ("expm1", -1e-05, -9.999950000166667068023192e-6),
];

/// Units in the last place between two finite floats of the same sign.
fn ulps(a: f64, b: f64) -> u64 {
    assert!(
        a.is_finite() && b.is_finite() && a.signum() == b.signum(),
        "{a} {b}"
    );
    a.abs().to_bits().abs_diff(b.abs().to_bits())
}

#[test]
fn libm_agrees_with_high_precision_references_within_one_ulp() {
    let mut worst = 0;
    for (f, x, want) in REFERENCE {
        let got = match f {
            "exp" => libm::exp(x),
            "log" => libm::log(x),
            "log1p" => libm::log1p(x),
            "expm1" => libm::expm1(x),
            _ => panic!("unknown function {f}"),
        };
        let d = ulps(got, want);
        println!("{f}({x:e}) = {got:e}, reference {want:e}: {d} ulp");
        worst = worst.max(d);
        assert!(d <= 1, "{f}({x}): {got} against {want}, {d} ulp");
    }
    println!("worst: {worst} ulp");
}
