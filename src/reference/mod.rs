//! The CPU reference executor: one plainly written function per operator, no cleverness, in one
//! file per op family named like its GPU twin in [`crate::ops`].
//!
//! Every GPU kernel is tested against its twin here, and [`run`] walks the whole network with
//! them. Semantics follow TFLite (the runtime the weights came from): SAME padding puts the odd
//! extra row/column at the bottom/right, bilinear resize uses half-pixel centres, the 2x2
//! transposed convolution does not flip its kernel.

mod channel_gate;
mod conv;
mod elementwise;
pub mod finish;
mod matmul;
mod pixels;
mod resize;
pub mod smoothing;
mod softmax;

pub use channel_gate::{channel_gate, channel_gate_of_sum, global_avg_pool};
pub use conv::{conv2d, depthwise_conv2d, transposed_conv2x2};
pub use elementwise::{add, hard_swish, map, mul_channels, relu, sigmoid};
pub use matmul::{matmul, pointwise_conv};
pub use pixels::{network_input, pixels_input, resample_to_input};
pub use resize::{bilinear_taps, resize_bilinear};
pub use softmax::softmax;

use crate::error::Result;
use crate::network::{DepthwiseInput, Network, Node, Op, Prologue, Value, check_input};
use crate::tensor::Tensor;

/// The network on the CPU reference. `input` is the 256x256x3 image in [0, 1]; returns the
/// 256x256 probabilities.
pub fn run(network: &Network, input: &Tensor) -> Result<Tensor> {
    check_input(input.shape)?;
    let mut values: Vec<Tensor> = vec![input.clone()];
    for node in &network.nodes {
        let out = eval_node(node, &values);
        debug_assert_eq!(out.shape, node.shape);
        values.push(out);
    }
    Ok(values.pop().expect("network has nodes"))
}

/// One node: the op, then its epilogue (`values[v]` holds value v). The one `match` over
/// [`Op`] on the CPU side; `plan::lower` is its GPU twin.
pub fn eval_node(node: &Node, values: &[Tensor]) -> Tensor {
    let v = |value: &Value| &values[value.0];
    let raw = match &node.op {
        Op::Conv2d {
            input,
            layer,
            stride,
        } => conv2d(v(input), &layer.weight, &layer.bias, layer.kernel, *stride),
        Op::Pointwise {
            input,
            prologue,
            gate,
            plus,
            layer,
        } => {
            // The input as loaded: the value, or its producer's op run here.
            let x = match prologue {
                None => v(input).clone(),
                Some(Prologue::Depthwise { layer, stride, act }) => {
                    let (w, b) = (&layer.weight, &layer.bias);
                    let dw = depthwise_conv2d(v(input), w, b, layer.kernel, *stride);
                    map(&dw, |x| act.apply(x))
                }
                Some(Prologue::Pointwise { layer, act }) => {
                    let pw = pointwise_conv(v(input), &layer.weight, &layer.bias);
                    map(&pw, |x| act.apply(x))
                }
            };
            // The skip as loaded: the value itself, or its x2 upsampling; added to the input,
            // or where projected to the product.
            let projected = plus.is_some_and(|p| p.projected);
            let plus = plus.map(|p| {
                let s = v(&p.value).shape;
                match p.upsampled {
                    true => resize_bilinear(v(&p.value), 2 * s.height, 2 * s.width),
                    false => v(&p.value).clone(),
                }
            });
            let x = match gate {
                Some(g) => mul_channels(&x, v(g)),
                None => x,
            };
            match (plus, projected) {
                (Some(p), true) => add(&pointwise_conv(&x, &layer.weight, &layer.bias), &p),
                (Some(p), false) => pointwise_conv(&add(&x, &p), &layer.weight, &layer.bias),
                (None, _) => pointwise_conv(&x, &layer.weight, &layer.bias),
            }
        }
        Op::Depthwise {
            input,
            layer,
            stride,
        } => depthwise_conv2d(v(input), &layer.weight, &layer.bias, layer.kernel, *stride),
        Op::ChannelGate {
            input,
            plus,
            layers,
        } => match plus {
            Some(p) => channel_gate_of_sum(v(input), v(p), layers),
            None => channel_gate(v(input), layers),
        },
        Op::ScaleChannels { input, gate } => mul_channels(v(input), v(gate)),
        Op::Identity { input } => v(input).clone(),
        Op::Upsample2x { input } => {
            let s = v(input).shape;
            resize_bilinear(v(input), 2 * s.height, 2 * s.width)
        }
        Op::TransposedConv2x2 {
            input,
            prologue,
            layer,
        } => {
            // The input as loaded: the value, or the depthwise before it run here.
            let x = match prologue {
                None => v(input).clone(),
                Some(DepthwiseInput {
                    layer: dw,
                    act,
                    residual,
                }) => {
                    let y = depthwise_conv2d(v(input), &dw.weight, &dw.bias, dw.kernel, 1);
                    let y = map(&y, |x| act.apply(x));
                    if *residual { add(&y, v(input)) } else { y }
                }
            };
            transposed_conv2x2(&x, &layer.weight, &layer.bias)
        }
    };
    let out = map(&raw, |x| node.epilogue.act.apply(x));
    match node.epilogue.add {
        Some(a) => add(&out, v(&a)),
        None => out,
    }
}

#[cfg(test)]
mod tests;
