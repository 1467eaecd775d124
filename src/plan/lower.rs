//! Lowering: the graph onto the device. Values get arena slots (`passes::arena_layout`: a slot
//! is reused once its value is dead), parameters are uploaded at the kernels' precision, and each
//! node becomes one [`Dispatch`] of its op. The one `match` over [`Op`] on the GPU side; [`reference::eval_node`] is its
//! CPU twin.
//!
//! [`reference::eval_node`]: crate::reference::eval_node

use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Precision};
use crate::network::{Layer, Network, Node, Op, Prologue, Value};
use crate::ops::{self, Kernels, Sums};

/// A layer's parameters on the GPU.
pub(super) struct LayerBuffers {
    pub weight: wgpu::Buffer,
    pub bias: wgpu::Buffer,
}

/// The op's parameters on the GPU; a 1x1's as [`pointwise_params`] packs them, a KxK
/// convolution's as [`ops::conv2d::pack_weight`] does.
pub(super) fn upload_layers(gpu: &Gpu, op: &Op, precision: Precision) -> Vec<LayerBuffers> {
    let upload = |l: &Layer, weight: &[f32]| LayerBuffers {
        weight: gpu.upload_as(&l.name, weight, precision),
        bias: gpu.upload_as(&l.name, &l.bias, precision),
    };
    match op {
        Op::Pointwise {
            layer, prologue, ..
        } => vec![upload(layer, &pointwise_params(layer, prologue))],
        Op::Conv2d { layer, .. } => {
            let packed = ops::conv2d::pack_weight(&layer.weight, layer.bias.len());
            vec![upload(layer, &packed)]
        }
        _ => op.layers().iter().map(|l| upload(l, &l.weight)).collect(),
    }
}

/// A 1x1's parameters as the matmul reads them from one buffer, in [`prologue_offsets`]'s
/// order: B (the weight transposed to [in, out]), then its prologue's weight ([K, K, c] for a
/// depthwise, [in, out] for a 1x1) and bias.
fn pointwise_params(layer: &Layer, prologue: &Option<Prologue>) -> Vec<f32> {
    let mut packed = layer.weight_in_out();
    if let Some(p) = prologue {
        match p {
            Prologue::Depthwise { layer, .. } => packed.extend(&layer.weight),
            Prologue::Pointwise { layer, .. } => packed.extend(layer.weight_in_out()),
        }
        packed.extend(&p.layer().bias);
    }
    packed
}

/// Where [`pointwise_params`] puts the prologue's (weight, bias), from the layers' sizes alone
/// (binding needs the offsets, not the packed parameters).
fn prologue_offsets(layer: &Layer, prologue: &Option<Prologue>) -> Option<(usize, usize)> {
    let b_len = layer.weight.len();
    prologue
        .as_ref()
        .map(|p| (b_len, b_len + p.layer().weight.len()))
}

/// Which values a gate reads the sums of (their producers write them after the value): every
/// value a channel gate pools whose producer can leave sums.
pub(super) fn pooled_values(network: &Network) -> Vec<bool> {
    let mut pooled = vec![false; network.nodes.len() + 1];
    for node in &network.nodes {
        if let Op::ChannelGate { input, plus, .. } = &node.op {
            for v in std::iter::once(input).chain(plus) {
                pooled[v.0] |= sums_of(network, *v).is_ok();
            }
        }
    }
    pooled
}

/// How the producer of `v` groups the sums it writes after `v` when pooling: the matmul by row
/// tiles, the windowed convolutions each their own way; other ops do not pool.
pub(super) fn sums_of(network: &Network, v: Value) -> Result<Sums> {
    let shape = network.shape(v);
    match v.0.checked_sub(1).map(|i| &network.nodes[i].op) {
        Some(Op::Pointwise { .. }) => Ok(ops::Matmul::sums(shape.pixels(), shape.channels)),
        Some(Op::Conv2d { .. }) => Ok(ops::Conv2d::sums(shape)),
        Some(Op::Depthwise { .. }) => Ok(ops::Depthwise::sums(shape)),
        _ => Err(Error::InvalidInput(format!(
            "a gate pools value {} ({shape}), whose producer cannot leave sums",
            v.0
        ))),
    }
}

/// f32s of `v`'s buffer per frame: the value, and the sums after it when a gate pools it.
pub(super) fn footprint(network: &Network, pooled: &[bool], v: Value) -> usize {
    let sums = match pooled[v.0] {
        true => sums_of(network, v).map_or(0, |s| s.len()),
        false => 0,
    };
    network.shape(v).len() + sums
}

