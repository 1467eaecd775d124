//! What every op's binding shares: the epilogue on buffers, and buffer checks that turn a wrong
//! size into a typed error before the GPU would raise a validation error.

use super::kernels::{Constants, Kernels};
use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// What an op does with its result before storing it, on buffers: `act(result) + add`.
pub type Epilogue<'a> = crate::network::Epilogue<&'a wgpu::Buffer>;

/// The pipeline constants of the epilogue part (shaders/parts/epilogue.wgsl): its activation and
/// whether it adds.
pub(crate) fn epilogue_constants(epilogue: &Epilogue) -> Constants {
    vec![
        ("ACT", epilogue.act as u32),
        ("HAS_ADD", epilogue.add.is_some() as u32),
    ]
}

/// A typed error instead of a GPU validation error when a buffer is too small for `elements`
/// 4-byte values (f32 activations, packed RGBA8 pixels).
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
        return Err(Error::BufferTooSmall {
            what: what.to_string(),
            bytes: buffer.size(),
            needs: bytes as u64,
        });
    }
    Ok(())
}

pub(crate) fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::InvalidInput(format!("{what} = {v} does not fit in 32 bits")))
}
