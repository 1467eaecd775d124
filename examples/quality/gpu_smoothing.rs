//! The clips on the GPU's smoothing (`ops::Smooth`, shaders/smooth.wgsl): the kernel on its own
//! buffers, fed each frame and the CPU engine's raw mask of it, the smoothed mask read back.
//! The same measures as `Smoother`'s, so the table shows the GPU rule beside the CPU one.

use image::RgbImage;
use silhouette::finish::THUMB;
use silhouette::gpu::Gpu;
use silhouette::ops::{Kernels, Smooth};
use silhouette::pixels::pack_rgba;
use silhouette::{Result, Smoothing};

pub struct GpuSmoother {
    gpu: Gpu,
    kernels: Kernels,
    thumbs: wgpu::Buffer,
    smoothed: wgpu::Buffer,
    frame: u64,
}

impl GpuSmoother {
    pub fn new() -> Result<GpuSmoother> {
        let gpu = Gpu::new()?;
        let kernels = Kernels::new(&gpu)?;
        let (thumbs, smoothed) = (
            gpu.storage("thumbs", 2 * THUMB * THUMB),
            gpu.storage("smoothed", 256 * 256),
        );
        Ok(GpuSmoother {
            gpu,
            kernels,
            thumbs,
            smoothed,
            frame: 0,
        })
    }

    pub fn description(&self) -> String {
        self.gpu.description()
    }

    /// Starts a new clip: its first frame is taken as it is.
    pub fn reset(&mut self) {
        self.frame = 0;
    }

    /// `raw` (the frame's 256x256 probabilities) blended into the history on the GPU.
    pub fn smooth(&mut self, frame: &RgbImage, raw: &[f32]) -> Result<Vec<f32>> {
        let mut packed = Vec::new();
        pack_rgba(frame, &mut packed);
        let image = self.gpu.upload("frame", bytemuck::cast_slice(&packed));
        let raw = self.gpu.upload("raw", raw);
        let op = Smooth {
            image: &image,
            width: frame.width() as usize,
            height: frame.height() as usize,
            raw: &raw,
            thumbs: &self.thumbs,
            smoothed: &self.smoothed,
            frame: self.frame,
            smoothing: Smoothing::default(),
        };
        for dispatch in op.bind(&self.gpu, &self.kernels)? {
            dispatch.run(&self.gpu)?;
        }
        self.frame += 1;
        self.gpu.read(&self.smoothed, 256 * 256)
    }
}
