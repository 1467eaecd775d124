//! `silhouette info`: what the engine would run on this machine, for people (aligned lines) and
//! scripts (`--json`, one object).

use crate::args::Engine;
use crate::error::CliError;
use silhouette::image::{Rgb, RgbImage};
use silhouette::{Backend, Response, Segmenter};
use std::fmt::Write;
use std::time::Instant;

/// A fact's value.
enum Value {
    Text(String),
    Count(u64),
    Millis(f64),
    /// Not known on this engine (no GPU plan on the CPU).
    Absent,
    /// The graph passes, one object each.
    Passes(Vec<Vec<(&'static str, Value)>>),
}

pub(crate) fn run(engine: &Engine, json: bool) -> Result<(), CliError> {
    // Start to first mask, twice in this process: the first start compiles (or loads the
    // driver's and our pipeline caches), the second finds everything warm.
    let (segmenter, first) = first_mask(engine)?;
    crate::announce(engine, &segmenter);
    drop(segmenter);
    let (segmenter, again) = first_mask(engine)?;
    let mut facts = facts(&segmenter);
    // Before the graph passes, the last (and, in the text, longest) fact.
    let at = facts.len() - 1;
    facts.insert(at, ("first_mask_again_ms", Value::Millis(again)));
    facts.insert(at, ("first_mask_ms", Value::Millis(first)));
    let out = if json {
        to_json(&facts)
    } else {
        to_text(&facts)
    };
    crate::console::print(&out)
}

/// A segmenter made as the verbs make it, and the milliseconds from there to the first mask of a
/// 256x256 frame.
fn first_mask(engine: &Engine) -> Result<(Segmenter, f64), CliError> {
    let start = Instant::now();
    let segmenter = crate::quiet_segmenter(engine, 1, Response::default())?;
    segmenter.probabilities(&RgbImage::from_pixel(256, 256, Rgb([128, 128, 128])))?;
    Ok((segmenter, start.elapsed().as_secs_f64() * 1e3))
}

fn facts(segmenter: &Segmenter) -> Vec<(&'static str, Value)> {
    let network = segmenter.network();
    let stats = segmenter.plan_stats();
    let gpu =
        |f: &dyn Fn(&silhouette::plan::PlanStats) -> Value| stats.as_ref().map_or(Value::Absent, f);
    let backend = match segmenter.backend() {
        Backend::Gpu => "gpu",
        _ => "cpu",
    };
    vec![
        ("device", Value::Text(segmenter.device_description())),
        ("backend", Value::Text(backend.into())),
        (
            "precision",
            gpu(&|s| Value::Text(format!("{:?}", s.precision).to_lowercase())),
        ),
        (
            "dispatches_per_frame",
            gpu(&|s| Value::Count(s.dispatches_per_frame as u64)),
        ),
        (
            "dispatches_per_frame_as_written",
            gpu(&|_| Value::Count(network.nodes.len() as u64 + 1)),
        ),
        // What this engine executes: each engine runs the graph its passes rewrote.
        ("macs_per_frame", Value::Count(segmenter.macs_per_frame())),
        ("macs_per_frame_as_written", Value::Count(network.macs())),
        (
            "bytes_moved_per_frame",
            gpu(&|s| Value::Count(s.bytes_per_frame)),
        ),
        (
            "bytes_moved_per_frame_as_written",
            gpu(&|s| Value::Count(s.bytes_per_frame_as_written)),
        ),
        ("arena_bytes", gpu(&|s| Value::Count(s.arena_bytes))),
        ("weight_bytes", gpu(&|s| Value::Count(s.weight_bytes))),
        (
            "pipeline_creation_ms",
            gpu(&|s| Value::Millis(s.compile_time.as_secs_f64() * 1e3)),
        ),
        (
            "pipeline_variants",
            gpu(&|s| Value::Count(s.pipeline_variants as u64)),
        ),
        (
            "plan_build_ms",
            gpu(&|s| Value::Millis(s.build_time.as_secs_f64() * 1e3)),
        ),
        (
            "graph_passes",
            Value::Passes(
                segmenter
                    .graph_passes()
                    .iter()
                    .map(|p| {
                        vec![
                            ("pass", Value::Text(p.pass.into())),
                            ("rewrites", Value::Count(p.rewrites as u64)),
                            ("nodes_before", Value::Count(p.nodes.0 as u64)),
                            ("nodes_after", Value::Count(p.nodes.1 as u64)),
                            ("macs_before", Value::Count(p.macs.0)),
                            ("macs_after", Value::Count(p.macs.1)),
                        ]
                    })
                    .collect(),
            ),
        ),
    ]
}

fn to_text(facts: &[(&'static str, Value)]) -> String {
    let mut out = String::new();
    for (key, value) in facts {
        let shown = match value {
            Value::Text(s) => s.clone(),
            Value::Count(n) => n.to_string(),
            Value::Millis(ms) => format!("{ms:.1} ms"),
            Value::Absent => "-".into(),
            Value::Passes(passes) => {
                let mut lines = String::new();
                for pass in passes {
                    let field = |name| pass.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
                    let (Some(Value::Text(name)), Some(Value::Count(n))) =
                        (field("pass"), field("rewrites"))
                    else {
                        continue;
                    };
                    let count = |name| match field(name) {
                        Some(Value::Count(c)) => *c,
                        _ => 0,
                    };
                    let _ = write!(
                        lines,
                        "\n  {name}: {n} rewrites, nodes {} -> {}, MACs {} -> {}",
                        count("nodes_before"),
                        count("nodes_after"),
                        count("macs_before"),
                        count("macs_after")
                    );
                }
                lines
            }
        };
        let label = key
            .trim_end_matches("_ms")
            .replace('_', " ")
            .replace("macs", "MACs");
        let line = format!("{:<34}{shown}", format!("{label}:"));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.trim_end().to_string()
}

fn to_json(facts: &[(&'static str, Value)]) -> String {
    let fields: Vec<String> = facts
        .iter()
        .map(|(key, value)| format!("{}: {}", json_string(key), json_value(value)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn json_value(value: &Value) -> String {
    match value {
        Value::Text(s) => json_string(s),
        Value::Count(n) => n.to_string(),
        Value::Millis(ms) => format!("{ms:.3}"),
        Value::Absent => "null".into(),
        Value::Passes(passes) => {
            let objects: Vec<String> = passes.iter().map(|p| to_json(p)).collect();
            format!("[{}]", objects.join(", "))
        }
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
