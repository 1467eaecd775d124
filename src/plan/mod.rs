//! The network compiled for one device: weights uploaded, an activation arena sized once (values
//! whose lifetimes do not overlap share a buffer), every bind group built up front. A frame is
//! one command buffer, one submit, and a readback of the 256x256 output only.
//!
//! - [`lower`]: the graph onto the device (arena layout, weight upload, one dispatch per node);
//! - [`run`]: frames (upload, preprocess, network, readback), batches and timing;
//! - [`composite`] with [`finish`]: the finish after the network in the same submit.

#[cfg(not(target_arch = "wasm32"))]
mod composite;
#[cfg(not(target_arch = "wasm32"))]
mod finish;
mod lower;
mod run;

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
    pub dispatches_per_frame: usize,
    pub arena_buffers: usize,
    pub arena_bytes: u64,
    /// Bytes the activations would take with one buffer per value (no reuse).
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
    /// Creating the kernels' pipelines.
    pub compile_time: Duration,
    /// Building the plan (passes, arena, uploads, bind groups).
    pub build_time: Duration,
}

pub struct Plan {
    gpu: Gpu,
    kernels: Kernels,
    dispatches: Vec<Dispatch>,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    frame: Mutex<Frame>,
    stats: PlanStats,
}

/// Per-frame host state, reused from frame to frame: the image upload buffer (grown to the largest
/// frame seen, with its preprocessing dispatch), the packed pixels, and the batch buffers (grown to
/// the largest batch seen).
#[derive(Default)]
struct Frame {
    upload: Option<(wgpu::Buffer, usize, Dispatch)>,
    packed: Vec<u32>,
    #[cfg(not(target_arch = "wasm32"))]
    batch: Option<(wgpu::Buffer, wgpu::Buffer, usize)>,
    #[cfg(not(target_arch = "wasm32"))]
    finish: finish::Finish,
}

impl Plan {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        pollster::block_on(Self::new_async(gpu, kernels, network))
    }

    /// The plan of `network` after the graph passes ([`crate::passes`]); the stats say what
    /// each pass did.
    pub async fn new_async(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        let start = Instant::now();
        let original = network;
        let (rewritten, passes) = passes::optimize(original);
        let network = &rewritten;
        let precision = kernels.precision;
        let (slot_of, capacities) = lower::arena_layout(network);
        let arena: Vec<wgpu::Buffer> = capacities
            .iter()
            .map(|&len| gpu.storage("activation arena", len))
            .collect();
        let buffer = |v: Value| &arena[slot_of[v.0]];
        let build = || -> Result<_> {
            let mut dispatches = Vec::with_capacity(network.nodes.len());
            let mut weight_bytes = 0;
            for (i, node) in network.nodes.iter().enumerate() {
                let layers = lower::upload_layers(gpu, &node.op, precision);
                weight_bytes += layers
                    .iter()
                    .map(|l| l.weight.size() + l.bias.size())
                    .sum::<u64>();
                dispatches.push(lower::bind_node(
                    gpu,
                    kernels,
                    network,
                    node,
                    &layers,
                    &buffer,
                    buffer(Value(i + 1)),
                )?);
            }
            Ok((dispatches, weight_bytes))
        };
        let (dispatches, weight_bytes) = gpu.scoped_async("building the plan", build).await??;
        let readback = gpu.readback_buffer("mask readback", (OUTPUT.len() * 4) as u64);
        let values = network.nodes.len() + 1;
        let stats = PlanStats {
            precision,
            dispatches_per_frame: dispatches.len() + 1,
            arena_buffers: arena.len(),
            arena_bytes: arena.iter().map(wgpu::Buffer::size).sum(),
            unshared_bytes: (0..values)
                .map(|v| network.shape(Value(v)).len() as u64 * 4)
                .sum(),
            weight_bytes,
            io_bytes: readback.size(),
            macs_per_frame: network.macs(),
            bytes_per_frame: lower::bytes_moved(network, precision),
            bytes_per_frame_as_written: lower::bytes_moved(original, precision),
            passes,
            compile_time: kernels.compile_time,
            build_time: start.elapsed(),
        };
        Ok(Plan {
            gpu: gpu.clone(),
            kernels: kernels.clone(),
            input: buffer(Value(0)).clone(),
            output: buffer(network.output()).clone(),
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

    /// The node dispatches, in order (for timing kernels one by one).
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.dispatches
    }
}
