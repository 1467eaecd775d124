//! The fixed network as data: a list of operator nodes built from the weights, read top-down
//! in [`Network::new`] like a model's `forward()`. Both executors walk the same list: the CPU
//! reference ([`crate::cpu::run`]) and the GPU plan ([`crate::plan::Plan`]). This module imports
//! neither: the graph is data, and the executors read it.
//!
//! Activations that TFLite keeps as separate ops are folded into an [`Epilogue`] on the op that
//! produces them (`act(op(x)) + add`); the math and its order per element are unchanged.

use crate::error::Result;
use crate::tensor::Shape;
use crate::weights::Weights;

/// Input resolution of the network (RGB, values in [0, 1], no mean/std).
pub const INPUT: Shape = Shape::new(256, 256, 3);
/// Output: one sigmoid probability per pixel.
pub const OUTPUT: Shape = Shape::new(256, 256, 1);

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

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// KxK convolution over all input channels, SAME padding (the stem).
    Conv2d {
        input: Value,
        layer: Layer,
        stride: usize,
    },
    /// 1x1 convolution, i.e. a matmul [pixels, in] x [in, out]. `gate`, when set, scales the
    /// input channels first (a squeeze-excite gate, folded into the matmul's loads).
    Pointwise {
        input: Value,
        gate: Option<Value>,
        layer: Layer,
    },
    /// KxK depthwise convolution, SAME padding.
    Depthwise {
        input: Value,
        layer: Layer,
        stride: usize,
    },
    /// Squeeze-excite gate: mean over pixels, then the FC layers with relu between and a sigmoid
    /// after the last. Output [1, 1, c].
    ChannelGate { input: Value, layers: Vec<Layer> },
    /// x * gate[c] (a per-channel broadcast multiply).
    ScaleChannels { input: Value, gate: Value },
    /// a + b (use the epilogue: `Identity` with `add`).
    Identity { input: Value },
    /// Bilinear 2x upsampling, half-pixel centres.
    Upsample2x { input: Value },
    /// 2x2 transposed convolution, stride 2 (the segmentation head).
    TransposedConv2x2 { input: Value, layer: Layer },
}

