//! matmul: C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n],
//! row-major; the gate may be computed in the kernel's prologue (a pooled squeeze-excite gate),
//! the skip sampled from a half-resolution tensor (a folded x2 upsampling), and C's per-channel
//! sums written after it (for a gate pooled downstream).
//! Kernel: shaders/matmul.wgsl. CPU twin: [`reference::matmul`](crate::reference::matmul) (the pointwise
//! convolutions are this with A = pixels x in-channels).

use super::binding::{Epilogue, check, check_params, epilogue_constants, optional, to_u32};
use super::conv2d::same_geometry;
use super::kernels::{Kernels, MATMUL};
use super::sums::Sums;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};
use crate::network::{Activation, Layer};
use crate::tensor::Shape;

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    frame_rows: u32,
    width: u32,
    plus_h: u32,
    plus_w: u32,
    src_c: u32,
    src_groups: u32,
    src_pixels: u32,
    src_off: u32,
    plus_groups: u32,
    plus_pixels: u32,
    plus_off: u32,
    hidden: u32,
    fc_offsets: [u32; 4],
    in_h: u32,
    in_w: u32,
    dw_stride: u32,
    pad_top: u32,
    pad_left: u32,
    pro_w_off: u32,
    pro_b_off: u32,
    in_c: u32,
    _pad: u32,
}

/// The kernel's modes, set as pipeline constants (see matmul.wgsl).
#[derive(Clone, Copy, Default)]
struct Modes {
    a: u32,
    gate: u32,
    plus: u32,
    pool: bool,
    bias: bool,
    fc_layers: u32,
    dw_kernel: u32,
    prologue_act: u32,
    /// Output columns per thread: the tile is 8 * cols wide.
    cols: u32,
    /// No workgroup tiles: A is read, not computed or upsampled.
    direct: bool,
    /// Row tiles per workgroup.
    row_tiles: u32,
    /// The tiled path loads A 4 channels at a time.
    quads: bool,
}

impl Modes {
    fn constants(&self, epilogue: &Epilogue) -> super::kernels::Constants {
        let mut constants = epilogue_constants(epilogue);
        constants.extend([
            ("A_MODE", self.a),
            ("GATE_MODE", self.gate),
            ("PLUS_MODE", self.plus),
            ("POOL", self.pool as u32),
            ("HAS_BIAS", self.bias as u32),
            ("FC_LAYERS", self.fc_layers.max(1)),
            ("DW_KERNEL", self.dw_kernel.max(1)),
            ("PRO_ACT", self.prologue_act),
            ("COLS", self.cols),
            ("DIRECT", self.direct as u32),
            ("ROW_TILES", self.row_tiles.max(1)),
            (
                "PAIRED",
                (self.direct && self.row_tiles.is_multiple_of(2)) as u32,
            ),
            ("QUADS", self.quads as u32),
        ]);
        constants
    }
}

/// Output tile edge of one workgroup (see the kernel): also the rows per group of C's sums.
const TILE: usize = 32;
/// Row tiles one workgroup computes: with a pooled gate, as many (a power of two dividing the
/// frame's tiles) as leave a frame [`GATE_WORKGROUPS`] workgroups or more, since each works the
/// gate out from its producers' sums; else 1. The tiles of a workgroup stay in one frame.
fn row_tiles(gate_mode: u32, rows_per_frame: usize) -> usize {
    let frame_tiles = rows_per_frame / TILE;
    let fits = |tiles: usize| {
        rows_per_frame.is_multiple_of(tiles * TILE) && frame_tiles / tiles >= GATE_WORKGROUPS
    };
    match gate_mode {
        2 => (0..8)
            .map(|p| 1 << p)
            .take_while(|&t| fits(t))
            .last()
            .unwrap_or(1),
        _ => 1,
    }
}

/// Workgroups a frame keeps at least when [`row_tiles`] groups its tiles: on SwiftShader, the
/// browsers' software WebGPU, the gate's prologue costs by the workgroups that repeat it (the
/// 128x128 layer with a pooled gate in 128 workgroups 40 ms, in 32 28.5 ms, in 8 25 ms; a frame
/// with 8 or 16 alike). 16 leave a real GPU more to spread a frame over.
const GATE_WORKGROUPS: usize = 16;

/// The widest pooled gate (channels in, hidden, out): the kernel's workgroup arrays.
const MAX_GATE: usize = 256;

