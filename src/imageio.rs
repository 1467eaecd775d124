//! Reading and writing images for the CLI and embedders: typed errors naming the file, formats
//! sniffed from the bytes, sizes checked from the header before any pixel is decoded, truncated
//! files refused, EXIF orientation applied, and atomic writes (see [`crate::files`]).

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageFormat};
use std::io::{BufRead, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

/// The largest side accepted, in pixels: 16384 x 16384 (268 megapixels) is the largest image.
pub const MAX_SIDE: u32 = 16384;

/// The formats read (sniffed from the bytes, not the extension).
pub const READ_FORMATS: &str = "PNG, JPEG and WebP";

/// The most memory one decode may take: the largest accepted image at 16 bits per channel with
/// alpha, plus headroom. Also the largest file read: no supported image needs more.
pub const MAX_DECODE_BYTES: u64 = (MAX_SIDE as u64).pow(2) * 8 + (64 << 20);

/// Decodes the image at `path` upright (EXIF orientation applied): grayscale, 16-bit and alpha
/// images all decode; callers convert with `to_rgb8()`. Only a regular file is opened, its format
/// and size are read from its header first, and it is streamed, not read whole (but for JPEG).
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let file = crate::files::open_regular(path, MAX_DECODE_BYTES)?;
    decode(std::io::BufReader::new(file), path)
}

/// [`load_image`] for bytes already in memory; `path` only names them in errors.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<DynamicImage> {
    decode(Cursor::new(bytes), path)
}

fn decode<R: BufRead + Seek>(mut reader: R, path: &Path) -> Result<DynamicImage> {
    let decode_error = |reason: String| decode_error(path, reason);
    let io_error = |e| Error::io(path, e);
    let mut head = Vec::with_capacity(32);
    (&mut reader)
        .take(32)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let format = match image::guess_format(&head) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => format,
        _ => {
            return Err(decode_error(format!(
                "unrecognised or unsupported format ({READ_FORMATS} are read)"
            )));
        }
    };
    let header_error =
        |e: imagesize::ImageError| decode_error(format!("its header cannot be read ({e})"));
    if format == ImageFormat::Jpeg {
        // The JPEG decoder reads the whole file anyway; check that it is all there first.
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io_error)?;
        let size = imagesize::blob_size(&bytes).map_err(header_error)?;
        let size = checked_size(path, size)?;
        if let Some(problem) = jpeg_problem(&bytes) {
            return Err(decode_error(problem.into()));
        }
        return decode_as(Cursor::new(bytes), format, size, path);
    }
    let size = imagesize::reader_size(&mut reader).map_err(header_error)?;
    let size = checked_size(path, size)?;
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    decode_as(reader, format, size, path)
}

/// The error for an image at `path` that cannot be read, and why.
fn decode_error(path: &Path, reason: String) -> Error {
    Error::Decode {
        path: path.into(),
        reason,
    }
}

/// The header's size, once [`check_size`] accepts it.
fn checked_size(path: &Path, size: imagesize::ImageSize) -> Result<(u32, u32)> {
    let (w, h) = (size.width as u64, size.height as u64);
    check_size(path, w, h)?;
    Ok((w as u32, h as u32))
}

