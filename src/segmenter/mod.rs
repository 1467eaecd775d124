//! The public entry point: [`Segmenter`] turns an image into a [`Mask`] at the image's resolution.
//! `batcher` runs the frames that callers on several threads hand in together as one batch.

#[cfg(not(target_arch = "wasm32"))]
mod batcher;

use crate::cpu;
use crate::error::{Error, Result};
use crate::fast;
use crate::finish::{Background, Response};
use crate::gpu::{Gpu, GpuErrors, Precision};
use crate::network::{self, Network, OUTPUT};
use crate::ops::Kernels;
use crate::pixels::Pixels;
use crate::plan::{Plan, PlanStats, TextureOptions};
#[cfg(not(target_arch = "wasm32"))]
use crate::tensor::Tensor;
use crate::weights::Weights;
use image::{GrayImage, ImageBuffer, Luma, RgbImage, RgbaImage};
use std::sync::{Arc, Mutex};

/// Where inference runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The fast CPU engine ([`crate::fast`]): SIMD, every core; tested against the plain
    /// reference in [`crate::cpu`].
    Cpu,
    /// The WGSL engine on a wgpu adapter.
    Gpu,
    /// A hardware GPU adapter when one exists, else the CPU (natively a software adapter such as
    /// Mesa's llvmpipe is slower than the CPU: `Gpu` runs on it, `Auto` does not).
    #[default]
    Auto,
}

impl std::str::FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            "auto" => Ok(Backend::Auto),
            other => Err(Error::InvalidInput(format!(
                "unknown backend {other:?} (cpu, gpu or auto)"
            ))),
        }
    }
}

/// How a [`Segmenter`] runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub backend: Backend,
    /// How the GPU stores weights (activations and arithmetic are f32; the CPU is all f32).
    pub precision: Precision,
    /// Frames one GPU batch runs with the dispatches of one frame; 0 or 1: one at a time. Each
    /// frame of room costs the activation arena again (about 4 MB). Batches are what
    /// [`probabilities_batch`](Segmenter::probabilities_batch) runs, and, natively, the frames
    /// that threads sharing the segmenter hand to [`probabilities`](Segmenter::probabilities)
    /// (or `segment`, or a [`Stream`](crate::Stream)) while the GPU is busy: those run together
    /// next, not one by one.
    pub max_batch: usize,
}

/// Segments people in images with MediaPipe's Selfie Segmentation network.
///
/// `Segmenter` is `Send + Sync`: share one between threads (GPU frames are serialised internally,
/// or run together as one batch where [`Options::max_batch`] leaves room).
///
/// ```
/// let segmenter = silhouette::Segmenter::new(silhouette::Backend::Cpu)?;
/// let photo = image::RgbImage::from_pixel(320, 240, image::Rgb([90, 120, 200]));
/// let mask = segmenter.segment(&photo)?;
/// assert_eq!((mask.width(), mask.height()), (320, 240));
/// # Ok::<(), silhouette::Error>(())
/// ```
pub struct Segmenter {
    network: Network,
    engine: Engine,
    notice: Option<String>,
    /// How the finish's alpha answers the mask ([`set_response`](Self::set_response)).
    response: Mutex<Response>,
}

enum Engine {
    /// The fast CPU engine (boxed: its arena is large).
    Cpu(Box<fast::Engine>),
    Gpu {
        plan: Mutex<Arc<Plan>>,
        /// Our own device (recreated after a loss) or a caller's (their device, their recovery).
        owned: bool,
        /// Concurrent callers' frames, run together (when the plan has room for a batch).
        #[cfg(not(target_arch = "wasm32"))]
        batcher: Option<batcher::Batcher<Tensor, Result<Vec<f32>>>>,
    },
}

impl Segmenter {
    /// A segmenter with the weights compiled into the crate.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(backend: Backend) -> Result<Self> {
        Self::with_weights(&Weights::embedded()?, backend)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_weights(weights: &Weights, backend: Backend) -> Result<Self> {
        Self::with_options(
            weights,
            Options {
                backend,
                ..Options::default()
            },
        )
    }

