//! The operator set: one file per kernel (its WGSL in shaders/, its binding with every buffer
//! size checked, a link to its CPU twin in [`crate::cpu`], and its tests against that twin).
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

use crate::error::{Error, Result};
use crate::gpu::Gpu;

// The network's kernels.
pub mod channel_gate;
pub mod conv2d;
pub mod depthwise;
pub mod elementwise;
pub mod matmul;
pub mod resize;
pub mod softmax;
pub mod transposed_conv;
// Pixels in and out.
pub mod postprocess;
pub mod preprocess;
pub mod texture_in;
pub mod texture_out;
// The finish (crate::finish): guided-filter edges and compositing.
pub mod compose;
pub mod downsample;
pub mod guided;
pub mod separable;

mod kernels;
mod wgsl;

pub use channel_gate::{ChannelGate, Fc};
pub use compose::{Compose, ComposeParams};
pub use conv2d::Conv2d;
pub use depthwise::Depthwise;
pub use downsample::Downsample;
pub use elementwise::Elementwise;
pub use guided::Guided;
pub use kernels::{KERNEL_COUNT, Kernels, Shader, kernel_source};
pub use matmul::Matmul;
pub use postprocess::MaskToLuma8;
pub use preprocess::Preprocess;
pub use resize::Resize;
pub use separable::{Filter, Separable};
pub use softmax::Softmax;
pub use texture_in::TextureIn;
pub use texture_out::TextureOut;
pub use transposed_conv::TransposedConv2x2;
pub use wgsl::WG;

/// What an op does with its result before storing it, on buffers: `act(result) + add`.
pub type Epilogue<'a> = crate::network::Epilogue<&'a wgpu::Buffer>;

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

#[cfg(test)]
pub(crate) mod testing {
    use crate::gpu::Gpu;
    pub use crate::ops::test_gpu as gpu;

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

    /// A tensor of [`random`] values.
    pub fn tensor(shape: crate::tensor::Shape, seed: u64) -> crate::tensor::Tensor {
        crate::tensor::Tensor::from_vec(shape, random(shape.len(), seed))
    }

    /// A `w` x `h` photo of deterministic noise.
    pub fn photo(w: u32, h: u32, seed: u64) -> image::RgbImage {
        let noise = random((w * h * 3) as usize, seed);
        image::RgbImage::from_fn(w, h, |x, y| {
            let i = ((y * w + x) * 3) as usize;
            image::Rgb([0, 1, 2].map(|c| ((noise[i + c] + 1.0) * 127.5) as u8))
        })
    }

    /// A storage buffer holding `words` (packed pixels).
    pub fn upload_words(gpu: &Gpu, words: &[u32]) -> wgpu::Buffer {
        gpu.upload("words", bytemuck::cast_slice(words))
    }

    /// `len` u32 words read back from `buffer`.
    pub fn read_words(gpu: &Gpu, buffer: &wgpu::Buffer, len: usize) -> Vec<u32> {
        let floats = gpu.read(buffer, len).unwrap();
        floats.iter().map(|f| f.to_bits()).collect()
    }

    /// An rgba8unorm texture holding `image` (alpha 255), usable as TEXTURE_BINDING and `extra`.
    pub fn photo_texture(
        gpu: &Gpu,
        image: &image::RgbImage,
        extra: wgpu::TextureUsages,
    ) -> wgpu::Texture {
        let size = wgpu::Extent3d {
            width: image.width(),
            height: image.height(),
            depth_or_array_layers: 1,
        };
        let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("photo"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST | extra,
            view_formats: &[],
        });
        let rgba = image::DynamicImage::ImageRgb8(image.clone()).to_rgba8();
        let layout = wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(image.width() * 4),
            rows_per_image: None,
        };
        gpu.queue
            .write_texture(texture.as_image_copy(), rgba.as_raw(), layout, size);
        texture
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

    /// Every byte within `tolerance` levels: CPU and GPU may round an exact .5 differently.
    pub fn assert_bytes_close(gpu: &[u8], cpu: &[u8], tolerance: u8, what: &str) {
        assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
        for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
            assert!(
                g.abs_diff(*c) <= tolerance,
                "{what}: byte {i}: gpu {g} vs cpu {c}"
            );
        }
    }
}
