//! The finish's workspace on the GPU: the photo at full resolution with refined alpha and its
//! background (the finish of [`crate::finish`]; CPU twin [`crate::reference::finish`]), as the ops
//! downsample -> separable/guided -> background/separable -> compose. Encoded after the network
//! in the same command buffer, reading the uploaded photo and the network's output where they already are. Buffers
//! and dispatches are kept from photo to photo. For video, the mask can first be smoothed over
//! the frames (`ops::Smooth`, its history kept here).

use crate::error::Result;
use crate::finish::{
    Background, GUIDE_EPS, GUIDE_RADIUS, Response, Smoothing, blur_size, gaussian_taps, guide_size,
    work_sigma, work_size,
};
use crate::gpu::{Dispatch, Gpu};
use crate::network::OUTPUT;
use crate::ops::smooth::THUMBS_LEN;
use crate::ops::{
    Compose, ComposeParams, Downsample, Filter, Guided, Kernels, Separable, Smooth, WeighBackground,
};
use crate::pixels::pack_rgba;

/// The finish's buffers and dispatches, kept from photo to photo: buffers grow to the largest
/// photo seen, and dispatches are rebuilt only when a parameter or a buffer changes. A folder of
/// photos allocates nothing on the GPU after its largest one (built afresh per photo, they grew
/// the process by about 0.6 MB a photo on lavapipe).
#[derive(Default)]
pub struct Finish {
    planes: [Grown; Plane::COUNT],
    out: Grown,
    #[cfg(not(target_arch = "wasm32"))]
    readback: Grown,
    taps: Grown,
    picture: Grown,
    built: Option<(Key, Vec<Dispatch>)>,
    packed: Vec<u32>,
    video: Video,
}

/// The smoothing's history on the GPU: thumbnails and the smoothed mask, and the dispatches
/// bound to them (rebound only when the frame buffer or size changes).
#[derive(Default)]
struct Video {
    thumbs: Grown,
    smoothed: Grown,
    /// Frames smoothed since the history started.
    frame: u64,
    built: Option<((wgpu::Buffer, usize, usize), [Dispatch; 2])>,
    /// A history made elsewhere (the CPU's, before this engine was ready), written into the
    /// buffers before the next frame: the last thumbnail, the smoothed mask, frames so far.
    seed: Option<(Vec<f32>, Vec<f32>, u64)>,
}

/// Everything the dispatches depend on: the buffers they read and every parameter.
#[derive(PartialEq)]
struct Key {
    image: wgpu::Buffer,
    probabilities: wgpu::Buffer,
    compose: ComposeParams,
    blur_taps: usize,
}

/// The working-resolution planes (vec4<f32> per pixel). The guide planes hold the colour guided
/// filter's inputs, then (box-filtered in place) their means.
#[derive(Clone, Copy)]
enum Plane {
    Guide0,
    Guide1,
    Guide2,
    Guide3,
    Tmp,
    Coefficients,
    MeanCoefficients,
    Weighted,
    Blurred,
}

