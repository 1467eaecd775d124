//! The fixed network as data: a list of operator nodes built from the weights, read top-down
//! in [`Network::new`] like a model's `forward()`. Both executors walk the same list: the CPU
//! reference (`reference::run`) and the GPU plan (`plan::Plan`). This module imports
//! neither: the graph is data, and the executors read it.
//!
//! Activations that TFLite keeps as separate ops are folded into an [`Epilogue`] on the op that
//! produces them (`act(op(x)) + add`); the math and its order per element are unchanged.

use crate::error::{Error, Result};
use crate::tensor::Shape;

mod build;

/// Input resolution of the network (RGB, values in [0, 1], no mean/std).
pub const INPUT: Shape = Shape::new(256, 256, 3);
/// Output: one sigmoid probability per pixel.
pub const OUTPUT: Shape = Shape::new(256, 256, 1);

/// An error unless `shape` is the network's input.
pub fn check_input(shape: Shape) -> Result<()> {
    if shape != INPUT {
        return Err(Error::NetworkInput {
            expected: INPUT,
            got: shape,
        });
    }
    Ok(())
}

/// An error unless `len` holds the output of `frames` frames.
pub fn check_output(len: usize, frames: usize) -> Result<()> {
    if len != frames * OUTPUT.len() {
        return Err(Error::OutputSize {
            holds: len,
            needs: frames * OUTPUT.len(),
        });
    }
    Ok(())
}

/// An activation tensor in the graph: 0 is the input image, n is the output of node n-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub usize);

/// An element-wise activation. `act as u32` is the `ACT_*` constant the kernels switch on (the
/// WGSL prelude is generated from this enum by `ops::wgsl`: one definition for Rust and WGSL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Activation {
    #[default]
    Linear = 0,
    Relu = 1,
    HardSwish = 2,
    Sigmoid = 3,
}

impl Activation {
    pub const ALL: [Activation; 4] = [
        Activation::Linear,
        Activation::Relu,
        Activation::HardSwish,
        Activation::Sigmoid,
    ];

    /// The activation's definition (the CPU reference and common.wgsl's `activate` follow it).
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Linear => v,
            Activation::Relu => v.max(0.0),
            // x * relu6(x + 3) / 6
            Activation::HardSwish => v * (v + 3.0).clamp(0.0, 6.0) / 6.0,
            Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        }
    }
}

/// What happens to an op's result before it is stored: `act(result) + add`. In the graph `A` is
/// a [`Value`]; bound to a device it is that value's buffer (`ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epilogue<A = Value> {
    pub act: Activation,
    pub add: Option<A>,
}

impl<A> Epilogue<A> {
    pub const fn act(act: Activation) -> Self {
        Epilogue { act, add: None }
    }

    /// The same epilogue with `add` mapped, e.g. from a value to its buffer.
    pub fn map<B>(self, f: impl FnOnce(A) -> B) -> Epilogue<B> {
        Epilogue {
            act: self.act,
            add: self.add.map(f),
        }
    }
}

impl<A> Default for Epilogue<A> {
    fn default() -> Self {
        Epilogue::act(Activation::Linear)
    }
}

/// TFLite SAME padding for one axis: (output size, padding before). The rest goes after.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(input);
    (output, total / 2)
}

/// A layer's parameters, f32, in TFLite's layout: weight [out, kh, kw, in] (depthwise [1, kh, kw, c]).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub kernel: usize,
}

impl Layer {
    /// A 1x1 layer's weight as [in, out] row-major (the stored [out, in] transposed), the
    /// layout a matmul reads B in.
    pub fn weight_in_out(&self) -> Vec<f32> {
        let (n, k) = (self.bias.len(), self.weight.len() / self.bias.len());
        (0..k * n)
            .map(|i| self.weight[(i % n) * k + i / n])
            .collect()
    }
}

