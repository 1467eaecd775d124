//! The kernels that do most of a frame's work, 16 lanes wide with AVX-512 (x86-64 CPUs that
//! have it), not 8: the 1x1's direct GEMM ([`matmul`](super::matmul)'s, 1.3-2x faster at the
//! network's shapes on a 2-core Xeon, one thread), the depthwise convolution's run of pixels
//! inside the input and the stem's ([`conv`](super::conv)'s), the bilinear resize
//! ([`misc`](super::misc)'s). The others stay 8 wide: compiled with AVX-512
//! enabled, the compiler did not widen them (a frame no faster). The engine's tests run these
//! wherever the CPU has AVX-512.

use super::matmul::Finish;
use crate::network::Activation;
use std::arch::x86_64::*;

/// Whether the CPU has AVX-512F (with the AVX2 and FMA the rest of the engine uses).
pub fn available() -> bool {
    let forced_off = super::par::FORCE_AVX2.load(std::sync::atomic::Ordering::Relaxed);
    !forced_off && super::par::has_avx2() && std::is_x86_feature_detected!("avx512f")
}

/// `c = a . w` (a: m x k, w: k x n, c: m x n, row-major; n a multiple of 8), as
/// `matmul::direct`: R rows x B registers of C accumulate over k, each weight load shared by
/// the rows, each A value broadcast to the registers: 8 rows x 32 columns (16 accumulators of
/// the 32 registers, each broadcast serving two), 8 x 16 where 16 or fewer columns are left.
///
/// # Safety
/// The CPU has AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub unsafe fn direct(
    a: &[f32],
    w: &[f32],
    k: usize,
    n: usize,
    c: &mut [f32],
    finish: Option<Finish>,
) {
    let m = c.len() / n;
    assert!(n.is_multiple_of(8) && a.len() >= m * k && w.len() >= k * n && c.len() == m * n);
    if let Some(f) = finish {
        assert!(f.bias.len() == n && f.add.is_none_or(|add| add.len() == c.len()));
        assert!(
            f.act != Activation::Sigmoid,
            "the sigmoid is the epilogue's"
        );
    }
    let (a, w, c) = (a.as_ptr(), w.as_ptr(), c.as_mut_ptr());
    // SAFETY (every tile): rows < m, columns < n (the last 8 masked off where n0 + 16 > n),
    // checked against the lengths above.
    if k == 16 && n == 16 {
        // SAFETY: as below.
        return unsafe { square16(a, w, m, c, finish) };
    }
    // Two registers wherever more than 16 columns are left, the second masked (24 columns:
    // one broadcast of A per row serves both, where two 16-wide tiles took one each).
    for r0 in (0..m).step_by(8) {
        let rows = 8.min(m - r0);
        let mut n0 = 0;
        while n0 + 16 < n {
            let last = mask(n - n0 - 16);
            unsafe { tile::<8, 2>(a, w, k, n, c, r0, rows, n0, last, finish) };
            n0 += 32;
        }
        if n0 < n {
            unsafe { tile::<8, 1>(a, w, k, n, c, r0, rows, n0, mask(n - n0), finish) };
        }
    }
}

const FULL: __mmask16 = 0xFFFF;

