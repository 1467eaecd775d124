//! The matmul kernel against the CPU reference: every mode, tile and shape.

use super::*;
use crate::network::Activation;
use crate::ops::testing::*;
use crate::reference;

#[test]
fn matches_cpu_on_odd_and_network_shapes() {
    let Some((gpu, kernels)) = gpu() else { return };
    // (m, k, n): odd sizes, non-multiples of the 32x32x16 tiles, and the network's own shapes.
    let shapes = [
        (1, 1, 1),
        (3, 5, 7),
        (33, 17, 31),
        (65, 16, 1),
        (100, 129, 40),
        (16384, 16, 16),
        (4096, 16, 72),
        (1024, 72, 24),
        (1024, 24, 88),
        (256, 96, 32),
        (256, 32, 128),
    ];
    for (seed, &(m, k, n)) in shapes.iter().enumerate() {
        let a = random(m * k, seed as u64);
        let b = random(k * n, seed as u64 + 100);
        let (ga, gb, gc) = (
            gpu.upload("a", &a),
            gpu.upload("b", &b),
            gpu.storage("c", m * n),
        );
        Matmul::new(&ga, &gb, &gc, m, k, n)
            .bind(gpu, kernels)
            .unwrap()
            .run(gpu)
            .unwrap();
        assert_close(
            &gpu.read(&gc, m * n).unwrap(),
            &reference::matmul(&a, &b, m, k, n),
            1e-5,
            &format!("matmul {m}x{k}x{n}"),
        );
    }
}

#[test]
fn fused_gate_skip_bias_activation_and_add() {
    let Some((gpu, kernels)) = gpu() else { return };
    // Three frames of 37 rows, each with its own gate (A only read: DIRECT, its rows and
    // columns clamped at the edges); K over one tile step and within one.
    for k in [19, 7, 20] {
        let (frames, m, n) = (3, 3 * 37, 23);
        let (a, b, bias, gate, add, plus) = (
            random(m * k, 1),
            random(k * n, 2),
            random(n, 3),
            random(frames * k, 4),
            random(m * n, 5),
            random(m * k, 6),
        );
        let frame_of = |i: usize| i / k / (m / frames);
        let gated: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(i, v)| v * gate[frame_of(i) * k + i % k] + plus[i])
            .collect();
        let expected: Vec<f32> = reference::matmul(&gated, &b, m, k, n)
            .iter()
            .enumerate()
            .map(|(i, v)| reference::hard_swish(v + bias[i % n]) + add[i])
            .collect();
        let bufs = upload_all(gpu, [&a, &b, &bias, &gate, &add, &plus]);
        let out = gpu.storage("out", m * n);
        let op = Matmul {
            bias: Some(&bufs[2]),
            gate: Some(&bufs[3]),
            plus: Some(MatmulPlus {
                buffer: &bufs[5],
                half: None,
            }),
            epilogue: Epilogue {
                act: Activation::HardSwish,
                add: Some(&bufs[4]),
            },
            frames,
            ..Matmul::new(&bufs[0], &bufs[1], &out, m, k, n)
        };
        run_and_check(
            gpu,
            op.bind(gpu, kernels),
            &out,
            &expected,
            1e-5,
            &format!("fused matmul, k = {k}"),
        );
    }
}

