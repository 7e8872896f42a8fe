//! Portable sampling: the exponential, log-normal and Zipf draws of the core, computed with the
//! `libm` crate (a port of musl's libm), so the same layout and seed give the same numbers on
//! every machine and operating system.
//!
//! Why not `rand_distr`: its distributions call `exp`, `ln` and `powf` through `num-traits`,
//! and `num-traits`' `std` feature (which other crates of the build turn on, and Cargo unifies)
//! sends those calls to the platform's libm, whose last bits differ between systems. `sqrt` is
//! exact in IEEE 754, so `f64::sqrt` is portable; every other transcendental function here is
//! `libm`'s.

use std::sync::Arc;

use rand::{Rng as _, RngExt as _};

use super::rng::SimRng;

/// Most tries of a rejection loop before it gives up (each try is accepted with probability
/// above 3/4, so 64 failures in a row has probability below 1e-38).
const TRIES_MAX: u32 = 64;

/// A uniform draw in (0, 1]: never 0, so its logarithm is finite.
fn open_unit(rng: &mut SimRng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A standard exponential draw (mean 1), by Marsaglia and Tsang's ziggurat ("The Ziggurat
/// Method for Generating Random Variables", 2000), with 256 layers: one 64-bit draw, a table
/// look-up and a multiplication for about 99 % of draws, where inversion (-ln U) needs a
/// logarithm for every one. The tables are built once with `libm`, and the fast path is IEEE
/// arithmetic only, so the draws are the same on every machine.
#[inline]
pub fn exp1(rng: &mut SimRng) -> f64 {
    let z = &*ZIGGURAT;
    let bits = rng.next_u64();
    let i = (bits & 0xff) as usize;
    // The top 53 bits: a uniform position inside layer i (independent of the layer's bits).
    let u = bits >> 11;
    if u < z.k[i] {
        return u as f64 * z.w[i];
    }
    exp1_edge(rng, z, i, u)
}

/// The rare draws that land outside the layer above's width: the base strip's tail, or a
/// wedge under the curve (then, if rejected, the next tries).
#[cold]
#[inline(never)]
fn exp1_edge(rng: &mut SimRng, z: &Ziggurat, mut i: usize, mut u: u64) -> f64 {
    for _ in 0..TRIES_MAX {
        let x = u as f64 * z.w[i];
        if u < z.k[i] {
            return x;
        }
        if i == 0 {
            // The base strip's tail beyond r: r plus a fresh exponential, by inversion.
            return ZIGGURAT_R - libm::log(open_unit(rng));
        }
        // The wedge of layer i: accept under the curve.
        if z.f[i] + rng.random::<f64>() * (z.f[i - 1] - z.f[i]) < libm::exp(-x) {
            return x;
        }
        let bits = rng.next_u64();
        i = (bits & 0xff) as usize;
        u = bits >> 11;
    }
    -libm::log(open_unit(rng))
}

/// Where the exponential ziggurat's base strip ends and its tail begins, and the area of each
/// of its 256 equal-area layers (Marsaglia and Tsang's constants for exp(-x)).
const ZIGGURAT_R: f64 = 7.697_117_470_131_487;
const ZIGGURAT_V: f64 = 3.949_659_822_581_572e-3;

/// A ziggurat's tables: 256 layers of equal area under a decreasing density f on [0, inf).
/// For layer i, `w[i]` turns a 53-bit position into x, `k[i]` is the position below which x
/// lies inside the layer above's width (no wedge test), and `f[i]` is f at the layer's right
/// edge.
struct Ziggurat {
    k: [u64; 256],
    w: [f64; 256],
    f: [f64; 256],
}

static ZIGGURAT: std::sync::LazyLock<Ziggurat> = std::sync::LazyLock::new(|| {
    ziggurat(ZIGGURAT_R, ZIGGURAT_V, |x| libm::exp(-x), |y| -libm::log(y))
});

/// The tables for density `f` (with inverse `f_inv`), base strip ending at `r`, layer area
/// `v` (Marsaglia and Tsang's construction: each layer's right edge from the one below).
fn ziggurat(r: f64, v: f64, f: impl Fn(f64) -> f64, f_inv: impl Fn(f64) -> f64) -> Ziggurat {
    const M: f64 = 9_007_199_254_740_992.0; // 2^53
    let mut z = Ziggurat {
        k: [0; 256],
        w: [0.0; 256],
        f: [0.0; 256],
    };
    let mut de = r;
    let mut te = de;
    // The base strip: a rectangle of width q (area v) plus the tail.
    let q = v / f(de);
    z.k[0] = ((de / q) * M) as u64;
    z.k[1] = 0;
    z.w[0] = q / M;
    z.w[255] = de / M;
    z.f[0] = 1.0;
    z.f[255] = f(de);
    for i in (1..=254).rev() {
        de = f_inv(v / de + f(de));
        z.k[i + 1] = ((de / te) * M) as u64;
        te = de;
        z.f[i] = f(de);
        z.w[i] = de / M;
    }
    z
}

/// Where the normal ziggurat's base strip ends, and the area of each of its 256 layers under
/// exp(-x^2 / 2): v = r e^(-r^2/2) + sqrt(pi/2) erfc(r / sqrt 2), so that the base strip holds
/// the tail (r as in rand_distr and Doornik's "An Improved Ziggurat Method", 2005; v is
/// Marsaglia and Tsang's 0.00492867323399 to more digits).
const NORMAL_R: f64 = 3.654_152_885_361_009;
const NORMAL_V: f64 = 4.928_673_233_974_658e-3;

static NORMAL: std::sync::LazyLock<Ziggurat> = std::sync::LazyLock::new(|| {
    ziggurat(
        NORMAL_R,
        NORMAL_V,
        |x| libm::exp(-0.5 * x * x),
        |y| (-2.0 * libm::log(y)).sqrt(),
    )
});

/// A standard normal draw (mean 0, sd 1), by Marsaglia and Tsang's ziggurat with 256 layers
/// over the half-normal and a sign bit: one 64-bit draw (bits 0-7 the layer, bit 8 the sign,
/// bits 11-63 the position), a table look-up and a multiplication for about 99 % of draws,
/// where the polar method took two or three uniforms, a logarithm and a square root.
#[inline]
pub fn standard_normal(rng: &mut SimRng) -> f64 {
    let z = &*NORMAL;
    let bits = rng.next_u64();
    let i = (bits & 0xff) as usize;
    let u = bits >> 11;
    if u < z.k[i] {
        return with_sign(u as f64 * z.w[i], bits);
    }
    normal_edge(rng, z, i, bits)
}

/// `x` (>= 0) negated when bit 8 of `bits` is set.
#[inline]
fn with_sign(x: f64, bits: u64) -> f64 {
    f64::from_bits(x.to_bits() | ((bits & 0x100) << 55))
}

/// The rare normal draws outside the layer above's width: the base strip's tail, or a wedge
/// under the curve (then, if rejected, the next tries).
#[cold]
#[inline(never)]
fn normal_edge(rng: &mut SimRng, z: &Ziggurat, mut i: usize, mut bits: u64) -> f64 {
    for _ in 0..TRIES_MAX {
        let u = bits >> 11;
        let x = u as f64 * z.w[i];
        if u < z.k[i] {
            return with_sign(x, bits);
        }
        if i == 0 {
            return with_sign(NORMAL_R + normal_tail(rng), bits);
        }
        // The wedge of layer i: accept under the curve.
        if z.f[i] + rng.random::<f64>() * (z.f[i - 1] - z.f[i]) < libm::exp(-0.5 * x * x) {
            return with_sign(x, bits);
        }
        bits = rng.next_u64();
        i = (bits & 0xff) as usize;
    }
    // 64 rejections in a row (probability below 1e-120): the mean.
    0.0
}

/// How far beyond `NORMAL_R` a normal draw known to lie beyond it falls, by Marsaglia's tail
/// method ("Generating a variable from the tail of the normal distribution", 1964): x from an
/// exponential of rate r, kept with probability e^(-x^2 / 2) by a second exponential.
fn normal_tail(rng: &mut SimRng) -> f64 {
    let mut x = 0.0;
    for _ in 0..TRIES_MAX {
        x = -libm::log(open_unit(rng)) / NORMAL_R;
        let y = -libm::log(open_unit(rng));
        if 2.0 * y >= x * x {
            return x;
        }
    }
    x
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

/// The Zipf distribution on 1..=n with exponent `s` > 0 (P(k) proportional to k^-s), sampled
/// from an alias table of its exact probabilities up to [`ALIAS_MAX`] values, and above that by
/// rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates
/// from monotone discrete distributions", ACM TOMACS 6(3), 1996), as Apache Commons RNG's
/// `RejectionInversionZipfSampler` does it.
#[derive(Clone, Debug, PartialEq)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    cut: f64,
    /// For at most `ALIAS_MAX` values, an alias table of the exact probabilities: one 64-bit
    /// draw and a comparison per sample instead of a logarithm and two exponentials. Shared,
    /// so a copy of the core (the window's rewind snapshots) does not copy it.
    alias: Option<Arc<Alias>>,
}

/// Zipf laws over at most this many values draw from an alias table (8 bytes a value).
pub const ALIAS_MAX: f64 = 16_384.0;

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
            alias: None,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(n + 0.5);
        z.cut = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        if n <= ALIAS_MAX {
            // k^-s for k = 1..=n, summed in order (the same weights on every machine).
            let weights: Vec<f64> = (1..=n as u32).map(|k| z.h(f64::from(k))).collect();
            z.alias = Some(Arc::new(Alias::new(&weights)));
        }
        Some(z)
    }

    /// The law's (n, s).
    pub fn shape(&self) -> (f64, f64) {
        (self.n, self.s)
    }

    /// Bytes of its alias table, if it has one: counted in each copy's footprint although
    /// copies share it, so rewind's estimate of a snapshot errs high (at most 128 KiB a law).
    pub fn heap_bytes(&self) -> u64 {
        self.alias.as_ref().map_or(0, |a| (a.keep.len() * 8) as u64)
    }

    /// A draw in 1..=n, as a float holding an integer.
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        if let Some(a) = &self.alias {
            return (a.sample(rng) + 1) as f64;
        }
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

