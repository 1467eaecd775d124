//! The finished photo, one thread per full-resolution pixel: alpha from the guided coefficients
//! (refined) or the bilinear mask, then a straight-alpha cut-out or a blend over a colour, the
//! blurred background or a cover-scaled picture. Kernel: shaders/compose.wgsl. CPU twins:
//! [`reference::finish::alpha`](crate::reference::finish::alpha) and
//! [`reference::finish::compose`](crate::reference::finish::compose).

use super::binding::{check, to_u32};
use super::kernels::{COMPOSE, Kernels};
use super::wgsl::WG;
use crate::error::Result;
use crate::finish::{Background, BackgroundKind, Cover, Response, guide_size};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::OUTPUT;

/// Everything the compose kernel is told about a photo (its uniform block).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ComposeParams {
    img_w: u32,
    img_h: u32,
    work_w: u32,
    work_h: u32,
    refine: u32,
    background: u32,
    colour: u32,
    bg_w: u32,
    bg_h: u32,
    cover_scale: f32,
    cover_x: f32,
    cover_y: f32,
    /// The alpha's response ramp (`finish::Response::ramp`): alpha = (v - lo) * scale.
    response_lo: f32,
    response_scale: f32,
    /// The guided filter's resolution (`finish::guide_size`), where the coefficients are.
    guide_w: u32,
    guide_h: u32,
}

impl ComposeParams {
    /// A `w` x `h` photo finished at `work` resolution over `background`, refined or not, its
    /// alpha through `response`.
    pub fn new(
        (w, h): (usize, usize),
        (w2, h2): (usize, usize),
        background: &Background,
        refine: bool,
        response: Response,
    ) -> Result<ComposeParams> {
        let (response_lo, response_scale) = response.ramp();
        let (guide_w, guide_h) = guide_size(w, h);
        let mut p = ComposeParams {
            img_w: to_u32(w, "photo width")?,
            img_h: to_u32(h, "photo height")?,
            work_w: to_u32(w2, "working width")?,
            work_h: to_u32(h2, "working height")?,
            refine: refine as u32,
            background: background.kind() as u32,
            colour: 0,
            bg_w: 1,
            bg_h: 1,
            cover_scale: 1.0,
            cover_x: 0.0,
            cover_y: 0.0,
            response_lo,
            response_scale,
            guide_w: guide_w as u32,
            guide_h: guide_h as u32,
        };
        match background {
            Background::Color(c) => p.colour = u32::from_le_bytes([c[0], c[1], c[2], 255]),
            Background::Image(bg) => {
                let cover = Cover::new(bg, w, h);
                (p.bg_w, p.bg_h) = bg.dimensions();
                (p.cover_scale, p.cover_x, p.cover_y) =
                    (cover.scale, cover.offset_x, cover.offset_y);
            }
            Background::Transparent | Background::Blur { .. } => {}
        }
        Ok(p)
    }

    pub(super) fn pixels(&self) -> usize {
        self.img_w as usize * self.img_h as usize
    }

    pub(super) fn work_pixels(&self) -> usize {
        self.work_w as usize * self.work_h as usize
    }

    pub(super) fn guide_pixels(&self) -> usize {
        self.guide_w as usize * self.guide_h as usize
    }

    pub(super) fn refines(&self) -> bool {
        self.refine != 0
    }
}

pub struct Compose<'a> {
    /// The photo, packed RGBA8.
    pub image: &'a wgpu::Buffer,
    /// The network's 256x256 output.
    pub probabilities: &'a wgpu::Buffer,
    /// The guided filter's mean (a.r, a.g, a.b, b) at its resolution (read when refining).
    pub coefficients: &'a wgpu::Buffer,
    /// The blurred background (r, g, b, 1) at working resolution (read for a blur: the
    /// normalised convolution of [`WeighBackground`](super::WeighBackground)'s planes).
    pub blurred: &'a wgpu::Buffer,
    /// The background picture, packed RGBA8 (read for a picture).
    pub picture: &'a wgpu::Buffer,
    /// The finished photo, packed RGBA8.
    pub out: &'a wgpu::Buffer,
    pub params: ComposeParams,
}