/// The fusions around the product against the CPU twins run one by one (mul_channels, matmul,
/// reference::resize_bilinear, add): a gate per frame, a skip already through B added upsampled
/// from half resolution, C's sums, on odd channel counts and two frames.
#[test]
fn gate_upsampled_product_skip_and_sums_match_cpu() {
    use crate::tensor::{Shape, Tensor};
    let Some((gpu, kernels)) = gpu() else { return };
    // (half-resolution frame, k, n): full frames 2h x 2w, 2w a multiple of 4; the first's row
    // tiles straddle frames.
    for (case, &(half, k, n)) in [
        ((3, 6), 5, 9),
        ((2, 16), 5, 7),
        ((3, 16), 3, 37),
        ((4, 32), 24, 16),
        ((16, 64), 16, 16),
    ]
    .iter()
    .enumerate()
    {
        let seed = 10 * case as u64;
        let frames = 2;
        let (h, w) = half;
        let full = Shape::new(2 * h, 2 * w, k);
        let rows = full.pixels();
        let m = frames * rows;
        let a: Vec<Tensor> = (0..frames as u64).map(|f| tensor(full, seed + f)).collect();
        let low: Vec<Tensor> = (0..frames as u64)
            .map(|f| tensor(Shape::new(h, w, n), seed + 5 + f))
            .collect();
        // Gates are sigmoid outputs: in (0, 1).
        let gates: Vec<Tensor> = (0..frames as u64)
            .map(|f| {
                let g = tensor(Shape::new(1, 1, k), seed + 7 + f);
                reference::map(&g, reference::sigmoid)
            })
            .collect();
        let (b, bias, add) = (
            random(k * n, seed + 30),
            random(n, seed + 31),
            random(m * n, seed + 32),
        );
        let mut expected = Vec::new();
        for f in 0..frames {
            let x = reference::mul_channels(&a[f], &gates[f]);
            let c = reference::matmul(&x.data, &b, rows, k, n);
            let up = reference::resize_bilinear(&low[f], 2 * h, 2 * w);
            expected.extend(
                c.iter().zip(&up.data).enumerate().map(|(i, (v, u))| {
                    reference::relu(v + bias[i % n] + u) + add[f * rows * n + i]
                }),
            );
        }
        let [ga, glow, gg, gb, gbias, gadd] = upload_all(
            gpu,
            [&concat(&a), &concat(&low), &concat(&gates), &b, &bias, &add],
        );
        let out_sums = Matmul::sums(rows, n);
        let out = gpu.storage("out", m * n + frames * out_sums.len());
        let op = Matmul {
            bias: Some(&gbias),
            gate: Some(&gg),
            plus: Some(MatmulPlus {
                buffer: &glow,
                half: Some(half),
            }),
            epilogue: Epilogue {
                act: Activation::Relu,
                add: Some(&gadd),
            },
            frames,
            pool: true,
            ..Matmul::new(&ga, &gb, &out, m, k, n)
        };
        let what = format!("fused matmul {case}: {full} -> {n}");
        run_and_check_pooled(
            gpu,
            op.bind(gpu, kernels),
            &out,
            (&expected, out_sums, frames),
            &what,
        );
    }
}

#[test]
fn an_upsampled_skip_needs_rows_of_whole_tiles() {
    let Some((gpu, kernels)) = gpu() else { return };
    let buf = gpu.storage("any", 1 << 16);
    // Frames 10 pixels wide: a thread's 4 rows would straddle image rows.
    let op = Matmul {
        plus: Some(MatmulPlus {
            buffer: &buf,
            half: Some((4, 5)),
        }),
        ..Matmul::new(&buf, &buf, &buf, 80, 4, 4)
    };
    let err = op.bind(gpu, kernels).unwrap_err();
    assert!(err.to_string().contains("a multiple of 4"), "{err}");
}

/// A computed as the depthwise of `a` (odd sizes, strides 1 and 2, its add as plus, two
/// frames) against reference::depthwise_conv2d then reference::matmul.
#[test]
fn depthwise_computed_a_matches_cpu() {
    use crate::tensor::Shape;
    let Some((gpu, kernels)) = gpu() else { return };
    for (case, &(input, kernel, stride, n)) in [
        (Shape::new(7, 5, 6), 3, 2, 5),
        (Shape::new(9, 8, 19), 3, 1, 33),
        (Shape::new(6, 6, 4), 5, 1, 2),
        (Shape::new(32, 32, 24), 3, 1, 16),
    ]
    .iter()
    .enumerate()
    {
        let (frames, seed, k) = (2, 40 * case as u64, input.channels);
        let xs = tensors(input, frames, seed);
        let (dw_w, dw_b) = (random(kernel * kernel * k, seed + 1), random(k, seed + 2));
        let dws: Vec<_> = xs
            .iter()
            .map(|x| {
                reference::map(
                    &reference::depthwise_conv2d(x, &dw_w, &dw_b, kernel, stride),
                    reference::relu,
                )
            })
            .collect();
        let mid = dws[0].shape;
        let m = frames * mid.pixels();
        let (b, bias, plus) = (
            random(k * n, seed + 3),
            random(n, seed + 4),
            random(m * k, seed + 5),
        );
        let a: Vec<f32> = concat(&dws).iter().zip(&plus).map(|(d, p)| d + p).collect();
        let expected: Vec<f32> = reference::matmul(&a, &b, m, k, n)
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[i % n])
            .collect();
        let mut packed = b.clone();
        packed.extend(&dw_w);
        packed.extend(&dw_b);
        let [gx, gb, gbias, gplus] = upload_all(gpu, [&concat(&xs), &packed, &bias, &plus]);
        let out = gpu.storage("out", m * n);
        let op = Matmul {
            bias: Some(&gbias),
            plus: Some(MatmulPlus {
                buffer: &gplus,
                half: None,
            }),
            computed: Some(ComputedA {
                op: ComputedOp::Depthwise {
                    input,
                    kernel,
                    stride,
                },
                act: Activation::Relu,
                weight_offset: k * n,
                bias_offset: k * n + dw_w.len(),
            }),
            frames,
            ..Matmul::new(&gx, &gb, &out, m, k, n)
        };
        let what = format!("depthwise {input} k{kernel} s{stride} -> matmul n{n}");
        run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
    }
}

