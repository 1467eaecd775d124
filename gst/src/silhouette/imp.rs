//! The `silhouette` element: each frame's mask from the segmenter, smoothed over time (reset
//! on a flush or new caps), then finished in place as the CLI finishes a video's frames.

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use silhouette::image::{RgbImage, RgbaImage};
use silhouette::{Background, Options, Response, Segmenter, Smoother, Smoothing, Weights, cpu};
use std::sync::{LazyLock, Mutex, MutexGuard};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "silhouette",
        gst::DebugColorFlags::empty(),
        Some("Person segmentation"),
    )
});

#[derive(Debug, Default, Eq, PartialEq, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstSilhouetteMode")]
pub enum Mode {
    #[default]
    #[enum_value(name = "Blur the background", nick = "blur")]
    Blur,
    #[enum_value(
        name = "Replace the background by background-location, else background-color",
        nick = "replace"
    )]
    Replace,
    #[enum_value(
        name = "Cut the person out: transparent in RGBA and BGRA, over white in RGBx and BGRx",
        nick = "cut"
    )]
    Cut,
    #[enum_value(name = "The mask, as gray", nick = "mask")]
    Mask,
}

#[derive(Debug, Default, Eq, PartialEq, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstSilhouetteBackend")]
pub enum Backend {
    #[default]
    #[enum_value(
        name = "A hardware GPU if there is one (the first frames on the CPU while it is made), else the CPU",
        nick = "auto"
    )]
    Auto,
    #[enum_value(name = "The CPU engine", nick = "cpu")]
    Cpu,
    #[enum_value(name = "The GPU, whatever the adapter", nick = "gpu")]
    Gpu,
}

#[derive(Debug, Default, Eq, PartialEq, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstSilhouetteCpuThreads")]
pub enum CpuThreads {
    #[default]
    #[enum_value(name = "Each frame split across every core", nick = "all")]
    All,
    #[enum_value(
        name = "Each frame on the streaming thread alone (cores busy with an encoder, or not ours to take)",
        nick = "one"
    )]
    One,
}

#[derive(Clone, Debug)]
struct Settings {
    mode: Mode,
    /// The blur's sigma in pixels; 0: 1% of the frame's long side (the CLI's default).
    blur_radius: f32,
    background_color: u32,
    background_location: Option<String>,
    backend: Backend,
    cpu_threads: CpuThreads,
    smoothing: bool,
    refine: bool,
    threshold: f32,
    softness: f32,
}

impl Default for Settings {
    fn default() -> Self {
        let response = Response::default();
        Settings {
            mode: Mode::Blur,
            blur_radius: 0.0,
            background_color: 0x00b140,
            background_location: None,
            backend: Backend::Auto,
            cpu_threads: CpuThreads::All,
            smoothing: true,
            refine: true,
            threshold: response.threshold,
            softness: response.softness,
        }
    }
}

/// What a started element keeps from frame to frame.
struct State {
    segmenter: Segmenter,
    smoother: Smoother,
    /// background-location, decoded at start.
    picture: Option<RgbImage>,
    /// The frame as RGB (reused while the size stays).
    frame: RgbImage,
}

