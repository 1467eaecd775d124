//! A 1x1 convolution's input whose producer has no other reader is computed as the 1x1 loads it
//! ([`Prologue`]), and never stored: a depthwise (a depthwise-separable convolution; its add
//! becomes the 1x1's skip) or another 1x1 (two back to back). Only where the 1x1 has at most
//! [`COLUMNS`] output channels: the GPU's matmul then loads each input tile once, so every
//! fused value is computed exactly once (wider 1x1s would recompute it per column tile).
//! Likewise the head's input ([`DepthwiseInput`]): a transposed 2x2 reads each input pixel for
//! one 2x2 block of outputs, so the depthwise is computed once per pixel there too.

use crate::network::{DepthwiseInput, Network, Node, Op, Plus, Prologue, Value};

/// Output channels of one matmul column tile (ops::Matmul's TILE).
const COLUMNS: usize = 32;

/// `pointwise(depthwise(x) [+ s])` -> `pointwise(x) with a depthwise prologue [+ s]`.
pub fn depthwise_into_pointwise(net: &mut Network) -> usize {
    fuse(net, |producer| match &producer.op {
        Op::Depthwise {
            input,
            layer,
            stride,
        } => Some((
            *input,
            Prologue::Depthwise {
                layer: layer.clone(),
                stride: *stride,
                act: producer.epilogue.act,
            },
            producer.epilogue.add.map(Plus::of),
        )),
        _ => None,
    })
}

/// `pointwise(act(pointwise(x)) [* gate])` -> `pointwise(x) with a 1x1 prologue [* gate]`.
pub fn pointwise_into_pointwise(net: &mut Network) -> usize {
    fuse(net, |producer| match &producer.op {
        Op::Pointwise {
            input,
            prologue: None,
            gate: None,
            plus: None,
            layer,
        } if producer.epilogue.add.is_none() => Some((
            *input,
            Prologue::Pointwise {
                layer: layer.clone(),
                act: producer.epilogue.act,
            },
            None,
        )),
        _ => None,
    })
}

/// `transposed(act(depthwise(x)) [+ x])` -> `transposed(x)` with the depthwise as its input's
/// prologue: the last decoder stage's refinement, computed as the head loads it.
pub fn depthwise_into_head(net: &mut Network) -> usize {
    super::fold_each(net, |net, i| {
        let Some((j, input, prologue)) = head_prologue(net, i) else {
            return false;
        };
        if let Op::TransposedConv2x2 {
            input: x,
            prologue: p,
            ..
        } = &mut net.nodes[j].op
        {
            (*x, *p) = (input, Some(prologue));
        }
        true
    })
}

/// Node `i` as its only reader's input prologue, when it is a stride-1 depthwise whose add, if
/// any, is its own input, read by a head without one: (the head, its new input, the prologue).
fn head_prologue(net: &Network, i: usize) -> Option<(usize, Value, DepthwiseInput)> {
    let producer = &net.nodes[i];
    let Op::Depthwise {
        input,
        layer,
        stride: 1,
    } = &producer.op
    else {
        return None;
    };
    let residual = match producer.epilogue.add {
        None => false,
        Some(a) if a == *input => true,
        Some(_) => return None,
    };
    let j = super::only_reader(net, i)?;
    let v = Value(i + 1);
    let reader = &net.nodes[j];
    let reads_it_as_input = matches!(
        &reader.op,
        Op::TransposedConv2x2 { input, prologue: None, .. } if *input == v
    );
    (reads_it_as_input && reader.epilogue.add != Some(v)).then(|| {
        let prologue = DepthwiseInput {
            layer: layer.clone(),
            act: producer.epilogue.act,
            residual,
        };
        (j, *input, prologue)
    })
}

/// What fusing a producer gives its reader: its input, the prologue, the skip it brings.
type Fused = (Value, Prologue, Option<Plus>);

/// Fuses every node `as_prologue` accepts into its only reader, a 1x1 that reads it as its input
/// only and has no prologue or skip of its own (nor a gate pooling the fused value).
fn fuse(net: &mut Network, as_prologue: impl Fn(&Node) -> Option<Fused>) -> usize {
    super::fold_each(net, |net, i| {
        let reader = fits_reader(net, i);
        let (Some(j), Some((input, prologue, skip))) = (reader, as_prologue(&net.nodes[i])) else {
            return false;
        };
        if let Op::Pointwise {
            input: x,
            prologue: p,
            plus,
            ..
        } = &mut net.nodes[j].op
        {
            (*x, *p, *plus) = (input, Some(prologue), skip);
        }
        true
    })
}

/// The reader of node `i` when it can take node `i` as its prologue.
fn fits_reader(net: &Network, i: usize) -> Option<usize> {
    let v = Value(i + 1);
    let j = super::only_reader(net, i)?;
    let reader = &net.nodes[j];
    let Op::Pointwise {
        input,
        prologue: None,
        gate,
        plus: None,
        ..
    } = &reader.op
    else {
        return None;
    };
    (*input == v
        && *gate != Some(v)
        && reader.epilogue.add != Some(v)
        && reader.shape.channels <= COLUMNS)
        .then_some(j)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{FUSIONS, SHARED, optimize_with};
    use super::*;

    /// The graph after the shared rewrites and the fusions before these (the gate's and the
    /// upsampling's).
    fn before() -> Network {
        let passes: Vec<_> = SHARED.iter().chain(FUSIONS).copied().collect();
        optimize_with(&network(), &passes).0
    }

    #[test]
    fn fuses_the_plain_bottlenecks_and_decoder_refinements() {
        let original = before();
        let mut net = original.clone();
        // enc2 and enc3 (no squeeze-excite), and the two decoder stages whose refinement feeds
        // an up-projection (the last feeds the transposed head).
        assert_eq!(depthwise_into_pointwise(&mut net), 4);
        assert_eq!(net.nodes.len(), original.nodes.len() - 4);
        assert_eq!(net.macs(), original.macs());
        assert_same_output(&original, &net, 1e-5);
    }

    #[test]
    fn fuses_the_last_refinement_into_the_transposed_head() {
        let original = before();
        let mut net = original.clone();
        // The last decoder stage: r + relu(dw3x3(r)), read only by the head.
        assert_eq!(depthwise_into_head(&mut net), 1);
        assert_eq!(net.nodes.len(), original.nodes.len() - 1);
        assert_eq!(net.macs(), original.macs());
        assert!(matches!(
            net.nodes.last().unwrap().op,
            Op::TransposedConv2x2 {
                prologue: Some(DepthwiseInput { residual: true, .. }),
                ..
            }
        ));
        assert_same_output(&original, &net, 1e-5);
    }

    #[test]
    fn fuses_the_head_s_features_into_its_projection() {
        let original = before();
        let mut net = original.clone();
        // LR-ASPP: relu(1x1(x)) read only by the gated projection to 24 channels.
        assert_eq!(pointwise_into_pointwise(&mut net), 1);
        assert_eq!(net.nodes.len(), original.nodes.len() - 1);
        assert_eq!(net.macs(), original.macs());
        assert_same_output(&original, &net, 1e-5);
    }
}
