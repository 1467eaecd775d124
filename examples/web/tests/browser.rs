//! The engine in a real browser (headless Chromium through wasm-bindgen-test-runner), against
//! MediaPipe's goldens. WebGPU must be there: a missing adapter FAILS these tests, never skips.
#![cfg(target_arch = "wasm32")]

use silhouette::Pixels;
use silhouette::{Backend, Options, Segmenter, Weights};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! frame {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../tests/data/frames/", $name, ".png")).as_slice(),
            include_bytes!(concat!("../../../tests/data/golden/", $name, ".f32")).as_slice(),
        )
    };
}

const FRAMES: [(&str, &[u8], &[u8]); 4] = [
    frame!("grace_hopper"),
    frame!("astronaut"),
    frame!("coffee"),
    frame!("synthetic"),
];

async fn worst_difference(segmenter: &Segmenter, frames: &[(&str, &[u8], &[u8])]) -> f32 {
    let mut worst = 0.0f32;
    let mut out = vec![0.0; 256 * 256];
    for (name, png, golden) in frames {
        let rgb = silhouette::image::load_from_memory(png).unwrap().to_rgb8();
        segmenter
            .pixels_into_async(Pixels::Rgb(&rgb), &mut out)
            .await
            .unwrap();
        let golden = golden
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let diff = out
            .iter()
            .zip(golden)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        console_log!(
            "{}: {name}: max |ours - MediaPipe| = {diff:.2e}",
            segmenter.device_description()
        );
        assert!(diff <= 5e-4, "{name}: {diff}");
        worst = worst.max(diff);
    }
    worst
}

async fn segmenter(backend: Backend) -> Segmenter {
    let options = Options {
        backend,
        ..Options::default()
    };
    Segmenter::with_options_async(&Weights::embedded().unwrap(), options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{backend:?} in the browser: {e} (is Chromium started with --enable-unsafe-webgpu?)"
            )
        })
}

#[wasm_bindgen_test]
async fn webgpu_matches_mediapipe() {
    let segmenter = segmenter(Backend::Gpu).await;
    assert_eq!(segmenter.backend(), Backend::Gpu);
    let worst = worst_difference(&segmenter, &FRAMES).await;
    console_log!("WebGPU worst: {worst:.2e}");
}

#[wasm_bindgen_test]
async fn webgpu_takes_rgba_image_data_of_any_size() {
    let segmenter = segmenter(Backend::Gpu).await;
    let cpu = segmenter_cpu().await;
    // A 300x200 RGBA frame, as a canvas would hand it over: GPU resampling agrees with the CPU's.
    let rgba: Vec<u8> = (0..300 * 200 * 4)
        .map(|i| {
            if i % 4 == 3 {
                255
            } else {
                ((i * 37) % 251) as u8
            }
        })
        .collect();
    let frame = Pixels::Rgba {
        bytes: &rgba,
        width: 300,
        height: 200,
    };
    let (mut gpu_out, mut cpu_out) = (vec![0.0; 256 * 256], vec![0.0; 256 * 256]);
    segmenter
        .pixels_into_async(frame, &mut gpu_out)
        .await
        .unwrap();
    cpu.pixels_into_async(frame, &mut cpu_out).await.unwrap();
    let diff = gpu_out
        .iter()
        .zip(&cpu_out)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff <= 5e-4, "{diff}");
    // A wrong byte count is an error, not a panic.
    let bad = Pixels::Rgba {
        bytes: &rgba[..10],
        width: 300,
        height: 200,
    };
    assert!(
        segmenter
            .pixels_into_async(bad, &mut gpu_out)
            .await
            .is_err()
    );
}

async fn segmenter_cpu() -> Segmenter {
    segmenter(Backend::Cpu).await
}

#[wasm_bindgen_test]
async fn the_cpu_engine_compiled_to_wasm_matches_mediapipe() {
    let segmenter = segmenter_cpu().await;
    worst_difference(&segmenter, &FRAMES[..2]).await;
}
