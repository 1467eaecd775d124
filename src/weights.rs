//! The network's parameters: loaded from safetensors (fp16 as MediaPipe ships them), widened to f32.

use crate::error::{Error, Result};
use half::f16;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// The converted MediaPipe weights file, as shipped in weights/ (what [`Weights::embedded`] reads
/// is compiled in from it by build.rs), so nothing is fetched at run time.
pub const EMBEDDED: &[u8] = include_bytes!("../weights/selfie_segmentation.safetensors");

/// [`EMBEDDED`]'s tensors as build.rs laid them out: their bytes one after another, and each
/// one's (name, dtype, shape, start, end) in them. Reading them needs no JSON parser, and the
/// file's header is not compiled in: the browser build ships neither.
const EMBEDDED_DATA: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/weights.bin"));
const EMBEDDED_INDEX: &[(&str, &str, &[usize], usize, usize)] =
    include!(concat!(env!("OUT_DIR"), "/weights_index.rs"));

/// The largest weights file read. This network's weights take 213 KB; anything far larger is
/// not them, and must not be read whole into memory to find that out.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// How the built-in weights are named in errors.
const BUILT_IN: &str = "built-in weights";

/// One named tensor of the weights file.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// All parameters by name (`enc4.depthwise.weight`, ...). Layouts are TFLite's: see `weights/NOTICE`.
#[derive(Clone, Debug)]
pub struct Weights {
    params: BTreeMap<String, Param>,
    /// Where they came from, for errors: a file's path or "built-in weights".
    origin: String,
}

impl Weights {
    pub fn embedded() -> Result<Self> {
        let mut weights = Weights::named(BUILT_IN);
        for &(name, dtype, shape, start, end) in EMBEDDED_INDEX {
            if dtype != "F16" {
                return Err(weights.error(format!("{name}: dtype {dtype}, expected F16")));
            }
            weights.insert_f16(name.into(), shape.to_vec(), &EMBEDDED_DATA[start..end])?;
        }
        Ok(weights)
    }

    /// Weights from a safetensors file: a regular file of at most [`MAX_FILE_BYTES`].
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)?;
        Self::parse(&bytes, &path.display().to_string())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes, "weights")
    }

    /// Every tensor must be f16, of a shape that matches its bytes, and finite: a NaN or an
    /// infinity would turn every mask into garbage without any error.
    fn parse(bytes: &[u8], origin: &str) -> Result<Self> {
        let mut weights = Weights::named(origin);
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| weights.error(format!("not a valid safetensors file ({e})")))?;
        for (name, view) in file.tensors() {
            if view.dtype() != Dtype::F16 {
                return Err(
                    weights.error(format!("{name}: dtype {:?}, expected F16", view.dtype()))
                );
            }
            weights.insert_f16(name, view.shape().to_vec(), view.data())?;
        }
        Ok(weights)
    }

    fn named(origin: &str) -> Self {
        Weights {
            params: BTreeMap::new(),
            origin: origin.into(),
        }
    }

    /// Adds tensor `name` from its little-endian f16 bytes, widened to f32; refuses a value
    /// that is not finite.
    fn insert_f16(&mut self, name: String, shape: Vec<usize>, bytes: &[u8]) -> Result<()> {
        let data: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(self.error(format!(
                "{name}: parameter {i} is {}; every parameter must be finite",
                data[i]
            )));
        }
        self.params.insert(name, Param { shape, data });
        Ok(())
    }

    /// An [`Error::Weights`] about these weights, naming where they came from.
    pub fn error(&self, reason: String) -> Error {
        Error::Weights {
            file: self.origin.clone(),
            reason,
        }
    }

    /// The tensor called `name`, checked to have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&Param> {
        let p = self.get_any(name)?;
        if p.shape != shape {
            return Err(self.error(format!("{name}: shape {:?}, expected {shape:?}", p.shape)));
        }
        Ok(p)
    }

    /// The tensor called `name` whatever its shape (callers check what they derive from it).
    pub fn get_any(&self, name: &str) -> Result<&Param> {
        self.params
            .get(name)
            .ok_or_else(|| self.error(format!("missing tensor {name}")))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    pub fn parameter_count(&self) -> usize {
        self.params.values().map(|p| p.data.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// build.rs's layout of the built-in weights reads as the safetensors parser reads the file.
    #[test]
    fn embedded_index_matches_the_parser() {
        let indexed = Weights::embedded().unwrap();
        let parsed = Weights::parse(EMBEDDED, BUILT_IN).unwrap();
        assert_eq!(indexed.params, parsed.params);
        assert_eq!(indexed.parameter_count(), 106_401);
    }
}
