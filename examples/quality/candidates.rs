//! Finish steps measured beside the library's: the ones it replaced (so each table shows the
//! gain side by side, in one run) and ones not (yet) in it, each kept only if these figures say
//! it helps (then it gets its WGSL kernel and its reference twin).

use image::{GrayImage, RgbImage, Rgba, RgbaImage};
use silhouette::cpu::finish::blurred_with;
use silhouette::fast::finish::{area_downsample, separable};
use silhouette::finish::{to_u8, work_size};

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
