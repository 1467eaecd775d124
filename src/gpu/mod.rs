//! The device layer: a wgpu device and its error scopes ([`Gpu`]), parameter storage
//! ([`Precision`]), and compiling WGSL into a [`Kernel`] bound as a [`Dispatch`]. It knows no
//! kernel by name and no network: those live above it, in `ops` and `plan`.

mod context;
mod kernel;
#[cfg(not(target_arch = "wasm32"))]
mod pipeline_cache;
mod precision;

pub use context::{GPU_TIMEOUT, Gpu, GpuErrors};
pub use kernel::{Dispatch, Kernel, grid};
pub use precision::Precision;
