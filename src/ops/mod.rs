//! The operator set, usable one by one on GPU buffers (e.g. on an app's own `wgpu::Device` via
//! [`Gpu::from_device`](crate::gpu::Gpu::from_device)). Each op validates its buffer sizes, binds
//! a ready [`Dispatch`](crate::gpu::Dispatch), and is tested against its CPU twin in [`crate::cpu`].
//!
//! ```no_run
//! # fn main() -> silhouette::Result<()> {
//! use silhouette::{gpu::{Gpu, Kernels}, ops::Matmul};
//! let gpu = Gpu::new()?;                    // or Gpu::from_device(device, queue)
//! let kernels = Kernels::new(&gpu)?;        // compile once
//! let a = gpu.upload("a", &[1.0, 2.0, 3.0, 4.0]);
//! let b = gpu.upload("b", &[5.0, 6.0, 7.0, 8.0]);
//! let c = gpu.storage("c", 4);
//! Matmul::new(&a, &b, &c, 2, 2, 2).bind(&gpu, &kernels)?.run(&gpu)?;
//! assert_eq!(gpu.read(&c, 4)?, vec![19.0, 22.0, 43.0, 50.0]);
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Kernels};
use crate::network::Activation;

mod channel_gate;
mod conv;
mod elementwise;
mod matmul;
mod pixels;
mod resize;
mod softmax;

pub use channel_gate::{ChannelGate, Fc};
pub use conv::{Conv2d, Depthwise, TransposedConv2x2};
pub use elementwise::Elementwise;
pub use matmul::Matmul;
pub use pixels::{MaskToLuma8, Preprocess, pack_rgba};
pub use resize::Resize;
pub use softmax::Softmax;

/// What every op does with its result before storing it: `act(result) + add`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    pub act: Activation,
    pub add: Option<&'a wgpu::Buffer>,
}

pub(crate) fn act_code(act: Activation) -> u32 {
    match act {
        Activation::Linear => 0,
        Activation::Relu => 1,
        Activation::HardSwish => 2,
        Activation::Sigmoid => 3,
    }
}

/// A typed error instead of a GPU validation error when a buffer is too small for `elements`
/// f32 values (activations are always f32).
pub(crate) fn check(buffer: &wgpu::Buffer, elements: usize, what: &str) -> Result<()> {
    check_bytes(buffer, elements * 4, what)
}

/// Checks an optional input and returns what to bind for it, plus its "present" flag.
pub(crate) fn optional<'a>(
    gpu: &'a Gpu,
    buffer: Option<&'a wgpu::Buffer>,
    elements: usize,
    what: &str,
) -> Result<(&'a wgpu::Buffer, u32)> {
    match buffer {
        Some(b) => check(b, elements, what).map(|()| (b, 1)),
        None => Ok((&gpu.empty, 0)),
    }
}

/// Like [`check`] for weights and biases, which are stored at the kernels' precision.
pub(crate) fn check_params(
    kernels: &Kernels,
    buffer: &wgpu::Buffer,
    elements: usize,
    what: &str,
) -> Result<()> {
    check_bytes(buffer, elements * kernels.precision.bytes(), what)
}

fn check_bytes(buffer: &wgpu::Buffer, bytes: usize, what: &str) -> Result<()> {
    if buffer.size() < bytes as u64 {
        return Err(Error::InvalidInput(format!(
            "{what}: buffer holds {} bytes, needs {bytes}",
            buffer.size()
        )));
    }
    Ok(())
}

pub(crate) fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::InvalidInput(format!("{what} = {v} does not fit in 32 bits")))
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::gpu::{Gpu, Kernels};

    pub fn gpu() -> Option<&'static (Gpu, Kernels)> {
        crate::gpu::test_gpu()
    }

    /// Deterministic values in [-1, 1) (xorshift; no rand dependency for tests).
    pub fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// |gpu - cpu| <= rel * max(|cpu|, 1) everywhere: f32 relative tolerance, absolute near zero.
    pub fn assert_close(gpu: &[f32], cpu: &[f32], rel: f32, what: &str) {
        assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
        for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
            assert!(
                (g - c).abs() <= rel * c.abs().max(1.0),
                "{what}: element {i}: gpu {g} vs cpu {c}"
            );
        }
    }
}
