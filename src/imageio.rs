//! Reading and writing images for the CLI and embedders: typed errors naming the file,
//! content-sniffed formats, EXIF orientation applied, a documented size limit, and atomic writes
//! (temp file + rename) so no partial output survives.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageFormat};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest side accepted, in pixels: 16384 x 16384 (268 megapixels) is the largest image.
pub const MAX_SIDE: u32 = 16384;

/// The formats read (sniffed from the bytes, not the extension).
pub const READ_FORMATS: &str = "PNG, JPEG and WebP";

/// Decodes the image at `path` upright (EXIF orientation applied): grayscale, 16-bit and alpha
/// images all decode; callers convert with `to_rgb8()`.
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let decode_error = |reason: String| Error::Decode {
        path: path.into(),
        reason,
    };
    let reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)
    ) {
        return Err(decode_error(format!(
            "unrecognised or unsupported format ({READ_FORMATS} are read)"
        )));
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    check_size(path, w, h)?;
    let mut limits = image::Limits::default();
    // The pixels of the largest accepted image at 16 bits per channel with alpha, plus headroom.
    limits.max_alloc = Some(u64::from(MAX_SIDE).pow(2) * 8 + (64 << 20));
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(e.to_string()))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e.to_string()))?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// A clear error for images outside 1..=MAX_SIDE on either side.
pub fn check_size(path: &Path, w: u32, h: u32) -> Result<()> {
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::TooLarge {
            path: path.into(),
            width: w,
            height: h,
            max: MAX_SIDE,
        });
    }
    Ok(())
}

/// How an output file is written, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Keeps alpha.
    Png,
    /// No alpha: compose over a background first. Quality 92.
    Jpeg,
}

impl OutputFormat {
    pub fn from_path(path: &Path) -> Result<OutputFormat> {
        match ImageFormat::from_path(path).ok() {
            Some(ImageFormat::Png) => Ok(OutputFormat::Png),
            Some(ImageFormat::Jpeg) => Ok(OutputFormat::Jpeg),
            _ => Err(Error::Encode {
                path: path.into(),
                reason: "output must be a .png or .jpg file".into(),
            }),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg => "jpg",
        }
    }
}

/// Encodes `image` by `path`'s extension and writes it atomically. Refuses to write over `input`.
pub fn save_image(image: &DynamicImage, path: &Path, input: Option<&Path>) -> Result<()> {
    let format = OutputFormat::from_path(path)?;
    if input.is_some_and(|input| same_file(input, path)) {
        return Err(Error::WouldOverwriteInput { path: path.into() });
    }
    let mut bytes = Vec::new();
    let encode_error = |e: image::ImageError| Error::Encode {
        path: path.into(),
        reason: e.to_string(),
    };
    match format {
        OutputFormat::Png => image
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
            .map_err(encode_error)?,
        OutputFormat::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92);
            rgb.write_with_encoder(encoder).map_err(encode_error)?
        }
    }
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
