//! The work: one photo decoded, segmented, rendered and encoded; a folder of them in parallel
//! (or a video's frames in batches, smoothed in order).

use crate::args::Io;
use crate::console::say;
use crate::shard::Outcome;
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Background, Error, Mask, Response, Segmenter, Smoother, Smoothing, cpu};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

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
            Effect::Compose(Background::Blur { .. }) => Some(Background::Blur {
                radius: self.radius.unwrap_or_else(|| {
                    silhouette::finish::default_blur_radius(photo.width(), photo.height())
                }),
            }),
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
        let alpha = || cpu::finish::alpha(photo, probabilities, self.refine, self.response);
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
                cpu::finish::compose(photo, &alpha(), background),
            ),
            _ => silhouette::image::DynamicImage::ImageLuma8(alpha()),
        })
    }
}

/// Every photo of the plan, `jobs` at a time, keeping going past bad files: what became of each,
/// in plan order (ms: its own work, or in a smoothed sequence the time since its batch began).
pub(crate) fn run_folder(
    io: &Io,
    job: &Job,
    segmenter: &Segmenter,
    plan: &[(PathBuf, PathBuf)],
    jobs: usize,
) -> Vec<Outcome> {
    let progress = ProgressBar::new(plan.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {elapsed} {msg}")
            .expect("template"),
    );
    let outcomes: Vec<OnceLock<Outcome>> = plan.iter().map(|_| OnceLock::new()).collect();
    let record = |k: usize, start: Instant, result: Result<(), Error>| {
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let outcome = match result {
            Ok(()) => Outcome::Done { ms },
            Err(e) => Outcome::Failed {
                ms,
                error: e.to_string(),
            },
        };
        let _ = outcomes[k].set(outcome);
    };

    if io.smooth {
        // A sequence: `jobs` frames at a time decoded together, segmented as one batch,
        // smoothed in order, then finished and encoded together.
        let mut smoother = Smoother::new(Smoothing::default());
        for (c, chunk) in plan.chunks(jobs).enumerate() {
            let (first, start) = (c * jobs, Instant::now());
            let photos: Vec<OnceLock<silhouette::image::RgbImage>> =
                chunk.iter().map(|_| OnceLock::new()).collect();
            in_parallel(chunk.len(), jobs, |k| {
                match imageio::load_image(&chunk[k].0) {
                    Ok(photo) => drop(photos[k].set(photo.to_rgb8())),
                    Err(e) => {
                        record(first + k, start, Err(e));
                        progress.inc(1);
                    }
                }
            });
            let ready: Vec<(usize, &(PathBuf, PathBuf), &silhouette::image::RgbImage)> = chunk
                .iter()
                .zip(&photos)
                .enumerate()
                .filter_map(|(k, (paths, photo))| Some((first + k, paths, photo.get()?)))
                .collect();
            let images: Vec<&silhouette::image::RgbImage> = ready.iter().map(|r| r.2).collect();
            let smoothed: Vec<Result<Vec<f32>, Error>> = segment_in_order(segmenter, &images)
                .into_iter()
                .zip(&images)
                .map(|(raw, photo)| raw.and_then(|raw| Ok(smoother.smooth(photo, &raw)?.to_vec())))
                .collect();
            let mut to_write = Vec::with_capacity(ready.len());
            for ((index, paths, photo), result) in ready.into_iter().zip(smoothed) {
                match result {
                    Ok(probabilities) => to_write.push((index, paths, photo, probabilities)),
                    Err(e) => {
                        record(index, start, Err(e));
                        progress.inc(1);
                    }
                }
            }
            in_parallel(to_write.len(), jobs, |k| {
                let (index, (input, output), photo, probabilities) = &to_write[k];
                record(
                    *index,
                    start,
                    job.write(photo, probabilities, input, output),
                );
                progress.inc(1);
            });
        }
    } else {
        in_parallel(plan.len(), jobs, |k| {
            let (input, output) = &plan[k];
            let start = Instant::now();
            record(k, start, job.process(segmenter, input, output));
            progress.inc(1);
        });
    }
    progress.finish_and_clear();
    outcomes
        .into_iter()
        .map(|o| o.into_inner().expect("every photo has an outcome"))
        .collect()
}

/// Each photo's probabilities, as one batch; if the batch fails, each photo alone, so each gets
/// the error of its own.
fn segment_in_order(
    segmenter: &Segmenter,
    images: &[&silhouette::image::RgbImage],
) -> Vec<Result<Vec<f32>, Error>> {
    match segmenter.probabilities_batch(images) {
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
