//! The network compiled for one device: weights uploaded, an activation arena sized once (values
//! whose lifetimes do not overlap share a buffer), every bind group built up front. A frame is
//! one command buffer, one submit, and a readback of the 256x256 output only.

use super::{Dispatch, Gpu, Kernels, Precision};
use crate::error::{Error, Result};
use crate::network::{INPUT, Network, Node, OUTPUT, Op, Value};
use crate::ops::{self, Epilogue, pack_rgba};
use crate::tensor::Tensor;
use std::sync::Mutex;
use std::time::Duration;
use web_time::Instant;

/// Photos above 64 megapixels are resampled and composited on the CPU: staging them whole on the
/// GPU (upload, finished photo, readback, each 4 bytes a pixel) would cost far more memory than
/// the CPU's 8-bit planes, for a one-off photo where GPU speed hardly matters.
pub const MAX_GPU_PIXELS: usize = 64 << 20;

/// What a plan costs, for notes and benchmarks.
#[derive(Clone, Debug)]
pub struct PlanStats {
    /// How the weights are stored.
    pub precision: Precision,
    pub dispatches_per_frame: usize,
    pub arena_buffers: usize,
    pub arena_bytes: u64,
    /// Bytes the activations would take with one buffer per value (no reuse).
    pub unshared_bytes: u64,
    pub weight_bytes: u64,
    /// The output readback buffer plus the image upload buffer (which grows to the largest frame).
    pub io_bytes: u64,
    pub build_time: Duration,
}

pub struct Plan {
    gpu: Gpu,
    kernels: Kernels,
    dispatches: Vec<Dispatch>,
    input: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    frame: Mutex<Frame>,
    stats: PlanStats,
}

/// Per-frame host state, reused from frame to frame: the image upload buffer (grown to the largest
/// frame seen, with its preprocessing dispatch), the packed pixels, and the batch buffers (grown to
/// the largest batch seen).
#[derive(Default)]
struct Frame {
    upload: Option<(wgpu::Buffer, usize, Dispatch)>,
    packed: Vec<u32>,
    #[cfg(not(target_arch = "wasm32"))]
    batch: Option<(wgpu::Buffer, wgpu::Buffer, usize)>,
    #[cfg(not(target_arch = "wasm32"))]
    finish: super::finish::Finish,
}

/// A frame's pixels: an RGB image, or RGBA bytes row by row (a browser's `ImageData.data`).
#[derive(Clone, Copy)]
pub enum Pixels<'a> {
    Rgb(&'a image::RgbImage),
    Rgba {
        bytes: &'a [u8],
        width: usize,
        height: usize,
    },
}

impl Pixels<'_> {
    pub fn size(&self) -> Result<(usize, usize)> {
        let (w, h) = match self {
            Pixels::Rgb(image) => (image.width() as usize, image.height() as usize),
            Pixels::Rgba {
                bytes,
                width,
                height,
            } => {
                let expected = width.checked_mul(*height).and_then(|n| n.checked_mul(4));
                if expected != Some(bytes.len()) {
                    return Err(Error::InvalidInput(format!(
                        "{} RGBA bytes for {width}x{height}",
                        bytes.len()
                    )));
                }
                (*width, *height)
            }
        };
        if w == 0 || h == 0 {
            return Err(Error::InvalidInput(format!("image is {w}x{h}")));
        }
        Ok((w, h))
    }

    /// The network input resampled on the CPU (the reference path, and huge images).
    pub fn network_input(&self) -> Result<Tensor> {
        let (w, h) = self.size()?;
        match self {
            Pixels::Rgb(image) => crate::segmenter::network_input(image),
            Pixels::Rgba { bytes, .. } => crate::segmenter::resample_to_input(w, h, |x, y| {
                let i = (y * w + x) * 4;
                [bytes[i], bytes[i + 1], bytes[i + 2]]
            }),
        }
    }
}

/// A layer's parameters on the GPU.
struct LayerBuffers {
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
}

