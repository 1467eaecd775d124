//! Writes shaders/**/*.wgsl into OUT_DIR without comments, indentation or blank lines: the
//! kernels are compiled into every binary and downloaded by every visitor of a web page, and
//! the comments are a third of their bytes (the files in shaders/ stay the readable source).

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=shaders");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("shaders");
    strip_dir(Path::new("shaders"), &out);
}

fn strip_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("OUT_DIR/shaders");
    for entry in std::fs::read_dir(from).expect("shaders/") {
        let path = entry.expect("shaders/ entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            strip_dir(&path, &target);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            let source = std::fs::read_to_string(&path).expect("a WGSL file");
            std::fs::write(&target, strip(&source)).expect("OUT_DIR write");
        }
    }
}

/// WGSL has no string literals, so `//` always starts a comment.
fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("").trim();
        if !code.is_empty() {
            out.push_str(code);
            out.push('\n');
        }
    }
    out
}
