//! The fast CPU engine against the plain reference on one frame, same process:
//! `cargo run --release --example cpu_speed [-- --nodes]`; `-- --profile` runs only the fast
//! engine, 1000 frames, for `perf record`; `-- --spread` times 300 frames and prints their
//! percentiles.

use silhouette::network::Network;
use std::time::{Duration, Instant};

fn median(f: impl FnMut(), runs: usize) -> Duration {
    let mut f = f;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() -> silhouette::Result<()> {
    let network = Network::new(&silhouette::Weights::embedded()?)?;
    let photo = silhouette::image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/frames/grace_hopper.png"
    ))
    .expect("frame")
    .to_rgb8();
    let input = silhouette::reference::network_input(&photo)?;
    let engine = silhouette::cpu::Engine::new(&network);
    let mut out = vec![0.0; 256 * 256];
    engine.run(&input, &mut out)?;
    if std::env::args().any(|a| a == "--profile") {
        for _ in 0..1000 {
            engine.run(&input, &mut out)?;
        }
        return Ok(());
    }
    if std::env::args().any(|a| a == "--spread") {
        // 300 frames back to back: this VM's runs are bimodal, a median of 30 hides it.
        let mut t: Vec<f64> = (0..300)
            .map(|_| {
                let s = Instant::now();
                engine.run(&input, &mut out).unwrap();
                s.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!(
            "min {:.2} p10 {:.2} p50 {:.2} p90 {:.2} max {:.2} ms",
            t[0], t[30], t[150], t[270], t[299]
        );
        return Ok(());
    }
    let fast = median(|| engine.run(&input, &mut out).unwrap(), 30);
    let reference = median(
        || drop(silhouette::reference::run(&network, &input).unwrap()),
        5,
    );
    println!(
        "fast {:.2} ms, reference {:.2} ms ({:.1}x)",
        fast.as_secs_f64() * 1e3,
        reference.as_secs_f64() * 1e3,
        reference.as_secs_f64() / fast.as_secs_f64()
    );
    if std::env::args().any(|a| a == "--nodes") {
        for (i, (label, t)) in engine.time_nodes(&input, 20)?.iter().enumerate() {
            println!("{i:2} {label:32} {:8.1} us", t.as_secs_f64() * 1e6);
        }
    }
    Ok(())
}
