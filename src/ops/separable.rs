//! A separable filter over a plane of vec4<f32>, as two passes (horizontal into `tmp`, then
//! vertical into `dst`): the guided filter's box means, or the background's Gaussian blur.
//! Kernel: shaders/separable.wgsl. CPU twins: [`cpu::finish::box_mean`](crate::cpu::finish::box_mean)
//! and [`cpu::finish::separable`](crate::cpu::finish::separable).

use super::binding::{check, to_u32};
use super::kernels::{Kernels, SEPARABLE};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};

/// Read from a storage buffer, not a uniform (see the kernel: lavapipe leaked a JIT variant per
/// dispatch of a uniform-steered loop).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    w: u32,
    h: u32,
    horizontal: u32,
    radius: u32,
    box_mode: u32,
    _pad: [u32; 3],
}

#[derive(Clone, Copy)]
pub enum Filter<'a> {
    /// The mean over [x - radius, x + radius], clipped at the borders.
    Box { radius: usize },
    /// Symmetric weights `taps[0..len]` (f32), edges clamped.
    Taps { taps: &'a wgpu::Buffer, len: usize },
}

pub struct Separable<'a> {
    pub src: &'a wgpu::Buffer,
    /// Holds the horizontal pass (same size as `src`).
    pub tmp: &'a wgpu::Buffer,
    pub dst: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
    pub filter: Filter<'a>,
}

impl Separable<'_> {
    /// Both passes, in order.
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<[Dispatch; 2]> {
        let len = self.width * self.height * 4;
        for (buffer, what) in [(self.src, "src"), (self.tmp, "tmp"), (self.dst, "dst")] {
            check(buffer, len, &format!("separable {what}"))?;
        }
        let (radius, weights, box_mode) = match self.filter {
            Filter::Box { radius } => (radius, &gpu.empty, 1),
            Filter::Taps { taps, len } => {
                if len == 0 {
                    return Err(Error::InvalidInput("separable: no taps".into()));
                }
                check(taps, len, "separable taps")?;
                (len - 1, taps, 0)
            }
        };
        let pass = |horizontal: bool, from: &wgpu::Buffer, to: &wgpu::Buffer| -> Result<Dispatch> {
            let params = Params {
                w: to_u32(self.width, "separable width")?,
                h: to_u32(self.height, "separable height")?,
                horizontal: horizontal as u32,
                radius: to_u32(radius, "separable radius")?,
                box_mode,
                _pad: [0; 3],
            };
            let workgroups = grid(self.width * self.height, WG);
            Ok(kernels
                .get(&SEPARABLE)
                .bind(gpu, &params, &[from, weights, to], workgroups))
        };
        Ok([
            pass(true, self.src, self.tmp)?,
            pass(false, self.tmp, self.dst)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::finish::{Plane, box_mean, separable};
    use crate::finish::gaussian_taps;
    use crate::ops::testing::*;

    /// Runs the filter on four random planes (one per vec4 lane) and checks each lane against
    /// `cpu` on that plane.
    fn check_filter(w: usize, h: usize, filter: Filter, cpu: impl Fn(&Plane) -> Plane) {
        let Some((gpu, kernels)) = gpu() else { return };
        let planes: Vec<Plane> = (0..4)
            .map(|seed| Plane {
                width: w,
                height: h,
                data: random(w * h, seed),
            })
            .collect();
        let interleaved: Vec<f32> = (0..w * h)
            .flat_map(|i| planes.iter().map(move |p| p.data[i]))
            .collect();
        let src = gpu.upload("src", &interleaved);
        let (tmp, dst) = (gpu.storage("tmp", w * h * 4), gpu.storage("dst", w * h * 4));
        let op = Separable {
            src: &src,
            tmp: &tmp,
            dst: &dst,
            width: w,
            height: h,
            filter,
        };
        for d in op.bind(gpu, kernels).unwrap() {
            d.run(gpu).unwrap();
        }
        let got = gpu.read(&dst, w * h * 4).unwrap();
        for (lane, plane) in planes.iter().enumerate() {
            let lane_got: Vec<f32> = got.iter().skip(lane).step_by(4).copied().collect();
            assert_close(
                &lane_got,
                &cpu(plane).data,
                1e-5,
                &format!("{w}x{h} lane {lane}"),
            );
        }
    }

    #[test]
    fn box_filter_matches_cpu() {
        for (w, h, radius) in [(1, 1, 4), (13, 7, 4), (512, 384, 4), (9, 40, 30)] {
            check_filter(w, h, Filter::Box { radius }, |p| box_mean(p, radius));
        }
    }

    #[test]
    fn gaussian_matches_cpu() {
        let Some((gpu, _)) = gpu() else { return };
        for (w, h, sigma) in [(1, 1, 2.0), (17, 11, 1.5), (320, 240, 12.0), (8, 60, 64.0)] {
            let taps = gaussian_taps(sigma);
            let buffer = gpu.upload("taps", &taps);
            let filter = Filter::Taps {
                taps: &buffer,
                len: taps.len(),
            };
            check_filter(w, h, filter, |p| separable(p, &taps));
        }
    }
}
