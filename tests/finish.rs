//! The GPU finish (shaders/downsample, separable, guided, compose.wgsl) against its CPU twin
//! (src/compose.rs): every background, refined and bilinear edges, odd sizes and one above the
//! 512-pixel working resolution.

mod common;
use common::*;
use silhouette::compose::{self, Background};
use silhouette::image::{Rgb, RgbImage, imageops};

fn photo(w: u32, h: u32) -> RgbImage {
    let base = silhouette::image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/photos/grace_hopper.jpg"
    ))
    .unwrap()
    .to_rgb8();
    imageops::resize(&base, w, h, imageops::FilterType::Triangle)
}

#[test]
fn gpu_finish_matches_the_cpu_twin() {
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let picture = RgbImage::from_fn(50, 30, |x, y| Rgb([(x * 5) as u8, (y * 8) as u8, 200]));
    let backgrounds = [
        Background::Transparent,
        Background::Color([20, 200, 90]),
        Background::Blur { radius: 7.0 },
        Background::Image(picture),
    ];
    for (w, h) in [(1, 1), (37, 53), (300, 200), (1100, 700)] {
        let photo = photo(w, h);
        let probabilities = segmenter.probabilities(&photo).unwrap();
        for background in &backgrounds {
            for refine in [false, true] {
                let gpu = segmenter.compose(&photo, background, refine).unwrap();
                let cpu = compose::compose(
                    &photo,
                    &compose::alpha(&photo, &probabilities, refine),
                    background,
                );
                let diffs: Vec<u8> = gpu
                    .as_raw()
                    .iter()
                    .zip(cpu.as_raw())
                    .map(|(a, b)| a.abs_diff(*b))
                    .collect();
                let worst = *diffs.iter().max().unwrap();
                let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
                let what = format!(
                    "{w}x{h} {} refine={refine}",
                    match background {
                        Background::Transparent => "cut",
                        Background::Color(_) => "colour",
                        Background::Blur { .. } => "blur",
                        Background::Image(_) => "picture",
                    }
                );
                println!("{what}: worst channel difference {worst}, mean {mean:.4}");
                // Floating-point order differs; an 8-bit value may land one step (two through
                // alpha then blend) on the other side of a rounding boundary.
                assert!(
                    worst <= 2 && mean < 0.05,
                    "{what}: worst {worst}, mean {mean}"
                );
            }
        }
    }
}
