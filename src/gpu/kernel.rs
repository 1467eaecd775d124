//! A compiled kernel and a ready-to-encode dispatch. All binding boilerplate lives here: a kernel's
//! parameters are binding 0 and its buffers follow in declaration order. Which kernels exist, and
//! their WGSL, is the business of the ops layer above; this layer compiles whatever it is given.

#[cfg(not(target_arch = "wasm32"))]
use super::context::GPU_TIMEOUT;
use super::context::Gpu;
use crate::error::Result;
use wgpu::util::DeviceExt;
#[cfg(not(target_arch = "wasm32"))]
use {std::time::Duration, web_time::Instant};

/// One compute pipeline: a kernel's module with its pipeline-overridable constants set.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub name: &'static str,
    pipeline: wgpu::ComputePipeline,
    /// Fetched once: every `get_bind_group_layout` call makes a new layout object.
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
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

    /// The pipeline with every constant at its default, unscoped: callers catch errors.
    pub(crate) fn create(gpu: &Gpu, name: &'static str, source: String) -> Kernel {
        Self::from_module(gpu, name, Self::module(gpu, name, source), &[])
    }

    /// WGSL `source` parsed and validated (no pipeline yet), unscoped: callers catch errors.
    pub(crate) fn module(gpu: &Gpu, name: &'static str, source: String) -> wgpu::ShaderModule {
        gpu.device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
    }

    /// `module`'s pipeline with pipeline-overridable `constants` set (WGSL `override`s: the
    /// driver compiles the variant with them folded in, so their branches and loop bounds are
    /// constants), unscoped: callers catch errors.
    pub(crate) fn from_module(
        gpu: &Gpu,
        name: &'static str,
        module: wgpu::ShaderModule,
        constants: &[(&str, f64)],
    ) -> Kernel {
        let pipeline = gpu
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    ..Default::default()
                },
                cache: gpu.pipeline_cache(),
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
                timeout: Some(GPU_TIMEOUT),
            };
            gpu.device
                .poll(wait)
                .map_err(|e| crate::error::Error::Gpu(format!("timing {}: {e}", self.kernel)))
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
