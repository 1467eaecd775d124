//! A video-style frame loop: masks smoothed over time, buffers allocated once.
//! Frames here are a folder of images in name order (a camera would hand you the same RgbImage).
//! Run: `cargo run --release --example frame_loop -- FRAMES_DIR`
use silhouette::{Backend, Segmenter, Smoothing, Stream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: frame_loop FRAMES_DIR")?;
    let mut frames: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    frames.sort();

    let segmenter = Segmenter::new(Backend::Auto)?;
    let mut stream = Stream::new(&segmenter, Smoothing::default());
    for path in frames {
        let Ok(frame) = silhouette::imageio::load_image(&path) else {
            continue;
        };
        let start = std::time::Instant::now();
        let mask = stream.next(&frame.to_rgb8())?; // 256x256 probabilities, smoothed
        let person = mask.iter().filter(|p| **p > 0.5).count() as f32 / mask.len() as f32;
        println!(
            "{}: {:.0}% person, {:.1?}",
            path.display(),
            person * 100.0,
            start.elapsed()
        );
    }
    Ok(())
}
