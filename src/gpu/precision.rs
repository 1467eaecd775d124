//! How parameters are stored on the GPU, and their bytes in and out.

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

    /// The first lines of every kernel's WGSL: `param_t` is the parameters' storage type.
    pub const fn wgsl_header(self) -> &'static str {
        match self {
            Precision::F32 => "alias param_t = f32;\n",
            Precision::F16 => "enable f16;\nalias param_t = f16;\n",
        }
    }
}

/// `data` as stored at `precision`, little-endian, into `bytes` (cleared first).
pub(crate) fn encode(data: &[f32], precision: Precision, bytes: &mut Vec<u8>) {
    bytes.clear();
    match precision {
        Precision::F32 => bytes.extend_from_slice(bytemuck::cast_slice(data)),
        Precision::F16 => bytes.extend(
            data.iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes()),
        ),
    }
}

/// The first `out.len()` elements stored at `precision` in `bytes`, widened to f32.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn decode(bytes: &[u8], precision: Precision, out: &mut [f32]) {
    match precision {
        Precision::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Precision::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
    }
}
