//! out = act(x * gate[c]) + add: the per-channel broadcast multiply, skip/residual adds and plain
//! activations. Kernel: shaders/elementwise.wgsl. CPU twins: mul_channels, add, map in [`crate::reference`].

use super::binding::{Epilogue, check, epilogue_constants, optional, to_u32};
use super::kernels::{ELEMENTWISE, Kernels};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    c: u32,
    frame_len: u32,
    _pad: u32,
}

pub struct Elementwise<'a> {
    pub input: &'a wgpu::Buffer,
    /// Elements in `input` (frames x pixels x channels).
    pub len: usize,
    /// Channels (the innermost axis), for indexing `gate`.
    pub channels: usize,
    /// Per frame: `channels` values.
    pub gate: Option<&'a wgpu::Buffer>,
    pub out: &'a wgpu::Buffer,
    pub epilogue: Epilogue<'a>,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
}

impl Elementwise<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let frame_len = self.len / self.frames.max(1);
        if self.channels == 0
            || self.frames == 0
            || frame_len * self.frames != self.len
            || !frame_len.is_multiple_of(self.channels)
        {
            return Err(Error::InvalidInput(format!(
                "elementwise: {} elements in {} frames of rows of {}",
                self.len, self.frames, self.channels
            )));
        }
        check(self.input, self.len, "elementwise input")?;
        check(self.out, self.len, "elementwise out")?;
        let gate_len = self.frames * self.channels;
        let (gate, has_gate) = optional(gpu, self.gate, gate_len, "elementwise gate")?;
        let mut constants = epilogue_constants(&self.epilogue);
        constants.push(("HAS_GATE", has_gate));
        let (add, _) = optional(gpu, self.epilogue.add, self.len, "elementwise add")?;
        let params = Params {
            len: to_u32(self.len, "len")?,
            c: self.channels as u32,
            frame_len: frame_len as u32,
            _pad: 0,
        };
        Ok(kernels.variant(gpu, &ELEMENTWISE, constants).bind(
            gpu,
            &params,
            &[self.input, gate, add, self.out],
            grid(self.len, WG),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Activation;
    use crate::ops::testing::*;
    use crate::reference;
    use crate::tensor::{Shape, Tensor};

    #[test]
    fn scale_activate_add_match_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        for (seed, shape) in [
            Shape::new(1, 1, 1),
            Shape::new(3, 7, 5),
            Shape::new(128, 128, 16),
            Shape::new(32, 32, 24),
        ]
        .into_iter()
        .enumerate()
        {
            let frames = frames_for(seed);
            let seed = seed as u64 * 10;
            let xs = tensors(shape, frames, seed);
            // One gate per frame.
            let gs = tensors(Shape::new(1, 1, shape.channels), frames, seed + 1);
            let adds = tensors(shape, frames, seed + 2);
            let per_frame: Vec<Tensor> = (0..frames)
                .map(|f| {
                    let gated =
                        reference::map(&reference::mul_channels(&xs[f], &gs[f]), reference::relu);
                    reference::add(&gated, &adds[f])
                })
                .collect();
            let expected = concat(&per_frame);
            let [gx, gg, ga] = upload_all(gpu, [&concat(&xs), &concat(&gs), &concat(&adds)]);
            let out = gpu.storage("o", expected.len());
            let op = Elementwise {
                input: &gx,
                len: expected.len(),
                channels: shape.channels,
                gate: Some(&gg),
                out: &out,
                epilogue: Epilogue {
                    act: Activation::Relu,
                    add: Some(&ga),
                },
                frames,
            };
            run_and_check(
                gpu,
                op.bind(gpu, kernels),
                &out,
                &expected,
                1e-6,
                &format!("elementwise {shape} x{frames}"),
            );
        }
    }

    #[test]
    fn plain_activations_match_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        let x: Vec<f32> = random(1000, 3).iter().map(|v| v * 8.0).collect();
        let gx = gpu.upload("x", &x);
        for (act, f) in [
            (Activation::Relu, reference::relu as fn(f32) -> f32),
            (Activation::HardSwish, reference::hard_swish),
            (Activation::Sigmoid, reference::sigmoid),
        ] {
            let out = gpu.storage("o", x.len());
            let op = Elementwise {
                input: &gx,
                len: x.len(),
                channels: 1,
                gate: None,
                out: &out,
                epilogue: Epilogue { act, add: None },
                frames: 1,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            let expected: Vec<f32> = x.iter().map(|&v| f(v)).collect();
            assert_close(
                &gpu.read(&out, x.len()).unwrap(),
                &expected,
                1e-6,
                &format!("{act:?}"),
            );
        }
    }
}