impl Plane {
    const COUNT: usize = 9;
    const GUIDES: [Plane; 4] = [Plane::Guide0, Plane::Guide1, Plane::Guide2, Plane::Guide3];
    /// Buffer labels, in declaration order (the array's length ties it to COUNT).
    const LABELS: [&'static str; Plane::COUNT] = [
        "guide colour and mask",
        "guide colour x mask",
        "guide colour products",
        "guide blue squared",
        "tmp",
        "coefficients",
        "mean coefficients",
        "weighted background",
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
    /// network output is in `probabilities`, its alpha refined or not and through `response`.
    /// Returns the dispatches to encode after the network and the buffer they leave the result
    /// in (w*h RGBA8 pixels, packed).
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
        response: Response,
    ) -> Result<(&[Dispatch], wgpu::Buffer)> {
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
        // The blur's own resolution (the planes are sized for the largest any step uses).
        let blur = match background {
            Background::Blur { radius } => blur_size(w, h, *radius),
            _ => (w2, h2),
        };
        let compose = ComposeParams::new((w, h), blur, background, refine, response)?;
        let (mut taps, mut picture) = (gpu.empty.clone(), gpu.empty.clone());
        let mut blur_taps = 0;
        match background {
            Background::Transparent | Background::Color(_) => {}
            Background::Blur { radius } => {
                let weights = gaussian_taps(work_sigma(*radius, w, blur.0));
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
            let size = Size {
                w,
                h,
                w2: blur.0,
                h2: blur.1,
            };
            let dispatches = dispatches(gpu, k, &buffers, size, compose, refine, blur_taps)?;
            self.built = Some((key, dispatches));
        }
        let (_, dispatches) = self.built.as_ref().expect("just built");
        Ok((dispatches, out))
    }

    /// Readies the smoothing of this frame's mask (`raw`, the network's output) with the history
    /// of the frames before: the two dispatches to encode after the network, and the buffer of
    /// smoothed probabilities to finish with. `image` holds the w x h frame, packed RGBA8.
    pub fn smooth(
        &mut self,
        gpu: &Gpu,
        k: &Kernels,
        image: &wgpu::Buffer,
        raw: &wgpu::Buffer,
        (w, h): (usize, usize),
        smoothing: Smoothing,
    ) -> Result<(&[Dispatch; 2], wgpu::Buffer)> {
        let video = &mut self.video;
        let mut grew = false;
        let thumbs = video.thumbs.at_least(
            gpu,
            "thumbnails",
            THUMBS_LEN * 4,
            STORAGE | COPY_DST,
            &mut grew,
        );
        let smoothed = video.smoothed.at_least(
            gpu,
            "smoothed mask",
            OUTPUT.len() * 4,
            STORAGE | COPY_DST,
            &mut grew,
        );
        if grew {
            video.frame = 0;
        }
        if let Some((thumbnail, history, frames)) = video.seed.take() {
            // This frame's thumbnail goes to half `frames % 2`; the last one is in the other.
            let last = (1 - frames % 2) * (THUMBS_LEN / 2 * 4) as u64;
            gpu.queue
                .write_buffer(&thumbs, last, bytemuck::cast_slice(&thumbnail));
            gpu.queue
                .write_buffer(&smoothed, 0, bytemuck::cast_slice(&history));
            video.frame = frames;
        }
        let op = Smooth {
            image,
            width: w,
            height: h,
            raw,
            thumbs: &thumbs,
            smoothed: &smoothed,
            frame: video.frame,
            smoothing,
        };
        let key = (image.clone(), w, h);
        match &video.built {
            Some((built, dispatches)) if !grew && *built == key => op.update(gpu, dispatches)?,
            _ => video.built = Some((key, op.bind(gpu, k)?)),
        }
        video.frame += 1;
        let (_, dispatches) = video.built.as_ref().expect("just built");
        Ok((dispatches, smoothed))
    }

    /// Forget the smoothing's history: the next smoothed frame is taken as it is.
    pub fn reset_smoothing(&mut self) {
        self.video.frame = 0;
        self.video.seed = None;
    }

    /// Go on from a history made elsewhere: `thumbnail` (the 32² means of the last frame's
    /// luma), `smoothed` (the last smoothed mask) after `frames` frames (0: none).
    pub fn continue_smoothing(&mut self, thumbnail: &[f32], smoothed: &[f32], frames: u64) {
        self.reset_smoothing();
        if frames > 0 {
            self.video.seed = Some((thumbnail.to_vec(), smoothed.to_vec(), frames));
        }
    }

    /// A mappable buffer of at least `bytes` for reading the result back.
    #[cfg(not(target_arch = "wasm32"))]
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

/// The photo's size and the blur's working size.
#[derive(Clone, Copy)]
struct Size {
    w: usize,
    h: usize,
    w2: usize,
    h2: usize,
}

/// The finish's dispatches: when refining, the downsample, the guided filter's box filters
/// and coefficients; the background blur (weighing the background by the alpha those make,
/// then the Gaussian); then the per-pixel compose.
fn dispatches(
    gpu: &Gpu,
    k: &Kernels,
    b: &Buffers,
    Size { w, h, w2, h2 }: Size,
    compose: ComposeParams,
    refine: bool,
    blur_taps: usize,
) -> Result<Vec<Dispatch>> {
    let plane = |p: Plane| &b.planes[p as usize];
    let separable = |filter, src: Plane, dst: Plane, (width, height): (usize, usize)| {
        Separable {
            src: plane(src),
            tmp: plane(Plane::Tmp),
            dst: plane(dst),
            width,
            height,
            filter,
        }
        .bind(gpu, k)
    };
    // The guided filter runs at its own, smaller resolution (in the same planes).
    let (gw, gh) = guide_size(w, h);
    let mut dispatches = Vec::new();
    if refine {
        let downsample = Downsample {
            image: b.image,
            probabilities: b.probabilities,
            width: w,
            height: h,
            guide: Plane::GUIDES.map(plane),
            work_width: gw,
            work_height: gh,
        };
        dispatches.push(downsample.bind(gpu, k)?);
        let window = Filter::Box {
            radius: GUIDE_RADIUS,
        };
        for guide in Plane::GUIDES {
            // In place: the second pass reads the tmp plane only.
            dispatches.extend(separable(window, guide, guide, (gw, gh))?);
        }
        let guided = Guided {
            means: Plane::GUIDES.map(plane),
            coefficients: plane(Plane::Coefficients),
            pixels: gw * gh,
            eps: GUIDE_EPS,
        };
        dispatches.push(guided.bind(gpu, k)?);
        dispatches.extend(separable(
            window,
            Plane::Coefficients,
            Plane::MeanCoefficients,
            (gw, gh),
        )?);
    }
    if blur_taps > 0 {
        let weigh = WeighBackground {
            image: b.image,
            probabilities: b.probabilities,
            coefficients: plane(Plane::MeanCoefficients),
            weighted: plane(Plane::Weighted),
            params: compose,
        };
        dispatches.push(weigh.bind(gpu, k)?);
        let gaussian = Filter::Taps {
            taps: b.taps,
            len: blur_taps,
            unweigh: true,
        };
        dispatches.extend(separable(
            gaussian,
            Plane::Weighted,
            Plane::Blurred,
            (w2, h2),
        )?);
    }
    let compose = Compose {
        image: b.image,
        probabilities: b.probabilities,
        coefficients: plane(Plane::MeanCoefficients),
        blurred: plane(Plane::Blurred),
        picture: b.picture,
        out: b.out,
        params: compose,
    };
    dispatches.push(compose.bind(gpu, k)?);
    Ok(dispatches)
}
