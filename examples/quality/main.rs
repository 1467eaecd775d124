//! The quality benchmark (`tools/quality.sh`): halos, edges and stability of the finish on
//! scenes whose truth is known, each measure defined in examples/quality/README.md. Prints
//! Markdown; `--append` also adds it to benches/RESULTS.md. CPU engine and finish, and the GPU
//! finish's stills where there is a GPU.
mod candidates;
mod gpu_smoothing;
mod metrics;
mod pictures;
mod scenes;

use image::{GrayImage, RgbImage, RgbaImage};
use metrics::{Bands, bands, colour_error, mean_abs, mediapipe_smoothing, warp_mask};
use scenes::{Person, backgrounds, moved, over, people};
use silhouette::cpu::finish::{alpha, compose};
use silhouette::{Backend, Background, Response, Segmenter, Smoother, Smoothing};
use std::error::Error;
use std::fmt::Write;

/// Where `replace` puts the person: a colour none of the backgrounds has.
pub const REPLACEMENT: [u8; 3] = [250, 120, 200];
const FRAMES: usize = 24;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let append = args.iter().any(|a| a == "--append");
    let segmenter = Segmenter::new(Backend::Cpu)?;
    let people = people(&segmenter)?;
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--pictures")
        .map(|i| args.get(i + 1))
    {
        let dir = dir.ok_or("--pictures needs a folder")?;
        return pictures::write(&segmenter, &cases(&people), dir.as_ref());
    }
    let mut md = String::new();
    let now = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()?;
    writeln!(
        md,
        "\n## {} UTC: quality of the finish (tools/quality.sh)\n",
        String::from_utf8_lossy(&now.stdout).trim()
    )?;
    writeln!(
        md,
        "Scenes and measures: examples/quality/README.md. CPU engine, CLI defaults (blur radius 1% of the long side, refined edges).\n"
    )?;
    let cases = cases(&people);
    let finished = still_scenes(&segmenter, &cases, &mut md)?;
    halo_shares(&cases, &finished, &mut md)?;
    // The GPU finish (the CLI's with --backend gpu) on the same scenes, where there is a GPU.
    match Segmenter::new(Backend::Gpu) {
        Ok(gpu) => gpu_scenes(&gpu, &cases, &mut md)?,
        Err(e) => writeln!(md, "GPU finish: not measured ({e}).\n")?,
    }
    // The clips on the GPU's smoothing too, where there is a GPU.
    let mut gpu_smoother = match gpu_smoothing::GpuSmoother::new() {
        Ok(gpu) => Some(gpu),
        Err(e) => {
            writeln!(md, "GPU smoothing: not measured ({e}).\n")?;
            None
        }
    };
    clips(&segmenter, &people, gpu_smoother.as_mut(), &mut md)?;
    print!("{md}");
    if append {
        let results = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/RESULTS.md");
        let mut file = std::fs::OpenOptions::new().append(true).open(results)?;
        std::io::Write::write_all(&mut file, md.as_bytes())?;
    }
    Ok(())
}

/// One person over one background, with everything its measures compare against.
pub struct Case<'a> {
    pub person: &'a Person,
    pub label: String,
    pub scene: RgbImage,
    band: Bands,
    /// The edge and outside bands together, where `replace` is measured.
    near: Vec<bool>,
    /// The CLI's blur for this scene.
    pub blur: Background,
    pub radius: f32,
    /// The person over the true background blurred alone (by the CPU finish's blur).
    pub ideal_blur: RgbImage,
    /// The same by the blur the finish had before 2026-12-05 (at 512 px whatever the radius).
    pub ideal_blur_before: RgbImage,
    /// The person over the replacement colour.
    pub ideal_replace: RgbImage,
}

