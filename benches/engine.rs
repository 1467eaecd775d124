//! criterion benches: every kernel at each of the network's shapes (GFLOP/s via element
//! throughput = 2 x MACs), the whole network on our GPU, our CPU reference and (with
//! `--features bench-ort`) ONNX Runtime on the same input, and frames per submit.
//! HTML report: target/criterion/report/index.html. The markdown comparison is tools/bench.sh.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use silhouette::gpu::Gpu;
use silhouette::network::Network;
use silhouette::ops::Kernels;
use silhouette::plan::Plan;

mod support;

fn engines(c: &mut Criterion) {
    let network = Network::new(&silhouette::Weights::embedded().unwrap()).unwrap();
    let input = support::input();
    let mut out = vec![0.0; 256 * 256];

    let gpu = Gpu::new().expect("a GPU adapter (set WGPU_BACKEND to pick one)");
    let kernels = Kernels::new(&gpu).unwrap();
    let plan = Plan::new(&gpu, &kernels, &network).unwrap();
    plan.run_input(&input, &mut out).unwrap();
    assert!(
        support::max_abs_diff(&out, &support::golden()) <= 5e-4,
        "GPU output disagrees with MediaPipe"
    );
    eprintln!("GPU: {}", gpu.description());

    // The plan's own nodes (after the graph passes), one per dispatch.
    let lowered = plan.network();
    let mut group = c.benchmark_group("kernel");
    for (i, (node, dispatch)) in lowered.nodes.iter().zip(plan.dispatches()).enumerate() {
        match node.macs() {
            0 => group.throughput(Throughput::Bytes(support::node_bytes(lowered, node))),
            macs => group.throughput(Throughput::Elements(2 * macs)),
        };
        group.bench_function(format!("{i:02} {}", node.label()), |b| {
            b.iter_custom(|iters| dispatch.time(&gpu, iters as u32).unwrap() * iters as u32)
        });
    }
    group.finish();

    let mut whole = c.benchmark_group("network");
    whole.throughput(Throughput::Elements(1));
    whole.bench_function("ours gpu", |b| {
        b.iter(|| plan.run_input(&input, &mut out).unwrap())
    });
    whole.sample_size(10);
    whole.bench_function("ours cpu reference", |b| {
        b.iter(|| silhouette::reference::run(&network, &input).unwrap())
    });
    #[cfg(feature = "bench-ort")]
    {
        let mut ort = support::ort_engine::Ort::new();
        let nchw = support::ort_engine::Ort::nchw(&input.data);
        assert!(
            support::max_abs_diff(&ort.run(&nchw), &out) <= 5e-4,
            "ORT and our GPU disagree"
        );
        whole.sample_size(50);
        whole.bench_function("onnxruntime cpu", |b| b.iter(|| ort.run(&nchw)));
    }
    whole.finish();

    // `cargo test` runs this once per case (no --bench): tiny batches there, since a 64-frame
    // batch on a software rasterizer in the debug profile takes minutes on a busy machine.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if benching { &[1, 8, 64] } else { &[1, 2] };
    // A plan whose batches of up to the largest size run with the dispatches of one frame.
    let max = *sizes.last().unwrap();
    let plan = Plan::with_batch(&gpu, &kernels, &network, max).unwrap();
    let mut batch = c.benchmark_group("frames per submit");
    for &n in sizes {
        let inputs = vec![input.clone(); n];
        let mut outs = vec![0.0; n * 256 * 256];
        batch.throughput(Throughput::Elements(n as u64));
        batch.sample_size(10);
        batch.bench_function(format!("{n}"), |b| {
            b.iter(|| plan.run_batch(&inputs, &mut outs).unwrap())
        });
    }
    batch.finish();
}

criterion_group!(benches, engines);
criterion_main!(benches);
