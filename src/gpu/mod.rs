//! The WGSL engine on wgpu: the device ([`Gpu`]), the compiled kernel set ([`Kernels`]) and the
//! network compiled into a [`Plan`] (one command buffer, one submit per frame).

mod context;
// The browser composites in its own canvas (examples/web/app.js).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod finish;
mod kernel;
mod plan;

pub use context::Gpu;
pub use kernel::{Dispatch, KERNEL_COUNT, Kernel, Kernels, Precision, grid, kernel_source};
pub use plan::{Pixels, Plan, PlanStats};

/// A shared device and kernel set for tests. With `SILHOUETTE_REQUIRE_GPU=1` (set by
/// tools/test.sh and CI) a missing adapter is a test failure; without it, GPU tests say they
/// skipped. Logs the adapter once.
#[doc(hidden)]
#[cfg(not(target_arch = "wasm32"))]
pub fn test_gpu() -> Option<&'static (Gpu, Kernels)> {
    use std::sync::OnceLock;
    static SHARED: OnceLock<Option<(Gpu, Kernels)>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| match Gpu::new() {
        Ok(gpu) => {
            eprintln!("GPU tests run on: {}", gpu.description());
            let kernels = Kernels::new(&gpu).expect("kernels compile");
            Some((gpu, kernels))
        }
        Err(e) => {
            if std::env::var("SILHOUETTE_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("SILHOUETTE_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            None
        }
    });
    if shared.is_none() {
        eprintln!("SKIPPED: no GPU adapter (set SILHOUETTE_REQUIRE_GPU=1 to make this a failure)");
    }
    shared.as_ref()
}
