//! Temporal smoothing of the 256x256 mask over a video's frames, on the GPU: a thumbnail of the
//! frame, then the blend of the raw probabilities into the history (a cut or the first frame
//! starts over). Kernel: shaders/smooth.wgsl (two steps, a pipeline constant). CPU twins:
//! [`reference::smoothing::thumbnail`](crate::reference::smoothing::thumbnail),
//! [`scene_change`](crate::reference::smoothing::scene_change) and
//! [`blend`](crate::reference::smoothing::blend).

use super::binding::{check, to_u32};
use super::kernels::{Kernels, SMOOTH};
use super::wgsl::WG;
use crate::error::Result;
use crate::finish::{Smoothing, THUMB};
use crate::gpu::{Dispatch, Gpu, grid};
use crate::network::OUTPUT;

/// Read from storage, not a uniform (see the kernel).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    img_w: u32,
    img_h: u32,
    current: u32,
    first: u32,
    strength: f32,
    motion: f32,
    scene_change: f32,
    _pad: u32,
}

/// Floats the thumbnails take: this frame's and the previous one's, alternating halves.
pub const THUMBS_LEN: usize = 2 * THUMB * THUMB;

pub struct Smooth<'a> {
    /// The frame, packed RGBA8 (`pixels::pack_rgba`), `width` x `height`.
    pub image: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
    /// The network's 256x256 output for this frame.
    pub raw: &'a wgpu::Buffer,
    /// [`THUMBS_LEN`] floats, kept from frame to frame.
    pub thumbs: &'a wgpu::Buffer,
    /// 256x256: the history in, the smoothed probabilities out.
    pub smoothed: &'a wgpu::Buffer,
    /// Frames smoothed since the history started (0: take this one as it is).
    pub frame: u64,
    pub smoothing: Smoothing,
}

impl Smooth<'_> {
    /// The thumbnail, then the blend.
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<[Dispatch; 2]> {
        let params = self.params()?;
        check(self.image, self.width * self.height, "smooth image")?;
        check(self.raw, OUTPUT.len(), "smooth raw probabilities")?;
        check(self.thumbs, THUMBS_LEN, "smooth thumbnails")?;
        check(self.smoothed, OUTPUT.len(), "smoothed probabilities")?;
        let buffers = [self.image, self.raw, self.thumbs, self.smoothed];
        let step = |step: u32, threads: usize| {
            kernels.variant(gpu, &SMOOTH, vec![("STEP", step)]).bind(
                gpu,
                &params,
                &buffers,
                grid(threads, WG),
            )
        };
        Ok([step(0, THUMB * THUMB), step(1, OUTPUT.len())])
    }

    /// Rewrites the parameters of dispatches [`bind`](Self::bind) made for the same buffers and
    /// size: the next frame without new bind groups.
    pub fn update(&self, gpu: &Gpu, dispatches: &[Dispatch; 2]) -> Result<()> {
        let params = self.params()?;
        dispatches
            .iter()
            .for_each(|d| d.update_params(gpu, &params));
        Ok(())
    }

    fn params(&self) -> Result<Params> {
        let s = self.smoothing.clamped();
        Ok(Params {
            img_w: to_u32(self.width, "frame width")?,
            img_h: to_u32(self.height, "frame height")?,
            current: (self.frame % 2) as u32,
            first: (self.frame == 0) as u32,
            strength: s.strength,
            motion: s.motion,
            scene_change: s.scene_change,
            _pad: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;
    use crate::reference::smoothing::{blend, scene_change, thumbnail};

    /// A clip: a photo, the same with sensor noise twice, then a cut to a dark scene; each with
    /// masks that drift a little and jump in places. The GPU's thumbnails and smoothed masks
    /// follow the CPU's frame by frame, and the history both keep is really used.
    #[test]
    fn matches_cpu_over_a_clip() {
        let Some((gpu, kernels)) = gpu() else { return };
        // Odd sizes: blocks of unequal sizes, and a frame smaller than the thumbnail (whose
        // empty blocks dilute the change: the dark frame is no cut there).
        for (w, h, cut_at) in [(301, 207, Some(3)), (7, 5, None)] {
            let base = photo(w, h, 1);
            let noisy = |seed| {
                let mut f = base.clone();
                let noise = random(f.len(), seed);
                f.iter_mut()
                    .zip(noise)
                    .for_each(|(v, n)| *v = (*v as f32 + n * 8.0).clamp(0.0, 255.0) as u8);
                f
            };
            let dark = image::RgbImage::from_pixel(w, h, image::Rgb([3, 2, 1]));
            let clip = [base.clone(), noisy(2), noisy(3), dark];
            let first_mask: Vec<f32> = random(OUTPUT.len(), 7).iter().map(|v| v.abs()).collect();
            let (thumbs, smoothed) = (
                gpu.storage("thumbs", THUMBS_LEN),
                gpu.storage("s", OUTPUT.len()),
            );
            let (mut cpu_smoothed, mut cpu_thumb, mut cpu_previous) = (
                vec![0.0; OUTPUT.len()],
                vec![0.0; THUMB * THUMB],
                vec![0.0; THUMB * THUMB],
            );
            let mut bound: Option<[Dispatch; 2]> = None;
            for (frame, photo) in clip.iter().enumerate() {
                let drift = random(OUTPUT.len(), 20 + frame as u64);
                let raw: Vec<f32> = first_mask
                    .iter()
                    .zip(&drift)
                    .enumerate()
                    .map(|(i, (m, d))| {
                        if i % 97 == 0 {
                            1.0 - m
                        } else {
                            (m + 0.05 * d).clamp(0.0, 1.0)
                        }
                    })
                    .collect();
                let mut packed = Vec::new();
                pack_rgba(photo, &mut packed);
                let (image, graw) = (upload_words(gpu, &packed), gpu.upload("raw", &raw));
                let op = Smooth {
                    image: &image,
                    width: w as usize,
                    height: h as usize,
                    raw: &graw,
                    thumbs: &thumbs,
                    smoothed: &smoothed,
                    frame: frame as u64,
                    smoothing: Smoothing::default(),
                };
                // New buffers each frame here, so new bind groups; the plan reuses its own.
                let dispatches = op.bind(gpu, kernels).unwrap();
                if let Some(old) = &bound {
                    op.update(gpu, old).unwrap();
                }
                dispatches.iter().for_each(|d| d.run(gpu).unwrap());
                bound = Some(dispatches);

                thumbnail(photo, &mut cpu_thumb);
                let cut =
                    scene_change(&cpu_thumb, &cpu_previous) > Smoothing::default().scene_change;
                blend(
                    &mut cpu_smoothed,
                    &raw,
                    frame == 0 || cut,
                    Smoothing::default(),
                );
                let what = format!("{w}x{h} frame {frame}");
                let half = (frame % 2) * THUMB * THUMB;
                let got = gpu.read(&thumbs, THUMBS_LEN).unwrap();
                assert_close(&got[half..half + THUMB * THUMB], &cpu_thumb, 1e-5, &what);
                assert_close(
                    &gpu.read(&smoothed, OUTPUT.len()).unwrap(),
                    &cpu_smoothed,
                    1e-5,
                    &what,
                );
                let kept_history = cpu_smoothed != raw;
                let restarts = frame == 0 || Some(frame) == cut_at;
                assert_eq!(kept_history, !restarts, "{what}: history used");
                std::mem::swap(&mut cpu_thumb, &mut cpu_previous);
            }
        }
    }
}
