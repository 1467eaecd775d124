//! RGBA bytes of any claimed size through `Pixels` and the CPU resamples (`reference::pixels_input`
//! and the engine's own, `cpu::resample_input`) to the network's input: a mismatch is an error,
//! anything else is a 256x256x3 tensor in [0, 1], the same bits from both.
#![no_main]
use libfuzzer_sys::fuzz_target;
use silhouette::Pixels;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    // Sizes whose product can overflow are part of the test.
    let width = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let height = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let pixels = Pixels::Rgba {
        bytes: &data[8..],
        width,
        height,
    };
    let mut fast = vec![0.0; 256 * 256 * 3];
    let fast_result = silhouette::cpu::resample_input(pixels, &mut fast);
    match silhouette::reference::pixels_input(pixels) {
        Ok(input) => {
            assert_eq!(input.data.len(), 256 * 256 * 3);
            assert!(input.data.iter().all(|v| (0.0..=1.0).contains(v)));
            assert!(fast_result.is_ok() && fast == input.data);
        }
        Err(e) => assert_eq!(fast_result.unwrap_err().to_string(), e.to_string()),
    }
});
