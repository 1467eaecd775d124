//! The finish on the CPU: from a 256x256 mask to a result people keep, at the photo's full
//! resolution: the alpha (bilinear, or refined by a colour guided filter that follows the
//! photo's edges) and the compositing (cut-out, blurred or replaced background). The plain
//! reference of the finish defined in [`crate::finish`]; GPU twins: [`ops::downsample`](crate::ops::downsample),
//! [`ops::separable`](crate::ops::separable), [`ops::guided`](crate::ops::guided),
//! [`ops::compose`](crate::ops::compose), [`ops::postprocess`](crate::ops::postprocess).
//!
//! Memory stays bounded at any size: everything at full resolution is 8-bit and computed pixel
//! by pixel; float planes live only at the working resolution (at most 512 on the long side).

use super::resize::bilinear_taps;
use crate::finish::{
    Background, Cover, GUIDE_EPS, GUIDE_RADIUS, Response, background_weight, blur_size,
    gaussian_taps, guide_size, to_u8, unweigh, work_sigma,
};
use crate::network::OUTPUT;
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

/// A single-channel float plane at working resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    fn new(width: usize, height: usize) -> Plane {
        Plane {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }
    fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }
    /// Half-pixel bilinear sample for full-resolution pixel (x, y) of a `w` x `h` image.
    pub fn sample(&self, x: usize, y: usize, w: usize, h: usize) -> f32 {
        let (x0, x1, fx) = bilinear_taps(x, self.width, w);
        let (y0, y1, fy) = bilinear_taps(y, self.height, h);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// Area-average downsampling of `f(index, pixel)` (N values a pixel; `index` is y * width + x)
/// to `w2` x `h2`, each source pixel counted once.
pub fn area_downsample<const N: usize>(
    image: &RgbImage,
    w2: usize,
    h2: usize,
    f: impl Fn(usize, Rgb<u8>) -> [f32; N],
) -> [Plane; N] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut planes = [0; N].map(|_| Plane::new(w2, h2));
    let mut count = vec![0u32; w2 * h2];
    for (x, y, p) in image.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        let i = (y * h2 / h) * w2 + x * w2 / w;
        for (plane, v) in planes.iter_mut().zip(f(y * w + x, *p)) {
            plane.data[i] += v;
        }
        count[i] += 1;
    }
    for plane in &mut planes {
        for (v, n) in plane.data.iter_mut().zip(&count) {
            *v /= *n as f32;
        }
    }
    planes
}

/// Mean over the (2r+1)^2 window, clipped at the borders (separable running sums).
pub fn box_mean(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.width, p.height);
    let mut rows = Plane::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            rows.data[y * w + x] = (a..=b).map(|i| p.at(i, y)).sum::<f32>() / (b - a + 1) as f32;
        }
    }
    let mut out = Plane::new(w, h);
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            out.data[y * w + x] = (a..=b).map(|j| rows.at(x, j)).sum::<f32>() / (b - a + 1) as f32;
        }
    }
    out
}

/// The products of the colour guided filter's inputs, in the order their box means are passed
/// around: I_c * I_d for (c, d) in this list (the covariance's upper triangle, row by row).
pub const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];

/// One pixel's affine coefficients (a, b), a a colour 3-vector, from the box means of the colour
/// I (0..1), the mask p, I_c * p and the [`PAIRS`] I_c * I_d: a = (cov(I) + eps U)^-1 cov(I, p),
/// b = mean(p) - a . mean(I) (He, Sun, Tang 2013, section 3.5). The inverse by its adjugate.
pub fn guided_ab(
    mean_i: [f32; 3],
    mean_p: f32,
    corr_ip: [f32; 3],
    corr_ii: [f32; 6],
) -> ([f32; 3], f32) {
    let [s00, s01, s02, s11, s12, s22] = [0, 1, 2, 3, 4, 5].map(|n| {
        let (c, d) = PAIRS[n];
        let eps = if c == d { GUIDE_EPS } else { 0.0 };
        corr_ii[n] - mean_i[c] * mean_i[d] + eps
    });
    let v = [0, 1, 2].map(|c| corr_ip[c] - mean_i[c] * mean_p);
    let (c00, c01, c02) = (
        s11 * s22 - s12 * s12,
        s02 * s12 - s01 * s22,
        s01 * s12 - s02 * s11,
    );
    let (c11, c12, c22) = (
        s00 * s22 - s02 * s02,
        s01 * s02 - s00 * s12,
        s00 * s11 - s01 * s01,
    );
    let det = s00 * c00 + s01 * c01 + s02 * c02;
    let a = [
        (c00 * v[0] + c01 * v[1] + c02 * v[2]) / det,
        (c01 * v[0] + c11 * v[1] + c12 * v[2]) / det,
        (c02 * v[0] + c12 * v[1] + c22 * v[2]) / det,
    ];
    (
        a,
        mean_p - (a[0] * mean_i[0] + a[1] * mean_i[1] + a[2] * mean_i[2]),
    )
}