/// A computed as a first 1x1 (odd widths, a gate per frame) against two reference::matmul calls.
#[test]
fn pointwise_computed_a_matches_cpu() {
    let Some((gpu, kernels)) = gpu() else { return };
    for &(frames, rows, c, k, n) in &[(1, 37, 5, 7, 3), (2, 64, 32, 128, 24)] {
        let m = frames * rows;
        let (x, w1, b1) = (random(m * c, 1), random(c * k, 2), random(k, 3));
        let (b, gate) = (random(k * n, 4), random(frames * k, 5));
        let first: Vec<f32> = reference::matmul(&x, &w1, m, c, k)
            .iter()
            .enumerate()
            .map(|(i, v)| reference::relu(v + b1[i % k]) * gate[(i / k / rows) * k + i % k])
            .collect();
        let expected = reference::matmul(&first, &b, m, k, n);
        let mut packed = b.clone();
        packed.extend(&w1);
        packed.extend(&b1);
        let [gx, gb, gg] = upload_all(gpu, [&x, &packed, &gate]);
        let out = gpu.storage("out", m * n);
        let op = Matmul {
            gate: Some(&gg),
            computed: Some(ComputedA {
                op: ComputedOp::Pointwise { channels: c },
                act: Activation::Relu,
                weight_offset: k * n,
                bias_offset: k * n + c * k,
            }),
            frames,
            ..Matmul::new(&gx, &gb, &out, m, k, n)
        };
        let what = format!("1x1 {c} -> {k} -> matmul {n}, {frames} frames");
        run_and_check(gpu, op.bind(gpu, kernels), &out, &expected, 1e-5, &what);
    }
}

#[test]
fn pooling_needs_whole_thread_rows_per_frame() {
    let Some((gpu, kernels)) = gpu() else { return };
    let buf = gpu.storage("any", 4096);
    let op = Matmul {
        pool: true,
        frames: 2,
        ..Matmul::new(&buf, &buf, &buf, 2 * 18, 4, 4)
    };
    let err = op.bind(gpu, kernels).unwrap_err();
    assert!(err.to_string().contains("multiple of 4 rows"), "{err}");
}

#[test]
fn tiles_fit_the_network_s_widths() {
    // (n, columns per thread): at most an eighth of the tile idle, widest first.
    for (n, cols) in [
        (1, 1),
        (8, 1),
        (16, 2),
        (24, 3),
        (32, 4),
        (72, 3),
        (88, 4),
        (128, 4),
    ] {
        assert_eq!(columns_per_thread(n), cols, "n = {n}");
    }
}

#[test]
fn direct_tiles_fit_the_network_s_shapes() {
    // (m, n, threads across, columns a thread): 8 columns where n allows and a workgroup's 512 /
    // tx rows fit in m; 16x16x24 (256 rows) keeps 8 threads of 3 columns.
    for (m, n, tx, cols) in [
        (16384, 16, 2, 8),
        (4096, 72, 1, 8),
        (1024, 24, 1, 8),
        (1024, 88, 1, 8),
        (256, 32, 4, 8),
        (256, 128, 8, 8),
        (256, 24, 8, 3),
        (100, 7, 4, 2),
    ] {
        assert_eq!(direct_columns(m, n), (tx, cols), "{m} x {n}");
    }
}

#[test]
fn undersized_buffer_is_a_typed_error() {
    let Some((gpu, kernels)) = gpu() else { return };
    let small = gpu.storage("small", 3);
    let err = Matmul::new(&small, &small, &small, 2, 2, 2)
        .bind(gpu, kernels)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            crate::Error::BufferTooSmall {
                bytes: 12,
                needs: 16,
                ..
            }
        ),
        "{err}"
    );
}
