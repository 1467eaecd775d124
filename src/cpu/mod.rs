//! The CPU engine (`Backend::Cpu`): the network (after the graph passes) with weights packed once, an
//! activation arena reused from frame to frame, every layer split across cores, inner loops over
//! contiguous channels (vectorised), the 1x1 convolutions as packed SIMD GEMMs and epilogues fused.
//! It is what `Backend::Cpu` runs; the plain reference in [`crate::reference`] stays the oracle it is
//! tested against.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod conv;
mod epilogue;
pub mod finish;
mod input;
mod matmul;
mod misc;
mod par;
mod transposed;

use crate::error::Result;
use crate::network::{
    Activation, Epilogue, INPUT, Network, Node, OUTPUT, Op, Prologue, Value, check_input,
    check_output,
};
use crate::passes::{self, PassReport};
use crate::pixels::Pixels;
use crate::tensor::{Shape, Tensor};
use conv::{Conv2d, Window};
pub use input::resample as resample_input;
use matmul::Pointwise;
pub use par::Threads;
use std::sync::Mutex;
use std::time::Duration;
use transposed::Transposed;
use web_time::Instant;

/// The SIMD path and threads this machine gives the engine, e.g. "AVX2, 8 threads".
pub fn describe() -> String {
    #[cfg(target_arch = "x86_64")]
    let simd = if avx512::available() {
        "AVX-512 (1x1s, depthwise, stem, resize), AVX2+FMA"
    } else if par::has_avx2() {
        "AVX2+FMA"
    } else {
        "SSE2"
    };
    #[cfg(target_arch = "aarch64")]
    let simd = "NEON";
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let simd = "wasm simd128";
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    let simd = "portable";
    match par::threads() {
        1 => format!("{simd}, 1 thread"),
        n => format!("{simd}, {n} threads"),
    }
}

/// A node's parameters in the layout its kernel reads.
enum Packed {
    Conv2d(Conv2d),
    Pointwise(Pointwise),
    Transposed(Transposed),
    /// A gate's layers, [in, out].
    Gate(Vec<misc::GateLayer>),
    /// Used as the reference stores them (depthwise) or none.
    AsIs,
}

/// The network ready to run on this CPU.
pub struct Engine {
    network: Network,
    packed: Vec<Packed>,
    slot_of: Vec<usize>,
    passes: Vec<PassReport>,
    /// Idle arenas: a frame takes one (or makes one, when every arena is in use) and puts it
    /// back, so no lock is held while a frame runs.
    idle: Mutex<Vec<State>>,
    capacities: Vec<usize>,
    scratch_len: usize,
    threads: Threads,
}

