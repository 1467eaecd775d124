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
//! smoothing for video), into an RGBA array the page puts on a canvas. On WebGPU, `drawTo` does
//! the same without leaving the GPU: the frame (a VideoFrame, video, image, bitmap or canvas) is
//! copied into a texture, network, smoothing and finish run in one submit, and the result is
//! written straight into a WebGPU canvas; nothing is read back.
//!
//! The weights are compiled into the wasm: nothing is fetched but the page's own files.

use silhouette::image::RgbImage;
use silhouette::{Backend, Options, Segmenter, Weights};
use silhouette::{Background, Pixels, Smoother, Smoothing, TextureOptions};
use std::cell::RefCell;
use std::rc::Rc;
use warming::Engines;
use wasm_bindgen::prelude::*;

mod warming;

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
    engines: Engines,
    pixels: RefCell<Vec<u8>>,
    probabilities: RefCell<Vec<f32>>,
    /// The frame as RGB for the finish (reused while the size stays).
    photo: RefCell<RgbImage>,
    smoother: RefCell<Smoother>,
    background: RefCell<Background>,
    /// The WebGPU canvas `drawTo` last drew into.
    target: RefCell<Option<Target>>,
    /// Whether the last frame was drawn on the GPU (its mask is there, not in `probabilities`).
    drawn_on_gpu: std::cell::Cell<bool>,
    /// The GPU's verdict on the last `drawTo`, reported by the next call (`drawTo` resolves
    /// right after its submit, so that the caller reads the canvas in the task that drew it).
    pending: RefCell<Option<silhouette::gpu::GpuErrors>>,
    /// Milliseconds the last `composite` or `drawTo` spent: pixels in, network, finish.
    timings: std::cell::Cell<[f64; 3]>,
    /// Whether `probabilities` holds a frame's network output (`composite` may reuse it).
    mask_ready: std::cell::Cell<bool>,
}

impl State {
    /// The engine for the next frame (see `Engines::next`).
    fn segmenter(&self) -> Rc<Segmenter> {
        self.engines.next(&self.smoother)
    }
}

/// A WebGPU canvas that `drawTo` writes into, and the texture each frame is copied into (both
/// kept while the canvas and the frame's size stay).
struct Target {
    canvas: JsValue,
    surface: wgpu::Surface<'static>,
    /// Width, height and premultiplied alpha the surface is configured for.
    configured: Option<(u32, u32, bool)>,
    frame: Option<wgpu::Texture>,
}

