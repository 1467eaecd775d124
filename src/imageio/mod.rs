//! Reading and writing images for the CLI and embedders: typed errors naming the file, formats
//! sniffed from the bytes, sizes checked from the header before any pixel is decoded, truncated
//! files refused, EXIF orientation applied, and atomic writes (see [`crate::files`]).

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageFormat};
use std::io::{BufRead, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

mod bounded;
mod jpeg;

/// The largest side accepted, in pixels: 16384 x 16384 (268 megapixels) is the largest image.
pub const MAX_SIDE: u32 = 16384;

/// What a PNG's chunks besides its pixels may take in memory, beside a byte a pixel.
const PNG_METADATA_BYTES: u64 = 16 << 20;

/// The formats read (sniffed from the bytes, not the extension).
pub const READ_FORMATS: &str = "PNG, JPEG and WebP";

/// The most memory one decode may take: the largest accepted image at 16 bits per channel with
/// alpha, plus headroom. Also the largest file read: no supported image needs more.
pub const MAX_DECODE_BYTES: u64 = (MAX_SIDE as u64).pow(2) * 8 + (64 << 20);

/// Decodes the image at `path` upright (EXIF orientation applied): grayscale, 16-bit and alpha
/// images all decode; callers convert with `to_rgb8()`. Only a regular file is opened, its format
/// and size are read from its header first, and no more of it is read than an image of that size
/// can need (a JPEG, which its decoder takes whole, up to its end marker).
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
    // A PNG's first chunk is its header; without one there is no size to read (imagesize
    // would say 0x0, which blames the image for a size it never stated).
    if format == ImageFormat::Png && head.get(12..16) != Some(&b"IHDR"[..]) {
        return Err(decode_error(
            "a PNG signature without the IHDR header chunk after it".into(),
        ));
    }
    let header_error =
        |e: imagesize::ImageError| decode_error(format!("its header cannot be read ({e})"));
    if format == ImageFormat::Jpeg {
        // The JPEG decoder takes its input whole: read only as far as the header's size allows.
        let mut bytes = Vec::new();
        let size = jpeg::read_header(&mut reader, &mut bytes)
            .map_err(io_error)?
            .map_err(header_error)?;
        let size = checked_size(path, size)?;
        let image = jpeg::read_image(reader, bytes, byte_bound(size)).map_err(|e| match e {
            jpeg::Unfit::Io(e) => io_error(e),
            jpeg::Unfit::Because(why) => decode_error(why),
        })?;
        let decode = |bytes: &[u8]| decode_as(Cursor::new(bytes), format, size, path);
        return jpeg::decode_whole(&image, decode)?
            .ok_or_else(|| decode_error(jpeg::TRUNCATED.into()));
    }
    let size = imagesize::reader_size(&mut reader).map_err(header_error)?;
    let size = checked_size(path, size)?;
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    decode_as(
        bounded::Bounded::new(reader, byte_bound(size)),
        format,
        size,
        path,
    )
}

/// Past the metadata, no image of `width` x `height` can need more bytes than this, in any
/// format read: 12 a pixel, beyond 16-bit RGBA stored uncompressed (8) and JPEG at quality 100
/// without chroma subsampling on noise (4.1, baseline, libjpeg-turbo through Pillow 13).
fn byte_bound((width, height): (u32, u32)) -> u64 {
    METADATA_BYTES + u64::from(width) * u64::from(height) * 12
}

/// Room for the metadata before and around the pixels (EXIF, XMP, a colour profile of up to
/// 255 JPEG segments), well within what real files carry.
const METADATA_BYTES: u64 = 32 << 20;

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
    limits.max_alloc = Some(match format {
        // The PNG decoder's own buffers (a row or two, the colour profile, text, EXIF), which
        // is all this bounds for PNG: without it a 2 MB file's colour profile inflated to 1 GiB
        // before the decoder gave it up.
        ImageFormat::Png => {
            PNG_METADATA_BYTES + u64::from(header_size.0) * u64::from(header_size.1)
        }
        _ => MAX_DECODE_BYTES,
    });
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

    const PHOTO: &[u8] = include_bytes!("../../examples/photos/grace_hopper.jpg");

    #[test]
    fn a_whole_jpeg_passes_and_every_cut_of_it_fails() {
        assert!(decode_image(PHOTO, Path::new("p.jpg")).is_ok());
        for keep in (0..PHOTO.len()).step_by(997) {
            assert!(
                decode_image(&PHOTO[..keep], Path::new("p.jpg")).is_err(),
                "cut at {keep}"
            );
        }
        assert!(decode_image(&PHOTO[..PHOTO.len() - 2], Path::new("p.jpg")).is_err());
    }

    /// A cut with the end marker put back: the walk sees a whole file, so only the decoder can
    /// tell (but for the last bytes of the last block, which may decode alike).
    #[test]
    fn every_cut_with_the_end_marker_put_back_fails() {
        let data_end = PHOTO.len() - 2;
        for keep in (0..data_end - 8).step_by(997).chain([data_end - 9]) {
            let cut = [&PHOTO[..keep], &[0xFF, 0xD9]].concat();
            assert!(
                decode_image(&cut, Path::new("p.jpg")).is_err(),
                "cut at {keep}"
            );
        }
        // Fill bytes before the end marker are not data.
        let filled = [&PHOTO[..data_end], &[0xFF; 3], &PHOTO[data_end..]].concat();
        assert!(decode_image(&filled, Path::new("p.jpg")).is_ok());
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