/// What a frame starts from: the network's input, or pixels to resample into it.
#[derive(Clone, Copy)]
enum Source<'a> {
    Tensor(&'a [f32]),
    Pixels(Pixels<'a>),
}

/// Reused from frame to frame: the arena's slots and the matmul's gated input.
struct State {
    arena: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    /// A frame's pixels resampled (`run_pixels`).
    input: Vec<f32>,
}

impl Engine {
    /// The engine with [`Threads::All`].
    pub fn new(network: &Network) -> Engine {
        Engine::with_threads(network, Threads::All)
    }

    pub fn with_threads(network: &Network, threads: Threads) -> Engine {
        // The head's fusion only where the head has a kernel that computes the refinement row
        // by row (AVX-512); elsewhere the refinement would be materialised outside the arena,
        // an allocation per frame.
        #[cfg(target_arch = "x86_64")]
        let head: &[(&str, passes::Pass)] = match avx512::available() {
            true => std::slice::from_ref(&passes::HEAD_FUSION),
            false => &[],
        };
        #[cfg(not(target_arch = "x86_64"))]
        let head: &[(&str, passes::Pass)] = &[];
        let all: Vec<_> = passes::SHARED
            .iter()
            .chain(passes::FUSIONS)
            .chain(head)
            .copied()
            .collect();
        let (network, passes) = passes::optimize_with(network, &all);
        let (slot_of, capacities) = passes::arena_layout(&network);
        // A frame writes the last node straight into the caller's mask, which it must fill.
        assert_eq!(
            network.nodes.last().map(|n| n.shape.len()),
            Some(OUTPUT.len()),
            "the last node makes the mask"
        );
        let packed = network.nodes.iter().map(pack).collect();
        // The inputs a skip is added to before the 1x1 (none in this engine's graph: every skip
        // is projected) are materialised in the scratch.
        let scratch_len = network
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Pointwise { plus: Some(p), .. } if !p.projected))
            .map(|n| network.shape(n.op.inputs()[0]).len())
            .max()
            .unwrap_or(0);
        let engine = Engine {
            network,
            packed,
            slot_of,
            passes,
            idle: Mutex::new(Vec::new()),
            capacities,
            scratch_len,
            threads,
        };
        let first = engine.new_state();
        engine.put_back(first);
        engine
    }

    fn new_state(&self) -> State {
        State {
            arena: self.capacities.iter().map(|&len| vec![0.0; len]).collect(),
            scratch: vec![0.0; self.scratch_len],
            input: Vec::new(),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<State>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle arena, or a new one. No lock is held while a frame runs: a pool thread waiting
    /// inside a frame runs other queued work, such as another caller's frame, and that frame
    /// blocking on a lock the first holds would deadlock the pool (a CLI folder with --jobs 2
    /// hung so when the arena was one locked State).
    fn take(&self) -> State {
        let idle = self.idle().pop();
        idle.unwrap_or_else(|| self.new_state())
    }

    fn put_back(&self, state: State) {
        self.idle().push(state);
    }

    /// The graph this engine runs (after the passes).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// [`describe`], with the threads this engine's frames run on.
    pub fn describe(&self) -> String {
        self.on_threads(describe)
    }

    /// `f` where this engine's frames run: on rayon's pool (the caller's thread takes part in
    /// every split, and the pool is woken once, not per layer) or on the caller's thread alone.
    fn on_threads<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self.threads {
            Threads::All => par::on_pool(f),
            Threads::One => par::on_this_thread(f),
        }
    }

    /// What each graph pass did.
    pub fn passes(&self) -> &[PassReport] {
        &self.passes
    }

    /// The network on a normalised 256x256x3 input; probabilities into `out` (256*256).
    /// A frame uses every core or the caller's thread as [`Threads`] says; frames from several
    /// threads at once each take an arena.
    pub fn run(&self, input: &Tensor, out: &mut [f32]) -> Result<()> {
        check_input(input.shape)?;
        self.run_on(Source::Tensor(&input.data), out)
    }

    /// The network on a frame's pixels of any size (resampled as
    /// [`reference::pixels_input`](crate::reference::pixels_input) does, into a buffer reused
    /// from frame to frame); probabilities into `out` (256*256).
    pub fn run_pixels(&self, pixels: Pixels<'_>, out: &mut [f32]) -> Result<()> {
        self.run_on(Source::Pixels(pixels), out)
    }

    /// A frame on the threads [`Threads`] says.
    fn run_on(&self, source: Source<'_>, out: &mut [f32]) -> Result<()> {
        check_output(out.len(), 1)?;
        let mut state = self.take();
        let mut buffer = std::mem::take(&mut state.input);
        let frame = || {
            let input = match source {
                Source::Tensor(data) => data,
                Source::Pixels(pixels) => {
                    // Sized at the first frame of pixels: an engine run on tensors never is.
                    buffer.resize(INPUT.len(), 0.0);
                    input::resample(pixels, &mut buffer)?;
                    &buffer
                }
            };
            self.frame(&mut state, input, out, |_, run| run());
            Ok(())
        };
        let result = self.on_threads(frame);
        state.input = buffer;
        self.put_back(state);
        result
    }

    /// Wall time of each node (median of `repeats` runs, each on the frame's own inputs, on the
    /// threads a frame runs on), labelled: for benchmarks and profiles.
    pub fn time_nodes(&self, input: &Tensor, repeats: usize) -> Result<Vec<(String, Duration)>> {
        check_input(input.shape)?;
        let mut out = vec![0.0; OUTPUT.len()];
        let mut times = Vec::new();
        let mut state = self.take();
        self.on_threads(|| {
            self.frame(&mut state, &input.data, &mut out, |node, run| {
                let mut runs: Vec<Duration> = (0..repeats.max(1))
                    .map(|_| {
                        let start = Instant::now();
                        run();
                        start.elapsed()
                    })
                    .collect();
                runs.sort();
                times.push((node.label(), runs[runs.len() / 2]));
            })
        });
        self.put_back(state);
        Ok(times)
    }

    /// One frame: `around(node, run)` for each node in order, where `run` computes the node
    /// into its arena slot.
    fn frame(
        &self,
        state: &mut State,
        input: &[f32],
        out: &mut [f32],
        mut around: impl FnMut(&Node, &mut dyn FnMut()),
    ) {
        // Both checked by the callers.
        debug_assert!(input.len() == INPUT.len() && out.len() == OUTPUT.len());
        let State { arena, scratch, .. } = state;
        // The frame is read where it is and the mask written where the caller wants it: copied
        // in and out of the arena, they cost 2-3% of a frame.
        let last = self.network.nodes.len() - 1;
        for (i, node) in self.network.nodes.iter().enumerate() {
            let slot = self.slot_of[i + 1];
            // The output's slot is never one a live input is in (passes::arena_layout).
            let mut result = std::mem::take(&mut arena[slot]);
            let value = |v: Value| match v.0 {
                0 => input,
                _ => &arena[self.slot_of[v.0]][..self.network.shape(v).len()],
            };
            let out = match i == last {
                true => &mut out[..],
                false => &mut result[..node.shape.len()],
            };
            around(node, &mut || {
                eval(node, &self.packed[i], &value, &self.network, out, scratch)
            });
            arena[slot] = result;
        }
    }
}