impl Op {
    /// The values this op reads (not counting its epilogue's `add`).
    pub fn inputs(&self) -> Vec<Value> {
        match self {
            Op::Conv2d { input, .. }
            | Op::Depthwise { input, .. }
            | Op::ChannelGate { input, .. }
            | Op::Identity { input }
            | Op::Upsample2x { input }
            | Op::TransposedConv2x2 { input, .. } => vec![*input],
            Op::Pointwise { input, gate, .. } => std::iter::once(*input).chain(*gate).collect(),
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
        match &self.op {
            Op::Conv2d { layer, .. }
            | Op::Pointwise { layer, .. }
            | Op::Depthwise { layer, .. } => {
                (self.shape.len() * (layer.weight.len() / layer.bias.len())) as u64
            }
            // Each output pixel takes one of the four kernel taps.
            Op::TransposedConv2x2 { layer, .. } => {
                (self.shape.len() * (layer.weight.len() / layer.bias.len() / 4)) as u64
            }
            Op::ChannelGate { layers, .. } => layers.iter().map(|l| l.weight.len() as u64).sum(),
            _ => 0,
        }
    }

    /// Parameters this node reads (weights and biases).
    pub fn parameters(&self) -> usize {
        match &self.op {
            Op::Conv2d { layer, .. }
            | Op::Pointwise { layer, .. }
            | Op::Depthwise { layer, .. }
            | Op::TransposedConv2x2 { layer, .. } => layer.weight.len() + layer.bias.len(),
            Op::ChannelGate { layers, .. } => {
                layers.iter().map(|l| l.weight.len() + l.bias.len()).sum()
            }
            _ => 0,
        }
    }

    /// A short name for tables: "pointwise 32x32x24", "gate 1x1x96", ...
    pub fn label(&self) -> String {
        let kind = match &self.op {
            Op::Conv2d { .. } => "conv2d",
            Op::Pointwise { gate: Some(_), .. } => "pointwise+gate",
            Op::Pointwise { .. } => "pointwise",
            Op::Depthwise { layer, stride, .. } => {
                return format!("depthwise {0}x{0}/s{stride} {1}", layer.kernel, self.shape);
            }
            Op::ChannelGate { .. } => "gate",
            Op::ScaleChannels { .. } => "scale",
            Op::Identity { .. } => "add",
            Op::Upsample2x { .. } => "upsample",
            Op::TransposedConv2x2 { .. } => "transposed",
        };
        format!("{kind} {}", self.shape)
    }
}

/// The shape of `v` among `nodes`: value 0 is the input image, value n the output of node n-1.
fn value_shape(nodes: &[Node], v: Value) -> Shape {
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

/// An inverted bottleneck: expand 1x1 -> depthwise KxK -> [squeeze-excite] -> project 1x1 [+ x].
struct Bottleneck {
    kernel: usize,
    stride: usize,
    act: Activation,
    squeeze_excite: bool,
    residual: bool,
}

impl Network {
    /// Builds the graph from `weights`, checking every tensor's shape against the data flowing in.
    pub fn new(weights: &Weights) -> Result<Network> {
        use Activation::*;
        let mut g = Builder {
            weights,
            nodes: Vec::new(),
        };
        let image = Value(0);
        let block = |kernel, stride, act, squeeze_excite, residual| Bottleneck {
            kernel,
            stride,
            act,
            squeeze_excite,
            residual,
        };

        // Encoder (MobileNetV3-style). The decoder reuses the outputs at 1/2, 1/4 and 1/8.
        let half = g.conv2d("stem.conv", image, 3, 2, HardSwish)?; //         128x128x16
        let quarter = g.bottleneck("enc1", half, block(3, 2, Relu, true, false))?; // 64x64x16
        let x = g.bottleneck("enc2", quarter, block(3, 2, Relu, false, false))?; //   32x32x24
        let eighth = g.bottleneck("enc3", x, block(3, 1, Relu, false, true))?; //      32x32x24
        let mut x = g.bottleneck("enc4", eighth, block(5, 2, HardSwish, true, false))?; // 16x16x32
        for name in ["enc5", "enc6", "enc7", "enc8"] {
            x = g.bottleneck(name, x, block(5, 1, HardSwish, true, true))?;
        }

        // LR-ASPP head: relu features gated by a pooled sigmoid, upsampled to 1/8.
        let features = g.pointwise("aspp.features", x, None, Epilogue::act(Relu))?;
        let gate = g.channel_gate(x, &["aspp.gate"])?;
        let x = g.scale_channels(features, gate, None)?;
        let x = g.upsample2x(x)?;
        let x = g.pointwise("aspp.project", x, None, Epilogue::act(Linear))?; //         32x32x24

        // Decoder: fuse each skip, refine, upsample, project to the next skip's width.
        let x = g.decoder_stage("dec32", eighth, x)?;
        let x = g.upsample2x(x)?;
        let x = g.pointwise("dec32.up_project", x, None, Epilogue::act(Linear))?; //     64x64x16
        let x = g.decoder_stage("dec64", quarter, x)?;
        let x = g.upsample2x(x)?;
        let x = g.pointwise("dec64.up_project", x, None, Epilogue::act(Linear))?; //   128x128x16
        let x = g.decoder_stage("dec128", half, x)?;

        // Head: 2x2 transposed convolution to full resolution, then sigmoid.
        let mask = g.transposed_conv2x2("segment", x, Sigmoid)?; //                  256x256x1
        debug_assert_eq!(mask.0, g.nodes.len());
        let net = Network { nodes: g.nodes };
        if net.output_shape() != OUTPUT {
            return Err(weights.error(format!(
                "network output is {}, expected {OUTPUT}",
                net.output_shape()
            )));
        }
        Ok(net)
    }

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

/// Appends nodes, loading and shape-checking each layer's parameters as it goes.
struct Builder<'w> {
    weights: &'w Weights,
    nodes: Vec<Node>,
}

impl Builder<'_> {
    fn shape(&self, v: Value) -> Shape {
        value_shape(&self.nodes, v)
    }

    fn push(&mut self, op: Op, epilogue: Epilogue, shape: Shape) -> Result<Value> {
        if let Some(a) = epilogue.add
            && self.shape(a) != shape
        {
            return Err(self
                .weights
                .error(format!("cannot add {} to {shape}", self.shape(a))));
        }
        self.nodes.push(Node {
            op,
            epilogue,
            shape,
        });
        Ok(Value(self.nodes.len()))
    }

    /// Loads `name.weight` [out, k, k, in] and `name.bias` [out]; `out` is read from the weight
    /// (whose other sides are known), so a bad tensor is the one named. `depthwise` layers are
    /// [1, k, k, in].
    fn layer(
        &self,
        name: &str,
        kernel: usize,
        input_channels: usize,
        depthwise: bool,
    ) -> Result<Layer> {
        let weight_name = format!("{name}.weight");
        let out = match self.weights.get_any(&weight_name)?.shape.as_slice() {
            [out, ..] if depthwise => (*out == 1).then_some(input_channels),
            [out, ..] => (*out > 0).then_some(*out),
            [] => None,
        };
        let first = if depthwise { 1 } else { out.unwrap_or(1) };
        let weight = self
            .weights
            .get(&weight_name, &[first, kernel, kernel, input_channels])?;
        let bias = self
            .weights
            .get(&format!("{name}.bias"), &[out.unwrap_or(1)])?;
        Ok(Layer {
            name: name.to_string(),
            weight: weight.data.clone(),
            bias: bias.data.clone(),
            kernel,
        })
    }

    fn conv2d(
        &mut self,
        name: &str,
        x: Value,
        kernel: usize,
        stride: usize,
        act: Activation,
    ) -> Result<Value> {
        let s = self.shape(x);
        let layer = self.layer(name, kernel, s.channels, false)?;
        let shape = Shape::new(
            same_padding(s.height, kernel, stride).0,
            same_padding(s.width, kernel, stride).0,
            layer.bias.len(),
        );
        self.push(
            Op::Conv2d {
                input: x,
                layer,
                stride,
            },
            Epilogue::act(act),
            shape,
        )
    }

    fn pointwise(
        &mut self,
        name: &str,
        x: Value,
        gate: Option<Value>,
        epilogue: Epilogue,
    ) -> Result<Value> {
        let s = self.shape(x);
        let layer = self.layer(name, 1, s.channels, false)?;
        let shape = Shape::new(s.height, s.width, layer.bias.len());
        self.push(
            Op::Pointwise {
                input: x,
                gate,
                layer,
            },
            epilogue,
            shape,
        )
    }

    fn depthwise(
        &mut self,
        name: &str,
        x: Value,
        kernel: usize,
        stride: usize,
        epilogue: Epilogue,
    ) -> Result<Value> {
        let s = self.shape(x);
        let layer = self.layer(name, kernel, s.channels, true)?;
        let shape = Shape::new(
            same_padding(s.height, kernel, stride).0,
            same_padding(s.width, kernel, stride).0,
            s.channels,
        );
        self.push(
            Op::Depthwise {
                input: x,
                layer,
                stride,
            },
            epilogue,
            shape,
        )
    }

    /// Pool, FC layers (relu between), sigmoid: a [1, 1, c] gate for the pooled tensor's channels.
    fn channel_gate(&mut self, x: Value, names: &[&str]) -> Result<Value> {
        let mut width = self.shape(x).channels;
        let mut layers = Vec::new();
        for name in names {
            let layer = self.layer(name, 1, width, false)?;
            width = layer.bias.len();
            layers.push(layer);
        }
        self.push(
            Op::ChannelGate { input: x, layers },
            Epilogue::act(Activation::Linear),
            Shape::new(1, 1, width),
        )
    }

    fn scale_channels(&mut self, x: Value, gate: Value, add: Option<Value>) -> Result<Value> {
        let s = self.shape(x);
        if self.shape(gate) != Shape::new(1, 1, s.channels) {
            return Err(self
                .weights
                .error(format!("gate {} does not fit {s}", self.shape(gate))));
        }
        let epilogue = Epilogue {
            act: Activation::Linear,
            add,
        };
        self.push(Op::ScaleChannels { input: x, gate }, epilogue, s)
    }

    fn upsample2x(&mut self, x: Value) -> Result<Value> {
        let s = self.shape(x);
        let shape = Shape::new(2 * s.height, 2 * s.width, s.channels);
        self.push(
            Op::Upsample2x { input: x },
            Epilogue::act(Activation::Linear),
            shape,
        )
    }

    fn transposed_conv2x2(&mut self, name: &str, x: Value, act: Activation) -> Result<Value> {
        let s = self.shape(x);
        let layer = self.layer(name, 2, s.channels, false)?;
        let shape = Shape::new(2 * s.height, 2 * s.width, layer.bias.len());
        self.push(
            Op::TransposedConv2x2 { input: x, layer },
            Epilogue::act(act),
            shape,
        )
    }

    fn bottleneck(&mut self, name: &str, x: Value, b: Bottleneck) -> Result<Value> {
        let expanded = self.pointwise(&format!("{name}.expand"), x, None, Epilogue::act(b.act))?;
        let y = self.depthwise(
            &format!("{name}.depthwise"),
            expanded,
            b.kernel,
            b.stride,
            Epilogue::act(b.act),
        )?;
        let gate = if b.squeeze_excite {
            Some(self.channel_gate(
                y,
                &[&format!("{name}.se_reduce"), &format!("{name}.se_expand")],
            )?)
        } else {
            None
        };
        let epilogue = Epilogue {
            act: Activation::Linear,
            add: b.residual.then_some(x),
        };
        self.pointwise(&format!("{name}.project"), y, gate, epilogue)
    }

    /// skip' = skip * gate(skip + up) + up; r = relu(1x1(skip')); out = r + relu(dw3x3(r)).
    fn decoder_stage(&mut self, name: &str, skip: Value, up: Value) -> Result<Value> {
        let sum = self.push(
            Op::Identity { input: skip },
            Epilogue {
                act: Activation::Linear,
                add: Some(up),
            },
            self.shape(skip),
        )?;
        let gate = self.channel_gate(
            sum,
            &[
                &format!("{name}.gate_reduce"),
                &format!("{name}.gate_expand"),
            ],
        )?;
        let fused = self.scale_channels(skip, gate, Some(up))?;
        let r = self.pointwise(
            &format!("{name}.refine_pointwise"),
            fused,
            None,
            Epilogue::act(Activation::Relu),
        )?;
        let epilogue = Epilogue {
            act: Activation::Relu,
            add: Some(r),
        };
        self.depthwise(&format!("{name}.refine_depthwise"), r, 3, 1, epilogue)
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