/// Decodes the whole `header_size` image with memory limits. A decoder whose idea of the size
/// differs from the header's is an error, not a wrong or empty image (image-webp 0.2 reads a
/// lossless WebP 16384 pixels wide as 0 wide).
fn decode_as<R: BufRead + Seek>(
    reader: R,
    format: ImageFormat,
    header_size: (u32, u32),
    path: &Path,
) -> Result<DynamicImage> {
    let decode_error = |reason: String| decode_error(path, reason);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = image::ImageReader::with_format(reader, format);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| decode_error(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if (w, h) != header_size {
        return Err(decode_error(format!(
            "its header says {}x{} but the {format:?} decoder reads {w}x{h}, so it cannot be \
             decoded faithfully",
            header_size.0, header_size.1
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e.to_string()))?;
    if (image.width(), image.height()) != (w, h) {
        return Err(decode_error(format!(
            "the header says {w}x{h} but {}x{} pixels decoded",
            image.width(),
            image.height()
        )));
    }
    image.apply_orientation(orientation);
    Ok(image)
}

/// What makes a JPEG's bytes unfit to decode, if anything: a file cut short (a partial download,
/// a full disk), which otherwise decodes "successfully" with the missing part invented; or scans
/// far too short for the frame they claim to fill (a decompression bomb: a few KB claiming
/// 16384x16384). Walks the segment lengths (so an EXIF thumbnail's own end marker does not
/// count), skipping stuffed bytes and restart markers inside scans.
pub fn jpeg_problem(bytes: &[u8]) -> Option<&'static str> {
    const TRUNCATED: &str =
        "the file ends before the image does (truncated or still being written)";
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Some("no JPEG start marker");
    }
    // Huffman-coded, every 8x8 block of the first component costs at least one bit.
    let (mut blocks, mut scan_bytes) = (0u64, 0u64);
    let mut i = 2;
    loop {
        // The next marker, past stray bytes and fill bytes.
        let Some(at) = bytes[i.min(bytes.len())..].iter().position(|&b| b == 0xFF) else {
            return Some(TRUNCATED);
        };
        i += at;
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Some(TRUNCATED);
        };
        i += 1;
        match marker {
            0xD9 if scan_bytes * 8 < blocks => {
                return Some("its data is far too short for the size it claims");
            }
            0xD9 => return None,
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = bytes.get(i..i + 2) else {
            return Some(TRUNCATED);
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Some("a segment has an impossible length");
        }
        // A Huffman-coded frame header (baseline, extended, progressive): after the length and
        // the sample precision come the height and the width.
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7)
            && blocks == 0
            && let Some(size) = bytes.get(i + 3..i + 7)
        {
            let h = u64::from(u16::from_be_bytes([size[0], size[1]]));
            let w = u64::from(u16::from_be_bytes([size[2], size[3]]));
            blocks = h.div_ceil(8) * w.div_ceil(8);
        }
        i += len;
        if marker == 0xDA {
            // Scan data: runs until a marker that is neither a stuffed 0xFF00 nor a restart.
            let start = i;
            loop {
                let Some(at) = bytes[i.min(bytes.len())..].iter().position(|&b| b == 0xFF) else {
                    return Some(TRUNCATED);
                };
                i += at;
                match bytes.get(i + 1) {
                    None => return Some(TRUNCATED),
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
            scan_bytes += (i - start) as u64;
        }
    }
}

/// A clear error for images outside 1..=MAX_SIDE on either side.
pub fn check_size(path: &Path, w: u64, h: u64) -> Result<()> {
    let max = u64::from(MAX_SIDE);
    if w == 0 || h == 0 || w > max || h > max {
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
    if input.is_some_and(|input| crate::files::same_file(input, path)) {
        return Err(Error::WouldOverwriteInput { path: path.into() });
    }
    let mut bytes = Vec::new();
    let encode_error = |e: image::ImageError| Error::Encode {
        path: path.into(),
        reason: e.to_string(),
    };
    match format {
        OutputFormat::Png => image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .map_err(encode_error)?,
        OutputFormat::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92);
            rgb.write_with_encoder(encoder).map_err(encode_error)?
        }
    }
    crate::files::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHOTO: &[u8] = include_bytes!("../examples/photos/grace_hopper.jpg");

    #[test]
    fn a_whole_jpeg_passes_and_every_cut_of_it_fails() {
        assert_eq!(jpeg_problem(PHOTO), None);
        for keep in (0..PHOTO.len()).step_by(97) {
            assert!(jpeg_problem(&PHOTO[..keep]).is_some(), "cut at {keep}");
        }
        assert!(decode_image(&PHOTO[..PHOTO.len() - 2], Path::new("p.jpg")).is_err());
    }

    #[test]
    fn decoding_checks_the_size_before_the_pixels() {
        let image = decode_image(PHOTO, Path::new("p.jpg")).unwrap();
        assert!(image.width() > 0 && image.height() > 0);
        let err = decode_image(b"\x89PNG\r\n\x1a\n", Path::new("p.png")).unwrap_err();
        assert!(
            err.to_string().starts_with("p.png: not a readable image"),
            "{err}"
        );
        let err = decode_image(b"GIF89a", Path::new("g.gif")).unwrap_err();
        assert!(err.to_string().contains("unsupported format"), "{err}");
    }
}
