use super::*;
use crate::finish::work_size;

/// A 1024x768 photo with a known silhouette: a wavy-edged figure in warm colours over a cool,
/// textured background. Returns (photo, true full-resolution mask).
fn synthetic_scene() -> (RgbImage, GrayImage) {
    let (w, h) = (1024u32, 768u32);
    let inside = |x: f32, y: f32| {
        let (cx, cy) = (512.0, 420.0);
        let angle = (y - cy).atan2(x - cx);
        let r = 230.0 + 18.0 * (7.0 * angle).sin() + 6.0 * (23.0 * angle).sin();
        ((x - cx).powi(2) + ((y - cy) * 1.25).powi(2)).sqrt() < r
    };
    let truth = GrayImage::from_fn(w, h, |x, y| {
        Luma([if inside(x as f32 + 0.5, y as f32 + 0.5) {
            255
        } else {
            0
        }])
    });
    let photo = RgbImage::from_fn(w, h, |x, y| {
        let texture = (((x * 7 + y * 13) % 23) as f32 - 11.0) * 1.5;
        if truth.get_pixel(x, y).0[0] > 0 {
            Rgb([
                (200.0 + texture) as u8,
                (150.0 + texture) as u8,
                (110.0 + texture) as u8,
            ])
        } else {
            Rgb([
                (40.0 + texture) as u8,
                (70.0 + texture) as u8,
                (120.0 + texture) as u8,
            ])
        }
    });
    (photo, truth)
}

/// The ideal network output: the true mask area-averaged to 256x256.
fn ideal_probabilities(truth: &GrayImage) -> Vec<f32> {
    let (w, h) = (truth.width() as usize, truth.height() as usize);
    let mut sum = vec![0.0f32; 256 * 256];
    let mut count = vec![0.0f32; 256 * 256];
    for (x, y, p) in truth.enumerate_pixels() {
        let i = (y as usize * 256 / h) * 256 + x as usize * 256 / w;
        sum[i] += p.0[0] as f32 / 255.0;
        count[i] += 1.0;
    }
    sum.iter().zip(&count).map(|(s, n)| s / n).collect()
}

/// Mean |alpha - truth| (in [0, 1]) over pixels within `band` pixels of the true edge.
fn edge_error(alpha: &GrayImage, truth: &GrayImage, band: i64) -> f64 {
    let (w, h) = (truth.width() as i64, truth.height() as i64);
    let (mut total, mut n) = (0.0, 0usize);
    for y in 0..h {
        for x in 0..w {
            let t = truth.get_pixel(x as u32, y as u32).0[0];
            let near_edge = (-band..=band).any(|d| {
                let (xx, yy) = ((x + d).clamp(0, w - 1), (y + d).clamp(0, h - 1));
                truth.get_pixel(xx as u32, y as u32).0[0] != t
                    || truth.get_pixel(x as u32, yy as u32).0[0] != t
            });
            if near_edge {
                total += (alpha.get_pixel(x as u32, y as u32).0[0] as f64 - t as f64).abs() / 255.0;
                n += 1;
            }
        }
    }
    total / n as f64
}

#[test]
fn guided_refinement_beats_bilinear_upsampling_at_edges() {
    let (photo, truth) = synthetic_scene();
    let probabilities = ideal_probabilities(&truth);
    let bilinear = edge_error(
        &alpha(&photo, &probabilities, false, Response::NONE),
        &truth,
        6,
    );
    let refined = edge_error(
        &alpha(&photo, &probabilities, true, Response::NONE),
        &truth,
        6,
    );
    println!(
        "mean |alpha - truth| within 6 px of the edge: bilinear {bilinear:.4}, refined {refined:.4}"
    );
    assert!(
        refined < 0.75 * bilinear,
        "refined {refined} vs bilinear {bilinear}"
    );
}

#[test]
fn refinement_keeps_flat_regions() {
    // Away from edges the refined alpha agrees with the mask.
    let (photo, truth) = synthetic_scene();
    let refined = alpha(&photo, &ideal_probabilities(&truth), true, Response::NONE);
    assert!(refined.get_pixel(512, 420).0[0] >= 250);
    assert!(refined.get_pixel(10, 10).0[0] <= 5);
}

#[test]
fn box_mean_clips_at_borders() {
    let p = Plane {
        width: 3,
        height: 1,
        data: vec![3.0, 6.0, 9.0],
    };
    assert_eq!(box_mean(&p, 1).data, vec![4.5, 6.0, 7.5]);
}

#[test]
fn work_size_caps_the_long_side() {
    assert_eq!(work_size(4000, 3000), (512, 384));
    assert_eq!(work_size(300, 20), (300, 20));
    assert_eq!(work_size(16384, 1), (512, 1));
}

