//! The operator set: one file per kernel (its WGSL in shaders/, its binding with every buffer
//! size checked, a link to its CPU twin in [`crate::reference`], and its tests against that twin).
//! Usable one by one on GPU buffers, e.g. on an app's own `wgpu::Device` via
//! [`Gpu::from_device`](crate::gpu::Gpu::from_device).
//!
//! ```no_run
//! # fn main() -> silhouette::Result<()> {
//! use silhouette::{gpu::Gpu, ops::{Kernels, Matmul}};
//! let gpu = Gpu::new()?;                    // or Gpu::from_device(device, queue)
//! let kernels = Kernels::new(&gpu)?;        // compile once
//! let a = gpu.upload("a", &[1.0, 2.0, 3.0, 4.0]);
//! let b = gpu.upload("b", &[5.0, 6.0, 7.0, 8.0]);
//! let c = gpu.storage("c", 4);
//! Matmul::new(&a, &b, &c, 2, 2, 2).bind(&gpu, &kernels)?.run(&gpu)?;
//! assert_eq!(gpu.read(&c, 4)?, vec![19.0, 22.0, 43.0, 50.0]);
//! # Ok(()) }
//! ```

#[cfg(not(target_arch = "wasm32"))]
use crate::gpu::Gpu;

// The network's kernels.
pub mod channel_gate;
pub mod conv2d;
pub mod depthwise;
pub mod elementwise;
pub mod matmul;
pub mod resize;
pub mod softmax;
pub mod sums;
pub mod transposed_conv;
// Pixels in and out.
pub mod postprocess;
pub mod preprocess;
pub mod texture_in;
pub mod texture_out;
// The finish (crate::finish): guided-filter edges and compositing.
pub mod background;
pub mod compose;
pub mod downsample;
pub mod guided;
pub mod separable;
// Video: masks smoothed over frames.
pub mod smooth;

mod binding;
mod kernels;
mod wgsl;

pub use background::WeighBackground;
pub use binding::Epilogue;
pub use channel_gate::{ChannelGate, Fc, GateInput};
pub use compose::{Compose, ComposeParams};
pub use conv2d::Conv2d;
pub use depthwise::Depthwise;
pub use downsample::Downsample;
pub use elementwise::Elementwise;
pub use guided::Guided;
pub use kernels::{KERNEL_COUNT, Kernels, kernel_source};
pub use matmul::{ComputedA, ComputedOp, Matmul, MatmulPlus};
pub use postprocess::MaskToLuma8;
pub use preprocess::Preprocess;
pub use resize::Resize;
pub use separable::{Filter, Separable};
pub use smooth::Smooth;
pub use softmax::Softmax;
pub use sums::Sums;
pub use texture_in::TextureIn;
pub use texture_out::TextureOut;
pub use transposed_conv::{ComputedInput, TransposedConv2x2};
pub use wgsl::{Shader, WG};

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
            let kernels = Kernels::new(&gpu).expect("kernels compile");
            eprintln!("GPU tests run on: {}", gpu.description());
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

#[cfg(test)]
pub(crate) mod testing;
