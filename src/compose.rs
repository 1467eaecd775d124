//! From a 256x256 mask to a result people keep, at the photo's full resolution: the alpha
//! (bilinear, or refined by a guided filter that follows the photo's edges) and the compositing
//! (cut-out, blurred or replaced background). This is the plain CPU reference; the GPU kernels
//! in shaders/refine.wgsl and shaders/compose.wgsl are tested against it.
//!
//! Memory stays bounded at any size: everything at full resolution is 8-bit and computed pixel
//! by pixel; float planes live only at the working resolution (at most 512 on the long side).
//!
//! **Why a guided filter** (He, Sun, Tang; the "fast" variant of He & Sun 2015) rather than joint
//! bilateral upsampling: it is linear in the pixel count whatever the radius (box filters), it has
//! no range parameter to tune per photo, and its output is locally an affine function of the
//! photo's luminance, so a mask edge snaps to the photo's own edge (hair, shoulders) instead of
//! the 256x256 grid. The fast variant computes the affine coefficients at the working resolution
//! and applies them at full resolution, which is also what keeps memory bounded.

use crate::cpu::bilinear_taps;
use crate::network::OUTPUT;
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

/// Long side of the working resolution of the guided filter and the background blur.
pub const WORK_SIZE: usize = 512;
/// Guided filter window radius at the working resolution, and its regulariser (on [0, 1] luma).
pub const GUIDE_RADIUS: usize = 4;
pub const GUIDE_EPS: f32 = 1e-3;

/// What goes behind the person.
#[derive(Clone, Debug, PartialEq)]
pub enum Background {
    /// Keep only the person: RGBA with the mask as straight (not premultiplied) alpha.
    Transparent,
    /// The photo itself, Gaussian-blurred with this sigma in full-resolution pixels.
    Blur {
        radius: f32,
    },
    Color([u8; 3]),
    /// Scaled to cover the photo (no bars), centred, cropped.
    Image(RgbImage),
}

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

/// The working resolution for a `w` x `h` photo: at most WORK_SIZE on the long side, never
/// larger than the photo.
pub fn work_size(w: usize, h: usize) -> (usize, usize) {
    let long = w.max(h);
    if long <= WORK_SIZE {
        return (w, h);
    }
    let scale = WORK_SIZE as f64 / long as f64;
    (
        ((w as f64 * scale).round() as usize).max(1),
        ((h as f64 * scale).round() as usize).max(1),
    )
}

/// Rec. 601 luma in [0, 1].
pub fn luma(p: Rgb<u8>) -> f32 {
    (0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32) / 255.0
}

/// Area-average downsampling of `f(pixel)` to `w2` x `h2` (each source pixel counted once).
fn area_downsample(
    image: &RgbImage,
    w2: usize,
    h2: usize,
    f: impl Fn(Rgb<u8>) -> [f32; 3],
) -> [Plane; 3] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut planes = [Plane::new(w2, h2), Plane::new(w2, h2), Plane::new(w2, h2)];
    let mut count = vec![0u32; w2 * h2];
    for (x, y, p) in image.enumerate_pixels() {
        let i = (y as usize * h2 / h) * w2 + x as usize * w2 / w;
        let v = f(*p);
        for c in 0..3 {
            planes[c].data[i] += v[c];
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

/// The guided filter's affine coefficients (mean_a, mean_b) at working resolution: the refined
/// alpha at full resolution is `mean_a * luma + mean_b`, sampled bilinearly.
pub fn guided_coefficients(image: &RgbImage, probabilities: &[f32]) -> (Plane, Plane) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    let [guide, _, _] = area_downsample(image, w2, h2, |p| [luma(p), 0.0, 0.0]);
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
    let product = |a: &Plane, b: &Plane| Plane {
        data: a.data.iter().zip(&b.data).map(|(x, y)| x * y).collect(),
        ..a.clone()
    };
    let (mean_i, mean_p) = (box_mean(&guide, GUIDE_RADIUS), box_mean(&p, GUIDE_RADIUS));
    let (corr_ip, corr_ii) = (
        box_mean(&product(&guide, &p), GUIDE_RADIUS),
        box_mean(&product(&guide, &guide), GUIDE_RADIUS),
    );
    let mut a = Plane::new(w2, h2);
    let mut b = Plane::new(w2, h2);
    for i in 0..w2 * h2 {
        let var_i = corr_ii.data[i] - mean_i.data[i] * mean_i.data[i];
        let cov_ip = corr_ip.data[i] - mean_i.data[i] * mean_p.data[i];
        a.data[i] = cov_ip / (var_i + GUIDE_EPS);
        b.data[i] = mean_p.data[i] - a.data[i] * mean_i.data[i];
    }
    (box_mean(&a, GUIDE_RADIUS), box_mean(&b, GUIDE_RADIUS))
}

/// floor(v * 255 + 0.5), clamped: how every 8-bit value is made here and on the GPU.
pub fn to_u8(v: f32) -> u8 {
    (v * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// The 256x256 probabilities resized to `w` x `h` (half-pixel bilinear), as 8-bit.
pub fn upsample(probabilities: &[f32], w: u32, h: u32) -> GrayImage {
    let mask = Plane {
        width: OUTPUT.width,
        height: OUTPUT.height,
        data: probabilities.to_vec(),
    };
    let (wu, hu) = (w as usize, h as usize);
    GrayImage::from_fn(w, h, |x, y| {
        Luma([to_u8(mask.sample(x as usize, y as usize, wu, hu))])
    })
}

/// The alpha at the photo's resolution: the mask upsampled bilinearly, or guided-filter refined.
pub fn alpha(image: &RgbImage, probabilities: &[f32], refine: bool) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if !refine {
        return upsample(probabilities, w as u32, h as u32);
    }
    let (a, b) = guided_coefficients(image, probabilities);
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let i = luma(*image.get_pixel(x as u32, y as u32));
        Luma([to_u8(a.sample(x, y, w, h) * i + b.sample(x, y, w, h))])
    })
}

