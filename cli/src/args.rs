//! The command line as clap parses it, and what each verb asks for.

use crate::work::{Effect, Job};
use clap::{Args, Parser, Subcommand, ValueEnum};
use silhouette::imageio;
use silhouette::{Background, Error, Response};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "Person segmentation on this device (MediaPipe Selfie Segmentation). \
    mask, cut, blur and replace take a photo, a folder of photos (PNG, JPEG, WebP) or a video \
    (through FFmpeg); \
    info describes the engine."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    #[command(flatten)]
    Photos(Verb),
    /// The engine this machine would run: device, dispatches, MACs and bytes per frame, timings.
    Info {
        #[command(flatten)]
        engine: Engine,
        /// One JSON object on stdout, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// The verbs that work on photos.
#[derive(Subcommand)]
pub(crate) enum Verb {
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
pub(crate) struct Io {
    /// A photo, or a folder of photos.
    pub(crate) input: PathBuf,
    /// The output file (.png or .jpg), or for a folder input, the output folder.
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    /// Output format for folders [default: png] (a single file's comes from its extension).
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    /// Photos processed at once in a folder (decoding and encoding overlap with the GPU)
    /// [default: the cores, at most 8; capped at 2 per core].
    #[arg(short, long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) jobs: Option<u32>,
    /// Treat the folder as a video's frames, in name order: smooth the mask over time.
    #[arg(long)]
    pub(crate) smooth: bool,
    /// Only this share of the folder: I/N (0 <= I < N), or N with I from JOB_COMPLETION_INDEX
    /// (Kubernetes Indexed Jobs) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch). Each photo falls in
    /// exactly one of the N shards, by a hash of its name.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::parse_shard)]
    pub(crate) shard: Option<crate::shard::ShardArg>,
    /// Leave the photos whose output exists (outputs land whole, so those are done): a re-run
    /// resumes where the last one stopped.
    #[arg(long)]
    pub(crate) skip_existing: bool,
    /// A JSON-lines report of the folder: a line per photo with input, output, status
    /// (done, failed, skipped), ms and error.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) engine: Engine,
}

/// Which engine runs the network, and on which weights.
#[derive(Args)]
pub(crate) struct Engine {
    /// Where to run the network.
    #[arg(long, default_value = "auto", value_parser = ["cpu", "gpu", "auto"])]
    pub(crate) backend: String,
    /// GPU weight storage: f16 halves the parameter bytes, exactly (MediaPipe ships them as f16).
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
    pub(crate) precision: String,
    /// Load weights from this safetensors file instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub(crate) weights: Option<PathBuf>,
    /// Say which device runs the network.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

#[derive(Args)]
pub(crate) struct Edges {
    /// Upsample the mask bilinearly instead of refining its edges along the photo's.
    #[arg(long)]
    no_refine: bool,
    /// The mask's probability that becomes half transparent, 0 to 1 [default: 0.5]. Higher
    /// keeps less of what the network is unsure of.
    #[arg(long, value_name = "P", value_parser = parse_unit)]
    threshold: Option<f32>,
    /// How wide the band of partial transparency is, in probability, 0 (a hard cut) to 1 (the
    /// mask as it is) [default: 0.5].
    #[arg(long, value_name = "S", value_parser = parse_unit)]
    softness: Option<f32>,
}

impl Edges {
    fn response(&self) -> Response {
        let default = Response::default();
        Response {
            threshold: self.threshold.unwrap_or(default.threshold),
            softness: self.softness.unwrap_or(default.softness),
        }
    }
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Replacement {
    /// A colour, '#RRGGBB'.
    #[arg(long, value_parser = parse_color)]
    color: Option<[u8; 3]>,
    /// A picture, scaled to cover the photo.
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Png,
    Jpeg,
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

fn parse_unit(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: a number from 0 to 1")),
    }
}

fn parse_radius(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if r > 0.0 && r <= 1000.0 => Ok(r),
        _ => Err(format!(
            "{s:?}: the radius is a number of pixels between 0 and 1000"
        )),
    }
}

impl Verb {
    pub(crate) fn io(&self) -> &Io {
        match self {
            Verb::Mask { io, .. }
            | Verb::Cut { io, .. }
            | Verb::Blur { io, .. }
            | Verb::Replace { io, .. } => io,
        }
    }

    /// Every file the command reads besides the photos (none of them may become an output).
    pub(crate) fn reads(&self) -> Vec<PathBuf> {
        let picture = match self {
            Verb::Replace { with, .. } => with.image.clone(),
            _ => None,
        };
        self.io()
            .engine
            .weights
            .iter()
            .cloned()
            .chain(picture)
            .collect()
    }

    /// What to make of each photo (a background picture is decoded here).
    pub(crate) fn job(&self) -> Result<Job, Error> {
        let (effect, edges, radius) = match self {
            Verb::Mask { raw, refine, .. } => {
                // The mask is the network's answer: no response curve.
                return Ok(Job {
                    effect: Effect::Mask { raw: *raw },
                    refine: *refine,
                    response: Response::NONE,
                    radius: None,
                });
            }
            Verb::Cut { edges, .. } => (Effect::Compose(Background::Transparent), edges, None),
            Verb::Blur { edges, radius, .. } => (
                Effect::Compose(Background::Blur { radius: 0.0 }),
                edges,
                *radius,
            ),
            Verb::Replace { edges, with, .. } => {
                let background = match (with.color, &with.image) {
                    (Some(color), _) => Background::Color(color),
                    (None, Some(path)) => Background::Image(imageio::load_image(path)?.to_rgb8()),
                    (None, None) => unreachable!("clap requires one"),
                };
                (Effect::Compose(background), edges, None)
            }
        };
        Ok(Job {
            effect,
            refine: !edges.no_refine,
            response: edges.response(),
            radius,
        })
    }
}
