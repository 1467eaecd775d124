//! The README's before/after crops (`--pictures DIR`): hair and shoulder of a bench scene, as
//! the finish made them before 2026-12-05 (grey guide, the whole photo blurred, no response
//! curve), as it
//! makes them now, and the ideal, side by side, enlarged 2x so a halo is visible.

use crate::candidates::{grey_guided_alpha, unweighted_blur};
use crate::{Case, REPLACEMENT};
use image::imageops::{FilterType, crop_imm, resize};
use image::{GrayImage, Rgba, RgbaImage};
use silhouette::cpu::finish::{alpha, compose};
use silhouette::{Background, Response, Segmenter};
use std::error::Error;
use std::path::Path;

/// The crop: the right of the cap and the hair, down to the shoulder (grace_hopper, 512x600).
const CROP: (u32, u32, u32, u32) = (330, 150, 150, 190);
const GAP: u32 = 6;

/// Writes `finish_blur.png` (the scene over white) and `finish_replace.png` (over stripes) into
/// `dir`.
pub fn write(segmenter: &Segmenter, cases: &[Case], dir: &Path) -> Result<(), Box<dyn Error>> {
    let case = |label: &str| {
        cases
            .iter()
            .find(|c| c.label == label)
            .ok_or(format!("no scene {label}"))
    };
    let white = case("grace_hopper over white")?;
    let (before, now) = alphas(segmenter, white)?;
    let panels = [
        unweighted_blur(&white.scene, &before, white.radius),
        compose(&white.scene, &now, &white.blur),
        rgba(&white.ideal_blur),
    ];
    strip(&panels).save(dir.join("finish_blur.png"))?;
    let stripes = case("grace_hopper over stripes")?;
    let (before, now) = alphas(segmenter, stripes)?;
    let colour = Background::Color(REPLACEMENT);
    let panels = [
        compose(&stripes.scene, &before, &colour),
        compose(&stripes.scene, &now, &colour),
        rgba(&stripes.ideal_replace),
    ];
    strip(&panels).save(dir.join("finish_replace.png"))?;
    Ok(())
}

/// The refined alpha as it was (grey guide, no response curve) and as it is.
fn alphas(segmenter: &Segmenter, case: &Case) -> Result<(GrayImage, GrayImage), Box<dyn Error>> {
    let probabilities = segmenter.probabilities(&case.scene)?;
    let before = grey_guided_alpha(&case.scene, &probabilities);
    let now = alpha(&case.scene, &probabilities, true, Response::default());
    Ok((before, now))
}

fn rgba(image: &image::RgbImage) -> RgbaImage {
    image::DynamicImage::ImageRgb8(image.clone()).to_rgba8()
}

/// The crop of each panel, enlarged 2x (nearest: the pixels as they are), left to right.
fn strip(panels: &[RgbaImage]) -> RgbaImage {
    let (x, y, w, h) = CROP;
    let n = panels.len() as u32;
    let mut out = RgbaImage::from_pixel(n * 2 * w + (n - 1) * GAP, 2 * h, Rgba([255; 4]));
    for (k, panel) in panels.iter().enumerate() {
        let crop = crop_imm(panel, x, y, w, h).to_image();
        let big = resize(&crop, 2 * w, 2 * h, FilterType::Nearest);
        image::imageops::replace(&mut out, &big, (k as u32 * (2 * w + GAP)) as i64, 0);
    }
    out
}
