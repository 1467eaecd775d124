//! RGBA bytes of any claimed width and height through the CPU `Segmenter`: a mismatch is an
//! error, anything else gives 256x256 probabilities in [0, 1].
#![no_main]
use libfuzzer_sys::fuzz_target;
use silhouette::Pixels;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static SEGMENTER: OnceLock<silhouette::Segmenter> = OnceLock::new();
    let segmenter =
        SEGMENTER.get_or_init(|| silhouette::Segmenter::new(silhouette::Backend::Cpu).unwrap());
    if data.len() < 4 {
        return;
    }
    let width = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let height = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let pixels = Pixels::Rgba {
        bytes: &data[4..],
        width,
        height,
    };
    let mut out = vec![0.0; 256 * 256];
    if pollster::block_on(segmenter.pixels_into_async(pixels, &mut out)).is_ok() {
        assert_eq!(data.len() - 4, width * height * 4);
        assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
    }
});
