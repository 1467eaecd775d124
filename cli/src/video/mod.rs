//! The verbs on a video file: its frames decoded by FFmpeg, segmented in batches, smoothed over
//! time in order, finished like photos, and encoded by FFmpeg with the input's audio, into a
//! video file that appears only once complete (or a folder of PNG frames).

mod container;
mod ffmpeg;
mod frames;

use crate::args::{Io, Verb};
use crate::error::CliError;
use crate::outputs::{identities, refuse_overwriting};
use crate::work::{Effect, Job, in_parallel, jobs};
use container::{Container, Frames};
use ffmpeg::{Decoder, Encoder, Probe};
pub(crate) use frames::remove_unfinished_frames_and_hold;
use frames::{FramesOut, is_frame_name};
use indicatif::{ProgressBar, ProgressStyle};
use silhouette::image::{DynamicImage, RgbImage};
use silhouette::imageio::{self, OutputFormat};
use silhouette::{Segmenter, Smoother, Smoothing, files};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::sync_channel;

/// Whether `path` holds a video, by its first bytes (as photos are recognised).
pub(crate) fn is_video(path: &Path) -> bool {
    // Only a regular file is opened: a named pipe without a writer would block the open.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = [0u8; 192];
    let read = std::fs::File::open(path).and_then(|mut f| {
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    });
    read.is_ok_and(|n| sniff(&head[..n]))
}

fn sniff(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    // ISO media (MP4, MOV, 3GP) but not its still-image brands (HEIF, AVIF).
    let iso_video = at(4, b"ftyp")
        && !["heic", "heix", "mif1", "msf1", "avif"]
            .iter()
            .any(|brand| at(8, brand.as_bytes()));
    let quicktime = [b"moov", b"mdat", b"wide", b"free"]
        .iter()
        .any(|atom| at(4, *atom));
    iso_video
        || quicktime
        || at(0, &[0x1A, 0x45, 0xDF, 0xA3]) // Matroska, WebM
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || at(0, b"FLV")
        || at(0, b"YUV4MPEG2")
        || at(0, &[0, 0, 1, 0xBA]) // MPEG program stream
        || (at(0, &[0x47]) && at(188, &[0x47])) // MPEG transport stream
}

/// Where the frames go.
enum Target {
    File(Container),
    /// A folder of PNG frames (`000001.png`, ...): the alpha kept, no audio.
    Frames,
}

/// Every check that needs no decoding, before any work: options that mean nothing for a video,
/// an output that would be an input, an output format that cannot hold the result.
fn plan(verb: &Verb, job: &Job) -> Result<Target, CliError> {
    let io = verb.io();
    let refuse = |option: &'static str, why: &'static str| {
        Err(CliError::NotForVideo {
            option,
            path: io.input.clone(),
            why,
        })
    };
    if io.format.is_some() {
        return refuse(
            "--format",
            " (the output's extension chooses: a video, or a folder for PNG frames)",
        );
    }
    for (given, option) in [
        (io.shard.is_some(), "--shard"),
        (io.skip_existing, "--skip-existing"),
        (io.report.is_some(), "--report"),
    ] {
        if given {
            return refuse(option, " (it splits and reports folders of photos)");
        }
    }
    if matches!(job.effect, Effect::Mask { raw: true }) {
        return refuse(
            "--raw",
            " (it is the network's 256x256 output of one photo)",
        );
    }
    let reads = identities(verb.reads().iter().chain([&io.input]));
    let output = refuse_overwriting(&io.output, &reads)?;
    let frames_folder = io.output.is_dir() || io.output.extension().is_none();
    if frames_folder {
        // A file the run reads, inside the folder under a frame's name, would be overwritten.
        if let Some(clash) = reads.iter().find(|read| {
            read.parent() == Some(&output) && read.file_name().is_some_and(is_frame_name)
        }) {
            return Err(silhouette::Error::WouldOverwriteInput {
                path: clash.clone(),
            }
            .into());
        }
        // Made once the video is checked: a refused run leaves no folder behind.
        match io.output.is_dir() {
            true => files::check_writable(&io.output.join("000001.png"))?,
            false => files::check_writable(&io.output)?,
        }
        return Ok(Target::Frames);
    }
    let Some(container) = Container::from_path(&io.output) else {
        return Err(CliError::VideoOutput {
            path: io.output.clone(),
            why: format!(
                "name a video ({}) or a folder for PNG frames",
                container::EXTENSIONS
            ),
        });
    };
    let cut = matches!(
        job.effect,
        Effect::Compose(silhouette::Background::Transparent)
    );
    if cut && !container.keeps_alpha() {
        return Err(CliError::VideoOutput {
            path: io.output.clone(),
            why: "H.264 in MP4 has no transparency; for a cut-out write .mov (ProRes 4444), \
                  .webm (VP9), .mkv (FFV1) or a folder of PNG frames"
                .into(),
        });
    }
    files::check_writable(&io.output)?;
    files::remove_stale_temporaries_beside(&io.output);
    Ok(Target::File(container))
}

