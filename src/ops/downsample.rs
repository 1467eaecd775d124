//! The photo at the finish's working resolution: per working pixel the area-averaged colour I
//! (0..1), the 256x256 mask p sampled bilinearly, I * p and the colour's products (the colour
//! guided filter's 13 inputs, in four planes: shaders/downsample.wgsl says which lane holds
//! what). Kernel: shaders/downsample.wgsl. CPU twin:
//! [`reference::finish::area_downsample`](crate::reference::finish::area_downsample) and
//! [`Plane::sample`](crate::reference::finish::Plane::sample).

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
    /// The four guide planes, vec4<f32> per working pixel.
    pub guide: [&'a wgpu::Buffer; 4],
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
        for guide in self.guide {
            check(guide, w2 * h2 * 4, "downsample guide")?;
        }
        let params = Params {
            img_w: to_u32(w, "photo width")?,
            img_h: to_u32(h, "photo height")?,
            work_w: w2 as u32,
            work_h: h2 as u32,
        };
        let [g0, g1, g2, g3] = self.guide;
        let buffers = [self.image, self.probabilities, g0, g1, g2, g3];
        Ok(kernels
            .get(&DOWNSAMPLE)
            .bind(gpu, &params, &buffers, grid(w2 * h2, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finish::work_size;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;
    use crate::reference::finish::{PAIRS, Plane, area_downsample};

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
            let colour = area_downsample(&img, w2, h2, |_, p| p.0.map(|c| c as f32 / 255.0));
            let mut packed = Vec::new();
            pack_rgba(&img, &mut packed);
            let gimg = upload_words(gpu, &packed);
            let guide = [0; 4].map(|_| gpu.storage("guide", w2 * h2 * 4));
            let op = Downsample {
                image: &gimg,
                probabilities: &gp,
                width: w as usize,
                height: h as usize,
                guide: guide.each_ref(),
                work_width: w2,
                work_height: h2,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            let mut want = [0; 4].map(|_| Vec::new());
            for k in 0..w2 * h2 {
                let i = colour.each_ref().map(|c| c.data[k]);
                let p = mask.sample(k % w2, k / w2, w2, h2);
                let ii = PAIRS.map(|(c, d)| i[c] * i[d]);
                want[0].extend([i[0], i[1], i[2], p]);
                want[1].extend([i[0] * p, i[1] * p, i[2] * p, ii[0]]);
                want[2].extend([ii[1], ii[2], ii[3], ii[4]]);
                want[3].extend([ii[5], 0.0, 0.0, 0.0]);
            }
            let what = format!("downsample {w}x{h} -> {w2}x{h2}");
            for (guide, want) in guide.iter().zip(&want) {
                assert_close(&gpu.read(guide, w2 * h2 * 4).unwrap(), want, 1e-5, &what);
            }
        }
    }
}
