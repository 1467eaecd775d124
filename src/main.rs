//! `silhouette`: cut people out of photos, on this device.

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::compose::{self, Background};
use silhouette::files;
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Backend, Error, Mask, Options, Precision, Segmenter, Smoothing, Stream, Weights};
use std::collections::HashSet;
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
    /// Output format for folders [default: png] (a single file's comes from its extension).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Photos processed at once in a folder (decoding and encoding overlap with the GPU)
    /// [default: the cores, at most 8; capped at 2 per core].
    #[arg(short, long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Photos in flight at once: each holds a decoded photo and its result (about 14 MB for a
/// 12-megapixel photo, far more for larger ones), and more than two per core gains nothing.
fn jobs(requested: Option<u32>, photos: usize) -> usize {
    let cap = 2 * cores();
    let jobs = requested.map_or(cores().min(8), |n| n as usize);
    if jobs > cap {
        say(&format!("--jobs {jobs} is capped at {cap} (2 per core)"));
    }
    jobs.min(cap).min(photos).max(1)
}

/// One line on stderr, prefixed. Never panics: a closed or full stderr is not worth dying for.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "silhouette: {line}");
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
        let photo = imageio::load_image(input)?.to_rgb8();
        self.process_photo(segmenter, stream, &photo, input, output)
    }

    /// [`process`](Self::process) for a photo already decoded from `input`.
    fn process_photo(
        &self,
        segmenter: &Segmenter,
        stream: Option<&mut Stream>,
        photo: &image::RgbImage,
        input: &Path,
        output: &Path,
    ) -> Result<(), Error> {
        let format = OutputFormat::from_path(output)?;
        let image = match (self.background(photo, format), stream) {
            (Some(background), None) => image::DynamicImage::ImageRgba8(segmenter.compose(
                photo,
                &background,
                self.refine,
            )?),
            (background, Some(stream)) => {
                let probabilities = stream.next(photo)?.to_vec();
                self.render(photo, &probabilities, background.as_ref())?
            }
            (None, None) => self.render(photo, &segmenter.probabilities(photo)?, None)?,
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
        say(notice);
    }
    if io.verbose {
        say(&format!("running on {}", segmenter.device_description()));
    }
    Ok(segmenter)
}

impl Command {
    fn io(&self) -> &Io {
        match self {
            Command::Mask { io, .. }
            | Command::Cut { io, .. }
            | Command::Blur { io, .. }
            | Command::Replace { io, .. } => io,
        }
    }

    /// Every file the command reads besides the photos (none of them may become an output).
    fn reads(&self) -> Vec<PathBuf> {
        let picture = match self {
            Command::Replace { with, .. } => with.image.clone(),
            _ => None,
        };
        self.io().weights.iter().cloned().chain(picture).collect()
    }

    /// What to make of each photo (a background picture is decoded here).
    fn job(&self) -> Result<Job, Error> {
        let (effect, refine, radius) = match self {
            Command::Mask { raw, refine, .. } => (Effect::Mask { raw: *raw }, *refine, None),
            Command::Cut { edges, .. } => (
                Effect::Compose(Background::Transparent),
                !edges.no_refine,
                None,
            ),
            Command::Blur { edges, radius, .. } => (
                Effect::Compose(Background::Blur { radius: 0.0 }),
                !edges.no_refine,
                *radius,
            ),
            Command::Replace { edges, with, .. } => {
                let background = match (with.color, &with.image) {
                    (Some(color), _) => Background::Color(color),
                    (None, Some(path)) => Background::Image(imageio::load_image(path)?.to_rgb8()),
                    (None, None) => unreachable!("clap requires one"),
                };
                (Effect::Compose(background), !edges.no_refine, None)
            }
        };
        Ok(Job {
            effect,
            refine,
            radius,
        })
    }
}

/// Outputs are planned and checked first, then the inputs are read, then the work is done.
fn run(cli: Cli) -> Result<(), Error> {
    let io = cli.command.io();
    let folder = io.input.is_dir();
    let plan = if folder {
        plan_folder(io, &cli.command.reads())?
    } else {
        plan_file(io, &cli.command.reads())?
    };
    let job = cli.command.job()?;
    if folder {
        return run_folder(io, &job, &segmenter(io)?, &plan);
    }
    // A bad photo fails before the segmenter (and its GPU) is set up.
    let (input, output) = &plan[0];
    let photo = imageio::load_image(input)?.to_rgb8();
    job.process_photo(&segmenter(io)?, None, &photo, input, output)
}

