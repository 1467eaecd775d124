//! Per-channel sums a producer leaves in its output buffer, after the output, for a squeeze-excite
//! gate (ops/channel_gate.rs) to read in place of the whole tensor. Each frame's pixels split
//! into groups of `per_group` consecutive pixels (the last may be short); group g of frame f
//! holds its sums at `frames * pixels * channels + (f * groups + g) * channels`. The producer
//! picks the grouping its grid gives (the matmul: a thread's 4 rows; the depthwise: whole rows;
//! conv2d: short runs of pixels), each group one thread's; the reader adds the groups up.

use crate::tensor::Shape;

/// The sums of one value: per frame, `groups` groups of `per_group` pixels, `channels` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sums {
    pub pixels: usize,
    pub channels: usize,
    pub per_group: usize,
}

impl Sums {
    /// Groups of `per_group` pixels (at least 1).
    pub fn new(pixels: usize, channels: usize, per_group: usize) -> Sums {
        Sums {
            pixels,
            channels,
            per_group: per_group.max(1),
        }
    }

    /// Groups of whole rows of an `out`-shaped output, as few rows a group as keep it to at
    /// most `most` groups.
    pub fn rows(out: Shape, most: usize) -> Sums {
        let rows = out.height.div_ceil(most.max(1)).max(1);
        Sums::new(out.pixels(), out.channels, rows * out.width)
    }

    pub fn groups(&self) -> usize {
        self.pixels.div_ceil(self.per_group)
    }

    /// f32s per frame.
    pub fn len(&self) -> usize {
        self.groups() * self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sums of `frames` frames of `values` (NHWC, frames one after another), as a producer
    /// writes them: the CPU twin tests check producers against, and feed readers with.
    pub fn of(&self, values: &[f32], frames: usize) -> Vec<f32> {
        let c = self.channels;
        let mut sums = vec![0.0f32; frames * self.len()];
        for f in 0..frames {
            let frame = &values[f * self.pixels * c..][..self.pixels * c];
            for (px, pixel) in frame.chunks_exact(c).enumerate() {
                let group = &mut sums[(f * self.groups() + px / self.per_group) * c..][..c];
                group.iter_mut().zip(pixel).for_each(|(s, v)| *s += v);
            }
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_every_pixel_once() {
        let s = Sums::rows(Shape::new(128, 128, 16), 64);
        assert_eq!((s.per_group, s.groups()), (256, 64));
        let small = Sums::rows(Shape::new(16, 16, 128), 64);
        assert_eq!((small.per_group, small.groups()), (16, 16));
        let odd = Sums::rows(Shape::new(130, 3, 5), 64);
        assert_eq!((odd.per_group, odd.groups()), (9, 44));
        let short = Sums::new(10, 1, 4);
        assert_eq!(short.groups(), 3);
        let values: Vec<f32> = (0..20).map(|v| v as f32).collect();
        // Two frames of 10 pixels: groups [0..4), [4..8), [8..10).
        assert_eq!(
            short.of(&values, 2),
            vec![6.0, 22.0, 17.0, 46.0, 62.0, 37.0]
        );
    }
}