/// A depthwise run: `P` consecutive output pixels (`out`, `c` channels each) whose windows'
/// taps `ky` x `kx` lie inside the input (an edge pixel: `P` = 1, the taps inside; none: the
/// bias alone). Tap (`ty`, `tx`) of pixel `p` is at element
/// `first + (ty - ky.start) * line + p * step + (tx - kx.start) * c` of `x`; weights [k, k, c].
/// Each tap's weights are loaded once for the `P` pixels; each pixel is stored finished,
/// `act(sum) + add` (`add` aligned with `out`).
///
/// # Safety
/// The CPU has AVX-512F (the bounds are checked here).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_run<const P: usize>(
    x: &[f32],
    (weight, bias): (&[f32], &[f32]),
    out: &mut [f32],
    (act, add): (Activation, Option<&[f32]>),
    first: usize,
    (ky, kx): (std::ops::Range<usize>, std::ops::Range<usize>),
    (k, c, line, step): (usize, usize, usize, usize),
) {
    assert!(ky.end <= k && kx.end <= k && k * k * c <= weight.len() && c <= bias.len());
    assert!(P * c <= out.len() && add.is_none_or(|a| a.len() >= P * c));
    assert!(
        ky.is_empty()
            || kx.is_empty()
            || first + (ky.len() - 1) * line + (P - 1) * step + kx.len() * c <= x.len()
    );
    let (x, weight, out) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    let add = add.map(<[f32]>::as_ptr);
    for c0 in (0..c).step_by(16) {
        let lanes = mask(c - c0);
        // SAFETY (every access): in bounds (asserted above); lanes past c masked off.
        let mut acc = [unsafe { _mm512_maskz_loadu_ps(lanes, bias.as_ptr().add(c0)) }; P];
        let mut at = first + c0;
        for ty in ky.clone() {
            for tx in kx.clone() {
                let w = unsafe { _mm512_maskz_loadu_ps(lanes, weight.add((ty * k + tx) * c + c0)) };
                let column = at + (tx - kx.start) * c;
                for (p, acc) in acc.iter_mut().enumerate() {
                    let v = unsafe { _mm512_maskz_loadu_ps(lanes, x.add(column + p * step)) };
                    *acc = _mm512_fmadd_ps(v, w, *acc);
                }
            }
            at += line;
        }
        for (p, acc) in acc.iter().enumerate() {
            let at = p * c + c0;
            let v = match add {
                None => activated(*acc, act),
                Some(a) => _mm512_add_ps(activated(*acc, act), unsafe {
                    _mm512_maskz_loadu_ps(lanes, a.add(at))
                }),
            };
            unsafe { _mm512_mask_storeu_ps(out.add(at), lanes, v) };
        }
    }
}

/// A depthwise run of `P` consecutive pixels of one output row, `K` x `K` taps at stride `S`
/// (`N` = (P - 1) S + K), anywhere along the row: window rows `ky` start at element
/// `top` of `x` (the row's column 0, channel 0) and their columns at `left` (negative, or
/// reaching past `width`, in the padding, which reads as zero). Each window row's `N` inputs
/// are loaded once, into registers, for every tap that reads them (P K loads a row before: as
/// many loads as multiply-adds, more than the load ports keep up with), and the edge pixels run
/// 8 at a time like the rest (one at a time, their single sum waited on each multiply-add).
/// Taps in the same order as [`depthwise_run`]'s; a tap in the padding adds a zero product, so
/// the same sums but for the sign of a zero.
///
/// # Safety
/// The CPU has AVX-512F (the bounds are checked here).
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // acc[p], v[..]: registers
pub unsafe fn depthwise_span<const P: usize, const K: usize, const S: usize, const N: usize>(
    x: &[f32],
    (weight, bias): (&[f32], &[f32]),
    out: &mut [f32],
    (act, add): (Activation, Option<&[f32]>),
    (top, left, width): (usize, isize, usize),
    ky: std::ops::Range<usize>,
    (c, line): (usize, usize),
) {
    assert!(N == (P - 1) * S + K && ky.end <= K && K * K * c <= weight.len() && c <= bias.len());
    assert!(P * c <= out.len() && add.is_none_or(|a| a.len() >= P * c));
    assert!(ky.is_empty() || top + (ky.len() - 1) * line + width * c <= x.len());
    // Compiled twice: the runs inside the input across load without a test per column.
    let (p, a, at) = ((weight, bias), (act, add), (top, left, width));
    match left < 0 || left + N as isize > width as isize {
        false => unsafe { span::<P, K, S, N, false>(x, p, out, a, at, ky, (c, line)) },
        true => unsafe { span::<P, K, S, N, true>(x, p, out, a, at, ky, (c, line)) },
    }
}