/// Each person over each background, with the CLI's blur radius (1% of the long side).
fn cases(people: &[Person]) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    for person in people {
        let (w, h) = person.colour.dimensions();
        let radius = (w.max(h) as f32 / 100.0).max(1.0);
        let band = bands(&person.alpha, (3.0 * radius).max(6.0));
        let near: Vec<bool> = band
            .edge
            .iter()
            .zip(&band.outside)
            .map(|(a, b)| *a || *b)
            .collect();
        let blur = Background::Blur { radius };
        let replacement = RgbImage::from_pixel(w, h, image::Rgb(REPLACEMENT));
        for (name, behind) in backgrounds(w, h) {
            let nothing = GrayImage::new(w, h);
            let blurred_behind = rgb(&compose(&behind, &nothing, &blur));
            let blurred_before = rgb(&candidates::unweighted_blur(&behind, &nothing, radius));
            cases.push(Case {
                person,
                label: format!("{} over {name}", person.name),
                scene: over(person, &behind),
                band: band.clone(),
                near: near.clone(),
                blur: blur.clone(),
                radius,
                ideal_blur: over(person, &blurred_behind),
                ideal_blur_before: over(person, &blurred_before),
                ideal_replace: over(person, &replacement),
            });
        }
    }
    cases
}

/// A Markdown table: a row per case and their mean, each column shown with its digits.
fn table(
    md: &mut String,
    columns: &[(&str, usize)],
    rows: &[(String, Vec<f64>)],
) -> std::fmt::Result {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    writeln!(md, "| scene | {} |", names.join(" | "))?;
    writeln!(md, "|---|{}", "---|".repeat(columns.len()))?;
    let cells = |values: &[f64], bold: bool| {
        let mark = if bold { "**" } else { "" };
        let shown: Vec<String> = values
            .iter()
            .zip(columns)
            .map(|(v, (_, digits))| format!("{mark}{v:.digits$}{mark}"))
            .collect();
        shown.join(" | ")
    };
    for (label, values) in rows {
        writeln!(md, "| {label} | {} |", cells(values, false))?;
    }
    let mean: Vec<f64> = (0..columns.len())
        .map(|c| rows.iter().map(|(_, v)| v[c]).sum::<f64>() / rows.len() as f64)
        .collect();
    writeln!(md, "| **mean** | {} |\n", cells(&mean, true))
}

/// Edges and halos on the CPU finish, as the CLI finishes them. Returns each case's alpha.
fn still_scenes(
    segmenter: &Segmenter,
    cases: &[Case],
    md: &mut String,
) -> Result<Vec<GrayImage>, Box<dyn Error>> {
    let (mut rows, mut finished) = (Vec::new(), Vec::new());
    for case in cases {
        let probabilities = segmenter.probabilities(&case.scene)?;
        let alpha = |refine, response| alpha(&case.scene, &probabilities, refine, response);
        // Before: the grey guided filter and no response curve (as until 2026-12-05); now: the
        // library's default.
        let (bilinear, before, now) = (
            alpha(false, Response::NONE),
            candidates::grey_guided_alpha(&case.scene, &probabilities),
            alpha(true, Response::default()),
        );
        let edge = |a: &GrayImage| metrics::alpha_error(a, &case.person.alpha, &case.band.edge);
        let blur_halo = |out: &RgbaImage, ideal| colour_error(out, ideal, &case.band.outside);
        let replacement = Background::Color(REPLACEMENT);
        let replace_halo = |a: &GrayImage| {
            let out = compose(&case.scene, a, &replacement);
            colour_error(&out, &case.ideal_replace, &case.near)
        };
        let unweighted = candidates::unweighted_blur(&case.scene, &before, case.radius);
        rows.push((
            case.label.clone(),
            vec![
                edge(&bilinear),
                edge(&before),
                edge(&now),
                blur_halo(&unweighted, &case.ideal_blur_before),
                blur_halo(&compose(&case.scene, &now, &case.blur), &case.ideal_blur),
                replace_halo(&before),
                replace_halo(&now),
            ],
        ));
        finished.push(now);
    }
    let columns = [
        ("edge error, bilinear", 4),
        ("edge error, refined, before", 4),
        ("edge error, refined", 4),
        ("halo, blur, before (levels)", 2),
        ("halo, blur (levels)", 2),
        ("halo, replace, before (levels)", 2),
        ("halo, replace (levels)", 2),
    ];
    table(md, &columns, &rows)?;
    Ok(finished)
}

