//! Architecture checks: the simulation core stays pure (no GUI, no I/O, no wall clock, no
//! unseeded or unnamed randomness, no hash-order iteration).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_core_is_pure() {
    let forbidden = [
        "egui",
        "eframe",
        "std::fs",
        "std::net",
        "std::thread",
        "Instant::now",
        "SystemTime",
        "thread_rng",
        "StdRng",
        "HashMap",
        "HashSet",
        "DefaultHasher",
        "println!",
        "eprintln!",
        "rayon",
    ];
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim"),
        &mut files,
    );
    assert!(files.len() > 5, "found the core's files");
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in forbidden {
                if code.contains(bad) {
                    found.push(format!("{}:{}: {bad}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layout_module_does_no_io() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/layout"),
        &mut files,
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for bad in ["std::fs", "egui", "crate::sim"] {
            assert!(!text.contains(bad), "{} uses {bad}", f.display());
        }
    }
}

/// The core's maths is the same on every machine: no platform libm. `rand_distr`'s `std_math`
/// feature would send its distributions to the platform's `exp`, `ln` and `powf`, and so does
/// `num-traits`' `std` feature, which other crates of the build turn on, so the core samples
/// with its own `dist.rs` on the `libm` crate and does not use `rand_distr` outside tests.
/// `f64`'s transcendental methods call the platform's libm too; `sqrt` is exact in IEEE 754
/// and allowed. Test code (from `#[cfg(test)]` on) may use anything.
#[test]
fn the_core_uses_portable_maths() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    assert!(
        !cargo.contains("std_math"),
        "Cargo.toml turns on a platform-maths feature (std_math)"
    );
    let forbidden = [
        ".exp()",
        ".exp2()",
        ".exp_m1()",
        ".ln()",
        ".ln_1p()",
        ".log(",
        ".log2()",
        ".log10()",
        ".powf(",
        ".powi(",
        ".sin()",
        ".cos()",
        ".tan()",
        ".sin_cos()",
        ".asin()",
        ".acos()",
        ".atan()",
        ".atan2(",
        ".sinh()",
        ".cosh()",
        ".tanh()",
        ".cbrt()",
        ".hypot(",
        "rand_distr",
    ];
    let mut files = Vec::new();
    rust_files(&root.join("src/sim"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            for bad in forbidden {
                if line.contains(bad) {
                    found.push(format!("{}:{}: {bad}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "platform maths in the core (use libm):\n{}",
        found.join("\n")
    );
}
