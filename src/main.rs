//! `silhouette`: cut people out of photos, on this device.

use clap::{Args, Parser, Subcommand};
use silhouette::{Backend, Error, Options, Precision, Segmenter, Weights, imageio};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Person segmentation on this device (MediaPipe Selfie Segmentation)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the person mask as a grayscale PNG at the input's resolution.
    Mask {
        #[command(flatten)]
        common: Common,
        /// Write the network's raw 256x256 output as 16-bit gray (value = round(p * 65535)).
        #[arg(long)]
        raw: bool,
    },
    /// Write an RGBA PNG of the input with the mask as alpha.
    Cut {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args)]
struct Common {
    /// Input image (PNG or JPEG).
    input: PathBuf,
    /// Output PNG (written atomically; never the input).
    #[arg(short, long)]
    output: PathBuf,
    /// Where to run the network.
    #[arg(long, default_value = "auto", value_parser = ["cpu", "gpu", "auto"])]
    backend: String,
    /// Load weights from this safetensors file instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// GPU weight storage: f16 halves the parameter bytes, exactly (MediaPipe ships them as f16).
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
    precision: String,
    /// Say which device runs the network.
    #[arg(short, long)]
    verbose: bool,
}

impl Common {
    fn segmenter(&self) -> Result<Segmenter, Error> {
        let weights = match &self.weights {
            Some(path) => Weights::from_file(path)?,
            None => Weights::embedded()?,
        };
        let precision = if self.precision == "f16" {
            Precision::F16
        } else {
            Precision::F32
        };
        let options = Options {
            backend: self.backend.parse::<Backend>()?,
            precision,
        };
        let segmenter = Segmenter::with_options(&weights, options)?;
        if let Some(notice) = segmenter.notice() {
            eprintln!("silhouette: {notice}");
        }
        if self.verbose {
            eprintln!("silhouette: running on {}", segmenter.device_description());
        }
        Ok(segmenter)
    }

    /// Checks the output before any work, so a bad path fails fast and leaves nothing behind.
    fn check_output(&self) -> Result<(), Error> {
        if !has_png_extension(&self.output) {
            return Err(Error::Encode {
                path: self.output.clone(),
                reason: "output must be a .png file".into(),
            });
        }
        Ok(())
    }

    fn save(&self, image: &image::DynamicImage) -> Result<(), Error> {
        imageio::save_png(image, &self.output, Some(&self.input))
    }
}

fn has_png_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Mask { common, raw } => {
            common.check_output()?;
            let segmenter = common.segmenter()?;
            let photo = imageio::load_image(&common.input)?.to_rgb8();
            let mask = segmenter.segment(&photo)?;
            let out = if raw {
                image::DynamicImage::ImageLuma16(mask.to_raw_luma16())
            } else {
                image::DynamicImage::ImageLuma8(mask.to_luma8())
            };
            common.save(&out)
        }
        Command::Cut { common } => {
            common.check_output()?;
            let segmenter = common.segmenter()?;
            let photo = imageio::load_image(&common.input)?.to_rgb8();
            let mask = segmenter.segment(&photo)?;
            common.save(&image::DynamicImage::ImageRgba8(mask.cut_out(&photo)?))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("silhouette: {e}");
            ExitCode::from(2)
        }
    }
}
