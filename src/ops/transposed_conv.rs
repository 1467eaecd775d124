//! 2x2 stride-2 transposed convolution, kernel not flipped (the segmentation head).
//! Kernel: shaders/transposed_conv.wgsl. CPU twin:
//! [`cpu::transposed_conv2x2`](crate::cpu::transposed_conv2x2).

use super::binding::{Epilogue, check, check_params, epilogue_constants, optional, to_u32};
use super::kernels::{Kernels, TRANSPOSED_CONV};
use super::wgsl::WG;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, grid};
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

/// 2x2 stride-2 transposed convolution, kernel not flipped: weight [cout, 2, 2, cin], bias [cout].
pub struct TransposedConv2x2<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
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
        let buffers = [self.input, self.weight, self.bias, add, self.out];
        Ok(kernels
            .variant(gpu, &TRANSPOSED_CONV, epilogue_constants(&self.epilogue))
            .bind(gpu, &params, &buffers, grid(out_len, WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::network::Activation;
    use crate::ops::testing::*;

    #[test]
    fn transposed_conv_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let cases = [
            (Shape::new(1, 1, 1), 1),
            (Shape::new(3, 5, 7), 2),
            (Shape::new(128, 128, 16), 1),
        ];
        for (seed, &(shape, cout)) in cases.iter().enumerate() {
            let frames = frames_for(seed);
            let xs = tensors(shape, frames, seed as u64);
            let (w, b) = (random(cout * 4 * shape.channels, 5), random(cout, 6));
            let conv = |x| cpu::map(&cpu::transposed_conv2x2(x, &w, &b), cpu::sigmoid);
            let expected = concat(&xs.iter().map(conv).collect::<Vec<_>>());
            let [gx, gw, gb] = upload_all(gpu, [&concat(&xs), &w, &b]);
            let out = gpu.storage("out", expected.len());
            let op = TransposedConv2x2 {
                input: &gx,
                input_shape: shape,
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
                &format!("transposed {shape} x{frames}"),
            );
        }
    }
}