/// Checks the video (FFmpeg present, a readable stream of a size we take) before any work.
fn check(path: &Path) -> Result<Probe, CliError> {
    let probe = ffmpeg::probe(path)?;
    if probe.width < 2 || probe.height < 2 {
        return Err(CliError::Video {
            path: path.into(),
            why: format!(
                "frames of {}x{} pixels are too small to segment and encode",
                probe.width, probe.height
            ),
        });
    }
    imageio::check_size(path, probe.width.into(), probe.height.into())?;
    Ok(probe)
}

pub(crate) fn run(verb: &Verb) -> Result<(), CliError> {
    let io = verb.io();
    let job = verb.job()?;
    let target = plan(verb, &job)?;
    let probe = check(&io.input)?;
    let batch = jobs(io.jobs, usize::MAX);
    let segmenter = crate::segmenter(&io.engine, batch, job.response)?;
    let first = RgbImage::new(probe.width, probe.height);
    let background = job.background(&first, OutputFormat::Png);
    let frames = match (&job.effect, &background) {
        (Effect::Mask { .. }, _) => Frames::Gray,
        (_, Some(silhouette::Background::Transparent)) => Frames::Rgba { alpha: true },
        _ => Frames::Rgba { alpha: false },
    };
    let sink = match target {
        Target::File(container) => {
            let pending = files::PendingOutput::beside(&io.output)?;
            let size = (probe.width, probe.height);
            let input = Container::input(frames, size, &probe.rate, &io.input);
            let output = container.output(frames, probe.audio.as_deref(), &pending.writer_path());
            Sink::Video(Encoder::start(&input, &output)?, pending)
        }
        Target::Frames => Sink::Frames(FramesOut::create(&io.output)?),
    };
    let decoder = Decoder::start(&io.input, &probe)?;
    let progress = ProgressBar::new(probe.frames.unwrap_or(0)).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} frames, {per_sec}, {eta} left")
            .expect("template"),
    );
    let mut smoother = Smoother::new(Smoothing::default());
    let ends = Ends {
        decoder,
        sink,
        input: &io.input,
        expected: probe.frames,
        progress: &progress,
    };
    let (sink, count) = ends.pipeline(batch, |chunk| {
        let smoothed = segment(&segmenter, &mut smoother, chunk)?;
        finish(io, &job, chunk, &smoothed, background.as_ref())
    })?;
    progress.finish_and_clear();
    if count == 0 {
        return Err(CliError::Video {
            path: io.input.clone(),
            why: "no frame could be decoded".into(),
        });
    }
    sink.finish()
}

/// The two ends of a run: FFmpeg's decoder and where the finished frames go.
struct Ends<'a> {
    decoder: Decoder,
    sink: Sink,
    input: &'a Path,
    expected: Option<u64>,
    progress: &'a ProgressBar,
}

