//! `silhouette`: cut people out of photos, on this device.

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::compose::{self, Background};
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Backend, Error, Mask, Options, Precision, Segmenter, Smoothing, Stream, Weights};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Parser)]
#[command(
    version,
    about = "Person segmentation on this device (MediaPipe Selfie Segmentation). \
    Every verb takes a photo or a folder of photos (PNG, JPEG, WebP)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The person mask as grayscale at the input's resolution.
    Mask {
        #[command(flatten)]
        io: Io,
        /// The network's raw 256x256 output as 16-bit gray (value = round(p * 65535)).
        #[arg(long, conflicts_with = "refine")]
        raw: bool,
        /// Refine the mask's edges along the photo's own edges.
        #[arg(long)]
        refine: bool,
    },
    /// The person on a transparent background (PNG; JPEG output is composited over white).
    Cut {
        #[command(flatten)]
        io: Io,
        #[command(flatten)]
        edges: Edges,
    },
    /// The photo with its background blurred.
    Blur {
        #[command(flatten)]
        io: Io,
        #[command(flatten)]
        edges: Edges,
        /// Blur strength: the Gaussian's sigma in pixels [default: 1% of the photo's long side].
        #[arg(long, value_name = "PX", value_parser = parse_radius)]
        radius: Option<f32>,
    },
    /// The person in front of a colour or another picture.
    Replace {
        #[command(flatten)]
        io: Io,
        #[command(flatten)]
        edges: Edges,
        #[command(flatten)]
        with: Replacement,
    },
}

#[derive(Args)]
struct Io {
    /// A photo, or a folder of photos.
    input: PathBuf,
    /// The output file (.png or .jpg), or for a folder input, the output folder.
    #[arg(short, long)]
    output: PathBuf,
    /// Output format for folders.
    #[arg(long, value_enum, default_value = "png")]
    format: Format,
    /// Photos processed at once in a folder (decoding and encoding overlap with the GPU).
    #[arg(short, long, default_value_t = default_jobs())]
    jobs: usize,
    /// Treat the folder as a video's frames, in name order: smooth the mask over time.
    #[arg(long)]
    smooth: bool,
    /// Where to run the network.
    #[arg(long, default_value = "auto", value_parser = ["cpu", "gpu", "auto"])]
    backend: String,
    /// GPU weight storage: f16 halves the parameter bytes, exactly (MediaPipe ships them as f16).
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
    precision: String,
    /// Load weights from this safetensors file instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Say which device runs the network.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
struct Edges {
    /// Upsample the mask bilinearly instead of refining its edges along the photo's.
    #[arg(long)]
    no_refine: bool,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct Replacement {
    /// A colour, '#RRGGBB'.
    #[arg(long, value_parser = parse_color)]
    color: Option<[u8; 3]>,
    /// A picture, scaled to cover the photo.
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Png,
    Jpeg,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(8))
}

fn parse_color(s: &str) -> Result<[u8; 3], String> {
    let hex = s.strip_prefix('#').unwrap_or(s);
    let valid = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(format!("{s:?} is not a colour like '#2e7d32'"));
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
    Ok([byte(0), byte(2), byte(4)])
}

fn parse_radius(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if r > 0.0 && r <= 1000.0 => Ok(r),
        _ => Err(format!(
            "{s:?}: the radius is a number of pixels between 0 and 1000"
        )),
    }
}

/// What to make of each photo.
enum Effect {
    Mask { raw: bool },
    Compose(Background),
}

struct Job {
    effect: Effect,
    refine: bool,
    /// Blur sigma; None = 1% of the long side.
    radius: Option<f32>,
}

impl Job {
    /// What goes behind the person for this photo, or None for the mask verbs.
    fn background(&self, photo: &image::RgbImage, format: OutputFormat) -> Option<Background> {
        match &self.effect {
            Effect::Mask { .. } => None,
            // JPEG has no alpha: a cut-out goes onto white.
            Effect::Compose(Background::Transparent) if format == OutputFormat::Jpeg => {
                Some(Background::Color([255; 3]))
            }
            Effect::Compose(Background::Blur { .. }) => {
                let long = photo.width().max(photo.height()) as f32;
                Some(Background::Blur {
                    radius: self.radius.unwrap_or((long / 100.0).max(1.0)),
                })
            }
            Effect::Compose(background) => Some(background.clone()),
        }
    }

    /// Decode, segment, render, encode: one photo. Composites run network and finish together
    /// (on the GPU in one submit); a smoothed sequence composites its smoothed masks.
    fn process(
        &self,
        segmenter: &Segmenter,
        stream: Option<&mut Stream>,
        input: &Path,
        output: &Path,
    ) -> Result<(), Error> {
        let format = OutputFormat::from_path(output)?;
        let photo = imageio::load_image(input)?.to_rgb8();
        let image = match (self.background(&photo, format), stream) {
            (Some(background), None) => image::DynamicImage::ImageRgba8(segmenter.compose(
                &photo,
                &background,
                self.refine,
            )?),
            (background, Some(stream)) => {
                let probabilities = stream.next(&photo)?.to_vec();
                self.render(&photo, &probabilities, background.as_ref())?
            }
            (None, None) => self.render(&photo, &segmenter.probabilities(&photo)?, None)?,
        };
        imageio::save_image(&image, output, Some(input))
    }

