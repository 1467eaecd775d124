//! Lowering: the graph onto the device. Values get arena slots (`passes::arena_layout`: a slot
//! is reused once its value is dead), parameters are uploaded at the kernels' precision, and each
//! node becomes one [`Dispatch`] of its op. The one `match` over [`Op`] on the GPU side; [`cpu::eval_node`] is its
//! CPU twin.
//!
//! [`cpu::eval_node`]: crate::cpu::eval_node

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Precision};
use crate::network::{Layer, Network, Node, Op, Value};
use crate::ops::{self, Kernels};

/// A layer's parameters on the GPU.
pub(super) struct LayerBuffers {
    pub weight: wgpu::Buffer,
    pub bias: wgpu::Buffer,
}

/// The op's parameters on the GPU; pointwise weights are transposed to [in, out] for the matmul.
pub(super) fn upload_layers(gpu: &Gpu, op: &Op, precision: Precision) -> Vec<LayerBuffers> {
    let upload = |l: &Layer, weight: &[f32]| LayerBuffers {
        weight: gpu.upload_as(&l.name, weight, precision),
        bias: gpu.upload_as(&l.name, &l.bias, precision),
    };
    match op {
        Op::Pointwise { layer, .. } => vec![upload(layer, &layer.weight_in_out())],
        _ => op.layers().iter().map(|l| upload(l, &l.weight)).collect(),
    }
}

/// Bytes the nodes' dispatches read and write per frame: each value a node reads, its
/// parameters at `precision`, and its output, counted once per node.
pub(super) fn bytes_moved(network: &Network, precision: Precision) -> u64 {
    let value = |v: Value| network.shape(v).len() as u64 * 4;
    network
        .nodes
        .iter()
        .map(|node| {
            let reads: u64 = node.reads().map(value).sum();
            let parameters = (node.parameters() * precision.bytes()) as u64;
            reads + parameters + node.shape.len() as u64 * 4
        })
        .sum()
}

/// Every node of `target.network` bound to its arena slot (`slot_of[value]`), in order.
pub(super) fn bind_nodes(
    target: Target,
    layers: &[Vec<LayerBuffers>],
    arena: &[wgpu::Buffer],
    slot_of: &[usize],
) -> Result<Vec<Dispatch>> {
    let buffer = |v: Value| &arena[slot_of[v.0]];
    let nodes = &target.network.nodes;
    (0..nodes.len())
        .map(|i| bind_node(target, &nodes[i], &layers[i], &buffer, buffer(Value(i + 1))))
        .collect()
}

/// Where nodes are bound: the device and kernels, the graph, and how many frames each dispatch
/// computes (one after another in every value's buffer).
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub gpu: &'a Gpu,
    pub kernels: &'a Kernels,
    pub network: &'a Network,
    pub frames: usize,
}

