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

/// The refined alpha by the colour guided filter (He et al. 2013, section 3.5): the same window,
/// regulariser and working resolution as the library's grey one, the coefficients a 3-vector
/// from the colour covariance per window, then `response`.
pub fn colour_guided_alpha(
    image: &RgbImage,
    probabilities: &[f32],
    response: silhouette::Response,
) -> GrayImage {
    use silhouette::cpu::finish::Plane;
    use silhouette::fast::finish::box_mean;
    use silhouette::finish::{GUIDE_EPS, GUIDE_RADIUS};
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (w2, h2) = work_size(w, h);
    let [r, g, b] = area_downsample(image, w2, h2, |_, p| p.0.map(|c| c as f32 / 255.0));
    let mask = Plane {
        width: 256,
        height: 256,
        data: probabilities.to_vec(),
    };
    let p = Plane {
        data: (0..w2 * h2)
            .map(|i| mask.sample(i % w2, i / w2, w2, h2))
            .collect(),
        ..r.clone()
    };
    let mean = |f: &dyn Fn(usize) -> f32| {
        let plane = Plane {
            data: (0..w2 * h2).map(f).collect(),
            ..r.clone()
        };
        box_mean(&plane, GUIDE_RADIUS).data
    };
    let i = [&r.data, &g.data, &b.data];
    let mi: Vec<Vec<f32>> = (0..3).map(|c| mean(&|k| i[c][k])).collect();
    let mp = mean(&|k| p.data[k]);
    let mip: Vec<Vec<f32>> = (0..3).map(|c| mean(&|k| i[c][k] * p.data[k])).collect();
    let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let mii: Vec<Vec<f32>> = pairs
        .iter()
        .map(|&(c, d)| mean(&|k| i[c][k] * i[d][k]))
        .collect();
    let mut coeff = vec![vec![0.0f32; w2 * h2]; 4];
    for k in 0..w2 * h2 {
        let cov = |n: usize| {
            let (c, d) = pairs[n];
            (mii[n][k] - mi[c][k] * mi[d][k]) as f64 + if c == d { GUIDE_EPS as f64 } else { 0.0 }
        };
        let s = [
            [cov(0), cov(1), cov(2)],
            [cov(1), cov(3), cov(4)],
            [cov(2), cov(4), cov(5)],
        ];
        let v: Vec<f64> = (0..3)
            .map(|c| (mip[c][k] - mi[c][k] * mp[k]) as f64)
            .collect();
        // a = S^-1 v by Cramer's rule (S is symmetric positive definite).
        let det3 = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let det = det3(s);
        let mut bias = mp[k] as f64;
        for c in 0..3 {
            let mut m = s;
            (0..3).for_each(|row| m[row][c] = v[row]);
            let a = det3(m) / det;
            coeff[c][k] = a as f32;
            bias -= a * mi[c][k] as f64;
        }
        coeff[3][k] = bias as f32;
    }
    let coeff: Vec<Plane> = coeff
        .into_iter()
        .map(|data| box_mean(&Plane { data, ..r.clone() }, GUIDE_RADIUS))
        .collect();
    let (lo, scale) = response.ramp();
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (xs, ys) = (x as usize, y as usize);
        let px = image.get_pixel(x, y).0;
        let mut v = coeff[3].sample(xs, ys, w, h);
        for c in 0..3 {
            v += coeff[c].sample(xs, ys, w, h) * px[c] as f32 / 255.0;
        }
        image::Luma([to_u8((v - lo) * scale)])
    })
}