#[test]
fn gaussian_taps_are_normalised() {
    for sigma in [0.5, 1.0, 3.7, 12.0] {
        let t = gaussian_taps(sigma);
        assert!((t[0] + 2.0 * t[1..].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn cut_out_keeps_the_photo_colour_under_partial_alpha() {
    // Straight alpha: a half-transparent edge pixel keeps its colour, so it cannot darken.
    let photo = RgbImage::from_pixel(4, 4, Rgb([200, 100, 50]));
    let alpha = GrayImage::from_fn(4, 4, |x, _| Luma([(x * 80) as u8]));
    let out = compose(&photo, &alpha, &Background::Transparent);
    for (x, y, p) in out.enumerate_pixels() {
        assert_eq!(p.0, [200, 100, 50, alpha.get_pixel(x, y).0[0]]);
    }
}

#[test]
fn colour_background_blends_by_alpha() {
    let photo = RgbImage::from_pixel(3, 1, Rgb([255, 0, 0]));
    let alpha = GrayImage::from_raw(3, 1, vec![255, 0, 51]).unwrap();
    let out = compose(&photo, &alpha, &Background::Color([0, 0, 255]));
    assert_eq!(out.get_pixel(0, 0).0, [255, 0, 0, 255]);
    assert_eq!(out.get_pixel(1, 0).0, [0, 0, 255, 255]);
    assert_eq!(out.get_pixel(2, 0).0, [51, 0, 204, 255]); // 20% red, 80% blue
}

#[test]
fn image_background_covers_and_centres() {
    // A 100x50 background, left half black and right half white, behind a 50x50 photo: scaled
    // to cover (scale 1), the middle 50 columns show; photo pixel 10 maps to background 35.
    let bg = RgbImage::from_fn(100, 50, |x, _| {
        if x < 50 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    });
    let cover = Cover::new(&bg, 50, 50);
    assert_eq!(
        (cover.scale, cover.offset_x, cover.offset_y),
        (1.0, 25.0, 0.0)
    );
    assert_eq!(cover.sample(&bg, 10, 10), [0.0; 3]);
    assert_eq!(cover.sample(&bg, 40, 10), [255.0; 3]);
    let photo = RgbImage::new(50, 50);
    let out = compose(&photo, &GrayImage::new(50, 50), &Background::Image(bg));
    assert_eq!(out.get_pixel(10, 5).0, [0, 0, 0, 255]);
    assert_eq!(out.get_pixel(40, 5).0, [255, 255, 255, 255]);
}

#[test]
fn blur_keeps_flat_colour_and_softens_a_step() {
    let flat = RgbImage::from_pixel(64, 48, Rgb([10, 20, 30]));
    // All background (alpha 0): every weight is 1, so the blur keeps the colour (but for the
    // floor's 1e-4 of grey).
    let blurred = blurred_background(&flat, &GrayImage::new(64, 48), 5.0);
    assert!(
        blurred
            .iter()
            .zip([10.0, 20.0, 30.0])
            .all(|(p, v)| p.data.iter().all(|x| (x - v).abs() < 0.02))
    );
    let step = RgbImage::from_fn(64, 8, |x, _| {
        if x < 32 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    });
    let out = compose(
        &step,
        &GrayImage::new(64, 8),
        &Background::Blur { radius: 4.0 },
    );
    let row: Vec<u8> = (0..64).map(|x| out.get_pixel(x, 4).0[0]).collect();
    assert!(
        row.windows(2).all(|w| w[0] <= w[1]),
        "monotone across the step: {row:?}"
    );
    assert!(row[31] > 60 && row[32] < 195, "softened: {row:?}");
}

#[test]
fn the_person_stays_out_of_the_blurred_background() {
    // A red person (alpha 255) on the left third, grey-green background on the rest: behind
    // the background next to the person, the blur shows the background's colour only. An
    // unweighted blur of the photo is half red at the edge.
    let (w, h) = (96u32, 32u32);
    let person = |x: u32| x < 32;
    let photo = RgbImage::from_fn(w, h, |x, _| {
        if person(x) {
            Rgb([220, 20, 20])
        } else {
            Rgb([60, 140, 90])
        }
    });
    let alpha = GrayImage::from_fn(w, h, |x, _| Luma([if person(x) { 255 } else { 0 }]));
    let out = compose(&photo, &alpha, &Background::Blur { radius: 6.0 });
    for x in 32..w {
        let p = out.get_pixel(x, h / 2).0;
        assert_eq!(p, [60, 140, 90, 255], "background pixel {x}");
    }
    // Inside the person, far from any background, the pixel is the person's.
    assert_eq!(out.get_pixel(2, h / 2).0, [220, 20, 20, 255]);
}

#[test]
fn the_smallest_photo_works() {
    let photo = RgbImage::from_pixel(1, 1, Rgb([9, 9, 9]));
    let probabilities = vec![0.5; 256 * 256];
    for refine in [false, true] {
        let a = alpha(&photo, &probabilities, refine, Response::NONE);
        assert_eq!(a.dimensions(), (1, 1));
        let out = compose(&photo, &a, &Background::Blur { radius: 3.0 });
        assert_eq!(out.dimensions(), (1, 1));
    }
}

#[test]
fn the_response_ramps_the_alpha_between_its_bounds() {
    let photo = RgbImage::from_pixel(256, 256, Rgb([90, 90, 90]));
    // Probabilities 0, 0.25, ..., 1 in columns of 52 (half-pixel bilinear is exact inside).
    let levels = [0.0, 0.25, 0.5, 0.75, 1.0];
    let probs: Vec<f32> = (0..256 * 256).map(|i| levels[(i % 256) / 52]).collect();
    let at = |response: Response| {
        let a = alpha(&photo, &probs, false, response);
        levels
            .map(|_| 0)
            .iter()
            .enumerate()
            .map(|(k, _)| a.get_pixel(k as u32 * 52 + 20, 9).0[0])
            .collect::<Vec<_>>()
    };
    assert_eq!(at(Response::NONE), [0, 64, 128, 191, 255]);
    assert_eq!(at(Response::default()), [0, 0, 128, 255, 255]);
    let hard = Response {
        threshold: 0.6,
        softness: 0.0,
    };
    assert_eq!(at(hard), [0, 0, 0, 255, 255]);
    let invalid = Response {
        threshold: 1.5,
        softness: 0.5,
    };
    assert!(invalid.validate().is_err());
}
