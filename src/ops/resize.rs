//! Bilinear resize, half-pixel centres, any sizes. Kernel: shaders/resize.wgsl.
//! CPU twin: [`reference::resize_bilinear`](crate::reference::resize_bilinear).

use super::binding::{Epilogue, check, epilogue_constants, optional, to_u32};
use super::kernels::{Kernels, RESIZE};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::tensor::Shape;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    c: u32,
    frames: u32,
}

pub struct Resize<'a> {
    pub input: &'a wgpu::Buffer,
    pub input_shape: Shape,
    pub out: &'a wgpu::Buffer,
    pub out_height: usize,
    pub out_width: usize,
    pub epilogue: Epilogue<'a>,
    /// Images one after another in every buffer (1 for one image).
    pub frames: usize,
}

impl Resize<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let s = self.input_shape;
        let out = Shape::new(self.out_height, self.out_width, s.channels);
        if s.is_empty() || out.is_empty() {
            return Err(Error::InvalidInput(format!("resize {s} -> {out}")));
        }
        let out_len = self.frames * out.len();
        check(self.input, self.frames * s.len(), "resize input")?;
        check(self.out, out_len, "resize out")?;
        let (add, _) = optional(gpu, self.epilogue.add, out_len, "resize add")?;
        let params = Params {
            in_h: s.height as u32,
            in_w: s.width as u32,
            out_h: out.height as u32,
            out_w: out.width as u32,
            c: s.channels as u32,
            frames: self.frames as u32,
        };
        to_u32(out_len, "resize output size")?;
        Ok(kernels
            .variant(gpu, &RESIZE, epilogue_constants(&self.epilogue))
            .bind(
                gpu,
                &params,
                &[self.input, add, self.out],
                grid(out_len, WG),
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::reference;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        // Upsampling x2 (the network's), odd factors, downsampling and identity.
        let cases = [
            (Shape::new(16, 16, 128), 32, 32),
            (Shape::new(64, 64, 16), 128, 128),
            (Shape::new(3, 5, 3), 7, 11),
            (Shape::new(9, 13, 2), 4, 5),
            (Shape::new(4, 4, 1), 4, 4),
            (Shape::new(1, 1, 2), 3, 2),
        ];
        for (seed, &(shape, oh, ow)) in cases.iter().enumerate() {
            let frames = frames_for(seed);
            let xs = tensors(shape, frames, seed as u64);
            let resized: Vec<_> = xs
                .iter()
                .map(|x| reference::resize_bilinear(x, oh, ow))
                .collect();
            let expected = concat(&resized);
            let (gx, out) = (
                gpu.upload("x", &concat(&xs)),
                gpu.storage("o", expected.len()),
            );
            let op = Resize {
                input: &gx,
                input_shape: shape,
                out: &out,
                out_height: oh,
                out_width: ow,
                epilogue: Epilogue::default(),
                frames,
            };
            run_and_check(
                gpu,
                op.bind(gpu, kernels),
                &out,
                &expected,
                1e-5,
                &format!("resize {shape} -> {oh}x{ow} x{frames}"),
            );
        }
    }
}
