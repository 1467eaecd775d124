//! The colour guided filter's affine coefficients from the box means of the four planes
//! [`Downsample`](super::Downsample) writes: a = (cov(I) + eps U)^-1 cov(I, p),
//! b = mean(p) - a . mean(I). Kernel: shaders/guided.wgsl. CPU twin:
//! [`reference::finish::guided_ab`](crate::reference::finish::guided_ab).

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
    /// Box means of the four guide planes (downsample.wgsl's layout), vec4<f32> per pixel.
    pub means: [&'a wgpu::Buffer; 4],
    /// (a.r, a.g, a.b, b) per pixel.
    pub coefficients: &'a wgpu::Buffer,
    pub pixels: usize,
    pub eps: f32,
}

impl Guided<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        for means in self.means {
            check(means, self.pixels * 4, "guided means")?;
        }
        check(self.coefficients, self.pixels * 4, "guided coefficients")?;
        let params = Params {
            len: to_u32(self.pixels, "guided pixels")?,
            eps: self.eps,
            _pad: [0; 2],
        };
        let [m0, m1, m2, m3] = self.means;
        let buffers = [m0, m1, m2, m3, self.coefficients];
        Ok(kernels
            .get(&GUIDED)
            .bind(gpu, &params, &buffers, grid(self.pixels, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finish::GUIDE_EPS;
    use crate::ops::testing::*;
    use crate::reference::finish::guided_ab;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let pixels = 1000;
        // Plausible means: colours and p in [0, 1], the products near theirs plus some spread
        // (a covariance).
        let values = random(pixels * 8, 3);
        let unit = |v: f32| (v + 1.0) / 2.0;
        let mut planes = [0; 4].map(|_| Vec::with_capacity(pixels * 4));
        let mut want = Vec::with_capacity(pixels * 4);
        for v in values.chunks(8) {
            let (i, p) = ([unit(v[0]), unit(v[1]), unit(v[2])], unit(v[3]));
            let spread = |k: usize| v[4 + k] * 0.02;
            let ip = [0, 1, 2].map(|c| i[c] * p + spread(c));
            let ii = crate::reference::finish::PAIRS.map(|(c, d)| {
                i[c] * i[d]
                    + if c == d {
                        spread(3).abs()
                    } else {
                        spread(3) * 0.5
                    }
            });
            planes[0].extend([i[0], i[1], i[2], p]);
            planes[1].extend([ip[0], ip[1], ip[2], ii[0]]);
            planes[2].extend([ii[1], ii[2], ii[3], ii[4]]);
            planes[3].extend([ii[5], 0.0, 0.0, 0.0]);
            let (a, b) = guided_ab(i, p, ip, ii);
            want.extend([a[0], a[1], a[2], b]);
        }
        let means = planes.each_ref().map(|p| gpu.upload("means", p));
        let out = gpu.storage("coefficients", pixels * 4);
        let op = Guided {
            means: means.each_ref(),
            coefficients: &out,
            pixels,
            eps: GUIDE_EPS,
        };
        op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
        let got = gpu.read(&out, pixels * 4).unwrap();
        // The inverse divides by a determinant near eps^3 in flat windows: relative error.
        for (k, (g, c)) in got.iter().zip(&want).enumerate() {
            let scale = want[k - k % 4..][..4]
                .iter()
                .fold(1.0f32, |m, v| m.max(v.abs()));
            assert!(
                (g - c).abs() <= 1e-3 * scale,
                "coefficient {k}: gpu {g} vs cpu {c}"
            );
        }
    }
}
