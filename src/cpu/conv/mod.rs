//! The windowed convolutions, NHWC with channels innermost so every inner loop runs over
//! contiguous channels in fixed chunks of 8 (one SIMD operation each; AVX2 where the CPU has it),
//! split across cores by output rows, epilogue fused per block. References:
//! [`reference::conv2d`](crate::reference::conv2d), [`reference::depthwise_conv2d`](crate::reference::depthwise_conv2d).

use super::epilogue;
use super::par::{self, LANES, lanes_unchecked, madd, simd_kernel};
use crate::network::{Epilogue, same_padding};
use crate::tensor::Shape;
use std::ops::Range;

#[cfg(target_arch = "x86_64")]
pub(super) mod wide;

/// A KxK window over an input.
#[derive(Clone, Copy)]
pub struct Window {
    pub input: Shape,
    pub kernel: usize,
    pub stride: usize,
}

/// Where one output row or column's taps land: the first input index (tap 0, may be negative
/// in the padding) and the taps that fall inside the input.
#[inline(always)]
fn taps(
    out: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    size: usize,
) -> (isize, Range<usize>) {
    let first = (out * stride) as isize - pad as isize;
    let lo = (-first).max(0) as usize;
    let hi = (size as isize - first).clamp(0, kernel as isize) as usize;
    (first, lo..hi.max(lo))
}

impl Window {
    /// (out height, pad top, out width, pad left).
    fn geometry(&self) -> (usize, usize, usize, usize) {
        let (oh, pt) = same_padding(self.input.height, self.kernel, self.stride);
        let (ow, pl) = same_padding(self.input.width, self.kernel, self.stride);
        (oh, pt, ow, pl)
    }

    /// Splits `out`'s rows (channels `cout`) into blocks across cores: `rows(block, first_row,
    /// its epilogue)` fills each, and the epilogue runs on it unless `rows` returns true (it
    /// finished its pixels as it stored them).
    fn by_rows(
        &self,
        out: &mut [f32],
        cout: usize,
        epilogue: Epilogue<&[f32]>,
        rows: impl Fn(&mut [f32], usize, Epilogue<&[f32]>) -> bool + Sync + Send,
    ) {
        let (oh, _, ow, _) = self.geometry();
        let row_len = ow * cout;
        let block = par::rows_per_task(oh, 1);
        par::chunks(&mut out[..oh * row_len], block * row_len, |b, c| {
            let start = b * block * row_len;
            let add = epilogue.add.map(|a| &a[start..start + c.len()]);
            let chunk_epilogue = Epilogue {
                act: epilogue.act,
                add,
            };
            if !rows(c, b * block, chunk_epilogue) {
                epilogue::apply(c, epilogue.act, add);
            }
        });
    }
}

/// Fills one output pixel `px`: each block of 8 channels starts from `bias` and is accumulated
/// by `block(first_channel, acc)` in registers, then stored once; channels past the last full
/// block go one at a time through `one(channel, acc)`.
#[inline(always)]
fn accumulate(
    px: &mut [f32],
    bias: &[f32],
    block: impl Fn(usize, &mut [f32; LANES]),
    one: impl Fn(usize, &mut f32),
) {
    let full = px.len() / LANES * LANES;
    for c0 in (0..full).step_by(LANES) {
        let mut acc: [f32; LANES] = bias[c0..c0 + LANES].try_into().unwrap();
        block(c0, &mut acc);
        px[c0..c0 + LANES].copy_from_slice(&acc);
    }
    for c in full..px.len() {
        let mut acc = bias[c];
        one(c, &mut acc);
        px[c] = acc;
    }
}

/// 8 values from `at`, as an array (a register).
#[inline(always)]
fn lanes(s: &[f32], at: usize) -> [f32; LANES] {
    s[at..at + LANES].try_into().unwrap()
}

/// Where one output pixel's window lies: the input row and column of tap (0, 0) (negative in
/// the padding) and the taps inside the input on each axis.
#[derive(Clone)]
struct Site {
    iy0: isize,
    ky: Range<usize>,
    ix0: isize,
    kx: Range<usize>,
}

