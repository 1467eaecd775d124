//! The windowed convolutions' runs of pixels 16 channels a register (the row loops that call
//! them: [`conv::wide`](super::super::conv::wide)).

use super::{act_add, activated, mask};
use crate::network::Activation;
use std::arch::x86_64::*;

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
        // SAFETY: as above.
        unsafe { store_pixels(&acc, (act, add), out, (c, c0), lanes) };
    }
}

/// Each pixel's sums `acc[p]` (channels `c0..`, `lanes` of them) stored finished at
/// `out + p * c + c0`, `act(sum) + add` (`add` aligned with `out`).
///
/// # Safety
/// The CPU has AVX-512F; `out` (and `add`, where given) hold those lanes of every pixel.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_pixels(
    acc: &[__m512],
    (act, add): (Activation, Option<*const f32>),
    out: *mut f32,
    (c, c0): (usize, usize),
    lanes: __mmask16,
) {
    for (p, acc) in acc.iter().enumerate() {
        let at = p * c + c0;
        // SAFETY: the caller's promise.
        let v = unsafe { act_add(*acc, act, add.map(|a| a.add(at)), lanes) };
        unsafe { _mm512_mask_storeu_ps(out.add(at), lanes, v) };
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
        // SAFETY: as above.
        unsafe { store_pixels(&acc, (act, add), out, (c, c0), lanes) };
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
