//! Squeeze-excite gate: mean over pixels (of `input + plus` when a skip is folded in), one or two
//! FC layers (relu between), sigmoid. Kernel: shaders/channel_gate.wgsl (one workgroup). CPU twin:
//! [`reference::channel_gate`](crate::reference::channel_gate).

use super::binding::{check, check_params, optional, to_u32};
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
    has_plus: u32,
    _pad: [u32; 2],
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
    /// Added to `input` before pooling (same shape).
    pub plus: Option<&'a wgpu::Buffer>,
    pub input_shape: Shape,
    /// One or two layers; relu after the first when there are two, sigmoid after the last.
    pub layers: &'a [Fc<'a>],
    /// One gate per frame: [frames, last layer's width].
    pub out: &'a wgpu::Buffer,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
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
        let frames = self.frames;
        check(self.input, frames * s.len(), "channel gate input")?;
        let (plus, has_plus) = optional(gpu, self.plus, frames * s.len(), "channel gate plus")?;
        for (i, l) in self.layers.iter().enumerate() {
            check_params(kernels, l.weight, widths[i] * l.out, "channel gate weight")?;
            check_params(kernels, l.bias, l.out, "channel gate bias")?;
        }
        let last = self.layers.last().expect("checked above");
        check(self.out, frames * last.out, "channel gate out")?;
        let second = self.layers.get(1).unwrap_or(last);
        let params = Params {
            pixels: to_u32(s.pixels(), "pixels")?,
            c: s.channels as u32,
            hidden: self.layers[0].out as u32,
            out_c: last.out as u32,
            layers: self.layers.len() as u32,
            has_plus,
            _pad: [0; 2],
        };
        let buffers = [
            self.input,
            self.layers[0].weight,
            self.layers[0].bias,
            second.weight,
            second.bias,
            self.out,
            plus,
        ];
        Ok(kernels.get(&CHANNEL_GATE).bind(
            gpu,
            &params,
            &buffers,
            [to_u32(frames, "frames")?, 1, 1],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Layer;
    use crate::ops::testing::*;
    use crate::reference;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        // (shape, layer widths): odd widths, >256 channels (two channel blocks), the network's
        // gates; every other case pools a sum (a folded skip).
        let cases: [(Shape, &[usize]); 8] = [
            (Shape::new(1, 1, 1), &[1]),
            (Shape::new(5, 3, 7), &[3, 7]),
            (Shape::new(3, 3, 300), &[5, 300]),
            (Shape::new(64, 64, 16), &[8, 16]),
            (Shape::new(16, 16, 96), &[24, 96]),
            (Shape::new(16, 16, 32), &[128]),
            (Shape::new(128, 128, 16), &[16, 16]),
            (Shape::new(32, 32, 24), &[24, 24]),
        ];
        for (seed, (shape, widths)) in cases.iter().enumerate() {
            // Batches of 1, 2 and 3 frames, each pooled and gated on its own.
            let frames = 1 + seed % 3;
            let xs = tensors(*shape, frames, seed as u64);
            let pluses = (seed % 2 == 1).then(|| tensors(*shape, frames, 100 + seed as u64));
            let mut fan_in = shape.channels;
            let host: Vec<Layer> = widths
                .iter()
                .map(|&w| {
                    let layer = Layer {
                        name: "fc".into(),
                        weight: random(w * fan_in, w as u64),
                        bias: random(w, 1 + w as u64),
                        kernel: 1,
                    };
                    fan_in = w;
                    layer
                })
                .collect();
            let gates: Vec<_> = (0..frames)
                .map(|f| match &pluses {
                    Some(p) => reference::channel_gate(&reference::add(&xs[f], &p[f]), &host),
                    None => reference::channel_gate(&xs[f], &host),
                })
                .collect();
            let expected = concat(&gates);
            let bufs: Vec<[wgpu::Buffer; 2]> = host
                .iter()
                .map(|l| upload_all(gpu, [&l.weight, &l.bias]))
                .collect();
            let layers: Vec<Fc> = bufs
                .iter()
                .zip(widths.iter())
                .map(|([w, b], &out)| Fc {
                    weight: w,
                    bias: b,
                    out,
                })
                .collect();
            let gx = gpu.upload("x", &concat(&xs));
            let gplus = pluses.as_ref().map(|p| gpu.upload("plus", &concat(p)));
            let out = gpu.storage("gate", expected.len());
            let op = ChannelGate {
                input: &gx,
                plus: gplus.as_ref(),
                input_shape: *shape,
                layers: &layers,
                out: &out,
                frames,
            };
            let what = format!(
                "gate {shape} {widths:?} x{frames} plus={}",
                pluses.is_some()
            );
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
        }
    }
}
