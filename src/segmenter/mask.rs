//! [`Mask`]: a person mask, the network's 256x256 probabilities and the size of its image.

use crate::cpu;
use crate::error::{Error, Result};
use crate::network::OUTPUT;
use image::{GrayImage, ImageBuffer, Luma, RgbImage, RgbaImage};

/// A person mask: the network's 256x256 probabilities plus the size of the image they describe.
/// Full-resolution views are computed on demand, so a mask of a huge photo stays small.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    width: u32,
    height: u32,
    probabilities: Vec<f32>,
}

impl Mask {
    /// A mask for a `width` x `height` image from the network's 256x256 probabilities.
    pub fn from_probabilities(width: u32, height: u32, probabilities: Vec<f32>) -> Result<Mask> {
        if probabilities.len() != OUTPUT.len() || width == 0 || height == 0 {
            return Err(Error::InvalidInput(format!(
                "{} probabilities for a {width}x{height} mask (need {})",
                probabilities.len(),
                OUTPUT.len()
            )));
        }
        Ok(Mask {
            width,
            height,
            probabilities,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The raw network output: 256x256 probabilities, row-major.
    pub fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }

    /// The mask at the image's resolution, 0 (background) to 255 (person), resized bilinearly
    /// (see [`cpu::finish::alpha`] for edges that follow the photo).
    pub fn to_luma8(&self) -> GrayImage {
        cpu::finish::upsample(&self.probabilities, self.width, self.height)
    }

    /// The raw 256x256 output as 16-bit gray, value = round(p * 65535).
    pub fn to_raw_luma16(&self) -> ImageBuffer<Luma<u16>, Vec<u16>> {
        let data = self
            .probabilities
            .iter()
            .map(|p| (p * 65535.0).round().clamp(0.0, 65535.0) as u16)
            .collect();
        ImageBuffer::from_raw(OUTPUT.width as u32, OUTPUT.height as u32, data)
            .expect("256x256 probabilities")
    }

    /// `image` with the mask as its alpha channel.
    pub fn cut_out(&self, image: &RgbImage) -> Result<RgbaImage> {
        if image.dimensions() != (self.width, self.height) {
            return Err(Error::InvalidInput(format!(
                "mask is {}x{}, image is {}x{}",
                self.width,
                self.height,
                image.width(),
                image.height()
            )));
        }
        let alpha = self.to_luma8();
        Ok(RgbaImage::from_fn(self.width, self.height, |x, y| {
            let [r, g, b] = image.get_pixel(x, y).0;
            image::Rgba([r, g, b, alpha.get_pixel(x, y).0[0]])
        }))
    }
}
