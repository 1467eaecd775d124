//! A frame's pixels resampled into the network's input, as
//! [`reference::resample_to_input`](crate::reference::resample_to_input) does it, in the same
//! arithmetic and order (so bit-identical), but with each column's taps worked out once a frame
//! rather than once a pixel, the pixels read from their rows directly, the rows split across
//! cores, and the tensor reused: through the reference, a 256x256 frame's input took 18% of a
//! CPU frame in wasm (node, 2026-12-06).

use super::par;
use crate::error::Result;
use crate::network::INPUT;
use crate::pixels::Pixels;
use crate::reference::bilinear_taps;

/// `pixels` into `out` (256x256x3, values in [0, 1]); the errors of [`Pixels::size`].
pub fn resample(pixels: Pixels<'_>, out: &mut [f32]) -> Result<()> {
    let (w, h) = pixels.size()?;
    match pixels {
        // An image's buffer may be longer than its pixels (`RgbImage::from_raw` allows it).
        Pixels::Rgb(image) => rows::<3>(&image.as_raw()[..w * h * 3], w, h, out),
        Pixels::Rgba { bytes, .. } => rows::<4>(bytes, w, h, out),
    }
    Ok(())
}

/// Values in an input row: 256 pixels x RGB.
const ROW: usize = INPUT.width * INPUT.channels;

/// From `bytes`, `w` x `h` pixels of `N` bytes (RGB first) row by row. Each output row is two
/// passes: across, each of its two source rows blended into a row of 768 values (each value's
/// two source bytes and weights looked up, not worked out), then down, the two rows blended
/// and scaled, 768 values in a line (which vectorises).
fn rows<const N: usize>(bytes: &[u8], w: usize, h: usize, out: &mut [f32]) {
    assert_eq!(bytes.len(), w * h * N);
    assert_eq!(out.len(), INPUT.len());
    // For each value of an output row: its two source bytes' offsets in a row, their weights.
    let mut at = [(0usize, 0usize); ROW];
    let mut weights = [(0.0f32, 0.0f32); ROW];
    for ox in 0..INPUT.width {
        let (x0, x1, fx) = bilinear_taps(ox, w, INPUT.width);
        for ch in 0..INPUT.channels {
            at[ox * 3 + ch] = (x0 * N + ch, x1 * N + ch);
            weights[ox * 3 + ch] = (1.0 - fx, fx);
        }
    }
    let across = |line: &[u8], into: &mut [f32; ROW]| {
        for ((v, &(i0, i1)), &(w0, w1)) in into.iter_mut().zip(&at).zip(&weights) {
            *v = line[i0] as f32 * w0 + line[i1] as f32 * w1;
        }
    };
    let rows_per_task = par::rows_per_task(INPUT.height, 16);
    par::chunks(out, rows_per_task * ROW, |task, chunk| {
        let (mut upper, mut lower) = ([0.0f32; ROW], [0.0f32; ROW]);
        let mut made = (usize::MAX, usize::MAX);
        for (r, row) in chunk.chunks_exact_mut(ROW).enumerate() {
            let (y0, y1, fy) = bilinear_taps(task * rows_per_task + r, h, INPUT.height);
            // Rows already blended across for the row above are reused.
            if made.0 != y0 {
                match made.1 == y0 {
                    true => upper = lower,
                    false => across(&bytes[y0 * w * N..][..w * N], &mut upper),
                }
            }
            if made.1 != y1 {
                across(&bytes[y1 * w * N..][..w * N], &mut lower);
            }
            made = (y0, y1);
            for ((v, u), l) in row.iter_mut().zip(&upper).zip(&lower) {
                *v = (u * (1.0 - fy) + l * fy) / 255.0;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::resample_to_input;

    /// Bit for bit the reference's, at sizes up, down, odd and 1 pixel wide, from RGB and RGBA.
    #[test]
    fn resampling_equals_the_reference_bit_for_bit() {
        for (w, h) in [(256, 256), (640, 480), (97, 301), (1, 7), (300, 1), (2, 2)] {
            let rgb = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
                image::Rgb([(x * 7 + y) as u8, (x ^ y) as u8, (x * y + 3) as u8])
            });
            let rgba: Vec<u8> = rgb.pixels().flat_map(|p| [p[0], p[1], p[2], 9]).collect();
            let want = resample_to_input(w, h, |x, y| rgb.get_pixel(x as u32, y as u32).0)
                .unwrap()
                .data;
            let mut out = vec![0.0; INPUT.len()];
            resample(Pixels::Rgb(&rgb), &mut out).unwrap();
            assert!(out == want, "{w}x{h} RGB");
            out.fill(0.0);
            let pixels = Pixels::Rgba {
                bytes: &rgba,
                width: w,
                height: h,
            };
            resample(pixels, &mut out).unwrap();
            assert!(out == want, "{w}x{h} RGBA");
        }
    }

    #[test]
    fn an_image_buffer_longer_than_its_pixels_is_read_as_the_reference_reads_it() {
        let mut raw: Vec<u8> = (0..5 * 3 * 3).map(|i| (i * 11) as u8).collect();
        raw.extend([7; 10]);
        let image = image::RgbImage::from_raw(5, 3, raw).unwrap();
        let want = crate::reference::network_input(&image).unwrap().data;
        let mut out = vec![0.0; INPUT.len()];
        resample(Pixels::Rgb(&image), &mut out).unwrap();
        assert!(out == want);
    }

    #[test]
    fn bad_pixels_are_the_errors_the_reference_gives() {
        let mut out = vec![0.0; INPUT.len()];
        let rgba = |bytes: &'static [u8], width, height| Pixels::Rgba {
            bytes,
            width,
            height,
        };
        for pixels in [
            rgba(&[0; 12], 2, 2),
            rgba(&[], 0, 4),
            rgba(&[0; 16], usize::MAX, 2),
            Pixels::Rgb(&image::RgbImage::new(0, 3)),
        ] {
            let want = crate::reference::pixels_input(pixels)
                .unwrap_err()
                .to_string();
            let got = resample(pixels, &mut out).unwrap_err().to_string();
            assert_eq!(got, want);
        }
    }
}
