//! The finish as data: what goes behind the person, and the fixed parameters and small formulas
//! that both executors of the finish follow (the CPU reference in [`crate::reference::finish`], the
//! GPU kernels in [`crate::ops`]: downsample, separable, guided, compose).
//!
//! **Why a guided filter** (He, Sun, Tang; the "fast" variant of He & Sun 2015) rather than joint
//! bilateral upsampling: it is linear in the pixel count whatever the radius (box filters), it has
//! no range parameter to tune per photo, and its output is locally an affine function of the
//! photo's colour, so a mask edge snaps to the photo's own edge (hair, shoulders) instead of
//! the 256x256 grid. The fast variant computes the affine coefficients at a low resolution and
//! applies them at full resolution, which is also what keeps memory bounded.

use image::{Rgb, RgbImage};

/// Long side of the finish's largest working resolution: the background blur's for narrow
/// blurs ([`blur_size`]).
pub const WORK_SIZE: usize = 512;
/// Long side of the resolution the guided filter's coefficients are computed at: the mask's
/// own (256), so its window is the same number of mask pixels at any photo size. Against 512
/// (where the grey filter had been), tools/quality.sh on 2026-12-05: edge error 0.154 -> 0.142,
/// halos 4.69 -> 4.46 (blur) and 6.43 -> 6.24 (replace), and the CPU finish of a 720p frame's
/// `replace` 29 -> 14 ms (a quarter of the box means).
pub const GUIDE_SIZE: usize = 256;
/// Guided filter window radius at [`GUIDE_SIZE`], and its regulariser (on [0, 1] colour): the
/// smaller, the closer the alpha follows the photo's edges. 1e-4 against 1e-3, on 2026-12-05:
/// edge error 0.142 -> 0.134, halos 4.46 -> 4.23 and 6.24 -> 5.78; with sensor noise of ±3 levels
/// added to the scenes, 0.142 -> 0.134 as well (3e-5 gained little more: 0.133).
pub const GUIDE_RADIUS: usize = 4;
pub const GUIDE_EPS: f32 = 1e-4;

/// What goes behind the person.
#[derive(Clone, Debug, PartialEq)]
pub enum Background {
    /// Keep only the person: RGBA with the mask as straight (not premultiplied) alpha.
    Transparent,
    /// The photo's background, Gaussian-blurred with this sigma in full-resolution pixels (the
    /// person left out of the blur: [`background_weight`]).
    Blur {
        radius: f32,
    },
    Color([u8; 3]),
    /// Scaled to cover the photo (no bars), centred, cropped.
    Image(RgbImage),
}

/// The kinds of [`Background`], as the compose kernel switches on them: `kind as u32` is the
/// `BACKGROUND_*` constant of the generated WGSL prelude (`ops::wgsl`), so Rust and WGSL share
/// one definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BackgroundKind {
    Transparent = 0,
    Color = 1,
    Blur = 2,
    Image = 3,
}

impl BackgroundKind {
    pub const ALL: [BackgroundKind; 4] = [
        BackgroundKind::Transparent,
        BackgroundKind::Color,
        BackgroundKind::Blur,
        BackgroundKind::Image,
    ];
}

impl Background {
    pub fn kind(&self) -> BackgroundKind {
        match self {
            Background::Transparent => BackgroundKind::Transparent,
            Background::Color(_) => BackgroundKind::Color,
            Background::Blur { .. } => BackgroundKind::Blur,
            Background::Image(_) => BackgroundKind::Image,
        }
    }
}

/// The working resolution for a `w` x `h` photo: at most WORK_SIZE on the long side, never
/// larger than the photo.
pub fn work_size(w: usize, h: usize) -> (usize, usize) {
    at_most(w, h, WORK_SIZE)
}

/// The background blur's sigma in its own pixels: the blur runs at the lowest resolution that
/// keeps it ([`blur_size`]), so a wide blur costs no more than a narrow one. Against the blur at
/// [`WORK_SIZE`] on 2026-12-05: the same halo on tools/quality.sh's scenes (4.23 levels), the
/// CPU finish's `blur` of a 720p frame (its default radius, 1% of the long side) 25 -> 18 ms.
pub const BLUR_WORK_SIGMA: f32 = 2.5;
/// The least long side the blur runs at (for the widest blurs).
pub const BLUR_MIN_SIZE: usize = 128;

/// The background blur's sigma when none is asked for: 1% of the photo's long side, at least a
/// pixel (the CLI's `blur`, and the element's, the wheel's and the browser's defaults).
pub fn default_blur_radius(w: u32, h: u32) -> f32 {
    (w.max(h) as f32 / 100.0).max(1.0)
}

/// The background blur's resolution for a `w` x `h` photo and a blur of sigma `radius` (in the
/// photo's pixels): [`BLUR_WORK_SIGMA`] of its pixels to the radius, between [`BLUR_MIN_SIZE`]
/// and [`WORK_SIZE`] on the long side, never larger than the photo.
pub fn blur_size(w: usize, h: usize, radius: f32) -> (usize, usize) {
    let long = w.max(h) as f32;
    let size = (long * BLUR_WORK_SIGMA / radius.max(f32::MIN_POSITIVE)).ceil();
    at_most(
        w,
        h,
        (size.min(WORK_SIZE as f32) as usize).max(BLUR_MIN_SIZE),
    )
}

