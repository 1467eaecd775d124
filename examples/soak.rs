//! Soak: many frames through `Segmenter::compose` on one segmenter, resident memory sampled as it
//! goes; prints the samples and the least-squares slope. Flat means the slope is about zero.
//!
//! `cargo run --release --example soak -- [gpu|cpu] [FRAMES] [EVERY] [WxH] [transparent|blur|colour|picture]`
//! (defaults: gpu 10000 500 640x480 blur). Linux only (reads /proc/self/status).

use silhouette::compose::Background;
use silhouette::{Backend, Segmenter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.into());
    let backend: Backend = arg(0, "gpu").parse()?;
    let frames: usize = arg(1, "10000").parse()?;
    let every: usize = arg(2, "500").parse()?;
    let (w, h) = arg(3, "640x480")
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or("size is WxH")?;
    let background = match arg(4, "blur").as_str() {
        "transparent" => Background::Transparent,
        "blur" => Background::Blur { radius: 6.0 },
        "colour" => Background::Color([40, 120, 60]),
        "picture" => Background::Image(image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([x as u8, y as u8, 90])
        })),
        other => return Err(format!("unknown background {other}").into()),
    };
    let segmenter = Segmenter::new(backend)?;
    eprintln!("soak on {}", segmenter.device_description());
    let photo = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let samples = soak(frames, every, |_| {
        segmenter.compose(&photo, &background, true).map(drop)
    })?;
    println!("{}", report(&samples));
    Ok(())
}

/// Runs `frame` `frames` times, sampling resident memory (KB) after every `every` frames.
fn soak<E>(
    frames: usize,
    every: usize,
    mut frame: impl FnMut(usize) -> Result<(), E>,
) -> Result<Vec<(usize, f64)>, E> {
    let mut samples = Vec::new();
    for i in 1..=frames {
        frame(i)?;
        if i % every.max(1) == 0 {
            let kb = resident_kb();
            println!("frame {i:>6}: {kb:>8.0} KB resident");
            samples.push((i, kb));
        }
    }
    Ok(samples)
}

/// The samples' least-squares slope in KB per 1000 frames, leaving out the first (warm-up).
fn report(samples: &[(usize, f64)]) -> String {
    let s = &samples[1.min(samples.len())..];
    if s.len() < 2 {
        return "too few samples for a slope".into();
    }
    let n = s.len() as f64;
    let mx = s.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = s.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = s.iter().map(|p| (p.0 as f64 - mx) * (p.1 - my)).sum();
    let sxx: f64 = s.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    format!(
        "slope {:.1} KB per 1000 frames over frames {}..{} (resident {:.0} -> {:.0} KB)",
        1000.0 * sxy / sxx,
        s[0].0,
        s[s.len() - 1].0,
        s[0].1,
        s[s.len() - 1].1
    )
}

fn resident_kb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(f64::NAN)
}
