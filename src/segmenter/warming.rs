//! The GPU engine made on a thread of its own while the CPU engine answers
//! ([`Options::first_frames_on_cpu`](super::Options::first_frames_on_cpu)): compiling a plan's
//! pipelines takes from a fraction of a second to seconds (6 s on lavapipe with cold caches),
//! and the first frames need not wait for it.

use super::{Options, Segmenter, lock};
use crate::error::{Error, Result};
use crate::finish::Response;
use crate::weights::Weights;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

pub(super) struct Warming {
    thread: Mutex<Option<JoinHandle<Result<Segmenter>>>>,
    /// The GPU segmenter once made, or why it could not be.
    done: OnceLock<std::result::Result<Segmenter, String>>,
}

impl Warming {
    /// Starts making a segmenter with `options` (on the GPU, or as `Backend::Auto` decides),
    /// sharing `response` with the segmenter that waits for it.
    pub(super) fn start(
        weights: &Weights,
        options: Options,
        response: Arc<Mutex<Response>>,
    ) -> Result<Warming> {
        let weights = weights.clone();
        let options = Options {
            first_frames_on_cpu: false,
            ..options
        };
        let thread = std::thread::Builder::new()
            .name("silhouette-gpu-warming".into())
            .spawn(move || {
                let mut segmenter = Segmenter::with_options(&weights, options)?;
                segmenter.response = response;
                Ok(segmenter)
            })
            .map_err(|e| Error::BackendUnavailable(format!("no thread to make the GPU on: {e}")))?;
        Ok(Warming {
            thread: Mutex::new(Some(thread)),
            done: OnceLock::new(),
        })
    }

    /// The GPU segmenter if it is made, without waiting for it.
    pub(super) fn ready(&self) -> Option<&Segmenter> {
        if self.done.get().is_none() {
            // Never waits: a caller in `wait` holds the lock while the GPU is made.
            let Ok(mut thread) = self.thread.try_lock() else {
                return None;
            };
            if self.done.get().is_none() {
                if !thread.as_ref().is_some_and(|t| t.is_finished()) {
                    return None;
                }
                self.finish(thread.take());
            }
        }
        self.done.get()?.as_ref().ok()
    }

    /// Waits until the GPU segmenter is made; `Err` says why it could not be.
    pub(super) fn wait(&self) -> std::result::Result<&Segmenter, &str> {
        {
            // Held while joining: a second waiter waits for the first.
            let mut thread = lock(&self.thread);
            if self.done.get().is_none() {
                self.finish(thread.take());
            }
        }
        match self.done.get() {
            Some(Ok(segmenter)) => Ok(segmenter),
            Some(Err(why)) => Err(why),
            None => Err("the GPU engine's thread is gone"),
        }
    }

    fn finish(&self, thread: Option<JoinHandle<Result<Segmenter>>>) {
        let Some(thread) = thread else { return };
        let made = match thread.join() {
            Ok(made) => made.map_err(|e| e.to_string()),
            Err(_) => Err("making the GPU engine panicked".into()),
        };
        // A GPU that `Backend::Auto` declined (a software adapter) is no better than ours.
        let made = made.and_then(|s| match s.notice() {
            Some(notice) if s.backend() != super::Backend::Gpu => Err(notice.to_string()),
            _ => Ok(s),
        });
        let _ = self.done.set(made);
    }

    /// Why the GPU could not be made, once that is known.
    pub(super) fn failure(&self) -> Option<&str> {
        self.done.get()?.as_ref().err().map(String::as_str)
    }
}
