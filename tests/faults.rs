//! GPU faults become typed errors, never panics or hangs, and a lost device is replaced.

mod common;
use common::*;
use silhouette::gpu::{Gpu, Kernel};
use silhouette::{Backend, Error};

#[test]
fn a_shader_that_does_not_compile_is_a_typed_error() {
    let Some((gpu, _)) = silhouette::ops::test_gpu() else {
        return;
    };
    let err = Kernel::from_source(
        gpu,
        "broken",
        "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }".into(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Gpu(m) if m.contains("broken")),
        "{err}"
    );
    // The device is still fine afterwards.
    assert!(
        Kernel::from_source(
            gpu,
            "softmax",
            silhouette::ops::kernel_source("softmax", silhouette::Precision::F32).unwrap(),
        )
        .is_ok()
    );
}

#[test]
fn an_allocation_that_cannot_fit_is_a_typed_error() {
    let Some((gpu, _)) = silhouette::ops::test_gpu() else {
        return;
    };
    let err = gpu
        .scoped("allocating", || gpu.storage("too big", 1 << 42))
        .unwrap_err();
    assert!(matches!(err, Error::Gpu(_)), "{err}");
}

#[test]
fn an_owned_device_is_recreated_after_loss() {
    let Some(segmenter) = segmenter(Backend::Gpu) else {
        return;
    };
    let image = frame("astronaut");
    let before = segmenter.probabilities(&image).unwrap();
    segmenter.simulate_device_loss();
    let after = segmenter
        .probabilities(&image)
        .expect("a new device after the loss");
    assert_eq!(before, after);
}

#[test]
fn a_callers_lost_device_is_a_typed_error() {
    let Some(_) = segmenter(Backend::Gpu) else {
        return;
    };
    let gpu = Gpu::new().unwrap();
    let segmenter =
        silhouette::Segmenter::with_device(gpu.device.clone(), gpu.queue.clone()).unwrap();
    let image = frame("synthetic");
    assert!(segmenter.probabilities(&image).is_ok());
    gpu.device.destroy();
    let err = segmenter.probabilities(&image).unwrap_err();
    assert!(matches!(err, Error::DeviceLost), "{err}");
}
