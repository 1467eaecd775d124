//! Helpers for the ops' tests: the shared device, deterministic inputs, comparisons.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu};
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

/// The frames' data one after another, as a batch lies in a buffer.
pub fn concat(frames: &[crate::tensor::Tensor]) -> Vec<f32> {
    frames.iter().flat_map(|t| t.data.iter().copied()).collect()
}

/// Every other test case runs two frames at once (a batch), the rest one.
pub fn frames_for(case: usize) -> usize {
    1 + case % 2
}

/// `frames` tensors of [`random`] values.
pub fn tensors(
    shape: crate::tensor::Shape,
    frames: usize,
    seed: u64,
) -> Vec<crate::tensor::Tensor> {
    (0..frames as u64)
        .map(|f| tensor(shape, seed * 100 + f))
        .collect()
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

/// Runs a bound op on its own and checks its `out` against the CPU twin's `expected`
/// (see [`assert_close`]).
pub fn run_and_check(
    gpu: &Gpu,
    dispatch: Result<Dispatch>,
    out: &wgpu::Buffer,
    expected: &[f32],
    rel: f32,
    what: &str,
) {
    dispatch.unwrap().run(gpu).unwrap();
    assert_close(&gpu.read(out, expected.len()).unwrap(), expected, rel, what);
}

/// [`run_and_check`] for an op that pools too: `out` holds `expected`, then its `sums`
/// ([`Sums::of`](crate::ops::Sums::of) on the CPU's output; f32 sums in another order: 1e-4).
pub fn run_and_check_pooled(
    gpu: &Gpu,
    dispatch: Result<Dispatch>,
    out: &wgpu::Buffer,
    (expected, sums, frames): (&[f32], crate::ops::Sums, usize),
    what: &str,
) {
    dispatch.unwrap().run(gpu).unwrap();
    let got = gpu.read(out, expected.len() + frames * sums.len()).unwrap();
    let (values, pooled) = got.split_at(expected.len());
    assert_close(values, expected, 1e-5, what);
    let want = sums.of(expected, frames);
    assert_close(pooled, &want, 1e-4, &format!("{what}: sums"));
}

/// Uploads each slice as an f32 storage buffer.
pub fn upload_all<const N: usize>(gpu: &Gpu, data: [&[f32]; N]) -> [wgpu::Buffer; N] {
    data.map(|d| gpu.upload("test input", d))
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

/// Up to four planes as one vec4 plane: lane k of pixel i is planes[k][i] (zero where absent).
pub fn interleave(planes: &[&[f32]]) -> Vec<f32> {
    let len = planes[0].len();
    (0..len)
        .flat_map(|i| (0..4).map(move |k| planes.get(k).map_or(0.0, |p| p[i])))
        .collect()
}
