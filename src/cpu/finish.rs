//! The finish on the fast path (what `Backend::Cpu` and the CLI composite with): the reference
//! [`reference::finish`](crate::reference::finish)'s arithmetic in the same order, so every result is
//! bit-identical to it (tested), laid out so the loops run over whole rows: each plane row is
//! resampled across once and kept while output rows need it (not four taps and two `floor`s per
//! pixel), box means and the Gaussian as row additions over padded rows.

use crate::finish::{
    Background, Cover, Response, THUMB, background_weight, blur_size, guide_size, luma, to_u8,
};
use crate::network::OUTPUT;
use crate::reference::bilinear_taps;
use crate::reference::finish::{
    Plane, blurred_with, guided_from, guided_value, unweighed, weighted_colour,
};
use image::{GrayImage, Rgb, RgbImage, RgbaImage};

/// A plane resampled to `width` x `height` (half-pixel bilinear) one output row at a time,
/// exactly as [`Plane::sample`] does it per pixel.
struct Upsampler<'a> {
    plane: &'a Plane,
    height: usize,
    columns: Vec<(usize, usize, f32)>,
    /// The plane rows last resampled across, by index (top tap, bottom tap).
    across: [(usize, Vec<f32>); 2],
    line: Vec<f32>,
}

impl<'a> Upsampler<'a> {
    fn new(plane: &'a Plane, width: usize, height: usize) -> Upsampler<'a> {
        let columns = (0..width)
            .map(|x| bilinear_taps(x, plane.width, width))
            .collect();
        Upsampler {
            plane,
            height,
            columns,
            across: [
                (usize::MAX, vec![0.0; width]),
                (usize::MAX, vec![0.0; width]),
            ],
            line: vec![0.0; width],
        }
    }

    /// Makes slot `slot` hold plane row `row` resampled across.
    fn keep(&mut self, slot: usize, row: usize) {
        if self.across[slot].0 == row {
            return;
        }
        // Moving down, the bottom row becomes the top one. (Where both taps are one row, at
        // a clamped edge, the bottom slot resamples it again rather than losing the top.)
        if slot == 0 && self.across[1].0 == row {
            self.across.swap(0, 1);
            return;
        }
        let src = &self.plane.data[row * self.plane.width..][..self.plane.width];
        let out = &mut self.across[slot].1;
        for (o, &(x0, x1, fx)) in out.iter_mut().zip(&self.columns) {
            // SAFETY: `new` made every tap with `bilinear_taps(.., plane.width, ..)`, which
            // returns indices below plane.width. (Unchecked: the bounds checks were most of
            // this gather's time in wasm.)
            let (a, b) = unsafe { (*src.get_unchecked(x0), *src.get_unchecked(x1)) };
            *o = a * (1.0 - fx) + b * fx;
        }
        self.across[slot].0 = row;
    }

    /// Output row `y`.
    fn row(&mut self, y: usize) -> &[f32] {
        let (y0, y1, fy) = bilinear_taps(y, self.plane.height, self.height);
        self.keep(0, y0);
        self.keep(1, y1);
        let [(_, top), (_, bottom)] = &self.across;
        for ((o, t), b) in self.line.iter_mut().zip(top).zip(bottom) {
            *o = t * (1.0 - fy) + b * fy;
        }
        &self.line
    }
}

/// The 256x256 probabilities resized to `w` x `h`, as 8-bit: [`reference::finish::upsample`].
pub fn upsample(probabilities: &[f32], w: u32, h: u32) -> GrayImage {
    upsample_with(probabilities, w, h, Response::NONE)
}

/// [`upsample`] through `response`'s ramp.
fn upsample_with(probabilities: &[f32], w: u32, h: u32, response: Response) -> GrayImage {
    let mask = mask_plane(probabilities);
    let mut rows = Upsampler::new(&mask, w as usize, h as usize);
    let mut out = GrayImage::new(w, h);
    let (lo, scale) = response.ramp();
    for (y, line) in out.chunks_exact_mut(w as usize).enumerate() {
        for (o, v) in line.iter_mut().zip(rows.row(y)) {
            *o = to_u8((*v - lo) * scale);
        }
    }
    out
}

fn mask_plane(probabilities: &[f32]) -> Plane {
    Plane {
        width: OUTPUT.width,
        height: OUTPUT.height,
        data: probabilities.to_vec(),
    }
}

/// Area-average downsampling of `f(index, pixel)` (N values a pixel) to `w2` x `h2`:
/// [`reference::finish::area_downsample`], each cell's sum taken in the same order, one photo row at a
/// time, each pixel's values added into its cell (found in a table of columns, not by a
/// division per pixel). (Summing each cell's run of columns after the row had been twice as
/// slow: 4.0 against 6.0 ms for the blur's four planes of a 720p frame, 2026-12-05.)
pub fn area_downsample<const N: usize>(
    image: &RgbImage,
    w2: usize,
    h2: usize,
    f: impl Fn(usize, Rgb<u8>) -> [f32; N],
) -> [Plane; N] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // Each cell's columns: x * w2 / w grows with x, so they are runs.
    let mut runs = vec![(0, 0); w2];
    for x in 0..w {
        let run = &mut runs[x * w2 / w];
        *run = if run.1 == 0 {
            (x, x + 1)
        } else {
            (run.0, x + 1)
        };
    }
    let mut planes = [0; N].map(|_| Plane {
        width: w2,
        height: h2,
        data: vec![0.0; w2 * h2],
    });
    let cells: Vec<usize> = (0..w).map(|x| x * w2 / w).collect();
    for (y, row) in image.as_raw().chunks_exact(3 * w).enumerate() {
        let first = y * h2 / h * w2;
        let mut lines = planes.each_mut().map(|p| &mut p.data[first..][..w2]);
        for ((x, p), &cell) in row.chunks_exact(3).enumerate().zip(&cells) {
            let v = f(y * w + x, Rgb([p[0], p[1], p[2]]));
            for (line, v) in lines.iter_mut().zip(v) {
                line[cell] += v;
            }
        }
    }
    // How many pixels fell in each cell: its run's length times its rows'. (None where the
    // image is smaller than the grid: such a cell stays 0, as in the smoothing's thumbnail.)
    let mut rows = vec![0u32; h2];
    (0..h).for_each(|y| rows[y * h2 / h] += 1);
    for plane in &mut planes {
        for (line, &rows) in plane.data.chunks_exact_mut(w2).zip(&rows) {
            for (v, &(a, b)) in line.iter_mut().zip(&runs) {
                *v /= ((b - a) as u32 * rows).max(1) as f32;
            }
        }
    }
    planes
}