/// [`depthwise_span`]'s body, testing each column against the input where `EDGE`.
///
/// # Safety
/// As [`depthwise_span`], whose asserts hold.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::needless_range_loop)] // acc[p], v[..]: registers
unsafe fn span<const P: usize, const K: usize, const S: usize, const N: usize, const EDGE: bool>(
    x: &[f32],
    (weight, bias): (&[f32], &[f32]),
    out: &mut [f32],
    (act, add): (Activation, Option<&[f32]>),
    (top, left, width): (usize, isize, usize),
    ky: std::ops::Range<usize>,
    (c, line): (usize, usize),
) {
    let inside: [bool; N] = match EDGE {
        true => std::array::from_fn(|j| (0..width as isize).contains(&(left + j as isize))),
        false => [true; N],
    };
    let (x, weight, out) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    let add = add.map(<[f32]>::as_ptr);
    for c0 in (0..c).step_by(16) {
        let lanes = mask(c - c0);
        // SAFETY (every access): in bounds (asserted above: columns outside 0..width are not
        // loaded); lanes past c masked off.
        let mut acc = [unsafe { _mm512_maskz_loadu_ps(lanes, bias.as_ptr().add(c0)) }; P];
        let mut at = top + c0;
        for ty in ky.clone() {
            let v: [__m512; N] = std::array::from_fn(|j| match !EDGE || inside[j] {
                true => unsafe {
                    let column = (left + j as isize) as usize;
                    _mm512_maskz_loadu_ps(lanes, x.add(at + column * c))
                },
                false => _mm512_setzero_ps(),
            });
            for tx in 0..K {
                let w = unsafe { _mm512_maskz_loadu_ps(lanes, weight.add((ty * K + tx) * c + c0)) };
                for p in 0..P {
                    acc[p] = _mm512_fmadd_ps(v[p * S + tx], w, acc[p]);
                }
            }
            at += line;
        }
        for (p, acc) in acc.iter().enumerate() {
            let at = p * c + c0;
            let v = match add {
                None => activated(*acc, act),
                Some(a) => _mm512_add_ps(activated(*acc, act), unsafe {
                    _mm512_maskz_loadu_ps(lanes, a.add(at))
                }),
            };
            unsafe { _mm512_mask_storeu_ps(out.add(at), lanes, v) };
        }
    }
}

/// A KxK convolution's run with 16 outputs (the stem): `P` consecutive pixels whose window
/// rows `ky` are `len` consecutive inputs each (the taps inside the input across: all of them,
/// or an edge pixel's), window row `ty` of pixel `p` from `first + (ty - ky.start) * line +
/// p * step`, meeting `len` weight rows from `ty * w_line` (weights [k, k, cin, 16], offset to
/// the window's first tap). A row's even and odd inputs accumulate apart, so 2P sums are in
/// flight, not P (one register holds a pixel's 16 outputs). Stored as `act(sum)`.
///
/// # Safety
/// The CPU has AVX-512F (the bounds are checked here).
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // even[p], odd[p]: registers
pub unsafe fn window_run<const P: usize>(
    x: &[f32],
    (weight, bias): (&[f32], &[f32]),
    out: &mut [f32],
    act: Activation,
    first: usize,
    ky: std::ops::Range<usize>,
    (len, line, step): (usize, usize, usize),
    w_line: usize,
) {
    assert!(bias.len() == 16 && out.len() >= P * 16);
    if !ky.is_empty() && len > 0 {
        assert!(first + (ky.len() - 1) * line + (P - 1) * step + len <= x.len());
        assert!((ky.end - 1) * w_line + len * 16 <= weight.len());
    }
    let (x, weight) = (x.as_ptr(), weight.as_ptr());
    // SAFETY (every access): inside the bounds asserted above.
    let mut even = [unsafe { _mm512_loadu_ps(bias.as_ptr()) }; P];
    let mut odd = [_mm512_setzero_ps(); P];
    let mut at = first;
    for ty in ky {
        let w = unsafe { weight.add(ty * w_line) };
        let mut j = 0;
        while j + 1 < len {
            let w0 = unsafe { _mm512_loadu_ps(w.add(j * 16)) };
            let w1 = unsafe { _mm512_loadu_ps(w.add(j * 16 + 16)) };
            for p in 0..P {
                let v = unsafe { x.add(at + p * step + j) };
                even[p] = _mm512_fmadd_ps(_mm512_set1_ps(unsafe { *v }), w0, even[p]);
                odd[p] = _mm512_fmadd_ps(_mm512_set1_ps(unsafe { *v.add(1) }), w1, odd[p]);
            }
            j += 2;
        }
        if j < len {
            let w0 = unsafe { _mm512_loadu_ps(w.add(j * 16)) };
            for p in 0..P {
                let v = unsafe { *x.add(at + p * step + j) };
                even[p] = _mm512_fmadd_ps(_mm512_set1_ps(v), w0, even[p]);
            }
        }
        at += line;
    }
    for p in 0..P {
        let v = activated(_mm512_add_ps(even[p], odd[p]), act);
        unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(p * 16), v) };
    }
}

