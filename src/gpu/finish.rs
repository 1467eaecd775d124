//! The finish on the GPU: the photo at full resolution with refined alpha and its background,
//! twin of [`crate::compose`] (shaders/downsample, separable, guided, compose.wgsl). Encoded
//! after the network in the same command buffer, reading the uploaded photo and the network's
//! output where they already are. Buffers and dispatches are kept from photo to photo.

use super::{Dispatch, Gpu, Kernels, grid};
use crate::compose::{
    Background, Cover, GUIDE_EPS, GUIDE_RADIUS, gaussian_taps, work_sigma, work_size,
};
use crate::ops::pack_rgba;

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
#[derive(Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
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

/// The finish's buffers and dispatches, kept from photo to photo: buffers grow to the largest
/// photo seen, and dispatches are rebuilt only when a parameter or a buffer changes. A folder of
/// photos allocates nothing on the GPU after its largest one (built afresh per photo, they grew
/// the process by about 0.6 MB a photo on lavapipe).
#[derive(Default)]
pub struct Finish {
    planes: [Grown; Plane::COUNT],
    out: Grown,
    readback: Grown,
    taps: Grown,
    picture: Grown,
    built: Option<(Key, Vec<Dispatch>)>,
    packed: Vec<u32>,
}

/// Everything the dispatches depend on: the buffers they read and every parameter.
#[derive(PartialEq)]
struct Key {
    image: wgpu::Buffer,
    probabilities: wgpu::Buffer,
    compose: ComposeParams,
    blur_taps: usize,
}

/// The working-resolution planes (vec4<f32> per pixel).
#[derive(Clone, Copy)]
enum Plane {
    Guide,
    Colour,
    Tmp,
    Means,
    Coefficients,
    MeanCoefficients,
    Blurred,
}

impl Plane {
    const COUNT: usize = 7;
    /// Buffer labels, in declaration order (the array's length ties it to COUNT).
    const LABELS: [&'static str; Plane::COUNT] = [
        "guide",
        "colour",
        "tmp",
        "means",
        "coefficients",
        "mean coefficients",
        "blurred",
    ];
}

/// A buffer kept from photo to photo: it grows to fit, and shrinks again when a large one has
/// been left far behind (so one huge photo does not pin its memory for the segmenter's life).
#[derive(Default)]
struct Grown(Option<wgpu::Buffer>);

/// Past this size a buffer more than 4x larger than needed is made anew at the needed size.
const KEEP_OVERSIZED_BELOW: u64 = 16 << 20;

impl Grown {
    /// The buffer, at least `bytes` long; `grew` is set when it had to be made.
    fn at_least(
        &mut self,
        gpu: &Gpu,
        label: &str,
        bytes: usize,
        usage: wgpu::BufferUsages,
        grew: &mut bool,
    ) -> wgpu::Buffer {
        let bytes = bytes.next_multiple_of(4).max(4) as u64;
        match &self.0 {
            Some(buffer)
                if buffer.size() >= bytes
                    && (buffer.size() <= KEEP_OVERSIZED_BELOW || buffer.size() <= 4 * bytes) =>
            {
                buffer.clone()
            }
            _ => {
                *grew = true;
                let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: bytes,
                    usage,
                    mapped_at_creation: false,
                });
                self.0 = Some(buffer.clone());
                buffer
            }
        }
    }
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE;
const COPY_DST: wgpu::BufferUsages = wgpu::BufferUsages::COPY_DST;