/// Output columns per thread (1 to 4) for `n` columns (8 threads across, so a tile is 8 * cols
/// wide): the widest tile that leaves at most an eighth of its columns idle. Wider tiles load
/// each A tile fewer times; idle columns are threads computing zeros.
fn columns_per_thread(n: usize) -> u32 {
    (1..=4u32)
        .rev()
        .find(|&c| {
            let width = 8 * c as usize;
            let padded = n.div_ceil(width) * width;
            (padded - n) * 8 <= padded
        })
        .unwrap_or(1)
}

/// Where a matmul's per-frame gate on A's columns comes from.
#[derive(Clone, Copy)]
pub enum MatmulGate<'a> {
    /// A buffer of [frames, k] gates.
    Buffer(&'a wgpu::Buffer),
    /// Computed per workgroup in the prologue (see [`PooledGate`]).
    Pooled(PooledGate<'a>),
}

/// A squeeze-excite gate the matmul computes itself: the mean of a tensor from the per-channel
/// sums its producer left after it (plus, with `plus_sums`, the mean of the matmul's own skip
/// from the sums after it), then the FC layers packed after B ([`GateFc::pack`]).
#[derive(Clone, Copy)]
pub struct PooledGate<'a> {
    /// The pooled tensor: `frames` frames of `source_sums.pixels` x `source_sums.channels`, then
    /// their sums.
    pub source: &'a wgpu::Buffer,
    pub source_sums: Sums,
    /// The skip's sums (after the skip in its buffer), when the gate pools `source + plus`.
    pub plus_sums: Option<Sums>,
    pub fc: GateFc,
}

/// A pooled gate's FC layers (one: to k, sigmoid; two: relu between) where they lie in B's
/// buffer, in parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateFc {
    pub layers: usize,
    pub hidden: usize,
    /// Weight and bias of the first layer, then of the second.
    pub offsets: [usize; 4],
}

impl GateFc {
    /// `b` followed by the layers' weights ([out, in]) and biases, and where each lies.
    pub fn pack(b: &[f32], layers: &[&Layer]) -> (Vec<f32>, GateFc) {
        let mut packed = b.to_vec();
        for layer in layers.iter().take(2) {
            packed.extend(&layer.weight);
            packed.extend(&layer.bias);
        }
        (packed, Self::layout(b.len(), layers))
    }

    /// Where [`pack`](Self::pack) puts the layers after `b_len` parameters.
    pub fn layout(b_len: usize, layers: &[&Layer]) -> GateFc {
        let mut offsets = [0; 4];
        let mut at = b_len;
        for (i, layer) in layers.iter().take(2).enumerate() {
            offsets[2 * i] = at;
            offsets[2 * i + 1] = at + layer.weight.len();
            at += layer.weight.len() + layer.bias.len();
        }
        GateFc {
            layers: layers.len(),
            hidden: layers.first().map_or(0, |l| l.bias.len()),
            offsets,
        }
    }
}

/// A skip added to A as it is loaded: [m, k], or half-resolution frames of `half` (height,
/// width) pixels, upsampled x2 bilinearly on the fly.
#[derive(Clone, Copy)]
pub struct MatmulPlus<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub half: Option<(usize, usize)>,
}

/// A computed as it is loaded, `act(op(a))`, its weights and bias in B's buffer at
/// `weight_offset` and `bias_offset` (parameters): a fused producer (`network::Prologue`).
#[derive(Clone, Copy, Debug)]
pub struct ComputedA {
    pub op: ComputedOp,
    pub act: Activation,
    pub weight_offset: usize,
    pub bias_offset: usize,
}

#[derive(Clone, Copy, Debug)]
pub enum ComputedOp {
    /// A depthwise KxK convolution (SAME padding) of frames of `input` (k channels), weights
    /// [K, K, k]: a depthwise-separable convolution.
    Depthwise {
        input: Shape,
        kernel: usize,
        stride: usize,
    },
    /// A 1x1 convolution of `channels`-channel pixels, weights [channels, k].
    Pointwise { channels: usize },
}

pub struct Matmul<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub bias: Option<&'a wgpu::Buffer>,
    /// Scales A's columns (a squeeze-excite gate folded into the loads).
    pub gate: Option<MatmulGate<'a>>,
    /// Added to A after the gate (a skip folded into the loads).
    pub plus: Option<MatmulPlus<'a>>,
    /// A is computed from `a` as it is loaded.
    pub computed: Option<ComputedA>,
    /// Frames the m rows split into evenly; each has its own gate (k values).
    pub frames: usize,
    /// Also write C's per-channel sums after it ([`Matmul::sums`]).
    pub pool: bool,
    pub epilogue: Epilogue<'a>,
}

