//! matmul: C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n],
//! row-major; the gate may be computed in the kernel's prologue (a pooled squeeze-excite gate),
//! the skip sampled from a half-resolution tensor (a folded x2 upsampling), and C's per-channel
//! sums written after it (for a gate pooled downstream).
//! Kernel: shaders/matmul.wgsl. CPU twin: [`cpu::matmul`](crate::cpu::matmul) (the pointwise
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
    /// No workgroup tiles: K fits one step and A is read, not computed or upsampled.
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
            ("QUADS", self.quads as u32),
        ]);
        constants
    }
}

/// Output tile edge of one workgroup (see the kernel): also the rows per group of C's sums.
const TILE: usize = 32;
/// K advances this many at a time through workgroup memory (matmul.wgsl's `TILE_K`).
const TILE_K: usize = 16;
/// Row tiles one workgroup computes: with a pooled gate at high resolution, 4, so a quarter as
/// many workgroups each work the gate out from its producers' sums (at 128x128 that prologue
/// read more than the layer itself); else 1. The tiles of a workgroup stay in one frame.
fn row_tiles(gate_mode: u32, rows_per_frame: usize) -> usize {
    let tiles = 4;
    let many = rows_per_frame >= ROW_TILES_FROM * TILE;
    if gate_mode == 2 && many && rows_per_frame.is_multiple_of(tiles * TILE) {
        tiles
    } else {
        1
    }
}

/// Row tiles per frame from which [`row_tiles`] groups them.
const ROW_TILES_FROM: usize = 64;

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
        // One K step and an A that is only read (plain or gated, a skip added): no tile to share.
        modes.direct = k <= TILE_K && modes.a == 0 && modes.plus != 2;
        modes.row_tiles = row_tiles(modes.gate, rows) as u32;
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
mod tests {
    use super::*;
    use crate::cpu;
    use crate::network::Activation;
    use crate::ops::testing::*;

