//! The compiled kernels kept between runs (`gpu::pipeline_cache`): on Vulkan the first engine
//! saves them, a damaged or empty cache file never stops the next one (it is replaced), and the
//! masks do not depend on the cache. One test: it sets the process's cache folder.
mod common;

use silhouette::Backend;

#[test]
fn a_damaged_cache_file_is_ignored_and_replaced_and_masks_do_not_change() {
    let folder = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this binary, so no other thread reads the environment.
    unsafe { std::env::set_var("SILHOUETTE_CACHE_DIR", folder.path()) };
    let Some(first) = common::segmenter(Backend::Gpu) else {
        return;
    };
    let photo = common::frame("grace_hopper");
    let expected = first.probabilities(&photo).unwrap();
    assert!(common::max_abs_diff(&expected, &common::golden("grace_hopper")) < 5e-4);
    let files: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    if first.device_description().contains("Vulkan") {
        assert_eq!(
            files.len(),
            1,
            "no pipeline cache saved on Vulkan: {files:?}"
        );
    }
    for (damage, file) in [&b"silhouette-pc-1\n but not what was written"[..], b""]
        .into_iter()
        .flat_map(|d| files.iter().map(move |f| (d, f)))
    {
        std::fs::write(file, damage).unwrap();
        let again = common::segmenter(Backend::Gpu).unwrap();
        assert_eq!(again.probabilities(&photo).unwrap(), expected);
        let rewritten = std::fs::read(file).unwrap();
        assert!(
            rewritten.starts_with(b"silhouette-pc-1\n") && rewritten.len() > 24,
            "the damaged cache was not replaced"
        );
    }
    drop(first);
}
