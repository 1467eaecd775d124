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
//! The weights are compiled into the wasm: nothing is fetched but the page's own files.

use silhouette::Pixels;
use silhouette::{Backend, Options, Segmenter, Weights};
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

/// Shared with in-flight frames. The buffers are reused, so a frame allocates nothing.
struct State {
    segmenter: Segmenter,
    pixels: RefCell<Vec<u8>>,
    probabilities: RefCell<Vec<f32>>,
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
            pixels.resize(rgba.length() as usize, 0);
            rgba.copy_to(&mut pixels);
            let frame = Pixels::Rgba {
                bytes: &pixels,
                width: width as usize,
                height: height as usize,
            };
            state
                .segmenter
                .pixels_into_async(frame, &mut out)
                .await
                .map_err(js_error)?;
            mask.copy_from(&out);
            Ok(JsValue::UNDEFINED)
        };
        wasm_bindgen_futures::future_to_promise(frame)
    }
}