impl Site {
    /// `g(tap, input_pixel)` for every tap inside the input (tap = ty * k + tx).
    #[inline(always)]
    fn each_tap(&self, window: &Window, mut g: impl FnMut(usize, usize)) {
        let (k, width) = (window.kernel, window.input.width);
        for ty in self.ky.clone() {
            let line = (self.iy0 + ty as isize) as usize * width;
            for tx in self.kx.clone() {
                g(ty * k + tx, line + (self.ix0 + tx as isize) as usize);
            }
        }
    }
}

/// Output pixels a microkernel computes together: each keeps its own accumulators, so their adds
/// run side by side instead of waiting on one another, and each weight load serves all of them.
const PIXELS: usize = 4;

/// The output columns whose windows lie inside the input across: `lo..hi`.
fn interior(window: &Window) -> Range<usize> {
    let (_, _, ow, pl) = window.geometry();
    let (k, s, width) = (window.kernel, window.stride, window.input.width);
    let lo = pl.div_ceil(s).min(ow);
    let hi = if width + pl >= k {
        ((width + pl - k) / s + 1).min(ow)
    } else {
        0
    };
    lo..hi.max(lo)
}

/// `f(pixels, sites)` for each output row of `rows` (output rows `y0..`, `cout` channels), in runs
/// of up to [`PIXELS`] consecutive pixels. A run never mixes pixels whose windows lie inside the
/// input across with ones that reach into the padding, so a full run of inside pixels can take
/// a kernel's fast path.
#[inline(always)]
fn each_run(
    window: &Window,
    cout: usize,
    rows: &mut [f32],
    y0: usize,
    mut f: impl FnMut(&mut [f32], &[Site]),
) {
    let (_, pt, ow, pl) = window.geometry();
    let Window {
        input,
        kernel: k,
        stride: s,
    } = *window;
    let inside = interior(window);
    let site = |iy0, ky: &Range<usize>, ox| {
        let (ix0, kx) = taps(ox, k, s, pl, input.width);
        Site {
            iy0,
            ky: ky.clone(),
            ix0,
            kx,
        }
    };
    for (r, row) in rows.chunks_exact_mut(ow * cout).enumerate() {
        let (iy0, ky) = taps(y0 + r, k, s, pt, input.height);
        for part in [0..inside.start, inside.clone(), inside.end..ow] {
            for first in part.clone().step_by(PIXELS) {
                let n = PIXELS.min(part.end - first);
                let sites: [Site; PIXELS] =
                    std::array::from_fn(|p| site(iy0, &ky, first + p.min(n - 1)));
                f(&mut row[first * cout..(first + n) * cout], &sites[..n]);
            }
        }
    }
}

/// Taps times input channels the stem kernel gathers per pixel (3x3 x RGB = 27).
const MAX_PATCH: usize = 32;

/// [`PIXELS`] pixels' windows times weight [depth, B * 8] plus bias, into `px` (the run's `n`
/// pixels). Window row `r` of `rows` is `len` consecutive inputs of `source` for each pixel,
/// starting at `starts(r)[p]`, and meets weight rows `r * len..`.
#[inline(always)]
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // acc[pixel][block]: registers
fn window_product<const B: usize>(
    fma: bool,
    source: &[f32],
    rows: Range<usize>,
    starts: impl Fn(usize) -> [usize; PIXELS],
    len: usize,
    weight: &[f32],
    bias: &[f32],
    px: &mut [f32],
) {
    let cout = B * LANES;
    let mut acc = [[[0.0f32; LANES]; B]; PIXELS];
    for pixel in acc.iter_mut() {
        for (b, lanes8) in pixel.iter_mut().enumerate() {
            *lanes8 = lanes(bias, b * LANES);
        }
    }
    for r in rows {
        let starts = starts(r);
        let inputs = starts.map(|s| &source[s..s + len]);
        for (j, w) in weight[r * len * cout..(r + 1) * len * cout]
            .chunks_exact(cout)
            .enumerate()
        {
            for b in 0..B {
                let w8 = lanes(w, b * LANES);
                for p in 0..PIXELS {
                    // SAFETY: j < len, each input's length (its bounds check was a compare
                    // per multiply-add block in the stem's inner loop).
                    let v = unsafe { *inputs[p].get_unchecked(j) };
                    for l in 0..LANES {
                        acc[p][b][l] = madd(fma, v, w8[l], acc[p][b][l]);
                    }
                }
            }
        }
    }
    for (out, pixel) in px.chunks_exact_mut(cout).zip(&acc) {
        for (b, lanes8) in pixel.iter().enumerate() {
            out[b * LANES..(b + 1) * LANES].copy_from_slice(lanes8);
        }
    }
}

