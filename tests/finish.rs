//! The GPU finish (shaders/downsample, separable, guided, compose.wgsl) against its CPU twin
//! (src/cpu/finish.rs): every background, refined and bilinear edges, odd sizes, sizes above the
//! 512-pixel working resolution, and a small photo after a large one.

mod common;
use common::*;
use silhouette::Background;
use silhouette::cpu::finish as compose;
use silhouette::image::{Rgb, RgbImage, imageops};

fn photo(w: u32, h: u32) -> RgbImage {
    let base = silhouette::image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/photos/grace_hopper.jpg"
    ))
    .unwrap()
    .to_rgb8();
    imageops::resize(&base, w, h, imageops::FilterType::Triangle)
}

#[test]
fn gpu_finish_matches_the_cpu_twin() {
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let picture = RgbImage::from_fn(50, 30, |x, y| Rgb([(x * 5) as u8, (y * 8) as u8, 200]));
    let backgrounds = [
        Background::Transparent,
        Background::Color([20, 200, 90]),
        Background::Blur { radius: 7.0 },
        Background::Image(picture),
    ];
    // Growing sizes, then a small one after a photo whose buffers (over 16 MB) are then remade
    // smaller: every rebuild of the finish's buffers and dispatches is checked.
    for (w, h) in [
        (1, 1),
        (37, 53),
        (300, 200),
        (1100, 700),
        (2100, 2000),
        (53, 37),
    ] {
        let photo = photo(w, h);
        let probabilities = segmenter.probabilities(&photo).unwrap();
        for background in &backgrounds {
            for refine in [false, true] {
                let gpu = segmenter.compose(&photo, background, refine).unwrap();
                let cpu = compose::compose(
                    &photo,
                    &compose::alpha(&photo, &probabilities, refine),
                    background,
                );
                let diffs: Vec<u8> = gpu
                    .as_raw()
                    .iter()
                    .zip(cpu.as_raw())
                    .map(|(a, b)| a.abs_diff(*b))
                    .collect();
                let worst = *diffs.iter().max().unwrap();
                let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
                let what = format!(
                    "{w}x{h} {} refine={refine}",
                    match background {
                        Background::Transparent => "cut",
                        Background::Color(_) => "colour",
                        Background::Blur { .. } => "blur",
                        Background::Image(_) => "picture",
                    }
                );
                println!("{what}: worst channel difference {worst}, mean {mean:.4}");
                // Floating-point order differs; an 8-bit value may land one step (two through
                // alpha then blend) on the other side of a rounding boundary.
                assert!(
                    worst <= 2 && mean < 0.05,
                    "{what}: worst {worst}, mean {mean}"
                );
            }
        }
    }
}

/// Reads an rgba8unorm texture back (rows padded to wgpu's 256-byte copy alignment).
fn read_texture(gpu: &silhouette::gpu::Gpu, texture: &wgpu::Texture) -> Vec<u8> {
    let (w, h) = (texture.width(), texture.height());
    let row = (w * 4).next_multiple_of(256);
    let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (row * h) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &staging,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: None,
            },
        },
        texture.size(),
    );
    gpu.queue.submit([encoder.finish()]);
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let padded = staging.slice(..).get_mapped_range().unwrap().to_vec();
    padded
        .chunks(row as usize)
        .flat_map(|r| r[..(w * 4) as usize].to_vec())
        .collect()
}

#[test]
fn texture_in_texture_out_matches_compose() {
    let Some(_) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let gpu = silhouette::gpu::Gpu::new().unwrap();
    let segmenter =
        silhouette::Segmenter::with_device(gpu.device.clone(), gpu.queue.clone()).unwrap();
    let photo = photo(301, 207);
    let (w, h) = photo.dimensions();
    let texture = |usage| {
        gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage,
            view_formats: &[],
        })
    };
    let input = texture(wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST);
    let output = texture(wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC);
    let rgba = silhouette::image::DynamicImage::ImageRgb8(photo.clone()).to_rgba8();
    gpu.queue.write_texture(
        input.as_image_copy(),
        rgba.as_raw(),
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(w * 4),
            rows_per_image: None,
        },
        input.size(),
    );
    for background in [Background::Transparent, Background::Blur { radius: 5.0 }] {
        segmenter
            .composite_texture(
                &input.create_view(&Default::default()),
                &output.create_view(&Default::default()),
                (w, h),
                &background,
                true,
            )
            .unwrap();
        let expected = segmenter.compose(&photo, &background, true).unwrap();
        assert_eq!(read_texture(&gpu, &output), expected.into_raw());
    }
}