impl Plan {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        pollster::block_on(Self::new_async(gpu, kernels, network))
    }

    pub async fn new_async(gpu: &Gpu, kernels: &Kernels, network: &Network) -> Result<Plan> {
        let start = Instant::now();
        let precision = kernels.precision;
        let (slot_of, capacities) = arena_layout(network);
        let arena: Vec<wgpu::Buffer> = capacities
            .iter()
            .map(|&len| gpu.storage("activation arena", len))
            .collect();
        let buffer = |v: Value| &arena[slot_of[v.0]];
        let build = || -> Result<_> {
            let mut dispatches = Vec::with_capacity(network.nodes.len());
            let mut weight_bytes = 0;
            for (i, node) in network.nodes.iter().enumerate() {
                let layers = upload_layers(gpu, &node.op, precision);
                weight_bytes += layers
                    .iter()
                    .map(|l| l.weight.size() + l.bias.size())
                    .sum::<u64>();
                dispatches.push(bind_node(
                    gpu,
                    kernels,
                    network,
                    node,
                    &layers,
                    &buffer,
                    buffer(Value(i + 1)),
                )?);
            }
            Ok((dispatches, weight_bytes))
        };
        let (dispatches, weight_bytes) = gpu.scoped_async("building the plan", build).await??;
        let readback = gpu.readback_buffer("mask readback", (OUTPUT.len() * 4) as u64);
        let values = network.nodes.len() + 1;
        let stats = PlanStats {
            precision,
            dispatches_per_frame: dispatches.len() + 1,
            arena_buffers: arena.len(),
            arena_bytes: arena.iter().map(wgpu::Buffer::size).sum(),
            unshared_bytes: (0..values)
                .map(|v| network.shape(Value(v)).len() as u64 * 4)
                .sum(),
            weight_bytes,
            io_bytes: readback.size(),
            build_time: start.elapsed(),
        };
        Ok(Plan {
            gpu: gpu.clone(),
            kernels: kernels.clone(),
            input: buffer(Value(0)).clone(),
            output: buffer(network.output()).clone(),
            dispatches,
            readback,
            frame: Mutex::new(Frame::default()),
            stats,
        })
    }

    pub fn stats(&self) -> PlanStats {
        let mut stats = self.stats.clone();
        if let Ok(frame) = self.frame.try_lock() {
            stats.io_bytes += frame
                .upload
                .as_ref()
                .map_or(0, |(buffer, _, _)| buffer.size());
        }
        stats
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Frames are serialised: they share the input, arena and readback buffers. In the browser
    /// nothing may block, so a second frame while one is in flight is an error there.
    fn lock_frame(&self) -> Result<std::sync::MutexGuard<'_, Frame>> {
        #[cfg(target_arch = "wasm32")]
        return self.frame.try_lock().map_err(|_| {
            Error::InvalidInput("another frame is still running: await it first".into())
        });
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
            return self.run_input_async(&pixels.network_input()?, out).await;
        }
        let mut frame = self.lock_frame()?;
        let preprocess = self.upload(&mut frame, pixels)?;
        self.submit_async(Some(&preprocess), out).await
    }

    /// Whether `pixels` go to the GPU whole (else the CPU resamples and composites them): they
    /// must fit one storage binding, and stay under MAX_GPU_PIXELS.
    fn fits(&self, pixels: Pixels<'_>) -> Result<bool> {
        let (w, h) = pixels.size()?;
        Ok(w * h <= MAX_GPU_PIXELS
            && w * h * 4 <= self.gpu.device.limits().max_storage_buffer_binding_size as usize)
    }

    /// Writes the frame's RGBA pixels to the upload buffer (grown as needed) and returns the
    /// preprocessing dispatch that reads them.
    fn upload(&self, frame: &mut Frame, pixels: Pixels<'_>) -> Result<Dispatch> {
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
    fn upload_buffer(
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

    /// Texture in, texture out, no CPU readback: reads the app's `input` (w x h, any float colour
    /// format with TEXTURE_BINDING), runs the network and the finish, and writes `output`
    /// (rgba8unorm with STORAGE_BINDING), all in one submit on the device's queue.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn composite_texture(
        &self,
        input: &wgpu::TextureView,
        output: &wgpu::TextureView,
        (w, h): (u32, u32),
        background: &crate::compose::Background,
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
        let size = [w as u32, h as u32, 0, 0];
        let grid = super::grid(w * h, 256);
        let copy_in = self.kernels.texture_in.bind_resources(
            &self.gpu,
            &size,
            vec![
                wgpu::BindingResource::TextureView(input),
                upload.as_entire_binding(),
            ],
            grid,
        );
        let (finish, finished) = frame.finish.prepare(
            &self.gpu,
            &self.kernels,
            &upload,
            &self.output,
            (w, h),
            background,
            refine,
        );
        let copy_out = self.kernels.texture_out.bind_resources(
            &self.gpu,
            &size,
            vec![
                finished.as_entire_binding(),
                wgpu::BindingResource::TextureView(output),
            ],
            grid,
        );
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
    /// for one storage binding: then use [`crate::compose`] on the CPU.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn composite(
        &self,
        photo: &image::RgbImage,
        background: &crate::compose::Background,
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
        );
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

    /// The network on an already normalised 256x256x3 input.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_input(&self, input: &Tensor, out: &mut [f32]) -> Result<()> {
        pollster::block_on(self.run_input_async(input, out))
    }

    #[allow(clippy::await_holding_lock)] // as in run_pixels_async
    pub async fn run_input_async(&self, input: &Tensor, out: &mut [f32]) -> Result<()> {
        if input.shape != INPUT {
            return Err(Error::InvalidInput(format!(
                "network input must be {INPUT}, got {}",
                input.shape
            )));
        }
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
        check_output(out, 1)?;
        let encode = || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            self.encode_frame(&mut encoder, preprocess, None);
            encoder.copy_buffer_to_buffer(&self.output, 0, &self.readback, 0, self.readback.size());
            self.gpu.queue.submit([encoder.finish()]);
        };
        self.gpu.scoped_async("running the network", encode).await?;
        self.gpu
            .map_and_copy_async(&self.readback, bytemuck::cast_slice_mut(out))
            .await
    }

    /// One compute pass: [preprocess], then every node.
    fn encode_frame(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        preprocess: Option<&Dispatch>,
        timestamp_writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("network"),
            timestamp_writes,
        });
        preprocess
            .into_iter()
            .chain(&self.dispatches)
            .for_each(|d| d.encode(&mut pass));
    }

    /// Several normalised 256x256x3 inputs in one command buffer and one submit (frame after
    /// frame through the same arena); `out` receives 256*256 probabilities per input, in order.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_batch(&self, inputs: &[Tensor], out: &mut [f32]) -> Result<()> {
        let n = inputs.len();
        check_output(out, n)?;
        if let Some(bad) = inputs.iter().find(|t| t.shape != INPUT) {
            return Err(Error::InvalidInput(format!(
                "network input must be {INPUT}, got {}",
                bad.shape
            )));
        }
        let (in_bytes, out_bytes) = ((INPUT.len() * 4) as u64, (OUTPUT.len() * 4) as u64);
        let mut frame = self.lock_frame()?;
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
        self.gpu.scoped("running a batch", || {
            let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
            for k in 0..n as u64 {
                encoder.copy_buffer_to_buffer(staging, k * in_bytes, &self.input, 0, in_bytes);
                self.encode_frame(&mut encoder, None, None);
                encoder.copy_buffer_to_buffer(&self.output, 0, readback, k * out_bytes, out_bytes);
            }
            self.gpu.queue.submit([encoder.finish()]);
        })?;
        self.gpu
            .map_and_copy(readback, bytemuck::cast_slice_mut(out))
    }

    /// GPU time of one frame (all 56 node dispatches) from timestamp queries, or `None` where the
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

    /// The node dispatches, in order (for timing kernels one by one).
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.dispatches
    }
}

