//! The CPU reference: one plainly written function per operator, no cleverness.
//!
//! Every GPU kernel is tested against its twin here, and the whole network runs on these in
//! [`run`](crate::network::Network::run_cpu). Semantics follow TFLite (the runtime the weights
//! came from): SAME padding puts the odd extra row/column at the bottom/right, bilinear resize
//! uses half-pixel centres, the 2x2 transposed convolution does not flip its kernel.

use crate::tensor::{Shape, Tensor};

#[cfg(test)]
mod tests;

/// TFLite SAME padding for one axis: (output size, padding before). The rest goes after.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(input);
    (output, total / 2)
}

/// General KxK convolution, SAME padding. `weight` is [out, k, k, in], `bias` is [out].
pub fn conv2d(x: &Tensor, weight: &[f32], bias: &[f32], kernel: usize, stride: usize) -> Tensor {
    let (cin, cout) = (x.shape.channels, bias.len());
    assert_eq!(weight.len(), cout * kernel * kernel * cin);
    let (oh, pad_y) = same_padding(x.shape.height, kernel, stride);
    let (ow, pad_x) = same_padding(x.shape.width, kernel, stride);
    let mut out = Tensor::zeros(Shape::new(oh, ow, cout));
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..cout {
                let mut sum = bias[o];
                for ky in 0..kernel {
                    for kx in 0..kernel {
                        let (Some(iy), Some(ix)) = (
                            tap(oy, ky, stride, pad_y, x.shape.height),
                            tap(ox, kx, stride, pad_x, x.shape.width),
                        ) else {
                            continue;
                        };
                        for i in 0..cin {
                            sum += x.at(iy, ix, i)
                                * weight[((o * kernel + ky) * kernel + kx) * cin + i];
                        }
                    }
                }
                *out.at_mut(oy, ox, o) = sum;
            }
        }
    }
    out
}

/// The input coordinate a kernel tap reads, or None when it falls in the zero padding.
fn tap(out: usize, k: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    (out * stride + k).checked_sub(pad).filter(|&i| i < size)
}

/// Depthwise KxK convolution, SAME padding. `weight` is [1, k, k, channels], `bias` [channels].
pub fn depthwise_conv2d(
    x: &Tensor,
    weight: &[f32],
    bias: &[f32],
    kernel: usize,
    stride: usize,
) -> Tensor {
    let c = x.shape.channels;
    assert_eq!(weight.len(), kernel * kernel * c);
    assert_eq!(bias.len(), c);
    let (oh, pad_y) = same_padding(x.shape.height, kernel, stride);
    let (ow, pad_x) = same_padding(x.shape.width, kernel, stride);
    let mut out = Tensor::zeros(Shape::new(oh, ow, c));
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let mut sum = bias[ch];
                for ky in 0..kernel {
                    for kx in 0..kernel {
                        if let (Some(iy), Some(ix)) = (
                            tap(oy, ky, stride, pad_y, x.shape.height),
                            tap(ox, kx, stride, pad_x, x.shape.width),
                        ) {
                            sum += x.at(iy, ix, ch) * weight[(ky * kernel + kx) * c + ch];
                        }
                    }
                }
                *out.at_mut(oy, ox, ch) = sum;
            }
        }
    }
    out
}

/// Row-major matrix product: `a` is [m, k], `b` is [k, n], result [m, n].
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), k * n);
    let mut out = vec![0.0; m * n];
    for row in 0..m {
        for col in 0..n {
            let mut sum = 0.0;
            for i in 0..k {
                sum += a[row * k + i] * b[i * n + col];
            }
            out[row * n + col] = sum;
        }
    }
    out
}

/// 1x1 convolution: every pixel's channel vector times the weight matrix, plus bias.
/// `weight` is [out, 1, 1, in], i.e. row-major [out][in].
pub fn pointwise_conv(x: &Tensor, weight: &[f32], bias: &[f32]) -> Tensor {
    let (cin, cout) = (x.shape.channels, bias.len());
    assert_eq!(weight.len(), cout * cin);
    let mut out = Tensor::zeros(Shape::new(x.shape.height, x.shape.width, cout));
    for p in 0..x.shape.pixels() {
        for o in 0..cout {
            let mut sum = bias[o];
            for i in 0..cin {
                sum += x.data[p * cin + i] * weight[o * cin + i];
            }
            out.data[p * cout + o] = sum;
        }
    }
    out
}

