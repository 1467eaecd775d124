//! The kernels that do most of a frame's work, 16 lanes wide with AVX-512 (x86-64 CPUs that
//! have it), not 8, each output stored finished: the 1x1's direct GEMM (`gemm.rs`,
//! [`matmul`](super::matmul)'s), the depthwise convolution's and the stem's runs (`conv.rs`,
//! for [`conv`](super::conv)'s row loops), the head (`head.rs`, for
//! [`transposed`](super::transposed)), and here the channel means and the bilinear resize
//! ([`misc`](super::misc)'s). The others stay 8 wide: compiled with AVX-512 enabled, the
//! compiler did not widen them (a frame no faster). The engine's tests run these wherever the
//! CPU has AVX-512.

mod conv;
mod gemm;
mod head;

pub use conv::{depthwise_run, depthwise_span, window_run};
pub use gemm::direct;
pub use head::head_row;

use crate::network::Activation;
use std::arch::x86_64::*;

/// Whether the CPU has AVX-512F (with the AVX2 and FMA the rest of the engine uses).
pub fn available() -> bool {
    let forced_off = super::par::FORCE_AVX2.load(std::sync::atomic::Ordering::Relaxed);
    !forced_off && super::par::has_avx2() && std::is_x86_feature_detected!("avx512f")
}

pub(super) const FULL: __mmask16 = 0xFFFF;

/// The lanes of a register that `left` remaining columns fill.
pub(super) fn mask(left: usize) -> __mmask16 {
    if left >= 16 { FULL } else { (1 << left) - 1 }
}

/// `act(v)` as `epilogue::chunk` computes it.
#[target_feature(enable = "avx512f")]
pub(super) fn activated(v: __m512, act: Activation) -> __m512 {
    let zero = _mm512_setzero_ps();
    match act {
        Activation::Linear => v,
        Activation::Sigmoid => sigmoid(v),
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

/// The sigmoid as `epilogue::chunk` computes it (its `exp`, the same operations in the same
/// order).
#[target_feature(enable = "avx512f")]
fn sigmoid(v: __m512) -> __m512 {
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

/// `act(v) + add[..16]` (the add where given, its lanes masked by `lanes`), as
/// `epilogue::chunk` computes it: how every kernel here stores an output finished.
///
/// # Safety
/// `add`, where given, points at `lanes`' values.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn act_add(
    v: __m512,
    act: Activation,
    add: Option<*const f32>,
    lanes: __mmask16,
) -> __m512 {
    let v = activated(v, act);
    match add {
        None => v,
        // SAFETY: the caller's promise.
        Some(a) => _mm512_add_ps(v, unsafe { _mm512_maskz_loadu_ps(lanes, a) }),
    }
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
