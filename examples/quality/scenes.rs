//! Scenes whose truth is known: a person (a bundled photo, cut out by a crisp matte made from
//! the network's own mask, plus synthetic hair-like strands) composited over backgrounds we
//! made, and clips of them moving by known amounts.

use image::{GrayImage, Luma, Rgb, RgbImage};
use silhouette::Segmenter;

/// A foreground with its true alpha.
pub struct Person {
    pub name: &'static str,
    pub colour: RgbImage,
    pub alpha: GrayImage,
    /// The matte before the strands were added: the network's outline of the photo alone.
    pub outline: GrayImage,
    /// The network's probabilities for the photo alone (before it is put over a background).
    pub own_probabilities: Vec<f32>,
}

/// The bundled people: each photo's matte is the network's mask on the photo itself, upsampled
/// and sharpened (a 0.3..0.7 smoothstep: about a 2 px ramp), with strands added above the head.
pub fn people(segmenter: &Segmenter) -> Result<Vec<Person>, Box<dyn std::error::Error>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let photos = [
        (
            "grace_hopper",
            format!("{root}/examples/photos/grace_hopper.jpg"),
            1,
        ),
        (
            "astronaut",
            format!("{root}/tests/data/frames/astronaut.png"),
            2,
        ),
    ];
    let mut out = Vec::new();
    for (name, path, scale) in photos {
        let photo = silhouette::imageio::load_image(path.as_ref())?.to_rgb8();
        // The 256 px frame made 512 px, as small as a call's frames get.
        let photo = image::imageops::resize(
            &photo,
            photo.width() * scale,
            photo.height() * scale,
            image::imageops::FilterType::CatmullRom,
        );
        let probabilities = segmenter.probabilities(&photo)?;
        let soft = silhouette::cpu::finish::upsample(&probabilities, photo.width(), photo.height());
        let alpha = GrayImage::from_fn(photo.width(), photo.height(), |x, y| {
            let p = soft.get_pixel(x, y).0[0] as f32 / 255.0;
            let t = ((p - 0.3) / 0.4).clamp(0.0, 1.0);
            Luma([(t * t * (3.0 - 2.0 * t) * 255.0).round() as u8])
        });
        let mut person = Person {
            name,
            colour: photo,
            outline: alpha.clone(),
            alpha,
            own_probabilities: probabilities,
        };
        add_strands(&mut person, 14);
        out.push(person);
    }
    Ok(out)
}

/// Thin curved strands (hair against the background: the hardest edge) rising from the top
/// of the matte, 60% opaque, in the colour of the photo where they start.
fn add_strands(person: &mut Person, count: u32) {
    let (w, h) = person.alpha.dimensions();
    // The matte's top edge: for each column, its first opaque row.
    let top: Vec<Option<u32>> = (0..w)
        .map(|x| (0..h).find(|&y| person.alpha.get_pixel(x, y).0[0] > 200))
        .collect();
    let columns: Vec<u32> = (0..w).filter(|&x| top[x as usize].is_some()).collect();
    if columns.is_empty() {
        return;
    }
    let mut seed = 0x2545_f491_u32;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed % 10_000) as f32 / 10_000.0
    };
    for _ in 0..count {
        let x0 = columns[(random() * columns.len() as f32) as usize % columns.len()];
        let y0 = top[x0 as usize].expect("a column of the matte") + 3;
        let colour = *person.colour.get_pixel(x0, y0.min(h - 1));
        let (length, bend) = (h as f32 * (0.05 + 0.08 * random()), (random() - 0.5) * 0.6);
        for step in 0..(length * 2.0) as u32 {
            let s = step as f32 / 2.0;
            let (x, y) = (x0 as f32 + bend * s * s / length, y0 as f32 - s);
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                break;
            }
            let (px, py) = (x as u32, y as u32);
            let a = person.alpha.get_pixel_mut(px, py);
            if a.0[0] < 153 {
                *a = Luma([153]);
                person.colour.put_pixel(px, py, colour);
            }
        }
    }
}

/// Backgrounds a person is put over: flat colours and textures, `w` x `h`.
pub fn backgrounds(w: u32, h: u32) -> Vec<(&'static str, RgbImage)> {
    vec![
        ("green", RgbImage::from_pixel(w, h, Rgb([40, 160, 70]))),
        ("white", RgbImage::from_pixel(w, h, Rgb([236, 236, 236]))),
        (
            "stripes",
            RgbImage::from_fn(w, h, |x, _| {
                if (x / 7) % 2 == 0 {
                    Rgb([200, 60, 40])
                } else {
                    Rgb([40, 60, 190])
                }
            }),
        ),
        (
            "checker",
            RgbImage::from_fn(w, h, |x, y| {
                if (x / 16 + y / 16) % 2 == 0 {
                    Rgb([30, 30, 30])
                } else {
                    Rgb([220, 210, 120])
                }
            }),
        ),
    ]
}

/// `alpha * colour + (1 - alpha) * behind`, rounded.
pub fn over(person: &Person, behind: &RgbImage) -> RgbImage {
    RgbImage::from_fn(person.colour.width(), person.colour.height(), |x, y| {
        let a = person.alpha.get_pixel(x, y).0[0] as f32 / 255.0;
        let (f, b) = (person.colour.get_pixel(x, y).0, behind.get_pixel(x, y).0);
        Rgb([0, 1, 2].map(|c| (a * f[c] as f32 + (1.0 - a) * b[c] as f32).round() as u8))
    })
}

/// `image` resampled (bilinear, borders clamped) so that output pixel p shows input point
/// `centre + (p - centre) / scale - shift`, plus fresh noise of `noise` levels.
pub fn moved(image: &RgbImage, shift: (f32, f32), scale: f32, noise: f32, seed: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    RgbImage::from_fn(w, h, |x, y| {
        let sx = cx + (x as f32 + 0.5 - cx) / scale - shift.0 - 0.5;
        let sy = cy + (y as f32 + 0.5 - cy) / scale - shift.1 - 0.5;
        let v = bilinear(image, sx, sy);
        Rgb(v.map(|v| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let n = ((s % 2001) as f32 / 1000.0 - 1.0) * noise;
            (v + n).round().clamp(0.0, 255.0) as u8
        }))
    })
}

fn bilinear(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = image.dimensions();
    let (x, y) = (x.clamp(0.0, w as f32 - 1.0), y.clamp(0.0, h as f32 - 1.0));
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x, y| image.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    [0, 1, 2].map(|i| {
        (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy
    })
}
