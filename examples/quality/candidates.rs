//! Finish steps not (yet) in the library, measured here before any is kept: each is kept only
//! if these figures say it helps (then it gets its WGSL kernel and its reference twin).

use image::{GrayImage, RgbImage, Rgba, RgbaImage};
use silhouette::cpu::finish::Plane;
use silhouette::fast::finish::separable;
use silhouette::finish::{gaussian_taps, work_sigma, work_size};

/// `blur` with the background blurred by normalised convolution: each colour weighted by how
/// much of the pixel is background (1 - alpha) before the Gaussian, divided by the blurred
/// weight after, so the person's colours never enter the blurred background (as Google Meet
/// and La Suite Meet do). Where no background is near (the weight's blur under 1e-3) the plain
/// blur is used. Same working resolution, sigma and bilinear upsampling as the library's blur.
pub fn background_weighted_blur(image: &RgbImage, alpha: &GrayImage, radius: f32) -> RgbaImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    // Area sums at working resolution: colour x weight, weight, colour, count.
    let mut sums = vec![[0.0f32; 8]; w2 * h2];
    for (x, y, p) in image.enumerate_pixels() {
        let cell = &mut sums[(y as usize * h2 / h) * w2 + x as usize * w2 / w];
        let weight = 1.0 - alpha.get_pixel(x, y).0[0] as f32 / 255.0;
        for c in 0..3 {
            cell[c] += p.0[c] as f32 * weight;
            cell[4 + c] += p.0[c] as f32;
        }
        cell[3] += weight;
        cell[7] += 1.0;
    }
    let taps = gaussian_taps(work_sigma(radius, w, w2));
    let plane = |k: usize| {
        let data = sums.iter().map(|s| s[k] / s[7]).collect();
        separable(
            &Plane {
                width: w2,
                height: h2,
                data,
            },
            &taps,
        )
    };
    let blurred: Vec<Plane> = (0..7).map(plane).collect();
    RgbaImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let weight = blurred[3].sample(x, y, w, h);
        let behind = [0, 1, 2].map(|c| {
            if weight > 1e-3 {
                blurred[c].sample(x, y, w, h) / weight
            } else {
                blurred[4 + c].sample(x, y, w, h)
            }
        });
        let a = alpha.get_pixel(x as u32, y as u32).0[0] as f32 / 255.0;
        let fg = image.get_pixel(x as u32, y as u32).0;
        let px = [0, 1, 2].map(|c| {
            (fg[c] as f32 * a + behind[c] * (1.0 - a))
                .round()
                .clamp(0.0, 255.0) as u8
        });
        Rgba([px[0], px[1], px[2], 255])
    })
}