/// A single photo: options that only mean something for folders are refused rather than
/// ignored, and the output is checked (name, folder, writable, not a file we read) before any
/// work.
fn plan_file(io: &Io, reads: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    for (given, option) in [
        (io.format.is_some(), "--format"),
        (io.jobs.is_some(), "--jobs"),
        (io.smooth, "--smooth"),
    ] {
        if given {
            return Err(Error::InvalidInput(format!(
                "{option} applies to folders; {} is a single file (its output's format comes \
                 from the extension of -o)",
                io.input.display()
            )));
        }
    }
    OutputFormat::from_path(&io.output)?;
    refuse_overwriting(&io.output, &identities(reads.iter().chain([&io.input])))?;
    files::check_writable(&io.output)?;
    Ok(vec![(io.input.clone(), io.output.clone())])
}

/// A folder: every photo in it, in name order, and its output. Refused before any work when
/// there are no photos, when an output would land on a photo or another file the command reads,
/// or when two photos would write one output (`x.jpg` and `x.png` both make `x.png`).
fn plan_folder(io: &Io, reads: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&io.input)
        .map_err(|e| Error::io(&io.input, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_photo_name(p))
        .collect();
    if photos.is_empty() {
        return Err(Error::NoPhotos {
            path: io.input.clone(),
            formats: imageio::READ_FORMATS,
        });
    }
    photos.sort();
    if io.output.exists() && !io.output.is_dir() {
        return Err(Error::NotAFolder {
            path: io.output.clone(),
        });
    }
    let extension = match io.format.unwrap_or(Format::Png) {
        Format::Png => OutputFormat::Png.extension(),
        Format::Jpeg => OutputFormat::Jpeg.extension(),
    };
    let plan: Vec<(PathBuf, PathBuf)> = photos
        .iter()
        .map(|photo| {
            let name = photo.file_stem().unwrap_or_default();
            let output = io.output.join(name).with_extension(extension);
            (photo.clone(), output)
        })
        .collect();
    let read = identities(reads.iter().chain(&photos));
    let mut written = std::collections::HashMap::new();
    for (photo, output) in &plan {
        if let Some(first) = written.insert(refuse_overwriting(output, &read)?, photo) {
            return Err(Error::OutputClash {
                path: output.clone(),
                first: first.clone(),
                second: photo.clone(),
            });
        }
    }
    std::fs::create_dir_all(&io.output).map_err(|e| Error::io(&io.output, e))?;
    files::check_writable(&plan[0].1)?;
    Ok(plan)
}

/// What the paths name once resolved (see [`files::identity`]).
fn identities<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> HashSet<PathBuf> {
    paths.into_iter().map(|p| files::identity(p)).collect()
}

/// `output`'s identity, unless it is one of the files the command reads.
fn refuse_overwriting(output: &Path, read: &HashSet<PathBuf>) -> Result<PathBuf, Error> {
    let identity = files::identity(output);
    if read.contains(&identity) {
        return Err(Error::WouldOverwriteInput {
            path: output.into(),
        });
    }
    Ok(identity)
}

/// Every photo of the plan; keeps going past bad files and reports them at the end.
fn run_folder(
    io: &Io,
    job: &Job,
    segmenter: &Segmenter,
    plan: &[(PathBuf, PathBuf)],
) -> Result<(), Error> {
    let progress = ProgressBar::new(plan.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {elapsed} {msg}")
            .expect("template"),
    );
    let failures = Mutex::new(Vec::new());
    let fail = |e: Error| failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);

    if io.smooth {
        // A sequence: in order, one at a time, the mask smoothed over time.
        let mut stream = Stream::new(segmenter, Smoothing::default());
        for (input, output) in plan {
            progress.set_message(
                input
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
            if let Err(e) = job.process(segmenter, Some(&mut stream), input, output) {
                fail(e);
            }
            progress.inc(1);
        }
    } else {
        let next = AtomicUsize::new(0);
        let work = || {
            while let Some((input, output)) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                job.process(segmenter, None, input, output)
                    .unwrap_or_else(&fail);
                progress.inc(1);
            }
        };
        let wanted = jobs(io.jobs, plan.len());
        std::thread::scope(|scope| {
            // A thread that cannot start (a process or memory limit) is not an error while one
            // worker runs: this thread works too, so at least one always does.
            let started = (1..wanted)
                .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .count();
            if started + 1 < wanted {
                say(&format!(
                    "{wanted} jobs asked for, {} could start",
                    started + 1
                ));
            }
            work();
        });
    }
    progress.finish_and_clear();
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    for e in &failures {
        say(&e.to_string());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Batch {
            failed: failures.len(),
            total: plan.len(),
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
    let cli = Cli::parse();
    // Headless (no session, no display): Mesa's device-select Vulkan layer looks for a Wayland
    // display and prints "error: XDG_RUNTIME_DIR is invalid" on every run. It only orders GPUs
    // for a display, which a compute tool has none of. Set before any thread starts.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    // Ctrl-C or SIGTERM: remove any named temporary file (on Linux there are none), then stop.
    let _ = ctrlc::set_handler(|| {
        let _held = files::remove_temporary_files_and_hold();
        std::process::exit(130);
    });
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&e.to_string());
            ExitCode::from(2)
        }
    }
}
