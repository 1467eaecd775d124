//! The `silhouette` element's type (its workings: imp.rs).

use gst::glib;
use gst::prelude::*;

mod imp;

pub use imp::{Backend, Mode};

glib::wrapper! {
    pub struct Silhouette(ObjectSubclass<imp::Silhouette>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "silhouette",
        gst::Rank::NONE,
        Silhouette::static_type(),
    )
}
