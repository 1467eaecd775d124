//! The work: one photo decoded, segmented, rendered and encoded; a folder of them in parallel
//! (or in order, smoothed, for a video's frames).

use crate::args::Io;
use crate::error::CliError;
use crate::say;
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Background, Error, Mask, Segmenter, Smoothing, Stream, fast};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// What to make of each photo.
pub(crate) enum Effect {
    Mask { raw: bool },
    Compose(Background),
}

pub(crate) struct Job {
    pub(crate) effect: Effect,
    pub(crate) refine: bool,
    /// Blur sigma; None = 1% of the long side.
    pub(crate) radius: Option<f32>,
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
    pub(crate) fn process(
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
    pub(crate) fn process_photo(
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
        let alpha = || fast::finish::alpha(photo, probabilities, self.refine);
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
                image::DynamicImage::ImageRgba8(fast::finish::compose(photo, &alpha(), background))
            }
            _ => image::DynamicImage::ImageLuma8(alpha()),
        })
    }
}

/// Every photo of the plan; keeps going past bad files and reports them at the end.
pub(crate) fn run_folder(
    io: &Io,
    job: &Job,
    segmenter: &Segmenter,
    plan: &[(PathBuf, PathBuf)],
) -> Result<(), CliError> {
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
        Err(CliError::Batch {
            failed: failures.len(),
            total: plan.len(),
        })
    }
}
