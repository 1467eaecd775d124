//! # silhouette
//!
//! Person segmentation on your own device: Google MediaPipe's *Selfie Segmentation* network
//! (256x256 RGB -> 256x256 person probability, 106K fp16 parameters, Apache-2.0), with a plain
//! CPU reference implementation of every operator.
//!
//! Start with [`Segmenter`]. The network itself is data ([`network::Network`]), built from the
//! weights in `weights/` (compiled in) and readable top-down in [`network::Network::new`].

// The layers, bottom up: a module imports only from layers above its own in this list
// (docs/ARCHITECTURE.md has the map).

// Vocabulary: errors, files a user owns, tensors, a frame's pixels.
pub mod error;
pub mod files;
pub mod pixels;
pub mod tensor;

// What is read from files: images, weights.
pub mod imageio;
pub mod weights;

// Definitions as data: the network's graph, the finish's parameters.
pub mod finish;
pub mod network;

// Graph rewrites, exact in real arithmetic, for the executors that want fewer nodes.
pub mod passes;

// The CPU reference executor (the oracle every kernel is tested against); the GPU device
// (which knows no kernel by name).
pub mod gpu;
pub mod reference;

// The CPU engine users get from `Backend::Cpu` (tested against the reference).
pub mod cpu;

// One file per kernel, each beside its CPU twin.
pub mod ops;

// The network and the finish lowered onto a device.
pub mod plan;

// The front door.
pub mod segmenter;
// Temporal smoothing (`Stream` drives the blocking API, so it is native only; the browser
// build runs `Smoother` in its own frame loop).
pub mod stream;

// The Rust examples of the README and docs/LIBRARY.md compile (`cargo test --doc`);
// tools/check_docs.py runs their other runnable blocks.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
#[cfg(doctest)]
#[doc = include_str!("../docs/LIBRARY.md")]
struct LibraryExamples;

pub use error::{Error, Result};
pub use finish::{Background, Response};
pub use gpu::Precision;
/// The `image` crate at the version our API speaks.
pub use image;
pub use pixels::Pixels;
pub use plan::TextureOptions;
pub use segmenter::{Backend, Mask, Options, Segmenter};
#[cfg(not(target_arch = "wasm32"))]
pub use stream::Stream;
pub use stream::{Smoother, Smoothing};
pub use weights::Weights;
