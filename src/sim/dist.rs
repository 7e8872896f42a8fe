//! Portable sampling: the exponential, log-normal and Zipf draws of the core, computed with the
//! `libm` crate (a port of musl's libm), so the same layout and seed give the same numbers on
//! every machine and operating system.
//!
//! Why not `rand_distr`: its distributions call `exp`, `ln` and `powf` through `num-traits`,
//! and `num-traits`' `std` feature (which other crates of the build turn on, and Cargo unifies)
//! sends those calls to the platform's libm, whose last bits differ between systems. `sqrt` is
//! exact in IEEE 754, so `f64::sqrt` is portable; every other transcendental function here is
//! `libm`'s.

use rand::RngExt as _;

use super::rng::SimRng;

/// Most tries of a rejection loop before it gives up (each try is accepted with probability
/// above 3/4, so 64 failures in a row has probability below 1e-38).
const TRIES_MAX: u32 = 64;

/// A uniform draw in (0, 1]: never 0, so its logarithm is finite.
fn open_unit(rng: &mut SimRng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A standard exponential draw (mean 1), by inversion: -ln U.
pub fn exp1(rng: &mut SimRng) -> f64 {
    -libm::log(open_unit(rng))
}

/// A standard normal draw (mean 0, sd 1), by Marsaglia's polar method.
pub fn standard_normal(rng: &mut SimRng) -> f64 {
    for _ in 0..TRIES_MAX {
        let x = 2.0 * rng.random::<f64>() - 1.0;
        let y = 2.0 * rng.random::<f64>() - 1.0;
        let s = x * x + y * y;
        if s > 0.0 && s < 1.0 {
            return x * (-2.0 * libm::log(s) / s).sqrt();
        }
    }
    0.0
}

/// A log-normal distribution given by its mean and coefficient of variation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    /// The log-normal with this mean (> 0) and coefficient of variation (>= 0):
    /// sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2.
    pub fn from_mean_cv(mean: f64, cv: f64) -> LogNormal {
        let var = libm::log1p(cv * cv);
        LogNormal {
            mu: libm::log(mean) - var / 2.0,
            sigma: var.sqrt(),
        }
    }

    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        libm::exp(self.mu + self.sigma * standard_normal(rng))
    }
}

/// The Zipf distribution on 1..=n with exponent `s` > 0 (P(k) proportional to k^-s), sampled by
/// rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates
/// from monotone discrete distributions", ACM TOMACS 6(3), 1996), as Apache Commons RNG's
/// `RejectionInversionZipfSampler` does it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    cut: f64,
}

impl Zipf {
    /// `None` unless n >= 1 and s > 0 (and both finite).
    pub fn new(n: f64, s: f64) -> Option<Zipf> {
        if !(n >= 1.0 && n.is_finite() && s > 0.0 && s.is_finite()) {
            return None;
        }
        let n = n.floor();
        let mut z = Zipf {
            n,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            cut: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(n + 0.5);
        z.cut = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        Some(z)
    }

    /// A draw in 1..=n, as a float holding an integer.
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        let mut k = 1.0;
        for _ in 0..TRIES_MAX {
            let u =
                self.h_integral_n + rng.random::<f64>() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k;
            }
        }
        k
    }

    /// h(x) = x^-s.
    fn h(&self, x: f64) -> f64 {
        libm::exp(-self.s * libm::log(x))
    }

    /// H(x), an antiderivative of h: (x^(1-s) - 1) / (1 - s), or ln x when s = 1.
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = libm::log(x);
        helper2((1.0 - self.s) * log_x) * log_x
    }

    /// The inverse of H.
    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        libm::exp(helper1(t) * x)
    }
}

/// ln(1 + x) / x, and its limit 1 near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::log1p(x) / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (e^x - 1) / x, and its limit 1 near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        libm::expm1(x) / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, stream};

    /// The Zipf sampler against the exact probabilities k^-s / H(n, s) computed here by
    /// summation: a chi-square of the counts over the 20 most likely keys and the rest.
    #[test]
    fn zipf_draws_follow_the_law() {
        for (n, s) in [(1000.0, 0.9), (50.0, 1.0), (10_000.0, 1.2), (7.0, 0.3)] {
            let z = Zipf::new(n, s).unwrap_or_else(|| panic!("valid"));
            let mut rng = stream(7, 1, 0, Stream::Content);
            let draws = 200_000;
            let bins = 20.min(n as usize);
            let mut counts = vec![0u64; bins + 1];
            for _ in 0..draws {
                let k = z.sample(&mut rng);
                assert!((1.0..=n).contains(&k) && k.fract() == 0.0, "{k}");
                counts[(k as usize - 1).min(bins)] += 1;
            }
            let norm: f64 = (1..=n as u64).map(|k| (k as f64).powf(-s)).sum();
            let mut chi2 = 0.0;
            let mut cells = 0;
            for (i, &c) in counts.iter().enumerate() {
                let p = if i < bins {
                    ((i + 1) as f64).powf(-s) / norm
                } else {
                    ((bins + 1)..=n as usize)
                        .map(|k| (k as f64).powf(-s))
                        .sum::<f64>()
                        / norm
                };
                if p > 0.0 {
                    let e = p * draws as f64;
                    chi2 += (c as f64 - e).powi(2) / e;
                    cells += 1;
                }
            }
            // Chi-square with cells - 1 <= 20 degrees of freedom: its 99.9 % point is 45.3.
            assert!(chi2 < 45.3, "n {n}, s {s}: chi2 {chi2} over {cells} cells");
        }
    }

    /// The exponential and log-normal draws have the mean and spread they are asked for: the
    /// sample mean within 5 standard errors.
    #[test]
    fn exponential_and_log_normal_means() {
        let mut rng = stream(3, 2, 0, Stream::Service);
        let n = 400_000;
        let mean = (0..n).map(|_| exp1(&mut rng)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 5.0 / (n as f64).sqrt(), "{mean}");
        let ln = LogNormal::from_mean_cv(10.0, 0.5);
        let xs: Vec<f64> = (0..n).map(|_| ln.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((m - 10.0).abs() < 5.0 * 5.0 / (n as f64).sqrt(), "{m}");
        assert!((sd / m - 0.5).abs() < 0.01, "{sd}");
    }
}
