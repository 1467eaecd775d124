//! The public entry point: [`Segmenter`] turns an image into a [`Mask`] at the image's resolution.
//! `batcher` runs the frames that callers on several threads hand in together as one batch;
//! `warming` makes the GPU engine on a thread of its own while the CPU engine answers.

#[cfg(not(target_arch = "wasm32"))]
mod batcher;
mod mask;
mod textures;
#[cfg(not(target_arch = "wasm32"))]
mod warming;

pub use mask::Mask;

use crate::cpu;
use crate::error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use crate::finish::Background;
use crate::finish::Response;
use crate::gpu::{Gpu, Precision};
use crate::network::Network;
#[cfg(not(target_arch = "wasm32"))]
use crate::network::{self, OUTPUT};
use crate::ops::Kernels;
use crate::pixels::Pixels;
use crate::plan::{Plan, PlanStats};
#[cfg(not(target_arch = "wasm32"))]
use crate::reference;
#[cfg(not(target_arch = "wasm32"))]
use crate::tensor::Tensor;
use crate::weights::Weights;
#[cfg(not(target_arch = "wasm32"))]
use image::{RgbImage, RgbaImage};
use std::sync::{Arc, Mutex};

/// Where inference runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The fast CPU engine ([`crate::cpu`]): SIMD, every core (or the caller's thread:
    /// [`Options::cpu_threads`]); tested against the plain
    /// reference in [`crate::reference`].
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
    /// With `Backend::Gpu` or `Auto`, natively: the segmenter is ready at once on the CPU
    /// engine, the GPU engine is made on a thread of its own, and frames move to it when it is
    /// ready (between two calls; a [`Stream`](crate::Stream)'s smoothing goes on across the
    /// move). [`wait_for_gpu`](Segmenter::wait_for_gpu) waits for it. If it cannot be made, the
    /// CPU engine stays. Ignored in a browser (no threads there: silhouette-web's
    /// `firstFramesOnCpu` does the same with a task).
    pub first_frames_on_cpu: bool,
    /// Threads a frame on the CPU engine runs on: every core (the default) or the caller's
    /// thread alone ([`cpu::Threads`]).
    pub cpu_threads: cpu::Threads,
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
    /// How the finish's alpha answers the mask ([`set_response`](Self::set_response)); one
    /// value shared with the GPU segmenter a warming one makes.
    response: Arc<Mutex<Response>>,
    /// The GPU engine being made while this one (the CPU's) answers.
    #[cfg(not(target_arch = "wasm32"))]
    warming: Option<Box<warming::Warming>>,
}

