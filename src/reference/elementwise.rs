//! Element by element: adds, the per-channel broadcast multiply, and the activations.
//! GPU twin: [`ops::elementwise`](crate::ops::elementwise) (and every kernel's epilogue).

use crate::network::Activation;
use crate::tensor::{Shape, Tensor};

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
    Activation::Relu.apply(v)
}

/// x * relu6(x + 3) / 6
pub fn hard_swish(v: f32) -> f32 {
    Activation::HardSwish.apply(v)
}

pub fn sigmoid(v: f32) -> f32 {
    Activation::Sigmoid.apply(v)
}

pub fn map(x: &Tensor, f: impl Fn(f32) -> f32) -> Tensor {
    Tensor::from_vec(x.shape, x.data.iter().map(|&v| f(v)).collect())
}