/// [`misc::resize_rows`](super::misc::resize_rows) 16 channels a register (its upsampled skips
/// ran 4 lanes wide, the loop over 16 or 24 channels too short for the compiler's 8 x 4):
/// output rows `y0..` of a bilinear resize of `x` (`input`) into `rows`, added where `add`,
/// with the same operations in the same order.
///
/// # Safety
/// The CPU has AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn resize_rows(
    input: crate::tensor::Shape,
    x: &[f32],
    out_h: usize,
    columns: &[(usize, usize, f32)],
    rows: &mut [f32],
    y0: usize,
    add: bool,
) {
    let c = input.channels;
    assert!(x.len() >= input.len() && columns.iter().all(|t| t.1 < input.width));
    let one = _mm512_set1_ps(1.0);
    for (r, row) in rows.chunks_exact_mut(columns.len() * c).enumerate() {
        let (ya, yb, fy) = crate::reference::bilinear_taps(y0 + r, input.height, out_h);
        let (fy, gy) = (_mm512_set1_ps(fy), _mm512_sub_ps(one, _mm512_set1_ps(fy)));
        let (top, bottom) = (
            x[ya * input.width * c..].as_ptr(),
            x[yb * input.width * c..].as_ptr(),
        );
        for (px, &(x0, x1, fx)) in row.chunks_exact_mut(c).zip(columns) {
            let (fx, gx) = (_mm512_set1_ps(fx), _mm512_sub_ps(one, _mm512_set1_ps(fx)));
            for c0 in (0..c).step_by(16) {
                let lanes = mask(c - c0);
                // SAFETY: rows ya, yb and columns x0, x1 lie in x (asserted); lanes past c masked.
                let load = |p: *const f32, i: usize| unsafe {
                    _mm512_maskz_loadu_ps(lanes, p.add(i * c + c0))
                };
                let t = _mm512_add_ps(
                    _mm512_mul_ps(load(top, x0), gx),
                    _mm512_mul_ps(load(top, x1), fx),
                );
                let b = _mm512_add_ps(
                    _mm512_mul_ps(load(bottom, x0), gx),
                    _mm512_mul_ps(load(bottom, x1), fx),
                );
                let mut v = _mm512_add_ps(_mm512_mul_ps(t, gy), _mm512_mul_ps(b, fy));
                let at = unsafe { px.as_mut_ptr().add(c0) };
                if add {
                    v = _mm512_add_ps(v, unsafe { _mm512_maskz_loadu_ps(lanes, at) });
                }
                unsafe { _mm512_mask_storeu_ps(at, lanes, v) };
            }
        }
    }
}

