//! Reading and writing images for the CLI and embedders: typed errors naming the file,
//! content-sniffed formats, and atomic writes (temp file + rename) so no partial output survives.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageFormat};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Decodes the image at `path`, whatever its extension says (the format is sniffed from the bytes).
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(Error::Decode {
            path: path.into(),
            reason: "unrecognised or unsupported format (PNG and JPEG are read)".into(),
        });
    }
    reader.decode().map_err(|e| Error::Decode {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// Encodes `image` as PNG and writes it to `path` atomically. Refuses to write over `input`.
pub fn save_png(image: &DynamicImage, path: &Path, input: Option<&Path>) -> Result<()> {
    let format = ImageFormat::from_path(path).ok();
    if format != Some(ImageFormat::Png) {
        return Err(Error::Encode {
            path: path.into(),
            reason: "output must be a .png file".into(),
        });
    }
    if let Some(input) = input
        && same_file(input, path)
    {
        return Err(Error::WouldOverwriteInput { path: path.into() });
    }
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|e| Error::Encode {
            path: path.into(),
            reason: e.to_string(),
        })?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
