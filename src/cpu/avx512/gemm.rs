//! The 1x1's direct GEMM ([`matmul`](super::super::matmul)'s) 16 lanes wide.

use super::{FULL, act_add, mask};
use crate::cpu::matmul::Finish;
use std::arch::x86_64::*;

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
    let add = f.add.map(|a| unsafe { a.as_ptr().add(at) });
    unsafe { act_add(_mm512_add_ps(v, bias), f.act, add, lanes) }
}
