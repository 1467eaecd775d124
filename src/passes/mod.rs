//! Graph rewrites and analyses: small passes over a [`Network`], each exact in real arithmetic, that leave
//! fewer or cheaper nodes for an executor to run. The GPU plan runs the rewritten graph; the CPU
//! reference keeps the graph as MediaPipe wrote it (it is the oracle the rewrites are tested
//! against).
//!
//! Each pass is a function that rewrites the graph in place and returns how many rewrites it made;
//! [`optimize`] runs them in order and reports nodes and MACs before and after each.

mod arena;
mod fold_scale;
mod fold_sum;
mod producer_into_loads;
mod project_first;
mod upsample_into_loads;

pub use arena::arena_layout;

use crate::network::{Network, Value};

/// What one pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassReport {
    pub pass: &'static str,
    pub rewrites: usize,
    /// Nodes (one dispatch each on the GPU) before and after.
    pub nodes: (usize, usize),
    /// Multiply-accumulates per frame before and after.
    pub macs: (u64, u64),
}

/// A pass rewrites the graph in place and returns how many rewrites it made.
pub type Pass = fn(&mut Network) -> usize;

/// The rewrites every executor runs, in order (a later one may find work an earlier one made).
pub const SHARED: &[(&str, Pass)] = &[
    (
        "1x1 projection before x2 upsampling",
        project_first::project_before_upsample,
    ),
    (
        "channel scale (and skip add) into the 1x1's loads",
        fold_scale::fold_scale_into_pointwise,
    ),
    (
        "skip sum into the gate's pooling",
        fold_sum::fold_sum_into_gate,
    ),
];

/// Then fusions that fold a node into its reader's kernel: a dispatch fewer each on the GPU, and
/// on the CPU engine (which runs these too) a tensor never written: its 128x128 stage
/// (upsampling, gate, 1x1) went 0.67 -> 0.33 ms on a 2-core Xeon, with the 1x1's gate folded
/// into its weights. The head's ([`HEAD_FUSION`]) comes after these, and after [`PRODUCER_FUSIONS`] where they run.
pub const FUSIONS: &[(&str, Pass)] = &[(
    "x2 upsampling into its readers' loads",
    upsample_into_loads::upsample_into_loads,
)];

/// The last fusion: the last refinement into the head's loads (after any producer fusion,
/// which would otherwise find the head's input taken).
pub const HEAD_FUSION: (&str, Pass) = (
    "depthwise into the head's loads",
    producer_into_loads::depthwise_into_head,
);

/// Fusions of a producer into its 1x1's loads (the matmul then computes its A as it loads it):
/// a dispatch fewer each, but slower than the two dispatches on both software GPUs (a frame on
/// SwiftShader 198-200 -> 174-176 ms without them, lavapipe 68-76 -> 53-55 ms), so the GPU plan
/// leaves them out unless asked ([`optimize_for_gpu`]), until a real GPU has timed both.
pub const PRODUCER_FUSIONS: &[(&str, Pass)] = &[
    (
        "depthwise into its 1x1's loads",
        producer_into_loads::depthwise_into_pointwise,
    ),
    (
        "1x1 into the next 1x1's loads",
        producer_into_loads::pointwise_into_pointwise,
    ),
];

