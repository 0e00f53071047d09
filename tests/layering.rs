//! The crate's dependency direction, enforced: every `crate::x` (and `super::` path that
//! climbs to the crate root) in `src/` must name a module that [`ALLOWED`] lets its own
//! top-level module use. Doc comments, `//` comments and `#[cfg(test)]` items are skipped:
//! tests may reach anywhere. README "Layout" states the same order in words.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The one table of allowed dependencies: each top-level module of `src/` and the modules it
/// may use. Lower layers first; a module never lists one further down this table, except
/// the two optional ones at the end (`gradcheck`, `sample`), which sit beside `nn`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("compile_errors", &["error"]),
    ("dtype", &[]),
    // `shared_instances!`: generic functions' instances compiled once here, listed by the
    // module that defines them.
    ("instances", &[]),
    ("shape", &["error"]),
    // Devices and their storage; with the `wgpu` feature also the GPU kernels (WGSL).
    ("device", &["error", "dtype"]),
    // The CPU kernels: slices, run-time dimensions and `shape::MAX_RANK`, nothing typed.
    ("backend", &["dtype", "shape"]),
    // Tapes and gradients: ids and buffers, no tensors.
    ("autograd", &["dtype"]),
    (
        "tensor",
        &["error", "dtype", "instances", "shape", "autograd", "device"],
    ),
    // The only door to the backend.
    (
        "ops",
        &[
            "error",
            "dtype",
            "instances",
            "shape",
            "autograd",
            "tensor",
            "backend",
        ],
    ),
    (
        "nn",
        &[
            "error",
            "dtype",
            "instances",
            "shape",
            "autograd",
            "tensor",
            "ops",
        ],
    ),
    (
        "optim",
        &[
            "error",
            "dtype",
            "instances",
            "shape",
            "autograd",
            "tensor",
            "ops",
            "nn",
        ],
    ),
    // A checkpoint saves a model and its optimizer's state.
    (
        "serialize",
        &["error", "dtype", "shape", "tensor", "nn", "optim"],
    ),
    // CSV output goes through `serialize::write_atomic`; `Standardizer` is an `nn` layer.
    (
        "data",
        &["error", "dtype", "shape", "tensor", "nn", "serialize"],
    ),
    // Data-parallel training: gradients and parameters of any model, over a collective.
    ("distributed", &["error", "dtype", "autograd", "ops", "nn"]),
    (
        "train",
        &[
            "distributed",
            "error",
            "dtype",
            "shape",
            "autograd",
            "tensor",
            "ops",
            "nn",
            "optim",
            "serialize",
            "data",
            "device",
        ],
    ),
    // The GPU side of tensors, autograd, layers and optimizers (feature `wgpu`): the only
    // caller of the GPU kernels in `device`, as `ops` is of `backend`; it plugs the GPU
    // into the `Trainer` (`train`, which saves through `serialize`). From `ops` it takes the
    // device-independent parts the CPU ops define (`WhereShape`, the split checks, the
    // `CatTuple` trait and its tuple impls), never a CPU kernel (`backend` stays out).
    (
        "gpu",
        &[
            "error",
            "dtype",
            "shape",
            "autograd",
            "tensor",
            "ops",
            "device",
            "nn",
            "optim",
            "serialize",
            "distributed",
            "train",
        ],
    ),
    ("strategies", &["dtype", "shape", "tensor"]),
    (
        "gradcheck",
        &[
            "error",
            "dtype",
            "shape",
            "autograd",
            "tensor",
            "ops",
            "strategies",
            // `Params`, for `gradcheck_params`.
            "nn",
        ],
    ),
    ("sample", &["error", "dtype", "shape", "tensor", "ops"]),
];

