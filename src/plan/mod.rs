//! The network compiled for one device: weights uploaded, an activation arena sized once (values
//! whose lifetimes do not overlap share a buffer), every bind group built up front. A frame is
//! one command buffer, one submit, and a readback of the 256x256 output only.
//!
//! - [`lower`]: the graph onto the device (arena layout, weight upload, one dispatch per node);
//! - [`run`]: frames (upload, preprocess, network, readback), batches and timing;
//! - [`composite`] with [`finish`]: the finish after the network in the same submit.

mod composite;
mod finish;
mod lower;
mod run;

pub use composite::TextureOptions;

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Precision};
use crate::network::{Network, OUTPUT, Value};
use crate::ops::Kernels;
use crate::passes::{self, PassReport};
use std::sync::Mutex;
use std::time::Duration;
use web_time::Instant;

/// Photos above 64 megapixels are resampled and composited on the CPU: staging them whole on the
/// GPU (upload, finished photo, readback, each 4 bytes a pixel) would cost far more memory than
/// the CPU's 8-bit planes, for a one-off photo where GPU speed hardly matters.
pub const MAX_GPU_PIXELS: usize = 64 << 20;

/// What a plan costs, for notes and benchmarks.
#[derive(Clone, Debug)]
pub struct PlanStats {
    /// How the weights are stored.
    pub precision: Precision,
    /// The most frames one batch runs with the dispatches of one frame.
    pub max_frames: usize,
    pub dispatches_per_frame: usize,
    pub arena_buffers: usize,
    pub arena_bytes: u64,
    /// Bytes the activations would take with one buffer per value (no reuse), per frame.
    pub unshared_bytes: u64,
    pub weight_bytes: u64,
    /// The output readback buffer plus the image upload buffer (which grows to the largest frame).
    pub io_bytes: u64,
    /// Multiply-accumulates per frame of the graph the plan runs.
    pub macs_per_frame: u64,
    /// Bytes the network's dispatches read and write per frame: every value each reads, its
    /// parameters, and what it writes, once (the least traffic they can cause; the preprocess,
    /// which depends on the photo's size, not included).
    pub bytes_per_frame: u64,
    /// The same for the graph before the passes.
    pub bytes_per_frame_as_written: u64,
    /// What each graph pass did before lowering.
    pub passes: Vec<PassReport>,
    /// Creating the kernels' base pipelines.
    pub compile_time: Duration,
    /// Specialised pipelines the plan's dispatches use (compiled during the plan build, once
    /// per device).
    pub pipeline_variants: usize,
    /// Building the plan (passes, arena, uploads, bind groups).
    pub build_time: Duration,
}

pub struct Plan {
    gpu: Gpu,
    kernels: Kernels,
    /// The graph as lowered (after the passes), its parameters on the device, and the arena:
    /// kept to bind batches of other sizes (batches are native only: `run_batch` blocks).
    network: Network,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    layers: Vec<Vec<lower::LayerBuffers>>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    arena: Vec<wgpu::Buffer>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    slot_of: Vec<usize>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    max_frames: usize,
    /// One frame's node dispatches.
    dispatches: Vec<Dispatch>,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    frame: Mutex<Frame>,
    stats: PlanStats,
}

/// Per-frame host state, reused from frame to frame: the image upload buffer (grown to the largest
/// frame seen, with its preprocessing dispatch), the packed pixels, the batch buffers (grown to
/// the largest batch seen) and the dispatches of each batch size run so far.
#[derive(Default)]
struct Frame {
    upload: Option<(wgpu::Buffer, usize, Dispatch)>,
    packed: Vec<u32>,
    #[cfg(not(target_arch = "wasm32"))]
    batch: Option<(wgpu::Buffer, wgpu::Buffer, usize)>,
    #[cfg(not(target_arch = "wasm32"))]
    batch_dispatches: std::collections::HashMap<usize, Vec<Dispatch>>,
    finish: finish::Finish,
}