/// The head (a 2x2 stride-2 transposed convolution from 16 channels to 1) over one input row
/// (`row`: pixels x 16 channels) into its two output rows (`two`: 2 x 2 pixels each),
/// `act(sum + bias)`; weights [16, n], tap `ky * 2 + kx` in column `ky * 2 + kx` (as
/// [`transposed`](super::transposed) packs them). 16 pixels at a time, transposed so the lanes
/// hold pixels: each tap is then 16 multiply-adds across the channels, with no sum across
/// lanes, and each output row pair two interleaves (as a GEMM with 4 of 16 columns useful, then
/// scattered, the head took a tenth of a frame).
///
/// # Safety
/// The CPU has AVX-512F (the bounds are checked here).
#[target_feature(enable = "avx512f")]
pub unsafe fn head_row(
    row: &[f32],
    weight: &[f32],
    n: usize,
    bias: f32,
    act: Activation,
    two: &mut [f32],
) {
    let width = row.len() / 16;
    assert!(row.len() == width * 16 && two.len() == 4 * width && n >= 4 && weight.len() >= 16 * n);
    let (ptr, w) = (row.as_ptr(), weight.as_ptr());
    // Interleaving two taps' pixels: lanes 0..16 of (a, b) -> a0 b0 a1 b1 .., and 8.. -> a8 b8 ..
    let low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    let high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for x0 in (0..width).step_by(16) {
        let pixels = 16.min(width - x0);
        let mut lines = [_mm512_setzero_ps(); 16];
        for (p, line) in lines.iter_mut().enumerate().take(pixels) {
            // SAFETY: pixel x0 + p < width, 16 channels each.
            *line = unsafe { _mm512_loadu_ps(ptr.add((x0 + p) * 16)) };
        }
        let channels = transpose(lines);
        let mut taps = [_mm512_setzero_ps(); 4];
        for (c, v) in channels.iter().enumerate() {
            for (t, acc) in taps.iter_mut().enumerate() {
                // SAFETY: c < 16, t < 4 <= n.
                let wt = _mm512_set1_ps(unsafe { *w.add(c * n + t) });
                *acc = _mm512_fmadd_ps(*v, wt, *acc);
            }
        }
        let taps = taps.map(|v| finished_head(_mm512_add_ps(v, _mm512_set1_ps(bias)), act));
        let (left, right) = (mask(2 * pixels), mask((2 * pixels).saturating_sub(16)));
        for ky in 0..2 {
            let (a, b) = (taps[2 * ky], taps[2 * ky + 1]);
            // SAFETY: output row ky, columns 2 * x0 .. 2 * (x0 + pixels), masked.
            let at = unsafe { two.as_mut_ptr().add(ky * 2 * width + 2 * x0) };
            unsafe { _mm512_mask_storeu_ps(at, left, _mm512_permutex2var_ps(a, low, b)) };
            unsafe { _mm512_mask_storeu_ps(at.add(16), right, _mm512_permutex2var_ps(a, high, b)) };
        }
    }
}

/// Rows of a 16 x 16 block as its columns (unpack, shuffle within 128-bit lanes, then twice
/// across them).
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512; 16]) -> [__m512; 16] {
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // u[4 * g + e]: element e of each 128-bit lane, rows 4g..4g + 4.
    let u: [__m512; 16] = std::array::from_fn(|i| {
        let (g, e) = (i / 4, i % 4);
        let (a, b) = (t[4 * g + e / 2], t[4 * g + 2 + e / 2]);
        if e % 2 == 0 {
            _mm512_shuffle_ps::<0x44>(a, b)
        } else {
            _mm512_shuffle_ps::<0xEE>(a, b)
        }
    });
    let mut columns = [_mm512_setzero_ps(); 16];
    for e in 0..4 {
        let v = _mm512_shuffle_f32x4::<0x88>(u[e], u[4 + e]);
        let w = _mm512_shuffle_f32x4::<0xDD>(u[e], u[4 + e]);
        let v2 = _mm512_shuffle_f32x4::<0x88>(u[8 + e], u[12 + e]);
        let w2 = _mm512_shuffle_f32x4::<0xDD>(u[8 + e], u[12 + e]);
        columns[e] = _mm512_shuffle_f32x4::<0x88>(v, v2);
        columns[8 + e] = _mm512_shuffle_f32x4::<0xDD>(v, v2);
        columns[4 + e] = _mm512_shuffle_f32x4::<0x88>(w, w2);
        columns[12 + e] = _mm512_shuffle_f32x4::<0xDD>(w, w2);
    }
    columns
}