/// A tensor added to a 1x1 convolution's input as it is loaded (a skip folded into the loads): the
/// value itself, or, when `upsampled`, its bilinear x2 upsampling (half-pixel centres, as
/// [`Op::Upsample2x`]), sampled from the low-resolution value so the upsampled one is never stored.
/// When `projected`, the value has already been through the convolution's weights (the skip's
/// projection, bias-free, at its own resolution: `passes::upsample_into_loads`), and is added to
/// the product instead, before the bias and activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plus {
    pub value: Value,
    pub upsampled: bool,
    pub projected: bool,
}

impl Plus {
    pub const fn of(value: Value) -> Plus {
        Plus {
            value,
            upsampled: false,
            projected: false,
        }
    }
}

/// A 1x1 convolution's input computed as it is loaded, never stored: `act(op(input))` for the op
/// that produced it, at the 1x1's resolution (the GPU computes it in the matmul's tile loads).
#[derive(Clone, Debug, PartialEq)]
pub enum Prologue {
    /// A depthwise KxK convolution, SAME padding (a depthwise-separable convolution).
    Depthwise {
        layer: Layer,
        stride: usize,
        act: Activation,
    },
    /// Another 1x1 convolution (two back to back).
    Pointwise { layer: Layer, act: Activation },
}

impl Prologue {
    pub fn layer(&self) -> &Layer {
        match self {
            Prologue::Depthwise { layer, .. } | Prologue::Pointwise { layer, .. } => layer,
        }
    }

    pub fn act(&self) -> Activation {
        match self {
            Prologue::Depthwise { act, .. } | Prologue::Pointwise { act, .. } => *act,
        }
    }

    /// Multiply-accumulates per output pixel.
    fn macs_per_pixel(&self) -> u64 {
        match self {
            Prologue::Depthwise { layer, .. } => layer.weight.len() as u64,
            Prologue::Pointwise { layer, .. } => layer.weight.len() as u64,
        }
    }
}

/// The head's input computed as it is loaded, never stored: `act(depthwise(input))`, plus
/// `input` itself where `residual` (the last decoder stage's refinement), a stride-1 depthwise.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseInput {
    pub layer: Layer,
    pub act: Activation,
    pub residual: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// KxK convolution over all input channels, SAME padding (the stem).
    Conv2d {
        input: Value,
        layer: Layer,
        stride: usize,
    },
    /// 1x1 convolution, i.e. a matmul [pixels, in] x [in, out], of `x * gate + plus` where x is
    /// `input`, or `prologue(input)` when its producer is fused in: the optional per-channel
    /// `gate` (a squeeze-excite gate another node computed, [1, 1, c]) and `plus` (a skip of x's
    /// shape, or see [`Plus`]) are folded into the matmul's loads.
    Pointwise {
        input: Value,
        prologue: Option<Prologue>,
        gate: Option<Value>,
        plus: Option<Plus>,
        layer: Layer,
    },
    /// KxK depthwise convolution, SAME padding.
    Depthwise {
        input: Value,
        layer: Layer,
        stride: usize,
    },
    /// Squeeze-excite gate: mean over pixels of `input + plus` (plus optional, of input's channels:
    /// mean(input) + mean(plus), so plus may be the half-resolution input of an x2 upsampling
    /// whose mean it is), then the FC layers with relu between and a sigmoid after the last.
    /// Output [1, 1, c].
    ChannelGate {
        input: Value,
        plus: Option<Value>,
        layers: Vec<Layer>,
    },
    /// x * gate[c] (a per-channel broadcast multiply).
    ScaleChannels { input: Value, gate: Value },
    /// a + b (use the epilogue: `Identity` with `add`).
    Identity { input: Value },
    /// Bilinear 2x upsampling, half-pixel centres.
    Upsample2x { input: Value },
    /// 2x2 transposed convolution, stride 2 (the segmentation head), of `input`, or of
    /// `prologue(input)` when the depthwise before it is fused in.
    TransposedConv2x2 {
        input: Value,
        prologue: Option<DepthwiseInput>,
        layer: Layer,
    },
}

