//! The finish on the GPU: the photo at full resolution with refined alpha and its background,
//! twin of [`crate::compose`] (shaders/downsample, separable, guided, compose.wgsl). Encoded
//! after the network in the same command buffer, reading the uploaded photo and the network's
//! output where they already are. Working buffers are sized per photo.

use super::{Dispatch, Gpu, Kernels, grid};
use crate::compose::{Background, Cover, GUIDE_EPS, GUIDE_RADIUS, gaussian_taps, work_size};
use crate::error::Result;
use crate::ops::pack_rgba;
use wgpu::util::DeviceExt;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SizeParams {
    img_w: u32,
    img_h: u32,
    work_w: u32,
    work_h: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SeparableParams {
    w: u32,
    h: u32,
    horizontal: u32,
    radius: u32,
    box_mode: u32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GuidedParams {
    len: u32,
    eps: f32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ComposeParams {
    img_w: u32,
    img_h: u32,
    work_w: u32,
    work_h: u32,
    refine: u32,
    background: u32,
    colour: u32,
    bg_w: u32,
    bg_h: u32,
    cover_scale: f32,
    cover_x: f32,
    cover_y: f32,
}

/// The dispatches and buffers of one photo's finish; `out` holds w*h RGBA8 pixels.
pub struct Finish {
    pub dispatches: Vec<Dispatch>,
    pub out: wgpu::Buffer,
    pub pixels: usize,
}

/// A w2 x h2 plane of vec4<f32>.
fn plane(gpu: &Gpu, label: &str, w2: usize, h2: usize) -> wgpu::Buffer {
    gpu.storage(label, w2 * h2 * 4)
}

/// Both passes of a separable filter from `src` into `dst`, through `tmp`.
#[allow(clippy::too_many_arguments)]
fn separable(
    gpu: &Gpu,
    k: &Kernels,
    (w, h): (usize, usize),
    radius: usize,
    weights: &wgpu::Buffer,
    box_mode: bool,
    src: &wgpu::Buffer,
    tmp: &wgpu::Buffer,
    dst: &wgpu::Buffer,
) -> [Dispatch; 2] {
    let pass = |horizontal: bool, from: &wgpu::Buffer, to: &wgpu::Buffer| {
        let params = SeparableParams {
            w: w as u32,
            h: h as u32,
            horizontal: horizontal as u32,
            radius: radius as u32,
            box_mode: box_mode as u32,
            _pad: [0; 3],
        };
        k.separable
            .bind(gpu, &params, &[from, weights, to], grid(w * h, 256))
    };
    [pass(true, src, tmp), pass(false, tmp, dst)]
}

/// Builds the finish of a `w` x `h` photo whose RGBA8 pixels are in `image` and whose network
/// output is in `probabilities`.
pub fn build(
    gpu: &Gpu,
    k: &Kernels,
    image: &wgpu::Buffer,
    probabilities: &wgpu::Buffer,
    (w, h): (usize, usize),
    background: &Background,
    refine: bool,
) -> Result<Finish> {
    let (w2, h2) = work_size(w, h);
    let sizes = SizeParams {
        img_w: w as u32,
        img_h: h as u32,
        work_w: w2 as u32,
        work_h: h2 as u32,
    };
    let (guide, colour, tmp, means) = (
        plane(gpu, "guide", w2, h2),
        plane(gpu, "colour", w2, h2),
        plane(gpu, "tmp", w2, h2),
        plane(gpu, "means", w2, h2),
    );
    let (coefficients, mean_coefficients, blurred) = (
        plane(gpu, "coefficients", w2, h2),
        plane(gpu, "mean coefficients", w2, h2),
        plane(gpu, "blurred", w2, h2),
    );
    let no_weights = &gpu.empty;
    let mut dispatches = vec![k.downsample.bind(
        gpu,
        &sizes,
        &[image, probabilities, &guide, &colour],
        grid(w2 * h2, 256),
    )];
    if refine {
        dispatches.extend(separable(
            gpu,
            k,
            (w2, h2),
            GUIDE_RADIUS,
            no_weights,
            true,
            &guide,
            &tmp,
            &means,
        ));
        let params = GuidedParams {
            len: (w2 * h2) as u32,
            eps: GUIDE_EPS,
            _pad: [0; 2],
        };
        dispatches.push(
            k.guided
                .bind(gpu, &params, &[&means, &coefficients], grid(w2 * h2, 256)),
        );
        dispatches.extend(separable(
            gpu,
            k,
            (w2, h2),
            GUIDE_RADIUS,
            no_weights,
            true,
            &coefficients,
            &tmp,
            &mean_coefficients,
        ));
    }
    let mut compose = ComposeParams {
        img_w: w as u32,
        img_h: h as u32,
        work_w: w2 as u32,
        work_h: h2 as u32,
        refine: refine as u32,
        background: 0,
        colour: 0,
        bg_w: 1,
        bg_h: 1,
        cover_scale: 1.0,
        cover_x: 0.0,
        cover_y: 0.0,
    };
    let mut picture = gpu.empty.clone();
    match background {
        Background::Transparent => {}
        Background::Color(c) => {
            compose.background = 1;
            compose.colour = u32::from_le_bytes([c[0], c[1], c[2], 255]);
        }
        Background::Blur { radius } => {
            compose.background = 2;
            let taps = gaussian_taps((radius * w2 as f32 / w as f32).max(0.01));
            let weights = gpu.upload("gaussian taps", &taps);
            dispatches.extend(separable(
                gpu,
                k,
                (w2, h2),
                taps.len() - 1,
                &weights,
                false,
                &colour,
                &tmp,
                &blurred,
            ));
        }
        Background::Image(bg) => {
            compose.background = 3;
            let cover = Cover::new(bg, w, h);
            (compose.bg_w, compose.bg_h) = bg.dimensions();
            (compose.cover_scale, compose.cover_x, compose.cover_y) =
                (cover.scale, cover.offset_x, cover.offset_y);
            let mut packed = Vec::new();
            pack_rgba(bg, &mut packed);
            picture = gpu
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("background picture"),
                    contents: bytemuck::cast_slice(&packed),
                    usage: wgpu::BufferUsages::STORAGE,
                });
        }
    }
    let out = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("finished photo"),
        size: (w * h * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let buffers = [
        image,
        probabilities,
        &mean_coefficients,
        &blurred,
        &picture,
        &out,
    ];
    dispatches.push(k.compose.bind(gpu, &compose, &buffers, grid(w * h, 256)));
    Ok(Finish {
        dispatches,
        out,
        pixels: w * h,
    })
}