/// The refined alpha (before the response) of a pixel of colour `rgb` from its coefficients.
pub fn guided_value(a: [f32; 3], b: f32, rgb: [u8; 3]) -> f32 {
    a[0] * (rgb[0] as f32 / 255.0)
        + a[1] * (rgb[1] as f32 / 255.0)
        + a[2] * (rgb[2] as f32 / 255.0)
        + b
}

/// The colour guided filter's coefficients (a_r, a_g, a_b, b) at the guide's resolution
/// ([`guide_size`]): the refined alpha at full resolution is [`guided_value`] of them, sampled
/// bilinearly.
pub fn guided_coefficients(image: &RgbImage, probabilities: &[f32]) -> [Plane; 4] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = guide_size(w, h);
    let guide = area_downsample(image, w2, h2, |_, p| p.0.map(|c| c as f32 / 255.0));
    let mask = Plane {
        width: OUTPUT.width,
        height: OUTPUT.height,
        data: probabilities.to_vec(),
    };
    let mut p = Plane::new(w2, h2);
    for y in 0..h2 {
        for x in 0..w2 {
            p.data[y * w2 + x] = mask.sample(x, y, w2, h2);
        }
    }
    guided_from(&guide, &p, box_mean)
}

/// The guided filter's steps after the colour guide `i` and the mask `p` are at working
/// resolution: box means (by `box_mean`, the reference's or a faster one) of I, p, I_c * p and
/// the [`PAIRS`], the coefficients per pixel, and their box means.
pub fn guided_from(
    i: &[Plane; 3],
    p: &Plane,
    box_mean: impl Fn(&Plane, usize) -> Plane,
) -> [Plane; 4] {
    let product = |a: &Plane, b: &Plane| Plane {
        data: a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect(),
        ..a.clone()
    };
    let mean = |plane: &Plane| box_mean(plane, GUIDE_RADIUS);
    let mean_i = i.each_ref().map(mean);
    let mean_p = mean(p);
    let corr_ip = i.each_ref().map(|c| mean(&product(c, p)));
    let corr_ii = PAIRS.map(|(c, d)| mean(&product(&i[c], &i[d])));
    let mut coefficients = [0; 4].map(|_| Plane::new(p.width, p.height));
    for k in 0..p.data.len() {
        let (a, b) = guided_ab(
            mean_i.each_ref().map(|m| m.data[k]),
            mean_p.data[k],
            corr_ip.each_ref().map(|m| m.data[k]),
            corr_ii.each_ref().map(|m| m.data[k]),
        );
        for (plane, v) in coefficients.iter_mut().zip([a[0], a[1], a[2], b]) {
            plane.data[k] = v;
        }
    }
    coefficients.map(|c| mean(&c))
}

/// The 256x256 probabilities resized to `w` x `h` (half-pixel bilinear), as 8-bit.
pub fn upsample(probabilities: &[f32], w: u32, h: u32) -> GrayImage {
    upsample_with(probabilities, w, h, Response::NONE)
}

/// [`upsample`] through `response`'s ramp.
fn upsample_with(probabilities: &[f32], w: u32, h: u32, response: Response) -> GrayImage {
    let mask = Plane {
        width: OUTPUT.width,
        height: OUTPUT.height,
        data: probabilities.to_vec(),
    };
    let (lo, scale) = response.ramp();
    let (wu, hu) = (w as usize, h as usize);
    GrayImage::from_fn(w, h, |x, y| {
        Luma([to_u8(
            (mask.sample(x as usize, y as usize, wu, hu) - lo) * scale,
        )])
    })
}

/// The alpha at the photo's resolution: the mask upsampled bilinearly, or guided-filter refined,
/// then through `response`.
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
    let coefficients = guided_coefficients(image, probabilities);
    let (lo, scale) = response.ramp();
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let rgb = image.get_pixel(x, y).0;
        let [r, g, b, bias] = coefficients
            .each_ref()
            .map(|c| c.sample(x as usize, y as usize, w, h));
        Luma([to_u8((guided_value([r, g, b], bias, rgb) - lo) * scale)])
    })
}

