//! The head, a 2x2 stride-2 transposed convolution from 16 channels to 1
//! ([`transposed`](super::super::transposed)'s), with its sigmoid.

use super::{activated, mask};
use crate::network::Activation;
use std::arch::x86_64::*;

/// The head (a 2x2 stride-2 transposed convolution from 16 channels to 1) over one input row
/// (`row`: pixels x 16 channels) into its two output rows (`two`: 2 x 2 pixels each),
/// `act(sum + bias)`; weights [16, n], tap `ky * 2 + kx` in column `ky * 2 + kx` (as
/// [`transposed`](super::super::transposed) packs them). 16 pixels at a time, transposed so the lanes
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
        let taps = taps.map(|v| activated(_mm512_add_ps(v, _mm512_set1_ps(bias)), act));
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
