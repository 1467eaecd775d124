//! A squeeze-excite gate whose only reader is a 1x1 convolution moves into that convolution's
//! prologue: each of its workgroups pools the gated tensor (from per-channel sums the tensor's
//! producer left in its epilogue, on the GPU) and runs the gate's FC layers itself, so the gate
//! is never a dispatch of its own. The FC layers are a few thousand multiply-accumulates.

use crate::network::{Gate, Network, Op, Value};

/// `pointwise(x * gate(p [+ s]) [+ s])` -> `pointwise(x * pooled_gate(p [+ s]) [+ s])`.
pub fn gate_into_pointwise(net: &mut Network) -> usize {
    super::fold_each(net, |net, i| {
        let Some((j, gate)) = foldable(net, i) else {
            return false;
        };
        if let Op::Pointwise { gate: g, .. } = &mut net.nodes[j].op {
            *g = Some(gate);
        }
        true
    })
}

/// Whether the producer of `v` can leave per-channel sums in its epilogue (the GPU's 1x1, windowed
/// and depthwise kernels do; the input image and the element-wise ops do not). An x2 upsampling
/// counts when its input does: it folds into the reader's loads next
/// ([`upsample_into_loads`](super::upsample_into_loads)), which then pools the input.
fn pools_in_epilogue(net: &Network, v: Value) -> bool {
    v.0 > 0
        && match net.nodes[v.0 - 1].op {
            Op::Pointwise { .. } | Op::Conv2d { .. } | Op::Depthwise { .. } => true,
            Op::Upsample2x { input } => pools_in_epilogue(net, input),
            _ => false,
        }
}

/// (reader, its pooled gate) when node `i` is a gate that folds into its only reader.
fn foldable(net: &Network, i: usize) -> Option<(usize, Gate)> {
    let Op::ChannelGate {
        input: pooled,
        plus: pooled_plus,
        layers,
    } = &net.nodes[i].op
    else {
        return None;
    };
    let j = super::only_reader(net, i)?;
    let Op::Pointwise {
        gate: Some(Gate::Value(g)),
        plus,
        ..
    } = &net.nodes[j].op
    else {
        return None;
    };
    // The pooled skip must be the one the convolution loads (it then reads it once for both).
    let with_plus = match pooled_plus {
        None => false,
        Some(s) if plus.is_some_and(|p| p.value == *s && !p.upsampled) => true,
        Some(_) => return None,
    };
    let producers_pool =
        pools_in_epilogue(net, *pooled) && pooled_plus.is_none_or(|s| pools_in_epilogue(net, s));
    (*g == Value(i + 1) && net.nodes[j].epilogue.add != Some(Value(i + 1)) && producers_pool).then(
        || {
            (
                j,
                Gate::Pooled {
                    input: *pooled,
                    with_plus,
                    layers: layers.clone(),
                },
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{SHARED, optimize_with};
    use super::*;

    #[test]
    fn folds_every_gate_into_its_pointwise() {
        let (original, _) = optimize_with(&network(), SHARED);
        let mut net = original.clone();
        // Six squeeze-excite blocks, the LR-ASPP head, three decoder stages.
        assert_eq!(gate_into_pointwise(&mut net), 10);
        assert_eq!(net.nodes.len(), original.nodes.len() - 10);
        assert_eq!(net.macs(), original.macs());
        assert!(
            !net.nodes
                .iter()
                .any(|n| matches!(n.op, Op::ChannelGate { .. }))
        );
        assert_same_output(&original, &net, 1e-5);
    }
}
