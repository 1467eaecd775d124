//! FFmpeg as subprocesses over raw pipes: `ffprobe` for what a video holds, one `ffmpeg` that
//! decodes its frames to RGB on stdout, one that encodes ours from stdin (with the input's audio
//! copied across). Their stderr is collected on threads of its own, so that neither blocks.

use crate::error::CliError;
use silhouette::image::RgbImage;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

/// What the video's first video stream is, as the decoder will give it.
#[derive(Debug)]
pub(crate) struct Probe {
    /// Frame size after the stream's rotation is applied (the decoder applies it).
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Frames per second as FFmpeg writes it ("30000/1001"): the average rate, to which a
    /// variable-rate stream is decoded at a constant rate.
    pub(crate) rate: String,
    /// Frames to expect (from the header, else duration times rate), for the progress bar.
    pub(crate) frames: Option<u64>,
    /// The first audio stream's codec, if there is one.
    pub(crate) audio: Option<String>,
}

/// `why` about the video at `path`, without the path FFmpeg may have put in front of it.
fn video_error(path: &Path, why: impl Into<String>) -> CliError {
    let why = why.into();
    let prefix = format!("{}: ", path.display());
    CliError::Video {
        path: path.into(),
        why: why.strip_prefix(&prefix).unwrap_or(&why).to_string(),
    }
}

/// How FFmpeg is given a file: through its `file:` protocol and absolute, so that a name with a
/// colon (`10:30.mp4`) is not taken for a protocol, nor one starting with `-` for an option.
pub(crate) fn file_argument(path: &Path) -> OsString {
    let mut argument = OsString::from("file:");
    argument.push(std::path::absolute(path).unwrap_or_else(|_| path.into()));
    argument
}

/// `tool` with `args`, or the error that says how to get it.
fn command(tool: &'static str) -> Command {
    let mut command = Command::new(tool);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn spawn(mut command: Command, tool: &'static str) -> Result<Child, CliError> {
    command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CliError::NoFfmpeg { tool },
        _ => CliError::Ffmpeg {
            tool,
            why: e.to_string(),
        },
    })
}

/// The last line FFmpeg wrote on stderr: with `-v error` that is the cause.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    line.unwrap_or("no message").trim().to_string()
}

pub(crate) fn probe(path: &Path) -> Result<Probe, CliError> {
    let entries = "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames:\
                   stream_side_data=rotation:stream_tags=rotate:format=duration";
    let video = run_probe(path, &["-select_streams", "v:0", "-show_entries", entries])?;
    let audio = run_probe(
        path,
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name",
        ],
    )?;
    let field = |text: &str, key: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
            .filter(|v| v != "N/A" && !v.is_empty())
    };
    let number = |key: &str| field(&video, key).and_then(|v| v.parse::<f64>().ok());
    let (Some(width), Some(height)) = (number("width"), number("height")) else {
        return Err(video_error(path, "holds no video stream FFmpeg can read"));
    };
    let (width, height) = (width as u32, height as u32);
    let per_second = |rate: &str| {
        let (n, d) = rate.split_once('/').unwrap_or((rate, "1"));
        let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
        (n > 0.0 && d > 0.0 && (n / d).is_finite()).then_some(n / d)
    };
    let rate = ["avg_frame_rate", "r_frame_rate"]
        .iter()
        .filter_map(|key| field(&video, key))
        .find(|rate| per_second(rate).is_some())
        .ok_or_else(|| video_error(path, "its video stream has no frame rate"))?;
    let rotation = number("rotation")
        .or_else(|| number("TAG:rotate"))
        .unwrap_or(0.0);
    let quarter_turns = (rotation / 90.0).round() as i64;
    let (width, height) = match quarter_turns.rem_euclid(2) {
        1 => (height, width),
        _ => (width, height),
    };
    let duration = number("duration");
    let frames = number("nb_frames")
        .or_else(|| Some((duration? * per_second(&rate)?).round()))
        .map(|n| n as u64);
    if frames == Some(0) || duration.is_some_and(|d| d <= 0.0) {
        return Err(video_error(path, "its video stream has no frames"));
    }
    Ok(Probe {
        width,
        height,
        rate,
        frames,
        audio: field(&audio, "codec_name"),
    })
}

