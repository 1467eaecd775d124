//! Depthwise KxK convolution, NHWC, TFLite SAME padding (the same window geometry as conv2d).
//! Kernel: shaders/depthwise.wgsl. CPU twin: [`reference::depthwise_conv2d`](crate::reference::depthwise_conv2d).

use super::binding::{Epilogue, check_params};
use super::conv2d::{Window, WindowParams, same_geometry, window_constants};
use super::kernels::{DEPTHWISE, Kernels};
use super::sums::Sums;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu};
use crate::tensor::Shape;

/// Depthwise KxK convolution: weight [k, k, c], bias [c].
pub struct Depthwise<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub kernel: usize,
    pub stride: usize,
    pub epilogue: Epilogue<'a>,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
    /// Also write the output's per-channel [`Sums`](super::Sums) after it (for a gate pooled
    /// downstream): each thread sums its own rows.
    pub pool: bool,
}

/// Groups of whole rows a pooling depthwise splits a frame into, at most: a thread computes a
/// group's rows for 4 channels and writes their sums itself (no workgroup memory, no barrier).
const POOL_GROUPS: usize = 64;

/// Outputs of a row one thread computes (depthwise.wgsl's `PIXELS`, its `Outputs`).
const PIXELS: usize = 4;

impl Depthwise<'_> {
    /// How a pooling depthwise groups the sums of an `out`-shaped output: whole rows, at most
    /// [`POOL_GROUPS`] groups a frame.
    pub fn sums(out: Shape) -> Sums {
        let sums = Sums::rows(out, POOL_GROUPS);
        // A thread steps through its group a row at a time.
        debug_assert!(sums.per_group.is_multiple_of(out.width.max(1)));
        sums
    }

    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input_shape;
        let (out, _, _) = same_geometry(s, self.kernel, self.stride, s.channels)?;
        // 4 channels a thread as a vec4 where they divide evenly (all of this network's).
        let lanes = if s.channels.is_multiple_of(4) { 4 } else { 1 };
        let sums = self.pool.then(|| Depthwise::sums(out));
        let window = Window {
            input: s,
            out,
            kernel: self.kernel,
            stride: self.stride,
            frames: self.frames,
            sums,
        };
        // A thread per block of lanes of a group of rows (pooling), else of PIXELS outputs.
        let lane_groups = s.channels / lanes;
        let items = match sums {
            Some(sums) => sums.groups() * lane_groups,
            None => out.height * out.width.div_ceil(PIXELS) * lane_groups,
        };
        let (params, add, workgroups) = WindowParams::checked(
            gpu,
            (self.input, self.out),
            &self.epilogue,
            &window,
            items,
            "depthwise",
        )?;
        check_params(
            kernels,
            self.weight,
            self.kernel * self.kernel * s.channels,
            "depthwise weight",
        )?;
        check_params(kernels, self.bias, s.channels, "depthwise bias")?;
        let buffers = [self.input, self.weight, self.bias, add, self.out];
        let mut constants = window_constants(&self.epilogue, self.kernel);
        constants.push(("STRIDE", self.stride as u32));
        constants.push(("LANES", lanes as u32));
        constants.push(("POOL", self.pool as u32));
        Ok(kernels
            .variant(gpu, &DEPTHWISE, constants)
            .bind(gpu, &params, &buffers, workgroups))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;
    use crate::ops::testing::*;
    use crate::reference;

    #[test]
    fn the_blocking_is_the_kernels() {
        let source = crate::ops::kernel_source("depthwise", crate::gpu::Precision::F32).unwrap();
        assert!(source.contains(&format!("const PIXELS:u32={PIXELS}u;")));
        // Four sums, one a pixel.
        let sums: Vec<_> = (0..PIXELS).map(|i| format!("s{i}:vec4<f32>")).collect();
        assert!(source.contains(&format!("struct Outputs{{{}}}", sums.join(","))));
    }

    #[test]
    fn depthwise_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let cases = [
            (Shape::new(5, 5, 1), 5, 2),
            (Shape::new(7, 3, 6), 3, 2),
            (Shape::new(9, 8, 5), 3, 1),
            (Shape::new(128, 128, 16), 3, 2),
            (Shape::new(32, 32, 96), 5, 2),
            (Shape::new(16, 16, 128), 5, 1),
            (Shape::new(32, 32, 88), 3, 1),
            // Pooled groups of 3 rows, the last of 1, and a last block of a row 1 output wide.
            (Shape::new(260, 9, 8), 3, 2),
            // One channel a thread, pooled groups of 3 rows, the last of 1.
            (Shape::new(130, 5, 3), 3, 1),
            // Wider than a row of 4 outputs' window held in registers once was (16 columns).
            (Shape::new(20, 19, 4), 17, 1),
        ];
        for (seed, &(shape, k, stride)) in cases.iter().enumerate() {
            let frames = frames_for(seed);
            let xs = tensors(shape, frames, seed as u64);
            let (w, b) = (random(k * k * shape.channels, 3), random(shape.channels, 4));
            let conv = |x| {
                reference::map(
                    &reference::depthwise_conv2d(x, &w, &b, k, stride),
                    reference::relu,
                )
            };
            let convs: Vec<_> = xs.iter().map(conv).collect();
            let adds = tensors(convs[0].shape, frames, 9);
            let sums: Vec<_> = convs
                .iter()
                .zip(&adds)
                .map(|(c, a)| reference::add(c, a))
                .collect();
            let expected = concat(&sums);
            let [gx, gw, gb, ga] = upload_all(gpu, [&concat(&xs), &w, &b, &concat(&adds)]);
            let pooled = Depthwise::sums(sums[0].shape);
            let out = gpu.storage("out", expected.len() + frames * pooled.len());
            let mut op = Depthwise {
                input: &gx,
                input_shape: shape,
                weight: &gw,
                bias: &gb,
                out: &out,
                kernel: k,
                stride,
                epilogue: Epilogue {
                    act: Activation::Relu,
                    add: Some(&ga),
                },
                frames,
                pool: false,
            };
            let what = format!("depthwise {shape} k{k} s{stride} x{frames}");
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
            op.pool = true;
            let check = (expected.as_slice(), pooled, frames);
            run_and_check_pooled(gpu, op.bind(gpu, kernels), &out, check, &what);
        }
    }
}
