//! Every kernel at odd shapes (channels not a multiple of 8, padding on every side, single
//! pixels) with every epilogue, on each SIMD path this CPU can be made to take.

use super::*;
/// A layer of random parameters: weight `weight_len`, bias `out`.
fn layer(weight_len: usize, out: usize, seed: u64) -> crate::network::Layer {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    crate::network::Layer {
        name: "test".into(),
        weight: (0..weight_len).map(|_| next()).collect(),
        bias: (0..out).map(|_| next()).collect(),
        kernel: 0,
    }
}

/// A graph that declares values of `shapes` (placeholder nodes, never run) and then `node`,
/// which may read them as Value(1), Value(2), ...
fn graph(shapes: &[Shape], node: Node) -> Network {
    let mut nodes: Vec<Node> = shapes
        .iter()
        .map(|&shape| Node {
            op: Op::Identity { input: Value(0) },
            epilogue: Epilogue::default(),
            shape,
        })
        .collect();
    nodes.push(node);
    Network { nodes }
}

use crate::network::{Activation, Epilogue, Plus, Prologue};
use crate::tensor::Shape;

/// Odd shapes (channels not a multiple of 8, padding on every side, single pixels) for every
/// kernel, with every epilogue.
fn odd_shapes() {
    let act_add = |act, add| Epilogue { act, add };
    let mut cases: Vec<Network> = Vec::new();
    for (i, &(input, cout, k, stride)) in [
        (Shape::new(7, 5, 3), 4, 3, 2),
        (Shape::new(9, 9, 2), 17, 5, 2),
        (Shape::new(1, 1, 3), 2, 3, 2),
        // The gathered path (8 or 16 outputs), runs cut short by the row's end.
        (Shape::new(11, 13, 3), 16, 3, 2),
        (Shape::new(6, 10, 2), 8, 3, 1),
    ]
    .iter()
    .enumerate()
    {
        let mut l = layer(cout * k * k * input.channels, cout, 10 + i as u64);
        l.kernel = k;
        let (oh, ow) = (input.height.div_ceil(stride), input.width.div_ceil(stride));
        let out = Shape::new(oh, ow, cout);
        let op = Op::Conv2d {
            input: Value(1),
            layer: l,
            stride,
        };
        cases.push(graph(
            &[input, out],
            Node {
                op,
                epilogue: act_add(Activation::HardSwish, Some(Value(2))),
                shape: out,
            },
        ));
    }
    // The stem's own AVX-512 rows (16 outputs, no add): runs of 8 and 4, edges on both sides.
    for (i, &(input, stride)) in [
        (Shape::new(11, 13, 3), 2),
        (Shape::new(5, 40, 3), 2),
        (Shape::new(4, 19, 3), 1),
    ]
    .iter()
    .enumerate()
    {
        let mut l = layer(16 * 9 * input.channels, 16, 60 + i as u64);
        l.kernel = 3;
        let out = Shape::new(
            input.height.div_ceil(stride),
            input.width.div_ceil(stride),
            16,
        );
        let op = Op::Conv2d {
            input: Value(1),
            layer: l,
            stride,
        };
        cases.push(graph(
            &[input],
            Node {
                op,
                epilogue: Epilogue::act(Activation::HardSwish),
                shape: out,
            },
        ));
    }
    for (i, &(input, k, stride)) in [
        (Shape::new(5, 5, 1), 5, 2),
        (Shape::new(7, 3, 6), 3, 2),
        (Shape::new(9, 8, 13), 3, 1),
        (Shape::new(6, 6, 24), 5, 1),
        // Runs of inside pixels (the fast path) and the edges around them.
        (Shape::new(9, 14, 16), 3, 1),
        (Shape::new(13, 23, 8), 5, 2),
        // Runs of 8 for the other two kernels (AVX-512's row-in-registers runs), 24 channels.
        (Shape::new(5, 21, 16), 3, 2),
        (Shape::new(6, 14, 24), 5, 1),
    ]
    .iter()
    .enumerate()
    {
        let mut l = layer(k * k * input.channels, input.channels, 20 + i as u64);
        l.kernel = k;
        let out = Shape::new(
            input.height.div_ceil(stride),
            input.width.div_ceil(stride),
            input.channels,
        );
        let op = Op::Depthwise {
            input: Value(1),
            layer: l,
            stride,
        };
        cases.push(graph(
            &[input, out],
            Node {
                op,
                epilogue: act_add(Activation::Relu, Some(Value(2))),
                shape: out,
            },
        ));
    }
    for (i, &(input, cout)) in [
        (Shape::new(3, 7, 5), 9),
        (Shape::new(1, 1, 1), 1),
        (Shape::new(4, 4, 16), 24),
        // The direct GEMM with rows left over (9 = 2 x 4 + 1) and one 8-wide block; a K too
        // deep for it (matrixmultiply).
        (Shape::new(3, 3, 5), 8),
        (Shape::new(5, 1, 130), 16),
        // Two 16-wide registers, then two with the second masked (AVX-512); 16 x 16 weights
        // held in registers, 21 rows (a short last tile).
        (Shape::new(3, 3, 16), 56),
        (Shape::new(3, 7, 16), 16),
    ]
    .iter()
    .enumerate()
    {
        let gate = Shape::new(1, 1, input.channels);
        let out = Shape::new(input.height, input.width, cout);
        let op = Op::Pointwise {
            input: Value(1),
            prologue: None,
            gate: Some(Value(2)),
            plus: Some(Plus::of(Value(3))),
            layer: layer(cout * input.channels, cout, 30 + i as u64),
        };
        cases.push(graph(
            &[input, gate, input, out],
            Node {
                op,
                epilogue: act_add(Activation::Sigmoid, Some(Value(4))),
                shape: out,
            },
        ));
        let plain = Op::Pointwise {
            input: Value(1),
            prologue: None,
            gate: None,
            plus: None,
            layer: layer(cout * input.channels, cout, 35 + i as u64),
        };
        cases.push(graph(
            &[input],
            Node {
                op: plain,
                epilogue: Epilogue::default(),
                shape: out,
            },
        ));
    }
    // The GPU's fusions (this engine materialises them): a skip already through the weights,
    // added upsampled to the product, under a gate; and a gate of a sum whose plus is at half
    // resolution (an upsampling folded in).
    for (i, &(half, c, cout)) in [(Shape::new(3, 2, 4), 5, 4), (Shape::new(1, 1, 2), 3, 2)]
        .iter()
        .enumerate()
    {
        let input = Shape::new(2 * half.height, 2 * half.width, c);
        let op = Op::Pointwise {
            input: Value(1),
            prologue: None,
            gate: Some(Value(2)),
            plus: Some(Plus {
                value: Value(3),
                upsampled: true,
                projected: true,
            }),
            layer: layer(cout * c, cout, 64 + i as u64),
        };
        let out = Shape::new(input.height, input.width, cout);
        cases.push(graph(
            &[input, Shape::new(1, 1, c), half],
            Node {
                op,
                epilogue: act_add(Activation::Relu, None),
                shape: out,
            },
        ));
        let low = Shape::new(half.height, half.width, c);
        let op = Op::ChannelGate {
            input: Value(1),
            plus: Some(Value(2)),
            layers: vec![layer(c * 3, 3, 66 + i as u64), layer(3 * c, c, 67)],
        };
        cases.push(graph(
            &[input, low],
            Node {
                op,
                epilogue: Epilogue::default(),
                shape: Shape::new(1, 1, c),
            },
        ));
    }
    for (i, &(input, k, stride, cout)) in [
        (Shape::new(7, 5, 6), 3, 2, 5),
        (Shape::new(4, 3, 9), 5, 1, 3),
    ]
    .iter()
    .enumerate()
    {
        let (h, w) = (input.height.div_ceil(stride), input.width.div_ceil(stride));
        let mid = Shape::new(h, w, input.channels);
        let c = input.channels;
        // A depthwise prologue with its add as the skip, then a 1x1 prologue under a gate.
        let op = Op::Pointwise {
            input: Value(1),
            prologue: Some(Prologue::Depthwise {
                layer: crate::network::Layer {
                    kernel: k,
                    ..layer(k * k * c, c, 70 + i as u64)
                },
                stride,
                act: Activation::Relu,
            }),
            gate: None,
            plus: Some(Plus::of(Value(2))),
            layer: layer(cout * c, cout, 72 + i as u64),
        };
        let out = Shape::new(mid.height, mid.width, cout);
        cases.push(graph(
            &[input, mid],
            Node {
                op,
                epilogue: act_add(Activation::HardSwish, None),
                shape: out,
            },
        ));
        let op = Op::Pointwise {
            input: Value(1),
            prologue: Some(Prologue::Pointwise {
                layer: layer(cout * c, cout, 74 + i as u64),
                act: Activation::Relu,
            }),
            gate: Some(Value(2)),
            plus: None,
            layer: layer(2 * cout, 2, 76 + i as u64),
        };
        cases.push(graph(
            &[input, Shape::new(1, 1, cout)],
            Node {
                op,
                epilogue: Epilogue::default(),
                shape: Shape::new(input.height, input.width, 2),
            },
        ));
    }
    // The head's own kernel (16 channels to 1): a row of 16 pixels and one left, a short row.
    for (i, &(input, cout)) in [
        (Shape::new(3, 5, 7), 2),
        (Shape::new(1, 1, 1), 1),
        (Shape::new(3, 17, 16), 1),
        (Shape::new(2, 5, 16), 1),
    ]
    .iter()
    .enumerate()
    {
        let out = Shape::new(2 * input.height, 2 * input.width, cout);
        let op = Op::TransposedConv2x2 {
            input: Value(1),
            prologue: None,
            layer: layer(cout * 4 * input.channels, cout, 40 + i as u64),
        };
        cases.push(graph(
            &[input],
            Node {
                op,
                epilogue: act_add(Activation::Sigmoid, None),
                shape: out,
            },
        ));
    }
    // The head with its refinement fused (HEAD_FUSION), a row of 16 pixels and 5 more: with
    // and without the residual, each activation the head's own kernel applies, and a sigmoid
    // (the general way).
    for (i, &(act, residual)) in [
        (Activation::Relu, true),
        (Activation::HardSwish, false),
        (Activation::Linear, true),
        (Activation::Sigmoid, true),
    ]
    .iter()
    .enumerate()
    {
        let input = Shape::new(3, 21, 16);
        let mut refinement = layer(9 * 16, 16, 70 + i as u64);
        refinement.kernel = 3;
        let op = Op::TransposedConv2x2 {
            input: Value(1),
            prologue: Some(crate::network::DepthwiseInput {
                layer: refinement,
                act,
                residual,
            }),
            layer: layer(4 * 16, 1, 75 + i as u64),
        };
        cases.push(graph(
            &[input],
            Node {
                op,
                epilogue: act_add(Activation::Sigmoid, None),
                shape: Shape::new(6, 42, 1),
            },
        ));
    }
    for (i, &(input, widths)) in [
        (Shape::new(5, 3, 7), &[3usize, 7][..]),
        (Shape::new(2, 2, 300), &[5][..]),
        // Channels in registers of 16 (AVX-512), runs of 16 pixels and a short one.
        (Shape::new(5, 7, 32), &[8, 32][..]),
        (Shape::new(9, 9, 16), &[4, 16][..]),
    ]
    .iter()
    .enumerate()
    {
        let mut fan_in = input.channels;
        let layers = widths
            .iter()
            .map(|&w| {
                let l = layer(w * fan_in, w, 50 + i as u64 + w as u64);
                fan_in = w;
                l
            })
            .collect();
        let op = Op::ChannelGate {
            input: Value(1),
            plus: Some(Value(2)),
            layers,
        };
        cases.push(graph(
            &[input, input],
            Node {
                op,
                epilogue: Epilogue::default(),
                shape: Shape::new(1, 1, fan_in),
            },
        ));
    }
    for &input in &[
        Shape::new(3, 5, 3),
        Shape::new(1, 1, 2),
        Shape::new(4, 4, 9),
    ] {
        let out = Shape::new(2 * input.height, 2 * input.width, input.channels);
        let op = Op::Upsample2x { input: Value(1) };
        cases.push(graph(
            &[input, out],
            Node {
                op,
                epilogue: act_add(Activation::Linear, Some(Value(2))),
                shape: out,
            },
        ));
    }
    let s = Shape::new(3, 5, 7);
    let op = Op::ScaleChannels {
        input: Value(1),
        gate: Value(2),
    };
    cases.push(graph(
        &[s, Shape::new(1, 1, 7), s],
        Node {
            op,
            epilogue: act_add(Activation::HardSwish, Some(Value(3))),
            shape: s,
        },
    ));
    for net in &cases {
        check_node(net, net.nodes.len() - 1);
    }
}

#[test]
fn every_kernel_matches_the_reference_on_odd_shapes() {
    odd_shapes();
}

/// The odd shapes and every node of the rewritten network with `path` forced on (then off,
/// even when they fail).
#[cfg(target_arch = "x86_64")]
fn with_forced(path: &std::sync::atomic::AtomicBool) {
    use std::sync::atomic::Ordering;
    path.store(true, Ordering::Relaxed);
    let result = std::panic::catch_unwind(|| {
        odd_shapes();
        every_node_of(&passes::optimize(&network()).0);
    });
    path.store(false, Ordering::Relaxed);
    result.unwrap();
}

/// The AVX2 path (what a CPU without AVX-512 runs), on a machine that has AVX-512 (elsewhere
/// the same as the test below).
#[cfg(target_arch = "x86_64")]
#[test]
fn the_avx2_path_matches_the_reference_too() {
    with_forced(&super::par::FORCE_AVX2);
}

/// The portable path (what a CPU without AVX2 runs), on a machine that has AVX2.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_portable_path_matches_the_reference_too() {
    with_forced(&super::par::FORCE_PORTABLE);
}
