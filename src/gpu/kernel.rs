//! Compiled kernels and ready-to-encode dispatches. All binding boilerplate lives here: a kernel's
//! uniform parameters are binding 0 and its buffers follow in declaration order.

use super::Gpu;
use crate::error::Result;
use std::time::Duration;
use web_time::Instant;
use wgpu::util::DeviceExt;

const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// Every kernel of the engine, by name (the file name in shaders/).
const SOURCES: &[(&str, &str)] = &[
    ("matmul", include_str!("../../shaders/matmul.wgsl")),
    ("conv2d", include_str!("../../shaders/conv2d.wgsl")),
    ("depthwise", include_str!("../../shaders/depthwise.wgsl")),
    (
        "transposed_conv",
        include_str!("../../shaders/transposed_conv.wgsl"),
    ),
    (
        "channel_gate",
        include_str!("../../shaders/channel_gate.wgsl"),
    ),
    (
        "elementwise",
        include_str!("../../shaders/elementwise.wgsl"),
    ),
    ("resize", include_str!("../../shaders/resize.wgsl")),
    ("softmax", include_str!("../../shaders/softmax.wgsl")),
    ("preprocess", include_str!("../../shaders/preprocess.wgsl")),
    (
        "postprocess",
        include_str!("../../shaders/postprocess.wgsl"),
    ),
    ("downsample", include_str!("../../shaders/downsample.wgsl")),
    ("separable", include_str!("../../shaders/separable.wgsl")),
    ("guided", include_str!("../../shaders/guided.wgsl")),
    ("texture_in", include_str!("../../shaders/texture_in.wgsl")),
    (
        "texture_out",
        include_str!("../../shaders/texture_out.wgsl"),
    ),
    ("compose", include_str!("../../shaders/compose.wgsl")),
];

/// How weights and biases are stored on the GPU. Activations and arithmetic are f32 either way:
/// stored as f16, activations move this model's output by up to 6e-2 (measured by rounding every
/// activation of the CPU reference on the golden frames), over the 2e-2 the f16 path must keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    #[default]
    F32,
    /// Half the parameter bytes, exactly (the weights are f16 at the source); needs `SHADER_F16`.
    F16,
}

impl Precision {
    /// Bytes per stored parameter.
    pub const fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Precision::F32 => "alias param_t = f32;\n",
            Precision::F16 => "enable f16;\nalias param_t = f16;\n",
        }
    }
}

/// How many kernels the engine has (one per file in shaders/, common.wgsl aside).
pub const KERNEL_COUNT: usize = SOURCES.len();

/// The WGSL the engine compiles for kernel `name`: the precision header, shaders/common.wgsl,
/// then shaders/`name`.wgsl.
pub fn kernel_source(name: &str, precision: Precision) -> Option<String> {
    SOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| format!("{}{COMMON}\n{body}", precision.header()))
}

/// One compute pipeline.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub name: &'static str,
    pipeline: wgpu::ComputePipeline,
    /// Fetched once: every `get_bind_group_layout` call makes a new layout object.
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(gpu: &Gpu, name: &'static str, precision: Precision) -> Result<Kernel> {
        let source =
            kernel_source(name, precision).unwrap_or_else(|| panic!("no kernel named {name}"));
        Self::from_source(gpu, name, source)
    }

    /// Compiles WGSL `source` (entry point `main`); a shader that does not compile is an
    /// [`Error::Gpu`](crate::Error::Gpu) naming it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_source(gpu: &Gpu, name: &'static str, source: String) -> Result<Kernel> {
        pollster::block_on(Self::from_source_async(gpu, name, source))
    }

    pub async fn from_source_async(
        gpu: &Gpu,
        name: &'static str,
        source: String,
    ) -> Result<Kernel> {
        gpu.scoped_async(&format!("compiling {name}.wgsl"), || {
            Self::create(gpu, name, source)
        })
        .await
    }

    /// The pipeline, unscoped: callers catch errors.
    fn create(gpu: &Gpu, name: &'static str, source: String) -> Kernel {
        let module = gpu
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        let layout = pipeline.get_bind_group_layout(0);
        Kernel {
            name,
            pipeline,
            layout,
        }
    }

    /// A dispatch of this kernel over `workgroups` with `params` (binding 0) and `buffers`
    /// (bindings 1, 2, ...). Everything is created now, nothing when it is encoded.
    pub fn bind<P: bytemuck::Pod>(
        &self,
        gpu: &Gpu,
        params: &P,
        buffers: &[&wgpu::Buffer],
        workgroups: [u32; 3],
    ) -> Dispatch {
        let resources: Vec<wgpu::BindingResource> =
            buffers.iter().map(|b| b.as_entire_binding()).collect();
        self.bind_resources(gpu, params, resources, workgroups)
    }

    /// [`bind`](Self::bind) with any resources (texture views too) at bindings 1, 2, ...
    pub fn bind_resources<P: bytemuck::Pod>(
        &self,
        gpu: &Gpu,
        params: &P,
        resources: Vec<wgpu::BindingResource<'_>>,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let params = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(self.name),
                contents: bytemuck::bytes_of(params),
                // STORAGE too: a kernel may read its parameters from storage (separable.wgsl).
                usage: wgpu::BufferUsages::UNIFORM
                    | wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        entries.extend(resources.into_iter().enumerate().map(|(i, resource)| {
            wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource,
            }
        }));
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.name),
            layout: &self.layout,
            entries: &entries,
        });
        Dispatch {
            kernel: self.name,
            pipeline: self.pipeline.clone(),
            bind_group,
            params,
            workgroups,
        }
    }
}

