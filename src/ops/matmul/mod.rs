//! matmul: C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n],
//! row-major; the skip may instead be a half-resolution [.., n] tensor upsampled x2 and added to
//! the product (a folded x2 upsampling, already through B), and C's per-channel sums written
//! after it (for a gate pooled downstream). Kernel: shaders/matmul.wgsl. CPU twin:
//! [`reference::matmul`](crate::reference::matmul) (the pointwise convolutions are this with A =
//! pixels x in-channels).

use super::binding::{Epilogue, check, check_params, epilogue_constants, optional, to_u32};
use super::conv2d::same_geometry;
use super::kernels::{Kernels, MATMUL};
use super::sums::Sums;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};
use crate::network::Activation;
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
    dw_kernel: u32,
    prologue_act: u32,
    /// Output columns per thread: the tile is 8 * cols wide.
    cols: u32,
    /// No workgroup tiles: A is read, not computed.
    direct: bool,
    /// The tiled path loads A 4 channels at a time.
    quads: bool,
    /// A thread's 4 rows lie inside one frame.
    frame_rows4: bool,
    /// Threads across a workgroup: 8 for the tiled path, 1 to 8 for a direct one
    /// ([`direct_columns`]).
    tx: u32,
}

impl Modes {
    /// Rows of C a workgroup computes: 4 a thread, 64 / tx threads down, and DIRECT takes two
    /// such tiles at once.
    fn workgroup_rows(&self) -> usize {
        let tile = THREAD_ROWS * (64 / self.tx as usize);
        if self.direct { 2 * tile } else { tile }
    }

    fn constants(&self, epilogue: &Epilogue) -> super::kernels::Constants {
        let mut constants = epilogue_constants(epilogue);
        constants.extend([
            ("A_MODE", self.a),
            ("GATE_MODE", self.gate),
            ("PLUS_MODE", self.plus),
            ("POOL", self.pool as u32),
            ("HAS_BIAS", self.bias as u32),
            ("DW_KERNEL", self.dw_kernel.max(1)),
            ("PRO_ACT", self.prologue_act),
            ("COLS", self.cols),
            ("DIRECT", self.direct as u32),
            ("QUADS", self.quads as u32),
            ("FRAME_ROWS4", self.frame_rows4 as u32),
            ("TX", self.tx),
        ]);
        constants
    }
}

/// Consecutive rows of C a thread computes: also the rows per group of C's sums, and a row of
/// an upsampled skip's frame holds whole groups of them.
const THREAD_ROWS: usize = 4;
/// (threads across, columns per thread) of a direct matmul of `m` rows and `n` columns: 8
/// columns a thread where n is a multiple of 8 (each A value a thread loads then serves 8
/// columns: the 1x1s 20-35% faster on SwiftShader than with 4), as many threads across as
/// divide n evenly while a workgroup's rows (512 / threads across) fit in m; else 4 threads of
/// 4 columns for a layer at most 16 wide, else the tiled path's [`columns_per_thread`].
fn direct_columns(m: usize, n: usize) -> (u32, u32) {
    let tx = [8u32, 4, 2, 1].into_iter().find(|&t| {
        n.is_multiple_of(8) && (n / 8).is_multiple_of(t as usize) && 512 / t as usize <= m
    });
    match (tx, n <= 16) {
        (Some(tx), _) => (tx, 8),
        (None, true) => (4, n.div_ceil(4) as u32),
        (None, false) => (8, columns_per_thread(n)),
    }
}

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

/// A skip: [m, k] added to A as it is loaded, or, with `half`, half-resolution frames of
/// (height, width) pixels and n channels, upsampled x2 bilinearly and added to the product
/// before the bias (a skip already projected by B: passes/upsample_into_loads.rs).
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
    /// Scales A's columns (a squeeze-excite gate folded into the loads): [frames, k].
    pub gate: Option<&'a wgpu::Buffer>,
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

    /// How C's sums are grouped when `pool`: one group per thread's 4 rows of a frame.
    pub fn sums(rows_per_frame: usize, n: usize) -> Sums {
        Sums::new(rows_per_frame, n, THREAD_ROWS)
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
        let pool_len = match (self.pool, rows.is_multiple_of(THREAD_ROWS)) {
            (false, _) => 0,
            (true, true) => Self::sums(rows, n).len(),
            (true, false) => {
                return Err(Error::InvalidInput(format!(
                    "matmul: pooling needs frames of a multiple of {THREAD_ROWS} rows, not {rows}"
                )));
            }
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
                if rows != 4 * h * w || !(2 * w).is_multiple_of(THREAD_ROWS) {
                    return Err(Error::InvalidInput(format!(
                        "matmul: {rows} rows per frame are not a x2 upsampling of {h}x{w} \
                         (its width a multiple of {THREAD_ROWS})"
                    )));
                }
                check(buffer, self.frames * h * w * n, "matmul plus")?;
                (modes.plus, params.width) = (2, to_u32(2 * w, "width")?);
                (params.plus_h, params.plus_w) = (to_u32(h, "plus")?, to_u32(w, "plus")?);
                buffer
            }
        };
        let gate = match self.gate {
            None => &gpu.empty,
            Some(g) => {
                check(g, self.frames * k, "matmul gate")?;
                modes.gate = 1;
                g
            }
        };
        // An A that is only read (plain or gated, a skip added): no tile to share, and a
        // thread takes two row tiles at once (B's loads shared).
        modes.direct = modes.a == 0;
        modes.frame_rows4 = rows.is_multiple_of(THREAD_ROWS);
        // The tiled path's workgroup is 8 threads across (its tiles' layout).
        (modes.tx, modes.cols) = match modes.direct {
            true => direct_columns(m, n),
            false => (8, columns_per_thread(n)),
        };
        // Every channel count of this network is a multiple of 4 (odd ones load one at a time).
        modes.quads = !modes.direct && k.is_multiple_of(4);
        let workgroups = [
            to_u32(n.div_ceil((modes.tx * modes.cols) as usize), "n tiles")?,
            to_u32(m.div_ceil(modes.workgroup_rows()), "m tiles")?,
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
}

#[cfg(test)]
mod tests;