    /// `Backend::Auto` falls back to the CPU when no GPU adapter exists, and `Precision::F16` to
    /// f32 where the adapter lacks `SHADER_F16`; [`notice`](Self::notice) then says so.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_options(weights: &Weights, options: Options) -> Result<Self> {
        pollster::block_on(Self::with_options_async(weights, options))
    }

    /// [`with_options`](Self::with_options) without blocking (the only way in a browser).
    pub async fn with_options_async(weights: &Weights, options: Options) -> Result<Self> {
        let network = Network::new(weights)?;
        let gpu = match options.backend {
            Backend::Cpu => Err(None),
            Backend::Gpu => Ok(Gpu::new_async().await?),
            // A software adapter (llvmpipe, WARP; in a browser the fallback adapter, e.g.
            // SwiftShader: a camera track ran at 0.7 fps there against 16 on the CPU engine)
            // loses to the CPU engine: only an explicit `Backend::Gpu` takes it.
            Backend::Auto => Gpu::with_adapter_async(false)
                .await
                .map_err(|e| Some(format!("{e}; running on the fast CPU engine instead"))),
        };
        match gpu {
            Ok(gpu) => Self::on_gpu(network, gpu, true, options).await,
            Err(notice) => Ok(Segmenter {
                engine: Engine::Cpu(Box::new(fast::Engine::new(&network))),
                network,
                notice,
                response: Mutex::default(),
            }),
        }
    }

    /// Runs on an app's existing `wgpu` device and queue (embedded weights, f32).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_device(device: wgpu::Device, queue: wgpu::Queue) -> Result<Self> {
        pollster::block_on(Self::with_device_async(device, queue))
    }

    pub async fn with_device_async(device: wgpu::Device, queue: wgpu::Queue) -> Result<Self> {
        let network = Network::new(&Weights::embedded()?)?;
        let options = Options {
            backend: Backend::Gpu,
            ..Options::default()
        };
        Self::on_gpu(network, Gpu::from_device(device, queue), false, options).await
    }

    // On wasm wgpu's types are not Send, and neither is Segmenter: the Arc only shares the plan.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    async fn on_gpu(network: Network, gpu: Gpu, owned: bool, options: Options) -> Result<Self> {
        let precision = options.precision;
        let (precision, notice) = if precision == Precision::F16 && !gpu.supports_f16() {
            (
                Precision::F32,
                Some(format!(
                    "{} has no SHADER_F16; running in f32",
                    gpu.description()
                )),
            )
        } else {
            (precision, None)
        };
        let plan = Arc::new(build_plan(&gpu, &network, precision, options.max_batch).await?);
        gpu.save_pipeline_cache();
        let engine = Engine::Gpu {
            plan: Mutex::new(plan),
            owned,
            #[cfg(not(target_arch = "wasm32"))]
            batcher: (options.max_batch > 1).then(|| batcher::Batcher::new(options.max_batch)),
        };
        Ok(Segmenter {
            network,
            engine,
            notice,
            response: Mutex::default(),
        })
    }

    /// How the finish's alpha (in [`compose`](Self::compose), [`cut_out`](Self::cut_out) and
    /// [`composite_texture`](Self::composite_texture)) answers the mask: the default sharpens
    /// half-sure regions away; [`Response::NONE`] keeps the mask as it is. Errors when a number
    /// is outside [0, 1]. (Shared, like the segmenter: a call already running keeps the
    /// response it started with.)
    pub fn set_response(&self, response: Response) -> Result<()> {
        *lock(&self.response) = response.validate().map_err(Error::InvalidInput)?;
        Ok(())
    }

    /// The response set by [`set_response`](Self::set_response).
    pub fn response(&self) -> Response {
        *lock(&self.response)
    }

    /// The backend actually in use (never `Auto`).
    pub fn backend(&self) -> Backend {
        match self.engine {
            Engine::Cpu(_) => Backend::Cpu,
            Engine::Gpu { .. } => Backend::Gpu,
        }
    }

    /// Where inference runs, e.g. "GPU: NVIDIA ... (Vulkan, ...)" or "CPU: fast engine, AVX2, 8 threads".
    pub fn device_description(&self) -> String {
        match &self.engine {
            Engine::Cpu(_) => format!("CPU: fast engine, {}", fast::describe()),
            Engine::Gpu { plan, .. } => format!("GPU: {}", lock(plan).gpu().description()),
        }
    }

    /// Set when `Backend::Auto` had to fall back to the CPU: one line saying why.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The multiply-accumulates a frame costs on this engine: those of the graph it executes
    /// after its passes ([`network`](Self::network) is the graph as written).
    pub fn macs_per_frame(&self) -> u64 {
        match &self.engine {
            Engine::Cpu(engine) => engine.network().macs(),
            Engine::Gpu { plan, .. } => lock(plan).stats().macs_per_frame,
        }
    }

    /// What each graph pass of this engine did to the graph as written.
    pub fn graph_passes(&self) -> Vec<crate::passes::PassReport> {
        match &self.engine {
            Engine::Cpu(engine) => engine.passes().to_vec(),
            Engine::Gpu { plan, .. } => lock(plan).stats().passes,
        }
    }

    /// The GPU plan's costs (dispatches, bytes), when running on the GPU.
    pub fn plan_stats(&self) -> Option<PlanStats> {
        match &self.engine {
            Engine::Cpu(_) => None,
            Engine::Gpu { plan, .. } => Some(lock(plan).stats()),
        }
    }

    /// The network's raw output for `image`: 256x256 sigmoid probabilities, row-major.
    /// A 256x256 image goes in unresampled; any other size is bilinearly resized first.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn probabilities(&self, image: &RgbImage) -> Result<Vec<f32>> {
        let mut out = vec![0.0; OUTPUT.len()];
        self.probabilities_into(image, &mut out)?;
        Ok(out)
    }

    /// Like [`probabilities`](Self::probabilities), into a caller's 256*256 buffer (no allocation
    /// per frame on the GPU path).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn probabilities_into(&self, image: &RgbImage, out: &mut [f32]) -> Result<()> {
        let Engine::Gpu {
            batcher: Some(batcher),
            ..
        } = &self.engine
        else {
            return pollster::block_on(self.pixels_into_async(Pixels::Rgb(image), out));
        };
        // Resized here, on the caller's thread, so the batch that runs it only runs the network.
        network::check_output(out.len(), 1)?;
        let input = cpu::network_input(image)?;
        let probabilities = batcher
            .run(input, &|inputs| self.run_together(&inputs))
            .unwrap_or_else(|| Err(Error::Gpu("the batch holding this frame panicked".into())))?;
        out.copy_from_slice(&probabilities);
        Ok(())
    }

    /// Frames handed in together, as one batch; if the batch fails, each frame alone, so each
    /// caller gets the error of its own frame.
    #[cfg(not(target_arch = "wasm32"))]
    fn run_together(&self, inputs: &[Tensor]) -> Vec<Result<Vec<f32>>> {
        let Engine::Gpu { plan, owned, .. } = &self.engine else {
            unreachable!("only the GPU engine batches")
        };
        let run = |inputs: &[Tensor]| -> Result<Vec<f32>> {
            let mut out = vec![0.0; inputs.len() * OUTPUT.len()];
            pollster::block_on(self.current_plan(plan, *owned))?.run_batch(inputs, &mut out)?;
            Ok(out)
        };
        match run(inputs) {
            Ok(out) => out.chunks(OUTPUT.len()).map(|p| Ok(p.to_vec())).collect(),
            Err(e) if inputs.len() == 1 => vec![Err(e)],
            Err(_) => inputs.chunks(1).map(run).collect(),
        }
    }

    /// How many batches, holding how many frames in all, the frames of concurrent
    /// [`probabilities`](Self::probabilities) callers ran in so far (`None` without a GPU batch,
    /// see [`Options::max_batch`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn batches_run(&self) -> Option<(u64, u64)> {
        match &self.engine {
            Engine::Gpu {
                batcher: Some(batcher),
                ..
            } => Some(batcher.counts()),
            _ => None,
        }
    }

    /// The network's raw output for each of `images`, as [`probabilities`](Self::probabilities)
    /// gives it one by one. On the GPU, up to [`Options::max_batch`] frames run together with the
    /// dispatches of one frame, and all of them in one submit (each image is resized to 256x256 on
    /// the CPU first).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn probabilities_batch(&self, images: &[&RgbImage]) -> Result<Vec<Vec<f32>>> {
        let Engine::Gpu { plan, owned, .. } = &self.engine else {
            return images
                .iter()
                .map(|image| self.probabilities(image))
                .collect();
        };
        let inputs: Vec<_> = images
            .iter()
            .map(|image| cpu::network_input(image))
            .collect::<Result<_>>()?;
        let mut out = vec![0.0; inputs.len() * OUTPUT.len()];
        pollster::block_on(self.current_plan(plan, *owned))?.run_batch(&inputs, &mut out)?;
        Ok(out.chunks(OUTPUT.len()).map(<[f32]>::to_vec).collect())
    }

    /// The probabilities for an RGB image or RGBA bytes, into `out` (256*256), without blocking.
    pub async fn pixels_into_async(&self, pixels: Pixels<'_>, out: &mut [f32]) -> Result<()> {
        match &self.engine {
            Engine::Cpu(engine) => {
                network::check_output(out.len(), 1)?;
                engine.run(&cpu::pixels_input(pixels)?, out)
            }
            Engine::Gpu { plan, owned, .. } => {
                self.current_plan(plan, *owned)
                    .await?
                    .run_pixels_async(pixels, out)
                    .await
            }
        }
    }

    /// The plan to run on; after a device loss, a fresh device and plan when the device is ours.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    async fn current_plan(&self, plan: &Mutex<Arc<Plan>>, owned: bool) -> Result<Arc<Plan>> {
        let current = lock(plan).clone();
        if !current.gpu().is_lost() {
            return Ok(current);
        }
        if !owned {
            return Err(Error::DeviceLost);
        }
        let stats = current.stats();
        let gpu = Gpu::new_async().await?;
        let fresh = build_plan(&gpu, &self.network, stats.precision, stats.max_frames).await?;
        let fresh = Arc::new(fresh);
        *lock(plan) = fresh.clone();
        Ok(fresh)
    }

    /// Destroys the GPU device under the running plan, as a driver reset would (for fault tests).
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        if let Engine::Gpu { plan, .. } = &self.engine {
            lock(plan).gpu().device.destroy();
        }
    }

    /// The photo over `background`, with the mask's edges refined along the photo's own
    /// (`refine`) or upsampled bilinearly. On the GPU, network and finish run in one submit.
    ///
    /// ```
    /// use silhouette::{Background, Backend, Segmenter};
    /// let photo = image::RgbImage::from_pixel(64, 48, image::Rgb([90, 120, 200]));
    /// let segmenter = Segmenter::new(Backend::Cpu)?;
    /// let cut_out = segmenter.compose(&photo, &Background::Transparent, true)?;
    /// assert_eq!(cut_out.dimensions(), (64, 48));
    /// # Ok::<(), silhouette::Error>(())
    /// ```
    #[cfg(not(target_arch = "wasm32"))]
    pub fn compose(
        &self,
        photo: &RgbImage,
        background: &Background,
        refine: bool,
    ) -> Result<RgbaImage> {
        if let Engine::Gpu { plan, owned, .. } = &self.engine {
            let plan = pollster::block_on(self.current_plan(plan, *owned))?;
            if let Some(done) = plan.composite(photo, background, refine, self.response())? {
                return Ok(done);
            }
        }
        let probabilities = self.probabilities(photo)?;
        let alpha = fast::finish::alpha(photo, &probabilities, refine, self.response());
        Ok(fast::finish::compose(photo, &alpha, background))
    }

    /// For apps that own the device ([`with_device`](Self::with_device)): texture in, texture
    /// out, no CPU readback. `input` is the w x h photo (any float colour format with
    /// TEXTURE_BINDING), `output` an rgba8unorm texture with STORAGE_BINDING; one submit on the
    /// queue, so the app's later commands see the result. `options`: refined edges, masks
    /// smoothed over a video's frames on the GPU, premultiplied output. See
    /// examples/embed_wgpu.rs.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn composite_texture(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        size: (u32, u32),
        background: &Background,
        options: TextureOptions,
    ) -> Result<()> {
        pollster::block_on(self.composite_texture_async(input, output, size, background, options))
    }

    /// [`composite_texture`](Self::composite_texture) without blocking.
    pub async fn composite_texture_async(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        size: (u32, u32),
        background: &Background,
        options: TextureOptions,
    ) -> Result<()> {
        self.composite_texture_submit(input, output, size, background, options)
            .await?
            .await
    }

    /// [`composite_texture_async`](Self::composite_texture_async) in two halves (the browser's
    /// way: a video frame copied into a texture, the result written into a WebGPU canvas):
    /// resolves once the work is submitted, with a future of the GPU's errors. A canvas must
    /// be read (a VideoFrame made of it) in the task that drew it, before awaiting that future.
    pub async fn composite_texture_submit(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        size: (u32, u32),
        background: &Background,
        options: TextureOptions,
    ) -> Result<GpuErrors> {
        match &self.engine {
            Engine::Gpu { plan, owned, .. } => self
                .current_plan(plan, *owned)
                .await?
                .composite_texture_submit(
                    input,
                    output,
                    size,
                    background,
                    options,
                    self.response(),
                ),
            Engine::Cpu(_) => Err(Error::BackendUnavailable(
                "textures need the GPU backend".into(),
            )),
        }
    }

    /// The 256x256 probabilities of the last frame [`composite_texture`](Self::composite_texture)
    /// ran (before smoothing), read back from the GPU into `out`. GPU backend only.
    pub async fn last_probabilities_async(&self, out: &mut [f32]) -> Result<()> {
        match &self.engine {
            Engine::Gpu { plan, .. } => {
                let plan = lock(plan).clone();
                plan.read_probabilities_async(out).await
            }
            Engine::Cpu(_) => Err(Error::BackendUnavailable(
                "the CPU backend keeps no frame on a GPU".into(),
            )),
        }
    }

    /// Forget the history of [`composite_texture`](Self::composite_texture)'s smoothing (a cut
    /// the caller knows of, a new video). Nothing to do on the CPU backend.
    pub fn reset_smoothing(&self) -> Result<()> {
        match &self.engine {
            Engine::Gpu { plan, .. } => lock(plan).reset_smoothing(),
            Engine::Cpu(_) => Ok(()),
        }
    }

    /// The GPU device and queue the network runs on (`None` on the CPU backend): for textures
    /// the caller creates for [`composite_texture`](Self::composite_texture). After a device
    /// loss the segmenter moves to a new device: ask again.
    pub fn wgpu_device(&self) -> Option<(wgpu::Device, wgpu::Queue)> {
        match &self.engine {
            Engine::Gpu { plan, .. } => {
                let gpu = lock(plan).gpu().clone();
                Some((gpu.device, gpu.queue))
            }
            Engine::Cpu(_) => None,
        }
    }

    /// The person on a transparent background, edges refined: `cut_out(&photo)?.save("me.png")`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn cut_out(&self, photo: &RgbImage) -> Result<RgbaImage> {
        self.compose(photo, &Background::Transparent, true)
    }

    /// The person mask at `image`'s resolution.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn segment(&self, image: &RgbImage) -> Result<Mask> {
        Mask::from_probabilities(image.width(), image.height(), self.probabilities(image)?)
    }
}