/// The smoothing's scene thumbnail: [`reference::smoothing::thumbnail`](crate::reference::smoothing::thumbnail)
/// (the mean luma of THUMB x THUMB blocks), as an area downsampling.
pub fn thumbnail(frame: &RgbImage, out: &mut [f32]) {
    out.fill(0.0);
    if frame.width() == 0 || frame.height() == 0 {
        return;
    }
    let [thumb] = area_downsample(frame, THUMB, THUMB, |_, p| [luma(p)]);
    out[..THUMB * THUMB].copy_from_slice(&thumb.data);
}

/// Mean over the (2r+1)^2 window clipped at the borders: [`reference::finish::box_mean`], each sum
/// taken in the same order, the inside of each row as whole-row additions.
pub fn box_mean(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.width, p.height);
    let clipped = |i: usize, n: usize| (i.saturating_sub(r), (i + r).min(n - 1));
    let mut rows = Plane {
        data: vec![0.0; w * h],
        ..*p
    };
    // The columns whose whole window lies in the row (none where the row is narrower).
    let inside = if w > 2 * r { r..w - r } else { 0..0 };
    let counts: Vec<f32> = (0..w)
        .map(|x| {
            let (a, b) = clipped(x, w);
            (b - a + 1) as f32
        })
        .collect();
    for (src, out) in p.data.chunks_exact(w).zip(rows.data.chunks_exact_mut(w)) {
        if !inside.is_empty() {
            for i in 0..=2 * r {
                let from = &src[i..][..inside.len()];
                out[inside.clone()]
                    .iter_mut()
                    .zip(from)
                    .for_each(|(o, v)| *o += v);
            }
        }
        for x in (0..w).filter(|x| !inside.contains(x)) {
            let (a, b) = clipped(x, w);
            out[x] = src[a..=b].iter().sum::<f32>();
        }
        out.iter_mut().zip(&counts).for_each(|(o, n)| *o /= n);
    }
    let mut out = Plane {
        data: vec![0.0; w * h],
        ..*p
    };
    for (y, line) in out.data.chunks_exact_mut(w).enumerate() {
        let (a, b) = clipped(y, h);
        for j in a..=b {
            line.iter_mut()
                .zip(&rows.data[j * w..][..w])
                .for_each(|(o, v)| *o += v);
        }
        let count = (b - a + 1) as f32;
        line.iter_mut().for_each(|o| *o /= count);
    }
    out
}

