//! What a video output is written as, chosen by its extension: the codec, the pixel format, and
//! whether the input's audio is copied as it is or must be re-encoded for the container.

use super::ffmpeg::file_argument;
use std::ffi::OsString;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    /// H.264 in MP4: plays everywhere, no alpha.
    Mp4,
    /// QuickTime: ProRes 4444 with alpha for a cut-out, else H.264.
    Mov,
    /// VP9 in WebM, with alpha for a cut-out.
    WebM,
    /// FFV1 in Matroska: lossless, alpha kept.
    Mkv,
}

/// The frames we hand the encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frames {
    Rgba { alpha: bool },
    Gray,
}

pub(crate) const EXTENSIONS: &str = ".mp4, .m4v, .mov, .webm, .mkv";

impl Container {
    pub(crate) fn from_path(path: &Path) -> Option<Container> {
        let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
        Some(match extension.as_str() {
            "mp4" | "m4v" => Container::Mp4,
            "mov" => Container::Mov,
            "webm" => Container::WebM,
            "mkv" => Container::Mkv,
            _ => return None,
        })
    }

    pub(crate) fn keeps_alpha(self) -> bool {
        self != Container::Mp4
    }

    /// The encoder's input arguments: our raw frames on stdin, and the original video (for
    /// its audio and metadata).
    pub(crate) fn input(
        frames: Frames,
        (w, h): (u32, u32),
        rate: &str,
        video: &Path,
    ) -> Vec<OsString> {
        let pixels = match frames {
            Frames::Rgba { .. } => "rgba",
            Frames::Gray => "gray",
        };
        let mut args = strings(&["-f", "rawvideo", "-pix_fmt", pixels]);
        args.extend(strings(&["-s", &format!("{w}x{h}"), "-framerate", rate]));
        args.extend(strings(&["-i", "pipe:0", "-i"]));
        args.push(file_argument(video));
        args
    }

    /// The encoder's output arguments, ending with the file it writes (`writer`).
    pub(crate) fn output(
        self,
        frames: Frames,
        audio: Option<&str>,
        writer: &Path,
    ) -> Vec<OsString> {
        let alpha = matches!(frames, Frames::Rgba { alpha: true });
        let mut args = strings(&["-map", "0:v:0", "-map", "1:a:0?", "-map_metadata", "1"]);
        // H.264 in 4:2:0 needs an even size: an odd last row or column is left out.
        let h264 = [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            "-vf",
            "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0",
        ];
        let (video, format): (&[&str], &str) = match (self, alpha) {
            (Container::Mp4, _) => (&h264, "mp4"),
            (Container::Mov, true) => (
                &[
                    "-c:v",
                    "prores_ks",
                    "-profile:v",
                    "4444",
                    "-pix_fmt",
                    "yuva444p10le",
                ],
                "mov",
            ),
            (Container::Mov, false) => (&h264, "mov"),
            (Container::WebM, _) => (
                &[
                    "-c:v",
                    "libvpx-vp9",
                    "-crf",
                    "32",
                    "-b:v",
                    "0",
                    "-deadline",
                    "realtime",
                    "-cpu-used",
                    "8",
                    "-row-mt",
                    "1",
                    "-pix_fmt",
                    if alpha { "yuva420p" } else { "yuv420p" },
                ],
                "webm",
            ),
            (Container::Mkv, _) => (
                &[
                    "-c:v",
                    "ffv1",
                    "-level",
                    "3",
                    "-pix_fmt",
                    match frames {
                        Frames::Gray => "gray",
                        Frames::Rgba { alpha: true } => "bgra",
                        Frames::Rgba { alpha: false } => "bgr0",
                    },
                ],
                "matroska",
            ),
        };
        args.extend(strings(video));
        args.extend(strings(&["-c:a", self.audio_codec(audio)]));
        if matches!(self, Container::Mp4 | Container::Mov) {
            args.extend(strings(&["-movflags", "+faststart"]));
        }
        args.extend(strings(&["-f", format]));
        args.push(file_argument(writer));
        args
    }

    /// "copy" when the container takes the input's audio as it is, else the codec to use.
    fn audio_codec(self, audio: Option<&str>) -> &'static str {
        let Some(codec) = audio else { return "copy" };
        let takes = match self {
            Container::Mp4 => {
                ["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"].contains(&codec)
            }
            Container::Mov => {
                ["aac", "mp3", "alac", "ac3"].contains(&codec) || codec.starts_with("pcm_")
            }
            Container::WebM => ["opus", "vorbis"].contains(&codec),
            Container::Mkv => true,
        };
        match (takes, self) {
            (true, _) => "copy",
            (false, Container::WebM) => "libopus",
            (false, _) => "aac",
        }
    }
}

fn strings(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_copied_where_the_container_takes_it() {
        assert_eq!(Container::Mp4.audio_codec(Some("aac")), "copy");
        assert_eq!(Container::Mp4.audio_codec(Some("pcm_s16le")), "aac");
        assert_eq!(Container::WebM.audio_codec(Some("aac")), "libopus");
        assert_eq!(Container::Mkv.audio_codec(Some("pcm_s16le")), "copy");
        assert_eq!(Container::Mov.audio_codec(None), "copy");
    }
}
