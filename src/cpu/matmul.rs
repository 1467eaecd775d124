//! 1x1 convolutions as one GEMM per block of pixel rows: a direct kernel for the network's
//! small K (no packing), matrixmultiply's packed SIMD GEMM (AVX2/FMA detected at run time,
//! NEON, wasm simd128) beyond it; bias added in the fused epilogue per block.
//! Reference: [`reference::pointwise_conv`](crate::reference::pointwise_conv).

use super::par::{self, LANES, lanes_unchecked, madd, simd_kernel};
use super::{epilogue, misc};
use crate::network::{Activation, Epilogue, Layer};
use crate::tensor::Shape;

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
        self.run_with(x, None, None, out, epilogue)
    }

    /// [`run`](Self::run) with `x` scaled by `gate` per input channel (folded into the weights:
    /// `x[p] . diag(gate) W`, so x is read as it is, not copied scaled first) and a product to add
    /// before the bias, upsampled x2 from a low-resolution tensor (a projected skip).
    pub fn run_with(
        &self,
        x: &[f32],
        gate: Option<&[f32]>,
        up: Option<Upsampled>,
        out: &mut [f32],
        epilogue: Epilogue<&[f32]>,
    ) {
        let (k, n) = (self.cin(), self.bias.len());
        let rows = out.len() / n;
        debug_assert_eq!(x.len(), rows * k);
        let mut scaled: Vec<f32>;
        let weight = match gate {
            None => &self.weight,
            Some(g) => {
                // A copy scaled row by row (a flat_map into a collect did not vectorise: 2% of
                // a frame, serial, before the split across cores).
                scaled = self.weight.clone();
                for (row, g) in scaled.chunks_exact_mut(n).zip(g) {
                    row.iter_mut().for_each(|w| *w *= g);
                }
                &scaled
            }
        };
        // Whole image rows per block where a skip is upsampled into it.
        let (block, up) = match up {
            None => (par::rows_per_task(rows, 64), None),
            Some(up) => {
                let width = 2 * up.low.width;
                let block = par::rows_per_task(rows / width, 1) * width;
                (block, Some((up, misc::column_taps(up.low.width, width))))
            }
        };
        par::chunks(out, block * n, |i, c| {
            let r0 = i * block;
            let m = c.len() / n;
            let a = &x[r0 * k..(r0 + m) * k];
            let add = epilogue.add.map(|a| &a[r0 * n..(r0 + m) * n]);
            // The epilogue in the kernel's registers where it can (an upsampled skip must join
            // the product before the bias).
            let finish = up.is_none().then_some(Finish {
                bias: &self.bias,
                act: epilogue.act,
                add,
            });
            if n % LANES == 0 && k <= DIRECT_MAX_K {
                if multiply(a, weight, k, n, c, finish) {
                    return;
                }
            } else {
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
                        weight.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            }
            if let Some((up, columns)) = &up {
                let (width, out_h) = (columns.len(), 2 * up.low.height);
                misc::resize_rows(up.low, up.values, out_h, columns, c, r0 / width, true);
            }
            // The bias joins the epilogue's pass rather than prefilling C (a pass of its own).
            epilogue::with_bias(c, &self.bias, epilogue.act, add);
        });
    }
}

/// A low-resolution tensor a 1x1 adds to its product upsampled x2 (bilinear, half-pixel centres).
#[derive(Clone, Copy)]
pub struct Upsampled<'a> {
    pub low: Shape,
    pub values: &'a [f32],
}

/// What a 1x1's kernel may apply as it stores C: `act(c + bias) + add` (`add`: C's own
/// elements of the epilogue's tensor).
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // read by the AVX-512 kernel only
pub struct Finish<'a> {
    pub bias: &'a [f32],
    pub act: Activation,
    pub add: Option<&'a [f32]>,
}

/// `c = a . w` by [`direct`], 16 lanes wide where the CPU has AVX-512, which then also applies
/// `finish` as it stores C (one pass over C fewer) and returns true; false when C still needs
/// it.
pub(super) fn multiply(
    a: &[f32],
    w: &[f32],
    k: usize,
    n: usize,
    c: &mut [f32],
    finish: Option<Finish>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if super::avx512::available() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { super::avx512::direct(a, w, k, n, c, finish) };
        return finish.is_some();
    }
    let _ = finish;
    direct(a, w, k, n, c);
    false
}

