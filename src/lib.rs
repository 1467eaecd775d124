//! # silhouette
//!
//! Person segmentation on your own device: Google MediaPipe's *Selfie Segmentation* network
//! (256x256 RGB -> 256x256 person probability, 106K fp16 parameters, Apache-2.0), with a plain
//! CPU reference implementation of every operator.
//!
//! Start with [`Segmenter`]. The network itself is data ([`network::Network`]), built from the
//! weights in `weights/` (compiled in) and readable top-down in [`network::Network::new`].

pub mod compose;
pub mod cpu;
pub mod error;
pub mod files;
pub mod gpu;
pub mod imageio;
pub mod network;
pub mod ops;
pub mod segmenter;
// Native: it drives the blocking API (the web demo runs its own frame loop).
#[cfg(not(target_arch = "wasm32"))]
pub mod stream;
pub mod tensor;
pub mod weights;

pub use error::{Error, Result};
pub use gpu::Precision;
/// The `image` crate at the version our API speaks.
pub use image;
pub use segmenter::{Backend, Mask, Options, Segmenter};
#[cfg(not(target_arch = "wasm32"))]
pub use stream::{Smoothing, Stream};
pub use weights::Weights;
