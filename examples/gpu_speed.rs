//! The GPU plan on one frame and on batches, same process: dispatches, GPU time per frame from
//! timestamp queries, wall time per frame, and frames/s at batch sizes 1, 8 and 64.
//! `cargo run --release --example gpu_speed [-- RUNS [--kernels]]` (default 9 runs per figure,
//! medians; `--kernels`: each node's dispatch timed alone; `--no-batches`: skip the batch figures;
//! `--fuse-producers`: the graph with `passes::PRODUCER_FUSIONS` too).
//! On a software rasterizer (lavapipe) only ratios between two builds in one session mean
//! anything.

use silhouette::gpu::Gpu;
use silhouette::network::Network;
use silhouette::ops::Kernels;
use silhouette::plan::Plan;
use std::time::{Duration, Instant};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> silhouette::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let gpu = Gpu::new()?;
    let kernels = Kernels::new(&gpu)?;
    let network = Network::new(&silhouette::Weights::embedded()?)?;
    let photo = silhouette::image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/frames/grace_hopper.png"
    ))
    .expect("frame")
    .to_rgb8();
    let input = silhouette::reference::network_input(&photo)?;
    let fuse_producers = std::env::args().any(|a| a == "--fuse-producers");
    let plan = Plan::with_fusions(&gpu, &kernels, &network, 64, fuse_producers)?;
    let mut out = vec![0.0; 64 * 256 * 256];
    plan.run_input(&input, &mut out[..256 * 256])?;
    let stats = plan.stats();
    println!("device: {}", gpu.description());
    println!("dispatches per frame: {}", stats.dispatches_per_frame);
    let timestamps: Vec<Duration> = (0..runs)
        .filter_map(|_| plan.gpu_time(&input).transpose())
        .collect::<silhouette::Result<_>>()?;
    if !timestamps.is_empty() {
        let t = median(timestamps).as_secs_f64() * 1e3;
        println!("frame, GPU timestamps: {t:.3} ms");
    }
    let wall = (0..runs)
        .map(|_| {
            let start = Instant::now();
            plan.run_input(&input, &mut out[..256 * 256])
                .map(|()| start.elapsed())
        })
        .collect::<silhouette::Result<Vec<_>>>()?;
    println!("frame, wall: {:.3} ms", median(wall).as_secs_f64() * 1e3);
    let batches: &[usize] = if std::env::args().any(|a| a == "--no-batches") {
        &[]
    } else {
        &[1, 8, 64]
    };
    for &batch in batches {
        let inputs = vec![input.clone(); batch];
        let out = &mut out[..batch * 256 * 256];
        plan.run_batch(&inputs, out)?;
        let times = (0..runs.div_ceil(3))
            .map(|_| {
                let start = Instant::now();
                plan.run_batch(&inputs, out).map(|()| start.elapsed())
            })
            .collect::<silhouette::Result<Vec<_>>>()?;
        let fps = batch as f64 / median(times).as_secs_f64();
        println!("frames/s at batch {batch}: {fps:.1}");
    }
    if std::env::args().any(|a| a == "--kernels") {
        // Each node's dispatch alone (wall time per run of back-to-back runs in one submit).
        for (node, dispatch) in plan.network().nodes.iter().zip(plan.dispatches()) {
            let t = dispatch.time(&gpu, 3)?;
            println!("{:48} {:9.2} ms", node.label(), t.as_secs_f64() * 1e3);
        }
    }
    Ok(())
}
