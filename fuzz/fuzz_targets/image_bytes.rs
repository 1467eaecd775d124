//! Image bytes through the CLI's load path: format sniffing, header size check, JPEG structure
//! check, memory limits, EXIF orientation, decode. Any outcome but a panic, hang or OOM is fine;
//! a decoded image must be within the size limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Images the header says are large are real work, not bugs (up to 16384x16384 is accepted):
    // keep each run small enough for the fuzzer's memory limit. The size check itself still runs
    // on every input whose header cannot be read or claims more than the limit.
    if let Ok(size) = imagesize::blob_size(data) {
        let side = silhouette::imageio::MAX_SIDE as usize;
        if size.width <= side && size.height <= side && size.width * size.height > 1 << 22 {
            return;
        }
    }
    if let Ok(image) = silhouette::imageio::decode_image(data, Path::new("fuzz")) {
        let max = silhouette::imageio::MAX_SIDE;
        assert!(image.width() >= 1 && image.height() >= 1);
        assert!(image.width() <= max && image.height() <= max);
    }
});