/// `act(v)` with the sigmoid too, as `epilogue::chunk` computes it (its `exp`, the same
/// operations in the same order).
#[target_feature(enable = "avx512f")]
fn finished_head(v: __m512, act: Activation) -> __m512 {
    if act != Activation::Sigmoid {
        return activated(v, act);
    }
    let set = _mm512_set1_ps;
    let (mul, add, sub) = (_mm512_mul_ps, _mm512_add_ps, _mm512_sub_ps);
    // exp(-v), v below -80 taken as -80 (epilogue's `activate`), then clamped as its `exp`.
    let below = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, set(-80.0));
    let x = _mm512_mask_mov_ps(sub(_mm512_setzero_ps(), v), below, set(80.0));
    // The bound first: max and min return their second operand when either is NaN, so a NaN
    // passes through, as `f32::clamp` lets it.
    let x = _mm512_min_ps(set(88.0), _mm512_max_ps(set(-87.0), x));
    const SHIFT: f32 = 12_582_912.0;
    let t = add(mul(x, set(std::f32::consts::LOG2_E)), set(SHIFT));
    let n = sub(t, set(SHIFT));
    let r = add(
        sub(x, mul(n, set(0.693_359_4))),
        mul(n, set(2.121_944_4e-4)),
    );
    let mut p = set(1.987_569_1e-4);
    for coefficient in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = add(mul(p, r), set(coefficient));
    }
    let bits = _mm512_sub_epi32(
        _mm512_castps_si512(t),
        _mm512_set1_epi32(SHIFT.to_bits() as i32),
    );
    let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
        bits,
        _mm512_set1_epi32(127),
    )));
    let e = mul(add(add(mul(mul(p, r), r), r), set(1.0)), scale);
    _mm512_div_ps(set(1.0), add(set(1.0), e))
}

/// [`misc::partial_sums`](super::misc::partial_sums) with `R` registers of channels (`c` =
/// 16R): adds `x`'s per-channel sums to `sums`, each run of 16 pixels summed in f32 in
/// registers, then into f64 registers (the 8-lane loop kept its sums in memory: a load and a
/// store per add; the gates' pooling ~25% faster, one thread).
///
/// # Safety
/// The CPU has AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn channel_sums<const R: usize>(x: &[f32], sums: &mut [f64]) {
    let c = 16 * R;
    assert!(x.len().is_multiple_of(c) && sums.len() == c);
    let mut wide = [[_mm512_setzero_pd(); 2]; R];
    for run in x.chunks(16 * c) {
        let mut acc = [_mm512_setzero_ps(); R];
        for px in run.chunks_exact(c) {
            for (j, acc) in acc.iter_mut().enumerate() {
                // SAFETY: 16 (j + 1) <= c = px.len().
                *acc = _mm512_add_ps(*acc, unsafe { _mm512_loadu_ps(px.as_ptr().add(16 * j)) });
            }
        }
        for (w, acc) in wide.iter_mut().zip(acc) {
            w[0] = _mm512_add_pd(w[0], _mm512_cvtps_pd(_mm512_castps512_ps256(acc)));
            let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc)));
            w[1] = _mm512_add_pd(w[1], _mm512_cvtps_pd(high));
        }
    }
    for (j, w) in wide.iter().enumerate() {
        let mut lanes = [0.0f64; 16];
        // SAFETY: 16 lanes, two stores of 8.
        unsafe {
            _mm512_storeu_pd(lanes.as_mut_ptr(), w[0]);
            _mm512_storeu_pd(lanes.as_mut_ptr().add(8), w[1]);
        }
        sums[16 * j..16 * (j + 1)]
            .iter_mut()
            .zip(lanes)
            .for_each(|(s, v)| *s += v);
    }
}

/// The lanes of a register that `left` remaining columns fill.
fn mask(left: usize) -> __mmask16 {
    if left >= 16 { FULL } else { (1 << left) - 1 }
}

