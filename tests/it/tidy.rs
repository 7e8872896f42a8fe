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