/// The background of `image` (where `alpha` says it is) Gaussian-blurred at the blur's
/// resolution ([`blur_size`]), as a normalised convolution: the area-downsampled colour
/// weighted by [`background_weight`], and that weight, each blurred by a separable Gaussian of
/// sigma `radius` scaled to that resolution, then the colour divided by the weight
/// ([`unweigh`]). Sampled bilinearly when composited.
pub fn blurred_background(image: &RgbImage, alpha: &GrayImage, radius: f32) -> [Plane; 3] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = blur_size(w, h, radius);
    let planes = area_downsample(image, w2, h2, |i, p| {
        weighted_colour(p, background_weight(alpha.as_raw()[i]))
    });
    unweighed(blurred_with(planes, radius, w, separable))
}

/// A pixel's share of the blur's input: its colour times `weight`, and the weight.
pub fn weighted_colour(p: Rgb<u8>, weight: f32) -> [f32; 4] {
    let [r, g, b] = p.0.map(|c| c as f32 * weight);
    [r, g, b, weight]
}

/// The blurred weighted colour planes divided by the blurred weight: [`unweigh`] per pixel.
pub fn unweighed([r, g, b, weight]: [Plane; 4]) -> [Plane; 3] {
    [r, g, b].map(|mut c| {
        for (v, w) in c.data.iter_mut().zip(&weight.data) {
            *v = unweigh(*v, *w);
        }
        c
    })
}

/// The Gaussian of [`blurred_background`] over `planes`, the photo (`w` wide) already
/// downsampled, done by `separable` (the reference's or a faster one).
pub fn blurred_with<const N: usize>(
    planes: [Plane; N],
    radius: f32,
    w: usize,
    separable: impl Fn(&Plane, &[f32]) -> Plane,
) -> [Plane; N] {
    let taps = gaussian_taps(work_sigma(radius, w, planes[0].width));
    planes.map(|p| separable(&p, &taps))
}

/// Horizontal then vertical convolution with symmetric `taps`, edges clamped.
pub fn separable(p: &Plane, taps: &[f32]) -> Plane {
    let (w, h) = (p.width as isize, p.height as isize);
    let pass = |src: &Plane, dx: isize, dy: isize| {
        let mut out = Plane::new(src.width, src.height);
        for y in 0..h {
            for x in 0..w {
                let mut s = taps[0] * src.at(x as usize, y as usize);
                for (d, t) in taps.iter().enumerate().skip(1) {
                    let d = d as isize;
                    let (xa, ya) = ((x - d * dx).clamp(0, w - 1), (y - d * dy).clamp(0, h - 1));
                    let (xb, yb) = ((x + d * dx).clamp(0, w - 1), (y + d * dy).clamp(0, h - 1));
                    s += t * (src.at(xa as usize, ya as usize) + src.at(xb as usize, yb as usize));
                }
                out.data[(y * w + x) as usize] = s;
            }
        }
        out
    };
    pass(&pass(p, 1, 0), 0, 1)
}

/// The photo over `background` with `alpha` (same size as the photo).
pub fn compose(image: &RgbImage, alpha: &GrayImage, background: &Background) -> RgbaImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let blurred = match background {
        Background::Blur { radius } => Some(blurred_background(image, alpha, *radius)),
        _ => None,
    };
    let cover = match background {
        Background::Image(bg) => Some(Cover::new(bg, w, h)),
        _ => None,
    };
    RgbaImage::from_fn(w as u32, h as u32, |x, y| {
        let fg = image.get_pixel(x, y).0;
        let a = alpha.get_pixel(x, y).0[0];
        let behind: [f32; 3] = match background {
            // Straight alpha: the colour stays the photo's, so edges never darken.
            Background::Transparent => return Rgba([fg[0], fg[1], fg[2], a]),
            Background::Color(c) => c.map(f32::from),
            Background::Blur { .. } => {
                let planes = blurred.as_ref().expect("made above");
                [0, 1, 2].map(|c| planes[c].sample(x as usize, y as usize, w, h))
            }
            Background::Image(bg) => cover
                .as_ref()
                .expect("made above")
                .sample(bg, x as usize, y as usize),
        };
        let t = a as f32 / 255.0;
        let px = [0, 1, 2].map(|c| to_u8((fg[c] as f32 * t + behind[c] * (1.0 - t)) / 255.0));
        Rgba([px[0], px[1], px[2], 255])
    })
}

#[cfg(test)]
mod tests;
