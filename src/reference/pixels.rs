//! Pixels in: a photo of any size resampled to the network's 256x256x3 input in [0, 1]
//! (half-pixel bilinear, straight from the 8-bit pixels: no full-resolution float copy).
//! GPU twin: [`ops::preprocess`](crate::ops::preprocess).

use super::resize::bilinear_taps;
use crate::error::{Error, Result};
use crate::network::INPUT;
use crate::pixels::Pixels;
use crate::tensor::Tensor;
use image::RgbImage;

/// The image as the network wants it.
pub fn network_input(image: &RgbImage) -> Result<Tensor> {
    resample_to_input(image.width() as usize, image.height() as usize, |x, y| {
        image.get_pixel(x as u32, y as u32).0
    })
}

/// [`network_input`] for a frame's [`Pixels`] (RGB, or a browser's RGBA bytes).
pub fn pixels_input(pixels: Pixels<'_>) -> Result<Tensor> {
    let (w, h) = pixels.size()?;
    match pixels {
        Pixels::Rgb(image) => network_input(image),
        Pixels::Rgba { bytes, .. } => resample_to_input(w, h, |x, y| {
            let i = (y * w + x) * 4;
            [bytes[i], bytes[i + 1], bytes[i + 2]]
        }),
    }
}

/// [`network_input`] for any `w` x `h` source read through `rgb(x, y)`.
pub fn resample_to_input(
    w: usize,
    h: usize,
    rgb: impl Fn(usize, usize) -> [u8; 3],
) -> Result<Tensor> {
    if w == 0 || h == 0 {
        return Err(Error::EmptyImage {
            width: w,
            height: h,
        });
    }
    let mut t = Tensor::zeros(INPUT);
    for oy in 0..INPUT.height {
        let (y0, y1, fy) = bilinear_taps(oy, h, INPUT.height);
        for ox in 0..INPUT.width {
            let (x0, x1, fx) = bilinear_taps(ox, w, INPUT.width);
            let (a, b, c, d) = (rgb(x0, y0), rgb(x1, y0), rgb(x0, y1), rgb(x1, y1));
            for ch in 0..3 {
                let top = a[ch] as f32 * (1.0 - fx) + b[ch] as f32 * fx;
                let bottom = c[ch] as f32 * (1.0 - fx) + d[ch] as f32 * fx;
                *t.at_mut(oy, ox, ch) = (top * (1.0 - fy) + bottom * fy) / 255.0;
            }
        }
    }
    Ok(t)
}
