//! The device: created from the environment (honouring `WGPU_BACKEND`) or borrowed from an
//! embedding app, with wgpu's asynchronous errors turned into typed [`Error`]s.

#[cfg(not(target_arch = "wasm32"))]
use super::precision::decode;
use super::precision::{Precision, encode};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wgpu::util::DeviceExt;

/// How long a submission may take before we call the GPU hung. Generous: a software rasterizer
/// on a busy machine is slow but not hung, and a false alarm fails a user's run.
pub const GPU_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What a [`Gpu::scoped_deferred`] submission's error scopes caught, once they report.
#[cfg(not(target_arch = "wasm32"))]
pub type GpuErrors = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>;
/// What a [`Gpu::scoped_deferred`] submission's error scopes caught, once they report.
#[cfg(target_arch = "wasm32")]
pub type GpuErrors = std::pin::Pin<Box<dyn Future<Output = Result<()>>>>;

/// A wgpu device and queue, plus what we know about where they came from.
#[derive(Clone)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    info: Option<wgpu::AdapterInfo>,
    lost: Arc<AtomicBool>,
    /// Bound wherever a kernel's optional input (bias, gate, add) is absent.
    pub(crate) empty: wgpu::Buffer,
    /// Compiled kernels kept between runs, where the device has a pipeline cache.
    #[cfg(not(target_arch = "wasm32"))]
    pipeline_cache: Option<Arc<super::pipeline_cache::DiskCache>>,
}

impl Gpu {
    /// Picks an adapter the way `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` / `WGPU_POWER_PREF` say,
    /// preferring a high-performance one, and asks for `SHADER_F16` where the adapter has it.
    pub fn new() -> Result<Gpu> {
        pollster::block_on(Self::new_async())
    }

    pub async fn new_async() -> Result<Gpu> {
        Self::with_adapter_async(true).await
    }

    /// [`new_async`](Self::new_async), refusing a software adapter (Mesa's llvmpipe, SwiftShader,
    /// WARP: `DeviceType::Cpu`) unless `software_ok`: on those the CPU engine is faster.
    pub async fn with_adapter_async(software_ok: bool) -> Result<Gpu> {
        // Optional extras: f16 weights and GPU timestamps for benchmarks.
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY;
        // Natively also compiled kernels kept between runs (Vulkan).
        #[cfg(not(target_arch = "wasm32"))]
        let wanted = wanted | wgpu::Features::PIPELINE_CACHE;
        Self::with_features(software_ok, wanted).await
    }