/// The guided filter's resolution for a `w` x `h` photo: at most GUIDE_SIZE on the long side,
/// never larger than the photo.
pub fn guide_size(w: usize, h: usize) -> (usize, usize) {
    at_most(w, h, GUIDE_SIZE)
}

/// `w` x `h` scaled to `size` on the long side if it is longer.
fn at_most(w: usize, h: usize, size: usize) -> (usize, usize) {
    let long = w.max(h);
    if long <= size {
        return (w, h);
    }
    let scale = size as f64 / long as f64;
    (
        ((w as f64 * scale).round() as usize).max(1),
        ((h as f64 * scale).round() as usize).max(1),
    )
}

/// The alpha's response to the mask: probabilities below `threshold - softness / 2` become
/// transparent, above `threshold + softness / 2` opaque, linearly between. Half-sure regions
/// (a chair, a hand's shadow) then stop showing as ghosts, and edges get the width of a real
/// one. [`Response::NONE`] (softness 1) leaves the mask as it is.
///
/// The default (0.5, 0.5) is what tools/quality.sh chose on 2026-12-05 (its scenes'
/// true mattes have edges about 2 px wide): edge error 0.200 -> 0.176, halos of `blur` 5.18 ->
/// 4.90 and of `replace` 9.89 -> 7.20 levels, against no curve. Softness 0.4 to 0.6 scored
/// within 0.001 of it on edges, as did a smoothstep over the same span (0.1771 to 0.1762).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Response {
    /// The probability that becomes alpha 0.5, in [0, 1].
    pub threshold: f32,
    /// The width of the probabilities that become partial alpha, in [0, 1]: 0 is a hard cut.
    pub softness: f32,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            threshold: 0.5,
            softness: 0.5,
        }
    }
}

/// Below this a softness is a hard cut (and its scale stays finite).
const HARDEST: f32 = 1.0 / 1024.0;

impl Response {
    /// The mask as it is: alpha = probability.
    pub const NONE: Response = Response {
        threshold: 0.5,
        softness: 1.0,
    };

    /// Checks both numbers are in [0, 1].
    pub fn validate(self) -> Result<Response, String> {
        for (name, v) in [("threshold", self.threshold), ("softness", self.softness)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} {v} is outside [0, 1]"));
            }
        }
        Ok(self)
    }

    /// (lo, scale): alpha = (v - lo) * scale, clamped by [`to_u8`]. For [`Response::NONE`]
    /// exactly (0, 1), so the alpha is bit-identical to the mask's.
    pub fn ramp(self) -> (f32, f32) {
        let softness = self.softness.max(HARDEST);
        (self.threshold - softness / 2.0, 1.0 / softness)
    }
}

/// How strongly to smooth masks over a video's frames: the rule of `stream::Smoother` (CPU
/// reference in [`crate::reference::smoothing`]) and of the GPU's `ops::Smooth`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Smoothing {
    /// Weight of the history where nothing moves, in [0, 1): 0 is no smoothing.
    pub strength: f32,
    /// Per-pixel change of probability at which the history is dropped entirely.
    pub motion: f32,
    /// Mean luminance change (in [0, 1]) of a [`THUMB`]x[`THUMB`] thumbnail that counts as a
    /// new scene.
    pub scene_change: f32,
}

/// The defaults are what tools/quality.sh chose on 2026-12-05: on its pan and zoom clips the
/// masks flicker 5% less than under MediaPipe's own smoothing rule, with 15% less lag (warp
/// error 0.00227 and 0.00228 at lag 0.062 and 0.060, against 0.00239 at 0.073 and 0.071).
impl Default for Smoothing {
    fn default() -> Self {
        Smoothing {
            strength: 0.5,
            motion: 0.5,
            scene_change: 0.12,
        }
    }
}

impl Smoothing {
    /// Each field brought into its range, so no setting makes the rule blow up or disagree
    /// between the CPU and the GPU: `strength` in [0, 0.999] (1 would freeze the mask),
    /// `motion` at least 1/1024, `scene_change` at least 0; a value that is not finite takes
    /// the default's. `Smoother` and the GPU's `ops::Smooth` both use it.
    pub fn clamped(self) -> Smoothing {
        let default = Smoothing::default();
        let or = |v: f32, d: f32| if v.is_finite() { v } else { d };
        Smoothing {
            strength: or(self.strength, default.strength).clamp(0.0, 0.999),
            motion: or(self.motion, default.motion).max(1.0 / 1024.0),
            scene_change: or(self.scene_change, default.scene_change).max(0.0),
        }
    }