simd_kernel! {
    /// Output rows `y0..` of a KxK convolution into `rows` (weight packed [k, k, cin, cout]).
    /// With 8 or 16 outputs (the stem; with AVX-512, [`wide::stem_rows`]), [`PIXELS`] pixels at a time: straight from the input
    /// where their windows lie inside it across, else from windows gathered with zero padding.
    /// Otherwise one pixel at a time.
    fn conv_rows(window: Window, x: &[f32], weight: &[f32], bias: &[f32], rows: &mut [f32], y0: usize) {
        let Window { input, kernel: k, stride: s } = window;
        let (cin, cout) = (input.channels, bias.len());
        let depth = k * k * cin;
        let product = |source: &[f32], rows, starts: &dyn Fn(usize) -> [usize; PIXELS], len, px: &mut [f32]| match cout {
            8 => window_product::<1>(FMA, source, rows, starts, len, weight, bias, px),
            _ => window_product::<2>(FMA, source, rows, starts, len, weight, bias, px),
        };
        each_run(&window, cout, rows, y0, |pixels, sites| {
            let site = &sites[0];
            if !matches!(cout, 8 | 16) {
                return one_by_one(FMA, &window, x, weight, bias, pixels, sites);
            }
            if sites.len() == PIXELS && site.kx.len() == k {
                let row = k * cin;
                let starts = |ty: usize| {
                    let line = (site.iy0 + ty as isize) as usize * input.width + site.ix0 as usize;
                    std::array::from_fn(|p| (line + p * s) * cin)
                };
                return product(x, site.ky.clone(), &starts, row, pixels);
            }
            if depth > MAX_PATCH {
                return one_by_one(FMA, &window, x, weight, bias, pixels, sites);
            }
            let mut patch = [0.0f32; PIXELS * MAX_PATCH];
            for (p, site) in sites.iter().enumerate() {
                // Element by element: a copy_from_slice of 3 floats is a memmove call.
                site.each_tap(&window, |tap, at| {
                    for i in 0..cin {
                        patch[p * MAX_PATCH + tap * cin + i] = x[at * cin + i];
                    }
                });
            }
            product(&patch, 0..1, &|_| std::array::from_fn(|p| p * MAX_PATCH), depth, pixels);
        });
    }
}

/// Each pixel of a run on its own, each block of 8 output channels accumulated over the window.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn one_by_one(
    fma: bool,
    window: &Window,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    pixels: &mut [f32],
    sites: &[Site],
) {
    let (cin, cout) = (window.input.channels, bias.len());
    for (px, site) in pixels.chunks_exact_mut(cout).zip(sites) {
        accumulate(
            px,
            bias,
            |c0, acc| {
                site.each_tap(window, |tap, at| {
                    let w0 = tap * cin * cout + c0;
                    for i in 0..cin {
                        let (v, w) = (x[at * cin + i], lanes(weight, w0 + i * cout));
                        for l in 0..LANES {
                            acc[l] = madd(fma, v, w[l], acc[l]);
                        }
                    }
                })
            },
            |c, acc| {
                site.each_tap(window, |tap, at| {
                    for i in 0..cin {
                        *acc += x[at * cin + i] * weight[(tap * cin + i) * cout + c];
                    }
                })
            },
        );
    }
}

