//! The photo at the finish's working resolution: per working pixel the area-averaged luma I, the
//! 256x256 mask p sampled bilinearly, I*p and I*I (the guided filter's inputs). Kernel:
//! shaders/downsample.wgsl. CPU twin:
//! [`cpu::finish::area_downsample`](crate::cpu::finish::area_downsample) and
//! [`Plane::sample`](crate::cpu::finish::Plane::sample).

use super::binding::{check, to_u32};
use super::kernels::{DOWNSAMPLE, Kernels};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::OUTPUT;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    img_w: u32,
    img_h: u32,
    work_w: u32,
    work_h: u32,
}

pub struct Downsample<'a> {
    /// The photo, packed RGBA8 (`pixels::pack_rgba`).
    pub image: &'a wgpu::Buffer,
    /// The network's 256x256 output.
    pub probabilities: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
    /// (I, p, I*p, I*I) per working pixel, vec4<f32>.
    pub guide: &'a wgpu::Buffer,
    pub work_width: usize,
    pub work_height: usize,
}

impl Downsample<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let (w, h, w2, h2) = (self.width, self.height, self.work_width, self.work_height);
        if w2 == 0 || h2 == 0 || w2 > w || h2 > h {
            return Err(Error::InvalidInput(format!(
                "downsample: {w}x{h} -> {w2}x{h2} (the working size is at least 1 and at most the photo's)"
            )));
        }
        check(self.image, w * h, "downsample image")?;
        check(self.probabilities, OUTPUT.len(), "downsample probabilities")?;
        check(self.guide, w2 * h2 * 4, "downsample guide")?;
        let params = Params {
            img_w: to_u32(w, "photo width")?,
            img_h: to_u32(h, "photo height")?,
            work_w: w2 as u32,
            work_h: h2 as u32,
        };
        let buffers = [self.image, self.probabilities, self.guide];
        Ok(kernels
            .get(&DOWNSAMPLE)
            .bind(gpu, &params, &buffers, grid(w2 * h2, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::finish::{Plane, area_downsample};
    use crate::finish::{luma, work_size};
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let probs: Vec<f32> = random(OUTPUT.len(), 5)
            .iter()
            .map(|v| (v + 1.0) / 2.0)
            .collect();
        let mask = Plane {
            width: OUTPUT.width,
            height: OUTPUT.height,
            data: probs.clone(),
        };
        let gp = gpu.upload("p", &probs);
        // Unscaled, scaled by odd ratios, and a thin strip.
        for (seed, (w, h)) in [(64, 48), (700, 333), (1030, 20)].into_iter().enumerate() {
            let img = photo(w, h, seed as u64);
            let (w2, h2) = work_size(w as usize, h as usize);
            let [lum] = area_downsample(&img, w2, h2, |_, p| [luma(p)]);
            let mut packed = Vec::new();
            pack_rgba(&img, &mut packed);
            let (gimg, guide) = (
                upload_words(gpu, &packed),
                gpu.storage("guide", w2 * h2 * 4),
            );
            let op = Downsample {
                image: &gimg,
                probabilities: &gp,
                width: w as usize,
                height: h as usize,
                guide: &guide,
                work_width: w2,
                work_height: h2,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            let mut want_guide = Vec::new();
            for i in 0..w2 * h2 {
                let (i_, p) = (lum.data[i], mask.sample(i % w2, i / w2, w2, h2));
                want_guide.extend([i_, p, i_ * p, i_ * i_]);
            }
            let what = format!("downsample {w}x{h} -> {w2}x{h2}");
            let got = gpu.read(&guide, w2 * h2 * 4).unwrap();
            assert_close(&got, &want_guide, 1e-5, &what);
        }
    }
}
