//! `silhouette._silhouette`: the engine for Python (PyO3, abi3). Pixels cross as bytes; the
//! Python layer (`silhouette/__init__.py`) turns PIL images and numpy arrays into them and back.
//! Every call that runs the engine lets go of the GIL.

use pyo3::create_exception;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use silhouette::image::RgbImage;
use silhouette::{Backend, Background, Options, Response, Weights, cpu, imageio};
use std::path::Path;

create_exception!(
    _silhouette,
    SilhouetteError,
    pyo3::exceptions::PyException,
    "A photo, a file or the engine failed; the message names which and why."
);

fn error(e: silhouette::Error) -> PyErr {
    SilhouetteError::new_err(e.to_string())
}

/// RGB bytes, width, height.
type Photo = (Vec<u8>, u32, u32);

fn rgb_image((bytes, width, height): Photo) -> PyResult<RgbImage> {
    if width == 0 || height == 0 || bytes.len() != width as usize * height as usize * 3 {
        return Err(error(silhouette::Error::PixelBytes {
            width: width as usize,
            height: height as usize,
            bytes: bytes.len(),
        }));
    }
    Ok(RgbImage::from_raw(width, height, bytes).expect("size checked"))
}

/// The engine, made once and reused (CPU or GPU).
#[pyclass(frozen, module = "silhouette._silhouette")]
struct Segmenter {
    engine: silhouette::Segmenter,
}

#[pymethods]
impl Segmenter {
    /// `backend`: "auto" (a hardware GPU if there is one, else the CPU), "cpu" or "gpu".
    /// `threads`: on the CPU, "all" (each frame split across every core) or "one" (the calling
    /// thread alone: for one process per core, as a pool of workers).
    #[new]
    #[pyo3(signature = (backend = "auto", threads = "all"))]
    fn new(py: Python<'_>, backend: &str, threads: &str) -> PyResult<Self> {
        let options = Options {
            backend: backend.parse::<Backend>().map_err(error)?,
            cpu_threads: threads.parse::<cpu::Threads>().map_err(error)?,
            ..Options::default()
        };
        let made =
            py.detach(|| silhouette::Segmenter::with_options(&Weights::embedded()?, options));
        Ok(Segmenter {
            engine: made.map_err(error)?,
        })
    }

    /// "gpu" or "cpu".
    #[getter]
    fn backend(&self) -> &'static str {
        match self.engine.backend() {
            Backend::Gpu => "gpu",
            _ => "cpu",
        }
    }

    #[getter]
    fn device(&self) -> String {
        self.engine.device_description()
    }

    /// Why "auto" chose the CPU, if it did.
    #[getter]
    fn notice(&self) -> Option<String> {
        self.engine.notice().map(String::from)
    }

    /// Each photo finished as the CLI finishes it: `kind` "cut", "blur", "replace" (over
    /// `color`, or `picture` scaled to cover) or "mask"; RGBA bytes, or for a mask one byte a
    /// pixel. The photos' network runs as one batch.
    #[pyo3(signature = (photos, kind, color = None, picture = None, radius = None, refine = true, threshold = 0.5, softness = 0.5))]
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        py: Python<'_>,
        photos: Vec<Photo>,
        kind: &str,
        color: Option<(u8, u8, u8)>,
        picture: Option<Photo>,
        radius: Option<f32>,
        refine: bool,
        threshold: f32,
        softness: f32,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let photos = photos
            .into_iter()
            .map(rgb_image)
            .collect::<PyResult<Vec<_>>>()?;
        let picture = picture.map(rgb_image).transpose()?;
        let response = match kind {
            // The mask is the network's answer, as the CLI's `mask`.
            "mask" => Response::NONE,
            _ => Response {
                threshold,
                softness,
            }
            .validate()
            .map_err(|e| error(silhouette::Error::InvalidInput(e)))?,
        };
        let background = |photo: &RgbImage| -> PyResult<Option<Background>> {
            Ok(Some(match (kind, color, &picture) {
                ("mask", ..) => return Ok(None),
                ("cut", ..) => Background::Transparent,
                ("blur", ..) => Background::Blur {
                    radius: radius.unwrap_or_else(|| {
                        silhouette::finish::default_blur_radius(photo.width(), photo.height())
                    }),
                },
                ("replace", _, Some(picture)) => Background::Image(picture.clone()),
                ("replace", Some((r, g, b)), None) => Background::Color([r, g, b]),
                ("replace", None, None) => {
                    return Err(SilhouetteError::new_err(
                        "replace needs a color or an image",
                    ));
                }
                (other, ..) => {
                    return Err(SilhouetteError::new_err(format!(
                        "{other:?}: the kinds are cut, blur, replace and mask"
                    )));
                }
            }))
        };
        let backgrounds = photos
            .iter()
            .map(background)
            .collect::<PyResult<Vec<_>>>()?;
        let finished = py.detach(|| -> silhouette::Result<Vec<Vec<u8>>> {
            let refs: Vec<&RgbImage> = photos.iter().collect();
            let masks = self.engine.probabilities_batch(&refs)?;
            Ok(photos
                .iter()
                .zip(&masks)
                .zip(&backgrounds)
                .map(|((photo, mask), background)| {
                    let alpha = cpu::finish::alpha(photo, mask, refine, response);
                    match background {
                        Some(background) => {
                            cpu::finish::compose(photo, &alpha, background).into_raw()
                        }
                        None => alpha.into_raw(),
                    }
                })
                .collect())
        });
        let finished = finished.map_err(error)?;
        Ok(finished
            .iter()
            .map(|bytes| PyBytes::new(py, bytes).unbind())
            .collect())
    }
}

/// A photo file decoded as the CLI decodes it (sniffed, size checked from the header, EXIF
/// orientation applied): (RGB bytes, width, height). Errors name the file.
#[pyfunction]
fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<(Py<PyBytes>, u32, u32)> {
    let photo = py
        .detach(|| imageio::load_image(&path))
        .map_err(error)?
        .to_rgb8();
    let (width, height) = photo.dimensions();
    Ok((PyBytes::new(py, photo.as_raw()).unbind(), width, height))
}

/// An encoded photo (PNG, JPEG, WebP bytes) decoded likewise; `name` is what errors call it.
#[pyfunction]
#[pyo3(signature = (data, name = "<bytes>"))]
fn decode(py: Python<'_>, data: Vec<u8>, name: &str) -> PyResult<(Py<PyBytes>, u32, u32)> {
    let photo = py
        .detach(|| imageio::decode_image(&data, Path::new(name)))
        .map_err(error)?
        .to_rgb8();
    let (width, height) = photo.dimensions();
    Ok((PyBytes::new(py, photo.as_raw()).unbind(), width, height))
}

#[pymodule]
fn _silhouette(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Segmenter>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add("SilhouetteError", m.py().get_type::<SilhouetteError>())?;
    Ok(())
}
