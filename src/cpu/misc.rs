//! The small and memory-bound layers: squeeze-excite gates, bilinear resizing, element-wise
//! scale/add. References: [`reference::channel_gate`](crate::reference::channel_gate),
//! [`reference::resize_bilinear`](crate::reference::resize_bilinear), [`reference::mul_channels`](crate::reference::mul_channels).

use super::epilogue;
use super::par::{self, simd_kernel};
use crate::network::{Activation, Epilogue, Layer};
use crate::reference::bilinear_taps;
use crate::tensor::Shape;

/// Per-channel means of `x`'s pixels: f32 sums of a few values each, added up in f64 (as
/// reference::global_avg_pool sums), split across cores.
fn means(x: &[f32], c: usize) -> Vec<f32> {
    let pixels = x.len() / c;
    let block = par::rows_per_task(pixels, 512) * c;
    let sums = par::sum_chunks(x, block, c, |chunk, sums| partial_sums(chunk, c, sums));
    sums.iter().map(|s| (s / pixels as f64) as f32).collect()
}

/// Values [`partial_sums`] adds in f32 at a time: whole pixels, at least this many.
const SPAN: usize = 256;

simd_kernel! {
    /// Adds `x`'s per-channel sums (`c` channels) to `sums`: runs of whole pixels at least
    /// [`SPAN`] long added element-wise in f32 (a loop over one pixel's 16 channels ran 4 wide),
    /// every 16 runs folded into the f64 sums.
    fn partial_sums(x: &[f32], c: usize, sums: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if super::avx512::available() {
            use super::avx512::channel_sums;
            // SAFETY (each): the CPU has AVX-512F (checked just above).
            match c {
                16 => return unsafe { channel_sums::<1>(x, sums) },
                32 => return unsafe { channel_sums::<2>(x, sums) },
                96 => return unsafe { channel_sums::<6>(x, sums) },
                128 => return unsafe { channel_sums::<8>(x, sums) },
                _ => {}
            }
        }
        let run = SPAN.div_ceil(c) * c;
        let mut acc = vec![0.0f32; run];
        for group in x.chunks(16 * run) {
            acc.fill(0.0);
            for part in group.chunks(run) {
                acc.iter_mut().zip(part).for_each(|(a, v)| *a += v);
            }
            for px in acc.chunks_exact(c) {
                sums.iter_mut().zip(px).for_each(|(s, a)| *s += *a as f64);
            }
        }
    }
}

/// A gate's fully connected layer, its weights [in, out] (so the outputs are summed side by
/// side).
pub struct GateLayer {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl GateLayer {
    pub fn pack(layer: &Layer) -> GateLayer {
        GateLayer {
            weight: layer.weight_in_out(),
            bias: layer.bias.clone(),
        }
    }
}

/// Mean over pixels of `x + plus` (summed in f64, as the reference does), then the FC layers:
/// relu between, sigmoid after the last. `out` gets the last layer's width.
pub fn channel_gate(
    x: &[f32],
    plus: Option<&[f32]>,
    c: usize,
    layers: &[GateLayer],
    out: &mut [f32],
) {
    // mean(x + plus) = mean(x) + mean(plus): plus may be at half resolution (a folded x2
    // upsampling, whose mean is its input's).
    let mut v = means(x, c);
    if let Some(p) = plus {
        v.iter_mut().zip(means(p, c)).for_each(|(m, q)| *m += q);
    }
    for (i, layer) in layers.iter().enumerate() {
        let act = if i + 1 == layers.len() {
            Activation::Sigmoid
        } else {
            Activation::Relu
        };
        let mut sums = layer.bias.clone();
        fully_connected(&v, &layer.weight, &mut sums);
        v = sums.into_iter().map(|s| act.apply(s)).collect();
    }
    out.copy_from_slice(&v);
}

simd_kernel! {
    /// `sums += v . weight` (weight [v.len(), sums.len()]), each output's terms added in input
    /// order as the reference's fold does, the outputs side by side (one output's fold at a
    /// time waited on each add: the gates' layers were most of their time, serial).
    fn fully_connected(v: &[f32], weight: &[f32], sums: &mut [f32]) {
        for (x, row) in v.iter().zip(weight.chunks_exact(sums.len())) {
            sums.iter_mut().zip(row).for_each(|(s, w)| *s += x * w);
        }
    }
}

/// Bilinear resize with half-pixel centres (any sizes; the network's x2 upsampling).
pub fn resize(
    input: Shape,
    x: &[f32],
    (out_h, out_w): (usize, usize),
    out: &mut [f32],
    epilogue: Epilogue<&[f32]>,
) {
    let row_len = out_w * input.channels;
    let columns = column_taps(input.width, out_w);
    let block = par::rows_per_task(out_h, 1);
    par::chunks(out, block * row_len, |b, chunk| {
        resize_rows(input, x, out_h, &columns, chunk, b * block, false);
        let start = b * block * row_len;
        let add = epilogue.add.map(|a| &a[start..start + chunk.len()]);
        epilogue::apply(chunk, epilogue.act, add);
    });
}

/// The taps of each output column of a bilinear resize (the same for every row).
pub fn column_taps(input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    (0..output)
        .map(|o| bilinear_taps(o, input, output))
        .collect()
}

simd_kernel! {
    /// Output rows `y0..` of a bilinear resize into `rows` (added to them where `add`), with the
    /// column taps precomputed.
    pub fn resize_rows(input: Shape, x: &[f32], out_h: usize, columns: &[(usize, usize, f32)], rows: &mut [f32], y0: usize, add: bool) {
        let c = input.channels;
        #[cfg(target_arch = "x86_64")]
        if super::avx512::available() {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { super::avx512::resize_rows(input, x, out_h, columns, rows, y0, add) };
        }
        let at = |y: usize, xx: usize| &x[(y * input.width + xx) * c..][..c];
        for (r, row) in rows.chunks_exact_mut(columns.len() * c).enumerate() {
            let (y0, y1, fy) = bilinear_taps(y0 + r, input.height, out_h);
            for (px, &(x0, x1, fx)) in row.chunks_exact_mut(c).zip(columns) {
                let (p00, p01, p10, p11) = (at(y0, x0), at(y0, x1), at(y1, x0), at(y1, x1));
                let value = |ch: usize| {
                    let top = p00[ch] * (1.0 - fx) + p01[ch] * fx;
                    let bottom = p10[ch] * (1.0 - fx) + p11[ch] * fx;
                    top * (1.0 - fy) + bottom * fy
                };
                match add {
                    true => (0..c).for_each(|ch| px[ch] += value(ch)),
                    false => (0..c).for_each(|ch| px[ch] = value(ch)),
                }
            }
        }
    }
}

/// `epilogue(x * gate[c])` (gate optional: then a copy, an activation or an add).
pub fn scale(x: &[f32], gate: Option<&[f32]>, out: &mut [f32], epilogue: Epilogue<&[f32]>) {
    out.copy_from_slice(x);
    if let Some(g) = gate {
        for px in out.chunks_exact_mut(g.len()) {
            px.iter_mut().zip(g).for_each(|(v, g)| *v *= g);
        }
    }
    epilogue::apply(out, epilogue.act, epilogue.add);
}
