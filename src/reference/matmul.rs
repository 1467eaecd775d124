//! Matrix products: the plain matmul and the 1x1 (pointwise) convolution built on the same sum.
//! GPU twin: [`ops::matmul`](crate::ops::matmul).

use crate::tensor::{Shape, Tensor};

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