    /// An output from given probabilities, on the CPU.
    fn render(
        &self,
        photo: &image::RgbImage,
        probabilities: &[f32],
        background: Option<&Background>,
    ) -> Result<image::DynamicImage, Error> {
        let alpha = || compose::alpha(photo, probabilities, self.refine);
        Ok(match (&self.effect, background) {
            (Effect::Mask { raw: true }, _) => {
                let mask = Mask::from_probabilities(
                    photo.width(),
                    photo.height(),
                    probabilities.to_vec(),
                )?;
                image::DynamicImage::ImageLuma16(mask.to_raw_luma16())
            }
            (_, Some(background)) => {
                image::DynamicImage::ImageRgba8(compose::compose(photo, &alpha(), background))
            }
            _ => image::DynamicImage::ImageLuma8(alpha()),
        })
    }
}

fn segmenter(io: &Io) -> Result<Segmenter, Error> {
    let weights = match &io.weights {
        Some(path) => Weights::from_file(path)?,
        None => Weights::embedded()?,
    };
    let precision = if io.precision == "f16" {
        Precision::F16
    } else {
        Precision::F32
    };
    let options = Options {
        backend: io.backend.parse::<Backend>()?,
        precision,
    };
    let segmenter = Segmenter::with_options(&weights, options)?;
    if let Some(notice) = segmenter.notice() {
        eprintln!("silhouette: {notice}");
    }
    if io.verbose {
        eprintln!("silhouette: running on {}", segmenter.device_description());
    }
    Ok(segmenter)
}

fn run(cli: Cli) -> Result<(), Error> {
    let (io, job) = match cli.command {
        Command::Mask { io, raw, refine } => (
            io,
            Job {
                effect: Effect::Mask { raw },
                refine,
                radius: None,
            },
        ),
        Command::Cut { io, edges } => (
            io,
            Job {
                effect: Effect::Compose(Background::Transparent),
                refine: !edges.no_refine,
                radius: None,
            },
        ),
        Command::Blur { io, edges, radius } => (
            io,
            Job {
                effect: Effect::Compose(Background::Blur { radius: 0.0 }),
                refine: !edges.no_refine,
                radius,
            },
        ),
        Command::Replace { io, edges, with } => {
            let background = match (with.color, with.image) {
                (Some(color), _) => Background::Color(color),
                (None, Some(path)) => Background::Image(imageio::load_image(&path)?.to_rgb8()),
                (None, None) => unreachable!("clap requires one"),
            };
            (
                io,
                Job {
                    effect: Effect::Compose(background),
                    refine: !edges.no_refine,
                    radius: None,
                },
            )
        }
    };
    if io.input.is_dir() {
        return run_folder(&io, &job);
    }
    OutputFormat::from_path(&io.output)?; // a bad output name fails before any work
    let segmenter = segmenter(&io)?;
    job.process(&segmenter, None, &io.input, &io.output)
}

/// Every photo in the folder, in name order, into `io.output`; keeps going past bad files and
/// reports them at the end.
fn run_folder(io: &Io, job: &Job) -> Result<(), Error> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&io.input)
        .map_err(|e| Error::io(&io.input, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_photo_name(p))
        .collect();
    inputs.sort();
    std::fs::create_dir_all(&io.output).map_err(|e| Error::io(&io.output, e))?;
    let extension = match io.format {
        Format::Png => OutputFormat::Png.extension(),
        Format::Jpeg => OutputFormat::Jpeg.extension(),
    };
    let output_of = |input: &Path| {
        io.output
            .join(input.file_stem().unwrap_or_default())
            .with_extension(extension)
    };
    let segmenter = segmenter(io)?;
    let progress = ProgressBar::new(inputs.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {elapsed} {msg}")
            .expect("template"),
    );
    let failures = Mutex::new(Vec::new());
    let fail = |e: Error| failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    let outputs: Vec<PathBuf> = inputs.iter().map(|p| output_of(p)).collect();
    let clashes = |i: usize| outputs.iter().take(i).any(|o| *o == outputs[i]);

    if io.smooth {
        // A sequence: in order, one at a time, the mask smoothed over time.
        let mut stream = Stream::new(&segmenter, Smoothing::default());
        for (i, input) in inputs.iter().enumerate() {
            progress.set_message(
                input
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
            if let Err(e) = job.process(&segmenter, Some(&mut stream), input, &outputs[i]) {
                fail(e);
            }
            progress.inc(1);
        }
    } else {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..io.jobs.max(1) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        let result = if clashes(i) {
                            Err(Error::Encode {
                                path: outputs[i].clone(),
                                reason: format!(
                                    "{} would overwrite the output of another photo",
                                    input.display()
                                ),
                            })
                        } else {
                            job.process(&segmenter, None, input, &outputs[i])
                        };
                        result.unwrap_or_else(&fail);
                        progress.inc(1);
                    }
                });
            }
        });
    }
    progress.finish_and_clear();
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    for e in &failures {
        eprintln!("silhouette: {e}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Batch {
            failed: failures.len(),
            total: inputs.len(),
        })
    }
}

fn is_photo_name(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg" | "webp"))
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