/// Rows `r0..r0 + rows` (at most R; missing rows repeat the last, computed, not stored) x
/// columns `n0..n0 + 16B` of C, the last register's lanes masked by `last`, finished as stored.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // acc[row][block]: registers
unsafe fn tile<const R: usize, const B: usize>(
    a: *const f32,
    w: *const f32,
    k: usize,
    n: usize,
    c: *mut f32,
    r0: usize,
    rows: usize,
    n0: usize,
    last: __mmask16,
    finish: Option<Finish>,
) {
    let mut acc = [[_mm512_setzero_ps(); B]; R];
    let mut a_rows = [a; R];
    for r in 0..R {
        a_rows[r] = unsafe { a.add((r0 + r.min(rows - 1)) * k) };
    }
    for kk in 0..k {
        let row = unsafe { w.add(kk * n + n0) };
        let mut ws = [_mm512_setzero_ps(); B];
        for b in 0..B {
            ws[b] = unsafe {
                match b + 1 == B {
                    true => _mm512_maskz_loadu_ps(last, row.add(16 * b)),
                    false => _mm512_loadu_ps(row.add(16 * b)),
                }
            };
        }
        for r in 0..R {
            let v = _mm512_set1_ps(unsafe { *a_rows[r].add(kk) });
            for b in 0..B {
                acc[r][b] = _mm512_fmadd_ps(v, ws[b], acc[r][b]);
            }
        }
    }
    for r in 0..rows {
        for b in 0..B {
            let lanes = if b + 1 == B { last } else { FULL };
            let at = (r0 + r) * n + n0 + 16 * b;
            let mut v = acc[r][b];
            if let Some(f) = finish {
                v = unsafe { finished(v, f, n0 + 16 * b, at, lanes) };
            }
            unsafe { _mm512_mask_storeu_ps(c.add(at), lanes, v) };
        }
    }
}

/// [`direct`] with 16 inputs and 16 outputs (the 64x64 and 128x128 layers): the 16 weight
/// registers loaded once for all of C's rows, not once per 8 (loads, one per multiply-add,
/// are what bound this shape); else as [`tile`]`::<8, 1>`.
///
/// # Safety
/// As [`direct`], whose asserts hold.
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)] // acc[row], ws[kk]: registers
unsafe fn square16(a: *const f32, w: *const f32, m: usize, c: *mut f32, finish: Option<Finish>) {
    // SAFETY (every access): w is 16 x 16, a m x 16, c m x 16 (direct's asserts).
    let ws: [__m512; 16] = std::array::from_fn(|kk| unsafe { _mm512_loadu_ps(w.add(16 * kk)) });
    for r0 in (0..m).step_by(8) {
        let rows = 8.min(m - r0);
        let a_rows: [*const f32; 8] =
            std::array::from_fn(|r| unsafe { a.add((r0 + r.min(rows - 1)) * 16) });
        let mut acc = [_mm512_setzero_ps(); 8];
        for kk in 0..16 {
            for r in 0..8 {
                let v = _mm512_set1_ps(unsafe { *a_rows[r].add(kk) });
                acc[r] = _mm512_fmadd_ps(v, ws[kk], acc[r]);
            }
        }
        for r in 0..rows {
            let at = (r0 + r) * 16;
            let mut v = acc[r];
            if let Some(f) = finish {
                v = unsafe { finished(v, f, 0, at, FULL) };
            }
            unsafe { _mm512_storeu_ps(c.add(at), v) };
        }
    }
}

/// `act(v + bias[column..]) + add[at..]`, as `epilogue::chunk` computes it (the same operations
/// in the same order, so the same bits).
#[target_feature(enable = "avx512f")]
unsafe fn finished(v: __m512, f: Finish, column: usize, at: usize, lanes: __mmask16) -> __m512 {
    // SAFETY: bias has n values, add C's (direct's asserts); lanes past n masked off.
    let bias = unsafe { _mm512_maskz_loadu_ps(lanes, f.bias.as_ptr().add(column)) };
    let v = activated(_mm512_add_ps(v, bias), f.act);
    match f.add {
        None => v,
        Some(add) => _mm512_add_ps(v, unsafe {
            _mm512_maskz_loadu_ps(lanes, add.as_ptr().add(at))
        }),
    }
}

/// `act(v)` as `epilogue::chunk` computes it, but the sigmoid (left to the epilogue).
#[target_feature(enable = "avx512f")]
fn activated(v: __m512, act: Activation) -> __m512 {
    let zero = _mm512_setzero_ps();
    match act {
        Activation::Linear | Activation::Sigmoid => v,
        Activation::Relu => _mm512_max_ps(v, zero),
        Activation::HardSwish => {
            let t = _mm512_min_ps(
                _mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0)), zero),
                _mm512_set1_ps(6.0),
            );
            _mm512_mul_ps(_mm512_mul_ps(v, t), _mm512_set1_ps(1.0 / 6.0))
        }
    }
}