/// A kernel with its bindings and grid: encode it as often as you like.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub kernel: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
    pub workgroups: [u32; 3],
}

impl Dispatch {
    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Rewrites the uniform parameters (same layout as at bind time), e.g. a new image size.
    pub fn update_params<P: bytemuck::Pod>(&self, gpu: &Gpu, params: &P) {
        gpu.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(params));
    }

    /// Wall time per run of `repeats` back-to-back runs in one pass and one submit, waited for
    /// (for benchmarks: the submit and wait are amortised over the repeats).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time(&self, gpu: &Gpu, repeats: u32) -> Result<Duration> {
        let start = Instant::now();
        gpu.scoped(self.kernel, || {
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                (0..repeats).for_each(|_| self.encode(&mut pass));
            }
            gpu.queue.submit([encoder.finish()])
        })
        .and_then(|index| {
            let wait = wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(super::context::GPU_TIMEOUT),
            };
            gpu.device
                .poll(wait)
                .map_err(|e| crate::Error::Gpu(format!("timing {}: {e}", self.kernel)))
        })?;
        Ok(start.elapsed() / repeats.max(1))
    }

    /// Encodes and submits this dispatch alone (for using one op on its own).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run(&self, gpu: &Gpu) -> Result<()> {
        gpu.scoped(self.kernel, || {
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                self.encode(&mut pass);
            }
            gpu.queue.submit([encoder.finish()]);
        })
    }
}

/// Workgroups for `threads` threads in groups of `per_group`, folded into a second grid dimension
/// past the 65535-per-dimension limit (the kernels rebuild the index with `linear_index`).
pub fn grid(threads: usize, per_group: u32) -> [u32; 3] {
    const MAX: usize = 65535;
    let groups = threads.div_ceil(per_group as usize).max(1);
    if groups <= MAX {
        [groups as u32, 1, 1]
    } else {
        [MAX as u32, groups.div_ceil(MAX) as u32, 1]
    }
}

/// The whole kernel set, compiled once per device.
#[derive(Clone, Debug)]
pub struct Kernels {
    pub matmul: Kernel,
    pub conv2d: Kernel,
    pub depthwise: Kernel,
    pub transposed_conv: Kernel,
    pub channel_gate: Kernel,
    pub elementwise: Kernel,
    pub resize: Kernel,
    pub softmax: Kernel,
    pub preprocess: Kernel,
    pub postprocess: Kernel,
    pub downsample: Kernel,
    pub separable: Kernel,
    pub guided: Kernel,
    pub compose: Kernel,
    pub texture_in: Kernel,
    pub texture_out: Kernel,
    pub precision: Precision,
    /// Wall time spent creating the pipelines.
    pub compile_time: Duration,
}

impl Kernels {
    /// The f32 kernel set.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(gpu: &Gpu) -> Result<Kernels> {
        Self::with_precision(gpu, Precision::F32)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_precision(gpu: &Gpu, precision: Precision) -> Result<Kernels> {
        pollster::block_on(Self::with_precision_async(gpu, precision))
    }

    /// All pipelines, created inside one error scope (a failing shader is named in the error).
    pub async fn with_precision_async(gpu: &Gpu, precision: Precision) -> Result<Kernels> {
        if precision == Precision::F16 && !gpu.supports_f16() {
            return Err(crate::Error::BackendUnavailable(format!(
                "{} has no SHADER_F16",
                gpu.description()
            )));
        }
        let start = Instant::now();
        let k = |name| {
            Kernel::create(
                gpu,
                name,
                kernel_source(name, precision).expect("registered kernel"),
            )
        };
        let mut kernels = gpu
            .scoped_async("compiling the kernels", || Kernels {
                matmul: k("matmul"),
                conv2d: k("conv2d"),
                depthwise: k("depthwise"),
                transposed_conv: k("transposed_conv"),
                channel_gate: k("channel_gate"),
                elementwise: k("elementwise"),
                resize: k("resize"),
                softmax: k("softmax"),
                preprocess: k("preprocess"),
                postprocess: k("postprocess"),
                downsample: k("downsample"),
                separable: k("separable"),
                guided: k("guided"),
                compose: k("compose"),
                texture_in: k("texture_in"),
                texture_out: k("texture_out"),
                precision,
                compile_time: Duration::ZERO,
            })
            .await?;
        kernels.compile_time = start.elapsed();
        Ok(kernels)
    }
}
