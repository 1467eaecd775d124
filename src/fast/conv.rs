//! The windowed convolutions, NHWC with channels innermost so every inner loop runs over
//! contiguous channels (vectorised), split across cores by output rows, epilogue fused per block.
//! References: [`cpu::conv2d`](crate::cpu::conv2d), [`cpu::depthwise_conv2d`](crate::cpu::depthwise_conv2d),
//! [`cpu::transposed_conv2x2`](crate::cpu::transposed_conv2x2).

use super::{epilogue, par};
use crate::network::{Epilogue, same_padding};
use crate::tensor::Shape;

/// The input row/column a tap reads, or None in the zero padding.
fn tap(out: usize, k: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    (out * stride + k).checked_sub(pad).filter(|&i| i < size)
}

/// A KxK window over an input: its geometry and the output rows it makes.
#[derive(Clone, Copy)]
pub struct Window {
    pub input: Shape,
    pub kernel: usize,
    pub stride: usize,
}

impl Window {
    /// (out height, pad top, out width, pad left).
    fn geometry(&self) -> (usize, usize, usize, usize) {
        let (oh, pt) = same_padding(self.input.height, self.kernel, self.stride);
        let (ow, pl) = same_padding(self.input.width, self.kernel, self.stride);
        (oh, pt, ow, pl)
    }

    /// Calls `f(oy, ox, out_pixel, taps)` for every output pixel of `out` (channels `cout`),
    /// with the valid taps as (tap index, input pixel index); then applies the epilogue.
    fn each_pixel(
        &self,
        out: &mut [f32],
        cout: usize,
        epilogue: Epilogue<&[f32]>,
        f: impl Fn(&mut [f32], &mut dyn Iterator<Item = (usize, usize)>) + Sync + Send,
    ) {
        let (oh, pt, ow, pl) = self.geometry();
        let (k, s, inp) = (self.kernel, self.stride, self.input);
        let row_len = ow * cout;
        let block = par::rows_per_task(oh, 1);
        par::chunks(&mut out[..oh * row_len], block * row_len, |b, c| {
            let y0 = b * block;
            for (r, row) in c.chunks_exact_mut(row_len).enumerate() {
                let oy = y0 + r;
                for (ox, px) in row.chunks_exact_mut(cout).enumerate() {
                    let mut taps = (0..k)
                        .flat_map(|ky| (0..k).map(move |kx| (ky, kx)))
                        .filter_map(|(ky, kx)| {
                            let iy = tap(oy, ky, s, pt, inp.height)?;
                            let ix = tap(ox, kx, s, pl, inp.width)?;
                            Some((ky * k + kx, iy * inp.width + ix))
                        });
                    f(px, &mut taps);
                }
            }
            let start = y0 * row_len;
            let add = epilogue.add.map(|a| &a[start..start + c.len()]);
            epilogue::apply(c, epilogue.act, add);
        });
    }
}

/// KxK convolution over all input channels (the stem): weight packed [k, k, cin, cout].
pub struct Conv2d {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Conv2d {
    /// Packs the reference's [cout, k, k, cin] so the inner loop runs over output channels.
    pub fn pack(weight: &[f32], bias: &[f32], kernel: usize) -> Conv2d {
        let cout = bias.len();
        let cin = weight.len() / (cout * kernel * kernel);
        let mut packed = vec![0.0; weight.len()];
        for o in 0..cout {
            for t in 0..kernel * kernel {
                for i in 0..cin {
                    packed[(t * cin + i) * cout + o] = weight[(o * kernel * kernel + t) * cin + i];
                }
            }
        }
        Conv2d {
            weight: packed,
            bias: bias.to_vec(),
        }
    }

    pub fn run(&self, window: Window, x: &[f32], out: &mut [f32], epilogue: Epilogue<&[f32]>) {
        let (cin, cout) = (window.input.channels, self.bias.len());
        window.each_pixel(out, cout, epilogue, |px, taps| {
            px.copy_from_slice(&self.bias);
            for (t, at) in taps {
                for i in 0..cin {
                    let v = x[at * cin + i];
                    let w = &self.weight[(t * cin + i) * cout..][..cout];
                    px.iter_mut().zip(w).for_each(|(o, w)| *o += v * w);
                }
            }
        });
    }
}

/// Depthwise KxK: weight [k, k, c] as the reference has it.
pub fn depthwise(
    window: Window,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    epilogue: Epilogue<&[f32]>,
) {
    let c = window.input.channels;
    window.each_pixel(out, c, epilogue, |px, taps| {
        px.copy_from_slice(bias);
        for (t, at) in taps {
            let (xs, ws) = (&x[at * c..][..c], &weight[t * c..][..c]);
            px.iter_mut()
                .zip(xs)
                .zip(ws)
                .for_each(|((o, x), w)| *o += x * w);
        }
    });
}

/// 2x2 stride-2 transposed convolution, kernel not flipped: weight [cout, 2, 2, cin].
pub fn transposed_conv2x2(
    input: Shape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    epilogue: Epilogue<&[f32]>,
) {
    let (cin, cout) = (input.channels, bias.len());
    let ow = 2 * input.width;
    // One task covers input rows; each makes output rows 2y and 2y + 1.
    let rows_len = 2 * ow * cout;
    let block = par::rows_per_task(input.height, 1);
    par::chunks(out, block * rows_len, |b, c| {
        for (r, rows) in c.chunks_exact_mut(rows_len).enumerate() {
            let y = b * block + r;
            for (i, v) in rows.iter_mut().enumerate() {
                let (ky, rest) = (i / (ow * cout), i % (ow * cout));
                let (ox, o) = (rest / cout, rest % cout);
                let xs = &x[(y * input.width + ox / 2) * cin..][..cin];
                let ws = &weight[((o * 2 + ky) * 2 + ox % 2) * cin..][..cin];
                *v = bias[o] + xs.iter().zip(ws).map(|(x, w)| x * w).sum::<f32>();
            }
        }
        let start = b * block * rows_len;
        let add = epilogue.add.map(|a| &a[start..start + c.len()]);
        epilogue::apply(c, epilogue.act, add);
    });
}
