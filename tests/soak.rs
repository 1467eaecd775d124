//! Memory over many frames through `Segmenter::compose`, on each backend: resident memory is
//! sampled as the frames go and must not grow. CI runs a smoke size: one 640x480 photo over and
//! over, blurred with refined edges, as a folder of photos would. The full soak (10,000 frames,
//! SOAK_FRAMES to change; `cargo test --release --test soak -- --ignored --nocapture`) also
//! alternates two photo sizes and cycles through the backgrounds, so buffers are outgrown,
//! reused and rebuilt, and reports the least-squares slope. Linux (reads /proc/self/status).
#![cfg(target_os = "linux")]

mod common;
use common::*;
use silhouette::Background;
use silhouette::Segmenter;

/// Runs `frames` frames, sampling resident KB every `every`; returns the samples. `varied`: the
/// photo's size alternates and the background and refinement change from frame to frame.
fn soak(segmenter: &Segmenter, frames: usize, every: usize, varied: bool) -> Vec<(usize, f64)> {
    let photos = [(640, 480), (300, 200)].map(|(w, h)| {
        image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    });
    let backgrounds = [
        Background::Blur { radius: 4.0 },
        Background::Transparent,
        Background::Color([40, 120, 60]),
        Background::Image(photos[1].clone()),
    ];
    let mut samples = Vec::new();
    for i in 1..=frames {
        let (photo, background, refine) = if varied {
            (
                &photos[i % 2],
                &backgrounds[(i / 2) % backgrounds.len()],
                i % 3 != 0,
            )
        } else {
            (&photos[0], &backgrounds[0], true)
        };
        segmenter.compose(photo, background, refine).unwrap();
        if i % every == 0 {
            samples.push((i, resident_kb()));
        }
    }
    samples
}

/// KB of resident growth per 1000 frames (least squares), past the first sample (warm-up).
fn slope(samples: &[(usize, f64)]) -> f64 {
    let s = &samples[1..];
    let n = s.len() as f64;
    let mx = s.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = s.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = s.iter().map(|p| (p.0 as f64 - mx) * (p.1 - my)).sum();
    let sxx: f64 = s.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    1000.0 * sxy / sxx
}

fn resident_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Builds `backend`'s segmenter and soaks it; `max_growth_kb` is the growth allowed past the
/// first sample. Resident memory is the whole process's, so one soak at a time, from building
/// the segmenter on (a plan built on another thread during a soak counted as its growth).
fn check(
    backend: silhouette::Backend,
    (frames, every, varied): (usize, usize, bool),
    max_growth_kb: f64,
) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(segmenter) = segmenter(backend) else {
        return;
    };
    let name = format!("{backend:?}");
    let samples = soak(&segmenter, frames, every, varied);
    for (frame, kb) in &samples {
        eprintln!("{name} frame {frame:>6}: {kb:>8.0} KB resident");
    }
    let growth = samples.last().unwrap().1 - samples[1].1;
    eprintln!(
        "{name}: slope {:.1} KB per 1000 frames, {growth:.0} KB from frame {} to {frames}",
        slope(&samples),
        samples[1].0
    );
    assert!(growth < max_growth_kb, "{name}: grew {growth} KB");
}

// Smoke: 48 frames. The leak this guards against grew 0.9 MB a frame on lavapipe.
mod smoke {
    use super::*;

    #[test]
    fn cpu() {
        check(silhouette::Backend::Cpu, (48, 8, false), 6000.0);
    }

    #[test]
    fn gpu() {
        check(silhouette::Backend::Gpu, (48, 8, false), 6000.0);
    }
}

fn full(backend: silhouette::Backend) {
    let frames = std::env::var("SOAK_FRAMES").map_or(10_000, |v| v.parse().unwrap());
    // Flat: under 1 KB per 10 frames, whatever the length.
    let every = 500.min(frames / 4);
    check(
        backend,
        (frames, every, true),
        8000.0 + frames as f64 / 10.0,
    );
}

#[test]
#[ignore = "long: the full soak"]
fn full_cpu() {
    full(silhouette::Backend::Cpu);
}

#[test]
#[ignore = "long: the full soak"]
fn full_gpu() {
    full(silhouette::Backend::Gpu);
}
