//! The background blur's input: per working pixel, the area mean of the photo's colour weighted
//! by how much of each pixel is background ([`background_weight`](crate::finish::background_weight)
//! of its alpha, made as the compose kernel makes it), and of that weight. Blurred by
//! [`Separable`](super::Separable), which divides by the blurred weight in its last pass
//! (`Filter::Taps { unweigh }`), it is a normalised convolution: the person's colours never
//! enter the blurred background.
//! Kernel: shaders/background.wgsl. CPU twin:
//! [`reference::finish::blurred_background`](crate::reference::finish::blurred_background) before its blur.

use super::binding::check;
use super::compose::ComposeParams;
use super::kernels::{BACKGROUND, Kernels};
use super::wgsl::WG;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::OUTPUT;

pub struct WeighBackground<'a> {
    /// The photo, packed RGBA8.
    pub image: &'a wgpu::Buffer,
    /// The network's 256x256 output (read for the bilinear alpha).
    pub probabilities: &'a wgpu::Buffer,
    /// The guided filter's mean (a.r, a.g, a.b, b) at its resolution (read when refining).
    pub coefficients: &'a wgpu::Buffer,
    /// (r w, g w, b w, w) per working pixel, vec4<f32>.
    pub weighted: &'a wgpu::Buffer,
    /// The photo's and working sizes and the alpha's kind, as the compose kernel has them.
    pub params: ComposeParams,
}

impl WeighBackground<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let p = &self.params;
        check(self.image, p.pixels(), "background image")?;
        check(self.probabilities, OUTPUT.len(), "background probabilities")?;
        if p.refines() {
            check(
                self.coefficients,
                p.guide_pixels() * 4,
                "background coefficients",
            )?;
        }
        check(self.weighted, p.work_pixels() * 4, "background weighted")?;
        let buffers = [
            self.image,
            self.probabilities,
            self.coefficients,
            self.weighted,
        ];
        Ok(kernels
            .get(&BACKGROUND)
            .bind(gpu, p, &buffers, grid(p.work_pixels(), WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finish::{Background, Response, background_weight, work_size};
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;
    use crate::reference::finish::{
        Plane, alpha, area_downsample, guided_coefficients, weighted_colour,
    };

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        // A disc of "person" in the middle, so the alpha has edges.
        let probs: Vec<f32> = (0..OUTPUT.len())
            .map(|i| {
                let (x, y) = ((i % 256) as f32 - 128.0, (i / 256) as f32 - 128.0);
                1.0 / (1.0 + ((x * x + y * y).sqrt() - 70.0).exp())
            })
            .collect();
        let gp = gpu.upload("p", &probs);
        // Unscaled and scaled by odd ratios.
        for (seed, (w, h)) in [(64, 48), (700, 333), (1030, 20)].into_iter().enumerate() {
            let img = photo(w, h, seed as u64);
            let (w2, h2) = work_size(w as usize, h as usize);
            let mut packed = Vec::new();
            pack_rgba(&img, &mut packed);
            let ab = interleave(
                &guided_coefficients(&img, &probs)
                    .each_ref()
                    .map(|c| &c.data[..]),
            );
            let (gimg, coefficients, weighted) = (
                upload_words(gpu, &packed),
                gpu.upload("ab", &ab),
                gpu.storage("weighted", w2 * h2 * 4),
            );
            for (refine, response) in [(false, Response::default()), (true, Response::NONE)] {
                let blur = Background::Blur { radius: 5.0 };
                let size = (w as usize, h as usize);
                let params = ComposeParams::new(size, (w2, h2), &blur, refine, response).unwrap();
                let op = WeighBackground {
                    image: &gimg,
                    probabilities: &gp,
                    coefficients: &coefficients,
                    weighted: &weighted,
                    params,
                };
                op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
                let alpha = alpha(&img, &probs, refine, response);
                let planes: [Plane; 4] = area_downsample(&img, w2, h2, |i, p| {
                    weighted_colour(p, background_weight(alpha.as_raw()[i]))
                });
                let want: Vec<f32> = (0..w2 * h2)
                    .flat_map(|i| planes.each_ref().map(|p| p.data[i]))
                    .collect();
                let got = gpu.read(&weighted, w2 * h2 * 4).unwrap();
                // An 8-bit alpha may round one step apart, moving a weight by at most 2/255 and a
                // weighted colour by at most 2 levels (in one pixel of the cell).
                for (k, (g, c)) in got.iter().zip(&want).enumerate() {
                    let tolerance = if k % 4 == 3 { 2.0 / 255.0 } else { 2.0 } + 1e-3;
                    assert!(
                        (g - c).abs() <= tolerance,
                        "background {w}x{h} -> {w2}x{h2} refine={refine}: lane {k}: gpu {g} vs cpu {c}"
                    );
                }
            }
        }
    }
}
