//! Prints the adapter silhouette would pick, its f16 support and the GPU plan's costs.
//! Run: `cargo run --release --example adapter_info`
fn main() -> silhouette::Result<()> {
    let start = std::time::Instant::now();
    let gpu = silhouette::gpu::Gpu::new()?;
    let device_time = start.elapsed();
    let kernels = silhouette::gpu::Kernels::new(&gpu)?;
    let network = silhouette::network::Network::new(&silhouette::Weights::embedded()?)?;
    let plan = silhouette::gpu::Plan::new(&gpu, &kernels, &network)?;
    println!("adapter:            {}", gpu.description());
    println!("SHADER_F16:         {}", gpu.supports_f16());
    println!("device creation:    {device_time:.2?}");
    println!(
        "pipeline creation:  {:.2?} ({} kernels)",
        kernels.compile_time, 10
    );
    println!("MACs per frame:     {:.1} M", network.macs() as f64 / 1e6);
    println!("{:#?}", plan.stats());
    Ok(())
}
