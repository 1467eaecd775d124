//! [`Network::new`]: the graph built from the weights, read top-down like a model's `forward()`,
//! every tensor's shape checked against the data flowing in.

use super::{
    Activation, Epilogue, Layer, Network, Node, OUTPUT, Op, Value, same_padding, value_shape,
};
use crate::error::Result;
use crate::tensor::Shape;
use crate::weights::Weights;

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
                prologue: None,
                gate,
                plus: None,
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
            Op::ChannelGate {
                input: x,
                plus: None,
                layers,
            },
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
            Op::TransposedConv2x2 {
                input: x,
                prologue: None,
                layer,
            },
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
