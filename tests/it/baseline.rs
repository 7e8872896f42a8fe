//! The JSON baseline: every shipped layout, run as `tierlab run saves/NAME.ron --json` with its
//! own seed for the default 60 s, prints exactly what tests/baseline/NAME.json holds.
//!
//! A refactor must not move a number. A change that moves them on purpose re-records the
//! baseline with `scripts/baseline.sh --record` in a commit of its own that says why.

use std::process::Command;

use crate::check;

#[test]
fn every_shipped_layout_matches_its_recorded_json() {
    let mut layouts: Vec<String> = std::fs::read_dir(check::repo("saves"))
        .unwrap_or_else(|e| panic!("saves/: {e}"))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".ron")?.to_owned())
        })
        .collect();
    layouts.sort();
    assert!(layouts.len() >= 20, "shipped layouts: {layouts:?}");
    let mut changed = Vec::new();
    for name in &layouts {
        let out = Command::new(env!("CARGO_BIN_EXE_tierlab"))
            .args(["run", &format!("saves/{name}.ron"), "--json"])
            .current_dir(check::repo(""))
            .output()
            .unwrap_or_else(|e| panic!("cannot start tierlab: {e}"));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8_lossy(&out.stdout);
        let path = check::repo(&format!("tests/baseline/{name}.json"));
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run scripts/baseline.sh --record)", path.display())
        });
        if got.trim_end() != want.trim_end() {
            let first = got
                .split(',')
                .zip(want.split(','))
                .find(|(g, w)| g != w)
                .map(|(g, w)| format!("now {g}, recorded {w}"))
                .unwrap_or_else(|| "lengths differ".into());
            changed.push(format!("{name}: {first}"));
        }
    }
    assert!(
        changed.is_empty(),
        "the JSON of {} shipped layout(s) moved from tests/baseline/ (scripts/baseline.sh shows the diff; \
         re-record with --record in a commit that says why):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
