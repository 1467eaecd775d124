//! Before/after of the edge refinement: a zoomed crop of the cut-out over green, bilinear
//! upsampling on the left, the guided filter on the right. Used for the README.
//! Run: `cargo run --release --example refine_compare -- PHOTO X Y SIZE OUT.png`
use image::{Rgba, RgbaImage, imageops};
use silhouette::Background;
use silhouette::{Backend, Segmenter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [photo, x, y, size, out] = &args[..] else {
        return Err("usage: refine_compare PHOTO X Y SIZE OUT.png".into());
    };
    let (x, y, size): (u32, u32, u32) = (x.parse()?, y.parse()?, size.parse()?);
    let photo = silhouette::imageio::load_image(photo.as_ref())?.to_rgb8();
    let segmenter = Segmenter::new(Backend::Auto)?;
    let green = Background::Color([46, 160, 67]);
    let zoom = 3;
    let mut side_by_side =
        RgbaImage::from_pixel(size * zoom * 2 + 8, size * zoom, Rgba([255, 255, 255, 255]));
    for (i, refine) in [false, true].into_iter().enumerate() {
        let composed = segmenter.compose(&photo, &green, refine)?;
        let crop = imageops::crop_imm(&composed, x, y, size, size).to_image();
        let zoomed = imageops::resize(
            &crop,
            size * zoom,
            size * zoom,
            imageops::FilterType::Nearest,
        );
        imageops::overlay(
            &mut side_by_side,
            &zoomed,
            i as i64 * i64::from(size * zoom + 8),
            0,
        );
    }
    side_by_side.save(out)?;
    println!("wrote {out}: bilinear (left) and refined (right) edges");
    Ok(())
}
