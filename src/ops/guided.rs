//! The guided filter's affine coefficients from the box means of (I, p, I*p, I*I):
//! a = cov(I, p) / (var(I) + eps), b = mean(p) - a * mean(I). Kernel: shaders/guided.wgsl.
//! CPU twin: [`cpu::finish::guided_ab`](crate::cpu::finish::guided_ab).

use super::binding::{check, to_u32};
use super::kernels::{GUIDED, Kernels};
use super::wgsl::WG;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, grid};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    eps: f32,
    _pad: [u32; 2],
}

pub struct Guided<'a> {
    /// Box means of (I, p, I*p, I*I), vec4<f32> per pixel.
    pub means: &'a wgpu::Buffer,
    /// (a, b, 0, 0) per pixel.
    pub coefficients: &'a wgpu::Buffer,
    pub pixels: usize,
    pub eps: f32,
}

impl Guided<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        check(self.means, self.pixels * 4, "guided means")?;
        check(self.coefficients, self.pixels * 4, "guided coefficients")?;
        let params = Params {
            len: to_u32(self.pixels, "guided pixels")?,
            eps: self.eps,
            _pad: [0; 2],
        };
        let buffers = [self.means, self.coefficients];
        Ok(kernels
            .get(&GUIDED)
            .bind(gpu, &params, &buffers, grid(self.pixels, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::finish::guided_ab;
    use crate::finish::GUIDE_EPS;
    use crate::ops::testing::*;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let pixels = 1000;
        // Plausible means: I and p in [0, 1], the products near I*p and I*I.
        let values = random(pixels * 4, 3);
        let means: Vec<f32> = values
            .chunks(4)
            .flat_map(|v| {
                let (i, p) = ((v[0] + 1.0) / 2.0, (v[1] + 1.0) / 2.0);
                [i, p, i * p + v[2] * 0.05, i * i + (v[3] + 1.0) * 0.05]
            })
            .collect();
        let (gm, out) = (gpu.upload("means", &means), gpu.storage("ab", pixels * 4));
        let op = Guided {
            means: &gm,
            coefficients: &out,
            pixels,
            eps: GUIDE_EPS,
        };
        op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
        let want: Vec<f32> = means
            .chunks(4)
            .flat_map(|m| {
                let (a, b) = guided_ab(m[0], m[1], m[2], m[3]);
                [a, b, 0.0, 0.0]
            })
            .collect();
        assert_close(&gpu.read(&out, pixels * 4).unwrap(), &want, 1e-4, "guided");
    }
}