fn pack(node: &Node) -> Packed {
    match &node.op {
        Op::Conv2d { layer, .. } => {
            Packed::Conv2d(Conv2d::pack(&layer.weight, &layer.bias, layer.kernel))
        }
        Op::Pointwise { layer, .. } => Packed::Pointwise(Pointwise::pack(layer)),
        Op::TransposedConv2x2 { layer, .. } => {
            Packed::Transposed(Transposed::pack(&layer.weight, &layer.bias))
        }
        Op::ChannelGate { layers, .. } => {
            Packed::Gate(layers.iter().map(misc::GateLayer::pack).collect())
        }
        _ => Packed::AsIs,
    }
}

/// A fused producer (`Prologue`) run on its own: the 1x1's input, at its resolution.
fn run_prologue(prologue: &Prologue, input: Shape, x: &[f32], node: &Node) -> Vec<f32> {
    let c = prologue.layer().bias.len();
    let mut out = vec![0.0; node.shape.pixels() * c];
    match prologue {
        Prologue::Depthwise { layer, stride, act } => {
            let window = Window {
                input,
                kernel: layer.kernel,
                stride: *stride,
            };
            let (w, b) = (&layer.weight, &layer.bias);
            conv::depthwise(window, x, w, b, &mut out, Epilogue::act(*act));
        }
        Prologue::Pointwise { layer, act } => {
            Pointwise::pack(layer).run(x, &mut out, Epilogue::act(*act))
        }
    }
    out
}