/// Where the halo of `blur` that is left comes from: the same finish fed the network's mask of
/// the photo alone (so the mask no longer moves with the background), and the true alpha with
/// and without the strands (what no finish of a 256x256 mask can see). `finished`: each case's
/// alpha from the finish ([`still_scenes`]).
fn halo_shares(
    cases: &[Case],
    finished: &[GrayImage],
    md: &mut String,
) -> Result<(), Box<dyn Error>> {
    writeln!(
        md,
        "Where the halo of `blur` that is left comes from (levels):\n"
    )?;
    let mut rows = Vec::new();
    for (case, finish) in cases.iter().zip(finished) {
        let halo = |a: &GrayImage| {
            let out = compose(&case.scene, a, &case.blur);
            colour_error(&out, &case.ideal_blur, &case.band.outside)
        };
        let own = &case.person.own_probabilities;
        rows.push((
            case.label.clone(),
            vec![
                halo(finish),
                halo(&alpha(&case.scene, own, true, Response::default())),
                halo(&case.person.outline),
                halo(&case.person.alpha),
            ],
        ));
    }
    let columns = [
        ("the finish", 2),
        ("the finish, the photo's own mask", 2),
        ("true alpha without the strands", 2),
        ("true alpha (the floor)", 2),
    ];
    Ok(table(md, &columns, &rows)?)
}

/// The GPU finish's edge error (refined) and halos on the same cases, against the same ideals.
fn gpu_scenes(gpu: &Segmenter, cases: &[Case], md: &mut String) -> Result<(), Box<dyn Error>> {
    writeln!(md, "GPU finish on {}:\n", gpu.device_description())?;
    let mut rows = Vec::new();
    for case in cases {
        let cut = gpu.cut_out(&case.scene)?;
        let (w, h) = cut.dimensions();
        let refined = GrayImage::from_fn(w, h, |x, y| image::Luma([cut.get_pixel(x, y).0[3]]));
        let blurred = gpu.compose(&case.scene, &case.blur, true)?;
        let replaced = gpu.compose(&case.scene, &Background::Color(REPLACEMENT), true)?;
        rows.push((
            case.label.clone(),
            vec![
                metrics::alpha_error(&refined, &case.person.alpha, &case.band.edge),
                colour_error(&blurred, &case.ideal_blur, &case.band.outside),
                colour_error(&replaced, &case.ideal_replace, &case.near),
            ],
        ));
    }
    let columns = [
        ("edge error, refined", 4),
        ("halo, blur (levels)", 2),
        ("halo, replace (levels)", 2),
    ];
    Ok(table(md, &columns, &rows)?)
}

fn rgb(image: &image::RgbaImage) -> RgbImage {
    image::DynamicImage::ImageRgba8(image.clone()).to_rgb8()
}

/// One clip: its frames and how each moved from the one before (in the frame's pixels).
struct Clip {
    name: &'static str,
    frames: Vec<RgbImage>,
    motion: Vec<((f32, f32), f32)>,
    cut: Option<usize>,
}

fn make_clips(people: &[Person]) -> Vec<Clip> {
    let (first, second) = (&people[0], &people[1]);
    let (w, h) = first.colour.dimensions();
    let scene = over(first, &backgrounds(w, h)[2].1);
    let other = over(
        second,
        &backgrounds(second.colour.width(), second.colour.height())[3].1,
    );
    let clip = |name, shift: (f32, f32), zoom: f32| Clip {
        name,
        frames: (0..FRAMES)
            .map(|t| {
                let t = t as f32;
                moved(
                    &scene,
                    (shift.0 * t, shift.1 * t),
                    1.0 + zoom * t,
                    3.0,
                    t as u32 + 1,
                )
            })
            .collect(),
        motion: (0..FRAMES)
            .map(|t| {
                (
                    shift,
                    (1.0 + zoom * t as f32) / (1.0 + zoom * (t as f32 - 1.0)),
                )
            })
            .collect(),
        cut: None,
    };
    let mut cut = clip("cut (still, then another scene)", (0.0, 0.0), 0.0);
    for (t, frame) in cut.frames.iter_mut().enumerate().skip(FRAMES / 2) {
        *frame = moved(&other, (0.0, 0.0), 1.0, 3.0, t as u32 + 1);
    }
    cut.cut = Some(FRAMES / 2);
    vec![
        clip("still, fresh noise", (0.0, 0.0), 0.0),
        clip("pan 0.6 px/frame", (0.6, 0.25), 0.0),
        clip("zoom 0.4%/frame", (0.0, 0.0), 0.004),
        cut,
    ]
}

