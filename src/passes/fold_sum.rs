//! A sum computed only to be pooled by a squeeze-excite gate (`gate(skip + up)` in the decoder)
//! is folded into the gate's pooling: the gate reads both tensors and the sum is never written.

use crate::network::{Activation, Network, Op, Value};

/// `gate(identity(a) + b)` -> `gate(a + b)` where the gate is the sum's only reader.
pub fn fold_sum_into_gate(net: &mut Network) -> usize {
    super::fold_each(net, |net, i| {
        let Some((j, a, b)) = foldable(net, i) else {
            return false;
        };
        if let Op::ChannelGate { input, plus, .. } = &mut net.nodes[j].op {
            (*input, *plus) = (a, Some(b));
        }
        true
    })
}

/// (reader, a, b) when node `i` is a sum whose only reader is a gate.
fn foldable(net: &Network, i: usize) -> Option<(usize, Value, Value)> {
    let node = &net.nodes[i];
    let (Op::Identity { input }, Some(add)) = (&node.op, node.epilogue.add) else {
        return None;
    };
    if node.epilogue.act != Activation::Linear {
        return None;
    }
    let j = super::only_reader(net, i)?;
    matches!(
        net.nodes[j].op,
        Op::ChannelGate { input: v, plus: None, .. } if v == Value(i + 1)
    )
    .then_some((j, *input, add))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn folds_the_decoder_sums_into_their_gates() {
        let original = network();
        let mut net = original.clone();
        assert_eq!(fold_sum_into_gate(&mut net), 3);
        assert_eq!(net.nodes.len(), original.nodes.len() - 3);
        assert_same_output(&original, &net, 1e-5);
    }
}