impl Ends<'_> {
    /// Decoding, `work` (on this thread, `batch` frames at a time) and writing overlap: the
    /// decoder and the sink run on threads of their own, a batch ahead and behind (FFmpeg's
    /// pipes hold a fraction of a frame, so without them each would wait for the others). The
    /// sink and the frames decoded; the first error of the writer, the work, or the decoder (in
    /// that order: a stopped writer or work also stops the decoder).
    fn pipeline(
        self,
        batch: usize,
        mut work: impl FnMut(&[RgbImage]) -> Result<Vec<DynamicImage>, CliError>,
    ) -> Result<(Sink, u64), CliError> {
        let Ends {
            mut decoder,
            mut sink,
            input,
            expected,
            progress,
        } = self;
        std::thread::scope(|scope| {
            let (to_work, frames) = sync_channel::<RgbImage>(batch);
            let reader = scope.spawn(move || {
                let mut decoded = 0;
                while let Some(frame) = decoder.next()? {
                    decoded += 1;
                    if to_work.send(frame).is_err() {
                        break;
                    }
                }
                decoder.finish(decoded, expected).map(|()| decoded)
            });
            let (to_write, finished) = sync_channel::<DynamicImage>(batch);
            let writer = scope.spawn(move || {
                for image in finished {
                    sink.write(&image, input)?;
                    progress.inc(1);
                }
                Ok::<Sink, CliError>(sink)
            });
            let worked = (|| -> Result<(), CliError> {
                while let Ok(first) = frames.recv() {
                    let mut chunk = vec![first];
                    chunk.extend(frames.iter().take(batch - 1));
                    for image in work(&chunk)? {
                        if to_write.send(image).is_err() {
                            return Ok(());
                        }
                    }
                }
                Ok(())
            })();
            drop((to_write, frames));
            let written = writer.join().expect("the writer does not panic");
            let read = reader.join().expect("the reader does not panic");
            let sink = written?;
            worked?;
            Ok((sink, read?))
        })
    }
}

/// The frames' masks, as one batch, smoothed in order.
fn segment(
    segmenter: &Segmenter,
    smoother: &mut Smoother,
    frames: &[RgbImage],
) -> Result<Vec<Vec<f32>>, CliError> {
    let refs: Vec<&RgbImage> = frames.iter().collect();
    let raw = segmenter.probabilities_batch(&refs)?;
    let smoothed = frames
        .iter()
        .zip(&raw)
        .map(|(frame, raw)| Ok(smoother.smooth(frame, raw)?.to_vec()));
    smoothed
        .collect::<Result<_, silhouette::Error>>()
        .map_err(Into::into)
}

/// Each frame finished on the CPU (the photos' finish), frames in parallel.
fn finish(
    io: &Io,
    job: &Job,
    frames: &[RgbImage],
    smoothed: &[Vec<f32>],
    background: Option<&silhouette::Background>,
) -> Result<Vec<DynamicImage>, CliError> {
    let done: Vec<std::sync::OnceLock<Result<DynamicImage, silhouette::Error>>> =
        frames.iter().map(|_| Default::default()).collect();
    in_parallel(frames.len(), jobs(io.jobs, frames.len()), |k| {
        let _ = done[k].set(job.render(&frames[k], &smoothed[k], background));
    });
    done.into_iter()
        .map(|d| d.into_inner().expect("every frame ran").map_err(Into::into))
        .collect()
}

enum Sink {
    Video(Encoder, files::PendingOutput),
    Frames(FramesOut),
}

impl Sink {
    fn write(&mut self, image: &DynamicImage, input: &Path) -> Result<(), CliError> {
        match self {
            Sink::Video(encoder, _) => encoder.write(image.as_bytes()),
            Sink::Frames(frames) => frames.write(image, input),
        }
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Sink::Video(encoder, pending) => {
                encoder.finish()?;
                Ok(pending.finish()?)
            }
            Sink::Frames(mut frames) => frames.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn videos_are_told_from_photos_by_their_bytes() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert!(sniff(mp4));
        assert!(!sniff(heic));
        assert!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1, 0, 0, 0]));
        assert!(sniff(b"RIFF\0\0\0\0AVI LIST"));
        assert!(!sniff(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!sniff(b"\x89PNG\r\n\x1a\n"));
        assert!(!sniff(&[0xFF, 0xD8, 0xFF, 0xE0]));
    }
}