fn js_error(e: silhouette::Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

#[wasm_bindgen]
impl Silhouette {
    /// `backend`: "auto" (WebGPU when an adapter exists, else the fast CPU engine; `notice` says
    /// why), "gpu" (fail without WebGPU) or "cpu". `first_frames_on_cpu`: resolve at once with
    /// the CPU engine and make the WebGPU one meanwhile; frames move to it when it is ready
    /// (`ready()`), smoothing and response carried over; if it cannot be made, the CPU stays.
    pub async fn create(
        backend: Option<String>,
        first_frames_on_cpu: Option<bool>,
    ) -> Result<Silhouette, JsValue> {
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
        let engines = if first_frames_on_cpu.unwrap_or(false) && backend != Backend::Cpu {
            let cpu = Options {
                backend: Backend::Cpu,
                ..options
            };
            let cpu = Segmenter::with_options_async(&weights, cpu)
                .await
                .map_err(js_error)?;
            Engines::warming(cpu, weights, options)
        } else {
            let segmenter = Segmenter::with_options_async(&weights, options)
                .await
                .map_err(js_error)?;
            Engines::made(segmenter)
        };
        let size = silhouette::network::OUTPUT.len();
        let state = State {
            engines,
            pixels: RefCell::default(),
            probabilities: RefCell::new(vec![0.0; size]),
            photo: RefCell::new(RgbImage::new(0, 0)),
            smoother: RefCell::new(Smoother::new(Smoothing::default())),
            background: RefCell::new(Background::Transparent),
            target: RefCell::default(),
            drawn_on_gpu: Default::default(),
            pending: RefCell::default(),
            timings: Default::default(),
            mask_ready: Default::default(),
        };
        Ok(Silhouette {
            state: Rc::new(state),
        })
    }

    /// "webgpu" or "cpu": where the next frame runs.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        warming::backend_name(&self.state.segmenter()).into()
    }

    /// The adapter, or the CPU engine (e.g. "CPU: fast engine, wasm simd128, 1 thread").
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.state.segmenter().device_description()
    }

    /// Why `auto` fell back to the CPU, or why the WebGPU engine could not be made.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> Option<String> {
        self.state.engines.notice(&self.state.smoother)
    }

    /// Resolves with "webgpu" or "cpu" once the engine frames will run on is made (at once
    /// unless `first_frames_on_cpu`; never rejects: `notice` says why the CPU stayed).
    pub fn ready(&self) -> js_sys::Promise {
        self.state.engines.ready()
    }

    /// Milliseconds the last `composite` or `drawTo` spent on its frame's pixels in (drawTo:
    /// the copy into a texture), the network and the finish, as [in, network, finish]. After
    /// `drawTo` the network's figure is the submit of network and finish (the GPU runs them
    /// after) and the finish's is 0.
    #[wasm_bindgen(js_name = lastTimings)]
    pub fn last_timings(&self) -> Vec<f64> {
        self.state.timings.get().to_vec()
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
                &state.segmenter(),
                (&rgba, width, height),
                &mut pixels,
                &mut out,
            )
            .await?;
            state.drawn_on_gpu.set(false);
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

    /// How the alpha answers the mask from the next frame on (`composite` and `drawTo`):
    /// probabilities below `threshold - softness / 2` transparent, above `threshold +
    /// softness / 2` opaque, linearly between (silhouette::Response). Both in [0, 1].
    #[wasm_bindgen(js_name = setResponse)]
    pub fn set_response(&self, threshold: f32, softness: f32) -> Result<(), JsValue> {
        let response = silhouette::Response {
            threshold,
            softness,
        };
        self.state
            .segmenter()
            .set_response(response)
            .map_err(js_error)
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

    /// The 256x256 probabilities of the last frame `composite`, `segment` or `drawTo` ran (before
    /// smoothing), into `mask`. After `drawTo` they are read back from the GPU: only when asked.
    #[wasm_bindgen(js_name = lastMask)]
    pub fn last_mask(&self, mask: js_sys::Float32Array) -> js_sys::Promise {
        let state = self.state.clone();
        #[allow(clippy::await_holding_refcell_ref)]
        let read = async move {
            let Ok(mut probabilities) = state.probabilities.try_borrow_mut() else {
                return Err(js_error(silhouette::Error::Busy));
            };
            if mask.length() as usize != probabilities.len() {
                return Err(JsError::new(&format!(
                    "mask must hold {} floats",
                    probabilities.len()
                ))
                .into());
            }
            if state.drawn_on_gpu.get() {
                state
                    .segmenter()
                    .last_probabilities_async(&mut probabilities)
                    .await
                    .map_err(js_error)?;
            }
            mask.copy_from(&probabilities);
            Ok(JsValue::UNDEFINED)
        };
        wasm_bindgen_futures::future_to_promise(read)
    }

    /// Forget the smoothing's history (a new video, a cut).
    #[wasm_bindgen(js_name = resetSmoothing)]
    pub fn reset_smoothing(&self) -> Result<(), JsValue> {
        self.busy(&self.state.smoother)?.reset();
        self.state.segmenter().reset_smoothing().map_err(js_error)
    }

    /// WebGPU only: `source` (a VideoFrame, video, image, ImageBitmap, canvas or ImageData of
    /// `width` x `height`) composited over the background (`setBackground`) straight into
    /// `canvas` (an HTMLCanvasElement or OffscreenCanvas without a 2-D context; resized to the
    /// frame), all on the GPU: no pixel is read back. `refine` and `smooth` as `composite`.
    /// Resolves as soon as the work is submitted, so that the caller can read the canvas (make a
    /// VideoFrame of it) in the same task: a WebGPU canvas shows its frame once that task ends,
    /// and is blank to readers after. A GPU error of this frame fails the next call.
    #[wasm_bindgen(js_name = drawTo)]
    pub fn draw_to(
        &self,
        source: JsValue,
        width: u32,
        height: u32,
        canvas: JsValue,
        refine: bool,
        smooth: bool,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        #[allow(clippy::await_holding_refcell_ref)]
        let frame = async move {
            let (Ok(mut target), Ok(background), Ok(mut pending)) = (
                state.target.try_borrow_mut(),
                state.background.try_borrow(),
                state.pending.try_borrow_mut(),
            ) else {
                return Err(js_error(silhouette::Error::Busy));
            };
            if let Some(errors) = pending.take() {
                errors.await.map_err(js_error)?;
            }
            let segmenter = state.segmenter();
            let Some((device, queue)) = segmenter.wgpu_device() else {
                return Err(
                    JsError::new("drawTo draws on the GPU: this engine runs on the CPU").into(),
                );
            };
            if width == 0 || height == 0 {
                return Err(JsError::new(&format!("a frame of {width} x {height} pixels")).into());
            }
            let target = target_for(&mut target, &canvas)?;
            // Only a cut-out leaves alpha below 1: the canvas then blends it, premultiplied.
            let premultiplied = matches!(*background, Background::Transparent);
            target.fit(&device, (width, height), premultiplied);
            let frame = target.frame.as_ref().expect("fitted");
            let start = now();
            copy_into(&queue, &source, frame, (width, height))?;
            let copied = now();
            let output = match target.surface.get_current_texture() {
                wgpu::CurrentSurfaceTexture::Success(t)
                | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
                _ => return Err(JsError::new("the canvas gave no texture to draw into").into()),
            };
            let options = TextureOptions {
                refine,
                smoothing: smooth.then(Smoothing::default),
                premultiplied,
            };
            let errors = segmenter
                .composite_texture_submit(
                    &frame.create_view(&Default::default()),
                    &output.texture.create_view(&Default::default()),
                    (width, height),
                    &background,
                    options,
                )
                .await
                .map_err(js_error)?;
            *pending = Some(errors);
            state.drawn_on_gpu.set(true);
            queue.present(output);
            state.timings.set([copied - start, now() - copied, 0.0]);
            Ok(JsValue::UNDEFINED)
        };
        wasm_bindgen_futures::future_to_promise(frame)
    }

    /// Segments `width` x `height` RGBA pixels and finishes them at that size over the
    /// background (`setBackground`) into `out` (width * height * 4 bytes, e.g. a new
    /// ImageData's `data`). `refine`: edges that follow the photo (guided filter). `smooth`:
    /// blend with the previous frames' masks where nothing moves (video). `reuse_mask`: finish
    /// with the last frame's network output instead of running the network (a video at a
    /// cadence the machine holds; ignored before any frame ran). Resolves when `out` is filled.
    #[allow(clippy::too_many_arguments)]
    pub fn composite(
        &self,
        rgba: js_sys::Uint8ClampedArray,
        width: u32,
        height: u32,
        refine: bool,
        smooth: bool,
        out: js_sys::Uint8ClampedArray,
        reuse_mask: Option<bool>,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        #[allow(clippy::await_holding_refcell_ref)]
        let frame = async move {
            // Before the borrows below: a WebGPU engine made meanwhile takes over here.
            let segmenter = state.segmenter();
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
            let start = now();
            if reuse_mask.unwrap_or(false) && state.mask_ready.get() {
                pixels.resize(rgba.length() as usize, 0);
                rgba.copy_to(&mut pixels);
            } else {
                network(&segmenter, frame, &mut pixels, &mut probabilities).await?;
                state.mask_ready.set(true);
            }
            let segmented = now();
            state.drawn_on_gpu.set(false);
            let reused = std::mem::replace(&mut *photo, RgbImage::new(0, 0));
            *photo = rgb_of(&pixels, width, height, reused)?;
            let mask = if smooth {
                smoother.smooth(&photo, &probabilities).map_err(js_error)?
            } else {
                &probabilities[..]
            };
            let response = segmenter.response();
            let alpha = silhouette::cpu::finish::alpha(&photo, mask, refine, response);
            let done = silhouette::cpu::finish::compose(&photo, &alpha, &background);
            out.copy_from(done.as_raw());
            state
                .timings
                .set([0.0, segmented - start, now() - segmented]);
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

/// The target for `canvas`: the current one, or a new surface on it.
fn target_for<'a>(
    target: &'a mut Option<Target>,
    canvas: &JsValue,
) -> Result<&'a mut Target, JsValue> {
    if !target
        .as_ref()
        .is_some_and(|t| js_sys::Object::is(&t.canvas, canvas))
    {
        let surface = if let Some(c) = canvas.dyn_ref::<wgpu::web_sys::HtmlCanvasElement>() {
            wgpu::SurfaceTarget::Canvas(c.clone())
        } else if let Some(c) = canvas.dyn_ref::<wgpu::web_sys::OffscreenCanvas>() {
            wgpu::SurfaceTarget::OffscreenCanvas(c.clone())
        } else {
            return Err(JsError::new("drawTo needs a canvas or an OffscreenCanvas").into());
        };
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::BROWSER_WEBGPU;
        let surface = wgpu::Instance::new(descriptor)
            .create_surface(surface)
            .map_err(|e| {
                JsError::new(&format!(
                    "no WebGPU context on this canvas (has it a 2-D one?): {e}"
                ))
            })?;
        *target = Some(Target {
            canvas: canvas.clone(),
            surface,
            configured: None,
            frame: None,
        });
    }
    Ok(target.as_mut().expect("just set"))
}

impl Target {
    /// The surface configured for a `size` frame (which resizes the canvas) and a texture of
    /// that size to copy frames into.
    fn fit(&mut self, device: &wgpu::Device, (width, height): (u32, u32), premultiplied: bool) {
        if self.configured != Some((width, height, premultiplied)) {
            self.surface.configure(
                device,
                &wgpu::SurfaceConfiguration {
                    // The finish writes the canvas's texture directly (rgba8unorm storage).
                    usage: wgpu::TextureUsages::STORAGE_BINDING,
                    format: wgpu::TextureFormat::Rgba8Unorm,
                    color_space: wgpu::SurfaceColorSpace::Auto,
                    width,
                    height,
                    present_mode: wgpu::PresentMode::Fifo,
                    desired_maximum_frame_latency: 2,
                    alpha_mode: if premultiplied {
                        wgpu::CompositeAlphaMode::PreMultiplied
                    } else {
                        wgpu::CompositeAlphaMode::Opaque
                    },
                    view_formats: vec![],
                },
            );
            self.configured = Some((width, height, premultiplied));
        }
        let size = wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        };
        if self.frame.as_ref().is_none_or(|f| f.size() != size) {
            self.frame = Some(device.create_texture(&wgpu::TextureDescriptor {
                label: Some("drawTo frame"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                // copyExternalImageToTexture needs COPY_DST and RENDER_ATTACHMENT.
                usage: wgpu::TextureUsages::COPY_DST
                    | wgpu::TextureUsages::RENDER_ATTACHMENT
                    | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            }));
        }
    }
}

/// `queue.copyExternalImageToTexture({source}, {texture}, [width, height])`, called on the JS
/// objects so that the browser's refusal (a closed VideoFrame, a cross-origin image) comes back
/// as an error rather than a panic.
fn copy_into(
    queue: &wgpu::Queue,
    source: &JsValue,
    texture: &wgpu::Texture,
    (width, height): (u32, u32),
) -> Result<(), JsValue> {
    let (Some(queue), Some(texture)) = (queue.as_webgpu(), texture.as_webgpu()) else {
        return Err(JsError::new("drawTo needs the WebGPU backend").into());
    };
    let queue: &JsValue = queue.as_ref();
    let copy: js_sys::Function =
        js_sys::Reflect::get(queue, &"copyExternalImageToTexture".into())?.dyn_into()?;
    let from = js_sys::Object::new();
    js_sys::Reflect::set(&from, &"source".into(), source)?;
    let to = js_sys::Object::new();
    js_sys::Reflect::set(&to, &"texture".into(), texture.as_ref())?;
    let size = js_sys::Array::of2(&width.into(), &height.into());
    copy.call3(queue, &from, &to, &size)?;
    Ok(())
}

/// `performance.now()` of the page or worker (0 where there is none).
fn now() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into());
    performance
        .and_then(|p| {
            let now: js_sys::Function = js_sys::Reflect::get(&p, &"now".into())?.dyn_into()?;
            now.call0(&p)
        })
        .ok()
        .and_then(|t| t.as_f64())
        .unwrap_or(0.0)
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