impl Plan {
    /// A plan for one frame at a time.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        Self::with_batch(gpu, kernels, network, 1)
    }

    /// A plan whose batches run up to `max_frames` frames with the dispatches of one: every
    /// kernel takes the frames one after another ([`run_batch`](Self::run_batch)).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_batch(
        gpu: &Gpu,
        kernels: &Kernels,
        network: &Network,
        max_frames: usize,
    ) -> Result<Plan> {
        pollster::block_on(Self::with_batch_async(gpu, kernels, network, max_frames))
    }

    /// [`with_batch`](Self::with_batch), with the producers fused into their 1x1s' loads too
    /// where `fuse_producers` ([`passes::PRODUCER_FUSIONS`]: to time both graphs on a device).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_fusions(
        gpu: &Gpu,
        kernels: &Kernels,
        network: &Network,
        max_frames: usize,
        fuse_producers: bool,
    ) -> Result<Plan> {
        let graph = passes::optimize_for_gpu(network, fuse_producers);
        pollster::block_on(Self::of_graph(gpu, kernels, network, graph, max_frames))
    }

    pub async fn new_async(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        Self::with_batch_async(gpu, kernels, network, 1).await
    }

    /// The plan of `network` after the graph passes ([`crate::passes`]); the stats say what
    /// each pass did.
    pub async fn with_batch_async(
        gpu: &Gpu,
        kernels: &Kernels,
        network: &Network,
        max_frames: usize,
    ) -> Result<Plan> {
        let graph = passes::optimize(network);
        Self::of_graph(gpu, kernels, network, graph, max_frames).await
    }

    /// The plan of `original` rewritten as `graph` (with the passes' reports).
    async fn of_graph(
        gpu: &Gpu,
        kernels: &Kernels,
        original: &Network,
        (network, passes): (Network, Vec<passes::PassReport>),
        max_frames: usize,
    ) -> Result<Plan> {
        let start = Instant::now();
        let max_frames = max_frames.max(1);
        let precision = kernels.precision;
        let (slot_of, mut capacities) = passes::arena_layout(&network);
        // A value a gate pools carries its producer's sums after it.
        let pooled = lower::pooled_values(&network);
        for (v, &slot) in slot_of.iter().enumerate() {
            let need = lower::footprint(&network, &pooled, Value(v));
            capacities[slot] = capacities[slot].max(need);
        }
        let build = || -> Result<_> {
            let arena: Vec<wgpu::Buffer> = capacities
                .iter()
                .map(|&len| gpu.storage("activation arena", max_frames * len))
                .collect();
            let layers: Vec<Vec<lower::LayerBuffers>> = network
                .nodes
                .iter()
                .map(|node| lower::upload_layers(gpu, &node.op, precision))
                .collect();
            let target = lower::Target {
                gpu,
                kernels,
                network: &network,
                frames: 1,
            };
            let dispatches = lower::bind_nodes(target, &layers, &arena, &slot_of)?;
            Ok((arena, layers, dispatches))
        };
        let (arena, layers, dispatches) = gpu.scoped_async("building the plan", build).await??;
        let readback = gpu.readback_buffer("mask readback", (OUTPUT.len() * 4) as u64);
        let values = network.nodes.len() + 1;
        let stats = PlanStats {
            precision,
            max_frames,
            dispatches_per_frame: dispatches.len() + 1,
            arena_buffers: arena.len(),
            arena_bytes: arena.iter().map(wgpu::Buffer::size).sum(),
            unshared_bytes: (0..values)
                .map(|v| network.shape(Value(v)).len() as u64 * 4)
                .sum(),
            weight_bytes: layers
                .iter()
                .flatten()
                .map(|l| l.weight.size() + l.bias.size())
                .sum(),
            io_bytes: readback.size(),
            macs_per_frame: network.macs(),
            bytes_per_frame: lower::bytes_moved(&network, precision),
            bytes_per_frame_as_written: lower::bytes_moved(original, precision),
            passes,
            compile_time: kernels.compile_time,
            pipeline_variants: kernels.variant_count(),
            build_time: start.elapsed(),
        };
        Ok(Plan {
            gpu: gpu.clone(),
            kernels: kernels.clone(),
            input: arena[slot_of[0]].clone(),
            output: arena[slot_of[network.output().0]].clone(),
            network,
            layers,
            arena,
            slot_of,
            max_frames,
            dispatches,
            readback,
            frame: Mutex::new(Frame::default()),
            stats,
        })
    }

    pub fn stats(&self) -> PlanStats {
        let mut stats = self.stats.clone();
        if let Ok(frame) = self.frame.try_lock() {
            stats.io_bytes += frame
                .upload
                .as_ref()
                .map_or(0, |(buffer, _, _)| buffer.size());
        }
        stats
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The graph this plan runs (after the passes): its nodes match [`dispatches`](Self::dispatches).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The node dispatches, in order (for timing kernels one by one).
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.dispatches
    }
}
