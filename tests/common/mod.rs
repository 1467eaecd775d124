//! Shared test fixtures: the golden frames made by MediaPipe's own runtime (tests/data/PROVENANCE.md).
#![allow(dead_code)]

use std::path::PathBuf;

pub const FRAMES: [&str; 4] = ["grace_hopper", "astronaut", "coffee", "synthetic"];

/// tests/data of the repository (these fixtures serve the library's tests and the CLI's,
/// whose crate is a folder below).
pub fn data(rel: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = match manifest.join("tests/data").is_dir() {
        true => manifest,
        false => manifest
            .parent()
            .expect("the CLI's crate is in the repository")
            .into(),
    };
    root.join("tests/data").join(rel)
}

pub fn frame(name: &str) -> image::RgbImage {
    image::open(data(&format!("frames/{name}.png")))
        .expect("frame")
        .to_rgb8()
}

/// MediaPipe's 256x256 mask for `name`.
pub fn golden(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(data(&format!("golden/{name}.f32"))).expect("golden");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A segmenter on `backend`. A missing GPU fails the test when SILHOUETTE_REQUIRE_GPU=1 (CI);
/// otherwise the test reports that it skipped.
pub fn segmenter(backend: silhouette::Backend) -> Option<silhouette::Segmenter> {
    match silhouette::Segmenter::new(backend) {
        Ok(s) => {
            eprintln!("{backend:?} tests run on: {}", s.device_description());
            Some(s)
        }
        Err(e)
            if backend == silhouette::Backend::Gpu
                && std::env::var("SILHOUETTE_REQUIRE_GPU").as_deref() != Ok("1") =>
        {
            eprintln!("SKIPPED: {e} (set SILHOUETTE_REQUIRE_GPU=1 to make this a failure)");
            None
        }
        Err(e) => panic!("{backend:?} segmenter: {e}"),
    }
}

/// One test body, run once per backend (after candle's `test_device!`).
#[macro_export]
macro_rules! backend_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn cpu() {
                if let Some(s) = segmenter(silhouette::Backend::Cpu) {
                    ($body)(s, "cpu")
                }
            }
            #[test]
            fn gpu() {
                if let Some(s) = segmenter(silhouette::Backend::Gpu) {
                    ($body)(s, "gpu")
                }
            }
        }
    };
}