impl Finish {
    /// Readies the finish of a `w` x `h` photo whose RGBA8 pixels are in `image` and whose
    /// network output is in `probabilities`. Returns the dispatches to encode after the network
    /// and the buffer they leave the result in (w*h RGBA8 pixels, packed).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &mut self,
        gpu: &Gpu,
        k: &Kernels,
        image: &wgpu::Buffer,
        probabilities: &wgpu::Buffer,
        (w, h): (usize, usize),
        background: &Background,
        refine: bool,
    ) -> (&[Dispatch], wgpu::Buffer) {
        let (w2, h2) = work_size(w, h);
        let mut grew = false;
        let planes: Vec<wgpu::Buffer> = Plane::LABELS
            .iter()
            .zip(&mut self.planes)
            .map(|(label, plane)| plane.at_least(gpu, label, w2 * h2 * 16, STORAGE, &mut grew))
            .collect();
        let out = self.out.at_least(
            gpu,
            "finished photo",
            w * h * 4,
            STORAGE | wgpu::BufferUsages::COPY_SRC,
            &mut grew,
        );
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
        let (mut taps, mut picture) = (gpu.empty.clone(), gpu.empty.clone());
        let mut blur_taps = 0;
        match background {
            Background::Transparent => {}
            Background::Color(c) => {
                compose.background = 1;
                compose.colour = u32::from_le_bytes([c[0], c[1], c[2], 255]);
            }
            Background::Blur { radius } => {
                compose.background = 2;
                let weights = gaussian_taps(work_sigma(*radius, w, w2));
                blur_taps = weights.len();
                taps = self.taps.at_least(
                    gpu,
                    "gaussian taps",
                    weights.len() * 4,
                    STORAGE | COPY_DST,
                    &mut grew,
                );
                gpu.queue
                    .write_buffer(&taps, 0, bytemuck::cast_slice(&weights));
            }
            Background::Image(bg) => {
                compose.background = 3;
                let cover = Cover::new(bg, w, h);
                (compose.bg_w, compose.bg_h) = bg.dimensions();
                (compose.cover_scale, compose.cover_x, compose.cover_y) =
                    (cover.scale, cover.offset_x, cover.offset_y);
                pack_rgba(bg, &mut self.packed);
                picture = self.picture.at_least(
                    gpu,
                    "background picture",
                    self.packed.len() * 4,
                    STORAGE | COPY_DST,
                    &mut grew,
                );
                gpu.queue
                    .write_buffer(&picture, 0, bytemuck::cast_slice(&self.packed));
            }
        }
        let key = Key {
            image: image.clone(),
            probabilities: probabilities.clone(),
            compose,
            blur_taps,
        };
        let current = self.built.as_ref().is_some_and(|(built, _)| *built == key);
        if grew || !current {
            let buffers = Buffers {
                image,
                probabilities,
                planes: &planes,
                taps: &taps,
                picture: &picture,
                out: &out,
            };
            self.built = Some((key, dispatches(gpu, k, &buffers, &compose, blur_taps)));
        }
        let (_, dispatches) = self.built.as_ref().expect("just built");
        (dispatches, out)
    }

    /// A mappable buffer of at least `bytes` for reading the result back.
    pub fn readback(&mut self, gpu: &Gpu, bytes: usize) -> wgpu::Buffer {
        self.readback.at_least(
            gpu,
            "finished photo readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | COPY_DST,
            &mut false,
        )
    }
}

/// What the finish's dispatches bind.
struct Buffers<'a> {
    image: &'a wgpu::Buffer,
    probabilities: &'a wgpu::Buffer,
    planes: &'a [wgpu::Buffer],
    taps: &'a wgpu::Buffer,
    picture: &'a wgpu::Buffer,
    out: &'a wgpu::Buffer,
}

/// The finish's dispatches: downsample; the guided filter's box filters and coefficients when
/// refining; the background blur; then the per-pixel compose.
fn dispatches(
    gpu: &Gpu,
    k: &Kernels,
    b: &Buffers,
    compose: &ComposeParams,
    blur_taps: usize,
) -> Vec<Dispatch> {
    let plane = |p: Plane| &b.planes[p as usize];
    let (w, h) = (compose.img_w as usize, compose.img_h as usize);
    let (w2, h2) = (compose.work_w as usize, compose.work_h as usize);
    let sizes = SizeParams {
        img_w: compose.img_w,
        img_h: compose.img_h,
        work_w: compose.work_w,
        work_h: compose.work_h,
    };
    let mut dispatches = vec![k.downsample.bind(
        gpu,
        &sizes,
        &[
            b.image,
            b.probabilities,
            plane(Plane::Guide),
            plane(Plane::Colour),
        ],
        grid(w2 * h2, 256),
    )];
    let separable = |radius, weights, box_mode, src: Plane, dst: Plane| {
        separable(
            gpu,
            k,
            (w2, h2),
            radius,
            weights,
            box_mode,
            plane(src),
            plane(Plane::Tmp),
            plane(dst),
        )
    };
    if compose.refine != 0 {
        dispatches.extend(separable(
            GUIDE_RADIUS,
            &gpu.empty,
            true,
            Plane::Guide,
            Plane::Means,
        ));
        let params = GuidedParams {
            len: (w2 * h2) as u32,
            eps: GUIDE_EPS,
            _pad: [0; 2],
        };
        dispatches.push(k.guided.bind(
            gpu,
            &params,
            &[plane(Plane::Means), plane(Plane::Coefficients)],
            grid(w2 * h2, 256),
        ));
        dispatches.extend(separable(
            GUIDE_RADIUS,
            &gpu.empty,
            true,
            Plane::Coefficients,
            Plane::MeanCoefficients,
        ));
    }
    if blur_taps > 0 {
        dispatches.extend(separable(
            blur_taps - 1,
            b.taps,
            false,
            Plane::Colour,
            Plane::Blurred,
        ));
    }
    let buffers = [
        b.image,
        b.probabilities,
        plane(Plane::MeanCoefficients),
        plane(Plane::Blurred),
        b.picture,
        b.out,
    ];
    dispatches.push(k.compose.bind(gpu, compose, &buffers, grid(w * h, 256)));
    dispatches
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
