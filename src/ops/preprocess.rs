//! Pixels in: an RGBA8 image of any size (packed, one u32 per pixel) -> the network's input,
//! half-pixel bilinear. Kernel: shaders/preprocess.wgsl. CPU twin:
//! [`reference::network_input`](crate::reference::network_input).

use super::binding::{check, to_u32};
use super::kernels::{Kernels, PREPROCESS};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct SizePair {
    pub in_w: u32,
    pub in_h: u32,
    pub out_w: u32,
    pub out_h: u32,
}

impl SizePair {
    pub(crate) fn new(in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> Result<Self> {
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
            .get(&PREPROCESS)
            .bind(gpu, &params, &[self.image, self.out], grid(pixels, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;
    use crate::reference;

    #[test]
    fn preprocess_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        for (seed, (w, h)) in [(256, 256), (1, 1), (37, 511), (640, 480)]
            .into_iter()
            .enumerate()
        {
            let img = photo(w, h, seed as u64);
            let expected = reference::network_input(&img).unwrap();
            let mut packed = Vec::new();
            pack_rgba(&img, &mut packed);
            let gimg = upload_words(gpu, &packed);
            let out = gpu.storage("input", expected.data.len());
            let op = Preprocess {
                image: &gimg,
                width: w as usize,
                height: h as usize,
                out: &out,
                out_width: 256,
                out_height: 256,
            };
            run_and_check(
                gpu,
                op.bind(gpu, kernels),
                &out,
                &expected.data,
                1e-5,
                &format!("preprocess {w}x{h}"),
            );
        }
    }
}
