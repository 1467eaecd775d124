//! A linear 1x1 projection commutes with bilinear x2 upsampling: every upsampled pixel is a
//! weighted mean of input pixels (the taps' weights sum to 1), so projecting first, bias
//! included, gives the same result with a quarter of the multiply-accumulates, and the upsample
//! then moves the projection's (fewer) channels.

use crate::network::{Activation, Epilogue, Network, Op, Value};
use crate::tensor::Shape;

/// `pointwise(upsample(x))` -> `upsample(pointwise(x))` where the pointwise is linear (no
/// activation, gate, skip or add) and the upsample's only reader, right after it.
pub fn project_before_upsample(net: &mut Network) -> usize {
    let mut rewrites = 0;
    for i in 0..net.nodes.len().saturating_sub(1) {
        let (up, proj) = (&net.nodes[i], &net.nodes[i + 1]);
        let (
            Op::Upsample2x { input: x },
            Op::Pointwise {
                input,
                prologue: None,
                gate,
                plus,
                layer,
            },
        ) = (&up.op, &proj.op)
        else {
            continue;
        };
        let linear = Epilogue::act(Activation::Linear);
        if *input != Value(i + 1)
            || gate.is_some()
            || plus.is_some()
            || up.epilogue != linear
            || proj.epilogue != linear
            || super::only_reader(net, i) != Some(i + 1)
        {
            continue;
        }
        let (x, low) = (*x, net.shape(*x));
        let projected = Shape::new(low.height, low.width, proj.shape.channels);
        let high = proj.shape;
        let layer = layer.clone();
        net.nodes[i].op = Op::Pointwise {
            input: x,
            prologue: None,
            gate: None,
            plus: None,
            layer,
        };
        net.nodes[i].shape = projected;
        // Node i+1 now upsamples node i's output; its readers are unchanged.
        net.nodes[i + 1].op = Op::Upsample2x {
            input: Value(i + 1),
        };
        net.nodes[i + 1].shape = high;
        rewrites += 1;
    }
    rewrites
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn projects_at_low_resolution_with_the_same_output() {
        let original = network();
        let mut net = original.clone();
        // aspp.project, dec32.up_project, dec64.up_project.
        assert_eq!(project_before_upsample(&mut net), 3);
        assert_eq!(net.nodes.len(), original.nodes.len());
        let saved = original.macs() - net.macs();
        // Each projection runs on a quarter of the pixels: 3/4 of their 8.9 M MACs are saved.
        assert_eq!(
            saved,
            (32 * 32 * 128 * 24 + 64 * 64 * 24 * 16 + 128 * 128 * 16 * 16) * 3 / 4
        );
        assert_same_output(&original, &net, 1e-5);
    }
}
