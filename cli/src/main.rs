//! `silhouette`: cut people out of photos, on this device.
// Output goes through console.rs, which cannot panic.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod console;
mod error;
mod info;
mod outputs;
mod shard;
mod video;
mod work;

use args::Io;
use args::{Cli, Command, Engine, Verb};
use clap::Parser;
use console::say;
use error::CliError;
use outputs::{plan_file, plan_folder};
use shard::Outcome;
use silhouette::files;
use silhouette::imageio;
use silhouette::{Backend, Options, Precision, Response, Segmenter, Weights};
use std::path::PathBuf;
use std::process::ExitCode;
use work::{Job, run_folder};

/// The segmenter `io` asks for; on a GPU, with room for batches of `max_batch` frames,
/// [`announce`]d.
pub(crate) fn segmenter(
    io: &Engine,
    max_batch: usize,
    response: Response,
) -> Result<Segmenter, silhouette::Error> {
    let segmenter = quiet_segmenter(io, max_batch, response)?;
    announce(io, &segmenter);
    Ok(segmenter)
}

/// Says why `segmenter` fell back to the CPU, if it did, and with `--verbose` where it runs.
pub(crate) fn announce(io: &Engine, segmenter: &Segmenter) {
    if let Some(notice) = segmenter.notice() {
        say(notice);
    }
    if io.verbose {
        say(&format!("running on {}", segmenter.device_description()));
    }
}

/// [`segmenter`] without a word.
pub(crate) fn quiet_segmenter(
    io: &Engine,
    max_batch: usize,
    response: Response,
) -> Result<Segmenter, silhouette::Error> {
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
        max_batch,
        // Each run's photos on one engine (a GPU made meanwhile would end with the process).
        first_frames_on_cpu: false,
        ..Options::default()
    };
    let segmenter = Segmenter::with_options(&weights, options)?;
    segmenter.set_response(response)?;
    Ok(segmenter)
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Info { engine, json } => info::run(&engine, json),
        Command::Photos(verb) => run_photos(&verb),
    }
}

/// Outputs are planned and checked first, then the inputs are read, then the work is done.
fn run_photos(verb: &Verb) -> Result<(), CliError> {
    let io = verb.io();
    let folder = io.input.is_dir();
    if !folder && video::is_video(&io.input) {
        return video::run(verb);
    }
    let plan = if folder {
        plan_folder(io, &verb.reads())?
    } else {
        plan_file(io, &verb.reads())?
    };
    let job = verb.job()?;
    if folder {
        return run_plan(io, &job, plan);
    }
    // A bad photo fails before the segmenter (and its GPU) is set up.
    let (input, output) = &plan[0];
    let photo = imageio::load_image(input)?.to_rgb8();
    let segmenter = segmenter(&io.engine, 1, job.response)?;
    Ok(job.process_photo(&segmenter, &photo, input, output)?)
}

/// A folder's plan: photos whose output exists left alone with `--skip-existing`, the rest run;
/// failures said at the end, and every photo's outcome in the `--report`.
fn run_plan(io: &Io, job: &Job, plan: Vec<(PathBuf, PathBuf)>) -> Result<(), CliError> {
    let (skipped, todo): (Vec<_>, Vec<_>) = plan
        .into_iter()
        .partition(|(_, output)| io.skip_existing && output.exists());
    let outcomes = match todo.is_empty() {
        true => Vec::new(),
        false => {
            let jobs = work::jobs(io.jobs, todo.len());
            let segmenter = segmenter(&io.engine, job.batch(io.smooth, jobs), job.response)?;
            run_folder(io, job, &segmenter, &todo, jobs)
        }
    };
    let failed = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Failed { error, .. } => Some(error),
            _ => None,
        })
        .inspect(|error| say(error))
        .count();
    if let Some(report) = &io.report {
        let lines = todo
            .iter()
            .zip(&outcomes)
            .chain(skipped.iter().zip(std::iter::repeat(&Outcome::Skipped)));
        let text: String = lines
            .map(|((input, output), outcome)| shard::report_line(input, output, outcome) + "\n")
            .collect();
        files::write_atomic(report, text.as_bytes())?;
    }
    match failed {
        0 => Ok(()),
        failed => Err(CliError::Batch {
            failed,
            total: todo.len(),
        }),
    }
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
    // Ctrl-C or SIGTERM: remove the frames of an unfinished PNG-frames run and any named
    // temporary file (on Linux, only where the file system has no unnamed ones), then stop.
    // In this order: a frame is written holding the frames' lock, and takes the temporary
    // files' lock inside it, so taking them the other way round could wait forever.
    let _ = ctrlc::set_handler(|| {
        let _frames = video::remove_unfinished_frames_and_hold();
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
