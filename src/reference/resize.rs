//! Half-pixel bilinear resizing (TFLite `half_pixel_centers=True`, `align_corners=False`), and
//! the taps every bilinear sample in the crate uses. GPU twin: [`ops::resize`](crate::ops::resize).

use crate::tensor::{Shape, Tensor};

/// Bilinear resize with half-pixel centres (TFLite half_pixel_centers=True, align_corners=False);
/// samples outside the input clamp to the edge.
pub fn resize_bilinear(x: &Tensor, out_h: usize, out_w: usize) -> Tensor {
    let c = x.shape.channels;
    let mut out = Tensor::zeros(Shape::new(out_h, out_w, c));
    for oy in 0..out_h {
        let (y0, y1, fy) = bilinear_taps(oy, x.shape.height, out_h);
        for ox in 0..out_w {
            let (x0, x1, fx) = bilinear_taps(ox, x.shape.width, out_w);
            for ch in 0..c {
                let top = x.at(y0, x0, ch) * (1.0 - fx) + x.at(y0, x1, ch) * fx;
                let bottom = x.at(y1, x0, ch) * (1.0 - fx) + x.at(y1, x1, ch) * fx;
                *out.at_mut(oy, ox, ch) = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

/// For output index `o`: the two input indices and the weight of the second (half-pixel centres).
pub fn bilinear_taps(o: usize, input: usize, output: usize) -> (usize, usize, f32) {
    let src = ((o as f32 + 0.5) * input as f32 / output as f32 - 0.5).max(0.0);
    let i0 = (src.floor() as usize).min(input - 1);
    let i1 = (i0 + 1).min(input - 1);
    (i0, i1, src - i0 as f32)
}
