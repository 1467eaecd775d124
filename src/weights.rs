//! The network's parameters: loaded from safetensors (fp16 as MediaPipe ships them), widened to f32.

use crate::error::{Error, Result};
use half::f16;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// The converted MediaPipe weights, compiled into the crate so nothing is fetched at run time.
pub const EMBEDDED: &[u8] = include_bytes!("../weights/selfie_segmentation.safetensors");

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
}

impl Weights {
    pub fn embedded() -> Result<Self> {
        Self::from_bytes(EMBEDDED)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            Error::Weights(why) => Error::Weights(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Weights(format!("not a valid safetensors file ({e})")))?;
        let mut params = BTreeMap::new();
        for (name, view) in file.tensors() {
            if view.dtype() != Dtype::F16 {
                return Err(Error::Weights(format!(
                    "{name}: dtype {:?}, expected F16",
                    view.dtype()
                )));
            }
            let data = view
                .data()
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect();
            let shape = view.shape().to_vec();
            params.insert(name, Param { shape, data });
        }
        Ok(Weights { params })
    }

    /// The tensor called `name`, checked to have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&Param> {
        let p = self.get_any(name)?;
        if p.shape != shape {
            return Err(Error::Weights(format!(
                "{name}: shape {:?}, expected {shape:?}",
                p.shape
            )));
        }
        Ok(p)
    }

    /// The tensor called `name` whatever its shape (callers check what they derive from it).
    pub fn get_any(&self, name: &str) -> Result<&Param> {
        self.params
            .get(name)
            .ok_or_else(|| Error::Weights(format!("missing tensor {name}")))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    pub fn parameter_count(&self) -> usize {
        self.params.values().map(|p| p.data.len()).sum()
    }
}
