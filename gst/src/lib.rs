//! A GStreamer plugin with one element, `silhouette`: a video filter that segments the person
//! in each frame (MediaPipe's Selfie Segmentation, on the silhouette engine) and blurs or
//! replaces the background, cuts the person out, or writes the mask. In place on RGBA, RGBx,
//! BGRx and BGRA frames.
//!
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! silhouette mode=blur ! videoconvert ! v4l2sink device=/dev/video10
//! ```

use gst::glib;

pub mod silhouette;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    silhouette::register(plugin)
}

gst::plugin_define!(
    silhouette,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    // GStreamer's name for the crate's license (Apache-2.0).
    "Apache 2.0",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    // No public home yet: the origin is the crate.
    env!("CARGO_PKG_NAME"),
    env!("BUILD_REL_DATE")
);