fn check_output(out: &[f32], frames: usize) -> Result<()> {
    if out.len() != frames * OUTPUT.len() {
        return Err(Error::InvalidInput(format!(
            "output holds {}, needs {}",
            out.len(),
            frames * OUTPUT.len()
        )));
    }
    Ok(())
}

/// Assigns every value an arena slot: a slot is reused once the value in it has been read for the
/// last time; each slot is sized to the largest value it ever holds. Returns (slot per value,
/// capacity per slot in f32s).
fn arena_layout(network: &Network) -> (Vec<usize>, Vec<usize>) {
    let values = network.nodes.len() + 1;
    let mut last_use = vec![0; values];
    for (i, node) in network.nodes.iter().enumerate() {
        for v in node.reads() {
            last_use[v.0] = i;
        }
    }
    last_use[values - 1] = usize::MAX; // the output is read back after the last node
    let mut slot_of = vec![0; values];
    let mut capacities = vec![INPUT.len()];
    let mut free: Vec<usize> = Vec::new();
    for (i, node) in network.nodes.iter().enumerate() {
        let need = node.shape.len();
        // Best fit among free slots; else grow the largest free one; else a new slot.
        let fit = free
            .iter()
            .enumerate()
            .filter(|(_, s)| capacities[**s] >= need)
            .min_by_key(|(_, s)| capacities[**s]);
        let pick = fit
            .or_else(|| free.iter().enumerate().max_by_key(|(_, s)| capacities[**s]))
            .map(|(k, _)| k);
        let slot = match pick {
            Some(k) => free.swap_remove(k),
            None => {
                capacities.push(0);
                capacities.len() - 1
            }
        };
        capacities[slot] = capacities[slot].max(need);
        slot_of[i + 1] = slot;
        let mut dead: Vec<usize> = node
            .op
            .inputs()
            .into_iter()
            .chain(node.epilogue.add)
            .filter(|v| last_use[v.0] == i)
            .map(|v| slot_of[v.0])
            .collect();
        dead.sort_unstable();
        dead.dedup();
        free.extend(dead);
    }
    (slot_of, capacities)
}

