//! The [`Segmenter`]'s ways for apps that hold the GPU's textures: texture in, texture out, no
//! readback, and what goes with it (the last mask, the smoothing's history, the device).

use super::{Engine, Segmenter, lock};
use crate::error::{Error, Result};
use crate::finish::Background;
use crate::gpu::GpuErrors;
use crate::plan::TextureOptions;

impl Segmenter {
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
        if let Some(gpu) = self.warmed() {
            return Box::pin(
                gpu.composite_texture_submit(input, output, size, background, options),
            )
            .await;
        }
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
        if let Some(gpu) = self.warmed() {
            return Box::pin(gpu.last_probabilities_async(out)).await;
        }
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
        if let Some(gpu) = self.warmed() {
            return gpu.reset_smoothing();
        }
        match &self.engine {
            Engine::Gpu { plan, .. } => lock(plan).reset_smoothing(),
            Engine::Cpu(_) => Ok(()),
        }
    }

    /// [`Smoother::carry_into`](crate::Smoother::carry_into)'s half: `composite_texture`'s
    /// smoothing goes on from a history (last thumbnail, smoothed mask, frames so far).
    pub(crate) fn continue_smoothing(
        &self,
        thumbnail: &[f32],
        smoothed: &[f32],
        frames: u64,
    ) -> Result<()> {
        if let Some(gpu) = self.warmed() {
            return gpu.continue_smoothing(thumbnail, smoothed, frames);
        }
        match &self.engine {
            Engine::Gpu { plan, .. } => lock(plan).continue_smoothing(thumbnail, smoothed, frames),
            Engine::Cpu(_) => Ok(()),
        }
    }

    /// The GPU device and queue the network runs on (`None` on the CPU backend): for textures
    /// the caller creates for [`composite_texture`](Self::composite_texture). After a device
    /// loss the segmenter moves to a new device: ask again.
    pub fn wgpu_device(&self) -> Option<(wgpu::Device, wgpu::Queue)> {
        if let Some(gpu) = self.warmed() {
            return gpu.wgpu_device();
        }
        match &self.engine {
            Engine::Gpu { plan, .. } => {
                let gpu = lock(plan).gpu().clone();
                Some((gpu.device, gpu.queue))
            }
            Engine::Cpu(_) => None,
        }
    }
}