impl Compose<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let p = &self.params;
        check(self.image, p.pixels(), "compose image")?;
        check(self.probabilities, OUTPUT.len(), "compose probabilities")?;
        check(self.out, p.pixels(), "compose out")?;
        if p.refines() {
            check(
                self.coefficients,
                p.guide_pixels() * 4,
                "compose coefficients",
            )?;
        }
        const BLUR: u32 = BackgroundKind::Blur as u32;
        const IMAGE: u32 = BackgroundKind::Image as u32;
        match p.background {
            BLUR => check(self.blurred, p.work_pixels() * 4, "compose blurred")?,
            IMAGE => check(
                self.picture,
                p.bg_w as usize * p.bg_h as usize,
                "compose picture",
            )?,
            _ => {}
        }
        let buffers = [
            self.image,
            self.probabilities,
            self.coefficients,
            self.blurred,
            self.picture,
            self.out,
        ];
        Ok(kernels
            .get(&COMPOSE)
            .bind(gpu, p, &buffers, grid(p.pixels(), WG)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finish::blur_size;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;
    use crate::reference::finish::{alpha, blurred_background, compose, guided_coefficients};

    #[test]
    fn matches_cpu_for_every_background() {
        let Some((gpu, kernels)) = gpu() else { return };
        let (w, h) = (333u32, 201u32);
        let img = photo(w, h, 21);
        let radius = 6.0;
        // The blur's resolution (the reference's blurred background below is at it).
        let (w2, h2) = blur_size(w as usize, h as usize, radius);
        // A smooth "person" in the middle, so the refined alpha has real edges.
        let probs: Vec<f32> = (0..OUTPUT.len())
            .map(|i| {
                let (x, y) = ((i % 256) as f32 - 128.0, (i / 256) as f32 - 128.0);
                1.0 / (1.0 + ((x * x + y * y).sqrt() - 70.0).exp())
            })
            .collect();
        let coefficients = guided_coefficients(&img, &probs);
        let picture = photo(50, 30, 4);
        let mut packed = Vec::new();
        pack_rgba(&img, &mut packed);
        let mut packed_picture = Vec::new();
        pack_rgba(&picture, &mut packed_picture);
        let buffers = (
            upload_words(gpu, &packed),
            gpu.upload("p", &probs),
            gpu.upload(
                "ab",
                &interleave(&coefficients.each_ref().map(|c| &c.data[..])),
            ),
            gpu.storage("blurred", w2 * h2 * 4),
            upload_words(gpu, &packed_picture),
            gpu.storage("out", (w * h) as usize),
        );
        for background in [
            Background::Transparent,
            Background::Color([20, 200, 90]),
            Background::Blur { radius },
            Background::Image(picture.clone()),
        ] {
            // Bilinear as it is, refined as it is and through the default response.
            let edges = [
                (false, Response::NONE),
                (true, Response::NONE),
                (true, Response::default()),
            ];
            for (refine, response) in edges {
                let size = (w as usize, h as usize);
                let params =
                    ComposeParams::new(size, (w2, h2), &background, refine, response).unwrap();
                let alpha = alpha(&img, &probs, refine, response);
                // The reference's blurred background for this alpha, as the blur's plane.
                let [r, g, bl] = blurred_background(&img, &alpha, radius);
                let planes = interleave(&[&r.data, &g.data, &bl.data]);
                gpu.queue
                    .write_buffer(&buffers.3, 0, bytemuck::cast_slice(&planes));
                let op = Compose {
                    image: &buffers.0,
                    probabilities: &buffers.1,
                    coefficients: &buffers.2,
                    blurred: &buffers.3,
                    picture: &buffers.4,
                    out: &buffers.5,
                    params,
                };
                op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
                let got = read_words(gpu, &buffers.5, (w * h) as usize);
                let want = compose(&img, &alpha, &background);
                let what = format!("{:?} refine={refine} {response:?}", background.kind());
                // An 8-bit alpha may round one step apart; through the blend that is two.
                assert_bytes_close(bytemuck::cast_slice(&got), want.as_raw(), 2, &what);
            }
        }
    }
}
