//! Milliseconds the CPU finish takes per frame (`cpu::finish`: refined alpha, then `blur` or
//! `replace` over a colour), on a 1280x720 frame of the bundled photo, best of 5 runs of 20.
//! Run: `cargo run --release --example finish_speed`
use silhouette::cpu::finish::{alpha, compose};
use silhouette::{Backend, Background, Response, Segmenter};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let photo = silhouette::imageio::load_image("examples/photos/grace_hopper.jpg".as_ref())?;
    let mut frame = image::RgbImage::from_pixel(1280, 720, image::Rgb([60, 120, 90]));
    image::imageops::overlay(&mut frame, &photo.to_rgb8(), 380, 60);
    let probabilities = Segmenter::new(Backend::Cpu)?.probabilities(&frame)?;
    for (name, background) in [
        ("blur", Background::Blur { radius: 12.8 }),
        ("replace", Background::Color([46, 125, 50])),
    ] {
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..20 {
                    let a = alpha(&frame, &probabilities, true, Response::default());
                    std::hint::black_box(compose(&frame, &a, &background));
                }
                start.elapsed().as_secs_f64() * 1000.0 / 20.0
            })
            .fold(f64::INFINITY, f64::min);
        println!("{name}: {best:.2} ms a 1280x720 frame");
    }
    Ok(())
}