/// A list of passes: what [`optimize_with`] runs.
pub type Passes<'a> = &'a [(&'static str, Pass)];

/// `network` with every pass the GPU plan runs applied ([`SHARED`], [`FUSIONS`], then
/// [`HEAD_FUSION`]).
pub fn optimize(network: &Network) -> (Network, Vec<PassReport>) {
    optimize_for_gpu(network, false)
}

/// [`optimize`], with the [`PRODUCER_FUSIONS`] too (before the head's) where `fuse_producers`.
pub fn optimize_for_gpu(network: &Network, fuse_producers: bool) -> (Network, Vec<PassReport>) {
    let producers = if fuse_producers {
        PRODUCER_FUSIONS
    } else {
        &[]
    };
    let all: Vec<(&'static str, Pass)> = (SHARED.iter().chain(FUSIONS).chain(producers))
        .chain([&HEAD_FUSION])
        .copied()
        .collect();
    optimize_with(network, &all)
}

/// `network` with `passes` applied in order, and what each did.
pub fn optimize_with(network: &Network, passes: Passes) -> (Network, Vec<PassReport>) {
    let mut net = network.clone();
    let reports = passes
        .iter()
        .map(|(pass, run)| {
            let before = (net.nodes.len(), net.macs());
            let rewrites = run(&mut net);
            PassReport {
                pass,
                rewrites,
                nodes: (before.0, net.nodes.len()),
                macs: (before.1, net.macs()),
            }
        })
        .collect();
    (net, reports)
}

/// The nodes that read `v` (as an input or as their epilogue's add).
fn readers(net: &Network, v: Value) -> Vec<usize> {
    (0..net.nodes.len())
        .filter(|&i| net.nodes[i].reads().any(|r| r == v))
        .collect()
}

/// The one node that reads the output of node `i`, when exactly one does (and it is not the
/// network's output, which the executor reads too).
fn only_reader(net: &Network, i: usize) -> Option<usize> {
    let v = Value(i + 1);
    match readers(net, v).as_slice() {
        [j] if v != net.output() => Some(*j),
        _ => None,
    }
}

/// Every pass's loop: offers each node `i` to `fold`, which returns true once it has rewritten
/// node `i`'s readers so that nothing reads it any more; node `i` is then removed. Returns how
/// many were folded.
fn fold_each(net: &mut Network, mut fold: impl FnMut(&mut Network, usize) -> bool) -> usize {
    let mut rewrites = 0;
    let mut i = 0;
    while i < net.nodes.len() {
        if fold(net, i) {
            remove(net, i);
            rewrites += 1;
        } else {
            i += 1;
        }
    }
    rewrites
}

/// Removes node `i`, whose output nobody reads any more, renumbering the values after it.
fn remove(net: &mut Network, i: usize) {
    let gone = Value(i + 1);
    debug_assert!(readers(net, gone).is_empty(), "node {i} is still read");
    net.nodes.remove(i);
    for node in &mut net.nodes {
        let renumber = |v: &mut Value| {
            if v.0 > gone.0 {
                v.0 -= 1;
            }
        };
        node.op.inputs_mut().into_iter().for_each(renumber);
        node.epilogue.add.as_mut().map(renumber);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::network::{INPUT, Network};
    use crate::reference;
    use crate::tensor::Tensor;
    use crate::weights::Weights;

    pub fn network() -> Network {
        Network::new(&Weights::embedded().unwrap()).unwrap()
    }

    /// Golden frame `name` (tests/data/frames) as a network input.
    pub fn frame_input(name: &str) -> Tensor {
        let path = format!(
            "{}/tests/data/frames/{name}.png",
            env!("CARGO_MANIFEST_DIR")
        );
        reference::network_input(&image::open(path).unwrap().to_rgb8()).unwrap()
    }

    /// Two golden frames as network inputs, and a frame of noise.
    pub fn inputs() -> Vec<Tensor> {
        let mut inputs: Vec<Tensor> = ["grace_hopper", "synthetic"]
            .into_iter()
            .map(frame_input)
            .collect();
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let noise = (0..INPUT.len())
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        inputs.push(Tensor::from_vec(INPUT, noise));
        inputs
    }

    /// The rewritten graph's output equals the original's on the CPU reference, to `tolerance`.
    pub fn assert_same_output(original: &Network, rewritten: &Network, tolerance: f32) {
        for (k, input) in inputs().iter().enumerate() {
            let want = reference::run(original, input).unwrap();
            let got = reference::run(rewritten, input).unwrap();
            let worst = want
                .data
                .iter()
                .zip(&got.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= tolerance, "input {k}: max |diff| {worst}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn all_passes_together_keep_the_output_and_cut_nodes_and_macs() {
        let original = network();
        // (producers fused too, nodes after): the GPU plan's graph, and the one to time.
        for (fuse_producers, nodes) in [(false, 48), (true, 43)] {
            let (rewritten, reports) = optimize_for_gpu(&original, fuse_producers);
            for r in &reports {
                println!(
                    "{}: {} rewrites, nodes {} -> {}, MACs {} -> {}",
                    r.pass, r.rewrites, r.nodes.0, r.nodes.1, r.macs.0, r.macs.1
                );
                assert!(r.rewrites > 0, "{} found nothing to do", r.pass);
            }
            assert_eq!(original.nodes.len(), 56);
            assert_eq!(rewritten.nodes.len(), nodes);
            // Each pass's own test checks its MACs exactly; together they cut them.
            assert!(rewritten.macs() < original.macs());
            assert_same_output(&original, &rewritten, 1e-5);
            // Idempotent: a second run finds nothing more.
            let (again, reports) = optimize_for_gpu(&rewritten, fuse_producers);
            assert!(reports.iter().all(|r| r.rewrites == 0));
            assert_eq!(again.nodes, rewritten.nodes);
        }
    }
}