/// Mean over all pixels, per channel: [h, w, c] -> [1, 1, c]. Summed in f64: a plain f32 running
/// sum over 16384 pixels drifts by ~1e-4 of the mean, which the sigmoid gates pass on.
pub fn global_avg_pool(x: &Tensor) -> Tensor {
    let c = x.shape.channels;
    let mut sums = vec![0.0f64; c];
    for pixel in x.data.chunks_exact(c) {
        for (sum, v) in sums.iter_mut().zip(pixel) {
            *sum += *v as f64;
        }
    }
    let pixels = x.shape.pixels() as f64;
    Tensor::from_vec(
        Shape::new(1, 1, c),
        sums.iter().map(|s| (s / pixels) as f32).collect(),
    )
}

pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    assert_eq!(a.shape, b.shape);
    let data = a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect();
    Tensor::from_vec(a.shape, data)
}

/// Per-channel broadcast multiply: `x` [h, w, c] times `scale` [1, 1, c].
pub fn mul_channels(x: &Tensor, scale: &Tensor) -> Tensor {
    let c = x.shape.channels;
    assert_eq!(scale.shape, Shape::new(1, 1, c));
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, v)| v * scale.data[i % c])
        .collect();
    Tensor::from_vec(x.shape, data)
}

pub fn relu(v: f32) -> f32 {
    v.max(0.0)
}

/// x * relu6(x + 3) / 6
pub fn hard_swish(v: f32) -> f32 {
    v * (v + 3.0).clamp(0.0, 6.0) / 6.0
}

pub fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

pub fn map(x: &Tensor, f: impl Fn(f32) -> f32) -> Tensor {
    Tensor::from_vec(x.shape, x.data.iter().map(|&v| f(v)).collect())
}

/// Bilinear resize with half-pixel centres (TFLite half_pixel_centers=True, align_corners=False);
/// samples outside the input clamp to the edge.
pub fn resize_bilinear(x: &Tensor, out_h: usize, out_w: usize) -> Tensor {
    let c = x.shape.channels;
    let mut out = Tensor::zeros(Shape::new(out_h, out_w, c));
    for oy in 0..out_h {
        let (y0, y1, fy) = bilinear_taps(oy, x.shape.height, out_h);
        for ox in 0..out_w {
            let (x0, x1, fx) = bilinear_taps(ox, x.shape.width, out_w);
            for ch in 0..c {
                let top = x.at(y0, x0, ch) * (1.0 - fx) + x.at(y0, x1, ch) * fx;
                let bottom = x.at(y1, x0, ch) * (1.0 - fx) + x.at(y1, x1, ch) * fx;
                *out.at_mut(oy, ox, ch) = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

/// For output index `o`: the two input indices and the weight of the second (half-pixel centres).
pub fn bilinear_taps(o: usize, input: usize, output: usize) -> (usize, usize, f32) {
    let src = ((o as f32 + 0.5) * input as f32 / output as f32 - 0.5).max(0.0);
    let i0 = (src.floor() as usize).min(input - 1);
    let i1 = (i0 + 1).min(input - 1);
    (i0, i1, src - i0 as f32)
}

/// 2x2 transposed convolution, stride 2, kernel not flipped (MediaPipe's
/// `Convolution2DTransposeBias`): out[2y+ky, 2x+kx, o] = bias[o] + sum_c in[y,x,c] * W[o,ky,kx,c].
/// `weight` is [out, 2, 2, in].
pub fn transposed_conv2x2(x: &Tensor, weight: &[f32], bias: &[f32]) -> Tensor {
    let (cin, cout) = (x.shape.channels, bias.len());
    assert_eq!(weight.len(), cout * 4 * cin);
    let mut out = Tensor::zeros(Shape::new(2 * x.shape.height, 2 * x.shape.width, cout));
    for y in 0..x.shape.height {
        for xx in 0..x.shape.width {
            for ky in 0..2 {
                for kx in 0..2 {
                    for o in 0..cout {
                        let mut sum = bias[o];
                        for i in 0..cin {
                            sum += x.at(y, xx, i) * weight[((o * 2 + ky) * 2 + kx) * cin + i];
                        }
                        *out.at_mut(2 * y + ky, 2 * xx + kx, o) = sum;
                    }
                }
            }
        }
    }
    out
}

/// Numerically stable softmax over each row of a row-major [rows, cols] matrix.
pub fn softmax(x: &[f32], cols: usize) -> Vec<f32> {
    assert!(cols > 0 && x.len().is_multiple_of(cols));
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        out.extend(exps.iter().map(|e| e / sum));
    }
    out
}
