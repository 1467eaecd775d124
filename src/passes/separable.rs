//! A depthwise convolution read only by a 1x1 convolution (with no gate or skip of its own) merges
//! with it into one [`Op::Separable`]: the GPU computes the depthwise as the 1x1's matmul loads
//! its input tile, so the depthwise's output is never stored. With at most 32 output channels
//! (every such 1x1 here) each depthwise value is computed exactly once.

use crate::network::{Network, Op, Value};

/// `pointwise(depthwise(x))` -> `separable(x)`.
pub fn depthwise_into_pointwise(net: &mut Network) -> usize {
    let mut rewrites = 0;
    let mut i = 0;
    while i < net.nodes.len() {
        if let Some(j) = foldable(net, i) {
            let dw = net.nodes[i].clone();
            let (
                Op::Depthwise {
                    input,
                    layer: depthwise,
                    stride,
                },
                Op::Pointwise { layer, .. },
            ) = (dw.op, &net.nodes[j].op)
            else {
                unreachable!("checked by foldable")
            };
            net.nodes[j].op = Op::Separable {
                input,
                depthwise,
                stride,
                mid: dw.epilogue,
                pointwise: layer.clone(),
            };
            super::remove(net, i);
            rewrites += 1;
        } else {
            i += 1;
        }
    }
    rewrites
}

/// The reader when node `i` is a depthwise whose only reader is a plain 1x1 reading it as input.
fn foldable(net: &Network, i: usize) -> Option<usize> {
    if !matches!(net.nodes[i].op, Op::Depthwise { .. }) {
        return None;
    }
    let j = super::only_reader(net, i)?;
    let reader = &net.nodes[j];
    let plain_reader = matches!(
        reader.op,
        Op::Pointwise { input, gate: None, plus: None, .. } if input == Value(i + 1)
    );
    (plain_reader && reader.epilogue.add != Some(Value(i + 1))).then_some(j)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{FUSIONS, SHARED, optimize_with};
    use super::*;

    #[test]
    fn merges_the_plain_bottlenecks_and_decoder_refinements() {
        let passes: Vec<_> = SHARED.iter().chain(&FUSIONS[..2]).copied().collect();
        let (original, _) = optimize_with(&network(), &passes);
        let mut net = original.clone();
        // enc2 and enc3 (no squeeze-excite), and the two decoder stages whose refinement feeds
        // an up-projection (the last feeds the transposed head).
        assert_eq!(depthwise_into_pointwise(&mut net), 4);
        assert_eq!(net.nodes.len(), original.nodes.len() - 4);
        assert_eq!(net.macs(), original.macs());
        assert_same_output(&original, &net, 1e-5);
    }
}