simd_kernel! {
    /// Output rows `y0..` of a depthwise KxK convolution into `rows` (weight [k, k, c]). Runs of
    /// [`PIXELS`] pixels whose windows lie inside the input across are computed 8 channels x
    /// [`PIXELS`] pixels at a time, each tap's weights loaded once for all of them, their
    /// addresses stepped along the row (with 16 channels, working out each pixel's window cost
    /// as much as its arithmetic); the other pixels one at a time.
    fn depthwise_rows(window: Window, x: &[f32], weight: &[f32], bias: &[f32], rows: &mut [f32], y0: usize) {
        let Window { input, kernel: k, stride: s } = window;
        let c = input.channels;
        let (_, pt, ow, pl) = window.geometry();
        let inside = interior(&window);
        // Full runs inside, where the channels come in eights; the rest pixel by pixel.
        let runs = match c % LANES {
            0 => inside.start..inside.start + inside.len() / PIXELS * PIXELS,
            _ => inside.start..inside.start,
        };
        let (line, step) = (input.width * c, s * c);
        for (r, row) in rows.chunks_exact_mut(ow * c).enumerate() {
            let (iy0, ky) = taps(y0 + r, k, s, pt, input.height);
            // A row whose windows miss the input (none with same padding) goes pixel by pixel,
            // so every pixel is written.
            let runs = if ky.is_empty() { 0..0 } else { runs.clone() };
            if !runs.is_empty() {
                let top = (iy0 + ky.start as isize) as usize;
                // Every load below lies inside the input: checked once a row, not per tap.
                let last = (top + ky.len() - 1) * input.width + (runs.end - 1) * s - pl + k;
                assert!(last * c <= x.len() && k * k * c <= weight.len() && bias.len() == c);
                for ox in runs.clone().step_by(PIXELS) {
                    let first = (top * input.width + ox * s - pl) * c;
                    let pixels = &mut row[ox * c..(ox + PIXELS) * c];
                    for c0 in (0..c).step_by(LANES) {
                        let mut acc = [lanes(bias, c0); PIXELS];
                        let mut at = first + c0;
                        for ty in ky.clone() {
                            for tx in 0..k {
                                // SAFETY: inside the input, checked above.
                                let w = unsafe { lanes_unchecked(weight, (ty * k + tx) * c + c0) };
                                for (p, acc) in acc.iter_mut().enumerate() {
                                    let xs = unsafe { lanes_unchecked(x, at + p * step + tx * c) };
                                    for l in 0..LANES {
                                        acc[l] = madd(FMA, xs[l], w[l], acc[l]);
                                    }
                                }
                            }
                            at += line;
                        }
                        for (p, acc) in acc.iter().enumerate() {
                            pixels[p * c + c0..p * c + c0 + LANES].copy_from_slice(acc);
                        }
                    }
                }
            }
            for ox in (0..runs.start).chain(runs.end..ow) {
                let (ix0, kx) = taps(ox, k, s, pl, input.width);
                let site = Site { iy0, ky: ky.clone(), ix0, kx };
                let px = &mut row[ox * c..(ox + 1) * c];
                if c % LANES == 0 {
                    depthwise_pixel(FMA, &window, x, weight, bias, px, &site);
                    continue;
                }
                accumulate(
                    px,
                    bias,
                    |c0, acc| {
                        site.each_tap(&window, |tap, at| {
                            let (xs, ws) = (lanes(x, at * c + c0), lanes(weight, tap * c + c0));
                            for l in 0..LANES {
                                acc[l] = madd(FMA, xs[l], ws[l], acc[l]);
                            }
                        })
                    },
                    |ch, acc| site.each_tap(&window, |tap, at| *acc += x[at * c + ch] * weight[tap * c + ch]),
                );
            }
        }
    }
}

/// Channel blocks of 8 a depthwise edge pixel accumulates side by side.
const BLOCKS: usize = 4;

