//! The convolutions: general KxK (the stem), depthwise KxK, and the 2x2 stride-2 transposed head.
//! NHWC, TFLite SAME padding. GPU twins: [`ops::conv2d`](crate::ops::conv2d),
//! [`ops::depthwise`](crate::ops::depthwise), [`ops::transposed_conv`](crate::ops::transposed_conv).

use crate::network::same_padding;
use crate::tensor::{Shape, Tensor};

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
