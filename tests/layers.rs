//! The layering of docs/ARCHITECTURE.md, checked: every module of the library imports only the
//! modules its layer may (code, not tests: a test may reach further down to its reference), and
//! no two files import each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may import from the crate (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &["tensor"]),
    ("files", &["error"]),
    ("pixels", &["error"]),
    ("tensor", &[]),
    ("imageio", &["error", "files"]),
    ("weights", &["error", "files"]),
    ("network", &["error", "tensor", "weights"]),
    ("finish", &[]),
    ("passes", &["network", "tensor"]),
    (
        "reference",
        &["error", "finish", "network", "pixels", "tensor"],
    ),
    ("gpu", &["error", "files"]),
    (
        "cpu",
        &[
            "error",
            "finish",
            "network",
            "passes",
            "pixels",
            "reference",
            "tensor",
        ],
    ),
    (
        "ops",
        &["error", "finish", "gpu", "network", "pixels", "tensor"],
    ),
    (
        "plan",
        &[
            "error",
            "finish",
            "gpu",
            "network",
            "ops",
            "passes",
            "pixels",
            "reference",
            "tensor",
        ],
    ),
    (
        "segmenter",
        &[
            "cpu",
            "error",
            "finish",
            "gpu",
            "network",
            "ops",
            "passes",
            "pixels",
            "plan",
            "reference",
            "tensor",
            "weights",
        ],
    ),
    (
        "stream",
        &[
            "cpu",
            "error",
            "finish",
            "network",
            "reference",
            "segmenter",
        ],
    ),
];

/// Every library source file.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// The file's code lines before its test module; test-only files have none.
fn code_lines(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "tests.rs" || name == "testing.rs" {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = Vec::new();
    let mut previous = "";
    for line in text.lines() {
        let trimmed = line.trim_start();
        let declares_module = trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod ");
        if previous == "#[cfg(test)]" && declares_module {
            break;
        }
        previous = trimmed;
        if !trimmed.starts_with("//") {
            lines.push(line.to_string());
        }
    }
    lines
}

/// The module path of a file under src/: `ops/conv2d.rs` -> ["ops", "conv2d"].
fn module_of(path: &Path) -> Vec<String> {
    let rel = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// `crate::a::b` paths named in `line`, as their first two segments.
fn crate_paths(line: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let segment = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let first = segment(rest);
        let after = &rest[first.len()..];
        let second = after
            .strip_prefix("::")
            .map(segment)
            .filter(|s| !s.is_empty());
        out.push((first, second));
    }
    out
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for path in sources() {
        let module = module_of(&path);
        let Some(top) = module.first() else { continue };
        if top == "lib" {
            continue;
        }
        let may = allowed
            .get(top.as_str())
            .unwrap_or_else(|| panic!("{top} is not in the layer table: add it"));
        for line in code_lines(&path) {
            for (first, _) in crate_paths(&line) {
                if first != *top && !may.contains(&first.as_str()) {
                    wrong.push(format!(
                        "{}: imports {first}: {}",
                        path.display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    // File-level edges: a file imports `crate::top::file` or, inside its folder, `super::file`.
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for path in sources() {
        let module = module_of(&path).join("::");
        for line in code_lines(&path) {
            for (first, second) in crate_paths(&line) {
                let target = match second {
                    Some(s) if s.chars().next().is_some_and(|c| c.is_lowercase()) => {
                        format!("{first}::{s}")
                    }
                    _ => first,
                };
                edges.insert((module.clone(), target));
            }
            if let Some(rest) = line.trim_start().strip_prefix("use super::") {
                let sibling: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some((parent, _)) = module.rsplit_once("::") {
                    // `super::{A, b}` or `super::Type` names the parent module itself.
                    let target = if sibling.chars().next().is_some_and(|c| c.is_lowercase()) {
                        format!("{parent}::{sibling}")
                    } else {
                        parent.to_string()
                    };
                    edges.insert((module.clone(), target));
                }
            }
        }
    }
    let cycles: Vec<String> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    assert!(
        cycles.is_empty(),
        "files that import each other:\n{}",
        cycles.join("\n")
    );
}
