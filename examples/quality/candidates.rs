//! Finish steps measured beside the library's: the ones it replaced (so each table shows the
//! gain side by side, in one run) and ones not (yet) in it, each kept only if these figures say
//! it helps (then it gets its WGSL kernel and its reference twin).

use image::{GrayImage, RgbImage, Rgba, RgbaImage};
use silhouette::cpu::finish::{area_downsample, separable};
use silhouette::finish::THUMB;
use silhouette::finish::{to_u8, work_size};
use silhouette::reference::finish::blurred_with;

/// `blur` as it was before 2026-12-05: the whole photo blurred, person included, so the person's
/// colours bleed into the background around them (a halo). Same working resolution, sigma and
/// bilinear upsampling as the library's blur.
pub fn unweighted_blur(image: &RgbImage, alpha: &GrayImage, radius: f32) -> RgbaImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    let planes = area_downsample(image, w2, h2, |_, p| p.0.map(f32::from));
    let blurred = blurred_with(planes, radius, w, separable);
    RgbaImage::from_fn(w as u32, h as u32, |x, y| {
        let t = alpha.get_pixel(x, y).0[0] as f32 / 255.0;
        let fg = image.get_pixel(x, y).0;
        let behind = |c: usize| blurred[c].sample(x as usize, y as usize, w, h);
        let px = [0, 1, 2].map(|c| to_u8((fg[c] as f32 * t + behind(c) * (1.0 - t)) / 255.0));
        Rgba([px[0], px[1], px[2], 255])
    })
}

/// The refined alpha as it was before 2026-12-05: the guided filter guided by the luma (one
/// coefficient a window instead of a colour 3-vector) at the working resolution (512), radius
/// 4, eps 1e-3, no response curve.
pub fn grey_guided_alpha(image: &RgbImage, probabilities: &[f32]) -> GrayImage {
    use silhouette::cpu::finish::box_mean;
    use silhouette::finish::{GUIDE_RADIUS, luma};
    use silhouette::reference::finish::Plane;
    // The regulariser it had.
    const GUIDE_EPS: f32 = 1e-3;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    let [i] = area_downsample(image, w2, h2, |_, p| [luma(p)]);
    let mask = Plane {
        width: 256,
        height: 256,
        data: probabilities.to_vec(),
    };
    let plane = |f: &dyn Fn(usize) -> f32| Plane {
        data: (0..w2 * h2).map(f).collect(),
        ..i.clone()
    };
    let p = plane(&|k| mask.sample(k % w2, k / w2, w2, h2));
    let mean = |f: &dyn Fn(usize) -> f32| box_mean(&plane(f), GUIDE_RADIUS).data;
    let (mi, mp) = (mean(&|k| i.data[k]), mean(&|k| p.data[k]));
    let (mip, mii) = (
        mean(&|k| i.data[k] * p.data[k]),
        mean(&|k| i.data[k] * i.data[k]),
    );
    let a: Vec<f32> = (0..w2 * h2)
        .map(|k| (mip[k] - mi[k] * mp[k]) / (mii[k] - mi[k] * mi[k] + GUIDE_EPS))
        .collect();
    let (a, b) = (
        box_mean(&plane(&|k| a[k]), GUIDE_RADIUS),
        box_mean(&plane(&|k| mp[k] - a[k] * mi[k]), GUIDE_RADIUS),
    );
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (xs, ys) = (x as usize, y as usize);
        let v = a.sample(xs, ys, w, h) * luma(*image.get_pixel(x, y)) + b.sample(xs, ys, w, h);
        image::Luma([to_u8(v)])
    })
}

/// `Smoother` as it was before 2026-12-05: strength 0.6, and the history's weight falling
/// linearly with the change, `strength * (1 - change / motion)`, so sensor noise was smoothed
/// less than it is now. Same thumbnail and scene-change test as the library's.
pub struct LinearSmoother {
    smoothed: Vec<f32>,
    thumb: Vec<f32>,
    first: bool,
}

impl Default for LinearSmoother {
    fn default() -> Self {
        LinearSmoother {
            smoothed: Vec::new(),
            thumb: vec![0.0; THUMB * THUMB],
            first: true,
        }
    }
}

impl LinearSmoother {
    pub fn smooth(&mut self, frame: &RgbImage, raw: &[f32]) -> Vec<f32> {
        use silhouette::cpu::finish::thumbnail;
        use silhouette::reference::smoothing::scene_change;
        const STRENGTH: f32 = 0.6;
        const MOTION: f32 = 0.5;
        let mut thumb = vec![0.0; THUMB * THUMB];
        thumbnail(frame, &mut thumb);
        let restart = self.first
            || scene_change(&thumb, &self.thumb) > silhouette::Smoothing::default().scene_change;
        if restart {
            self.smoothed = raw.to_vec();
        } else {
            for (out, &p) in self.smoothed.iter_mut().zip(raw) {
                let history = STRENGTH * (1.0 - ((p - *out).abs() / MOTION).min(1.0));
                *out = history * *out + (1.0 - history) * p;
            }
        }
        (self.thumb, self.first) = (thumb, false);
        self.smoothed.clone()
    }
}
