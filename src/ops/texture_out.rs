//! Our packed RGBA8 buffer into an app's rgba8unorm storage texture: the last step of
//! [`Segmenter::composite_texture`](crate::Segmenter::composite_texture). Kernel:
//! shaders/texture_out.wgsl. CPU twin: the identity (bytes in, the same bytes out), tested
//! through [`texture_in`](super::texture_in).

use super::kernels::{Kernels, TEXTURE_OUT};
use super::texture_in::bind_texture_kernel;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu};

pub struct TextureOut<'a> {
    pub packed: &'a wgpu::Buffer,
    /// rgba8unorm with STORAGE_BINDING, `width` x `height`.
    pub texture: &'a wgpu::TextureView,
    pub width: usize,
    pub height: usize,
    /// Colour multiplied by alpha (a canvas configured "premultiplied"); else straight alpha.
    pub premultiplied: bool,
}

impl TextureOut<'_> {
    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let resources = vec![
            self.packed.as_entire_binding(),
            wgpu::BindingResource::TextureView(self.texture),
        ];
        let size = (self.width, self.height);
        let kernel = kernels.get(&TEXTURE_OUT);
        bind_texture_kernel(
            gpu,
            kernel,
            self.packed,
            resources,
            size,
            self.premultiplied,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::TextureIn;
    use crate::ops::testing::*;
    use crate::pixels::pack_rgba;

    /// Packed pixels -> texture (this kernel) -> packed again (texture_in, tested on its own).
    #[test]
    fn round_trips_through_texture_in() {
        let Some((gpu, kernels)) = gpu() else { return };
        let (w, h) = (203, 97);
        let mut packed = Vec::new();
        pack_rgba(&photo(w, h, 9), &mut packed);
        let source = upload_words(gpu, &packed);
        let blank = image::RgbImage::new(w, h);
        let texture = photo_texture(gpu, &blank, wgpu::TextureUsages::STORAGE_BINDING);
        let view = texture.create_view(&Default::default());
        let (w, h) = (w as usize, h as usize);
        let out = TextureOut {
            packed: &source,
            texture: &view,
            width: w,
            height: h,
            premultiplied: false,
        };
        out.bind(gpu, kernels).unwrap().run(gpu).unwrap();
        let back = gpu.storage("back", w * h);
        let op = TextureIn {
            texture: &view,
            packed: &back,
            width: w,
            height: h,
        };
        op.bind(gpu, kernels).unwrap().run(gpu).unwrap();
        assert_eq!(read_words(gpu, &back, w * h), packed);
    }
}
