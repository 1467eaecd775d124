//! Pixels in and out: an RGBA8 image of any size -> the network's input, and probabilities -> an
//! 8-bit mask at any size. Kernels: shaders/preprocess.wgsl, postprocess.wgsl. CPU twins:
//! [`network_input`](crate::segmenter::network_input) and [`Mask::to_luma8`](crate::Mask::to_luma8).

use super::{check, to_u32};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Kernels, grid};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SizePair {
    pub in_w: u32,
    pub in_h: u32,
    pub out_w: u32,
    pub out_h: u32,
}

impl SizePair {
    fn new(in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> Result<Self> {
        if in_w == 0 || in_h == 0 || out_w == 0 || out_h == 0 {
            return Err(Error::InvalidInput(format!(
                "resampling {in_w}x{in_h} -> {out_w}x{out_h}"
            )));
        }
        to_u32(in_w * in_h, "input pixels")?;
        to_u32(out_w * out_h, "output pixels")?;
        Ok(SizePair {
            in_w: in_w as u32,
            in_h: in_h as u32,
            out_w: out_w as u32,
            out_h: out_h as u32,
        })
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

/// RGBA8 image (one u32 per pixel, see [`pack_rgba`]) -> out_h x out_w x 3 f32 in [0, 1].
pub struct Preprocess<'a> {
    pub image: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
    pub out: &'a wgpu::Buffer,
    pub out_width: usize,
    pub out_height: usize,
}

impl Preprocess<'_> {
    pub(crate) fn params(&self) -> Result<SizePair> {
        SizePair::new(self.width, self.height, self.out_width, self.out_height)
    }

    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let params = self.params()?;
        check(self.image, self.width * self.height, "preprocess image")?;
        check(
            self.out,
            self.out_width * self.out_height * 3,
            "preprocess out",
        )?;
        let pixels = self.out_width * self.out_height;
        Ok(kernels
            .preprocess
            .bind(gpu, &params, &[self.image, self.out], grid(pixels, 256)))
    }
}

/// Probabilities (height x width f32) -> 8-bit mask at out_width x out_height, four pixels per
/// u32 (byte 0 first): `out` needs ceil(out_width * out_height / 4) words.
pub struct MaskToLuma8<'a> {
    pub probabilities: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
    pub out: &'a wgpu::Buffer,
    pub out_width: usize,
    pub out_height: usize,
}

impl MaskToLuma8<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        // The kernel's parameter order is (in_w, in_h, out_w, out_h), like SizePair.
        let params = SizePair::new(self.width, self.height, self.out_width, self.out_height)?;
        let words = (self.out_width * self.out_height).div_ceil(4);
        check(
            self.probabilities,
            self.width * self.height,
            "mask probabilities",
        )?;
        check(self.out, words, "mask out")?;
        Ok(kernels.postprocess.bind(
            gpu,
            &params,
            &[self.probabilities, self.out],
            grid(words, 256),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;

    fn photo(w: u32, h: u32, seed: u64) -> image::RgbImage {
        let noise = random((w * h * 3) as usize, seed);
        image::RgbImage::from_fn(w, h, |x, y| {
            let i = ((y * w + x) * 3) as usize;
            image::Rgb([0, 1, 2].map(|c| ((noise[i + c] + 1.0) * 127.5) as u8))
        })
    }

    #[test]
    fn preprocess_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        for (seed, (w, h)) in [(256, 256), (1, 1), (37, 511), (640, 480)]
            .into_iter()
            .enumerate()
        {
            let img = photo(w, h, seed as u64);
            let expected = crate::segmenter::network_input(&img).unwrap();
            let mut packed = Vec::new();
            pack_rgba(&img, &mut packed);
            let gimg = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: packed.len() as u64 * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            gpu.queue
                .write_buffer(&gimg, 0, bytemuck::cast_slice(&packed));
            let out = gpu.storage("input", expected.data.len());
            let op = Preprocess {
                image: &gimg,
                width: w as usize,
                height: h as usize,
                out: &out,
                out_width: 256,
                out_height: 256,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            assert_close(
                &gpu.read(&out, expected.data.len()).unwrap(),
                &expected.data,
                1e-5,
                &format!("preprocess {w}x{h}"),
            );
        }
    }

    #[test]
    fn mask_to_luma8_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let probs: Vec<f32> = random(256 * 256, 11)
            .iter()
            .map(|v| (v + 1.0) / 2.0)
            .collect();
        let gp = gpu.upload("p", &probs);
        for (w, h) in [(256, 256), (1, 1), (3, 5), (601, 333)] {
            let expected = crate::Mask::from_probabilities(w, h, probs.clone())
                .unwrap()
                .to_luma8();
            let words = (w * h).div_ceil(4) as usize;
            let out = gpu.storage("mask", words);
            let op = MaskToLuma8 {
                probabilities: &gp,
                width: 256,
                height: 256,
                out: &out,
                out_width: w as usize,
                out_height: h as usize,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            let words: Vec<u32> = gpu
                .read(&out, words)
                .unwrap()
                .iter()
                .map(|f| f.to_bits())
                .collect();
            let bytes: Vec<u8> = bytemuck::cast_slice(&words)[..(w * h) as usize].to_vec();
            // Rounding of an exact .5 may differ by one level between CPU and GPU arithmetic.
            for (i, (g, c)) in bytes.iter().zip(expected.as_raw()).enumerate() {
                assert!(g.abs_diff(*c) <= 1, "{w}x{h} pixel {i}: gpu {g} cpu {c}");
            }
        }
    }
}
