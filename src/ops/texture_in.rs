//! An app's texture into our packed RGBA8 buffer: the first step of
//! [`Segmenter::composite_texture`](crate::Segmenter::composite_texture). Kernel:
//! shaders/texture_in.wgsl. CPU twin: [`pack_rgba`](crate::pixels::pack_rgba).

use super::binding::{check, to_u32};
use super::kernels::{Kernels, TEXTURE_IN};
use super::wgsl::WG;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Kernel, grid};

/// One thread per pixel of a `width` x `height` texture and its `packed` buffer: the binding
/// both texture kernels share (`resources` at bindings 1 and 2, in the kernel's order;
/// `premultiplied` is texture_out's).
pub(crate) fn bind_texture_kernel(
    gpu: &Gpu,
    kernel: &Kernel,
    packed: &wgpu::Buffer,
    resources: Vec<wgpu::BindingResource<'_>>,
    (width, height): (usize, usize),
    premultiplied: bool,
) -> Result<Dispatch> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!("texture of {width}x{height}")));
    }
    to_u32(width * height, "texture pixels")?;
    check(
        packed,
        width * height,
        &format!("{} packed pixels", kernel.name),
    )?;
    let size = [width as u32, height as u32, premultiplied as u32, 0];
    Ok(kernel.bind_resources(gpu, &size, resources, grid(width * height, WG)))
}

pub struct TextureIn<'a> {
    /// Any float colour format with TEXTURE_BINDING, `width` x `height`.
    pub texture: &'a wgpu::TextureView,
    pub packed: &'a wgpu::Buffer,
    pub width: usize,
    pub height: usize,
}

impl TextureIn<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let resources = vec![
            wgpu::BindingResource::TextureView(self.texture),
            self.packed.as_entire_binding(),
        ];
        let size = (self.width, self.height);
        let kernel = kernels.get(&TEXTURE_IN);
        bind_texture_kernel(gpu, kernel, self.packed, resources, size, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;

    #[test]
    fn matches_cpu() {
        let Some((gpu, kernels)) = gpu() else { return };
        for (seed, (w, h)) in [(1, 1), (301, 207)].into_iter().enumerate() {
            let img = photo(w, h, seed as u64);
            let texture = photo_texture(gpu, &img, wgpu::TextureUsages::empty());
            let packed = gpu.storage("packed", (w * h) as usize);
            let op = TextureIn {
                texture: &texture.create_view(&Default::default()),
                packed: &packed,
                width: w as usize,
                height: h as usize,
            };
            op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
            let mut want = Vec::new();
            pack_rgba(&img, &mut want);
            assert_eq!(read_words(gpu, &packed, want.len()), want, "{w}x{h}");
        }
    }
}