/// A Gaussian-blurred copy of `image` at working resolution (area-downsampled, then a separable
/// Gaussian of sigma `radius` scaled to that resolution), sampled bilinearly when composited.
pub fn blurred_background(image: &RgbImage, radius: f32) -> [Plane; 3] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    let sigma = work_sigma(radius, w, w2);
    let planes = area_downsample(image, w2, h2, |p| p.0.map(|c| c as f32));
    let taps = gaussian_taps(sigma);
    planes.map(|p| separable(&p, &taps))
}

/// The widest blur, as sigma at the working resolution. At 512 px a Gaussian this wide already
/// washes the background out to its average colour; capping it bounds the blur's cost at 193
/// taps a pass, where `--radius 1000` on a 640x480 photo asked for 2,401.
pub const MAX_WORK_SIGMA: f32 = 64.0;

/// The blur's sigma at the working resolution for `radius` at the photo's (`w` wide, `w2` at
/// working resolution), between 0.01 and [`MAX_WORK_SIGMA`].
pub fn work_sigma(radius: f32, w: usize, w2: usize) -> f32 {
    (radius * w2 as f32 / w as f32).clamp(0.01, MAX_WORK_SIGMA)
}

/// Normalised Gaussian weights for offsets 0..=ceil(3 sigma).
pub fn gaussian_taps(sigma: f32) -> Vec<f32> {
    let reach = (3.0 * sigma).ceil() as usize;
    let raw: Vec<f32> = (0..=reach)
        .map(|d| (-(d as f32).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total = raw[0] + 2.0 * raw[1..].iter().sum::<f32>();
    raw.iter().map(|v| v / total).collect()
}

/// Horizontal then vertical convolution with symmetric `taps`, edges clamped.
fn separable(p: &Plane, taps: &[f32]) -> Plane {
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
        Background::Blur { radius } => Some(blurred_background(image, *radius)),
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

/// Maps photo pixels onto a background image scaled to cover the photo, centred.
#[derive(Clone, Copy, Debug)]
pub struct Cover {
    pub scale: f32,
    pub offset_x: f32,
    pub offset_y: f32,
}

impl Cover {
    pub fn new(bg: &RgbImage, w: usize, h: usize) -> Cover {
        let (bw, bh) = (bg.width() as f32, bg.height() as f32);
        // Background pixels per photo pixel: the smaller ratio, so the background covers.
        let scale = (bw / w as f32).min(bh / h as f32);
        Cover {
            scale,
            offset_x: (bw - w as f32 * scale) / 2.0,
            offset_y: (bh - h as f32 * scale) / 2.0,
        }
    }

    /// Bilinear sample of `bg` under photo pixel (x, y).
    pub fn sample(&self, bg: &RgbImage, x: usize, y: usize) -> [f32; 3] {
        let (bw, bh) = (bg.width() as f32, bg.height() as f32);
        let sx = ((x as f32 + 0.5) * self.scale + self.offset_x - 0.5).clamp(0.0, bw - 1.0);
        let sy = ((y as f32 + 0.5) * self.scale + self.offset_y - 0.5).clamp(0.0, bh - 1.0);
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(bg.width() - 1), (y0 + 1).min(bg.height() - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| bg.get_pixel(x, y).0.map(f32::from);
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        [0, 1, 2].map(|i| {
            (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy
        })
    }
}

#[cfg(test)]
mod tests;
