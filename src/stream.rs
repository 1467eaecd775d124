//! Video and image sequences: masks that do not flicker. Each frame's probabilities are blended
//! with the previous result (an exponential moving average), except where they changed a lot
//! (motion: follow at once, no ghosting) or when the whole picture changed (a cut: start over).
//! Buffers are allocated once; frames allocate nothing.

use crate::cpu::finish::thumbnail;
use crate::error::Result;
pub use crate::finish::Smoothing;
use crate::finish::THUMB;
use crate::network::{OUTPUT, check_output};
use crate::reference::smoothing::{blend, scene_change};
use crate::segmenter::Segmenter;
use image::RgbImage;

/// The smoothing on its own, for callers that compute each frame's probabilities themselves
/// (the browser build, where the network runs asynchronously): [`Stream`] is a segmenter and
/// one of these.
pub struct Smoother {
    smoothing: Smoothing,
    smoothed: Vec<f32>,
    thumb: Vec<f32>,
    previous_thumb: Vec<f32>,
    frames: u64,
}

impl Smoother {
    /// A smoother with `smoothing` brought into range ([`Smoothing::clamped`]).
    pub fn new(smoothing: Smoothing) -> Smoother {
        Smoother {
            smoothing: smoothing.clamped(),
            smoothed: vec![0.0; OUTPUT.len()],
            thumb: vec![0.0; THUMB * THUMB],
            previous_thumb: vec![0.0; THUMB * THUMB],
            frames: 0,
        }
    }

    /// Forget the history: the next frame's mask is taken as it is.
    pub fn reset(&mut self) {
        self.frames = 0;
    }

    /// Hands this history to `segmenter`'s own smoothing (that of
    /// [`composite_texture`](Segmenter::composite_texture), on the GPU): its next frame blends
    /// into what this smoother's next would. For frames that move between engines, e.g. from
    /// the CPU's to the GPU's once it is ready, with no jump. Nothing to do on the CPU backend.
    pub fn carry_into(&self, segmenter: &Segmenter) -> Result<()> {
        segmenter.continue_smoothing(&self.previous_thumb, &self.smoothed, self.frames)
    }

    /// Blends `raw`, the 256x256 probabilities of `frame`, into the history; returns the
    /// smoothed probabilities.
    pub fn smooth(&mut self, frame: &RgbImage, raw: &[f32]) -> Result<&[f32]> {
        check_output(raw.len(), 1)?;
        thumbnail(frame, &mut self.thumb);
        let cut = scene_change(&self.thumb, &self.previous_thumb) > self.smoothing.scene_change;
        std::mem::swap(&mut self.thumb, &mut self.previous_thumb);
        blend(
            &mut self.smoothed,
            raw,
            self.frames == 0 || cut,
            self.smoothing,
        );
        self.frames += 1;
        Ok(&self.smoothed)
    }
}

/// A segmenter and a [`Smoother`]: frame in, smoothed probabilities out.
#[cfg(not(target_arch = "wasm32"))]
pub struct Stream<'a> {
    segmenter: &'a Segmenter,
    raw: Vec<f32>,
    smoother: Smoother,
}

#[cfg(not(target_arch = "wasm32"))]
impl<'a> Stream<'a> {
    pub fn new(segmenter: &'a Segmenter, smoothing: Smoothing) -> Stream<'a> {
        Stream {
            segmenter,
            raw: vec![0.0; OUTPUT.len()],
            smoother: Smoother::new(smoothing),
        }
    }

    /// Forget the history: the next frame's mask is taken as it is.
    pub fn reset(&mut self) {
        self.smoother.reset();
    }

    /// The smoothed 256x256 probabilities for the next frame.
    pub fn next(&mut self, frame: &RgbImage) -> Result<&[f32]> {
        self.segmenter.probabilities_into(frame, &mut self.raw)?;
        self.smoother.smooth(frame, &self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;

    fn frame(name: &str) -> RgbImage {
        image::open(format!(
            "{}/tests/data/frames/{name}.png",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .to_rgb8()
    }

    /// `frame` with seeded noise of +-amplitude, like a webcam's.
    fn noisy(frame: &RgbImage, seed: u64, amplitude: i32) -> RgbImage {
        let noise = crate::ops::testing::random(frame.len(), seed);
        let mut out = frame.clone();
        for (v, n) in out.iter_mut().zip(noise) {
            *v = (*v as i32 + (n * amplitude as f32) as i32).clamp(0, 255) as u8;
        }
        out
    }

    fn mean_abs_change(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
    }

    #[test]
    fn smoothing_reduces_flicker_and_a_new_scene_starts_over() {
        let segmenter = Segmenter::new(Backend::Cpu).unwrap();
        let mut stream = Stream::new(&segmenter, Smoothing::default());
        let base = frame("grace_hopper");
        let first = stream.next(&base).unwrap().to_vec();
        assert_eq!(
            first,
            segmenter.probabilities(&base).unwrap(),
            "the first frame is taken as it is"
        );

        // Sensor noise: frame-to-frame change of the smoothed mask is below the raw one's.
        let (mut raw_change, mut smooth_change) = (0.0, 0.0);
        let (mut previous_raw, mut previous_smooth) = (first.clone(), first);
        for seed in 1..6 {
            let f = noisy(&base, seed, 12);
            let smooth = stream.next(&f).unwrap().to_vec();
            let raw = segmenter.probabilities(&f).unwrap();
            raw_change += mean_abs_change(&raw, &previous_raw);
            smooth_change += mean_abs_change(&smooth, &previous_smooth);
            (previous_raw, previous_smooth) = (raw, smooth);
        }
        println!("frame-to-frame change: raw {raw_change:.5}, smoothed {smooth_change:.5}");
        assert!(
            smooth_change < 0.7 * raw_change,
            "{smooth_change} vs {raw_change}"
        );

        // A cut to another scene: no trace of the old mask.
        let other = frame("astronaut");
        assert_eq!(
            stream.next(&other).unwrap(),
            &segmenter.probabilities(&other).unwrap()[..]
        );
    }
}