async fn build_plan(
    gpu: &Gpu,
    network: &Network,
    precision: Precision,
    max_batch: usize,
) -> Result<Plan> {
    let kernels = Kernels::with_precision_async(gpu, precision).await?;
    Plan::with_batch_async(gpu, &kernels, network, max_batch).await
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the Arc<Plan> half-written: carry on.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A person mask: the network's 256x256 probabilities plus the size of the image they describe.
/// Full-resolution views are computed on demand, so a mask of a huge photo stays small.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    width: u32,
    height: u32,
    probabilities: Vec<f32>,
}

impl Mask {
    /// A mask for a `width` x `height` image from the network's 256x256 probabilities.
    pub fn from_probabilities(width: u32, height: u32, probabilities: Vec<f32>) -> Result<Mask> {
        if probabilities.len() != OUTPUT.len() || width == 0 || height == 0 {
            return Err(Error::InvalidInput(format!(
                "{} probabilities for a {width}x{height} mask (need {})",
                probabilities.len(),
                OUTPUT.len()
            )));
        }
        Ok(Mask {
            width,
            height,
            probabilities,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The raw network output: 256x256 probabilities, row-major.
    pub fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }

    /// The mask at the image's resolution, 0 (background) to 255 (person), resized bilinearly
    /// (see [`fast::finish::alpha`] for edges that follow the photo).
    pub fn to_luma8(&self) -> GrayImage {
        fast::finish::upsample(&self.probabilities, self.width, self.height)
    }

    /// The raw 256x256 output as 16-bit gray, value = round(p * 65535).
    pub fn to_raw_luma16(&self) -> ImageBuffer<Luma<u16>, Vec<u16>> {
        let data = self
            .probabilities
            .iter()
            .map(|p| (p * 65535.0).round().clamp(0.0, 65535.0) as u16)
            .collect();
        ImageBuffer::from_raw(OUTPUT.width as u32, OUTPUT.height as u32, data)
            .expect("256x256 probabilities")
    }

    /// `image` with the mask as its alpha channel.
    pub fn cut_out(&self, image: &RgbImage) -> Result<RgbaImage> {
        if image.dimensions() != (self.width, self.height) {
            return Err(Error::InvalidInput(format!(
                "mask is {}x{}, image is {}x{}",
                self.width,
                self.height,
                image.width(),
                image.height()
            )));
        }
        let alpha = self.to_luma8();
        Ok(RgbaImage::from_fn(self.width, self.height, |x, y| {
            let [r, g, b] = image.get_pixel(x, y).0;
            image::Rgba([r, g, b, alpha.get_pixel(x, y).0[0]])
        }))
    }
}
