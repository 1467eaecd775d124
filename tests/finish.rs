//! The GPU finish (shaders/downsample, separable, guided, compose.wgsl) against its CPU twin
//! (src/reference/finish.rs): every background, refined and bilinear edges, odd sizes, sizes above the
//! 512-pixel working resolution, and a small photo after a large one.

mod common;
use common::*;
use silhouette::Background;
use silhouette::image::{Rgb, RgbImage, imageops};
use silhouette::reference::finish as compose;

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
                    &compose::alpha(&photo, &probabilities, refine, segmenter.response()),
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

/// A device of our own, a segmenter on it, and rgba8unorm textures of `w` x `h` to go in
/// (holding `photo`) and out.
struct Textures {
    gpu: silhouette::gpu::Gpu,
    segmenter: silhouette::Segmenter,
    input: wgpu::Texture,
    output: wgpu::Texture,
}

impl Textures {
    fn new(w: u32, h: u32) -> Option<Textures> {
        segmenter(silhouette::Backend::Gpu)?;
        let gpu = silhouette::gpu::Gpu::new().unwrap();
        let segmenter =
            silhouette::Segmenter::with_device(gpu.device.clone(), gpu.queue.clone()).unwrap();
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
        Some(Textures {
            gpu,
            segmenter,
            input,
            output,
        })
    }

    /// `photo` through `composite_texture`, read back.
    fn composite(
        &self,
        photo: &RgbImage,
        background: &Background,
        options: silhouette::TextureOptions,
    ) -> Vec<u8> {
        let rgba = silhouette::image::DynamicImage::ImageRgb8(photo.clone()).to_rgba8();
        self.gpu.queue.write_texture(
            self.input.as_image_copy(),
            rgba.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(photo.width() * 4),
                rows_per_image: None,
            },
            self.input.size(),
        );
        self.segmenter
            .composite_texture(
                &self.input.create_view(&Default::default()),
                &self.output.create_view(&Default::default()),
                photo.dimensions(),
                background,
                options,
            )
            .unwrap();
        read_texture(&self.gpu, &self.output)
    }
}

impl Textures {
    /// The CPU's finish of `frame` from probabilities already smoothed (refined edges, the
    /// segmenter's response), as RGBA bytes.
    fn cpu_finish(&self, frame: &RgbImage, smoothed: &[f32], background: &Background) -> Vec<u8> {
        let alpha = compose::alpha(frame, smoothed, true, self.segmenter.response());
        compose::compose(frame, &alpha, background).into_raw()
    }
}

/// The largest difference of two equally long byte runs.
fn worst_difference(a: &[u8], b: &[u8]) -> u8 {
    a.iter().zip(b).map(|(a, b)| a.abs_diff(*b)).max().unwrap()
}

#[test]
fn texture_in_texture_out_matches_compose() {
    let photo = photo(301, 207);
    let Some(textures) = Textures::new(photo.width(), photo.height()) else {
        return;
    };
    for background in [Background::Transparent, Background::Blur { radius: 5.0 }] {
        let got = textures.composite(&photo, &background, Default::default());
        let expected = textures
            .segmenter
            .compose(&photo, &background, true)
            .unwrap();
        assert_eq!(got, expected.into_raw());
    }
    // Premultiplied for a canvas: colour times alpha (within a step of rounding).
    let options = silhouette::TextureOptions {
        premultiplied: true,
        ..Default::default()
    };
    let got = textures.composite(&photo, &Background::Transparent, options);
    let straight = textures
        .segmenter
        .compose(&photo, &Background::Transparent, true)
        .unwrap();
    let mut partial = 0;
    for (g, s) in got.chunks(4).zip(straight.as_raw().chunks(4)) {
        partial += (s[3] > 0 && s[3] < 255) as usize;
        assert_eq!(g[3], s[3]);
        for c in 0..3 {
            let want = s[c] as f32 * s[3] as f32 / 255.0;
            assert!((g[c] as f32 - want).abs() <= 1.0, "{g:?} vs straight {s:?}");
        }
    }
    assert!(
        partial > 100,
        "the cut-out has soft edges to premultiply ({partial})"
    );
}

