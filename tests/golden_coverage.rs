//! Every PyTorch reference case in `tests/golden/` is exercised by some test: each file stem
//! must appear as a string literal (`"layer_lstm"`) in a test source. Cases not implemented
//! yet are listed in [`PENDING`], and listing one that a test now covers fails too, so the
//! list only shrinks.

use std::collections::BTreeSet;
use std::path::Path;

/// Reference cases without a test yet, each with what it waits for.
const PENDING: &[(&str, &str)] = &[];

fn test_sources() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut all = String::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "golden_coverage.rs")
            {
                all += &std::fs::read_to_string(&path).unwrap();
            }
        }
    }
    all
}

#[test]
fn every_golden_case_is_tested() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let cases: BTreeSet<String> = std::fs::read_dir(&golden)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".safetensors").map(str::to_string)
        })
        .collect();
    // The 148 cases of the shared PyTorch set, plus the NaN/inf cases of gen_nan_cases.py.
    assert!(
        cases.len() >= 148,
        "tests/golden should hold all 148 PyTorch cases"
    );
    let sources = test_sources();
    let pending: BTreeSet<&str> = PENDING.iter().map(|(c, _)| *c).collect();
    let mut untested = Vec::new();
    let mut stale = Vec::new();
    for case in &cases {
        let tested = sources.contains(&format!("\"{case}\""));
        match (tested, pending.contains(case.as_str())) {
            (false, false) => untested.push(case.as_str()),
            (true, true) => stale.push(case.as_str()),
            _ => {}
        }
    }
    assert!(
        untested.is_empty(),
        "golden cases no test loads: {untested:?}"
    );
    assert!(
        stale.is_empty(),
        "tested now, remove from PENDING: {stale:?}"
    );
}

/// The same for the cases this repository's own scripts made (`tests/golden_extra/*.py`):
/// each file's stem appears in a test source, as a case name (`"unary_elu"`), a path or a
/// file name.
#[test]
fn every_extra_case_is_tested() {
    let extra = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden_extra");
    let sources = test_sources();
    let untested: Vec<String> = std::fs::read_dir(&extra)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".safetensors").map(str::to_string)
        })
        .filter(|case| {
            !(sources.contains(&format!("\"{case}\""))
                || sources.contains(&format!("/{case}\""))
                || sources.contains(&format!("{case}.safetensors")))
        })
        .collect();
    assert!(
        untested.is_empty(),
        "golden_extra cases no test loads: {untested:?}"
    );
}