/// The dispatch that computes `node` into `out`, reading values through `buffer`.
pub(super) fn bind_node<'a>(
    target: Target,
    node: &Node,
    layers: &[LayerBuffers],
    buffer: &impl Fn(Value) -> &'a wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<Dispatch> {
    let Target {
        gpu,
        kernels,
        network,
        frames,
    } = target;
    let epilogue = node.epilogue.map(buffer);
    match &node.op {
        Op::Conv2d {
            input,
            layer,
            stride,
        } => ops::Conv2d {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            out_channels: node.shape.channels,
            kernel: layer.kernel,
            stride: *stride,
            epilogue,
            frames,
        }
        .bind(gpu, kernels),
        Op::Pointwise {
            input, gate, plus, ..
        } => {
            let s = network.shape(*input);
            ops::Matmul {
                bias: Some(&layers[0].bias),
                gate: gate.map(buffer),
                plus: plus.map(buffer),
                epilogue,
                frames,
                ..ops::Matmul::new(
                    buffer(*input),
                    &layers[0].weight,
                    out,
                    frames * s.pixels(),
                    s.channels,
                    node.shape.channels,
                )
            }
            .bind(gpu, kernels)
        }
        Op::Depthwise {
            input,
            layer,
            stride,
        } => ops::Depthwise {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            kernel: layer.kernel,
            stride: *stride,
            epilogue,
            frames,
        }
        .bind(gpu, kernels),
        Op::ChannelGate {
            input,
            plus,
            layers: host,
        } => {
            let fcs: Vec<ops::Fc> = layers
                .iter()
                .zip(host)
                .map(|(l, h)| ops::Fc {
                    weight: &l.weight,
                    bias: &l.bias,
                    out: h.bias.len(),
                })
                .collect();
            ops::ChannelGate {
                input: buffer(*input),
                plus: plus.map(buffer),
                input_shape: network.shape(*input),
                layers: &fcs,
                out,
                frames,
            }
            .bind(gpu, kernels)
        }
        Op::ScaleChannels { input, gate } => elementwise(
            target,
            node,
            buffer(*input),
            Some(buffer(*gate)),
            out,
            epilogue,
        ),
        Op::Identity { input } => elementwise(target, node, buffer(*input), None, out, epilogue),
        Op::Upsample2x { input } => ops::Resize {
            input: buffer(*input),
            input_shape: network.shape(*input),
            out,
            out_height: node.shape.height,
            out_width: node.shape.width,
            epilogue,
            frames,
        }
        .bind(gpu, kernels),
        Op::TransposedConv2x2 { input, .. } => ops::TransposedConv2x2 {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            out_channels: node.shape.channels,
            epilogue,
            frames,
        }
        .bind(gpu, kernels),
    }
}

fn elementwise(
    target: Target,
    node: &Node,
    input: &wgpu::Buffer,
    gate: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    epilogue: ops::Epilogue,
) -> Result<Dispatch> {
    ops::Elementwise {
        input,
        len: target.frames * node.shape.len(),
        channels: node.shape.channels,
        gate,
        out,
        epilogue,
        frames: target.frames,
    }
    .bind(target.gpu, target.kernels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::eval_node;
    use crate::ops::testing::*;
    use crate::tensor::Shape;
    use crate::tensor::Tensor;
    use crate::weights::Weights;

    fn network() -> Network {
        Network::new(&Weights::embedded().unwrap()).unwrap()
    }

    /// Every node of the network as MediaPipe wrote it and as the passes rewrite it.
    #[test]
    fn every_node_matches_the_cpu_reference() {
        let Some((gpu, kernels)) = gpu() else { return };
        let (rewritten, _) = crate::passes::optimize(&network());
        for net in [network(), rewritten] {
            every_node_of(gpu, kernels, &net);
        }
    }

    /// Every node of `net` at its exact shapes and with its real weights, on random inputs.
    fn every_node_of(gpu: &Gpu, kernels: &Kernels, net: &Network) {
        for (i, node) in net.nodes.iter().enumerate() {
            let reads: Vec<Value> = node.reads().collect();
            let mut values = vec![Tensor::zeros(Shape::new(0, 0, 0)); i + 1];
            let mut buffers = std::collections::HashMap::new();
            for v in &reads {
                let shape = net.shape(*v);
                // Gates are sigmoid outputs: keep them in (0, 1).
                let data: Vec<f32> = random(shape.len(), (i * 31 + v.0) as u64)
                    .iter()
                    .map(|x| {
                        if shape.pixels() == 1 {
                            (x + 1.0) / 2.0
                        } else {
                            *x
                        }
                    })
                    .collect();
                values[v.0] = Tensor::from_vec(shape, data);
                buffers.insert(*v, gpu.upload("value", &values[v.0].data));
            }
            let expected = eval_node(node, &values);
            let out = gpu.storage("out", node.shape.len());
            let layers = upload_layers(gpu, &node.op, Precision::F32);
            let target = Target {
                gpu,
                kernels,
                network: net,
                frames: 1,
            };
            bind_node(target, node, &layers, &|v| &buffers[&v], &out)
                .unwrap()
                .run(gpu)
                .unwrap();
            let what = format!("node {i} {:?}", std::mem::discriminant(&node.op));
            assert_close(
                &gpu.read(&out, node.shape.len()).unwrap(),
                &expected.data,
                1e-5,
                &what,
            );
        }
    }
}