enum Engine {
    /// The fast CPU engine (boxed: its arena is large).
    Cpu(Box<cpu::Engine>),
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
        #[cfg(not(target_arch = "wasm32"))]
        if options.first_frames_on_cpu && options.backend != Backend::Cpu {
            let mut segmenter = Self::on_cpu(network, None, options.cpu_threads);
            let response = segmenter.response.clone();
            let warming = warming::Warming::start(weights, options, response)?;
            segmenter.warming = Some(Box::new(warming));
            return Ok(segmenter);
        }
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
            Err(notice) => Ok(Self::on_cpu(network, notice, options.cpu_threads)),
        }
    }

    fn on_cpu(network: Network, notice: Option<String>, threads: cpu::Threads) -> Segmenter {
        Segmenter {
            engine: Engine::Cpu(Box::new(cpu::Engine::with_threads(&network, threads))),
            network,
            notice,
            response: Arc::default(),
            #[cfg(not(target_arch = "wasm32"))]
            warming: None,
        }
    }

    /// The GPU segmenter made for [`Options::first_frames_on_cpu`], once it is ready (never
    /// waits for it): every public method hands its call to it from then on.
    fn warmed(&self) -> Option<&Segmenter> {
        #[cfg(target_arch = "wasm32")]
        return None;
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.warming.as_ref()?.ready()
        }
    }

    /// For [`Options::first_frames_on_cpu`]: waits until the GPU engine is made, so that the
    /// next frame runs there. `Err` says why it could not be made (the CPU engine then stays);
    /// `Ok` at once without a GPU being made.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_for_gpu(&self) -> Result<()> {
        match &self.warming {
            Some(warming) => warming
                .wait()
                .map(|_| ())
                .map_err(|why| Error::BackendUnavailable(why.to_string())),
            None => Ok(()),
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
            response: Arc::default(),
            #[cfg(not(target_arch = "wasm32"))]
            warming: None,
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
        if let Some(gpu) = self.warmed() {
            return gpu.backend();
        }
        match self.engine {
            Engine::Cpu(_) => Backend::Cpu,
            Engine::Gpu { .. } => Backend::Gpu,
        }
    }

    /// Where inference runs, e.g. "GPU: NVIDIA ... (Vulkan, ...)" or "CPU: fast engine, AVX2, 8 threads".
    pub fn device_description(&self) -> String {
        if let Some(gpu) = self.warmed() {
            return gpu.device_description();
        }
        let description = match &self.engine {
            Engine::Cpu(engine) => format!("CPU: fast engine, {}", engine.describe()),
            Engine::Gpu { plan, .. } => format!("GPU: {}", lock(plan).gpu().description()),
        };
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(warming) = &self.warming {
            return match warming.failure() {
                Some(why) => format!("{description} (no GPU: {why})"),
                None => format!("{description} (the GPU engine is being made)"),
            };
        }
        description
    }

    /// Set when `Backend::Auto` had to fall back to the CPU: one line saying why. (With
    /// [`Options::first_frames_on_cpu`]: the GPU segmenter's, or why it could not be made.)
    pub fn notice(&self) -> Option<&str> {
        if let Some(gpu) = self.warmed() {
            return gpu.notice();
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(why) = self.warming.as_ref().and_then(|w| w.failure()) {
            return Some(why);
        }
        self.notice.as_deref()
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The multiply-accumulates a frame costs on this engine: those of the graph it executes
    /// after its passes ([`network`](Self::network) is the graph as written).
    pub fn macs_per_frame(&self) -> u64 {
        if let Some(gpu) = self.warmed() {
            return gpu.macs_per_frame();
        }
        match &self.engine {
            Engine::Cpu(engine) => engine.network().macs(),
            Engine::Gpu { plan, .. } => lock(plan).stats().macs_per_frame,
        }
    }

    /// What each graph pass of this engine did to the graph as written.
    pub fn graph_passes(&self) -> Vec<crate::passes::PassReport> {
        if let Some(gpu) = self.warmed() {
            return gpu.graph_passes();
        }
        match &self.engine {
            Engine::Cpu(engine) => engine.passes().to_vec(),
            Engine::Gpu { plan, .. } => lock(plan).stats().passes,
        }
    }

    /// The GPU plan's costs (dispatches, bytes), when running on the GPU.
    pub fn plan_stats(&self) -> Option<PlanStats> {
        if let Some(gpu) = self.warmed() {
            return gpu.plan_stats();
        }
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
        if let Some(gpu) = self.warmed() {
            return gpu.probabilities_into(image, out);
        }
        let Engine::Gpu {
            batcher: Some(batcher),
            ..
        } = &self.engine
        else {
            return pollster::block_on(self.pixels_into_async(Pixels::Rgb(image), out));
        };
        // Resized here, on the caller's thread, so the batch that runs it only runs the network.
        network::check_output(out.len(), 1)?;
        let input = reference::network_input(image)?;
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
        if let Some(gpu) = self.warmed() {
            return gpu.batches_run();
        }
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
        if let Some(gpu) = self.warmed() {
            return gpu.probabilities_batch(images);
        }
        let Engine::Gpu { plan, owned, .. } = &self.engine else {
            return images
                .iter()
                .map(|image| self.probabilities(image))
                .collect();
        };
        let inputs: Vec<_> = images
            .iter()
            .map(|image| reference::network_input(image))
            .collect::<Result<_>>()?;
        let mut out = vec![0.0; inputs.len() * OUTPUT.len()];
        pollster::block_on(self.current_plan(plan, *owned))?.run_batch(&inputs, &mut out)?;
        Ok(out.chunks(OUTPUT.len()).map(<[f32]>::to_vec).collect())
    }

    /// The probabilities for an RGB image or RGBA bytes, into `out` (256*256), without blocking.
    pub async fn pixels_into_async(&self, pixels: Pixels<'_>, out: &mut [f32]) -> Result<()> {
        if let Some(gpu) = self.warmed() {
            return Box::pin(gpu.pixels_into_async(pixels, out)).await;
        }
        match &self.engine {
            Engine::Cpu(engine) => engine.run_pixels(pixels, out),
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
        if let Some(gpu) = self.warmed() {
            return gpu.simulate_device_loss();
        }
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
        if let Some(gpu) = self.warmed() {
            return gpu.compose(photo, background, refine);
        }
        if let Engine::Gpu { plan, owned, .. } = &self.engine {
            let plan = pollster::block_on(self.current_plan(plan, *owned))?;
            if let Some(done) = plan.composite(photo, background, refine, self.response())? {
                return Ok(done);
            }
        }
        let probabilities = self.probabilities(photo)?;
        let alpha = cpu::finish::alpha(photo, &probabilities, refine, self.response());
        Ok(cpu::finish::compose(photo, &alpha, background))
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
