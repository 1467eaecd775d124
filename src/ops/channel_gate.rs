//! Squeeze-excite gate: mean over pixels, one or two FC layers (relu between), sigmoid.
//! Kernel: shaders/channel_gate.wgsl (one workgroup). CPU twin: global_avg_pool + pointwise_conv
//! + relu/sigmoid in [`crate::cpu`].

use super::binding::{check, check_params, to_u32};
use super::kernels::{CHANNEL_GATE, Kernels};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};
use crate::tensor::Shape;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    pixels: u32,
    c: u32,
    hidden: u32,
    out_c: u32,
    layers: u32,
    _pad: [u32; 3],
}

/// Largest layer width the kernel's workgroup memory holds (MAX_C in the kernel).
pub const MAX_CHANNELS: usize = 1024;

/// One FC layer: weight [out, in] row-major, bias [out].
pub struct Fc<'a> {
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub out: usize,
}

pub struct ChannelGate<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
    /// One or two layers; relu after the first when there are two, sigmoid after the last.
    pub layers: &'a [Fc<'a>],
    pub out: &'a wgpu::Buffer,
}

impl ChannelGate<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input_shape;
        let widths: Vec<usize> = std::iter::once(s.channels)
            .chain(self.layers.iter().map(|l| l.out))
            .collect();
        if !(1..=2).contains(&self.layers.len())
            || widths.iter().any(|&w| w == 0 || w > MAX_CHANNELS)
            || s.pixels() == 0
        {
            return Err(Error::InvalidInput(format!(
                "channel gate: {} layers of widths {widths:?} over {} pixels (1-2 layers, widths 1..={MAX_CHANNELS})",
                self.layers.len(),
                s.pixels()
            )));
        }
        check(self.input, s.len(), "channel gate input")?;
        for (i, l) in self.layers.iter().enumerate() {
            check_params(kernels, l.weight, widths[i] * l.out, "channel gate weight")?;
            check_params(kernels, l.bias, l.out, "channel gate bias")?;
        }
        let last = self.layers.last().expect("checked above");
        check(self.out, last.out, "channel gate out")?;
        let second = self.layers.get(1).unwrap_or(last);
        let params = Params {
            pixels: to_u32(s.pixels(), "pixels")?,
            c: s.channels as u32,
            hidden: self.layers[0].out as u32,
            out_c: last.out as u32,
            layers: self.layers.len() as u32,
            _pad: [0; 3],
        };
        let buffers = [
            self.input,
            self.layers[0].weight,
            self.layers[0].bias,
            second.weight,
            second.bias,
            self.out,
        ];
        Ok(kernels
            .get(&CHANNEL_GATE)
            .bind(gpu, &params, &buffers, [1, 1, 1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::ops::testing::*;
    use crate::tensor::Tensor;

    fn cpu_gate(x: &Tensor, layers: &[(Vec<f32>, Vec<f32>)]) -> Vec<f32> {
        let mut v = cpu::global_avg_pool(x);
        for (i, (w, b)) in layers.iter().enumerate() {
            v = cpu::pointwise_conv(&v, w, b);
            v = cpu::map(
                &v,
                if i + 1 == layers.len() {
                    cpu::sigmoid
                } else {
                    cpu::relu
                },
            );
        }
        v.data
    }

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        // (shape, layer widths): odd widths, >256 channels (two channel blocks), the network's gates.
        let cases: [(Shape, &[usize]); 7] = [
            (Shape::new(1, 1, 1), &[1]),
            (Shape::new(5, 3, 7), &[3, 7]),
            (Shape::new(3, 3, 300), &[5, 300]),
            (Shape::new(64, 64, 16), &[8, 16]),
            (Shape::new(16, 16, 96), &[24, 96]),
            (Shape::new(16, 16, 32), &[128]),
            (Shape::new(128, 128, 16), &[16, 16]),
        ];
        for (seed, (shape, widths)) in cases.iter().enumerate() {
            let x = Tensor::from_vec(*shape, random(shape.len(), seed as u64));
            let mut fan_in = shape.channels;
            let host: Vec<(Vec<f32>, Vec<f32>)> = widths
                .iter()
                .map(|&w| {
                    let l = (random(w * fan_in, w as u64), random(w, 1 + w as u64));
                    fan_in = w;
                    l
                })
                .collect();
            let expected = cpu_gate(&x, &host);
            let bufs: Vec<(wgpu::Buffer, wgpu::Buffer)> = host
                .iter()
                .map(|(w, b)| (gpu.upload("w", w), gpu.upload("b", b)))
                .collect();
            let layers: Vec<Fc> = bufs
                .iter()
                .zip(widths.iter())
                .map(|((w, b), &out)| Fc {
                    weight: w,
                    bias: b,
                    out,
                })
                .collect();
            let (gx, out) = (
                gpu.upload("x", &x.data),
                gpu.storage("gate", expected.len()),
            );
            ChannelGate {
                input: &gx,
                input_shape: *shape,
                layers: &layers,
                out: &out,
            }
            .bind(gpu, kernels)
            .unwrap()
            .run(gpu)
            .unwrap();
            assert_close(
                &gpu.read(&out, expected.len()).unwrap(),
                &expected,
                1e-5,
                &format!("gate {shape} {widths:?}"),
            );
        }
    }
}