/// Walker's alias method, as Vose builds it ("A Linear Algorithm for Generating Random Numbers
/// with a Given Distribution", 1991): column i keeps itself with probability keep[i] / 2^32
/// and otherwise gives alias[i], so a draw is a column and a coin.
#[derive(Debug, PartialEq)]
pub struct Alias {
    keep: Vec<u32>,
    alias: Vec<u32>,
}

impl Alias {
    /// The table for these weights (not all zero, at most 2^32 of them).
    fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut keep = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            keep[s] = (scaled[s] * 4_294_967_296.0).min(4_294_967_295.0) as u32;
            alias[s] = l as u32;
            scaled[l] = (scaled[l] + scaled[s]) - 1.0;
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left is 1 up to rounding: those columns keep themselves (alias[i] = i).
        Alias { keep, alias }
    }

    /// A value in 0..n. The column is the high 32 bits scaled to n (a bias below n / 2^32,
    /// under 4e-6 at `ALIAS_MAX`), the coin the low 32 bits.
    #[inline]
    fn sample(&self, rng: &mut SimRng) -> usize {
        let bits = rng.next_u64();
        let col = (((bits >> 32) * self.keep.len() as u64) >> 32) as usize;
        if (bits as u32) < self.keep[col] {
            col
        } else {
            self.alias[col] as usize
        }
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

    /// Pearson's chi-square of `counts` over cells of equal probability, `n` draws in all.
    fn chi_square(counts: &[u64], n: u64) -> f64 {
        let expect = n as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expect).powi(2) / expect)
            .sum()
    }
    use crate::sim::balance::test_util::show;
    use crate::sim::rng::{Stream, stream};

    /// The ziggurat's draws against the exponential law, on three seeds fixed in advance: a
    /// chi-square over 64 cells of equal probability under e^-x (edges -ln(1 - j/64)), plus
    /// cells for the rare regions the ziggurat treats apart: beyond its base strip's end
    /// r = 7.70 (the tail, drawn by inversion) and beyond 10. Also the mean and variance (both 1).
    #[test]
    fn ziggurat_exponential_follows_the_law() {
        let n = 1_000_000u64;
        for seed in [11u64, 22, 33] {
            let mut rng = stream(seed, 4, 0, Stream::Service);
            let cells = 64usize;
            let mut counts = vec![0u64; cells];
            let (mut beyond_r, mut beyond_10) = (0u64, 0u64);
            let (mut sum, mut sum2) = (0.0f64, 0.0f64);
            for _ in 0..n {
                let x = exp1(&mut rng);
                assert!(x >= 0.0 && x.is_finite(), "{x}");
                // Cell j holds [−ln(1 − j/64), −ln(1 − (j+1)/64)): F(x) = 1 − e^−x.
                let j = ((1.0 - (-x).exp()) * cells as f64) as usize;
                counts[j.min(cells - 1)] += 1;
                beyond_r += u64::from(x > ZIGGURAT_R);
                beyond_10 += u64::from(x > 10.0);
                sum += x;
                sum2 += x * x;
            }
            let chi2 = chi_square(&counts, n);
            // 63 degrees of freedom: mean 63, sd 11.2; 0.1 % upper point about 103.
            let mean = sum / n as f64;
            let var = sum2 / n as f64 - mean * mean;
            let p_r = (-ZIGGURAT_R).exp();
            let p_10 = (-10.0f64).exp();
            let z_r = (beyond_r as f64 - n as f64 * p_r) / (n as f64 * p_r).sqrt();
            let z_10 = (beyond_10 as f64 - n as f64 * p_10) / (n as f64 * p_10).sqrt();
            show(&format!(
                "exponential ziggurat, seed {seed}: chi2 {chi2:.1} (63 df), mean {mean:.5}, variance {var:.5}, beyond r {beyond_r} (expected {:.0}, z {z_r:.2}), beyond 10 {beyond_10} (expected {:.1}, z {z_10:.2})",
                n as f64 * p_r,
                n as f64 * p_10
            ));
            assert!(chi2 < 103.0, "chi-square {chi2}");
            // Standard errors: mean 1/sqrt(n) = 0.001; variance sqrt(8/n) = 0.0028. Four of each.
            assert!((mean - 1.0).abs() < 0.004, "mean {mean}");
            assert!((var - 1.0).abs() < 0.0113, "variance {var}");
            assert!(z_r.abs() < 4.0 && z_10.abs() < 4.0, "tail counts");
        }
    }

    /// The normal ziggurat's draws against the standard normal law, on three seeds fixed in
    /// advance: a chi-square over 64 cells of equal probability under Phi (computed here with
    /// erfc), the mean and variance (0 and 1), and the counts beyond the base strip's end
    /// |x| > r = 3.65 (the tail, drawn apart) and beyond 4.5, against n erfc(x / sqrt 2).
    #[test]
    fn ziggurat_normal_follows_the_law() {
        let n = 1_000_000u64;
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let beyond = |x: f64| libm::erfc(x / std::f64::consts::SQRT_2);
        for seed in [11u64, 22, 33] {
            let mut rng = stream(seed, 4, 0, Stream::Service);
            let cells = 64usize;
            let mut counts = vec![0u64; cells];
            let (mut beyond_r, mut beyond_45) = (0u64, 0u64);
            let (mut sum, mut sum2) = (0.0f64, 0.0f64);
            for _ in 0..n {
                let x = standard_normal(&mut rng);
                assert!(x.is_finite(), "{x}");
                let j = (phi(x) * cells as f64) as usize;
                counts[j.min(cells - 1)] += 1;
                beyond_r += u64::from(x.abs() > NORMAL_R);
                beyond_45 += u64::from(x.abs() > 4.5);
                sum += x;
                sum2 += x * x;
            }
            let chi2 = chi_square(&counts, n);
            let mean = sum / n as f64;
            let var = sum2 / n as f64 - mean * mean;
            let (e_r, e_45) = (n as f64 * beyond(NORMAL_R), n as f64 * beyond(4.5));
            let z_r = (beyond_r as f64 - e_r) / e_r.sqrt();
            let z_45 = (beyond_45 as f64 - e_45) / e_45.sqrt();
            show(&format!(
                "normal ziggurat, seed {seed}: chi2 {chi2:.1} ({} df), mean {mean:.5}, variance {var:.5}, beyond r {beyond_r} (expected {e_r:.0}, z {z_r:.2}), beyond 4.5 {beyond_45} (expected {e_45:.1}, z {z_45:.2})",
                cells - 1
            ));
            // 63 degrees of freedom: mean 63, sd 11.2; 0.1 % upper point about 103.
            assert!(chi2 < 103.0, "chi-square {chi2}");
            // Standard errors: mean 1/sqrt(n) = 0.001; variance sqrt(2/n) = 0.0014. Four of each.
            assert!(mean.abs() < 0.004, "mean {mean}");
            assert!((var - 1.0).abs() < 0.0057, "variance {var}");
            assert!(z_r.abs() < 4.0 && z_45.abs() < 4.0, "tail counts");
        }
    }

    /// Marsaglia's tail method gives the normal law beyond r: a chi-square of how far beyond r
    /// its draws fall over 32 cells of equal probability under P(X > r + t | X > r) =
    /// erfc((r + t) / sqrt 2) / erfc(r / sqrt 2), on three seeds.
    #[test]
    fn normal_tail_follows_the_law_beyond_r() {
        let n = 200_000u64;
        let survival = |t: f64| {
            libm::erfc((NORMAL_R + t) / std::f64::consts::SQRT_2)
                / libm::erfc(NORMAL_R / std::f64::consts::SQRT_2)
        };
        for seed in [11u64, 22, 33] {
            let mut rng = stream(seed, 5, 0, Stream::Service);
            let cells = 32usize;
            let mut counts = vec![0u64; cells];
            for _ in 0..n {
                let t = normal_tail(&mut rng);
                assert!(t >= 0.0 && t.is_finite(), "{t}");
                let j = ((1.0 - survival(t)) * cells as f64) as usize;
                counts[j.min(cells - 1)] += 1;
            }
            let chi2 = chi_square(&counts, n);
            show(&format!(
                "normal tail beyond r, seed {seed}: chi2 {chi2:.1} ({} df)",
                cells - 1
            ));
            // 31 degrees of freedom: 0.1 % upper point about 61.2.
            assert!(chi2 < 61.2, "chi-square {chi2}");
        }
    }

    /// Each ziggurat's layers, built up from the base strip with the layer area v, end at the
    /// density's peak f(0) = 1: the top layer's top, f(x_1) + v / x_1, is 1, which holds only
    /// when r and v agree (a wrong v leaves the top short of the peak or above it).
    #[test]
    fn ziggurat_layers_reach_the_peak() {
        const M: f64 = 9_007_199_254_740_992.0;
        for (name, z, v) in [
            ("exponential", &*ZIGGURAT, ZIGGURAT_V),
            ("normal", &*NORMAL, NORMAL_V),
        ] {
            let x1 = z.w[1] * M;
            let top = z.f[1] + v / x1;
            show(&format!("{name} ziggurat: top layer's top {top:.12}"));
            assert!((top - 1.0).abs() < 1e-9, "{name}: {top}");
        }
    }

    /// An alias table gives each value exactly its probability: what the table implies
    /// (a column's own share plus what other columns give it, over n) against the weights'
    /// shares summed here, for Zipf laws and a lopsided law, to 2^-30 per value.
    #[test]
    fn alias_tables_hold_the_exact_probabilities() {
        let lopsided: Vec<f64> = (0..300)
            .map(|i| if i == 7 { 1e6 } else { f64::from(i % 5) })
            .collect();
        let zipf = |n: u32, s: f64| (1..=n).map(|k| f64::from(k).powf(-s)).collect::<Vec<_>>();
        for weights in [zipf(1000, 0.9), zipf(16_384, 1.1), zipf(3, 2.0), lopsided] {
            let a = Alias::new(&weights);
            let n = weights.len();
            let total: f64 = weights.iter().sum();
            let mut implied = vec![0.0f64; n];
            for i in 0..n {
                let own = f64::from(a.keep[i]) / 4_294_967_296.0;
                let other = a.alias[i] as usize;
                if other == i {
                    implied[i] += 1.0 / n as f64;
                } else {
                    implied[i] += own / n as f64;
                    implied[other] += (1.0 - own) / n as f64;
                }
            }
            let worst = (0..n)
                .map(|i| (implied[i] - weights[i] / total).abs())
                .fold(0.0, f64::max);
            show(&format!(
                "alias table of {n} values: worst probability error {worst:.2e}"
            ));
            assert!(worst < 1.0 / 1_073_741_824.0, "{worst}");
        }
    }

    /// The Zipf sampler against the exact probabilities k^-s / H(n, s) computed here by
    /// summation: a chi-square of the counts over the 20 most likely keys and the rest.
    #[test]
    fn zipf_draws_follow_the_law() {
        // The first four draw from an alias table (n <= ALIAS_MAX), the last by rejection-inversion.
        for (n, s) in [
            (1000.0, 0.9),
            (50.0, 1.0),
            (10_000.0, 1.2),
            (7.0, 0.3),
            (100_000.0, 0.8),
        ] {
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
