//! The measures of examples/quality/README.md: bands around a true matte, colour errors in
//! them, masks warped by a known motion, and MediaPipe's smoothing rule as the anchor.

use image::{GrayImage, RgbImage, RgbaImage};

/// Distance (8-neighbour chamfer, 1 and 1.414) from every pixel to the nearest pixel where
/// `inside` is true; 0 on those pixels.
pub fn distance_to(inside: &[bool], w: usize, h: usize) -> Vec<f32> {
    let mut d: Vec<f32> = inside
        .iter()
        .map(|&i| if i { 0.0 } else { f32::MAX / 2.0 })
        .collect();
    let steps = |forward: bool| -> [(isize, isize, f32); 4] {
        let s = if forward { -1 } else { 1 };
        [(s, 0, 1.0), (0, s, 1.0), (s, s, 1.414), (-s, s, 1.414)]
    };
    for forward in [true, false] {
        let ys: Box<dyn Iterator<Item = usize>> = if forward {
            Box::new(0..h)
        } else {
            Box::new((0..h).rev())
        };
        for y in ys {
            let xs: Box<dyn Iterator<Item = usize>> = if forward {
                Box::new(0..w)
            } else {
                Box::new((0..w).rev())
            };
            for x in xs {
                for (dx, dy, cost) in steps(forward) {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                        let through = d[ny as usize * w + nx as usize] + cost;
                        if through < d[y * w + x] {
                            d[y * w + x] = through;
                        }
                    }
                }
            }
        }
    }
    d
}

/// The pixels around a true matte: `edge` within 3 px of its 50% line on either side,
/// `outside` the person and within `reach` px of it (where a halo shows).
#[derive(Clone)]
pub struct Bands {
    pub edge: Vec<bool>,
    pub outside: Vec<bool>,
}

pub fn bands(alpha: &GrayImage, reach: f32) -> Bands {
    let (w, h) = (alpha.width() as usize, alpha.height() as usize);
    let person: Vec<bool> = alpha.as_raw().iter().map(|&a| a >= 128).collect();
    let background: Vec<bool> = person.iter().map(|p| !p).collect();
    let (to_person, to_background) = (distance_to(&person, w, h), distance_to(&background, w, h));
    let edge = (0..w * h)
        .map(|i| to_person[i] <= 3.0 && to_background[i] <= 3.0)
        .collect();
    let outside = (0..w * h)
        .map(|i| !person[i] && to_person[i] <= reach)
        .collect();
    Bands { edge, outside }
}

/// Mean |a - b| over the RGB of the pixels in `band`, in levels of 255.
pub fn colour_error(a: &RgbaImage, b: &RgbImage, band: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for ((pa, pb), &inside) in a.pixels().zip(b.pixels()).zip(band) {
        if inside {
            sum += (0..3)
                .map(|c| (pa.0[c] as f64 - pb.0[c] as f64).abs())
                .sum::<f64>();
            n += 3;
        }
    }
    sum / n.max(1) as f64
}

/// Mean |a - b| of two alphas over `band`, in [0, 1].
pub fn alpha_error(a: &GrayImage, b: &GrayImage, band: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for ((pa, pb), &inside) in a.as_raw().iter().zip(b.as_raw()).zip(band) {
        if inside {
            sum += (*pa as f64 - *pb as f64).abs() / 255.0;
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

/// A 256x256 mask moved as its frame moved: output point p shows input point
/// `centre + (p - centre) / scale - shift` (shift in mask pixels), bilinear, borders clamped.
pub fn warp_mask(mask: &[f32], shift: (f32, f32), scale: f32) -> Vec<f32> {
    const N: usize = 256;
    let c = N as f32 / 2.0;
    let at = |x: usize, y: usize| mask[y * N + x];
    let mut out = vec![0.0; N * N];
    for y in 0..N {
        for x in 0..N {
            let sx = (c + (x as f32 + 0.5 - c) / scale - shift.0 - 0.5).clamp(0.0, N as f32 - 1.0);
            let sy = (c + (y as f32 + 0.5 - c) / scale - shift.1 - 0.5).clamp(0.0, N as f32 - 1.0);
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(N - 1), (y0 + 1).min(N - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
            let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
            out[y * N + x] = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

/// Mean |a - b| over every element (or those in `band`).
pub fn mean_abs(a: &[f32], b: &[f32], band: Option<&[bool]>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if band.is_none_or(|band| band[i]) {
            sum += (x - y).abs() as f64;
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

/// MediaPipe's SegmentationSmoothingCalculator: the new mask pulled towards the previous
/// result by its own uncertainty (a polynomial in (p - 0.5)^2 approximating one minus the
/// squared binary entropy's complement) times `ratio` (0.7 in its selfie segmentation graph).
pub fn mediapipe_smoothing(previous: &mut [f32], raw: &[f32], first: bool, ratio: f32) {
    const C: [f32; 5] = [5.68842, -0.748699, -57.8051, 291.309, -624.717];
    for (prev, &p) in previous.iter_mut().zip(raw) {
        if first {
            *prev = p;
            continue;
        }
        let x = (p - 0.5) * (p - 0.5);
        let uncertainty =
            1.0 - (x * (C[0] + x * (C[1] + x * (C[2] + x * (C[3] + x * C[4]))))).min(1.0);
        *prev = p + (*prev - p) * (uncertainty * ratio);
    }
}
