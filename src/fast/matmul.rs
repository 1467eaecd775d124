//! 1x1 convolutions as one packed SIMD GEMM per block of pixel rows (matrixmultiply: AVX2/FMA
//! detected at run time, NEON, wasm simd128), bias added in the fused epilogue per block.
//! Reference: [`cpu::pointwise_conv`](crate::cpu::pointwise_conv).

use super::{epilogue, par};
use crate::network::{Epilogue, Layer};

/// A pointwise layer's parameters, packed at build: `weight` is [cin, cout] row-major (the
/// reference's [cout, cin] transposed, so the GEMM reads B row by row).
pub struct Pointwise {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Pointwise {
    pub fn pack(layer: &Layer) -> Pointwise {
        Pointwise {
            weight: layer.weight_in_out(),
            bias: layer.bias.clone(),
        }
    }

    pub fn cin(&self) -> usize {
        self.weight.len() / self.bias.len()
    }

    /// `out[p] = epilogue(x[p] . W + bias)` for `out.len() / cout` pixels of `x` (pixels x cin).
    pub fn run(&self, x: &[f32], out: &mut [f32], epilogue: Epilogue<&[f32]>) {
        let (k, n) = (self.cin(), self.bias.len());
        let rows = out.len() / n;
        debug_assert_eq!(x.len(), rows * k);
        let block = par::rows_per_task(rows, 64);
        par::chunks(out, block * n, |i, c| {
            let r0 = i * block;
            let m = c.len() / n;
            let a = &x[r0 * k..(r0 + m) * k];
            // SAFETY: a is m x k, weight k x n, c m x n, all row-major and in bounds.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    k as isize,
                    1,
                    self.weight.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
            let add = epilogue.add.map(|a| &a[r0 * n..(r0 + m) * n]);
            // The bias joins the epilogue's pass rather than prefilling C (a pass of its own).
            epilogue::with_bias(c, &self.bias, epilogue.act, add);
        });
    }
}

/// `x * gate[c] + plus` into `into` (the matmul's A when a gate or skip was folded into it),
/// split across cores by blocks of `c`-channel pixels.
pub fn gated(x: &[f32], c: usize, gate: Option<&[f32]>, plus: Option<&[f32]>, into: &mut [f32]) {
    let block = par::rows_per_task(x.len() / c, 256) * c;
    par::chunks(into, block, |b, chunk| {
        let start = b * block;
        chunk.copy_from_slice(&x[start..start + chunk.len()]);
        if let Some(g) = gate {
            for px in chunk.chunks_exact_mut(c) {
                px.iter_mut().zip(g).for_each(|(v, g)| *v *= g);
            }
        }
        if let Some(p) = plus {
            let p = &p[start..start + chunk.len()];
            chunk.iter_mut().zip(p).for_each(|(v, p)| *v += p);
        }
    });
}
