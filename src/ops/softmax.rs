//! Row-wise, numerically stable softmax over a row-major [rows, cols] matrix.
//! Kernel: shaders/softmax.wgsl. CPU twin: [`reference::softmax`](crate::reference::softmax).

use super::binding::{check, to_u32};
use super::kernels::{Kernels, SOFTMAX};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, grid};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    _pad: [u32; 2],
}

pub struct Softmax<'a> {
    pub input: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub rows: usize,
    pub cols: usize,
}

impl Softmax<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        if self.rows == 0 || self.cols == 0 {
            return Err(Error::InvalidInput(format!(
                "softmax over {}x{}",
                self.rows, self.cols
            )));
        }
        check(self.input, self.rows * self.cols, "softmax input")?;
        check(self.out, self.rows * self.cols, "softmax out")?;
        to_u32(self.rows * self.cols, "softmax size")?;
        let params = Params {
            rows: self.rows as u32,
            cols: self.cols as u32,
            _pad: [0; 2],
        };
        // One workgroup per row.
        Ok(kernels
            .get(&SOFTMAX)
            .bind(gpu, &params, &[self.input, self.out], grid(self.rows, 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::reference;

    #[test]
    fn matches_cpu_and_is_stable() {
        let Some((gpu, kernels)) = gpu() else { return };
        for (seed, &(rows, cols)) in [(1, 1), (3, 7), (5, 256), (2, 1000), (300, 33)]
            .iter()
            .enumerate()
        {
            // Large logits: without the max subtraction exp() overflows.
            let x: Vec<f32> = random(rows * cols, seed as u64)
                .iter()
                .map(|v| v * 100.0 + 50.0)
                .collect();
            let (gx, out) = (gpu.upload("x", &x), gpu.storage("o", x.len()));
            Softmax {
                input: &gx,
                out: &out,
                rows,
                cols,
            }
            .bind(gpu, kernels)
            .unwrap()
            .run(gpu)
            .unwrap();
            let got = gpu.read(&out, x.len()).unwrap();
            assert_close(
                &got,
                &reference::softmax(&x, cols),
                1e-5,
                &format!("softmax {rows}x{cols}"),
            );
            for row in got.chunks(cols) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }
}
