//! KxK convolution over all input channels (the stem), NHWC, TFLite SAME padding.
//! Kernel: shaders/conv2d.wgsl. CPU twin: [`reference::conv2d`](crate::reference::conv2d).

use super::binding::{Epilogue, check, check_params, epilogue_constants, optional, to_u32};
use super::kernels::{CONV2D, Constants, Kernels};
use super::sums::Sums;
use super::wgsl::WINDOW_WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::same_padding;
use crate::tensor::Shape;

/// SAME-padding geometry shared by the strided convolutions: (out shape, pad top, pad left).
pub(crate) fn same_geometry(
    input: Shape,
    kernel: usize,
    stride: usize,
    out_channels: usize,
) -> Result<(Shape, u32, u32)> {
    if kernel == 0 || stride == 0 || input.is_empty() {
        return Err(Error::InvalidInput(format!(
            "conv: kernel {kernel}, stride {stride}, input {input}"
        )));
    }
    let (oh, pad_top) = same_padding(input.height, kernel, stride);
    let (ow, pad_left) = same_padding(input.width, kernel, stride);
    Ok((
        Shape::new(oh, ow, out_channels),
        pad_top as u32,
        pad_left as u32,
    ))
}

/// The uniform block of conv2d.wgsl and depthwise.wgsl (depthwise has cout == cin).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct WindowParams {
    in_h: u32,
    in_w: u32,
    cin: u32,
    out_h: u32,
    out_w: u32,
    cout: u32,
    stride: u32,
    pad_top: u32,
    pad_left: u32,
    frames: u32,
    pool_groups: u32,
    pool_pixels: u32,
    items: u32,
}

/// The most output channels one thread of conv2d.wgsl computes (its `Block`: four vec4s).
pub(crate) const CONV_BLOCK: usize = 16;
/// Neighbouring pixels one thread of conv2d.wgsl computes at once (its `PIXELS`, its `Blocks`),
/// each weight loaded once for them all.
const PIXELS: usize = 4;
/// Groups a pooling conv2d splits a frame's pixels into, at most: a thread computes a group's
/// pixels one after another and writes their sums itself (no workgroup memory, no barrier). So
/// many that the stem keeps 1024 threads, few enough that its reader adds them up quickly.
const CONV_POOL_GROUPS: usize = 1024;

/// Output channels per thread of conv2d.wgsl (its `BLOCK`): the largest divisor of `cout` up
/// to [`CONV_BLOCK`], so every thread has a full group.
fn outs_per_thread(cout: usize) -> usize {
    (1..=CONV_BLOCK.min(cout))
        .rev()
        .find(|&d| cout.is_multiple_of(d))
        .unwrap_or(1)
}

/// A conv2d weight [cout, k, k, cin] as conv2d.wgsl reads it: for each group of
/// [`outs_per_thread`] output channels, each tap (ky, kx, c), the group's weights, zero-padded
/// to a multiple of 4 (one vec4 load per 4 channels).
pub fn pack_weight(weight: &[f32], cout: usize) -> Vec<f32> {
    let taps = weight.len() / cout.max(1);
    let block = outs_per_thread(cout);
    let padded = block.next_multiple_of(4);
    let mut packed = vec![0.0; packed_len(cout, taps)];
    for (o, per_out) in weight.chunks_exact(taps).enumerate() {
        let (group, j) = (o / block, o % block);
        for (tap, &v) in per_out.iter().enumerate() {
            packed[(group * taps + tap) * padded + j] = v;
        }
    }
    packed
}

/// The length of [`pack_weight`]'s layout for `cout` output channels of `taps` taps each.
fn packed_len(cout: usize, taps: usize) -> usize {
    let block = outs_per_thread(cout);
    cout / block * taps * block.next_multiple_of(4)
}

/// The windowed convolutions' pipeline constants: the epilogue's and the kernel size (so the
/// window loops unroll).
pub(crate) fn window_constants(epilogue: &Epilogue, kernel: usize) -> Constants {
    let mut constants = epilogue_constants(epilogue);
    constants.push(("KERNEL", kernel as u32));
    constants
}

