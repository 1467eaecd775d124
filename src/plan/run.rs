//! Frames on a built plan: the photo uploaded (grown buffer), preprocessed, the network run in
//! one command buffer and one submit, the 256x256 output read back. Batches and GPU timing too.

use super::{Frame, MAX_GPU_PIXELS, Plan};
use crate::error::Result;
use crate::gpu::Dispatch;
#[cfg(not(target_arch = "wasm32"))]
use crate::network::OUTPUT;
use crate::network::{INPUT, check_input, check_output};
use crate::ops;
use crate::pixels::{Pixels, pack_rgba};
use crate::reference;
use crate::tensor::Tensor;
#[cfg(not(target_arch = "wasm32"))]
use std::time::Duration;

impl Plan {
    /// Frames are serialised: they share the input, arena and readback buffers. In the browser
    /// nothing may block, so a second frame while one is in flight is an error there.
    pub(super) fn lock_frame(&self) -> Result<std::sync::MutexGuard<'_, Frame>> {
        #[cfg(target_arch = "wasm32")]
        return self.frame.try_lock().map_err(|_| crate::error::Error::Busy);
        // The frame state is scratch: a panic elsewhere cannot leave it inconsistent.
        #[cfg(not(target_arch = "wasm32"))]
        Ok(self
            .frame
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The network on `image` (any size; resized to 256x256 on the GPU), probabilities into `out`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_image(&self, image: &image::RgbImage, out: &mut [f32]) -> Result<()> {
        pollster::block_on(self.run_pixels_async(Pixels::Rgb(image), out))
    }

    /// [`run_image`](Self::run_image) for an RGB image or RGBA bytes (e.g. a browser's ImageData),
    /// without blocking.
    // The frame guard is held across awaits on purpose: it serialises frames, which share the
    // input, arena and readback (see lock_frame).
    #[allow(clippy::await_holding_lock)]
    pub async fn run_pixels_async(&self, pixels: Pixels<'_>, out: &mut [f32]) -> Result<()> {
        if !self.fits(pixels)? {
            // Bigger than one binding may be: resample on the CPU (bounded memory, no f32 copy).
            return self
                .run_input_async(&reference::pixels_input(pixels)?, out)
                .await;
        }
        let mut frame = self.lock_frame()?;
        let preprocess = self.upload(&mut frame, pixels)?;
        self.submit_async(Some(&preprocess), out).await
    }

    /// Whether `pixels` go to the GPU whole (else the CPU resamples and composites them): they
    /// must fit one storage binding, and stay under MAX_GPU_PIXELS.
    pub(super) fn fits(&self, pixels: Pixels<'_>) -> Result<bool> {
        let (w, h) = pixels.size()?;
        Ok(w * h <= MAX_GPU_PIXELS
            && w * h * 4 <= self.gpu.device.limits().max_storage_buffer_binding_size as usize)
    }

    /// Writes the frame's RGBA pixels to the upload buffer (grown as needed) and returns the
    /// preprocessing dispatch that reads them.
    pub(super) fn upload(&self, frame: &mut Frame, pixels: Pixels<'_>) -> Result<Dispatch> {
        let (w, h) = pixels.size()?;
        let (buffer, dispatch) = self.upload_buffer(frame, w, h)?;
        let bytes: &[u8] = match pixels {
            Pixels::Rgb(image) => {
                pack_rgba(image, &mut frame.packed);
                bytemuck::cast_slice(&frame.packed)
            }
            Pixels::Rgba { bytes, .. } => bytes,
        };
        self.gpu.queue.write_buffer(&buffer, 0, bytes);
        Ok(dispatch)
    }

    /// The upload buffer, holding at least w x h pixels, and its preprocessing dispatch set up
    /// for a w x h frame.
    pub(super) fn upload_buffer(
        &self,
        frame: &mut Frame,
        w: usize,
        h: usize,
    ) -> Result<(wgpu::Buffer, Dispatch)> {
        if frame
            .upload
            .as_ref()
            .is_none_or(|(_, capacity, _)| *capacity < w * h)
        {
            let buffer = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("frame upload"),
                size: (w * h * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let dispatch = self
                .preprocess(&buffer, w, h)
                .bind(&self.gpu, &self.kernels)?;
            frame.upload = Some((buffer, w * h, dispatch));
        }
        let (buffer, _, dispatch) = frame.upload.as_ref().expect("just ensured");
        dispatch.update_params(&self.gpu, &self.preprocess(buffer, w, h).params()?);
        Ok((buffer.clone(), dispatch.clone()))
    }

    /// The network on an already normalised 256x256x3 input.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_input(&self, input: &Tensor, out: &mut [f32]) -> Result<()> {
        pollster::block_on(self.run_input_async(input, out))
    }

    #[allow(clippy::await_holding_lock)] // as in run_pixels_async
    pub async fn run_input_async(&self, input: &Tensor, out: &mut [f32]) -> Result<()> {
        check_input(input.shape)?;
        let _frame = self.lock_frame()?;
        self.gpu
            .queue
            .write_buffer(&self.input, 0, bytemuck::cast_slice(&input.data));
        self.submit_async(None, out).await
    }

    fn preprocess<'a>(
        &'a self,
        image: &'a wgpu::Buffer,
        w: usize,
        h: usize,
    ) -> ops::Preprocess<'a> {
        ops::Preprocess {
            image,
            width: w,
            height: h,
            out: &self.input,
            out_width: INPUT.width,
            out_height: INPUT.height,
        }
    }

    /// One command buffer, one submit, then the readback of the output. Callers hold the frame lock.
    async fn submit_async(&self, preprocess: Option<&Dispatch>, out: &mut [f32]) -> Result<()> {
        let network = |encoder: &mut _| self.encode_frame(encoder, preprocess, None);
        self.submit_and_read("running the network", network, out)
            .await
    }

    /// The last frame's 256x256 probabilities (the network's output, before any smoothing),
    /// read back: for callers of [`composite_texture_submit`](Self::composite_texture_submit)
    /// that want the mask now and then, a readback only when asked.
    #[allow(clippy::await_holding_lock)] // as in run_pixels_async
    pub async fn read_probabilities_async(&self, out: &mut [f32]) -> Result<()> {
        let _frame = self.lock_frame()?;
        self.submit_and_read("reading the mask", |_| {}, out).await
    }

    /// `encode`'s work, then a copy of the output to the readback buffer, in one submit; then
    /// the output read into `out`.
    async fn submit_and_read(
        &self,
        what: &str,
        encode: impl FnOnce(&mut wgpu::CommandEncoder),
        out: &mut [f32],
    ) -> Result<()> {
        check_output(out.len(), 1)?;
        let submit = || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            encode(&mut encoder);
            encoder.copy_buffer_to_buffer(&self.output, 0, &self.readback, 0, self.readback.size());
            self.gpu.queue.submit([encoder.finish()]);
        };
        self.gpu.scoped_async(what, submit).await?;
        self.gpu
            .map_and_copy_async(&self.readback, bytemuck::cast_slice_mut(out))
            .await
    }

    /// One compute pass: [preprocess], then every node.
    pub(super) fn encode_frame(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        preprocess: Option<&Dispatch>,
        timestamp_writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        self.encode_dispatches(encoder, preprocess, &self.dispatches, timestamp_writes);
    }

    /// One compute pass: [preprocess], then `dispatches` (one frame's, or a batch's).
    fn encode_dispatches(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        preprocess: Option<&Dispatch>,
        dispatches: &[Dispatch],
        timestamp_writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("network"),
            timestamp_writes,
        });
        preprocess
            .into_iter()
            .chain(dispatches)
            .for_each(|d| d.encode(&mut pass));
    }

    /// Several normalised 256x256x3 inputs in one command buffer and one submit; `out` receives
    /// 256*256 probabilities per input, in order. Up to `max_frames` frames (see
    /// [`with_batch`](Self::with_batch)) run together with the dispatches of one frame; more run
    /// in groups of that size, one after another in the same command buffer.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_batch(&self, inputs: &[Tensor], out: &mut [f32]) -> Result<()> {
        let n = inputs.len();
        check_output(out.len(), n)?;
        inputs.iter().try_for_each(|t| check_input(t.shape))?;
        let (in_bytes, out_bytes) = ((INPUT.len() * 4) as u64, (OUTPUT.len() * 4) as u64);
        let mut frame = self.lock_frame()?;
        let frame = &mut *frame;
        if frame
            .batch
            .as_ref()
            .is_none_or(|(_, _, capacity)| *capacity < n)
        {
            let staging = self.gpu.storage("batch inputs", n * INPUT.len());
            let readback = self
                .gpu
                .readback_buffer("batch readback", n as u64 * out_bytes);
            frame.batch = Some((staging, readback, n));
        }
        let (staging, readback, _) = frame.batch.as_ref().expect("just ensured");
        for (k, input) in inputs.iter().enumerate() {
            self.gpu.queue.write_buffer(
                staging,
                k as u64 * in_bytes,
                bytemuck::cast_slice(&input.data),
            );
        }
        let groups: Vec<(usize, usize)> = (0..n)
            .step_by(self.max_frames)
            .map(|first| (first, (n - first).min(self.max_frames)))
            .collect();
        for &(_, size) in &groups {
            if size > 1 && !frame.batch_dispatches.contains_key(&size) {
                let dispatches = self.bind_batch(size)?;
                frame.batch_dispatches.insert(size, dispatches);
            }
        }
        self.gpu.scoped("running a batch", || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            for &(first, size) in &groups {
                let (first, frames) = (first as u64, size as u64);
                let dispatches = match size {
                    1 => &self.dispatches,
                    _ => &frame.batch_dispatches[&size],
                };
                encoder.copy_buffer_to_buffer(
                    staging,
                    first * in_bytes,
                    &self.input,
                    0,
                    frames * in_bytes,
                );
                self.encode_dispatches(&mut encoder, None, dispatches, None);
                encoder.copy_buffer_to_buffer(
                    &self.output,
                    0,
                    readback,
                    first * out_bytes,
                    frames * out_bytes,
                );
            }
            self.gpu.queue.submit([encoder.finish()]);
        })?;
        self.gpu
            .map_and_copy(readback, bytemuck::cast_slice_mut(&mut out[..]))
    }

    /// The node dispatches for `frames` frames at once, on the plan's arena and parameters.
    #[cfg(not(target_arch = "wasm32"))]
    fn bind_batch(&self, frames: usize) -> Result<Vec<Dispatch>> {
        let target = super::lower::Target {
            gpu: &self.gpu,
            kernels: &self.kernels,
            network: &self.network,
            frames,
        };
        self.gpu.scoped("binding a batch", || {
            super::lower::bind_nodes(target, &self.layers, &self.arena, &self.slot_of)
        })?
    }

    /// GPU time of one frame (every node dispatch) from timestamp queries, or `None` where the
    /// adapter has no TIMESTAMP_QUERY. Allocates its query objects: for benchmarks, not hot paths.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu_time(&self, input: &Tensor) -> Result<Option<Duration>> {
        if !self.gpu.supports_timestamps() {
            return Ok(None);
        }
        let _frame = self.lock_frame()?;
        self.gpu
            .queue
            .write_buffer(&self.input, 0, bytemuck::cast_slice(&input.data));
        let queries = self.gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("frame timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolved = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.gpu.readback_buffer("timestamps readback", 16);
        self.gpu.scoped("timing a frame", || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            let writes = wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            };
            self.encode_frame(&mut encoder, None, Some(writes));
            encoder.resolve_query_set(&queries, 0..2, &resolved, 0);
            encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, 16);
            self.gpu.queue.submit([encoder.finish()]);
        })?;
        let mut ticks = [0u64; 2];
        self.gpu
            .map_and_copy(&staging, bytemuck::cast_slice_mut(&mut ticks))?;
        let nanos =
            ticks[1].saturating_sub(ticks[0]) as f64 * self.gpu.queue.get_timestamp_period() as f64;
        Ok(Some(Duration::from_nanos(nanos as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::ops::testing::*;
    use crate::weights::Weights;

    fn network() -> Network {
        Network::new(&Weights::embedded().unwrap()).unwrap()
    }

    fn golden_inputs() -> Vec<Tensor> {
        ["grace_hopper", "astronaut", "synthetic"]
            .into_iter()
            .map(crate::passes::testing::frame_input)
            .collect()
    }

    #[test]
    fn a_batch_equals_its_frames_run_one_by_one() {
        let Some((gpu, kernels)) = gpu() else { return };
        // Batches of up to 2 frames: 3 inputs run as a batch of 2, then a single frame.
        let plan = Plan::with_batch(gpu, kernels, &network(), 2).unwrap();
        let inputs = golden_inputs();
        let mut batch = vec![0.0; inputs.len() * OUTPUT.len()];
        plan.run_batch(&inputs, &mut batch).unwrap();
        for (input, got) in inputs.iter().zip(batch.chunks(OUTPUT.len())) {
            let mut single = vec![0.0; OUTPUT.len()];
            plan.run_input(input, &mut single).unwrap();
            assert_eq!(got, &single[..]);
        }
        // The batch of 2 ran with the dispatches of one frame.
        let frame = plan.lock_frame().unwrap();
        assert_eq!(frame.batch_dispatches[&2].len(), plan.dispatches.len());
        drop(frame);
        // A smaller batch reuses the grown buffers.
        plan.run_batch(&inputs[..2], &mut batch[..2 * OUTPUT.len()])
            .unwrap();
        assert!(plan.run_batch(&inputs, &mut batch[..5]).is_err());
    }

    #[test]
    fn gpu_time_is_measured_where_the_adapter_has_timestamps() {
        let Some((gpu, kernels)) = gpu() else { return };
        let plan = Plan::new(gpu, kernels, &network()).unwrap();
        let time = plan.gpu_time(&golden_inputs()[0]).unwrap();
        eprintln!("GPU time per frame on {}: {time:?}", gpu.description());
        assert_eq!(time.is_some(), gpu.supports_timestamps());
        if let Some(t) = time {
            assert!(t > Duration::ZERO);
        }
    }
}