impl Op {
    /// The layers whose parameters this op reads, in order (none for the element-wise ops); a
    /// 1x1 convolution's own layer comes first, then its prologue's.
    pub fn layers(&self) -> Vec<&Layer> {
        match self {
            Op::Pointwise {
                layer, prologue, ..
            } => std::iter::once(layer)
                .chain(prologue.as_ref().map(Prologue::layer))
                .collect(),
            Op::TransposedConv2x2 {
                layer, prologue, ..
            } => std::iter::once(layer)
                .chain(prologue.as_ref().map(|p| &p.layer))
                .collect(),
            Op::Conv2d { layer, .. } | Op::Depthwise { layer, .. } => vec![layer],
            Op::ChannelGate { layers, .. } => layers.iter().collect(),
            Op::ScaleChannels { .. } | Op::Identity { .. } | Op::Upsample2x { .. } => vec![],
        }
    }

    /// The values this op reads, to rewrite them (graph passes renumber values).
    pub fn inputs_mut(&mut self) -> Vec<&mut Value> {
        match self {
            Op::Conv2d { input, .. }
            | Op::Depthwise { input, .. }
            | Op::Identity { input }
            | Op::Upsample2x { input }
            | Op::TransposedConv2x2 { input, .. } => vec![input],
            Op::ChannelGate { input, plus, .. } => std::iter::once(input).chain(plus).collect(),
            Op::Pointwise {
                input, gate, plus, ..
            } => std::iter::once(input)
                .chain(gate.as_mut())
                .chain(plus.as_mut().map(|p| &mut p.value))
                .collect(),
            Op::ScaleChannels { input, gate } => vec![input, gate],
        }
    }