/// The guided filter's coefficients: [`reference::finish::guided_coefficients`].
pub fn guided_coefficients(image: &RgbImage, probabilities: &[f32]) -> [Plane; 4] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = guide_size(w, h);
    let guide = area_downsample(image, w2, h2, |_, p| p.0.map(|c| c as f32 / 255.0));
    let mask = mask_plane(probabilities);
    let mut rows = Upsampler::new(&mask, w2, h2);
    let mut p = Plane {
        data: vec![0.0; w2 * h2],
        ..guide[0]
    };
    for (y, line) in p.data.chunks_exact_mut(w2).enumerate() {
        line.copy_from_slice(rows.row(y));
    }
    guided_from(&guide, &p, box_mean)
}

/// The alpha at the photo's resolution: [`reference::finish::alpha`].
pub fn alpha(
    image: &RgbImage,
    probabilities: &[f32],
    refine: bool,
    response: Response,
) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if !refine {
        return upsample_with(probabilities, w as u32, h as u32, response);
    }
    let (lo, scale) = response.ramp();
    let coefficients = guided_coefficients(image, probabilities);
    let [mut ar, mut ag, mut ab, mut bias] =
        coefficients.each_ref().map(|c| Upsampler::new(c, w, h));
    let mut out = GrayImage::new(w as u32, h as u32);
    let mut photo = [vec![0; w], vec![0; w], vec![0; w]];
    let pixels = image.as_raw().chunks_exact(3 * w);
    for (y, (line, rgb)) in out.chunks_exact_mut(w).zip(pixels).enumerate() {
        channels(rgb, &mut photo);
        let (ar, ag, ab, bias) = (ar.row(y), ag.row(y), ab.row(y), bias.row(y));
        let [red, green, blue] = &photo;
        let a = ar.iter().zip(ag).zip(ab).zip(bias);
        let rgb = red.iter().zip(green).zip(blue);
        for ((o, (((&ar, &ag), &ab), &bias)), ((&r, &g), &b)) in line.iter_mut().zip(a).zip(rgb) {
            *o = to_u8((guided_value([ar, ag, ab], bias, [r, g, b]) - lo) * scale);
        }
    }
    out
}

/// Horizontal then vertical convolution with symmetric `taps`, edges clamped:
/// [`reference::finish::separable`], each row padded by its edge values so the taps are row additions.
pub fn separable(p: &Plane, taps: &[f32]) -> Plane {
    let (w, h, n) = (p.width, p.height, taps.len() - 1);
    let mut across = Plane {
        data: vec![0.0; w * h],
        ..*p
    };
    let mut padded = vec![0.0; w + 2 * n];
    for (src, out) in p.data.chunks_exact(w).zip(across.data.chunks_exact_mut(w)) {
        padded[..n].fill(src[0]);
        padded[n..n + w].copy_from_slice(src);
        padded[n + w..].fill(src[w - 1]);
        out.iter_mut().zip(src).for_each(|(o, v)| *o = taps[0] * v);
        for (d, t) in taps.iter().enumerate().skip(1) {
            let (before, after) = (&padded[n - d..][..w], &padded[n + d..][..w]);
            for ((o, a), b) in out.iter_mut().zip(before).zip(after) {
                *o += t * (a + b);
            }
        }
    }
    let mut out = Plane {
        data: vec![0.0; w * h],
        ..*p
    };
    let row = |y: isize| &across.data[y.clamp(0, h as isize - 1) as usize * w..][..w];
    for (y, line) in out.data.chunks_exact_mut(w).enumerate() {
        let y = y as isize;
        line.iter_mut()
            .zip(row(y))
            .for_each(|(o, v)| *o = taps[0] * v);
        for (d, t) in taps.iter().enumerate().skip(1) {
            let (before, after) = (row(y - d as isize), row(y + d as isize));
            for ((o, a), b) in line.iter_mut().zip(before).zip(after) {
                *o += t * (a + b);
            }
        }
    }
    out
}

