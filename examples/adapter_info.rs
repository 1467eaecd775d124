//! Prints the adapter silhouette picks (honouring WGPU_BACKEND), whether it has SHADER_F16, and
//! what the GPU plan costs: pipeline creation time, dispatches per frame, bytes allocated.
//! Run: `cargo run --release --example adapter_info`
use silhouette::gpu::{Gpu, Precision};
use silhouette::ops::Kernels;
use silhouette::plan::Plan;

fn main() -> silhouette::Result<()> {
    let start = std::time::Instant::now();
    let gpu = Gpu::new()?;
    let device_time = start.elapsed();
    let network = silhouette::network::Network::new(&silhouette::Weights::embedded()?)?;
    println!("adapter:          {}", gpu.description());
    println!("SHADER_F16:       {}", gpu.supports_f16());
    println!("device creation:  {device_time:.2?}");
    println!(
        "MACs per frame (graph as written):   {:.1} M",
        network.macs() as f64 / 1e6
    );
    let precisions: &[Precision] = if gpu.supports_f16() {
        &[Precision::F32, Precision::F16]
    } else {
        &[Precision::F32]
    };
    for &precision in precisions {
        let kernels = Kernels::with_precision(&gpu, precision)?;
        let plan = Plan::new(&gpu, &kernels, &network)?;
        let mut probabilities = vec![0.0; 256 * 256];
        plan.run_image(&image::RgbImage::new(640, 480), &mut probabilities)?;
        println!(
            "\n{precision:?} weights: pipeline creation {:.2?} ({} kernels)",
            kernels.compile_time,
            silhouette::ops::KERNEL_COUNT
        );
        println!("{:#?}", plan.stats());
    }
    Ok(())
}
