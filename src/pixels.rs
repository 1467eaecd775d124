//! A frame's pixels as callers hand them in, and as the GPU reads them (packed RGBA8).

use crate::error::{Error, Result};

/// A frame's pixels: an RGB image, or RGBA bytes row by row (a browser's `ImageData.data`).
#[derive(Clone, Copy)]
pub enum Pixels<'a> {
    Rgb(&'a image::RgbImage),
    Rgba {
        bytes: &'a [u8],
        width: usize,
        height: usize,
    },
}

impl Pixels<'_> {
    /// (width, height), checked: at least 1x1, and RGBA bytes that match their size.
    pub fn size(&self) -> Result<(usize, usize)> {
        let (w, h) = match self {
            Pixels::Rgb(image) => (image.width() as usize, image.height() as usize),
            Pixels::Rgba {
                bytes,
                width,
                height,
            } => {
                let expected = width.checked_mul(*height).and_then(|n| n.checked_mul(4));
                if expected != Some(bytes.len()) {
                    return Err(Error::PixelBytes {
                        bytes: bytes.len(),
                        width: *width,
                        height: *height,
                    });
                }
                (*width, *height)
            }
        };
        if w == 0 || h == 0 {
            return Err(Error::EmptyImage {
                width: w,
                height: h,
            });
        }
        Ok((w, h))
    }
}

/// Packs RGB pixels as the kernels read them: one u32 per pixel, R in the low byte, alpha 255.
pub fn pack_rgba(image: &image::RgbImage, into: &mut Vec<u32>) {
    into.clear();
    into.extend(
        image
            .pixels()
            .map(|p| u32::from_le_bytes([p.0[0], p.0[1], p.0[2], 255])),
    );
}
