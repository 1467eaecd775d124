//! The kernel set: every kernel's [`Shader`], declared once here, compiled together per device
//! into [`Kernels`]. Each op file binds its own by name (`kernels.get(&MATMUL)`).

use super::wgsl::{self, Shader};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Kernel, Precision};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use web_time::Instant;

/// WGSL shared by several kernels, placed before their own file (WGSL has no includes).
const WINDOW_PARAMS: &str = include_str!(concat!(
    env!("OUT_DIR"),
    "/shaders/parts/window_params.wgsl"
));
const LAYER_IO: &str = include_str!(concat!(env!("OUT_DIR"), "/shaders/parts/layer_io.wgsl"));
const EPILOGUE: &str = include_str!(concat!(env!("OUT_DIR"), "/shaders/parts/epilogue.wgsl"));
const FINISH_PIXEL: &str =
    include_str!(concat!(env!("OUT_DIR"), "/shaders/parts/finish_pixel.wgsl"));
const WINDOW_PLAIN: &str =
    include_str!(concat!(env!("OUT_DIR"), "/shaders/parts/window_plain.wgsl"));

/// Declares each kernel's [`Shader`] (its WGSL file in shaders/, without comments: build.rs,
/// after the parts it uses) and lists them all in SHADERS.
macro_rules! shaders {
    ($($konst:ident = $name:literal [$($part:ident),*]),* $(,)?) => {
        $(pub(crate) const $konst: Shader = Shader {
            name: $name,
            parts: &[$($part),*],
            body: include_str!(concat!(env!("OUT_DIR"), "/shaders/", $name, ".wgsl")),
        };)*
        /// Every kernel of the engine, in compile order.
        const SHADERS: &[Shader] = &[$($konst),*];
    };
}

// Adding an op adds its line here (docs/ARCHITECTURE.md).
shaders! {
    MATMUL = "matmul" [EPILOGUE],
    CONV2D = "conv2d" [WINDOW_PARAMS, LAYER_IO, EPILOGUE, WINDOW_PLAIN],
    DEPTHWISE = "depthwise" [WINDOW_PARAMS, LAYER_IO, EPILOGUE, WINDOW_PLAIN],
    TRANSPOSED_CONV = "transposed_conv" [LAYER_IO, EPILOGUE],
    CHANNEL_GATE = "channel_gate" [],
    ELEMENTWISE = "elementwise" [EPILOGUE],
    RESIZE = "resize" [EPILOGUE],
    SOFTMAX = "softmax" [],
    PREPROCESS = "preprocess" [],
    POSTPROCESS = "postprocess" [],
    DOWNSAMPLE = "downsample" [],
    SEPARABLE = "separable" [],
    GUIDED = "guided" [],
    BACKGROUND = "background" [FINISH_PIXEL],
    COMPOSE = "compose" [FINISH_PIXEL],
    TEXTURE_IN = "texture_in" [],
    TEXTURE_OUT = "texture_out" [],
    SMOOTH = "smooth" [],
}

/// How many shaders the engine compiles: one per file in shaders/ (common.wgsl aside).
pub const KERNEL_COUNT: usize = SHADERS.len();

/// The WGSL the engine compiles for kernel `name` (see [`wgsl::source`]).
pub fn kernel_source(name: &str, precision: Precision) -> Option<String> {
    SHADERS
        .iter()
        .find(|s| s.name == name)
        .map(|s| wgsl::source(s, precision))
}

/// A kernel's pipeline-overridable constants for one use: (name, value) pairs, e.g. the
/// epilogue's activation.
pub type Constants = Vec<(&'static str, u32)>;

/// The whole kernel set, compiled once per device; variants with other constants are compiled
/// on first use and kept.
#[derive(Clone, Debug)]
pub struct Kernels {
    /// The kernels without constants, in [`SHADERS`] order.
    kernels: Vec<Kernel>,
    /// The kernels with constants: only their modules, each use compiles a variant.
    modules: Vec<(&'static str, wgpu::ShaderModule)>,
    variants: Arc<Mutex<HashMap<(&'static str, Constants), Kernel>>>,
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
            return Err(Error::BackendUnavailable(format!(
                "{} has no SHADER_F16",
                gpu.description()
            )));
        }
        let start = Instant::now();
        // A kernel with constants gets no pipeline of its defaults: its uses compile variants.
        let compile = || {
            let (mut kernels, mut modules) = (Vec::new(), Vec::new());
            for s in SHADERS {
                let source = wgsl::source(s, precision);
                if source.contains("\noverride ") {
                    modules.push((s.name, Kernel::module(gpu, s.name, source)));
                } else {
                    kernels.push(Kernel::create(gpu, s.name, source));
                }
            }
            (kernels, modules)
        };
        let (kernels, modules) = gpu.scoped_async("compiling the kernels", compile).await?;
        Ok(Kernels {
            kernels,
            modules,
            variants: Default::default(),
            precision,
            compile_time: start.elapsed(),
        })
    }

    /// The compiled pipeline of `shader`, a kernel without constants ([`variant`](Self::variant)
    /// for the others).
    pub fn get(&self, shader: &Shader) -> &Kernel {
        self.kernels
            .iter()
            .find(|k| k.name == shader.name)
            .unwrap_or_else(|| panic!("{} was not compiled (has it constants?)", shader.name))
    }

    /// How many specialised variants have been compiled so far (beside the base set).
    pub fn variant_count(&self) -> usize {
        self.variants.lock().map_or(0, |v| v.len())
    }

    /// `shader`'s pipeline with `constants` set (WGSL `override`s), compiled on first use. A
    /// compile failure surfaces in the caller's error scope (plans build inside one).
    pub fn variant(&self, gpu: &Gpu, shader: &Shader, constants: Constants) -> Kernel {
        let key = (shader.name, constants);
        let mut variants = self.variants.lock().unwrap_or_else(|p| p.into_inner());
        variants
            .entry(key)
            .or_insert_with_key(|(_, constants)| {
                let values: Vec<(&str, f64)> =
                    constants.iter().map(|&(n, v)| (n, v as f64)).collect();
                let (_, module) = self
                    .modules
                    .iter()
                    .find(|(name, _)| *name == shader.name)
                    .unwrap_or_else(|| panic!("{} has no constants: use get", shader.name));
                Kernel::from_module(gpu, shader.name, module.clone(), &values)
            })
            .clone()
    }
}
