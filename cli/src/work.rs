//! The work: one photo decoded, segmented, rendered and encoded; a folder of them in parallel
//! (or a video's frames in batches, smoothed in order).

use crate::args::Io;
use crate::console::say;
use crate::error::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Background, Error, Mask, Response, Segmenter, Smoother, Smoothing, fast};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Photos in flight at once: each holds a decoded photo and its result (about 14 MB for a
/// 12-megapixel photo, far more for larger ones), and more than two per core gains nothing.
pub(crate) fn jobs(requested: Option<u32>, photos: usize) -> usize {
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
    /// How the alpha answers the mask (the segmenter is given it too, for its own finish).
    pub(crate) response: Response,
    /// Blur sigma; None = 1% of the long side.
    pub(crate) radius: Option<f32>,
}

impl Job {
    /// What goes behind the person for this photo, or None for the mask verbs.
    pub(crate) fn background(
        &self,
        photo: &silhouette::image::RgbImage,
        format: OutputFormat,
    ) -> Option<Background> {
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
    /// (on the GPU in one submit).
    pub(crate) fn process(
        &self,
        segmenter: &Segmenter,
        input: &Path,
        output: &Path,
    ) -> Result<(), Error> {
        let photo = imageio::load_image(input)?.to_rgb8();
        self.process_photo(segmenter, &photo, input, output)
    }

    /// [`process`](Self::process) for a photo already decoded from `input`.
    pub(crate) fn process_photo(
        &self,
        segmenter: &Segmenter,
        photo: &silhouette::image::RgbImage,
        input: &Path,
        output: &Path,
    ) -> Result<(), Error> {
        let format = OutputFormat::from_path(output)?;
        let image =
            match self.background(photo, format) {
                Some(background) => silhouette::image::DynamicImage::ImageRgba8(
                    segmenter.compose(photo, &background, self.refine)?,
                ),
                None => self.render(photo, &segmenter.probabilities(photo)?, None)?,
            };
        imageio::save_image(&image, output, Some(input))
    }

    /// The output for `photo` from probabilities already worked out (a smoothed sequence's),
    /// finished on the CPU and encoded.
    fn write(
        &self,
        photo: &silhouette::image::RgbImage,
        probabilities: &[f32],
        input: &Path,
        output: &Path,
    ) -> Result<(), Error> {
        let format = OutputFormat::from_path(output)?;
        let background = self.background(photo, format);
        let image = self.render(photo, probabilities, background.as_ref())?;
        imageio::save_image(&image, output, Some(input))
    }

    /// Frames one GPU batch should hold in a folder of `photos` worked on `jobs` at a time: the
    /// masks' network runs alone (so the photos in flight together run as one batch), a
    /// sequence's frames are segmented `jobs` at a time. A composite keeps 1: its network and
    /// finish run in one submit per photo, and the finish needs the whole photo on the GPU.
    pub(crate) fn batch(&self, smooth: bool, jobs: usize) -> usize {
        match self.effect {
            Effect::Mask { .. } => jobs,
            Effect::Compose(_) if smooth => jobs,
            Effect::Compose(_) => 1,
        }
    }

    /// An output from given probabilities, on the CPU.
    pub(crate) fn render(
        &self,
        photo: &silhouette::image::RgbImage,
        probabilities: &[f32],
        background: Option<&Background>,
    ) -> Result<silhouette::image::DynamicImage, Error> {
        let alpha = || fast::finish::alpha(photo, probabilities, self.refine, self.response);
        Ok(match (&self.effect, background) {
            (Effect::Mask { raw: true }, _) => {
                let mask = Mask::from_probabilities(
                    photo.width(),
                    photo.height(),
                    probabilities.to_vec(),
                )?;
                silhouette::image::DynamicImage::ImageLuma16(mask.to_raw_luma16())
            }
            (_, Some(background)) => silhouette::image::DynamicImage::ImageRgba8(
                fast::finish::compose(photo, &alpha(), background),
            ),
            _ => silhouette::image::DynamicImage::ImageLuma8(alpha()),
        })
    }
}

/// Every photo of the plan, `jobs` at a time; keeps going past bad files and reports them at the
/// end.
pub(crate) fn run_folder(
    io: &Io,
    job: &Job,
    segmenter: &Segmenter,
    plan: &[(PathBuf, PathBuf)],
    jobs: usize,
) -> Result<(), CliError> {
    let progress = ProgressBar::new(plan.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {elapsed} {msg}")
            .expect("template"),
    );
    let failures = Mutex::new(Vec::new());
    let fail = |e: Error| failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);

    if io.smooth {
        // A sequence: `jobs` frames at a time decoded together, segmented as one batch,
        // smoothed in order, then finished and encoded together.
        let mut smoother = Smoother::new(Smoothing::default());
        for chunk in plan.chunks(jobs) {
            let photos: Vec<OnceLock<silhouette::image::RgbImage>> =
                chunk.iter().map(|_| OnceLock::new()).collect();
            in_parallel(chunk.len(), jobs, |k| {
                match imageio::load_image(&chunk[k].0) {
                    Ok(photo) => drop(photos[k].set(photo.to_rgb8())),
                    Err(e) => {
                        fail(e);
                        progress.inc(1);
                    }
                }
            });
            let ready: Vec<(&(PathBuf, PathBuf), &silhouette::image::RgbImage)> = chunk
                .iter()
                .zip(&photos)
                .filter_map(|(paths, photo)| Some((paths, photo.get()?)))
                .collect();
            let smoothed: Vec<Option<Vec<f32>>> = segment_in_order(segmenter, &ready)
                .into_iter()
                .zip(&ready)
                .map(|(raw, (_, photo))| {
                    let smoothed = raw.and_then(|raw| Ok(smoother.smooth(photo, &raw)?.to_vec()));
                    smoothed.map_err(&fail).ok()
                })
                .collect();
            in_parallel(ready.len(), jobs, |k| {
                let ((input, output), photo) = ready[k];
                if let Some(probabilities) = &smoothed[k] {
                    job.write(photo, probabilities, input, output)
                        .unwrap_or_else(&fail);
                }
                progress.inc(1);
            });
        }
    } else {
        in_parallel(plan.len(), jobs, |k| {
            let (input, output) = &plan[k];
            job.process(segmenter, input, output).unwrap_or_else(&fail);
            progress.inc(1);
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

/// Each photo's probabilities, as one batch; if the batch fails, each photo alone, so each gets
/// the error of its own.
fn segment_in_order(
    segmenter: &Segmenter,
    photos: &[(&(PathBuf, PathBuf), &silhouette::image::RgbImage)],
) -> Vec<Result<Vec<f32>, Error>> {
    let images: Vec<&silhouette::image::RgbImage> =
        photos.iter().map(|(_, photo)| *photo).collect();
    match segmenter.probabilities_batch(&images) {
        Ok(all) => all.into_iter().map(Ok).collect(),
        Err(_) => images.iter().map(|p| segmenter.probabilities(p)).collect(),
    }
}

/// `work(k)` for every k below `count`, on up to `jobs` threads, this one among them.
pub(crate) fn in_parallel(count: usize, jobs: usize, work: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    let worker = || {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= count {
                break;
            }
            work(k);
        }
    };
    let wanted = jobs.min(count);
    std::thread::scope(|scope| {
        // A thread that cannot start (a process or memory limit) is not an error while one
        // worker runs: this thread works too, so at least one always does.
        let started = (1..wanted)
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, worker).ok())
            .count();
        if started + 1 < wanted {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                say(&format!(
                    "{wanted} jobs asked for, {} could start",
                    started + 1
                ))
            });
        }
        worker();
    });
}
