//! The 2x2 stride-2 transposed convolution (the head: 128x128x16 to 256x256x1) as a GEMM: each
//! input pixel times a [cin, 4 * cout] matrix gives its four output pixels, scattered after
//! (the 1x1s' kernel, so no horizontal sum per output, and 16 lanes wide with AVX-512). With
//! AVX-512, the network's head (16 channels to 1) has a kernel of its own
//! ([`avx512::head_row`](super::avx512::head_row)).
//! Reference: [`reference::transposed_conv2x2`](crate::reference::transposed_conv2x2).

use super::conv::{self, Window};
use super::epilogue;
use super::matmul::multiply;
use super::par::{self, LANES};
use crate::network::{DepthwiseInput, Epilogue};
use crate::tensor::Shape;

/// Weights packed [cin, n]: column `(ky * 2 + kx) * cout + o`, zero beyond `4 * cout` up to
/// `n`, a multiple of [`LANES`] (the GEMM's width).
pub struct Transposed {
    weight: Vec<f32>,
    bias: Vec<f32>,
    n: usize,
}

impl Transposed {
    /// From the reference's [cout, 2, 2, cin].
    pub fn pack(weight: &[f32], bias: &[f32]) -> Transposed {
        let cout = bias.len();
        let cin = weight.len() / (4 * cout);
        let n = (4 * cout).next_multiple_of(LANES);
        let mut packed = vec![0.0; cin * n];
        for o in 0..cout {
            for tap in 0..4 {
                for i in 0..cin {
                    packed[i * n + tap * cout + o] = weight[(o * 4 + tap) * cin + i];
                }
            }
        }
        Transposed {
            weight: packed,
            bias: bias.to_vec(),
            n,
        }
    }

    /// `epilogue(transposed(prologue(x)) + bias)` into `out` (2H x 2W x cout), where
    /// `prologue` is the last refinement fused into the head (`passes::HEAD_FUSION`): computed
    /// row by row as the head's own kernel loads it, else in full first.
    pub fn run(
        &self,
        input: Shape,
        x: &[f32],
        prologue: Option<&DepthwiseInput>,
        out: &mut [f32],
        epilogue: Epilogue<&[f32]>,
    ) {
        let (cin, cout, width) = (input.channels, self.bias.len(), input.width);
        // The head's own kernel.
        #[cfg(target_arch = "x86_64")]
        if cin == 16 && cout == 1 && epilogue.add.is_none() && super::avx512::available() {
            return self.head(input, x, prologue, out, epilogue.act);
        }
        let computed = prologue.map(|p| {
            let mut y = vec![0.0; input.len()];
            let add = p.residual.then_some(x);
            let (w, b) = (&p.layer.weight, &p.layer.bias);
            conv::depthwise(
                refinement(input, p),
                x,
                w,
                b,
                &mut y,
                Epilogue { act: p.act, add },
            );
            y
        });
        let x = computed.as_deref().unwrap_or(x);
        let rows_len = 2 * 2 * width * cout;
        let block = par::rows_per_task(input.height, 1);
        par::chunks(out, block * rows_len, |b, c| {
            let y0 = b * block;
            let rows = c.len() / rows_len;
            let a = &x[y0 * width * cin..(y0 + rows) * width * cin];
            let mut product = vec![0.0; rows * width * self.n];
            multiply(a, &self.weight, cin, self.n, &mut product, None);
            let bias = &self.bias;
            for (r, pair) in c.chunks_exact_mut(rows_len).enumerate() {
                let taps = &product[r * width * self.n..][..width * self.n];
                for (ky, line) in pair.chunks_exact_mut(rows_len / 2).enumerate() {
                    if cout == 1 {
                        // The head: one channel, so each output pair is two numbers.
                        for (two, p) in line.chunks_exact_mut(2).zip(taps.chunks_exact(self.n)) {
                            two[0] = p[2 * ky] + bias[0];
                            two[1] = p[2 * ky + 1] + bias[0];
                        }
                    } else {
                        for (xi, p) in taps.chunks_exact(self.n).enumerate() {
                            for kx in 0..2 {
                                let px = &mut line[(2 * xi + kx) * cout..][..cout];
                                let t = &p[(ky * 2 + kx) * cout..][..cout];
                                px.iter_mut()
                                    .zip(t)
                                    .zip(bias)
                                    .for_each(|((v, t), b)| *v = t + b);
                            }
                        }
                    }
                }
                // While the two rows are in cache.
                let at = (b * block + r) * rows_len;
                let add = epilogue.add.map(|a| &a[at..at + rows_len]);
                epilogue::apply(pair, epilogue.act, add);
            }
        });
    }

    /// The head's own kernel ([`avx512::head_row`](super::avx512::head_row)), one input row at a
    /// time, the refinement's row computed just before it (its 128 x 128 x 16 output, 1 MB,
    /// never written).
    #[cfg(target_arch = "x86_64")]
    fn head(
        &self,
        input: Shape,
        x: &[f32],
        prologue: Option<&DepthwiseInput>,
        out: &mut [f32],
        act: crate::network::Activation,
    ) {
        let (row_len, block) = (input.width * 16, par::rows_per_task(input.height, 1));
        par::chunks(out, block * 4 * input.width, |b, c| {
            let mut refined = vec![0.0; if prologue.is_some() { row_len } else { 0 }];
            for (r, two) in c.chunks_exact_mut(4 * input.width).enumerate() {
                let y = b * block + r;
                let mut row = &x[y * row_len..][..row_len];
                if let Some(p) = prologue {
                    let layer = (&p.layer.weight[..], &p.layer.bias[..]);
                    let epilogue = Epilogue {
                        act: p.act,
                        add: p.residual.then_some(row),
                    };
                    conv::wide::depthwise_rows(
                        refinement(input, p),
                        x,
                        layer,
                        &mut refined,
                        y,
                        epilogue,
                    );
                    row = &refined;
                }
                // SAFETY: AVX-512F checked by the caller (the row checks its bounds).
                unsafe {
                    super::avx512::head_row(row, &self.weight, self.n, self.bias[0], act, two)
                };
            }
        });
    }
}

/// The fused refinement's window: stride 1 over the head's input.
fn refinement(input: Shape, p: &DepthwiseInput) -> Window {
    Window {
        input,
        kernel: p.layer.kernel,
        stride: 1,
    }
}