    #[test]
    fn matches_cpu_on_odd_and_network_shapes() {
        let Some((gpu, kernels)) = gpu() else { return };
        // (m, k, n): odd sizes, non-multiples of the 32x32x16 tiles, and the network's own shapes.
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (33, 17, 31),
            (65, 16, 1),
            (100, 129, 40),
            (16384, 16, 16),
            (4096, 16, 72),
            (1024, 72, 24),
            (1024, 24, 88),
            (256, 96, 32),
            (256, 32, 128),
        ];
        for (seed, &(m, k, n)) in shapes.iter().enumerate() {
            let a = random(m * k, seed as u64);
            let b = random(k * n, seed as u64 + 100);
            let (ga, gb, gc) = (
                gpu.upload("a", &a),
                gpu.upload("b", &b),
                gpu.storage("c", m * n),
            );
            Matmul::new(&ga, &gb, &gc, m, k, n)
                .bind(gpu, kernels)
                .unwrap()
                .run(gpu)
                .unwrap();
            assert_close(
                &gpu.read(&gc, m * n).unwrap(),
                &cpu::matmul(&a, &b, m, k, n),
                1e-5,
                &format!("matmul {m}x{k}x{n}"),
            );
        }
    }

    #[test]
    fn fused_gate_skip_bias_activation_and_add() {
        let Some((gpu, kernels)) = gpu() else { return };
        // Three frames of 37 rows, each with its own gate; K over one step (tiled, A loaded one
        // channel and 4 channels at a time) and within one (DIRECT).
        for k in [19, 7, 20] {
            let (frames, m, n) = (3, 3 * 37, 23);
            let (a, b, bias, gate, add, plus) = (
                random(m * k, 1),
                random(k * n, 2),
                random(n, 3),
                random(frames * k, 4),
                random(m * n, 5),
                random(m * k, 6),
            );
            let frame_of = |i: usize| i / k / (m / frames);
            let gated: Vec<f32> = a
                .iter()
                .enumerate()
                .map(|(i, v)| v * gate[frame_of(i) * k + i % k] + plus[i])
                .collect();
            let expected: Vec<f32> = cpu::matmul(&gated, &b, m, k, n)
                .iter()
                .enumerate()
                .map(|(i, v)| cpu::hard_swish(v + bias[i % n]) + add[i])
                .collect();
            let bufs = upload_all(gpu, [&a, &b, &bias, &gate, &add, &plus]);
            let out = gpu.storage("out", m * n);
            let op = Matmul {
                bias: Some(&bufs[2]),
                gate: Some(MatmulGate::Buffer(&bufs[3])),
                plus: Some(MatmulPlus {
                    buffer: &bufs[5],
                    half: None,
                }),
                epilogue: Epilogue {
                    act: Activation::HardSwish,
                    add: Some(&bufs[4]),
                },
                frames,
                ..Matmul::new(&bufs[0], &bufs[1], &out, m, k, n)
            };
            run_and_check(
                gpu,
                op.bind(gpu, kernels),
                &out,
                &expected,
                1e-5,
                &format!("fused matmul, k = {k}"),
            );
        }
    }

    /// A layer of random parameters, `outs` x `ins`.
    fn fc_layer(ins: usize, outs: usize, seed: u64) -> Layer {
        Layer {
            name: format!("fc{seed}"),
            weight: random(outs * ins, seed),
            bias: random(outs, seed + 1),
            kernel: 1,
        }
    }

    /// The fusions around the product against the CPU twins run one by one (cpu::resize_bilinear,
    /// channel_gate, mul_channels, add, matmul): a two-layer gate pooled from A plus a skip
    /// upsampled on the fly, a one-layer gate pooled from another tensor, and C's sums, on odd
    /// channel counts and two frames; with and without subgroups where the adapter has them.
    #[test]
    fn pooled_gate_upsampled_skip_and_sums_match_cpu() {
        for (gpu, kernels) in gpus() {
            pooled_gate_cases(gpu, kernels);
        }
    }

    fn pooled_gate_cases(gpu: &Gpu, kernels: &Kernels) {
        use crate::tensor::{Shape, Tensor};
        // (half-resolution frame, k, n): rows per frame 4 * h * w, a multiple of 32.
        for (case, &(half, k, n, two_layers)) in [
            ((2, 4), 5, 7, true),
            ((4, 4), 3, 37, false),
            ((4, 8), 24, 16, true),
            // 64 row tiles a frame: 4 to a workgroup (row_tiles).
            ((16, 32), 8, 20, true),
            // The FC widths of the network's widest gate, 128 -> 32 -> 128, more inputs than a
            // subgroup has lanes.
            ((2, 4), 128, 24, true),
        ]
        .iter()
        .enumerate()
        {
            let seed = 10 * case as u64;
            let frames = 2;
            let (h, w) = half;
            let full = Shape::new(2 * h, 2 * w, k);
            let rows = full.pixels();
            let m = frames * rows;
            let a: Vec<Tensor> = (0..frames as u64).map(|f| tensor(full, seed + f)).collect();
            let low: Vec<Tensor> = (0..frames as u64)
                .map(|f| tensor(Shape::new(h, w, k), seed + 5 + f))
                .collect();
            let other: Vec<Tensor> = (0..frames as u64)
                .map(|f| tensor(Shape::new(3, 5, 6), seed + 7 + f))
                .collect();
            let layers = match two_layers {
                true => {
                    let hidden = (k / 4).max(3);
                    vec![
                        fc_layer(k, hidden, seed + 20),
                        fc_layer(hidden, k, seed + 22),
                    ]
                }
                false => vec![fc_layer(6, k, seed + 24)],
            };
            let (b, bias, add) = (
                random(k * n, seed + 30),
                random(n, seed + 31),
                random(m * n, seed + 32),
            );
            // CPU: the skip upsampled, the gate, then the product.
            let mut expected = Vec::new();
            for f in 0..frames {
                let up = cpu::resize_bilinear(&low[f], 2 * h, 2 * w);
                let gate = match two_layers {
                    true => cpu::channel_gate(&cpu::add(&a[f], &up), &layers),
                    false => cpu::channel_gate(&other[f], &layers),
                };
                let x = cpu::add(&cpu::mul_channels(&a[f], &gate), &up);
                let c = cpu::matmul(&x.data, &b, rows, k, n);
                expected.extend(
                    c.iter()
                        .enumerate()
                        .map(|(i, v)| cpu::relu(v + bias[i % n]) + add[f * rows * n + i]),
                );
            }
            // GPU: each pooled tensor followed by its sums, as its producer leaves them.
            let with_sums = |t: &[Tensor], sums: Sums| {
                let mut data = concat(t);
                data.extend(sums.of(&concat(t), frames));
                data
            };
            let a_sums = Matmul::sums(rows, k);
            let low_sums = Sums::windowed(h * w, k);
            let other_sums = Sums::windowed(15, 6);
            let (packed, fc) = GateFc::pack(&b, &layers.iter().collect::<Vec<_>>());
            let [ga, glow, gother, gb, gbias, gadd] = upload_all(
                gpu,
                [
                    &with_sums(&a, a_sums),
                    &with_sums(&low, low_sums),
                    &with_sums(&other, other_sums),
                    &packed,
                    &bias,
                    &add,
                ],
            );
            let pooled = match two_layers {
                true => PooledGate {
                    source: &ga,
                    source_sums: a_sums,
                    plus_sums: Some(low_sums),
                    fc,
                },
                false => PooledGate {
                    source: &gother,
                    source_sums: other_sums,
                    plus_sums: None,
                    fc,
                },
            };
            let out_sums = Matmul::sums(rows, n);
            let out = gpu.storage("out", m * n + frames * out_sums.len());
            let op = Matmul {
                bias: Some(&gbias),
                gate: Some(MatmulGate::Pooled(pooled)),
                plus: Some(MatmulPlus {
                    buffer: &glow,
                    half: Some(half),
                }),
                epilogue: Epilogue {
                    act: Activation::Relu,
                    add: Some(&gadd),
                },
                frames,
                pool: true,
                ..Matmul::new(&ga, &gb, &out, m, k, n)
            };
            let what = format!("fused matmul {case}: {full} -> {n}");
            run_and_check_pooled(
                gpu,
                op.bind(gpu, kernels),
                &out,
                (&expected, out_sums, frames),
                &what,
            );
        }
    }

    /// A computed as the depthwise of `a` (odd sizes, strides 1 and 2, its add as plus, two
    /// frames) against cpu::depthwise_conv2d then cpu::matmul.
    #[test]
    fn depthwise_computed_a_matches_cpu() {
        use crate::tensor::Shape;
        let Some((gpu, kernels)) = gpu() else { return };
        for (case, &(input, kernel, stride, n)) in [
            (Shape::new(7, 5, 6), 3, 2, 5),
            (Shape::new(9, 8, 19), 3, 1, 33),
            (Shape::new(6, 6, 4), 5, 1, 2),
            (Shape::new(32, 32, 24), 3, 1, 16),
        ]
        .iter()
        .enumerate()
        {
            let (frames, seed, k) = (2, 40 * case as u64, input.channels);
            let xs = tensors(input, frames, seed);
            let (dw_w, dw_b) = (random(kernel * kernel * k, seed + 1), random(k, seed + 2));
            let dws: Vec<_> = xs
                .iter()
                .map(|x| {
                    cpu::map(
                        &cpu::depthwise_conv2d(x, &dw_w, &dw_b, kernel, stride),
                        cpu::relu,
                    )
                })
                .collect();
            let mid = dws[0].shape;
            let m = frames * mid.pixels();
            let (b, bias, plus) = (
                random(k * n, seed + 3),
                random(n, seed + 4),
                random(m * k, seed + 5),
            );
            let a: Vec<f32> = concat(&dws).iter().zip(&plus).map(|(d, p)| d + p).collect();
            let expected: Vec<f32> = cpu::matmul(&a, &b, m, k, n)
                .iter()
                .enumerate()
                .map(|(i, v)| v + bias[i % n])
                .collect();
            let mut packed = b.clone();
            packed.extend(&dw_w);
            packed.extend(&dw_b);
            let [gx, gb, gbias, gplus] = upload_all(gpu, [&concat(&xs), &packed, &bias, &plus]);
            let out = gpu.storage("out", m * n);
            let op = Matmul {
                bias: Some(&gbias),
                plus: Some(MatmulPlus {
                    buffer: &gplus,
                    half: None,
                }),
                computed: Some(ComputedA {
                    op: ComputedOp::Depthwise {
                        input,
                        kernel,
                        stride,
                    },
                    act: Activation::Relu,
                    weight_offset: k * n,
                    bias_offset: k * n + dw_w.len(),
                }),
                frames,
                ..Matmul::new(&gx, &gb, &out, m, k, n)
            };
            let what = format!("depthwise {input} k{kernel} s{stride} -> matmul n{n}");
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
        }
    }

    /// A computed as a first 1x1 (odd widths, a gate per frame) against two cpu::matmul calls.
    #[test]
    fn pointwise_computed_a_matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        for &(frames, rows, c, k, n) in &[(1, 37, 5, 7, 3), (2, 64, 32, 128, 24)] {
            let m = frames * rows;
            let (x, w1, b1) = (random(m * c, 1), random(c * k, 2), random(k, 3));
            let (b, gate) = (random(k * n, 4), random(frames * k, 5));
            let first: Vec<f32> = cpu::matmul(&x, &w1, m, c, k)
                .iter()
                .enumerate()
                .map(|(i, v)| cpu::relu(v + b1[i % k]) * gate[(i / k / rows) * k + i % k])
                .collect();
            let expected = cpu::matmul(&first, &b, m, k, n);
            let mut packed = b.clone();
            packed.extend(&w1);
            packed.extend(&b1);
            let [gx, gb, gg] = upload_all(gpu, [&x, &packed, &gate]);
            let out = gpu.storage("out", m * n);
            let op = Matmul {
                gate: Some(MatmulGate::Buffer(&gg)),
                computed: Some(ComputedA {
                    op: ComputedOp::Pointwise { channels: c },
                    act: Activation::Relu,
                    weight_offset: k * n,
                    bias_offset: k * n + c * k,
                }),
                frames,
                ..Matmul::new(&gx, &gb, &out, m, k, n)
            };
            let what = format!("1x1 {c} -> {k} -> matmul {n}, {frames} frames");
            run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
        }
    }

    #[test]
    fn pooling_needs_whole_row_tiles_per_frame() {
        let Some((gpu, kernels)) = gpu() else { return };
        let buf = gpu.storage("any", 4096);
        let op = Matmul {
            pool: true,
            frames: 2,
            ..Matmul::new(&buf, &buf, &buf, 2 * 20, 4, 4)
        };
        let err = op.bind(gpu, kernels).unwrap_err();
        assert!(err.to_string().contains("multiple of 32 rows"), "{err}");
    }

    #[test]
    fn tiles_fit_the_network_s_widths() {
        // (n, columns per thread): at most an eighth of the tile idle, widest first.
        for (n, cols) in [
            (1, 1),
            (8, 1),
            (16, 2),
            (24, 3),
            (32, 4),
            (72, 3),
            (88, 4),
            (128, 4),
        ] {
            assert_eq!(columns_per_thread(n), cols, "n = {n}");
        }
    }

    #[test]
    fn undersized_buffer_is_a_typed_error() {
        let Some((gpu, kernels)) = gpu() else { return };
        let small = gpu.storage("small", 3);
        let err = Matmul::new(&small, &small, &small, 2, 2, 2)
            .bind(gpu, kernels)
            .unwrap_err();
        assert!(
            matches!(
                &err,
                crate::Error::BufferTooSmall {
                    bytes: 12,
                    needs: 16,
                    ..
                }
            ),
            "{err}"
        );
    }
}