/// The work of one windowed dispatch: the geometry (input, output, kernel, stride), the frames,
/// and the sums it leaves after its output when pooling (each kernel's grouping).
pub(crate) struct Window {
    pub input: Shape,
    pub out: Shape,
    pub kernel: usize,
    pub stride: usize,
    pub frames: usize,
    pub sums: Option<Sums>,
}

impl WindowParams {
    /// Checks the input, output and optional add buffers, then lays out the window geometry.
    /// `items`: the threads one frame takes (the kernel's blocking; when pooling, a group's
    /// share). Returns the grid too.
    pub(crate) fn checked<'a>(
        gpu: &'a Gpu,
        (input, out_buffer): (&wgpu::Buffer, &wgpu::Buffer),
        epilogue: &Epilogue<'a>,
        window: &Window,
        items: usize,
        what: &str,
    ) -> Result<(WindowParams, &'a wgpu::Buffer, [u32; 3])> {
        let Window {
            input: s,
            out,
            kernel,
            stride,
            frames,
            sums,
        } = *window;
        let (_, pad_top, pad_left) = same_geometry(s, kernel, stride, out.channels)?;
        if let Some(sums) = sums {
            debug_assert_eq!((sums.pixels, sums.channels), (out.pixels(), out.channels));
        }
        let sums_len = sums.map_or(0, |s| s.len());
        check(input, frames * s.len(), what)?;
        check(out_buffer, frames * (out.len() + sums_len), what)?;
        to_u32(frames * (out.len() + sums_len), what)?;
        to_u32(frames * items, what)?;
        let (add, _) = optional(gpu, epilogue.add, frames * out.len(), what)?;
        let params = WindowParams {
            in_h: s.height as u32,
            in_w: s.width as u32,
            cin: s.channels as u32,
            out_h: out.height as u32,
            out_w: out.width as u32,
            cout: out.channels as u32,
            stride: stride as u32,
            pad_top,
            pad_left,
            frames: frames as u32,
            pool_groups: sums.map_or(0, |s| s.groups() as u32),
            pool_pixels: sums.map_or(0, |s| s.per_group as u32),
            items: items as u32,
        };
        let workgroups = grid(frames * items, WINDOW_WG);
        Ok((params, add, workgroups))
    }
}

/// KxK convolution: weight [cout, k, k, cin] as [`pack_weight`] lays it out, bias [cout].
pub struct Conv2d<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub epilogue: Epilogue<'a>,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
    /// Also write the output's per-channel [`Sums`] after it (for a gate pooled downstream).
    pub pool: bool,
}

