//! Squeeze-excite gate: mean over pixels (of `input + plus` when a skip is folded in), one or two
//! FC layers (relu between), sigmoid. Kernel: shaders/channel_gate.wgsl (one workgroup a frame).
//! It reads a tensor's pixels, or the per-group sums its producer left after it (ops/sums.rs):
//! on SwiftShader a 128x128x16 gate took 5 ms from the pixels, and each 1x1 that computed its
//! gate in a prologue from the sums paid 0.5-6 ms for it. CPU twin:
//! [`reference::channel_gate`](crate::reference::channel_gate).

use super::binding::{check, check_params, to_u32};
use super::kernels::{CHANNEL_GATE, Kernels};
use super::sums::Sums;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};
use crate::tensor::Shape;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    c: u32,
    hidden: u32,
    out_c: u32,
    layers: u32,
    has_plus: u32,
    count: u32,
    plus_rows: u32,
    plus_count: u32,
    x_off: u32,
    plus_off: u32,
    _pad: u32,
}

/// Largest layer width the kernel's workgroup memory holds (MAX_C in the kernel).
pub const MAX_CHANNELS: usize = 1024;

/// One FC layer: weight [out, in] row-major, bias [out].
pub struct Fc<'a> {
    pub weight: &'a wgpu::Buffer,
    pub bias: &'a wgpu::Buffer,
    pub out: usize,
}

/// A tensor a gate pools: `frames` frames of `shape` in `buffer`, followed there by their
/// per-group `sums` where its producer left them (the gate then reads those alone).
#[derive(Clone, Copy)]
pub struct GateInput<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub shape: Shape,
    pub sums: Option<Sums>,
}

impl GateInput<'_> {
    /// (rows a frame, pixels a frame, offset of the first row) as the kernel reads them, after
    /// checking the buffer holds them.
    fn rows(&self, frames: usize, what: &str) -> Result<[u32; 3]> {
        let s = self.shape;
        let (rows, offset) = match self.sums {
            Some(sums) if sums.pixels == s.pixels() && sums.channels == s.channels => {
                (sums.groups(), frames * s.len())
            }
            Some(sums) => {
                return Err(Error::InvalidInput(format!(
                    "channel gate {what}: sums of {} pixels x {} channels for a {s} tensor",
                    sums.pixels, sums.channels
                )));
            }
            None => (s.pixels(), 0),
        };
        check(self.buffer, offset + frames * rows * s.channels, what)?;
        Ok([
            to_u32(rows, what)?,
            to_u32(s.pixels(), what)?,
            to_u32(offset, what)?,
        ])
    }
}

pub struct ChannelGate<'a> {
    pub input: GateInput<'a>,
    /// Added to `input` before pooling: the same channels, at any resolution (the mean of an
    /// x2 upsampling is its input's).
    pub plus: Option<GateInput<'a>>,
    /// One or two layers; relu after the first when there are two, sigmoid after the last.
    pub layers: &'a [Fc<'a>],
    /// One gate per frame: [frames, last layer's width].
    pub out: &'a wgpu::Buffer,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
}

impl ChannelGate<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input.shape;
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
        let [rows, count, x_off] = self.input.rows(frames, "input")?;
        let [plus_rows, plus_count, plus_off] = match self.plus {
            Some(plus) if plus.shape.channels == s.channels => plus.rows(frames, "plus")?,
            Some(plus) => {
                return Err(Error::InvalidInput(format!(
                    "channel gate: a plus of {} channels for {} input channels",
                    plus.shape.channels, s.channels
                )));
            }
            None => [0; 3],
        };
        for (i, l) in self.layers.iter().enumerate() {
            check_params(kernels, l.weight, widths[i] * l.out, "channel gate weight")?;
            check_params(kernels, l.bias, l.out, "channel gate bias")?;
        }
        let last = self.layers.last().expect("checked above");
        check(self.out, frames * last.out, "channel gate out")?;
        let second = self.layers.get(1).unwrap_or(last);
        let params = Params {
            rows,
            c: s.channels as u32,
            hidden: self.layers[0].out as u32,
            out_c: last.out as u32,
            layers: self.layers.len() as u32,
            has_plus: self.plus.is_some() as u32,
            count,
            plus_rows,
            plus_count,
            x_off,
            plus_off,
            _pad: 0,
        };
        let buffers = [
            self.input.buffer,
            self.layers[0].weight,
            self.layers[0].bias,
            second.weight,
            second.bias,
            self.out,
            self.plus.map_or(&gpu.empty, |p| p.buffer),
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
            // The last two add a half-resolution plus (a folded x2 upsampling), and read sums.
            let half = seed >= 6;
            let plus_shape = match half {
                true => Shape::new(shape.height / 2, shape.width / 2, shape.channels),
                false => *shape,
            };
            let from_sums = seed % 2 == 0 || half;
            let pluses =
                (seed % 2 == 1 || half).then(|| tensors(plus_shape, frames, 100 + seed as u64));
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
                    Some(p) => {
                        let up = reference::resize_bilinear(&p[f], shape.height, shape.width);
                        reference::channel_gate(&reference::add(&xs[f], &up), &host)
                    }
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
            // A tensor's pixels, or (from_sums) its pixels then sums in groups of 5 pixels.
            let upload = |frames_of: &[crate::tensor::Tensor], shape: Shape| {
                let mut data = concat(frames_of);
                let sums = from_sums.then(|| Sums::new(shape.pixels(), shape.channels, 5));
                if let Some(sums) = sums {
                    data.extend(sums.of(&data, frames));
                }
                (gpu.upload("pooled", &data), sums)
            };
            let (gx, x_sums) = upload(&xs, *shape);
            let gplus = pluses.as_ref().map(|p| upload(p, plus_shape));
            let out = gpu.storage("gate", expected.len());
            let op = ChannelGate {
                input: GateInput {
                    buffer: &gx,
                    shape: *shape,
                    sums: x_sums,
                },
                plus: gplus.as_ref().map(|(buffer, sums)| GateInput {
                    buffer,
                    shape: plus_shape,
                    sums: *sums,
                }),
                layers: &layers,
                out: &out,
                frames,
            };
            let what = format!(
                "gate {shape} {widths:?} x{frames} plus={:?} from sums={from_sums}",
                pluses.as_ref().map(|_| plus_shape)
            );
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
        }
    }
}
