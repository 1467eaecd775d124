//! Shared by the criterion bench (benches/engine.rs) and the report (examples/bench_report.rs).
#![allow(dead_code)]

use silhouette::network::{Network, Node, Value};
use silhouette::tensor::Tensor;

pub const FRAME: &str = "grace_hopper";

/// The benchmark input: a golden frame, normalised, NHWC.
pub fn input() -> Tensor {
    let path = format!(
        "{}/tests/data/frames/{FRAME}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    silhouette::reference::network_input(&image::open(path).expect("frame").to_rgb8())
        .expect("input")
}

/// MediaPipe's own output for [`input`].
pub fn golden() -> Vec<f32> {
    let bytes = std::fs::read(format!(
        "{}/tests/data/golden/{FRAME}.f32",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("golden");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Bytes a node moves at minimum: its inputs, its epilogue's add, its parameters, its output (f32).
pub fn node_bytes(network: &Network, node: &Node) -> u64 {
    let reads: usize = node.reads().map(|v: Value| network.shape(v).len()).sum();
    ((reads + node.parameters() + node.shape.len()) * 4) as u64
}

#[cfg(feature = "bench-ort")]
pub mod ort_engine {
    use ort::session::Session;
    use ort::value::Tensor as OrtTensor;

    pub const ONNX: &[u8] = include_bytes!("../selfie_segmentation.onnx");

    /// ONNX Runtime on the CPU, from the shared library at ORT_DYLIB_PATH (tools/bench.sh sets it).
    pub struct Ort {
        session: Session,
        _environment: ort::environment::Environment,
        pub threads: usize,
        pub library: String,
    }

    impl Ort {
        /// A session as ONNX Runtime configures it by default (its intra-op threads spin
        /// between runs); [`sibling`](Self::sibling) makes one whose threads sleep.
        pub fn new() -> Ort {
            let library = std::env::var("ORT_DYLIB_PATH")
                .expect("ORT_DYLIB_PATH: run tools/bench.sh, which installs ONNX Runtime");
            let environment = ort::init_from(&library)
                .expect("load ONNX Runtime")
                .build()
                .expect("ORT environment");
            Ort::session(environment, library, true)
        }

        /// Another session in this one's environment (a process may hold only one).
        pub fn sibling(&self, spinning: bool) -> Ort {
            Ort::session(self._environment.clone(), self.library.clone(), spinning)
        }

        fn session(
            environment: ort::environment::Environment,
            library: String,
            spinning: bool,
        ) -> Ort {
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            let mut builder = Session::builder(&environment)
                .expect("session builder")
                .with_intra_threads(threads)
                .unwrap_or_else(|e| panic!("threads: {e}"))
                .with_intra_op_spinning(spinning)
                .unwrap_or_else(|e| panic!("spinning: {e}"));
            let session = builder
                .commit_from_memory(ONNX)
                .expect("ONNX Runtime session");
            Ort {
                session,
                _environment: environment,
                threads,
                library,
            }
        }

        /// `nhwc` is our 256x256x3 input; ONNX wants NCHW. Returns the 256x256 probabilities.
        pub fn nchw(nhwc: &[f32]) -> Vec<f32> {
            (0..3)
                .flat_map(|c| (0..256 * 256).map(move |p| nhwc[p * 3 + c]))
                .collect()
        }

        pub fn run(&mut self, nchw: &[f32]) -> Vec<f32> {
            let input =
                OrtTensor::from_array(([1usize, 3, 256, 256], nchw.to_vec().into_boxed_slice()))
                    .expect("tensor");
            let outputs = self
                .session
                .run(ort::inputs!["image" => input])
                .expect("ORT run");
            outputs["mask"]
                .try_extract_tensor::<f32>()
                .expect("mask")
                .1
                .to_vec()
        }
    }
}