/// One depthwise output pixel `px` whose window may reach into the padding (channels a
/// multiple of 8): [`BLOCKS`] blocks of 8 channels at a time, so their adds overlap.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn depthwise_pixel(
    fma: bool,
    window: &Window,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    px: &mut [f32],
    site: &Site,
) {
    let (k, c, width) = (window.kernel, window.input.channels, window.input.width);
    if site.ky.is_empty() || site.kx.is_empty() {
        return px.copy_from_slice(bias);
    }
    // Every load below lies inside the window: checked once here, not per tap.
    let row = |ty: usize| (site.iy0 + ty as isize) as usize * width;
    let column = |tx: usize| (site.ix0 + tx as isize) as usize;
    assert!(
        (row(site.ky.end - 1) + column(site.kx.end - 1) + 1) * c <= x.len()
            && k * k * c <= weight.len()
    );
    let mut c0 = 0;
    while c0 < c {
        let blocks = BLOCKS.min((c - c0) / LANES);
        let mut acc: [[f32; LANES]; BLOCKS] =
            std::array::from_fn(|b| lanes(bias, c0 + b.min(blocks - 1) * LANES));
        for ty in site.ky.clone() {
            for tx in site.kx.clone() {
                let (at, tap) = ((row(ty) + column(tx)) * c + c0, (ty * k + tx) * c + c0);
                for (b, acc) in acc.iter_mut().enumerate().take(blocks) {
                    // SAFETY: inside the window checked above (c0 + 8 * (b + 1) <= c).
                    let (xs, ws) = unsafe {
                        (
                            lanes_unchecked(x, at + b * LANES),
                            lanes_unchecked(weight, tap + b * LANES),
                        )
                    };
                    for l in 0..LANES {
                        acc[l] = madd(fma, xs[l], ws[l], acc[l]);
                    }
                }
            }
        }
        for (b, acc) in acc.iter().enumerate().take(blocks) {
            px[c0 + b * LANES..c0 + (b + 1) * LANES].copy_from_slice(acc);
        }
        c0 += blocks * LANES;
    }
}

/// KxK convolution over all input channels (the stem): weight packed [k, k, cin, cout].
pub struct Conv2d {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Conv2d {
    /// Packs the reference's [cout, k, k, cin] so the inner loop runs over output channels.
    pub fn pack(weight: &[f32], bias: &[f32], kernel: usize) -> Conv2d {
        let cout = bias.len();
        let taps = kernel * kernel;
        let cin = weight.len() / (cout * taps);
        let mut packed = vec![0.0; weight.len()];
        for o in 0..cout {
            for t in 0..taps {
                for i in 0..cin {
                    packed[(t * cin + i) * cout + o] = weight[(o * taps + t) * cin + i];
                }
            }
        }
        Conv2d {
            weight: packed,
            bias: bias.to_vec(),
        }
    }

    pub fn run(&self, window: Window, x: &[f32], out: &mut [f32], epilogue: Epilogue<&[f32]>) {
        let (weight, bias) = (&self.weight[..], &self.bias[..]);
        window.by_rows(out, bias.len(), epilogue, |rows, y0, _finish| {
            #[cfg(target_arch = "x86_64")]
            if bias.len() == 16 && _finish.add.is_none() && super::avx512::available() {
                wide::stem_rows(window, x, (weight, bias), rows, y0, _finish.act);
                return true;
            }
            conv_rows(window, x, weight, bias, rows, y0);
            false
        });
    }
}

/// Depthwise KxK: weight [k, k, c] as the reference has it.
pub fn depthwise(
    window: Window,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
    epilogue: Epilogue<&[f32]>,
) {
    window.by_rows(out, bias.len(), epilogue, |rows, y0, _finish| {
        #[cfg(target_arch = "x86_64")]
        if super::avx512::available() {
            wide::depthwise_rows(window, x, (weight, bias), rows, y0, _finish);
            return true;
        }
        depthwise_rows(window, x, weight, bias, rows, y0);
        false
    });
}