/// One node into `out`, reading values through `value`. The one `match` over [`Op`] of this
/// executor.
fn eval<'a>(
    node: &Node,
    packed: &Packed,
    value: &impl Fn(Value) -> &'a [f32],
    network: &Network,
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let epilogue = node.epilogue.map(value);
    match (&node.op, packed) {
        (
            Op::Conv2d {
                input,
                layer,
                stride,
            },
            Packed::Conv2d(conv),
        ) => {
            let window = Window {
                input: network.shape(*input),
                kernel: layer.kernel,
                stride: *stride,
            };
            conv.run(window, value(*input), out, epilogue)
        }
        (
            Op::Pointwise {
                input,
                prologue,
                gate,
                plus,
                ..
            },
            Packed::Pointwise(pw),
        ) => {
            // The GPU's fusions (passes::PRODUCER_FUSIONS), which this engine leaves out:
            // materialised here so any graph runs (tests feed them).
            let computed = prologue
                .as_ref()
                .map(|p| run_prologue(p, network.shape(*input), value(*input), node));
            let x = computed.as_deref().unwrap_or(value(*input));
            let c = prologue
                .as_ref()
                .map_or(network.shape(*input).channels, |p| p.layer().bias.len());
            let gate = gate.map(value);
            let Some(plus) = plus else {
                return pw.run_with(x, gate, None, out, epilogue);
            };
            if plus.projected && plus.upsampled {
                // upsample_into_loads' skip: upsampled into the product block by block.
                let low = network.shape(plus.value);
                let up = matmul::Upsampled {
                    low,
                    values: value(plus.value),
                };
                return pw.run_with(x, gate, Some(up), out, epilogue);
            }
            let upsampled = plus.upsampled.then(|| {
                let s = network.shape(plus.value);
                let mut up = vec![0.0; 4 * s.len()];
                let size = (2 * s.height, 2 * s.width);
                misc::resize(s, value(plus.value), size, &mut up, Epilogue::default());
                up
            });
            let skip = upsampled.as_deref().unwrap_or(value(plus.value));
            if plus.projected {
                // Added to the product, before the bias and activation.
                let product = Epilogue {
                    act: Activation::Linear,
                    add: Some(skip),
                };
                pw.run_with(x, gate, None, out, product);
                for (i, v) in out.iter_mut().enumerate() {
                    *v = epilogue.act.apply(*v) + epilogue.add.map_or(0.0, |add| add[i]);
                }
                return;
            }
            // Added to the input: the input materialised, gated, in the scratch (which fits
            // every such input of this engine's graph; a fused one, in tests, may be larger).
            let mut larger = Vec::new();
            let a = match scratch.get_mut(..x.len()) {
                Some(a) => a,
                None => {
                    larger.resize(x.len(), 0.0);
                    &mut larger
                }
            };
            matmul::gated(x, c, gate, skip, a);
            pw.run(a, out, epilogue)
        }
        (
            Op::Depthwise {
                input,
                layer,
                stride,
            },
            _,
        ) => {
            let window = Window {
                input: network.shape(*input),
                kernel: layer.kernel,
                stride: *stride,
            };
            conv::depthwise(
                window,
                value(*input),
                &layer.weight,
                &layer.bias,
                out,
                epilogue,
            )
        }
        (Op::ChannelGate { input, plus, .. }, Packed::Gate(layers)) => {
            let c = network.shape(*input).channels;
            misc::channel_gate(value(*input), plus.map(value), c, layers, out)
        }
        (Op::ScaleChannels { input, gate }, _) => {
            misc::scale(value(*input), Some(value(*gate)), out, epilogue)
        }
        (Op::Identity { input }, _) => misc::scale(value(*input), None, out, epilogue),
        (Op::Upsample2x { input }, _) => misc::resize(
            network.shape(*input),
            value(*input),
            (node.shape.height, node.shape.width),
            out,
            epilogue,
        ),
        (
            Op::TransposedConv2x2 {
                input, prologue, ..
            },
            Packed::Transposed(transposed),
        ) => transposed.run(
            network.shape(*input),
            value(*input),
            prologue.as_ref(),
            out,
            epilogue,
        ),
        (
            Op::Conv2d { .. }
            | Op::Pointwise { .. }
            | Op::TransposedConv2x2 { .. }
            | Op::ChannelGate { .. },
            _,
        ) => {
            unreachable!("packed at build")
        }
    }
}

#[cfg(test)]
mod tests;