    /// The values this op reads (not counting its epilogue's `add`).
    pub fn inputs(&self) -> Vec<Value> {
        match self {
            Op::Conv2d { input, .. }
            | Op::Depthwise { input, .. }
            | Op::Identity { input }
            | Op::Upsample2x { input }
            | Op::TransposedConv2x2 { input, .. } => vec![*input],
            Op::ChannelGate { input, plus, .. } => std::iter::once(*input).chain(*plus).collect(),
            Op::Pointwise {
                input, gate, plus, ..
            } => std::iter::once(*input)
                .chain(gate.as_ref().copied())
                .chain(plus.map(|p| p.value))
                .collect(),
            Op::ScaleChannels { input, gate } => vec![*input, *gate],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: Op,
    pub epilogue: Epilogue,
    pub shape: Shape,
}

impl Node {
    /// Every value this node reads: its op's inputs and its epilogue's `add`.
    pub fn reads(&self) -> impl Iterator<Item = Value> + '_ {
        self.op.inputs().into_iter().chain(self.epilogue.add)
    }

    /// Multiply-accumulates of this node (0 for the element-wise ones).
    pub fn macs(&self) -> u64 {
        let fc = |layers: &[Layer]| layers.iter().map(|l| l.weight.len() as u64).sum::<u64>();
        match &self.op {
            Op::Pointwise {
                layer, prologue, ..
            } => {
                let pixels = self.shape.pixels() as u64;
                let prologue = prologue.as_ref().map_or(0, |p| pixels * p.macs_per_pixel());
                (self.shape.len() * (layer.weight.len() / layer.bias.len())) as u64 + prologue
            }
            Op::Conv2d { layer, .. } | Op::Depthwise { layer, .. } => {
                (self.shape.len() * (layer.weight.len() / layer.bias.len())) as u64
            }
            // Each output pixel takes one of the four kernel taps; a fused depthwise runs once
            // per input pixel (a quarter of the output's).
            Op::TransposedConv2x2 {
                layer, prologue, ..
            } => {
                let dw = prologue.as_ref().map_or(0, |p| p.layer.weight.len());
                (self.shape.len() * (layer.weight.len() / layer.bias.len() / 4)
                    + self.shape.pixels() / 4 * dw) as u64
            }
            Op::ChannelGate { layers, .. } => fc(layers),
            Op::ScaleChannels { .. } | Op::Identity { .. } | Op::Upsample2x { .. } => 0,
        }
    }

    /// Parameters this node reads (weights and biases).
    pub fn parameters(&self) -> usize {
        self.op
            .layers()
            .iter()
            .map(|l| l.weight.len() + l.bias.len())
            .sum()
    }

    /// A short name for tables: "pointwise 32x32x24", "gate 1x1x96", ...
    pub fn label(&self) -> String {
        let kind = match &self.op {
            Op::Conv2d { .. } => "conv2d",
            Op::Pointwise {
                prologue,
                gate,
                plus,
                ..
            } => {
                let prologue = match prologue {
                    Some(Prologue::Depthwise { layer, stride, .. }) => {
                        format!("depthwise {0}x{0}/s{stride}+", layer.kernel)
                    }
                    Some(Prologue::Pointwise { .. }) => "pointwise+".into(),
                    None => String::new(),
                };
                let gate = match gate {
                    Some(_) => "+gate",
                    None => "",
                };
                let plus = match plus {
                    Some(Plus {
                        upsampled: true, ..
                    }) => "+upsampled skip",
                    Some(_) => "+skip",
                    None => "",
                };
                return format!("{prologue}pointwise{gate}{plus} {}", self.shape);
            }
            Op::Depthwise { layer, stride, .. } => {
                return format!("depthwise {0}x{0}/s{stride} {1}", layer.kernel, self.shape);
            }
            Op::ChannelGate { plus: Some(_), .. } => "gate of a sum",
            Op::ChannelGate { .. } => "gate",
            Op::ScaleChannels { .. } => "scale",
            Op::Identity { .. } => "add",
            Op::Upsample2x { .. } => "upsample",
            Op::TransposedConv2x2 {
                prologue: Some(p), ..
            } => {
                return format!(
                    "depthwise {0}x{0}/s1+transposed {1}",
                    p.layer.kernel, self.shape
                );
            }
            Op::TransposedConv2x2 { .. } => "transposed",
        };
        format!("{kind} {}", self.shape)
    }
}

/// The shape of `v` among `nodes`: value 0 is the input image, value n the output of node n-1.
pub(crate) fn value_shape(nodes: &[Node], v: Value) -> Shape {
    if v.0 == 0 {
        INPUT
    } else {
        nodes[v.0 - 1].shape
    }
}

/// MediaPipe Selfie Segmentation (general, 256x256), as a list of nodes.
#[derive(Clone, Debug)]
pub struct Network {
    pub nodes: Vec<Node>,
}

impl Network {
    pub fn shape(&self, v: Value) -> Shape {
        value_shape(&self.nodes, v)
    }

    pub fn output(&self) -> Value {
        Value(self.nodes.len())
    }

    pub fn output_shape(&self) -> Shape {
        self.shape(self.output())
    }

    /// Multiply-accumulates per frame (convolutions and FC layers).
    pub fn macs(&self) -> u64 {
        self.nodes.iter().map(Node::macs).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tflite() {
        // [out, pad_before] with the odd extra row at the bottom/right.
        assert_eq!(same_padding(256, 3, 2), (128, 0)); // [0,0,1,1]
        assert_eq!(same_padding(32, 5, 2), (16, 1)); // [1,1,2,2]
        assert_eq!(same_padding(32, 3, 1), (32, 1));
        assert_eq!(same_padding(16, 5, 1), (16, 2));
        assert_eq!(same_padding(7, 3, 2), (4, 1)); // odd size: total 2
        assert_eq!(same_padding(1, 3, 2), (1, 1));
    }

    #[test]
    fn every_activation_is_listed_once_with_its_code() {
        for (i, act) in Activation::ALL.iter().enumerate() {
            // Exhaustive: a new variant fails to compile here until it is listed in ALL.
            match act {
                Activation::Linear
                | Activation::Relu
                | Activation::HardSwish
                | Activation::Sigmoid => assert_eq!(*act as usize, i),
            }
        }
    }
}