impl Conv2d<'_> {
    /// How a pooling conv2d groups the sums of an `out`-shaped output: runs of consecutive
    /// pixels, at most [`CONV_POOL_GROUPS`] a frame.
    pub fn sums(out: Shape) -> Sums {
        Sums::new(
            out.pixels(),
            out.channels,
            out.pixels().div_ceil(CONV_POOL_GROUPS),
        )
    }

    pub fn output_shape(&self) -> Result<Shape> {
        same_geometry(
            self.input_shape,
            self.kernel,
            self.stride,
            self.out_channels,
        )
        .map(|g| g.0)
    }

    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input_shape;
        let out = self.output_shape()?;
        let block = outs_per_thread(self.out_channels);
        let sums = self.pool.then(|| Conv2d::sums(out));
        let window = Window {
            input: s,
            out,
            kernel: self.kernel,
            stride: self.stride,
            frames: self.frames,
            sums,
        };
        // A thread per block of channels of PIXELS pixels, or of a group's pixels when pooling.
        let blocks = self.out_channels / block;
        let items = sums.map_or(out.pixels().div_ceil(PIXELS), |sums| sums.groups()) * blocks;
        let (params, add, workgroups) = WindowParams::checked(
            gpu,
            (self.input, self.out),
            &self.epilogue,
            &window,
            items,
            "conv2d",
        )?;
        let taps = self.kernel * self.kernel * s.channels;
        let weights = packed_len(self.out_channels, taps);
        check_params(kernels, self.weight, weights, "conv2d weight")?;
        check_params(kernels, self.bias, self.out_channels, "conv2d bias")?;
        let buffers = [self.input, self.weight, self.bias, add, self.out];
        let mut constants = window_constants(&self.epilogue, self.kernel);
        constants.push(("BLOCK", block as u32));
        constants.push(("GROUPS", (self.out_channels / block) as u32));
        constants.push(("CIN", s.channels as u32));
        constants.push(("POOL", self.pool as u32));
        Ok(kernels
            .variant(gpu, &CONV2D, constants)
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
    fn the_channel_group_is_the_kernels() {
        let source = crate::ops::kernel_source("conv2d", crate::gpu::Precision::F32).unwrap();
        let quads: Vec<_> = (0..CONV_BLOCK / 4)
            .map(|q| format!("s{q}:vec4<f32>"))
            .collect();
        assert!(source.contains(&format!("struct Block{{{}}}", quads.join(","))));
        assert!(source.contains(&format!("const PIXELS:u32={PIXELS}u;")));
        let blocks: Vec<_> = (0..PIXELS).map(|i| format!("b{i}:Block")).collect();
        assert!(source.contains(&format!("struct Blocks{{{}}}", blocks.join(","))));
        assert_eq!(outs_per_thread(16), 16);
        assert_eq!(outs_per_thread(21), 7);
        assert_eq!(outs_per_thread(17), 1);
        assert_eq!(outs_per_thread(5), 5);
    }

    #[test]
    fn conv2d_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        // (input, cout, kernel, stride): odd sizes, asymmetric padding, and the network's stem.
        let cases = [
            (Shape::new(7, 5, 3), 4, 3, 2),
            (Shape::new(9, 9, 2), 5, 5, 2),
            (Shape::new(6, 11, 1), 3, 3, 1),
            (Shape::new(1, 1, 3), 2, 3, 2),
            (Shape::new(8, 6, 3), 21, 3, 2),
            (Shape::new(256, 256, 3), 16, 3, 2),
            // Pooling: 6 blocks of channels, and 2170 pixels in groups of 3, the last of 1.
            (Shape::new(12, 10, 2), 96, 3, 1),
            (Shape::new(70, 31, 3), 8, 3, 1),
            // Two blocks of 16 channels, and 7 a block, pooled over groups of 3 pixels.
            (Shape::new(70, 31, 3), 32, 3, 1),
            (Shape::new(70, 31, 2), 7, 3, 1),
        ];
        for (seed, &(shape, cout, k, stride)) in cases.iter().enumerate() {
            let frames = frames_for(seed);
            let xs = tensors(shape, frames, seed as u64);
            let (w, b) = (random(cout * k * k * shape.channels, 7), random(cout, 8));
            let conv = |x| {
                reference::map(
                    &reference::conv2d(x, &w, &b, k, stride),
                    reference::hard_swish,
                )
            };
            let per_frame: Vec<_> = xs.iter().map(conv).collect();
            let expected = concat(&per_frame);
            let packed = pack_weight(&w, cout);
            let [gx, gw, gb] = upload_all(gpu, [&concat(&xs), &packed, &b]);
            let pooled = Conv2d::sums(per_frame[0].shape);
            let out = gpu.storage("out", expected.len() + frames * pooled.len());
            let mut op = Conv2d {
                input: &gx,
                input_shape: shape,
                weight: &gw,
                bias: &gb,
                out: &out,
                out_channels: cout,
                kernel: k,
                stride,
                epilogue: Epilogue {
                    act: Activation::HardSwish,
                    add: None,
                },
                frames,
                pool: false,
            };
            assert_eq!(op.output_shape().unwrap(), per_frame[0].shape);
            let what = format!("conv2d {shape} k{k} s{stride} x{frames}");
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
            op.pool = true;
            let check = (expected.as_slice(), pooled, frames);
            run_and_check_pooled(gpu, op.bind(gpu, kernels), &out, check, &what);
        }
    }
}
