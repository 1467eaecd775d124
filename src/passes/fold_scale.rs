//! A per-channel scale (x * gate[c], a squeeze-excite gate), with its skip add if it has one, is
//! folded into the loads of the 1x1 convolution that reads it: the matmul reads
//! `x * gate + skip` as it loads A, and the scaled tensor is never written.

use crate::network::{Activation, Network, Op, Plus, Value};

/// `pointwise(scale(x, g) + s)` -> `pointwise(x * g + s)` where the pointwise is the scale's only
/// reader and has no gate or skip of its own.
pub fn fold_scale_into_pointwise(net: &mut Network) -> usize {
    super::fold_each(net, |net, i| {
        let Some((j, x, g, s)) = foldable(net, i) else {
            return false;
        };
        if let Op::Pointwise {
            input, gate, plus, ..
        } = &mut net.nodes[j].op
        {
            (*input, *gate, *plus) = (x, Some(g), s.map(Plus::of));
        }
        true
    })
}

/// (reader, x, gate, skip) when node `i` is a scale that folds into its reader.
fn foldable(net: &Network, i: usize) -> Option<(usize, Value, Value, Option<Value>)> {
    let node = &net.nodes[i];
    let Op::ScaleChannels { input, gate } = node.op else {
        return None;
    };
    if node.epilogue.act != Activation::Linear {
        return None;
    }
    let j = super::only_reader(net, i)?;
    let reader = &net.nodes[j];
    let reads_as_input = matches!(
        reader.op,
        Op::Pointwise { input: v, prologue: None, gate: None, plus: None, .. } if v == Value(i + 1)
    );
    (reads_as_input && reader.epilogue.add != Some(Value(i + 1))).then_some((
        j,
        input,
        gate,
        node.epilogue.add,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn folds_every_scale_that_feeds_a_pointwise() {
        let original = network();
        let mut net = original.clone();
        // The three decoder stages (scale + skip); the ASPP head's scale feeds the upsample
        // until the projection moves before it.
        assert_eq!(fold_scale_into_pointwise(&mut net), 3);
        assert_eq!(net.nodes.len(), original.nodes.len() - 3);
        assert_eq!(net.macs(), original.macs());
        assert_same_output(&original, &net, 1e-5);
        let mut after_projection = original.clone();
        super::super::project_first::project_before_upsample(&mut after_projection);
        assert_eq!(fold_scale_into_pointwise(&mut after_projection), 4);
    }
}
