//! The library's shared fixtures, and running the built binary.
#![allow(dead_code, unused_imports)]

#[path = "../../../tests/common/mod.rs"]
mod fixtures;
pub mod run;
pub mod video;

pub use fixtures::*;
