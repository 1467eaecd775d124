//! A x2 upsampling read only as one 1x1 convolution's skip (and as gates' added `plus`) is folded
//! into that convolution: the skip goes through the convolution's weights first, bias-free, at
//! its own quarter resolution and in the upsampling's place, and the convolution adds that
//! product, upsampled, to its own before the bias and activation. A 1x1 is linear and the
//! upsampling's taps' weights sum to 1, so the two commute; the upsampled tensor is never
//! written, and the convolution reads A alone: on SwiftShader, sampling the k-channel skip as
//! every column's threads loaded A took the 128x128 stage's 1x1 ~20 ms. A gate that pools the
//! sum pools the low-resolution tensor (every input pixel of a half-pixel x2 upsampling carries
//! the same total weight, 4, so the means agree).

use crate::network::{Activation, Layer, Network, Op, Plus, Value};
use crate::tensor::Shape;

/// `pointwise(x [* gate(x + up(s))] + up(s))` -> `pointwise(x [* gate(x + s)]) + up(pointwise(s))`,
/// the second 1x1 bias-free and in the upsampling's place.
pub fn upsample_into_loads(net: &mut Network) -> usize {
    let mut rewrites = 0;
    for i in 0..net.nodes.len() {
        let Some((low, reader)) = foldable(net, i) else {
            continue;
        };
        let up = Value(i + 1);
        for node in &mut net.nodes {
            if let Op::ChannelGate {
                plus: Some(plus), ..
            } = &mut node.op
                && *plus == up
            {
                *plus = low;
            }
        }
        let Op::Pointwise { layer, plus, .. } = &mut net.nodes[reader].op else {
            unreachable!("foldable checked the reader");
        };
        *plus = Some(Plus {
            value: up,
            upsampled: true,
            projected: true,
        });
        let skip = Layer {
            name: format!("{}.skip", layer.name),
            bias: vec![0.0; layer.bias.len()],
            ..layer.clone()
        };
        let s = net.shape(low);
        net.nodes[i].shape = Shape::new(s.height, s.width, skip.bias.len());
        net.nodes[i].op = Op::Pointwise {
            input: low,
            prologue: None,
            gate: None,
            plus: None,
            layer: skip,
        };
        rewrites += 1;
    }
    rewrites
}

/// The low-resolution input and the 1x1 that reads the upsampling when node `i` is an upsampling
/// read as one 1x1's skip, and otherwise only as gates' added `plus`: never as an input, a gate or
/// an add.
fn foldable(net: &Network, i: usize) -> Option<(Value, usize)> {
    let node = &net.nodes[i];
    let Op::Upsample2x { input } = node.op else {
        return None;
    };
    if node.epilogue.act != Activation::Linear || node.epilogue.add.is_some() {
        return None;
    }
    let up = Value(i + 1);
    let readers = super::readers(net, up);
    let mut skip_readers = Vec::new();
    for &j in &readers {
        let reader = &net.nodes[j];
        let fits = match &reader.op {
            Op::Pointwise {
                input, gate, plus, ..
            } => {
                skip_readers.push(j);
                *input != up
                    && reader.epilogue.add != Some(up)
                    && *plus == Some(Plus::of(up))
                    && *gate != Some(up)
            }
            Op::ChannelGate { input, plus, .. } => *input != up && *plus == Some(up),
            _ => false,
        };
        if !fits {
            return None;
        }
    }
    (skip_readers.len() == 1 && up != net.output()).then(|| (input, skip_readers[0]))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{SHARED, optimize_with};
    use super::*;

    #[test]
    fn folds_the_decoder_upsamplings_into_their_skips() {
        let (original, _) = optimize_with(&network(), SHARED);
        let mut net = original.clone();
        // The three decoder stages' (the ASPP head's upsampling and two stages'): each becomes
        // the skip's projection, its gate pooling the low-resolution tensor.
        assert_eq!(upsample_into_loads(&mut net), 3);
        assert_eq!(net.nodes.len(), original.nodes.len());
        let gates_of_low = net.nodes.iter().filter(|n| {
            matches!(n.op, Op::ChannelGate { input, plus: Some(p), .. }
                if net.shape(p).pixels() * 4 == net.shape(input).pixels())
        });
        assert_eq!(gates_of_low.count(), 3);
        let projected = net.nodes.iter().filter(
            |n| matches!(n.op, Op::Pointwise { plus: Some(p), .. } if p.upsampled && p.projected),
        );
        assert_eq!(projected.count(), 3);
        assert!(
            !net.nodes
                .iter()
                .any(|n| matches!(n.op, Op::Upsample2x { .. }))
        );
        // The skips' projections at a quarter of the pixels: (32x32x24 -> 24, 64x64x16 -> 16,
        // 128x128x16 -> 16) / 4 multiply-accumulates more.
        let added = (32 * 32 * 24 * 24 + 64 * 64 * 16 * 16 + 128 * 128 * 16 * 16) / 4;
        assert_eq!(net.macs(), original.macs() + added);
        assert_same_output(&original, &net, 1e-5);
    }
}