/// The op's parameters on the GPU; pointwise weights are transposed to [in, out] for the matmul.
fn upload_layers(gpu: &Gpu, op: &Op, precision: Precision) -> Vec<LayerBuffers> {
    let upload = |l: &crate::network::Layer, weight: &[f32]| LayerBuffers {
        weight: gpu.upload_as(&l.name, weight, precision),
        bias: gpu.upload_as(&l.name, &l.bias, precision),
    };
    match op {
        Op::Pointwise { layer, .. } => {
            let (n, k) = (layer.bias.len(), layer.weight.len() / layer.bias.len());
            let transposed: Vec<f32> = (0..k * n)
                .map(|i| layer.weight[(i % n) * k + i / n])
                .collect();
            vec![upload(layer, &transposed)]
        }
        Op::Conv2d { layer, .. }
        | Op::Depthwise { layer, .. }
        | Op::TransposedConv2x2 { layer, .. } => {
            vec![upload(layer, &layer.weight)]
        }
        Op::ChannelGate { layers, .. } => layers.iter().map(|l| upload(l, &l.weight)).collect(),
        Op::ScaleChannels { .. } | Op::Identity { .. } | Op::Upsample2x { .. } => vec![],
    }
}

/// The dispatch that computes `node` into `out`, reading values through `buffer`.
fn bind_node<'a>(
    gpu: &Gpu,
    kernels: &Kernels,
    network: &Network,
    node: &Node,
    layers: &[LayerBuffers],
    buffer: &impl Fn(Value) -> &'a wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<Dispatch> {
    let epilogue = Epilogue {
        act: node.epilogue.act,
        add: node.epilogue.add.map(buffer),
    };
    match &node.op {
        Op::Conv2d {
            input,
            layer,
            stride,
        } => ops::Conv2d {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            out_channels: node.shape.channels,
            kernel: layer.kernel,
            stride: *stride,
            epilogue,
        }
        .bind(gpu, kernels),
        Op::Pointwise { input, gate, .. } => {
            let s = network.shape(*input);
            ops::Matmul {
                bias: Some(&layers[0].bias),
                gate: gate.map(buffer),
                epilogue,
                ..ops::Matmul::new(
                    buffer(*input),
                    &layers[0].weight,
                    out,
                    s.pixels(),
                    s.channels,
                    node.shape.channels,
                )
            }
            .bind(gpu, kernels)
        }
        Op::Depthwise {
            input,
            layer,
            stride,
        } => ops::Depthwise {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            kernel: layer.kernel,
            stride: *stride,
            epilogue,
        }
        .bind(gpu, kernels),
        Op::ChannelGate {
            input,
            layers: host,
        } => {
            let fcs: Vec<ops::Fc> = layers
                .iter()
                .zip(host)
                .map(|(l, h)| ops::Fc {
                    weight: &l.weight,
                    bias: &l.bias,
                    out: h.bias.len(),
                })
                .collect();
            ops::ChannelGate {
                input: buffer(*input),
                input_shape: network.shape(*input),
                layers: &fcs,
                out,
            }
            .bind(gpu, kernels)
        }
        Op::ScaleChannels { input, gate } => elementwise(
            gpu,
            kernels,
            node,
            buffer(*input),
            Some(buffer(*gate)),
            out,
            epilogue,
        ),
        Op::Identity { input } => {
            elementwise(gpu, kernels, node, buffer(*input), None, out, epilogue)
        }
        Op::Upsample2x { input } => ops::Resize {
            input: buffer(*input),
            input_shape: network.shape(*input),
            out,
            out_height: node.shape.height,
            out_width: node.shape.width,
            epilogue,
        }
        .bind(gpu, kernels),
        Op::TransposedConv2x2 { input, .. } => ops::TransposedConv2x2 {
            input: buffer(*input),
            input_shape: network.shape(*input),
            weight: &layers[0].weight,
            bias: &layers[0].bias,
            out,
            out_channels: node.shape.channels,
            epilogue,
        }
        .bind(gpu, kernels),
    }
}

