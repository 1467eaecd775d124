//! The finish on the GPU after the network, in the same submit: a photo composited and read
//! back ([`Plan::composite`]), or an app's texture in and texture out with no readback
//! ([`Plan::composite_texture_submit`], video frames smoothed on the way if asked). The finish's
//! buffers and dispatches live in [`super::finish`].

use super::Plan;
use crate::error::{Error, Result};
use crate::finish::{Background, Response, Smoothing, THUMB};
use crate::gpu::GpuErrors;
use crate::network::check_output;
use crate::ops::{TextureIn, TextureOut};
#[cfg(not(target_arch = "wasm32"))]
use crate::pixels::Pixels;

/// How [`Plan::composite_texture_submit`] finishes a frame, besides its background.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextureOptions {
    /// Edges along the photo's own (guided filter); else the mask upsampled bilinearly.
    pub refine: bool,
    /// Smooth the mask over consecutive calls (a video's frames, [`crate::stream`]'s rule, on
    /// the GPU); `None` takes each frame as it is and forgets the history.
    pub smoothing: Option<Smoothing>,
    /// Colour premultiplied by alpha (for a canvas configured "premultiplied"); else straight
    /// alpha. Only a transparent background leaves alpha below 1.
    pub premultiplied: bool,
}

impl Default for TextureOptions {
    fn default() -> Self {
        TextureOptions {
            refine: true,
            smoothing: None,
            premultiplied: false,
        }
    }
}

impl Plan {
    /// Texture in, texture out, no CPU readback: reads the app's `input` (w x h, any float colour
    /// format with TEXTURE_BINDING), runs the network and the finish, and writes `output`
    /// (rgba8unorm with STORAGE_BINDING), all in one submit on the device's queue, the alpha
    /// through `response`. Returns once submitted, with a future of the GPU's errors (so a
    /// browser canvas can be read in the task that drew it);
    /// [`Segmenter::composite_texture`](crate::Segmenter::composite_texture) waits for them.
    pub fn composite_texture_submit(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        (w, h): (u32, u32),
        background: &Background,
        options: TextureOptions,
        response: Response,
    ) -> Result<GpuErrors> {
        let (w, h) = (w as usize, h as usize);
        if w == 0
            || h == 0
            || (w as u64) * (h as u64) * 4
                > self.gpu.device.limits().max_storage_buffer_binding_size
        {
            return Err(Error::InvalidInput(format!(
                "texture of {w}x{h} does not fit one storage binding"
            )));
        }
        let mut frame = self.lock_frame()?;
        let (upload, preprocess) = self.upload_buffer(&mut frame, w, h)?;
        let copy_in = TextureIn {
            texture: input,
            packed: &upload,
            width: w,
            height: h,
        }
        .bind(&self.gpu, &self.kernels)?;
        let (smooth, mask) = match options.smoothing {
            Some(smoothing) => {
                let (dispatches, smoothed) = frame.finish.smooth(
                    &self.gpu,
                    &self.kernels,
                    &upload,
                    &self.output,
                    (w, h),
                    smoothing,
                )?;
                (Some(dispatches.clone()), smoothed)
            }
            None => {
                frame.finish.reset_smoothing();
                (None, self.output.clone())
            }
        };
        let (finish, finished) = frame.finish.prepare(
            &self.gpu,
            &self.kernels,
            &upload,
            &mask,
            (w, h),
            background,
            options.refine,
            response,
        )?;
        let copy_out = TextureOut {
            packed: &finished,
            texture: output,
            width: w,
            height: h,
            premultiplied: options.premultiplied,
        }
        .bind(&self.gpu, &self.kernels)?;
        let encode = || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            copy_in.encode(&mut encoder.begin_compute_pass(&Default::default()));
            self.encode_frame(&mut encoder, Some(&preprocess), None);
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                smooth
                    .iter()
                    .flatten()
                    .chain(finish)
                    .chain([&copy_out])
                    .for_each(|d| d.encode(&mut pass));
            }
            self.gpu.queue.submit([encoder.finish()]);
        };
        let ((), errors) = self.gpu.scoped_deferred("compositing textures", encode)?;
        Ok(errors)
    }

    /// Forget the smoothing's history (a cut the caller knows of, a new video).
    pub fn reset_smoothing(&self) -> Result<()> {
        self.lock_frame()?.finish.reset_smoothing();
        Ok(())
    }

    /// Go on from a history smoothed elsewhere: the last frame's 32x32 luma thumbnail, the
    /// smoothed mask, and the frames smoothed so far.
    pub fn continue_smoothing(
        &self,
        thumbnail: &[f32],
        smoothed: &[f32],
        frames: u64,
    ) -> Result<()> {
        check_output(smoothed.len(), 1)?;
        if thumbnail.len() != THUMB * THUMB {
            return Err(Error::InvalidInput(format!(
                "a smoothing thumbnail has {} values, not {}",
                thumbnail.len(),
                THUMB * THUMB
            )));
        }
        self.lock_frame()?
            .finish
            .continue_smoothing(thumbnail, smoothed, frames);
        Ok(())
    }

    /// The network and the finish (alpha at full resolution, refined or not and through
    /// `response`, over `background`)
    /// in one submit; only the finished photo is read back. `None` when the photo is too large
    /// for one storage binding: then use [`crate::reference::finish`] on the CPU.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn composite(
        &self,
        photo: &image::RgbImage,
        background: &Background,
        refine: bool,
        response: Response,
    ) -> Result<Option<image::RgbaImage>> {
        let pixels = Pixels::Rgb(photo);
        if !self.fits(pixels)? {
            return Ok(None);
        }
        let (w, h) = pixels.size()?;
        let mut frame = self.lock_frame()?;
        let preprocess = self.upload(&mut frame, pixels)?;
        let frame = &mut *frame;
        let bytes = w * h * 4;
        let readback = frame.finish.readback(&self.gpu, bytes);
        let image = &frame.upload.as_ref().expect("uploaded").0;
        let (finish, finished) = frame.finish.prepare(
            &self.gpu,
            &self.kernels,
            image,
            &self.output,
            (w, h),
            background,
            refine,
            response,
        )?;
        self.gpu.scoped("running the network and the finish", || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            self.encode_frame(&mut encoder, Some(&preprocess), None);
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("finish"),
                    timestamp_writes: None,
                });
                finish.iter().for_each(|d| d.encode(&mut pass));
            }
            encoder.copy_buffer_to_buffer(&finished, 0, &readback, 0, bytes as u64);
            self.gpu.queue.submit([encoder.finish()]);
        })?;
        let mut bytes = vec![0u8; bytes];
        self.gpu.map_and_copy(&readback, &mut bytes)?;
        Ok(Some(
            image::RgbaImage::from_raw(w as u32, h as u32, bytes).expect("w*h*4 bytes"),
        ))
    }
}