/// Rows of A one step of [`direct`] multiplies together: 4 x 16 columns of C are 8 AVX2
/// registers, 16 NEON ones; in wasm, 2 (8 simd128 values: V8 maps them onto x86-64's 16 vector
/// registers, and with 16 values held a frame was 10% slower; 3 rows, 5-7% slower, in node).
const ROWS: usize = if cfg!(target_arch = "wasm32") { 2 } else { 4 };
/// The deepest K that [`direct`] takes (every 1x1 of the network: 16 to 128 inputs); deeper
/// ones go to matrixmultiply, whose packing then pays for itself.
const DIRECT_MAX_K: usize = 128;

simd_kernel! {
    /// `c = a . w` (a: m x k, w: k x n, c: m x n, row-major; n a multiple of 8) straight from
    /// the operands, without packing them: [`ROWS`] rows x 16 columns of C in registers at a
    /// time, each weight load shared by those rows. With K this small (16-128) packing A costs
    /// about as much as the multiply.
    fn direct(a: &[f32], w: &[f32], k: usize, n: usize, c: &mut [f32]) {
        let m = c.len() / n;
        assert!(a.len() >= m * k && w.len() >= k * n && c.len() == m * n);
        if n == LANES {
            // One column block: twice the rows, so as many sums are in flight as with two.
            for r0 in (0..m).step_by(2 * ROWS) {
                tile::<{ 2 * ROWS }, 1>(FMA, a, w, k, n, c, r0, (2 * ROWS).min(m - r0), 0);
            }
            return;
        }
        for r0 in (0..m).step_by(ROWS) {
            let rows = ROWS.min(m - r0);
            let mut n0 = 0;
            while n0 < n {
                if n - n0 >= 2 * LANES {
                    tile::<ROWS, 2>(FMA, a, w, k, n, c, r0, rows, n0);
                    n0 += 2 * LANES;
                } else {
                    tile::<ROWS, 1>(FMA, a, w, k, n, c, r0, rows, n0);
                    n0 += LANES;
                }
            }
        }
    }
}

/// Rows `r0..r0 + rows` (at most R) x columns `n0..n0 + 8B` of C. Missing rows repeat the last
/// one (computed, not stored), so the loop has no branch.
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // acc[row][block]: registers
fn tile<const R: usize, const B: usize>(
    fma: bool,
    a: &[f32],
    w: &[f32],
    k: usize,
    n: usize,
    c: &mut [f32],
    r0: usize,
    rows: usize,
    n0: usize,
) {
    let mut acc = [[[0.0f32; LANES]; B]; R];
    let a_rows: [usize; R] = std::array::from_fn(|r| (r0 + r.min(rows - 1)) * k);
    for kk in 0..k {
        // SAFETY: kk < k, n0 + 8B <= n and every row < m, all checked against the lengths in
        // `direct`.
        let ws: [[f32; LANES]; B] =
            std::array::from_fn(|b| unsafe { lanes_unchecked(w, kk * n + n0 + b * LANES) });
        for r in 0..R {
            let v = unsafe { *a.get_unchecked(a_rows[r] + kk) };
            for b in 0..B {
                for l in 0..LANES {
                    acc[r][b][l] = madd(fma, v, ws[b][l], acc[r][b][l]);
                }
            }
        }
    }
    for r in 0..rows {
        for b in 0..B {
            let at = (r0 + r) * n + n0 + b * LANES;
            c[at..at + LANES].copy_from_slice(&acc[r][b]);
        }
    }
}

/// `x * gate[c] + plus` into `into` (the matmul's A where a skip is added to the input, not to
/// the product), split across cores by blocks of `c`-channel pixels.
pub fn gated(x: &[f32], c: usize, gate: Option<&[f32]>, plus: &[f32], into: &mut [f32]) {
    let block = par::rows_per_task(x.len() / c, 256) * c;
    par::chunks(into, block, |b, chunk| {
        let start = b * block;
        chunk.copy_from_slice(&x[start..start + chunk.len()]);
        if let Some(g) = gate {
            for px in chunk.chunks_exact_mut(c) {
                px.iter_mut().zip(g).for_each(|(v, g)| *v *= g);
            }
        }
        let plus = &plus[start..start + chunk.len()];
        chunk.iter_mut().zip(plus).for_each(|(v, p)| *v += p);
    });
}
