//! Writes what the crate compiles in, made small for the browser build's download:
//! - shaders/**/*.wgsl into OUT_DIR without comments, indentation or blank lines (the comments
//!   are a third of their bytes; the files in shaders/ stay the readable source);
//! - the built-in weights' tensor bytes (no safetensors header) and their index (each tensor's
//!   name, dtype, shape and bytes), so the library reads them without a JSON parser: in the
//!   browser that parser (serde_json, with safetensors) and the header were 71 KB of the wasm.

use std::fmt::Write;
use std::path::Path;

const WEIGHTS: &str = "weights/selfie_segmentation.safetensors";

fn main() {
    println!("cargo::rerun-if-changed=shaders");
    println!("cargo::rerun-if-changed={WEIGHTS}");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    let out = Path::new(&out_dir);
    strip_dir(Path::new("shaders"), &out.join("shaders"));
    let (data, index) = weights();
    std::fs::write(out.join("weights.bin"), data).expect("OUT_DIR write");
    std::fs::write(out.join("weights_index.rs"), index).expect("OUT_DIR write");
}

/// The tensors' bytes one after another (by name), and their index as Rust:
/// `&[(name, dtype, shape, start, end), ...]`. The library checks dtypes and values as it does
/// for any file.
fn weights() -> (Vec<u8>, String) {
    let bytes = std::fs::read(WEIGHTS).expect("the built-in weights");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let mut tensors = file.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut data, mut index) = (Vec::new(), String::from("&[\n"));
    for (name, view) in tensors {
        let start = data.len();
        data.extend_from_slice(view.data());
        let (dtype, shape, end) = (format!("{:?}", view.dtype()), view.shape(), data.len());
        writeln!(index, "({name:?}, {dtype:?}, &{shape:?}, {start}, {end}),").expect("a String");
    }
    index.push(']');
    (data, index)
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

/// Without comments (WGSL has no string literals, so `//` always starts one), indentation, blank
/// lines, or spaces beside separators (`, ; : { } ( ) [ ] =`: no WGSL token contains a space
/// there, and dropping them cannot join two tokens into another).
fn strip(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("").trim();
        if !code.is_empty() {
            squeeze(code, &mut out);
            out.push('\n');
        }
    }
    out
}

fn squeeze(code: &str, out: &mut String) {
    const SEPARATORS: &[char] = &[',', ';', ':', '{', '}', '(', ')', '[', ']', '='];
    // `x: vec4<f32> = v` must not become `vec4<f32>=v` (a `>=` token), nor `a < =`, `< =`...
    const OPERATORS: &[char] = &['<', '>', '!', '=', '+', '-', '*', '/', '%', '&', '|', '^'];
    let chars: Vec<char> = code.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let before_separator = next
            .is_some_and(|n| SEPARATORS.contains(&n) && !(n == '=' && out.ends_with(OPERATORS)));
        if c == ' ' && (before_separator || out.ends_with(SEPARATORS)) {
            continue;
        }
        out.push(c);
    }
}
