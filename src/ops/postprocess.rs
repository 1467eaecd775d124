//! Pixels out: the network's probabilities -> an 8-bit mask at any size, four pixels per u32.
//! Kernel: shaders/postprocess.wgsl. CPU twin: [`reference::finish::upsample`](crate::reference::finish::upsample).

use super::binding::check;
use super::kernels::{Kernels, POSTPROCESS};
use super::preprocess::SizePair;
use super::wgsl::WG;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, grid};

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
        Ok(kernels.get(&POSTPROCESS).bind(
            gpu,
            &params,
            &[self.probabilities, self.out],
            grid(words, WG),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::reference;

    #[test]
    fn mask_to_luma8_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let probs: Vec<f32> = random(256 * 256, 11)
            .iter()
            .map(|v| (v + 1.0) / 2.0)
            .collect();
        let gp = gpu.upload("p", &probs);
        for (w, h) in [(256, 256), (1, 1), (3, 5), (601, 333)] {
            let expected = reference::finish::upsample(&probs, w, h);
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
            let words = read_words(gpu, &out, words);
            let bytes: Vec<u8> = bytemuck::cast_slice(&words)[..(w * h) as usize].to_vec();
            // Rounding of an exact .5 may differ by one level between CPU and GPU arithmetic.
            for (i, (g, c)) in bytes.iter().zip(expected.as_raw()).enumerate() {
                assert!(g.abs_diff(*c) <= 1, "{w}x{h} pixel {i}: gpu {g} cpu {c}");
            }
        }
    }
}
