//! The finish on the GPU after the network, in the same submit: a photo composited and read
//! back ([`Plan::composite`]), or an app's texture in and texture out with no readback
//! ([`Plan::composite_texture`]). The finish's buffers and dispatches live in [`super::finish`].

use super::Plan;
use crate::error::{Error, Result};
use crate::finish::Background;
use crate::ops::{TextureIn, TextureOut};
use crate::pixels::Pixels;

impl Plan {
    /// Texture in, texture out, no CPU readback: reads the app's `input` (w x h, any float colour
    /// format with TEXTURE_BINDING), runs the network and the finish, and writes `output`
    /// (rgba8unorm with STORAGE_BINDING), all in one submit on the device's queue.
    pub fn composite_texture(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        (w, h): (u32, u32),
        background: &Background,
        refine: bool,
    ) -> Result<()> {
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
        let (finish, finished) = frame.finish.prepare(
            &self.gpu,
            &self.kernels,
            &upload,
            &self.output,
            (w, h),
            background,
            refine,
        )?;
        let copy_out = TextureOut {
            packed: &finished,
            texture: output,
            width: w,
            height: h,
        }
        .bind(&self.gpu, &self.kernels)?;
        self.gpu.scoped("compositing textures", || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            copy_in.encode(&mut encoder.begin_compute_pass(&Default::default()));
            self.encode_frame(&mut encoder, Some(&preprocess), None);
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                finish
                    .iter()
                    .chain([&copy_out])
                    .for_each(|d| d.encode(&mut pass));
            }
            self.gpu.queue.submit([encoder.finish()]);
        })
    }

    /// The network and the finish (alpha at full resolution, refined or not, over `background`)
    /// in one submit; only the finished photo is read back. `None` when the photo is too large
    /// for one storage binding: then use [`crate::cpu::finish`] on the CPU.
    pub fn composite(
        &self,
        photo: &image::RgbImage,
        background: &Background,
        refine: bool,
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
