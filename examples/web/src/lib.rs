//! silhouette in the browser. The JS API (wrapped for convenience by `silhouette.js`):
//!
//! ```js
//! import init, { Silhouette } from "./pkg/silhouette_web.js";
//! await init();
//! const engine = await Silhouette.create("auto");   // WebGPU if the browser has it, else CPU
//! const mask = new Float32Array(256 * 256);         // reused frame after frame
//! await engine.segment(imageData.data, imageData.width, imageData.height, mask);
//! ```
//!
//! `composite` also finishes the frame at its own size with the engine's finish (the CLI's:
//! guided-filter edges, a blur clamped at the borders, colour or image backgrounds, temporal
//! smoothing for video), into an RGBA array the page puts on a canvas.
//!
//! The weights are compiled into the wasm: nothing is fetched but the page's own files.

use silhouette::image::RgbImage;
use silhouette::{Backend, Options, Segmenter, Weights};
use silhouette::{Background, Pixels, Smoother, Smoothing};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The network's output size: `segment` fills a Float32Array of MASK_SIZE * MASK_SIZE.
#[wasm_bindgen(js_name = MASK_SIZE)]
pub fn mask_size() -> u32 {
    silhouette::network::OUTPUT.width as u32
}

#[wasm_bindgen]
pub struct Silhouette {
    state: Rc<State>,
}

/// Shared with in-flight frames. The network's buffers are reused from frame to frame.
struct State {
    segmenter: Segmenter,
    pixels: RefCell<Vec<u8>>,
    probabilities: RefCell<Vec<f32>>,
    /// The frame as RGB for the finish (reused while the size stays).
    photo: RefCell<RgbImage>,
    smoother: RefCell<Smoother>,
    background: RefCell<Background>,
}

