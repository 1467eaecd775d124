//! The fast engine against the plain reference: every node at the network's shapes (as written
//! and as rewritten), odd shapes per kernel, and whole frames.

use super::*;
use crate::cpu;
use crate::passes::testing::{inputs, network};

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

/// Every node of `net` on random inputs, at its exact shapes, against `cpu::eval_node`.
fn every_node_of(net: &Network) {
    for (i, node) in net.nodes.iter().enumerate() {
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
        let expected = cpu::eval_node(node, &values);
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
    let engine = Engine::new(&net);
    let mut out = vec![0.0; OUTPUT.len()];
    for (k, input) in inputs().iter().enumerate() {
        let want = cpu::run(&net, input).unwrap();
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
            assert!(worst <= 5e-5, "input {k}: max |fast - reference| = {worst}");
        }
    }
}