/// Stability: each clip's masks raw, smoothed by ours and by MediaPipe's rule.
fn clips(
    segmenter: &Segmenter,
    people: &[Person],
    mut gpu: Option<&mut gpu_smoothing::GpuSmoother>,
    md: &mut String,
) -> Result<(), Box<dyn Error>> {
    if let Some(gpu) = &gpu {
        writeln!(
            md,
            "\"ours, GPU\": `ops::Smooth` on {}.\n",
            gpu.description()
        )?;
    }
    writeln!(
        md,
        "| clip | smoothing | warp error | lag in the edge band | frames to follow a cut |"
    )?;
    writeln!(md, "|---|---|---|---|---|")?;
    for clip in make_clips(people) {
        let raw: Vec<Vec<f32>> = clip
            .frames
            .iter()
            .map(|f| segmenter.probabilities(f))
            .collect::<Result<_, _>>()?;
        let mut ours = Smoother::new(Smoothing::default());
        let mut ours_masks = Vec::new();
        for (frame, mask) in clip.frames.iter().zip(&raw) {
            ours_masks.push(ours.smooth(frame, mask)?.to_vec());
        }
        let mut before = candidates::LinearSmoother::default();
        let before_masks: Vec<Vec<f32>> = clip
            .frames
            .iter()
            .zip(&raw)
            .map(|(frame, mask)| before.smooth(frame, mask))
            .collect();
        let mut previous = vec![0.0; raw[0].len()];
        let mediapipe: Vec<Vec<f32>> = raw
            .iter()
            .enumerate()
            .map(|(t, mask)| {
                mediapipe_smoothing(&mut previous, mask, t == 0, 0.7);
                previous.clone()
            })
            .collect();
        let mut gpu_masks = Vec::new();
        if let Some(gpu) = gpu.as_deref_mut() {
            gpu.reset();
            for (frame, mask) in clip.frames.iter().zip(&raw) {
                gpu_masks.push(gpu.smooth(frame, mask)?);
            }
        }
        let variants = [
            ("none", &raw),
            ("ours, before", &before_masks),
            ("ours", &ours_masks),
            ("ours, GPU", &gpu_masks),
            ("MediaPipe's rule (0.7)", &mediapipe),
        ];
        for (variant, masks) in variants.into_iter().filter(|(_, m)| !m.is_empty()) {
            let (warp, lag, follow) = stability(&clip, masks, &raw);
            let follow = follow.map_or("–".into(), |f| f.to_string());
            writeln!(
                md,
                "| {} | {variant} | {warp:.5} | {lag:.4} | {follow} |",
                clip.name
            )?;
        }
    }
    writeln!(md)?;
    Ok(())
}

/// (warp error, lag, frames until the masks follow the cut) of `masks` against `raw`.
fn stability(clip: &Clip, masks: &[Vec<f32>], raw: &[Vec<f32>]) -> (f64, f64, Option<usize>) {
    let (w, h) = clip.frames[0].dimensions();
    let (mut warp, mut lag, mut n) = (0.0, 0.0, 0.0);
    for t in 1..masks.len() {
        if clip.cut == Some(t) {
            continue;
        }
        let (shift, scale) = clip.motion[t];
        let to_mask = (shift.0 * 256.0 / w as f32, shift.1 * 256.0 / h as f32);
        warp += mean_abs(&masks[t], &warp_mask(&masks[t - 1], to_mask, scale), None);
        let edge: Vec<bool> = raw[t].iter().map(|p| (0.02..0.98).contains(p)).collect();
        lag += mean_abs(&masks[t], &raw[t], Some(&edge[..]));
        n += 1.0;
    }
    let follow = clip.cut.map(|cut| {
        (cut..masks.len())
            .position(|t| mean_abs(&masks[t], &raw[t], None) < 0.005)
            .unwrap_or(masks.len() - cut)
    });
    (warp / n, lag / n, follow)
}
