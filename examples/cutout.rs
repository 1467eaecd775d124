//! Cut a person out of a photo: the whole library use in three lines.
//! Run: `cargo run --release --example cutout -- examples/photos/grace_hopper.jpg cutout.png`
use silhouette::{Backend, Segmenter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (input, output) = (
        args.next().ok_or("usage: cutout IN OUT.png")?,
        args.next().ok_or("usage: cutout IN OUT.png")?,
    );

    let photo = silhouette::imageio::load_image(input.as_ref())?.to_rgb8();
    let cut_out = Segmenter::new(Backend::Auto)?.cut_out(&photo)?;
    cut_out.save(&output)?;

    println!("wrote {output} ({}x{})", cut_out.width(), cut_out.height());
    Ok(())
}