#[derive(Default)]
pub struct Silhouette {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[glib::object_subclass]
impl ObjectSubclass for Silhouette {
    const NAME: &'static str = "GstSilhouette";
    type Type = super::Silhouette;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for Silhouette {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let defaults = Settings::default();
            vec![
                glib::ParamSpecEnum::builder_with_default("mode", defaults.mode)
                    .blurb("What to make of each frame")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("blur-radius")
                    .blurb("The background blur's sigma in pixels (0: 1% of the frame's long side)")
                    .minimum(0.0)
                    .maximum(1000.0)
                    .default_value(defaults.blur_radius)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("background-color")
                    .blurb("replace: the colour behind the person, 0xRRGGBB")
                    .maximum(0xff_ffff)
                    .default_value(defaults.background_color)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("background-location")
                    .blurb("replace: a picture behind the person (PNG, JPEG, WebP), scaled to cover")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("backend", defaults.backend)
                    .blurb("Where the network runs")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("cpu-threads", defaults.cpu_threads)
                    .blurb("Threads a frame on the CPU engine runs on")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("smoothing")
                    .blurb("Smooth the mask over time where nothing moves")
                    .default_value(defaults.smoothing)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("refine")
                    .blurb("Refine the mask's edges along the frame's own (guided filter)")
                    .default_value(defaults.refine)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("threshold")
                    .blurb("The mask's probability that becomes half transparent")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(defaults.threshold)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("softness")
                    .blurb("The width of the partly transparent band, in probability (1: the mask as it is)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(defaults.softness)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        let value = value.clone();
        match pspec.name() {
            "mode" => settings.mode = value.get().expect("type checked"),
            "blur-radius" => settings.blur_radius = value.get().expect("type checked"),
            "background-color" => settings.background_color = value.get().expect("type checked"),
            "background-location" => {
                settings.background_location = value.get().expect("type checked")
            }
            "backend" => settings.backend = value.get().expect("type checked"),
            "cpu-threads" => settings.cpu_threads = value.get().expect("type checked"),
            "smoothing" => settings.smoothing = value.get().expect("type checked"),
            "refine" => settings.refine = value.get().expect("type checked"),
            "threshold" => settings.threshold = value.get().expect("type checked"),
            "softness" => settings.softness = value.get().expect("type checked"),
            other => unreachable!("no property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "mode" => settings.mode.to_value(),
            "blur-radius" => settings.blur_radius.to_value(),
            "background-color" => settings.background_color.to_value(),
            "background-location" => settings.background_location.to_value(),
            "backend" => settings.backend.to_value(),
            "cpu-threads" => settings.cpu_threads.to_value(),
            "smoothing" => settings.smoothing.to_value(),
            "refine" => settings.refine.to_value(),
            "threshold" => settings.threshold.to_value(),
            "softness" => settings.softness.to_value(),
            other => unreachable!("no property {other}"),
        }
    }
}

impl GstObjectImpl for Silhouette {}

impl ElementImpl for Silhouette {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Person segmentation",
                "Filter/Effect/Video",
                "Blurs or replaces the background behind people, cuts them out, or outputs the mask \
                 (MediaPipe Selfie Segmentation, on this device)",
                "silhouette developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::Rgba,
                    gst_video::VideoFormat::Rgbx,
                    gst_video::VideoFormat::Bgrx,
                    gst_video::VideoFormat::Bgra,
                ])
                .build();
            [gst::PadDirection::Src, gst::PadDirection::Sink]
                .into_iter()
                .map(|direction| {
                    let name = if direction == gst::PadDirection::Src {
                        "src"
                    } else {
                        "sink"
                    };
                    gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps)
                        .expect("valid template")
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for Silhouette {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let failed = |e: silhouette::Error| gst::error_msg!(gst::LibraryError::Init, ("{e}"));
        let options = Options {
            backend: match settings.backend {
                Backend::Auto => silhouette::Backend::Auto,
                Backend::Cpu => silhouette::Backend::Cpu,
                Backend::Gpu => silhouette::Backend::Gpu,
            },
            // A live source should not wait seconds for GPU pipelines; an explicit GPU does.
            first_frames_on_cpu: settings.backend == Backend::Auto,
            cpu_threads: match settings.cpu_threads {
                CpuThreads::All => cpu::Threads::All,
                CpuThreads::One => cpu::Threads::One,
            },
            ..Options::default()
        };
        let segmenter = Segmenter::with_options(&Weights::embedded().map_err(failed)?, options)
            .map_err(failed)?;
        if let Some(notice) = segmenter.notice() {
            gst::info!(CAT, imp = self, "{notice}");
        }
        let picture = match &settings.background_location {
            Some(path) => Some(
                silhouette::imageio::load_image(std::path::Path::new(path))
                    .map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("{e}")))?
                    .to_rgb8(),
            ),
            None => None,
        };
        *lock(&self.state) = Some(State {
            segmenter,
            smoother: Smoother::new(Smoothing::default()),
            picture,
            frame: RgbImage::new(0, 0),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            self.forget_history();
        }
        self.parent_sink_event(event)
    }
}

impl VideoFilterImpl for Silhouette {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        outcaps: &gst::Caps,
        out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        self.forget_history();
        self.parent_set_info(incaps, in_info, outcaps, out_info)
    }

    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let mut state = lock(&self.state);
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        let layout = Layout::of(frame.format()).ok_or(gst::FlowError::NotNegotiated)?;
        let (width, height) = (frame.width(), frame.height());
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        layout.read(data, stride, (width, height), &mut state.frame);
        let finished = state.finish(&settings, layout.alpha).map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ("{e}"));
            gst::FlowError::Error
        })?;
        layout.write(&finished, data, stride);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl Silhouette {
    fn forget_history(&self) {
        if let Some(state) = lock(&self.state).as_mut() {
            state.smoother.reset();
        }
    }
}

