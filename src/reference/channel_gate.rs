//! Squeeze-excite gates: global average pooling, then small FC layers (relu between, sigmoid
//! after the last). GPU twin: [`ops::channel_gate`](crate::ops::channel_gate).

use super::elementwise::{map, relu, sigmoid};
use super::matmul::pointwise_conv;
use crate::network::Layer;
use crate::tensor::{Shape, Tensor};

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

/// The gate for `x`'s channels: pool, then `layers` (relu between, sigmoid after the last).
pub fn channel_gate(x: &Tensor, layers: &[Layer]) -> Tensor {
    gate_of_means(global_avg_pool(x), layers)
}

/// The gate of `x + plus` where `plus` has `x`'s channels at any resolution: the mean of the
/// sum, mean(x) + mean(plus), which is also the gate of `x + up(plus)` for a half-resolution
/// `plus` (every pixel of a x2 bilinear upsampling's input carries the same weight).
pub fn channel_gate_of_sum(x: &Tensor, plus: &Tensor, layers: &[Layer]) -> Tensor {
    let mut means = global_avg_pool(x);
    let plus = global_avg_pool(plus);
    means
        .data
        .iter_mut()
        .zip(&plus.data)
        .for_each(|(m, p)| *m += p);
    gate_of_means(means, layers)
}

fn gate_of_means(mut x: Tensor, layers: &[Layer]) -> Tensor {
    for (i, layer) in layers.iter().enumerate() {
        x = pointwise_conv(&x, &layer.weight, &layer.bias);
        let act = if i + 1 == layers.len() { sigmoid } else { relu };
        x = map(&x, act);
    }
    x
}