/// The photo over `background` with `alpha`: [`reference::finish::compose`].
pub fn compose(image: &RgbImage, alpha: &GrayImage, background: &Background) -> RgbaImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut out = RgbaImage::new(w as u32, h as u32);
    if let Background::Transparent = background {
        // Straight alpha: the colour stays the photo's.
        let pixels = out
            .chunks_exact_mut(4)
            .zip(image.pixels())
            .zip(alpha.as_raw());
        for ((o, fg), &a) in pixels {
            o.copy_from_slice(&[fg[0], fg[1], fg[2], a]);
        }
        return out;
    }
    let blurred = match background {
        Background::Blur { radius } => {
            let (w2, h2) = blur_size(w, h, *radius);
            // A table: a division a pixel was a tenth of the finish's time at 720p.
            let weights: [f32; 256] = std::array::from_fn(|a| background_weight(a as u8));
            let alpha = alpha.as_raw();
            let planes = area_downsample(image, w2, h2, |i, p| {
                weighted_colour(p, weights[alpha[i] as usize])
            });
            Some(unweighed(blurred_with(planes, *radius, w, separable)))
        }
        _ => None,
    };
    let mut blurred_rows = blurred
        .as_ref()
        .map(|planes| planes.each_ref().map(|p| Upsampler::new(p, w, h)));
    // A colour, or a background picture sampled one row at a time.
    let mut fixed = match background {
        Background::Color(c) => c.map(|v| vec![f32::from(v); w]),
        _ => [vec![0.0; w], vec![0.0; w], vec![0.0; w]],
    };
    let cover = match background {
        Background::Image(bg) => Some((bg, Cover::new(bg, w, h))),
        _ => None,
    };
    let mut photo = [vec![0; w], vec![0; w], vec![0; w]];
    let mut scratch = Scratch {
        t: vec![0.0; w],
        blended: [vec![0; w], vec![0; w], vec![0; w]],
    };
    let rows = out
        .chunks_exact_mut(4 * w)
        .zip(image.as_raw().chunks_exact(3 * w))
        .zip(alpha.as_raw().chunks_exact(w));
    for (y, ((line, rgb), alphas)) in rows.enumerate() {
        channels(rgb, &mut photo);
        if let Some((bg, cover)) = &cover {
            let [red, green, blue] = &mut fixed;
            let row = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
            for (x, ((r, g), b)) in row.enumerate() {
                [*r, *g, *b] = cover.sample(bg, x, y);
            }
        }
        let behind = match blurred_rows.as_mut() {
            Some([r, g, b]) => [r.row(y), g.row(y), b.row(y)],
            None => fixed.each_ref().map(|c| &c[..]),
        };
        blend_row(line, &photo, alphas, behind, &mut scratch);
    }
    out
}

/// Splits a row of RGB bytes into three channel rows, so the per-pixel loops below run over
/// contiguous lanes (vectorised; interleaved bytes kept them scalar).
fn channels(rgb: &[u8], planar: &mut [Vec<u8>; 3]) {
    let [r, g, b] = planar;
    for (((p, r), g), b) in rgb
        .chunks_exact(3)
        .zip(r.iter_mut())
        .zip(g.iter_mut())
        .zip(b)
    {
        (*r, *g, *b) = (p[0], p[1], p[2]);
    }
}

/// One output row of [`compose`] over an opaque background: the reference's arithmetic per
/// channel, one channel at a time.
fn blend_row(
    out: &mut [u8],
    photo: &[Vec<u8>; 3],
    alphas: &[u8],
    behind: [&[f32]; 3],
    scratch: &mut Scratch,
) {
    let Scratch { t, blended } = scratch;
    for (t, &a) in t.iter_mut().zip(alphas) {
        *t = a as f32 / 255.0;
    }
    for ((done, fg), behind) in blended.iter_mut().zip(photo).zip(behind) {
        for (((o, &f), &b), &t) in done.iter_mut().zip(fg).zip(behind).zip(t.iter()) {
            *o = to_u8((f as f32 * t + b * (1.0 - t)) / 255.0);
        }
    }
    let [r, g, b] = &*blended;
    for (((o, r), g), b) in out.chunks_exact_mut(4).zip(r).zip(g).zip(b) {
        o.copy_from_slice(&[*r, *g, *b, 255]);
    }
}

/// Row buffers for [`blend_row`], allocated once per image.
struct Scratch {
    t: Vec<f32>,
    blended: [Vec<u8>; 3],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finish::gaussian_taps;
    use crate::reference::finish as reference;

