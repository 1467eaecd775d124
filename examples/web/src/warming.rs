//! The engine a frame runs on: made at once, or (`firstFramesOnCpu`) the CPU engine answering
//! the first frames while the WebGPU one is made, which takes over between two frames with the
//! smoothing's history and the response carried over. Building a plan's pipelines takes
//! seconds on a software adapter and a fraction of one on a GPU; the first frame need not wait.

use silhouette::{Backend, Options, Segmenter, Smoother, Weights};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// A WebGPU segmenter being made: the finished one waits in `made` for the next frame.
#[derive(Default)]
struct Making {
    made: Option<Segmenter>,
    /// Why it could not be made (the CPU engine then stays).
    failure: Option<String>,
}

pub(crate) struct Engines {
    current: RefCell<Rc<Segmenter>>,
    making: Rc<RefCell<Making>>,
    /// Resolves with "webgpu" or "cpu", the backend frames run on once the making ends.
    ready: js_sys::Promise,
}

impl Engines {
    pub(crate) fn made(segmenter: Segmenter) -> Engines {
        let backend = backend_name(&segmenter);
        Engines {
            current: RefCell::new(Rc::new(segmenter)),
            making: Rc::default(),
            ready: js_sys::Promise::resolve(&JsValue::from_str(backend)),
        }
    }

    /// `cpu` answers until the segmenter `options` ask for is made; a CPU one it makes (`Auto`
    /// declining a software adapter) is dropped.
    pub(crate) fn warming(cpu: Segmenter, weights: Weights, options: Options) -> Engines {
        let making = Rc::new(RefCell::new(Making::default()));
        let slot = making.clone();
        let ready = wasm_bindgen_futures::future_to_promise(async move {
            let made = Segmenter::with_options_async(&weights, options).await;
            let mut slot = slot.borrow_mut();
            match made {
                Ok(gpu) if gpu.backend() == Backend::Gpu => slot.made = Some(gpu),
                Ok(cpu) => slot.failure = Some(cpu.notice().unwrap_or("no WebGPU").into()),
                Err(e) => slot.failure = Some(e.to_string()),
            }
            let backend = if slot.made.is_some() { "webgpu" } else { "cpu" };
            Ok(JsValue::from_str(backend))
        });
        Engines {
            current: RefCell::new(Rc::new(cpu)),
            making,
            ready,
        }
    }

    /// The segmenter for the next frame: the WebGPU one as soon as it is made (unless the
    /// smoothing's history is in use by a frame in flight), going on from `smoother`.
    pub(crate) fn next(&self, smoother: &RefCell<Smoother>) -> Rc<Segmenter> {
        let (Ok(mut making), Ok(smoother)) = (self.making.try_borrow_mut(), smoother.try_borrow())
        else {
            return self.current.borrow().clone();
        };
        if let Some(gpu) = making.made.take() {
            let before = self.current.borrow().clone();
            // Both were checked where they were set, and a new engine has no frame in flight.
            let _ = gpu.set_response(before.response());
            let _ = smoother.carry_into(&gpu);
            *self.current.borrow_mut() = Rc::new(gpu);
        }
        self.current.borrow().clone()
    }

    /// Why the WebGPU engine could not be made, or why `Auto` chose the CPU.
    pub(crate) fn notice(&self, smoother: &RefCell<Smoother>) -> Option<String> {
        let failure = self.making.borrow().failure.clone();
        failure.or_else(|| self.next(smoother).notice().map(String::from))
    }

    pub(crate) fn ready(&self) -> js_sys::Promise {
        self.ready.clone()
    }
}

pub(crate) fn backend_name(segmenter: &Segmenter) -> &'static str {
    match segmenter.backend() {
        Backend::Gpu => "webgpu",
        _ => "cpu",
    }
}
