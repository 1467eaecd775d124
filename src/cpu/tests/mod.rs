//! The fast engine against the plain reference: every node at the network's shapes (as written
//! and as rewritten), odd shapes per kernel (`odd_shapes.rs`), and whole frames, on every core
//! and on one thread.

use super::*;
use crate::passes::testing::{inputs, network};
use crate::reference;

mod odd_shapes;

/// |fast - reference| <= tol * max(|reference|, 1) everywhere.
fn assert_close(fast: &[f32], reference: &[f32], tol: f32, what: &str) {
    assert_eq!(fast.len(), reference.len(), "{what}: lengths");
    for (i, (f, r)) in fast.iter().zip(reference).enumerate() {
        assert!(
            (f - r).abs() <= tol * r.abs().max(1.0),
            "{what}: element {i}: fast {f} vs reference {r}"
        );
    }
}

/// Every node of `net` on random inputs, at its exact shapes, against `reference::eval_node`.
fn every_node_of(net: &Network) {
    for i in 0..net.nodes.len() {
        check_node(net, i);
    }
}

/// Node `i` of `net` on random inputs against `reference::eval_node`.
fn check_node(net: &Network, i: usize) {
    let node = &net.nodes[i];
    {
        let mut values = vec![Tensor::zeros(crate::tensor::Shape::new(0, 0, 0)); i + 1];
        for v in node.reads() {
            let shape = net.shape(v);
            let mut s = (i * 131 + v.0) as u64 | 1;
            let data = (0..shape.len())
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    let u = (s >> 40) as f32 / (1u64 << 24) as f32;
                    // Gates are sigmoid outputs: keep them in (0, 1).
                    if shape.pixels() == 1 {
                        u
                    } else {
                        2.0 * u - 1.0
                    }
                })
                .collect();
            values[v.0] = Tensor::from_vec(shape, data);
        }
        let expected = reference::eval_node(node, &values);
        let mut out = vec![0.0; node.shape.len()];
        let mut scratch = vec![0.0; 1 << 20];
        let value = |v: Value| values[v.0].data.as_slice();
        eval(node, &pack(node), &value, net, &mut out, &mut scratch);
        assert_close(
            &out,
            &expected.data,
            1e-5,
            &format!("node {i} {}", node.label()),
        );
    }
}

#[test]
fn every_node_matches_the_reference_as_written_and_rewritten() {
    let original = network();
    every_node_of(&original);
    every_node_of(&passes::optimize(&original).0);
}

#[test]
fn whole_frames_match_the_reference() {
    let net = network();
    for threads in [Threads::All, Threads::One] {
        whole_frames_on(
            &net,
            Engine::with_threads(&net, threads),
            &format!("{threads:?}"),
        );
    }
}

fn whole_frames_on(net: &Network, engine: Engine, what: &str) {
    let mut out = vec![0.0; OUTPUT.len()];
    for (k, input) in inputs().iter().enumerate() {
        let want = reference::run(net, input).unwrap();
        // Twice: the second frame reuses the arena.
        for _ in 0..2 {
            engine.run(input, &mut out).unwrap();
            let worst = out
                .iter()
                .zip(&want.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // Each kernel is within 1e-5 of its twin (above); through 49 layers, and the passes'
            // reordered arithmetic, the frame stays well inside what MediaPipe's own runtimes
            // differ by (the goldens allow 5e-4).
            assert!(
                worst <= 5e-5,
                "{what}, input {k}: max |fast - reference| = {worst}"
            );
        }
    }
}

#[test]
fn frames_from_several_threads_at_once_match_one_at_a_time() {
    // More callers than pool threads, each frame splitting its layers across the pool: a pool
    // thread must never wait for the arena's lock (it would deadlock; a CLI folder did).
    let net = network();
    let engine = std::sync::Arc::new(Engine::new(&net));
    let inputs = std::sync::Arc::new(inputs());
    let alone: std::sync::Arc<Vec<Vec<f32>>> = inputs
        .iter()
        .map(|input| {
            let mut out = vec![0.0; OUTPUT.len()];
            engine.run(input, &mut out).unwrap();
            out
        })
        .collect::<Vec<_>>()
        .into();
    let callers = 2 * par::threads() + 1;
    let (done, finished) = std::sync::mpsc::channel();
    let frames = move |caller: usize| {
        let mut out = vec![0.0; OUTPUT.len()];
        for turn in 0..4 {
            let k = (caller + turn) % inputs.len();
            engine.run(&inputs[k], &mut out).unwrap();
            // Not bit-equal: the portable-path test, which may run meanwhile, switches every
            // frame of this process to non-FMA arithmetic (a frame sharing an arena would be
            // wrong far beyond this).
            let what = format!("caller {caller}, turn {turn}");
            assert_close(&out, &alone[k], 5e-5, &what);
        }
    };
    for caller in 0..callers {
        let (frames, done) = (frames.clone(), done.clone());
        std::thread::spawn(move || {
            frames(caller);
            done.send(()).unwrap();
        });
    }
    // And callers that are pool threads themselves (an embedder's own parallel loop).
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::spawn(move || {
        use rayon::prelude::*;
        (0..callers).into_par_iter().for_each(&frames);
        done.send(()).unwrap();
    });
    // Generous (a busy CI machine), and a deadlock fails the test instead of hanging the run.
    for _ in 0..callers + 1 {
        finished
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("a caller failed, or the callers deadlocked");
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn one_thread_frames_stay_on_the_calling_thread() {
    let caller = std::thread::current().id();
    let on_caller = |out: &mut [f32]| {
        par::chunks(out, 1, |_, c| {
            c[0] = f32::from(u8::from(std::thread::current().id() == caller))
        })
    };
    let mut out = vec![0.0; 64];
    par::on_this_thread(|| {
        assert_eq!(par::threads(), 1);
        on_caller(&mut out);
    });
    assert!(
        out.iter().all(|&v| v == 1.0),
        "a chunk ran on another thread"
    );
    // And the flag is this frame's alone: cleared after it, even when it panics.
    let panicked = std::panic::catch_unwind(|| par::on_this_thread(|| panic!("in the frame")));
    assert!(panicked.is_err());
    assert!(!par::on_one_thread());
    // And an engine made to run so says it.
    let engine = Engine::with_threads(&network(), Threads::One);
    assert!(
        engine.describe().ends_with(", 1 thread"),
        "{}",
        engine.describe()
    );
}