    /// The adapter's device with whichever of the `wanted` optional features it has.
    async fn with_features(software_ok: bool, wanted: wgpu::Features) -> Result<Gpu> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(wgpu::PowerPreference::HighPerformance),
            ..Default::default()
        };
        let adapter = instance
            .request_adapter(&options)
            .await
            .map_err(|e| Error::BackendUnavailable(format!("no GPU adapter found ({e})")))?;
        let info = adapter.get_info();
        // Mesa's llvmpipe through OpenGL compiles the network's specialised kernels at their
        // first dispatch, and with a cold shader cache that took over 300 s for one mask (its
        // Vulkan twin, lavapipe, takes seconds): refused whoever asks.
        if info.device_type == wgpu::DeviceType::Cpu && info.backend == wgpu::Backend::Gl {
            return Err(Error::BackendUnavailable(format!(
                "the only GPU adapter is {} through OpenGL, a software rasterizer that takes \
                 minutes to compile this engine's kernels; the CPU engine (--backend cpu) is \
                 far faster, or install a Vulkan driver (Mesa's lavapipe: mesa-vulkan-drivers)",
                info.name
            )));
        }
        if info.device_type == wgpu::DeviceType::Cpu && !software_ok {
            return Err(Error::BackendUnavailable(format!(
                "the only GPU adapter is {}, a software rasterizer slower than the CPU engine \
                 (the gpu backend uses it anyway)",
                info.name
            )));
        }
        let features = adapter.features() & wanted;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("silhouette"),
                required_features: features,
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::BackendUnavailable(format!("{}: {e}", adapter.get_info().name)))?;
        Ok(Self::wrap(device, queue, Some(adapter.get_info())))
    }

    /// Uses an app's existing device and queue (nothing of ours is created but buffers and pipelines).
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Gpu {
        Self::wrap(device, queue, None)
    }

    fn wrap(device: wgpu::Device, queue: wgpu::Queue, info: Option<wgpu::AdapterInfo>) -> Gpu {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        let empty = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("absent optional input"),
            contents: &[0; 16],
            usage: wgpu::BufferUsages::STORAGE,
        });
        #[cfg(not(target_arch = "wasm32"))]
        let pipeline_cache = info
            .as_ref()
            .and_then(|info| super::pipeline_cache::DiskCache::open(&device, info))
            .map(Arc::new);
        Gpu {
            device,
            queue,
            info,
            lost,
            empty,
            #[cfg(not(target_arch = "wasm32"))]
            pipeline_cache,
        }
    }

    /// The pipeline cache kernels are compiled through, where there is one.
    pub(crate) fn pipeline_cache(&self) -> Option<&wgpu::PipelineCache> {
        #[cfg(not(target_arch = "wasm32"))]
        return self.pipeline_cache.as_ref().map(|c| &c.cache);
        #[cfg(target_arch = "wasm32")]
        None
    }

    /// Writes the compiled kernels to the user's cache folder (after a plan is built), so the
    /// next run reads them rather than compiling; best effort.
    pub fn save_pipeline_cache(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(cache) = &self.pipeline_cache {
            cache.save();
        }
    }

    /// "NVIDIA H100 (Vulkan, driver 550.x)", or "caller's device" when we were handed one.
    pub fn description(&self) -> String {
        match &self.info {
            // Browsers hide the adapter's identity.
            Some(i) if i.name.is_empty() => {
                format!("{:?} adapter (details hidden by the browser)", i.backend)
            }
            Some(i) => format!(
                "{} ({:?}, {} {})",
                i.name, i.backend, i.driver, i.driver_info
            ),
            None => "caller's device".into(),
        }
    }

    pub fn adapter_info(&self) -> Option<&wgpu::AdapterInfo> {
        self.info.as_ref()
    }

    pub fn supports_f16(&self) -> bool {
        self.device.features().contains(wgpu::Features::SHADER_F16)
    }

    pub fn supports_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// True once the device is lost (driver reset, `destroy`, ...): everything made on it is dead.
    pub fn is_lost(&self) -> bool {
        if !self.lost.load(Ordering::SeqCst) {
            // wgpu reports a loss from its maintenance step: give it a (non-blocking) chance to run.
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
        self.lost.load(Ordering::SeqCst)
    }

    /// Runs `f` inside validation, out-of-memory and internal error scopes, so a bad shader, an
    /// allocation that does not fit or a driver fault comes back as an [`Error`], not a panic.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        pollster::block_on(self.scoped_async(what, f))
    }

    /// [`scoped`](Self::scoped) for callers that cannot block (the browser).
    pub async fn scoped_async<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let (value, errors) = self.scoped_deferred(what, f)?;
        errors.await?;
        Ok(value)
    }

    /// [`scoped_async`](Self::scoped_async) in two halves: `f` runs now inside the error scopes,
    /// which close now too; the returned future reports what they caught. For a caller that must
    /// act before the errors arrive: a browser canvas is read in the task that drew it.
    pub fn scoped_deferred<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<(T, GpuErrors)> {
        self.check_lost()?;
        let scopes = [
            self.device.push_error_scope(wgpu::ErrorFilter::Internal),
            self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            self.device.push_error_scope(wgpu::ErrorFilter::Validation),
        ];
        let value = f();
        // Popped now, innermost first; their verdicts arrive later.
        let popped: Vec<_> = scopes.into_iter().rev().map(|s| s.pop()).collect();
        let (gpu, what) = (self.clone(), what.to_string());
        let errors = Box::pin(async move { gpu.report(&what, popped).await });
        Ok((value, errors))
    }

    /// The first error the popped scopes caught, or a loss of the device, as an [`Error`].
    async fn report<F: Future<Output = Option<wgpu::Error>>>(
        &self,
        what: &str,
        popped: Vec<F>,
    ) -> Result<()> {
        let mut first = None;
        for scope in popped {
            if let Some(e) = scope.await {
                first.get_or_insert(e);
            }
        }
        self.check_lost()?;
        match first {
            None => Ok(()),
            Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
        }
    }

    pub fn check_lost(&self) -> Result<()> {
        if self.is_lost() {
            Err(Error::DeviceLost)
        } else {
            Ok(())
        }
    }

    /// A storage buffer holding `data` as f32.
    pub fn upload(&self, label: &str, data: &[f32]) -> wgpu::Buffer {
        self.upload_as(label, data, Precision::F32)
    }

    /// A storage buffer holding `data` stored at `precision`.
    pub fn upload_as(&self, label: &str, data: &[f32], precision: Precision) -> wgpu::Buffer {
        let mut bytes = Vec::new();
        encode(data, precision, &mut bytes);
        bytes.resize(bytes.len().next_multiple_of(4).max(4), 0);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A zeroed storage buffer of `len` f32s (at least one, so it can always be bound).
    pub fn storage(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.storage_as(label, len, Precision::F32)
    }

    /// A zeroed storage buffer of `len` elements at `precision` (size rounded up to 4 bytes).
    pub fn storage_as(&self, label: &str, len: usize, precision: Precision) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len * precision.bytes()).next_multiple_of(4).max(4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A buffer the CPU can map and read, `size` bytes, that copies land in.
    pub(crate) fn readback_buffer(&self, label: &str, size: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Reads `len` f32s back from `buffer` (a test and ops-API convenience; the plan keeps its own
    /// readback buffer).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
        self.read_as(buffer, len, Precision::F32)
    }

    /// Reads `len` elements stored at `precision` back from `buffer`, widened to f32.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_as(
        &self,
        buffer: &wgpu::Buffer,
        len: usize,
        precision: Precision,
    ) -> Result<Vec<f32>> {
        let size = (len * precision.bytes()).next_multiple_of(4) as u64;
        let staging = self.readback_buffer("readback", size);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let mut bytes = vec![0; size as usize];
        self.map_and_copy(&staging, &mut bytes)?;
        let mut out = vec![0.0; len];
        decode(&bytes, precision, &mut out);
        Ok(out)
    }

    /// Maps `staging` (MAP_READ), waits for the GPU, copies its start into `out` and unmaps.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn map_and_copy(&self, staging: &wgpu::Buffer, out: &mut [u8]) -> Result<()> {
        pollster::block_on(self.map_and_copy_async(staging, out))
    }

    /// [`map_and_copy`](Self::map_and_copy) without blocking: natively it polls the device until
    /// the map completes; in the browser the event loop completes it while we await.
    pub(crate) async fn map_and_copy_async(
        &self,
        staging: &wgpu::Buffer,
        out: &mut [u8],
    ) -> Result<()> {
        let slice = staging.slice(..out.len() as u64);
        #[cfg(not(target_arch = "wasm32"))]
        let mapped = {
            let (tx, rx) = std::sync::mpsc::channel();
            slice.map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            self.wait_for_map(rx)?
        };
        #[cfg(target_arch = "wasm32")]
        let mapped = {
            let (tx, rx) = futures_channel::oneshot::channel();
            slice.map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            rx.await
                .map_err(|_| Error::Gpu("the readback was dropped".into()))?
        };
        match mapped {
            Ok(()) => {}
            Err(_) if self.is_lost() => return Err(Error::DeviceLost),
            Err(e) => return Err(Error::Gpu(format!("reading back: {e}"))),
        }
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading back: {e}")))?;
        out.copy_from_slice(&view);
        drop(view);
        staging.unmap();
        Ok(())
    }

    /// Polls until the map callback has run. Waits for the callback itself: when threads share
    /// the device, another thread's poll may be the one that runs it, just after ours returns.
    #[cfg(not(target_arch = "wasm32"))]
    fn wait_for_map(
        &self,
        rx: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    ) -> Result<std::result::Result<(), wgpu::BufferAsyncError>> {
        use std::time::{Duration, Instant};
        let deadline = Instant::now() + GPU_TIMEOUT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let polled = self.device.poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(remaining),
            });
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(result) => return Ok(result),
                Err(_) if self.is_lost() => return Err(Error::DeviceLost),
                Err(_) if remaining.is_zero() => {
                    return Err(Error::Gpu(format!(
                        "the GPU did not finish within {} s ({polled:?})",
                        GPU_TIMEOUT.as_secs()
                    )));
                }
                Err(_) => continue,
            }
        }
    }
}