impl<'a> Matmul<'a> {
    /// Plain C = A . B.
    pub fn new(
        a: &'a wgpu::Buffer,
        b: &'a wgpu::Buffer,
        out: &'a wgpu::Buffer,
        m: usize,
        k: usize,
        n: usize,
    ) -> Self {
        Matmul {
            a,
            b,
            out,
            m,
            k,
            n,
            bias: None,
            gate: None,
            plus: None,
            computed: None,
            frames: 1,
            pool: false,
            epilogue: Epilogue::default(),
        }
    }

    /// How C's sums are grouped when `pool`: one group per 32-row tile of a frame's rows.
    pub fn sums(rows_per_frame: usize, n: usize) -> Sums {
        Sums::new(rows_per_frame, n, TILE)
    }

    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let (m, k, n) = (self.m, self.k, self.n);
        if self.frames == 0 || !m.is_multiple_of(self.frames) {
            return Err(Error::InvalidInput(format!(
                "matmul: {m} rows do not split into {} frames",
                self.frames
            )));
        }
        let rows = m / self.frames;
        let tiled = |what: &str| match rows.is_multiple_of(TILE) {
            true => Ok(()),
            false => Err(Error::InvalidInput(format!(
                "matmul: {what} needs frames of a multiple of {TILE} rows, not {rows}"
            ))),
        };
        let pool_len = match self.pool {
            true => tiled("pooling").map(|()| Self::sums(rows, n).len())?,
            false => 0,
        };
        check_params(kernels, self.b, k * n, "matmul B")?;
        check(self.out, m * n + self.frames * pool_len, "matmul out")?;
        let bias = match self.bias {
            Some(b) => check_params(kernels, b, n, "matmul bias").map(|()| b)?,
            None => &gpu.empty,
        };
        let (add, _) = optional(gpu, self.epilogue.add, m * n, "matmul add")?;
        let mut modes = Modes {
            pool: self.pool,
            bias: self.bias.is_some(),
            cols: columns_per_thread(n),
            ..Modes::default()
        };
        let mut params = Params {
            m: to_u32(m, "m")?,
            n: to_u32(n, "n")?,
            k: to_u32(k, "k")?,
            frame_rows: to_u32(rows, "rows per frame")?,
            ..Params::default()
        };
        match self.computed {
            None => check(self.a, m * k, "matmul A")?,
            Some(computed) => self.computed_a(kernels, &computed, (&mut params, &mut modes))?,
        }
        let plus = match self.plus {
            None => &gpu.empty,
            Some(MatmulPlus { buffer, half: None }) => {
                check(buffer, m * k, "matmul plus")?;
                modes.plus = 1;
                buffer
            }
            Some(MatmulPlus {
                buffer,
                half: Some((h, w)),
            }) => {
                if rows != 4 * h * w {
                    return Err(Error::InvalidInput(format!(
                        "matmul: {rows} rows per frame are not a x2 upsampling of {h}x{w}"
                    )));
                }
                check(buffer, self.frames * h * w * k, "matmul plus")?;
                (modes.plus, params.width) = (2, to_u32(2 * w, "width")?);
                (params.plus_h, params.plus_w) = (to_u32(h, "plus")?, to_u32(w, "plus")?);
                buffer
            }
        };
        let gate = match self.gate {
            None => &gpu.empty,
            Some(MatmulGate::Buffer(g)) => {
                check(g, self.frames * k, "matmul gate")?;
                modes.gate = 1;
                g
            }
            Some(MatmulGate::Pooled(pooled)) => {
                tiled("a pooled gate")?;
                self.pooled_gate(kernels, &pooled, plus, (&mut params, &mut modes))?;
                pooled.source
            }
        };
        // An A that is only read (plain or gated, a skip added): no tile to share.
        modes.direct = modes.a == 0 && modes.plus != 2;
        modes.row_tiles = row_tiles(modes.gate, rows) as u32;
        // Direct, a thread takes two row tiles at once (B's loads shared), inside one frame
        // where a pooled gate needs it.
        if modes.direct
            && modes.row_tiles == 1
            && (modes.gate != 2 || rows.is_multiple_of(2 * TILE))
        {
            modes.row_tiles = 2;
        }
        // Every channel count of this network is a multiple of 4 (odd ones load one at a time).
        modes.quads = !modes.direct && k.is_multiple_of(4) && modes.plus != 2;
        let workgroups = [
            to_u32(n.div_ceil(8 * modes.cols as usize), "n tiles")?,
            to_u32(m.div_ceil(TILE * modes.row_tiles as usize), "m tiles")?,
            1,
        ];
        Ok(kernels
            .variant(gpu, &MATMUL, modes.constants(&self.epilogue))
            .bind(
                gpu,
                &params,
                &[self.a, self.b, bias, gate, add, self.out, plus],
                workgroups,
            ))
    }

    /// Checks a computed A's input and weights and writes its part of the parameters.
    fn computed_a(
        &self,
        kernels: &Kernels,
        a: &ComputedA,
        (params, modes): (&mut Params, &mut Modes),
    ) -> Result<()> {
        let (k, frames) = (self.k, self.frames);
        let weights = match a.op {
            ComputedOp::Depthwise {
                input: s,
                kernel,
                stride,
            } => {
                let (out, pad_top, pad_left) = same_geometry(s, kernel, stride, k)?;
                if s.channels != k || out.pixels() * frames != self.m {
                    return Err(Error::InvalidInput(format!(
                        "matmul: a depthwise of {s} (k{kernel} s{stride}) does not give {} rows \
                         of {k}",
                        self.m
                    )));
                }
                check(self.a, frames * s.len(), "matmul depthwise input")?;
                modes.a = 1;
                params.width = to_u32(out.width, "width")?;
                (params.in_h, params.in_w) = (s.height as u32, s.width as u32);
                modes.dw_kernel = to_u32(kernel, "depthwise kernel")?;
                params.dw_stride = to_u32(stride, "depthwise stride")?;
                (params.pad_top, params.pad_left) = (pad_top, pad_left);
                kernel * kernel * k
            }
            ComputedOp::Pointwise { channels } => {
                check(self.a, self.m * channels, "matmul 1x1 input")?;
                modes.a = 2;
                params.in_c = to_u32(channels, "1x1 input channels")?;
                channels * k
            }
        };
        check_params(
            kernels,
            self.b,
            a.weight_offset + weights,
            "matmul computed A weight",
        )?;
        check_params(kernels, self.b, a.bias_offset + k, "matmul computed A bias")?;
        modes.prologue_act = a.act as u32;
        params.pro_w_off = to_u32(a.weight_offset, "computed A weight offset")?;
        params.pro_b_off = to_u32(a.bias_offset, "computed A bias offset")?;
        Ok(())
    }

    /// Checks a pooled gate's buffers and shapes and writes its part of the parameters.
    fn pooled_gate(
        &self,
        kernels: &Kernels,
        gate: &PooledGate,
        plus: &wgpu::Buffer,
        (params, modes): (&mut Params, &mut Modes),
    ) -> Result<()> {
        let (frames, k) = (self.frames, self.k);
        let (src, fc) = (gate.source_sums, gate.fc);
        let out_width = if fc.layers == 1 { fc.hidden } else { k };
        let widths_fit = [src.channels, fc.hidden, k].iter().all(|&w| w <= MAX_GATE);
        if !(1..=2).contains(&fc.layers) || !widths_fit || (fc.layers == 1 && fc.hidden != k) {
            return Err(Error::InvalidInput(format!(
                "matmul: a pooled gate of {} layers, {} -> {} -> {out_width} channels for k = {k} \
                 (at most {MAX_GATE} wide)",
                fc.layers, src.channels, fc.hidden
            )));
        }
        let src_len = src.pixels * src.channels;
        check(
            gate.source,
            frames * (src_len + src.len()),
            "matmul pooled gate",
        )?;
        let fc_end = match fc.layers {
            1 => fc.offsets[1] + k,
            _ => fc.offsets[3] + k,
        };
        check_params(kernels, self.b, fc_end, "matmul gate FC")?;
        if let Some(ps) = gate.plus_sums {
            let plus_len = ps.pixels * k;
            if ps.channels != k || src.channels != k || modes.plus == 0 {
                return Err(Error::InvalidInput(format!(
                    "matmul: pooling a skip of {} channels with k = {k}",
                    ps.channels
                )));
            }
            check(plus, frames * (plus_len + ps.len()), "matmul plus sums")?;
            params.plus_groups = to_u32(ps.groups(), "plus groups")?;
            params.plus_pixels = to_u32(ps.pixels, "plus pixels")?;
            params.plus_off = to_u32(frames * plus_len, "plus sums")?;
        }
        modes.gate = 2;
        params.src_c = src.channels as u32;
        params.src_groups = to_u32(src.groups(), "gate groups")?;
        params.src_pixels = to_u32(src.pixels, "gate pixels")?;
        params.src_off = to_u32(frames * src_len, "gate sums")?;
        modes.fc_layers = fc.layers as u32;
        params.hidden = fc.hidden as u32;
        for (p, o) in params.fc_offsets.iter_mut().zip(fc.offsets) {
            *p = to_u32(o, "gate FC offset")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
