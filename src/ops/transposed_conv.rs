//! 2x2 stride-2 transposed convolution, kernel not flipped (the segmentation head), of its input
//! or of a depthwise of it computed as loaded. Kernel: shaders/transposed_conv.wgsl. CPU twin:
//! [`reference::transposed_conv2x2`](crate::reference::transposed_conv2x2), after
//! [`reference::depthwise_conv2d`](crate::reference::depthwise_conv2d) for the computed input.

use super::binding::{Epilogue, check, check_params, epilogue_constants, optional, to_u32};
use super::kernels::{Kernels, TRANSPOSED_CONV};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::Activation;
use crate::tensor::Shape;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TransposedParams {
    in_h: u32,
    in_w: u32,
    cin: u32,
    cout: u32,
    frames: u32,
    _pad: u32,
}

/// The widest computed input's depthwise: what the head's fusion offers and the tests reach.
const MAX_DEPTHWISE_KERNEL: usize = 5;

/// The head's input computed as it is loaded: `act(depthwise(input))`, plus `input` where
/// `residual`; a stride-1 depthwise, SAME padding, weight [kernel, kernel, cin], bias [cin].
#[derive(Clone, Copy)]
pub struct ComputedInput<'a> {
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub kernel: usize,
    pub act: Activation,
    pub residual: bool,
}

/// 2x2 stride-2 transposed convolution, kernel not flipped: weight [cout, 2, 2, cin], bias [cout].
pub struct TransposedConv2x2<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
    /// The input as loaded, when not `input` itself.
    pub computed: Option<ComputedInput<'a>>,
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub out_channels: usize,
    pub epilogue: Epilogue<'a>,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
}

impl TransposedConv2x2<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input_shape;
        let out_len = self.frames * 4 * s.pixels() * self.out_channels;
        check(self.input, self.frames * s.len(), "transposed conv input")?;
        check_params(
            kernels,
            self.weight,
            self.out_channels * 4 * s.channels,
            "transposed conv weight",
        )?;
        check_params(
            kernels,
            self.bias,
            self.out_channels,
            "transposed conv bias",
        )?;
        check(self.out, out_len, "transposed conv out")?;
        let (add, _) = optional(gpu, self.epilogue.add, out_len, "transposed conv add")?;
        let params = TransposedParams {
            in_h: s.height as u32,
            in_w: s.width as u32,
            cin: s.channels as u32,
            cout: self.out_channels as u32,
            frames: self.frames as u32,
            _pad: 0,
        };
        to_u32(out_len, "transposed conv output size")?;
        let mut constants = epilogue_constants(&self.epilogue);
        // One thread an output, or (computed) the 2x2 blocks of one output channel that 4
        // neighbouring input pixels of a row make.
        let (mut threads, mut dw) = (out_len, [&gpu.empty, &gpu.empty]);
        if let Some(c) = self.computed {
            if !(1..=MAX_DEPTHWISE_KERNEL).contains(&c.kernel) {
                return Err(Error::InvalidInput(format!(
                    "transposed conv: a computed input's depthwise is {0}x{0}, over {MAX_DEPTHWISE_KERNEL}",
                    c.kernel
                )));
            }
            let taps = c.kernel * c.kernel * s.channels;
            check_params(
                kernels,
                c.weight,
                taps,
                "transposed conv's depthwise weight",
            )?;
            check_params(
                kernels,
                c.bias,
                s.channels,
                "transposed conv's depthwise bias",
            )?;
            constants.extend([
                ("COMPUTED", 1),
                ("DW_KERNEL", to_u32(c.kernel, "depthwise kernel")?),
                ("PRO_ACT", c.act as u32),
                ("RESIDUAL", c.residual as u32),
                ("LANES", if s.channels.is_multiple_of(4) { 4 } else { 1 }),
            ]);
            let blocks = self.frames * s.height * s.width.div_ceil(4) * self.out_channels;
            (threads, dw) = (blocks, [c.weight, c.bias]);
        }
        let buffers = [
            self.input,
            self.weight,
            self.bias,
            add,
            self.out,
            dw[0],
            dw[1],
        ];
        Ok(kernels.variant(gpu, &TRANSPOSED_CONV, constants).bind(
            gpu,
            &params,
            &buffers,
            grid(threads, WG),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::reference;
    use crate::tensor::Tensor;

    /// Of the input, and of a depthwise of it computed as loaded (3x3 with its input added, as
    /// the network's last refinement; 5x5 without), on odd shapes and the network's.
    #[test]
    fn transposed_conv_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let cases = [
            (Shape::new(1, 1, 1), 1),
            (Shape::new(3, 5, 7), 2),
            (Shape::new(128, 128, 16), 1),
        ];
        let prologues = [
            None,
            Some((3, Activation::Relu, true)),
            Some((5, Activation::HardSwish, false)),
        ];
        for (seed, &(shape, cout)) in cases.iter().enumerate() {
            for (case, prologue) in prologues.into_iter().enumerate() {
                let frames = frames_for(seed + case);
                let xs = tensors(shape, frames, seed as u64);
                let (w, b) = (random(cout * 4 * shape.channels, 5), random(cout, 6));
                let kernel = prologue.map_or(1, |(k, ..)| k);
                let (dw_w, dw_b) = (
                    random(kernel * kernel * shape.channels, 7),
                    random(shape.channels, 8),
                );
                // The input as loaded, then the head.
                let conv = |x: &Tensor| {
                    let x = match prologue {
                        None => x.clone(),
                        Some((k, act, residual)) => {
                            let y = reference::depthwise_conv2d(x, &dw_w, &dw_b, k, 1);
                            let y = reference::map(&y, |v| act.apply(v));
                            if residual { reference::add(&y, x) } else { y }
                        }
                    };
                    reference::map(
                        &reference::transposed_conv2x2(&x, &w, &b),
                        reference::sigmoid,
                    )
                };
                let expected = concat(&xs.iter().map(conv).collect::<Vec<_>>());
                let [gx, gw, gb, gdw_w, gdw_b] =
                    upload_all(gpu, [&concat(&xs), &w, &b, &dw_w, &dw_b]);
                let out = gpu.storage("out", expected.len());
                let op = TransposedConv2x2 {
                    input: &gx,
                    input_shape: shape,
                    computed: prologue.map(|(kernel, act, residual)| ComputedInput {
                        weight: &gdw_w,
                        bias: &gdw_b,
                        kernel,
                        act,
                        residual,
                    }),
                    weight: &gw,
                    bias: &gb,
                    out: &out,
                    out_channels: cout,
                    epilogue: Epilogue {
                        act: Activation::Sigmoid,
                        add: None,
                    },
                    frames,
                };
                run_and_check(
                    gpu,
                    op.bind(gpu, kernels),
                    &out,
                    &expected,
                    1e-5,
                    &format!("transposed {shape} x{frames}, prologue {prologue:?}"),
                );
            }
        }
    }
}