    /// The history's weight for a probability that changed by `change` since the last frame:
    /// `strength` while the change is small, falling to 0 at `motion` as
    /// `1 - (change / motion)^8`. Flat where sensor noise moves the mask, so the noise is
    /// averaged away; steep near `motion`, so motion is followed at once. (A linear fall, as
    /// until 2026-12-05, smoothed noise less for the same lag: tools/quality.sh.)
    pub fn history(self, change: f32) -> f32 {
        let x = (change / self.motion).min(1.0);
        let x2 = x * x;
        let x4 = x2 * x2;
        self.strength * (1.0 - x4 * x4)
    }
}

/// Side of the thumbnail (mean luma of blocks) whose change tells a new scene.
pub const THUMB: usize = 32;

/// Rec. 601 luma in [0, 1].
pub fn luma(p: Rgb<u8>) -> f32 {
    (0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32) / 255.0
}

/// floor(v * 255 + 0.5), clamped to 0..=255: how every 8-bit value is made here and on the GPU.
/// Written as a saturating cast, which is the same for every input (truncation is floor from 0
/// up, anything below 0 or NaN becomes 0, anything from 255 up 255) without a call to libm's
/// `floorf` per channel (x86-64's baseline has no rounding instruction). Through i32 and an
/// integer clamp, not `as u8`: wasm simd128 then runs it four lanes at a time
/// (`i32x4.trunc_sat_f32x4_s`), where the cast to u8 went one lane at a time.
pub fn to_u8(v: f32) -> u8 {
    ((v * 255.0 + 0.5) as i32).clamp(0, 255) as u8
}

/// The widest blur, as sigma at the blur's resolution: a Gaussian this wide washes the background
/// out to its average colour, and capping it bounds the blur's cost at 193 taps a pass. (With
/// [`blur_size`] a wide blur runs at 128 px, so the cap is half the long side: `--radius 1000`
/// on a 640x480 photo is radius 320 there.)
pub const MAX_WORK_SIGMA: f32 = 64.0;

/// The blur's sigma at the working resolution for `radius` at the photo's (`w` wide, `w2` at
/// working resolution), between 0.01 and [`MAX_WORK_SIGMA`].
pub fn work_sigma(radius: f32, w: usize, w2: usize) -> f32 {
    (radius * w2 as f32 / w as f32).clamp(0.01, MAX_WORK_SIGMA)
}

/// How much a pixel with 8-bit alpha `a` counts towards the blurred background: (1 - a)^2.
/// The blur is a normalised convolution (Knutsson & Westin 1993), each colour weighted by this
/// before the Gaussian and divided by the weight's own blur after, so the person's colours never
/// enter the background behind them. Squared, not linear: an edge pixel's colour is a fraction
/// `a` the person's, and the square keeps more of it out (tools/quality.sh, 2026-12-05, with the
/// grey guide and no response curve: halo 9.47 levels unweighted, 5.46 weighted by 1 - a, 5.18
/// by its square; with the finish as it is now the two weights score 4.47 and 4.46).
pub fn background_weight(a: u8) -> f32 {
    let t = 1.0 - a as f32 / 255.0;
    t * t
}

/// Added to the blurred weight (and that much mid-grey to the blurred colour) before dividing:
/// where no background is within the blur's reach (deep inside the person, where it is not
/// seen) the blurred background is then grey, never 0/0; where any is, it barely counts.
pub const BLUR_WEIGHT_FLOOR: f32 = 1e-4;

/// A working pixel of the blurred background: its blurred weighted colour channel `sum` over the
/// blurred weight `weight`, with [`BLUR_WEIGHT_FLOOR`]. Divided at working resolution (not per
/// full-resolution pixel): a third of the CPU finish's divisions at 720p, and the GPU's last
/// blur pass does it.
pub fn unweigh(sum: f32, weight: f32) -> f32 {
    (sum + BLUR_WEIGHT_FLOOR * 128.0) / (weight + BLUR_WEIGHT_FLOOR)
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
mod tests {
    use super::Smoothing;

    #[test]
    fn smoothing_settings_out_of_range_are_brought_into_it() {
        let wild = Smoothing {
            strength: 1.5,
            motion: 0.0,
            scene_change: f32::NAN,
        }
        .clamped();
        assert_eq!(wild.strength, 0.999);
        assert_eq!(wild.motion, 1.0 / 1024.0);
        assert_eq!(wild.scene_change, Smoothing::default().scene_change);
        for change in [0.0, 1e-4, 0.5, 1.0] {
            let h = wild.history(change);
            assert!(
                (0.0..1.0).contains(&h),
                "history {h} for a change of {change}"
            );
        }
        let s = Smoothing::default();
        assert_eq!(s.clamped(), s);
        // Flat for noise, gone at `motion`.
        assert!((s.history(0.05) - s.strength).abs() < 1e-6);
        assert_eq!(s.history(s.motion), 0.0);
    }

    #[test]
    fn to_u8_is_floor_of_v_times_255_plus_a_half_clamped() {
        let floor_clamped = |v: f32| (v * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8;
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            1.0,
            254.5 / 255.0,
        ];
        let dense = (-40_000..=300_000).map(|i| i as f32 / 255_000.0);
        for v in specials.into_iter().chain(dense) {
            assert_eq!(super::to_u8(v), floor_clamped(v), "v = {v}");
        }
    }
}