impl State {
    /// The finished frame as RGBA (the mask as gray in RGB), as the CLI finishes a video's.
    fn finish(&mut self, settings: &Settings, alpha_kept: bool) -> silhouette::Result<RgbaImage> {
        let frame = &self.frame;
        let raw = self.segmenter.probabilities(frame)?;
        let mask = match settings.smoothing {
            true => self.smoother.smooth(frame, &raw)?,
            false => &raw[..],
        };
        let response = match settings.mode {
            Mode::Mask => Response::NONE,
            _ => Response {
                threshold: settings.threshold,
                softness: settings.softness,
            },
        };
        let alpha = cpu::finish::alpha(frame, mask, settings.refine, response);
        let [_, r, g, b] = settings.background_color.to_be_bytes();
        let background = match settings.mode {
            Mode::Mask => {
                let gray = alpha.pixels().map(|p| [p[0], p[0], p[0], 255]);
                let bytes = gray.flatten().collect();
                return Ok(RgbaImage::from_raw(frame.width(), frame.height(), bytes)
                    .expect("a pixel per mask value"));
            }
            Mode::Blur => Background::Blur {
                radius: match settings.blur_radius {
                    0.0 => silhouette::finish::default_blur_radius(frame.width(), frame.height()),
                    radius => radius,
                },
            },
            Mode::Replace => match &self.picture {
                Some(picture) => Background::Image(picture.clone()),
                None => Background::Color([r, g, b]),
            },
            Mode::Cut if alpha_kept => Background::Transparent,
            Mode::Cut => Background::Color([255; 3]),
        };
        Ok(cpu::finish::compose(frame, &alpha, &background))
    }
}

/// Where a format keeps its channels.
#[derive(Clone, Copy)]
struct Layout {
    /// Offsets of R, G and B in a pixel's 4 bytes.
    rgb: [usize; 3],
    /// Whether the fourth byte is alpha (else padding).
    alpha: bool,
}

impl Layout {
    fn of(format: gst_video::VideoFormat) -> Option<Layout> {
        use gst_video::VideoFormat::*;
        let (rgb, alpha) = match format {
            Rgba => ([0, 1, 2], true),
            Rgbx => ([0, 1, 2], false),
            Bgra => ([2, 1, 0], true),
            Bgrx => ([2, 1, 0], false),
            _ => return None,
        };
        Some(Layout { rgb, alpha })
    }

    fn read(self, data: &[u8], stride: usize, (w, h): (u32, u32), into: &mut RgbImage) {
        let mut rgb = std::mem::take(into).into_raw();
        rgb.clear();
        for row in data.chunks(stride).take(h as usize) {
            for pixel in row[..w as usize * 4].chunks_exact(4) {
                rgb.extend(self.rgb.map(|c| pixel[c]));
            }
        }
        *into = RgbImage::from_raw(w, h, rgb).expect("3 bytes a pixel");
    }

    fn write(self, image: &RgbaImage, data: &mut [u8], stride: usize) {
        let w = image.width() as usize;
        for (row, out) in image.as_raw().chunks(w * 4).zip(data.chunks_mut(stride)) {
            for (pixel, out) in row.chunks_exact(4).zip(out[..w * 4].chunks_exact_mut(4)) {
                for (k, &c) in self.rgb.iter().enumerate() {
                    out[c] = pixel[k];
                }
                out[3] = if self.alpha { pixel[3] } else { 255 };
            }
        }
    }
}