/// Bytes the nodes' dispatches read and write per frame: each value a node reads, its
/// parameters at `precision`, and its output, counted once per node.
pub(super) fn bytes_moved(network: &Network, precision: Precision) -> u64 {
    let value = |v: Value| network.shape(v).len() as u64 * 4;
    network
        .nodes
        .iter()
        .map(|node| {
            let mut read: Vec<Value> = node.reads().collect();
            // A channel gate reads the sums alone where the producer leaves them.
            let mut sums = 0;
            if let Op::ChannelGate { .. } = &node.op {
                read.retain(|v| match sums_of(network, *v) {
                    Ok(s) => {
                        sums += s.len() as u64 * 4;
                        false
                    }
                    Err(_) => true,
                });
            }
            read.sort_unstable();
            read.dedup();
            let reads: u64 = read.into_iter().map(value).sum::<u64>() + sums;
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
    let pooled = pooled_values(target.network);
    (0..nodes.len())
        .map(|i| {
            let out = buffer(Value(i + 1));
            bind_node(target, &nodes[i], &layers[i], &buffer, (out, pooled[i + 1]))
        })
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

/// The dispatch that computes `node` into `out`, reading values through `buffer`; with `pool`,
/// the output's sums after it too (a later gate pools it).
pub(super) fn bind_node<'a>(
    target: Target,
    node: &Node,
    layers: &[LayerBuffers],
    buffer: &impl Fn(Value) -> &'a wgpu::Buffer,
    (out, pool): (&wgpu::Buffer, bool),
) -> Result<Dispatch> {
    let poolable = matches!(
        node.op,
        Op::Pointwise { .. } | Op::Conv2d { .. } | Op::Depthwise { .. }
    );
    if pool && !poolable {
        return Err(Error::InvalidInput(format!(
            "{} cannot leave sums for a gate",
            node.label()
        )));
    }
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
            pool,
        }
        .bind(gpu, kernels),
        Op::Pointwise {
            input,
            prologue,
            gate,
            plus,
            layer,
        } => {
            let s = network.shape(*input);
            let computed = prologue
                .as_ref()
                .zip(prologue_offsets(layer, prologue))
                .map(|(p, (w, b))| {
                    let op = match p {
                        Prologue::Depthwise { layer, stride, .. } => ops::ComputedOp::Depthwise {
                            input: s,
                            kernel: layer.kernel,
                            stride: *stride,
                        },
                        Prologue::Pointwise { .. } => ops::ComputedOp::Pointwise {
                            channels: s.channels,
                        },
                    };
                    ops::ComputedA {
                        op,
                        act: p.act(),
                        weight_offset: w,
                        bias_offset: b,
                    }
                });
            // The matmul's k: the channels of the 1x1's input as loaded.
            let k = prologue
                .as_ref()
                .map_or(s.channels, |p| p.layer().bias.len());
            let gate = gate.map(buffer);
            // The matmul upsamples a skip already through its B (added to the product) only.
            let plus = match plus {
                Some(p) if p.upsampled != p.projected => {
                    return Err(Error::InvalidInput(format!(
                        "node {}: a skip {} the 1x1's input, which the GPU's matmul does not take",
                        node.label(),
                        if p.upsampled {
                            "upsampled into"
                        } else {
                            "projected, not upsampled, into"
                        }
                    )));
                }
                p => p.map(|p| ops::MatmulPlus {
                    buffer: buffer(p.value),
                    half: p.upsampled.then(|| {
                        let low = network.shape(p.value);
                        (low.height, low.width)
                    }),
                }),
            };
            ops::Matmul {
                bias: Some(&layers[0].bias),
                gate,
                plus,
                epilogue,
                frames,
                pool,
                computed,
                ..ops::Matmul::new(
                    buffer(*input),
                    &layers[0].weight,
                    out,
                    frames * node.shape.pixels(),
                    k,
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
            pool,
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
            // A gate's tensors carry their sums wherever the producer can leave them
            // ([`pooled_values`]).
            let pooled = |v: Value| ops::GateInput {
                buffer: buffer(v),
                shape: network.shape(v),
                sums: sums_of(network, v).ok(),
            };
            ops::ChannelGate {
                input: pooled(*input),
                plus: plus.map(pooled),
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
        Op::TransposedConv2x2 {
            input, prologue, ..
        } => ops::TransposedConv2x2 {
            input: buffer(*input),
            input_shape: network.shape(*input),
            // The depthwise's layer follows the head's (Op::layers).
            computed: prologue.as_ref().map(|p| ops::ComputedInput {
                weight: &layers[1].weight,
                bias: &layers[1].bias,
                kernel: p.layer.kernel,
                act: p.act,
                residual: p.residual,
            }),
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
    use crate::ops::testing::*;
    use crate::reference::eval_node;
    use crate::tensor::Shape;
    use crate::tensor::Tensor;
    use crate::weights::Weights;

    fn network() -> Network {
        Network::new(&Weights::embedded().unwrap()).unwrap()
    }

    /// Every node of the network as MediaPipe wrote it and as the passes rewrite it (with the
    /// producers fused into their 1x1s too).
    #[test]
    fn every_node_matches_the_cpu_reference() {
        let Some((gpu, kernels)) = gpu() else { return };
        let (rewritten, _) = crate::passes::optimize(&network());
        let (fused, _) = crate::passes::optimize_for_gpu(&network(), true);
        for net in [network(), rewritten, fused] {
            every_node_of(gpu, kernels, &net);
        }
    }

    /// Every node of `net` at its exact shapes and with its real weights, on random inputs; a
    /// value a gate pools gets its sums after it (as its producer leaves them), and a node whose
    /// output a gate pools is checked for its sums too.
    fn every_node_of(gpu: &Gpu, kernels: &Kernels, net: &Network) {
        let pooled = pooled_values(net);
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
                let mut stored = data.clone();
                if pooled[v.0] {
                    stored.extend(sums_of(net, *v).unwrap().of(&data, 1));
                }
                values[v.0] = Tensor::from_vec(shape, data);
                buffers.insert(*v, gpu.upload("value", &stored));
            }
            let expected = eval_node(node, &values);
            let out = gpu.storage("out", footprint(net, &pooled, Value(i + 1)));
            let layers = upload_layers(gpu, &node.op, Precision::F32);
            let target = Target {
                gpu,
                kernels,
                network: net,
                frames: 1,
            };
            let pool = pooled[i + 1];
            let dispatch = bind_node(target, node, &layers, &|v| &buffers[&v], (&out, pool));
            let what = format!("node {i} {}", node.label());
            if pool {
                let sums = sums_of(net, Value(i + 1)).unwrap();
                let check = (expected.data.as_slice(), sums, 1);
                run_and_check_pooled(gpu, dispatch, &out, check, &what);
            } else {
                run_and_check(gpu, dispatch, &out, &expected.data, 1e-5, &what);
            }
        }
    }
}