fn run_probe(path: &Path, args: &[&str]) -> Result<String, CliError> {
    let mut command = command("ffprobe");
    command
        .args(["-v", "error"])
        .args(args)
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(file_argument(path));
    let out = spawn(command, "ffprobe")?
        .wait_with_output()
        .map_err(|e| CliError::Ffmpeg {
            tool: "ffprobe",
            why: e.to_string(),
        })?;
    if !out.status.success() {
        let why = format!("FFmpeg cannot read it ({})", last_line(&out.stderr));
        return Err(video_error(path, why));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A child's stderr, read to the end on a thread of its own.
struct Stderr(Option<JoinHandle<Vec<u8>>>);

impl Stderr {
    fn collect(child: &mut Child) -> Stderr {
        let pipe = child.stderr.take();
        Stderr(pipe.map(|mut pipe| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        }))
    }

    /// The last line written, or None if nothing was.
    fn last_line(mut self) -> Option<String> {
        let bytes = self
            .0
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let said = bytes.iter().any(|b| !b.is_ascii_whitespace());
        said.then(|| last_line(&bytes))
    }
}

/// Kills the child when dropped unfinished (an error on our side): no FFmpeg outlives the run.
struct Running {
    child: Child,
    stderr: Stderr,
    tool: &'static str,
}

impl Running {
    fn start(command: Command, tool: &'static str) -> Result<Running, CliError> {
        let mut child = spawn(command, tool)?;
        let stderr = Stderr::collect(&mut child);
        Ok(Running {
            child,
            stderr,
            tool,
        })
    }

    /// Waits for the child: the last line it wrote on stderr (an error, given `-v error`) if
    /// it did, and `Err` with it if it failed.
    fn wait(&mut self) -> Result<Option<String>, String> {
        let status = self.child.wait().map_err(|e| e.to_string())?;
        let said = Stderr(self.stderr.0.take()).last_line();
        match status.success() {
            true => Ok(said),
            false => Err(said.unwrap_or_else(|| status.to_string())),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The video's frames as packed RGB, one at a time, at a constant rate.
pub(crate) struct Decoder {
    running: Running,
    stdout: ChildStdout,
    path: PathBuf,
    width: u32,
    height: u32,
    frame_bytes: usize,
}

impl Decoder {
    pub(crate) fn start(path: &Path, probe: &Probe) -> Result<Decoder, CliError> {
        let mut command = command("ffmpeg");
        command
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(file_argument(path))
            .args(["-map", "0:v:0", "-fps_mode", "cfr", "-r", &probe.rate])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        let mut running = Running::start(command, "ffmpeg")?;
        let stdout = running.child.stdout.take().expect("piped");
        Ok(Decoder {
            running,
            stdout,
            path: path.into(),
            width: probe.width,
            height: probe.height,
            frame_bytes: probe.width as usize * probe.height as usize * 3,
        })
    }

    /// The next frame, or None at the end of the stream.
    pub(crate) fn next(&mut self) -> Result<Option<RgbImage>, CliError> {
        let mut rgb = vec![0; self.frame_bytes];
        let mut filled = 0;
        while filled < rgb.len() {
            match self.stdout.read(&mut rgb[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(video_error(&self.path, format!("reading its frames: {e}"))),
            }
        }
        if filled < rgb.len() {
            return Ok(None);
        }
        Ok(Some(
            RgbImage::from_raw(self.width, self.height, rgb).expect("a whole frame"),
        ))
    }

    /// Waits for the decoder, which gave `decoded` frames of the `expected`: an error if it
    /// failed, or if it reported errors and the stream broke off early (a truncated or damaged
    /// file; errors it concealed in a stream of the expected length are no reason to stop).
    pub(crate) fn finish(mut self, decoded: u64, expected: Option<u64>) -> Result<(), CliError> {
        drop(self.stdout);
        let said = self
            .running
            .wait()
            .map_err(|why| video_error(&self.path, why))?;
        match (said, expected) {
            (Some(why), Some(expected)) if decoded + 1 < expected => Err(video_error(
                &self.path,
                format!("it breaks off after {decoded} of {expected} frames ({why})"),
            )),
            _ => Ok(()),
        }
    }
}

/// Our frames into a video file, with the input's audio.
pub(crate) struct Encoder {
    running: Running,
    stdin: Option<ChildStdin>,
}

impl Encoder {
    /// `input` (raw frames) and `output` (codec, container and audio options, ending with the
    /// file FFmpeg writes) as FFmpeg arguments.
    pub(crate) fn start(input: &[OsString], output: &[OsString]) -> Result<Encoder, CliError> {
        let mut command = command("ffmpeg");
        command
            .args(["-v", "error", "-nostdin", "-y"])
            .args(input)
            .args(output)
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut running = Running::start(command, "ffmpeg")?;
        let stdin = running.child.stdin.take();
        Ok(Encoder { running, stdin })
    }

    /// One frame's bytes. An encoder that stopped reading fails with its own message.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        let stdin = self.stdin.as_mut().expect("open until finish");
        match stdin.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.ended(Some(e))),
        }
    }

    /// Ends the input and waits for the file to be written.
    pub(crate) fn finish(mut self) -> Result<(), CliError> {
        match self.ended(None) {
            CliError::Ffmpeg { why, .. } if why.is_empty() => Ok(()),
            e => Err(e),
        }
    }

    /// Closes the input and waits: the encoder's error, or an empty one when it succeeded.
    fn ended(&mut self, writing: Option<std::io::Error>) -> CliError {
        drop(self.stdin.take());
        let why = match (self.running.wait(), writing) {
            (Err(why), _) => why,
            (Ok(_), Some(e)) => format!("it stopped reading frames: {e}"),
            (Ok(_), None) => String::new(),
        };
        CliError::Ffmpeg {
            tool: self.running.tool,
            why,
        }
    }
}