fn js_error(e: silhouette::Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

#[wasm_bindgen]
impl Silhouette {
    /// `backend`: "auto" (WebGPU when an adapter exists, else the fast CPU engine; `notice` says
    /// why), "gpu" (fail without WebGPU) or "cpu".
    pub async fn create(backend: Option<String>) -> Result<Silhouette, JsValue> {
        let backend = backend
            .as_deref()
            .unwrap_or("auto")
            .parse::<Backend>()
            .map_err(js_error)?;
        let weights = Weights::embedded().map_err(js_error)?;
        let options = Options {
            backend,
            ..Options::default()
        };
        let segmenter = Segmenter::with_options_async(&weights, options)
            .await
            .map_err(js_error)?;
        let size = silhouette::network::OUTPUT.len();
        let state = State {
            segmenter,
            pixels: RefCell::default(),
            probabilities: RefCell::new(vec![0.0; size]),
            photo: RefCell::new(RgbImage::new(0, 0)),
            smoother: RefCell::new(Smoother::new(Smoothing::default())),
            background: RefCell::new(Background::Transparent),
        };
        Ok(Silhouette {
            state: Rc::new(state),
        })
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        match self.state.segmenter.backend() {
            Backend::Gpu => "webgpu".into(),
            _ => "cpu".into(),
        }
    }

    /// The adapter, or the CPU engine (e.g. "CPU: fast engine, portable, 1 threads").
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.state.segmenter.device_description()
    }

    /// Why `auto` fell back to the CPU, if it did.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> Option<String> {
        self.state.segmenter.notice().map(String::from)
    }

    /// Segments `width` x `height` RGBA pixels (an ImageData's `data`) into `mask`, a
    /// Float32Array of 256*256 person probabilities. Resolves when `mask` is filled.
    pub fn segment(
        &self,
        rgba: js_sys::Uint8ClampedArray,
        width: u32,
        height: u32,
        mask: js_sys::Float32Array,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        // The borrows are the "frame in flight" guard, held across the await on purpose: a second
        // call meanwhile fails with a message (try_borrow_mut) instead of panicking.
        #[allow(clippy::await_holding_refcell_ref)]
        let frame = async move {
            let (Ok(mut pixels), Ok(mut out)) = (
                state.pixels.try_borrow_mut(),
                state.probabilities.try_borrow_mut(),
            ) else {
                return Err(js_error(silhouette::Error::Busy));
            };
            if mask.length() as usize != out.len() {
                return Err(JsError::new(&format!("mask must hold {} floats", out.len())).into());
            }
            network(
                &state.segmenter,
                (&rgba, width, height),
                &mut pixels,
                &mut out,
            )
            .await?;
            mask.copy_from(&out);
            Ok(JsValue::UNDEFINED)
        };
        wasm_bindgen_futures::future_to_promise(frame)
    }

    /// What `composite` puts behind the person: "transparent", "blur" (`radius` in pixels of
    /// the frame) or "color" (`color` as 0xRRGGBB). See `setBackgroundImage` for a picture.
    #[wasm_bindgen(js_name = setBackground)]
    pub fn set_background(&self, kind: &str, radius: f32, color: u32) -> Result<(), JsValue> {
        let background = match kind {
            "transparent" => Background::Transparent,
            "blur" if radius.is_finite() && radius >= 0.0 => Background::Blur { radius },
            "blur" => return Err(JsError::new(&format!("blur radius {radius}: not a size")).into()),
            "color" => Background::Color([(color >> 16) as u8, (color >> 8) as u8, color as u8]),
            other => {
                return Err(JsError::new(&format!(
                    "background {other:?}: use \"transparent\", \"blur\" or \"color\""
                ))
                .into());
            }
        };
        *self.busy(&self.state.background)? = background;
        Ok(())
    }

    /// A picture behind the person (`width` x `height` RGBA, an ImageData's `data`), scaled to
    /// cover the frame.
    #[wasm_bindgen(js_name = setBackgroundImage)]
    pub fn set_background_image(
        &self,
        rgba: js_sys::Uint8ClampedArray,
        width: u32,
        height: u32,
    ) -> Result<(), JsValue> {
        let picture = rgb_of(&rgba.to_vec(), width, height, RgbImage::new(0, 0))?;
        *self.busy(&self.state.background)? = Background::Image(picture);
        Ok(())
    }

    /// The 256x256 probabilities of the last frame `composite` or `segment` ran (before
    /// smoothing), into `mask`.
    #[wasm_bindgen(js_name = lastMask)]
    pub fn last_mask(&self, mask: js_sys::Float32Array) -> Result<(), JsValue> {
        let probabilities = self
            .state
            .probabilities
            .try_borrow()
            .map_err(|_| js_error(silhouette::Error::Busy))?;
        if mask.length() as usize != probabilities.len() {
            return Err(
                JsError::new(&format!("mask must hold {} floats", probabilities.len())).into(),
            );
        }
        mask.copy_from(&probabilities);
        Ok(())
    }

    /// Forget the smoothing's history (a new video, a cut).
    #[wasm_bindgen(js_name = resetSmoothing)]
    pub fn reset_smoothing(&self) -> Result<(), JsValue> {
        self.busy(&self.state.smoother)?.reset();
        Ok(())
    }

    /// Segments `width` x `height` RGBA pixels and finishes them at that size over the
    /// background (`setBackground`) into `out` (width * height * 4 bytes, e.g. a new
    /// ImageData's `data`). `refine`: edges that follow the photo (guided filter). `smooth`:
    /// blend with the previous frames' masks where nothing moves (video). Resolves when `out`
    /// is filled.
    #[allow(clippy::too_many_arguments)]
    pub fn composite(
        &self,
        rgba: js_sys::Uint8ClampedArray,
        width: u32,
        height: u32,
        refine: bool,
        smooth: bool,
        out: js_sys::Uint8ClampedArray,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        #[allow(clippy::await_holding_refcell_ref)]
        let frame = async move {
            let (
                Ok(mut pixels),
                Ok(mut probabilities),
                Ok(mut photo),
                Ok(mut smoother),
                Ok(background),
            ) = (
                state.pixels.try_borrow_mut(),
                state.probabilities.try_borrow_mut(),
                state.photo.try_borrow_mut(),
                state.smoother.try_borrow_mut(),
                state.background.try_borrow(),
            )
            else {
                return Err(js_error(silhouette::Error::Busy));
            };
            let needs = width as usize * height as usize * 4;
            if out.length() as usize != needs {
                return Err(JsError::new(&format!(
                    "out must hold {needs} bytes ({width} x {height} RGBA), not {}",
                    out.length()
                ))
                .into());
            }
            let frame = (&rgba, width, height);
            network(&state.segmenter, frame, &mut pixels, &mut probabilities).await?;
            let reused = std::mem::replace(&mut *photo, RgbImage::new(0, 0));
            *photo = rgb_of(&pixels, width, height, reused)?;
            let mask = if smooth {
                smoother.smooth(&photo, &probabilities).map_err(js_error)?
            } else {
                &probabilities[..]
            };
            let alpha = silhouette::fast::finish::alpha(&photo, mask, refine);
            let done = silhouette::fast::finish::compose(&photo, &alpha, &background);
            out.copy_from(done.as_raw());
            Ok(JsValue::UNDEFINED)
        };
        wasm_bindgen_futures::future_to_promise(frame)
    }

    /// `cell` borrowed for a change, or Error::Busy while a frame is in flight.
    fn busy<'a, T>(&self, cell: &'a RefCell<T>) -> Result<std::cell::RefMut<'a, T>, JsValue> {
        cell.try_borrow_mut()
            .map_err(|_| js_error(silhouette::Error::Busy))
    }
}

/// Runs the network on a frame's RGBA bytes (copied into `pixels`, reused) into `out`.
async fn network(
    segmenter: &Segmenter,
    (rgba, width, height): (&js_sys::Uint8ClampedArray, u32, u32),
    pixels: &mut Vec<u8>,
    out: &mut [f32],
) -> Result<(), JsValue> {
    pixels.resize(rgba.length() as usize, 0);
    rgba.copy_to(pixels);
    let frame = Pixels::Rgba {
        bytes: pixels,
        width: width as usize,
        height: height as usize,
    };
    segmenter
        .pixels_into_async(frame, out)
        .await
        .map_err(js_error)
}

/// `width` x `height` RGBA bytes as RGB (alpha dropped), into `reuse`'s buffer.
fn rgb_of(rgba: &[u8], width: u32, height: u32, reuse: RgbImage) -> Result<RgbImage, JsValue> {
    let pixels = width as usize * height as usize;
    if pixels == 0 || rgba.len() != pixels * 4 {
        return Err(js_error(silhouette::Error::PixelBytes {
            width: width as usize,
            height: height as usize,
            bytes: rgba.len(),
        }));
    }
    let mut rgb = reuse.into_raw();
    rgb.clear();
    rgb.extend(rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
    Ok(RgbImage::from_raw(width, height, rgb).expect("3 bytes a pixel"))
}