    /// A photo with edges, gradients and noise, `w` x `h`.
    fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut s = seed | 1;
        RgbImage::from_fn(w, h, |x, y| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let inside = (x as i64 - w as i64 / 2).pow(2) + (y as i64 - h as i64 / 3).pow(2)
                < (w.min(h) as i64 / 3).pow(2);
            let base = if inside { 200 } else { 40 };
            image::Rgb([0, 1, 2].map(|c| (base + (x * 7 + y * 3 + c * 50) % 40 + s % 16) as u8))
        })
    }

    fn probabilities(seed: u32) -> Vec<f32> {
        (0..OUTPUT.len())
            .map(|i| {
                let (x, y) = ((i % 256) as f32, (i / 256) as f32);
                let d = ((x - 128.0).powi(2) + (y - 100.0).powi(2)).sqrt();
                (1.0 / (1.0 + ((d - 70.0 - seed as f32) / 6.0).exp())).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// Equal images, or the first pixel that differs.
    fn same<P: image::Pixel<Subpixel = u8> + std::fmt::Debug + PartialEq>(
        ours: &image::ImageBuffer<P, Vec<u8>>,
        theirs: &image::ImageBuffer<P, Vec<u8>>,
        what: &str,
    ) {
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{what}: size");
        if let Some((x, y, a, b)) = ours
            .enumerate_pixels()
            .zip(theirs.pixels())
            .find(|((_, _, a), b)| a != b)
            .map(|((x, y, a), b)| (x, y, a, b))
        {
            panic!("{what}: pixel ({x}, {y}): fast {a:?}, reference {b:?}");
        }
    }

    #[test]
    fn every_step_is_bit_identical_to_the_reference() {
        // Odd sizes, one above the working size (so the planes are downsampled), tiny ones.
        for (i, &(w, h)) in [(37, 23), (641, 479), (1, 1), (9, 700), (256, 256)]
            .iter()
            .enumerate()
        {
            let (img, probs) = (photo(w, h, i as u32 + 1), probabilities(i as u32));
            let what = format!("{w}x{h}");
            same(
                &upsample(&probs, w, h),
                &reference::upsample(&probs, w, h),
                &format!("{what} upsample"),
            );
            let hard = Response {
                threshold: 0.4,
                softness: 0.0,
            };
            let edges = [false, true]
                .map(|refine| [Response::NONE, Response::default(), hard].map(|r| (refine, r)));
            for (refine, response) in edges.into_iter().flatten() {
                let alpha = alpha(&img, &probs, refine, response);
                same(
                    &alpha,
                    &reference::alpha(&img, &probs, refine, response),
                    &format!("{what} alpha {refine} {response:?}"),
                );
                let bg = photo(50, 31, 9);
                for background in [
                    Background::Transparent,
                    Background::Color([10, 200, 30]),
                    Background::Blur {
                        radius: 1.0 + i as f32 * 4.0,
                    },
                    Background::Image(bg),
                ] {
                    let kind = background.kind();
                    same(
                        &compose(&img, &alpha, &background),
                        &reference::compose(&img, &alpha, &background),
                        &format!("{what} compose {kind:?} refine {refine}"),
                    );
                }
            }
        }
    }

    #[test]
    fn the_thumbnail_is_bit_identical_to_the_reference_at_any_size() {
        use crate::reference::smoothing::thumbnail as reference_thumbnail;
        for (i, (w, h)) in [(0, 4), (1, 1), (20, 40), (32, 32), (37, 23), (641, 479)]
            .into_iter()
            .enumerate()
        {
            let frame = photo(w, h, i as u32 + 3);
            let (mut ours, mut theirs) = (vec![1.0; THUMB * THUMB], vec![2.0; THUMB * THUMB]);
            thumbnail(&frame, &mut ours);
            reference_thumbnail(&frame, &mut theirs);
            assert_eq!(ours, theirs, "{w}x{h}");
        }
    }

    #[test]
    fn box_means_and_blurs_match_on_planes_narrower_than_their_window() {
        for (w, h) in [(1, 1), (3, 2), (9, 9), (20, 5)] {
            let data = (0..w * h).map(|i| ((i * 37) % 11) as f32 / 3.0).collect();
            let p = Plane {
                width: w,
                height: h,
                data,
            };
            for r in [1, 4, 12] {
                assert_eq!(box_mean(&p, r), reference::box_mean(&p, r), "{w}x{h} r{r}");
            }
            let taps = gaussian_taps(3.0);
            assert_eq!(
                separable(&p, &taps),
                reference::separable(&p, &taps),
                "{w}x{h}"
            );
        }
    }
}