/// A video through `composite_texture` with smoothing: the GPU's smoothed frames match the CPU's
/// `Smoother` and finish, frame by frame, and differ from the unsmoothed ones after the first.
#[test]
fn texture_video_is_smoothed_like_the_cpu() {
    let base = photo(160, 120);
    let Some(textures) = Textures::new(base.width(), base.height()) else {
        return;
    };
    let clip: Vec<RgbImage> = (0..3u32)
        .map(|seed| {
            let mut frame = base.clone();
            frame.pixels_mut().enumerate().for_each(|(i, p)| {
                let n =
                    ((i as u32).wrapping_mul(2654435761).wrapping_add(seed * 977) >> 28) as i32 - 8;
                p.0 =
                    p.0.map(|c| (c as i32 + n * seed as i32).clamp(0, 255) as u8);
            });
            frame
        })
        .collect();
    let background = Background::Color([20, 200, 90]);
    let smoothing = silhouette::Smoothing::default();
    let mut cpu_smoother = silhouette::Smoother::new(smoothing);
    let video = silhouette::TextureOptions {
        smoothing: Some(smoothing),
        ..Default::default()
    };
    for (i, frame) in clip.iter().enumerate() {
        let raw = textures.segmenter.probabilities(frame).unwrap();
        let smoothed = cpu_smoother.smooth(frame, &raw).unwrap().to_vec();
        let cpu = textures.cpu_finish(frame, &smoothed, &background);
        // Unsmoothed first: it resets the history, so the smoothed call below is frame i of
        // its own history only if the GPU kept it across the calls before.
        let plain = textures.composite(frame, &background, Default::default());
        if i == 0 {
            let got = textures.composite(frame, &background, video);
            assert_eq!(got, plain, "the first frame is taken as it is");
            continue;
        }
        // Replay the clip so far with smoothing, then compare this frame.
        for earlier in &clip[..i] {
            textures.composite(earlier, &background, video);
        }
        let got = textures.composite(frame, &background, video);
        let worst = worst_difference(&got, &cpu);
        assert!(
            worst <= 2,
            "frame {i}: worst channel difference {worst} from the CPU"
        );
        assert_ne!(got, plain, "frame {i}: smoothing changed nothing");
    }
}

/// Frames smoothed on the CPU, then handed to the GPU (`Smoother::carry_into`, as a warming
/// engine's first frames are): the GPU's next smoothed frame is the CPU smoother's next, not a
/// fresh start.
#[test]
fn texture_smoothing_goes_on_from_a_cpu_history() {
    let base = photo(160, 120);
    let Some(textures) = Textures::new(base.width(), base.height()) else {
        return;
    };
    let clip: Vec<RgbImage> = (0..4u8)
        .map(|step| {
            let mut frame = base.clone();
            frame
                .pixels_mut()
                .for_each(|p| p.0 = p.0.map(|c| c.saturating_add(step * 3)));
            frame
        })
        .collect();
    let background = Background::Color([20, 200, 90]);
    let smoothing = silhouette::Smoothing::default();
    let mut smoother = silhouette::Smoother::new(smoothing);
    let video = silhouette::TextureOptions {
        smoothing: Some(smoothing),
        ..Default::default()
    };
    let (before, last) = clip.split_at(3);
    for frame in before {
        let raw = textures.segmenter.probabilities(frame).unwrap();
        smoother.smooth(frame, &raw).unwrap();
    }
    // An unsmoothed frame first leaves the GPU no history of its own.
    textures.composite(&clip[0], &background, Default::default());
    smoother.carry_into(&textures.segmenter).unwrap();
    let got = textures.composite(&last[0], &background, video);

    let raw = textures.segmenter.probabilities(&last[0]).unwrap();
    let smoothed = smoother.smooth(&last[0], &raw).unwrap();
    let cpu = textures.cpu_finish(&last[0], smoothed, &background);
    let worst = worst_difference(&got, &cpu);
    assert!(worst <= 2, "worst channel difference {worst} from the CPU");
    let fresh = textures.composite(&last[0], &background, Default::default());
    assert_ne!(got, fresh, "the history changed nothing");
}
