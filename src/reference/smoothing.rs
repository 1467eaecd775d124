//! Temporal smoothing of a video's masks, plainly: the reference for `stream::Smoother` (which
//! calls these) and the GPU's `ops::Smooth`. Each frame's probabilities are blended with the
//! previous result (an exponential moving average), except where they changed a lot (motion:
//! follow at once, no ghosting) or when the whole picture changed (a cut: start over).

use crate::finish::{Smoothing, THUMB, luma};
use image::RgbImage;

/// Mean luma of THUMB x THUMB blocks of `frame` into `out`: pixel (x, y) falls in block
/// (x * THUMB / w, y * THUMB / h); a block with no pixel (frames under 32 pixels) is 0. Each
/// block sums its pixels row by row.
pub fn thumbnail(frame: &RgbImage, out: &mut [f32]) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut counts = [0u32; THUMB * THUMB];
    out.fill(0.0);
    for (x, y, p) in frame.enumerate_pixels() {
        let i = (y as usize * THUMB / h) * THUMB + x as usize * THUMB / w;
        out[i] += luma(*p);
        counts[i] += 1;
    }
    for (v, n) in out.iter_mut().zip(counts) {
        *v /= n.max(1) as f32;
    }
}

/// The mean absolute change between two thumbnails.
pub fn scene_change(thumb: &[f32], previous: &[f32]) -> f32 {
    thumb
        .iter()
        .zip(previous)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / thumb.len() as f32
}

/// One frame's step: `smoothed` (the history) becomes `raw` where the scene is new (`restart`),
/// else each probability moves towards `raw`, at once where it changed by `motion` or more.
pub fn blend(smoothed: &mut [f32], raw: &[f32], restart: bool, s: Smoothing) {
    if restart {
        smoothed.copy_from_slice(raw);
        return;
    }
    for (out, &p) in smoothed.iter_mut().zip(raw) {
        let history = s.history((p - *out).abs());
        *out = history * *out + (1.0 - history) * p;
    }
}
