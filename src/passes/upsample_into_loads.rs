//! A x2 upsampling read only as a 1x1 convolution's skip is folded into that convolution's loads:
//! it samples the low-resolution tensor bilinearly as it loads the skip (and pools the
//! low-resolution one for its gate: every input pixel of a half-pixel x2 upsampling carries the
//! same total weight, 4, so the means agree), and the upsampled tensor is never written.

use crate::network::{Activation, Gate, Network, Op, Plus, Value};

/// `pointwise(x [* pooled_gate(x + up(s))] + up(s))` -> the same, reading `s` upsampled.
pub fn upsample_into_loads(net: &mut Network) -> usize {
    super::fold_each(net, |net, i| {
        let Some(low) = foldable(net, i) else {
            return false;
        };
        let up = Value(i + 1);
        for node in &mut net.nodes {
            if let Op::Pointwise {
                plus:
                    Some(
                        p @ Plus {
                            upsampled: false, ..
                        },
                    ),
                ..
            } = &mut node.op
                && p.value == up
            {
                *p = Plus {
                    value: low,
                    upsampled: true,
                };
            }
        }
        true
    })
}

/// The low-resolution input when node `i` is an upsampling read only as 1x1 convolutions' skips
/// (and their pooled gates' `with_plus`), never as a gate's own input or an add.
fn foldable(net: &Network, i: usize) -> Option<Value> {
    let node = &net.nodes[i];
    let Op::Upsample2x { input } = node.op else {
        return None;
    };
    if node.epilogue.act != Activation::Linear || node.epilogue.add.is_some() {
        return None;
    }
    let up = Value(i + 1);
    let readers = super::readers(net, up);
    let only_as_skip = readers.iter().all(|&j| {
        let reader = &net.nodes[j];
        match &reader.op {
            Op::Pointwise {
                input, gate, plus, ..
            } => {
                *input != up
                    && reader.epilogue.add != Some(up)
                    && plus.is_some_and(|p| p.value == up && !p.upsampled)
                    && match gate {
                        Some(Gate::Value(g)) => *g != up,
                        Some(Gate::Pooled { input, .. }) => *input != up,
                        None => true,
                    }
            }
            _ => false,
        }
    });
    (!readers.is_empty() && up != net.output() && only_as_skip).then_some(input)
}

#[cfg(test)]
mod tests {
    use super::super::gate_into_reader::gate_into_pointwise;
    use super::super::testing::*;
    use super::super::{SHARED, optimize_with};
    use super::*;

    #[test]
    fn folds_the_decoder_upsamplings_into_their_skips() {
        let (original, _) = optimize_with(&network(), SHARED);
        let mut net = original.clone();
        gate_into_pointwise(&mut net);
        let gated = net.clone();
        // The ASPP head's and two decoder stages' (the last stage's upsampling is the head's
        // transposed convolution).
        assert_eq!(upsample_into_loads(&mut net), 3);
        assert_eq!(net.nodes.len(), gated.nodes.len() - 3);
        assert!(
            !net.nodes
                .iter()
                .any(|n| matches!(n.op, Op::Upsample2x { .. }))
        );
        assert_same_output(&original, &net, 1e-5);
        // Before the gates move, a gate reads the upsampled tensor: nothing folds.
        assert_eq!(upsample_into_loads(&mut original.clone()), 0);
    }
}
