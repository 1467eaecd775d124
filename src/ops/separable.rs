//! A separable filter over a plane of vec4<f32>, as two passes (horizontal into `tmp`, then
//! vertical into `dst`): the guided filter's box means, or the background's Gaussian blur.
//! Kernel: shaders/separable.wgsl. CPU twins: [`reference::finish::box_mean`](crate::reference::finish::box_mean)
//! and [`reference::finish::separable`](crate::reference::finish::separable).

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
    unweigh: u32,
    _pad: [u32; 2],
}

#[derive(Clone, Copy)]
pub enum Filter<'a> {
    /// The mean over [x - radius, x + radius], clipped at the borders.
    Box { radius: usize },
    /// Symmetric weights `taps[0..len]` (f32), edges clamped. With `unweigh`, the vertical pass
    /// writes (r / w, g / w, b / w, 1) of the filtered (r, g, b, w) ([`crate::finish::unweigh`]):
    /// the background blur's normalised convolution.
    Taps {
        taps: &'a wgpu::Buffer,
        len: usize,
        unweigh: bool,
    },
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
        let (radius, weights, box_mode, unweigh) = match self.filter {
            Filter::Box { radius } => (radius, &gpu.empty, 1, false),
            Filter::Taps { taps, len, unweigh } => {
                if len == 0 {
                    return Err(Error::InvalidInput("separable: no taps".into()));
                }
                check(taps, len, "separable taps")?;
                (len - 1, taps, 0, unweigh)
            }
        };
        let pass = |horizontal: bool, from: &wgpu::Buffer, to: &wgpu::Buffer| -> Result<Dispatch> {
            let params = Params {
                w: to_u32(self.width, "separable width")?,
                h: to_u32(self.height, "separable height")?,
                horizontal: horizontal as u32,
                radius: to_u32(radius, "separable radius")?,
                box_mode,
                unweigh: (unweigh && !horizontal) as u32,
                _pad: [0; 2],
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
    use crate::finish::gaussian_taps;
    use crate::ops::testing::*;
    use crate::reference::finish::{Plane, box_mean, separable, unweighed};

    /// Runs the filter on four random planes (one per vec4 lane; the last, a weight, in [0, 1])
    /// and checks each lane against the lane of `cpu` on the four.
    fn check_filter(w: usize, h: usize, filter: Filter, cpu: impl Fn([Plane; 4]) -> [Plane; 4]) {
        let Some((gpu, kernels)) = gpu() else { return };
        let planes = [0, 1, 2, 3].map(|seed| Plane {
            width: w,
            height: h,
            data: random(w * h, seed)
                .into_iter()
                .map(|v| if seed == 3 { v.abs() } else { v })
                .collect(),
        });
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
        for (lane, plane) in cpu(planes).iter().enumerate() {
            let lane_got: Vec<f32> = got.iter().skip(lane).step_by(4).copied().collect();
            assert_close(
                &lane_got,
                &plane.data,
                1e-5,
                &format!("{w}x{h} lane {lane}"),
            );
        }
    }

    #[test]
    fn box_filter_matches_cpu() {
        for (w, h, radius) in [(1, 1, 4), (13, 7, 4), (512, 384, 4), (9, 40, 30)] {
            check_filter(w, h, Filter::Box { radius }, |planes| {
                planes.map(|p| box_mean(&p, radius))
            });
        }
    }

    #[test]
    fn gaussian_matches_cpu() {
        let Some((gpu, _)) = gpu() else { return };
        for (w, h, sigma) in [(1, 1, 2.0), (17, 11, 1.5), (320, 240, 12.0), (8, 60, 64.0)] {
            let taps = gaussian_taps(sigma);
            let buffer = gpu.upload("taps", &taps);
            let len = taps.len();
            let plain = Filter::Taps {
                taps: &buffer,
                len,
                unweigh: false,
            };
            let blur = |planes: [Plane; 4]| planes.map(|p| separable(&p, &taps));
            check_filter(w, h, plain, blur);
            // The background blur's normalised convolution: colour over weight, weight 1.
            let unweighing = Filter::Taps {
                taps: &buffer,
                len,
                unweigh: true,
            };
            check_filter(w, h, unweighing, |planes| {
                let [r, g, b] = unweighed(blur(planes));
                let one = Plane {
                    data: vec![1.0; w * h],
                    ..r.clone()
                };
                [r, g, b, one]
            });
        }
    }
}