/// Names at the crate root that are not modules, and the module that defines them.
const ROOT_ITEMS: &[(&str, &str)] = &[("params", "nn"), ("prelude", "lib")];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/`: `src/nn/loss/bce.rs` is `[nn, loss, bce]`,
/// `src/nn/loss/mod.rs` is `[nn, loss]`, `src/lib.rs` is `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source with doc comments, `//` comments and `#[cfg(test)]` items blanked out.
fn code_lines(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut pending_cfg_test = false;
    for (i, raw) in src.lines().enumerate() {
        let line = match raw.find("//") {
            Some(p) => &raw[..p],
            None => raw,
        };
        let trimmed = line.trim();
        let opens = line.matches('{').count() as i64;
        let closes = line.matches('}').count() as i64;
        if let Some(depth) = skip_depth.as_mut() {
            *depth += opens - closes;
            if *depth <= 0 {
                skip_depth = None;
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            if trimmed.starts_with("#[") || trimmed.is_empty() {
                continue;
            }
            pending_cfg_test = false;
            if opens > closes {
                skip_depth = Some(opens - closes);
                continue;
            }
            if opens == 0 {
                // A braceless item (`use`, `mod x;`): skip this line only.
                continue;
            }
            continue;
        }
        out.push((i + 1, line.to_string()));
    }
    out
}

/// The crate-level names a line refers to: `crate::x`, `$crate::x`, `crate::{x, y::z}` and
/// `super::` chains that climb above the file's top-level module.
fn crate_refs(line: &str, module: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let boundary = i == 0 || !is_ident(bytes[i - 1]);
        if boundary && rest.starts_with("crate::") {
            let after = &rest["crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| is_ident(*c as u8))
                        .collect();
                    if !name.is_empty() {
                        found.push(name);
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| is_ident(*c as u8)).collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
            i += "crate::".len();
            continue;
        }
        if boundary && rest.starts_with("super::") {
            let mut depth = module.len();
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                depth = depth.saturating_sub(1);
                tail = t;
            }
            if depth == 0 {
                let name: String = tail.chars().take_while(|c| is_ident(*c as u8)).collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
            i += rest.len() - tail.len();
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    ALLOWED
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, deps)| *deps)
}

/// Every `(file:line, from, to)` arrow that the table does not allow.
fn wrong_way_arrows(src_dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    let mut errors = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src_dir).expect("a file under src");
        let module = module_path(rel);
        let Some(top) = module.first().cloned() else {
            continue; // lib.rs declares and re-exports every module
        };
        let Some(deps) = allowed(&top) else {
            errors.push(format!(
                "src/{}: module `{top}` is missing from the ALLOWED table in tests/layering.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (line_no, line) in code_lines(&text) {
            for name in crate_refs(&line, &module) {
                let target = ROOT_ITEMS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(name.as_str(), |(_, m)| m);
                if target == top || deps.contains(&target) {
                    continue;
                }
                errors.push(format!(
                    "src/{}:{line_no}: `{top}` uses `{target}`, which the table does not allow: {}",
                    rel.display(),
                    line.trim()
                ));
            }
        }
    }
    errors
}

#[test]
fn every_crate_path_follows_the_dependency_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let errors = wrong_way_arrows(&src);
    assert!(
        errors.is_empty(),
        "wrong-way dependencies (fix the code, or change the table and README \"Layout\" \
         together):\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_table_names_every_top_level_module_and_only_known_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(&src).expect("src/") {
        let p = entry.expect("an entry").path();
        let name = p
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        if name != "lib" && (p.is_dir() || p.extension().is_some_and(|e| e == "rs")) {
            on_disk.insert(name);
        }
    }
    let in_table: BTreeSet<String> = ALLOWED.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(on_disk, in_table);
    for (m, deps) in ALLOWED {
        for d in *deps {
            assert!(in_table.contains(*d), "`{m}` lists unknown module `{d}`");
            assert!(d != m, "`{m}` lists itself");
        }
    }
}

/// The scanner itself: it sees real arrows and ignores docs, comments and test modules.
#[test]
fn the_scanner_finds_arrows_and_skips_docs_comments_and_tests() {
    let src = "\
//! [`Tensor`](crate::tensor::Tensor) in a doc
use crate::dtype::Float; // crate::optim in a comment
/// crate::train in a doc
use crate::{error::Result, shape::Shape};
#[cfg(test)]
mod tests {
    use crate::train::Trainer;
    fn f() { if true { let _ = crate::data::iris(); } }
}
fn g() -> usize { super::super::backend::x() }
";
    let module = vec!["nn".to_string(), "loss".to_string()];
    let refs: Vec<(usize, Vec<String>)> = code_lines(src)
        .into_iter()
        .map(|(n, l)| (n, crate_refs(&l, &module)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    assert_eq!(
        refs,
        vec![
            (2, vec!["dtype".to_string()]),
            (4, vec!["error".to_string(), "shape".to_string()]),
            (10, vec!["backend".to_string()]),
        ]
    );
    assert_eq!(module_path(Path::new("nn/loss/mod.rs")), ["nn", "loss"]);
    assert_eq!(module_path(Path::new("dtype.rs")), ["dtype"]);
}
