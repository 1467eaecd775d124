//! The compiled kernels kept between runs (Vulkan's pipeline cache, through wgpu's
//! `PipelineCache`): a first run compiles every kernel, a second one reads them back. One file
//! per adapter and driver kind in the user's cache folder, written atomically. A file that is
//! damaged, foreign or from another version is ignored and replaced, never fatal: its own
//! checksum is checked before the driver sees a byte of it (wgpu checks only its header).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

/// What a cache file starts with, before its checksum and the driver's data.
const MAGIC: &[u8; 16] = b"silhouette-pc-1\n";

/// The device's pipeline cache and the file it came from and goes back to.
#[derive(Debug)]
pub struct DiskCache {
    pub cache: wgpu::PipelineCache,
    path: PathBuf,
}

impl DiskCache {
    /// The cache for `device` (made from `info`'s adapter), loaded from its file where that is
    /// whole; None where the device has no pipeline cache (not Vulkan), no cache folder is
    /// known, or `SILHOUETTE_PIPELINE_CACHE=off`.
    pub fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<DiskCache> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE)
            || std::env::var_os("SILHOUETTE_PIPELINE_CACHE").is_some_and(|v| v == "off")
        {
            return None;
        }
        let path = folder()?.join(format!("{}.bin", wgpu::util::pipeline_cache_key(info)?));
        let data = std::fs::read(&path)
            .ok()
            .and_then(|file| unwrap(&file).map(<[u8]>::to_vec));
        // SAFETY: `data` is what `save` wrote from this adapter's cache (same key), its checksum
        // intact; `fallback` makes wgpu start empty where the driver will not use it.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("silhouette kernels"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        Some(DiskCache { cache, path })
    }

    /// Writes the cache back (atomically), best effort: a run that cannot save it only
    /// compiles again next time.
    pub fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        if let Some(folder) = self.path.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        let _ = crate::files::write_atomic(&self.path, &wrap(&data));
    }
}

/// `$SILHOUETTE_CACHE_DIR`, else `$XDG_CACHE_HOME/silhouette`, else `~/.cache/silhouette`.
fn folder() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("SILHOUETTE_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("silhouette")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("silhouette")))
}

fn checksum(data: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    data.hash(&mut hasher);
    hasher.finish()
}

/// The file's bytes: magic, checksum, data.
fn wrap(data: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &checksum(data).to_le_bytes(), data].concat()
}

/// The data of a file `wrap` made, or None if it is anything else (damaged, truncated,
/// foreign, or its checksum from another build).
fn unwrap(file: &[u8]) -> Option<&[u8]> {
    let rest = file.strip_prefix(&MAGIC[..])?;
    let (sum, data) = rest.split_at_checked(8)?;
    (u64::from_le_bytes(sum.try_into().ok()?) == checksum(data)).then_some(data)
}

#[cfg(test)]
mod tests {
    use super::{MAGIC, unwrap, wrap};

    #[test]
    fn only_a_whole_file_of_ours_gives_data() {
        let data = b"the driver's bytes".to_vec();
        let file = wrap(&data);
        assert_eq!(unwrap(&file), Some(&data[..]));
        // Damaged anywhere, truncated, empty, foreign: nothing reaches the driver.
        for at in [0, MAGIC.len(), MAGIC.len() + 3, file.len() - 1] {
            let mut damaged = file.clone();
            damaged[at] ^= 0x20;
            assert_eq!(unwrap(&damaged), None, "byte {at} flipped");
        }
        assert_eq!(unwrap(&file[..file.len() - 1]), None);
        assert_eq!(unwrap(&file[..MAGIC.len() + 4]), None);
        assert_eq!(unwrap(b""), None);
        assert_eq!(
            unwrap(b"\x03\x00\x00\x00 a Vulkan cache without our header"),
            None
        );
    }
}