fn elementwise(
    gpu: &Gpu,
    kernels: &Kernels,
    node: &Node,
    input: &wgpu::Buffer,
    gate: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
    epilogue: Epilogue,
) -> Result<Dispatch> {
    ops::Elementwise {
        input,
        len: node.shape.len(),
        channels: node.shape.channels,
        gate,
        out,
        epilogue,
    }
    .bind(gpu, kernels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::eval_node;
    use crate::ops::testing::*;
    use crate::tensor::Shape;
    use crate::weights::Weights;

    fn network() -> Network {
        Network::new(&Weights::embedded().unwrap()).unwrap()
    }

    #[test]
    fn arena_never_hands_a_live_value_s_buffer_to_another() {
        let net = network();
        let (slot_of, capacities) = arena_layout(&net);
        let mut last_use = vec![0; net.nodes.len() + 1];
        for (i, n) in net.nodes.iter().enumerate() {
            for v in n.reads() {
                last_use[v.0] = i + 1;
            }
        }
        *last_use.last_mut().unwrap() = usize::MAX;
        for a in 0..slot_of.len() {
            assert!(capacities[slot_of[a]] >= net.shape(Value(a)).len());
            for b in a + 1..slot_of.len() {
                // b is written at step b; a must be dead by then if they share a slot.
                if slot_of[a] == slot_of[b] {
                    assert!(
                        last_use[a] < b,
                        "value {a} (last read by node {}) shares a slot with value {b}",
                        last_use[a]
                    );
                }
            }
        }
        assert!(
            capacities.len() < slot_of.len() / 4,
            "{} slots for {} values",
            capacities.len(),
            slot_of.len()
        );
    }

    /// Every node of the network, at its exact shapes and with its real weights, on random inputs.
    #[test]
    fn every_node_matches_the_cpu_reference() {
        let Some((gpu, kernels)) = gpu() else { return };
        let net = network();
        for (i, node) in net.nodes.iter().enumerate() {
            let reads: Vec<Value> = node.reads().collect();
            let mut values = vec![Tensor::zeros(Shape::new(0, 0, 0)); i + 1];
            let mut buffers = std::collections::HashMap::new();
            for v in &reads {
                let shape = net.shape(*v);
                // Gates are sigmoid outputs: keep them in (0, 1).
                let data: Vec<f32> = random(shape.len(), (i * 31 + v.0) as u64)
                    .iter()
                    .map(|x| {
                        if shape.pixels() == 1 {
                            (x + 1.0) / 2.0
                        } else {
                            *x
                        }
                    })
                    .collect();
                values[v.0] = Tensor::from_vec(shape, data);
                buffers.insert(*v, gpu.upload("value", &values[v.0].data));
            }
            let expected = eval_node(node, &values);
            let out = gpu.storage("out", node.shape.len());
            let layers = upload_layers(gpu, &node.op, Precision::F32);
            bind_node(gpu, kernels, &net, node, &layers, &|v| &buffers[&v], &out)
                .unwrap()
                .run(gpu)
                .unwrap();
            let what = format!("node {i} {:?}", std::mem::discriminant(&node.op));
            assert_close(
                &gpu.read(&out, node.shape.len()).unwrap(),
                &expected.data,
                1e-5,
                &what,
            );
        }
    }

    fn golden_inputs() -> Vec<Tensor> {
        ["grace_hopper", "astronaut", "synthetic"]
            .iter()
            .map(|name| {
                let path = format!(
                    "{}/tests/data/frames/{name}.png",
                    env!("CARGO_MANIFEST_DIR")
                );
                crate::segmenter::network_input(&image::open(path).unwrap().to_rgb8()).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_batch_equals_its_frames_run_one_by_one() {
        let Some((gpu, kernels)) = gpu() else { return };
        let plan = Plan::new(gpu, kernels, &network()).unwrap();
        let inputs = golden_inputs();
        let mut batch = vec![0.0; inputs.len() * OUTPUT.len()];
        plan.run_batch(&inputs, &mut batch).unwrap();
        for (input, got) in inputs.iter().zip(batch.chunks(OUTPUT.len())) {
            let mut single = vec![0.0; OUTPUT.len()];
            plan.run_input(input, &mut single).unwrap();
            assert_eq!(got, &single[..]);
        }
        // A smaller batch reuses the grown buffers.
        plan.run_batch(&inputs[..1], &mut batch[..OUTPUT.len()])
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
