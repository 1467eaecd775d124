//! The windowed convolutions' row loops on x86-64 CPUs with AVX-512F, 16 channels a register
//! (kernels in [`avx512`](super::super::avx512)), each pixel stored finished: runs of 8 pixels
//! whose windows lie inside the input across, then 4, the rest one at a time with the taps
//! inside the input.

use super::{Window, interior, taps};
use crate::cpu::avx512::{depthwise_run, depthwise_span, window_run};
use crate::network::{Activation, Epilogue};

/// [`conv_rows`](super::conv_rows) with 16 outputs (the stem) on x86-64 CPUs with AVX-512F, stored as
/// `act(sum)`: runs of 8, then 4, pixels whose windows lie inside the input across, the rest
/// one at a time with the taps inside (a row loop: working out each run's four window `Site`s
/// cost a sixth of the stem).
pub fn stem_rows(
    window: Window,
    x: &[f32],
    parameters: (&[f32], &[f32]),
    rows: &mut [f32],
    y0: usize,
    act: Activation,
) {
    let Window {
        input,
        kernel: k,
        stride: s,
    } = window;
    let cin = input.channels;
    let (_, pt, ow, pl) = window.geometry();
    let inside = interior(&window);
    let w_line = k * cin * 16;
    for (r, row) in rows.chunks_exact_mut(ow * 16).enumerate() {
        let (iy0, ky) = taps(y0 + r, k, s, pt, input.height);
        let top = (iy0 + ky.start as isize) as usize;
        let runs = if ky.is_empty() { 0..0 } else { inside.clone() };
        let mut ox = 0;
        while ox < ow {
            let (ix0, kx) = taps(ox, k, s, pl, input.width);
            let first = (top * input.width + (ix0 + kx.start as isize) as usize) * cin;
            let left = if runs.contains(&ox) { runs.end - ox } else { 1 };
            let pixels = match left {
                8.. => 8,
                4..=7 => 4,
                _ => 1,
            };
            let out = &mut row[ox * 16..(ox + pixels) * 16];
            let shape = (kx.len() * cin, input.width * cin, s * cin);
            // The weights from the window's first tap across.
            let (weight, bias) = parameters;
            let weights = (&weight[kx.start * cin * 16..], bias);
            let ky = ky.clone();
            // SAFETY: AVX-512F checked by the caller (the run checks its bounds).
            unsafe {
                match pixels {
                    8 => window_run::<8>(x, weights, out, act, first, ky, shape, w_line),
                    4 => window_run::<4>(x, weights, out, act, first, ky, shape, w_line),
                    _ => window_run::<1>(x, weights, out, act, first, ky, shape, w_line),
                }
            }
            ox += pixels;
        }
    }
}

/// [`depthwise_rows`](super::depthwise_rows) 16 channels a register (x86-64 CPUs with AVX-512F), each pixel stored
/// finished (`epilogue.add` aligned with `rows`): runs of 8 pixels whose windows lie inside the
/// input across (8 sums in flight per register of channels; with 4 the adds waited on each
/// other), then 4, the rest one at a time with the taps inside the input.
pub fn depthwise_rows(
    window: Window,
    x: &[f32],
    parameters: (&[f32], &[f32]),
    rows: &mut [f32],
    y0: usize,
    epilogue: Epilogue<&[f32]>,
) {
    let Window {
        input,
        kernel: k,
        stride: s,
    } = window;
    let c = input.channels;
    let (_, pt, ow, pl) = window.geometry();
    let line = input.width * c;
    for (r, row) in rows.chunks_exact_mut(ow * c).enumerate() {
        let add = epilogue.add.map(|a| &a[r * ow * c..(r + 1) * ow * c]);
        let (iy0, ky) = taps(y0 + r, k, s, pt, input.height);
        let top = (iy0 + ky.start as isize) as usize * line;
        let mut ox = 0;
        while ox < ow {
            let pixels = match ow - ox {
                8.. => 8,
                4..=7 => 4,
                _ => 1,
            };
            let out = &mut row[ox * c..(ox + pixels) * c];
            let finish = (epilogue.act, add.map(|a| &a[ox * c..(ox + pixels) * c]));
            let span = (top, (ox * s) as isize - pl as isize, input.width);
            let kernel = span_kernel(pixels, k, s).filter(|_| !ky.is_empty());
            if let Some(run) = kernel {
                // SAFETY: AVX-512F checked by the caller (the run checks its bounds).
                unsafe { run(x, parameters, out, finish, span, ky.clone(), (c, line)) };
            }
            if kernel.is_none() {
                // Other kernel sizes (or a window that misses the input): one pixel at a time,
                // the taps inside the input.
                for p in 0..pixels {
                    let (ix0, kx) = taps(ox + p, k, s, pl, input.width);
                    let first = top + (ix0 + kx.start as isize).max(0) as usize * c;
                    let px = &mut out[p * c..(p + 1) * c];
                    let finish = (finish.0, finish.1.map(|a| &a[p * c..(p + 1) * c]));
                    let taps = (ky.clone(), kx);
                    // SAFETY: AVX-512F checked by the caller (the run checks its bounds).
                    unsafe {
                        depthwise_run::<1>(
                            x,
                            parameters,
                            px,
                            finish,
                            first,
                            taps,
                            (k, c, line, s * c),
                        )
                    };
                }
            }
            ox += pixels;
        }
    }
}

/// [`depthwise_span`] as a function.
type Span = unsafe fn(
    &[f32],
    (&[f32], &[f32]),
    &mut [f32],
    (Activation, Option<&[f32]>),
    (usize, isize, usize),
    std::ops::Range<usize>,
    (usize, usize),
);

/// The register kernel for runs of `pixels` pixels with a `k` x `k` window at stride `s`: the
/// network's (3x3 and 5x5, stride 1 or 2) have one.
fn span_kernel(pixels: usize, k: usize, s: usize) -> Option<Span> {
    Some(match (pixels, k, s) {
        (8, 3, 1) => depthwise_span::<8, 3, 1, 10>,
        (8, 3, 2) => depthwise_span::<8, 3, 2, 17>,
        (8, 5, 1) => depthwise_span::<8, 5, 1, 12>,
        (8, 5, 2) => depthwise_span::<8, 5, 2, 19>,
        (4, 3, 1) => depthwise_span::<4, 3, 1, 6>,
        (4, 3, 2) => depthwise_span::<4, 3, 2, 9>,
        (4, 5, 1) => depthwise_span::<4, 5, 1, 8>,
        (4, 5, 2) => depthwise_span::<4, 5, 2, 11>,
        // One pixel: its window whatever the stride.
        (1, 3, _) => depthwise_span::<1, 3, 1, 3>,
        (1, 5, _) => depthwise_span::<1, 5, 1, 5>,
        _ => return None,
    })
}
