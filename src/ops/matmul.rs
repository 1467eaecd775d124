//! matmul: C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n],
//! row-major.
//! Kernel: shaders/matmul.wgsl. CPU twin: [`cpu::matmul`](crate::cpu::matmul) (the pointwise
//! convolutions are this with A = pixels x in-channels).

use super::binding::{Epilogue, check, check_params, optional, to_u32};
use super::kernels::{Kernels, MATMUL};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    act: u32,
    has_bias: u32,
    has_gate: u32,
    has_add: u32,
    has_plus: u32,
    frame_rows: u32,
    _pad: [u32; 3],
}

/// Output tile edge of one workgroup (see the kernel).
const TILE: usize = 32;

pub struct Matmul<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    pub out: &'a wgpu::Buffer,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub bias: Option<&'a wgpu::Buffer>,
    /// Scales A's columns (a squeeze-excite gate folded into the loads).
    pub gate: Option<&'a wgpu::Buffer>,
    /// Added to A after the gate (a skip folded into the loads), [m, k].
    pub plus: Option<&'a wgpu::Buffer>,
    /// Frames the m rows split into evenly; each has its own gate (k values).
    pub frames: usize,
    pub epilogue: Epilogue<'a>,
}

impl<'a> Matmul<'a> {
    /// Plain C = A . B.
    pub fn new(
        a: &'a wgpu::Buffer,
        b: &'a wgpu::Buffer,
        out: &'a wgpu::Buffer,
        m: usize,
        k: usize,
        n: usize,
    ) -> Self {
        Matmul {
            a,
            b,
            out,
            m,
            k,
            n,
            bias: None,
            gate: None,
            plus: None,
            frames: 1,
            epilogue: Epilogue::default(),
        }
    }

    pub fn bind(&self, gpu: &Gpu, kernels: &Kernels) -> Result<Dispatch> {
        let (m, k, n) = (self.m, self.k, self.n);
        check(self.a, m * k, "matmul A")?;
        check_params(kernels, self.b, k * n, "matmul B")?;
        check(self.out, m * n, "matmul out")?;
        let (bias, has_bias) = match self.bias {
            Some(b) => check_params(kernels, b, n, "matmul bias").map(|()| (b, 1))?,
            None => (&gpu.empty, 0),
        };
        if self.frames == 0 || !m.is_multiple_of(self.frames) {
            return Err(Error::InvalidInput(format!(
                "matmul: {m} rows do not split into {} frames",
                self.frames
            )));
        }
        let (gate, has_gate) = optional(gpu, self.gate, self.frames * k, "matmul gate")?;
        let (plus, has_plus) = optional(gpu, self.plus, m * k, "matmul plus")?;
        let (add, has_add) = optional(gpu, self.epilogue.add, m * n, "matmul add")?;
        let params = Params {
            m: to_u32(m, "m")?,
            n: to_u32(n, "n")?,
            k: to_u32(k, "k")?,
            act: self.epilogue.act as u32,
            has_bias,
            has_gate,
            has_add,
            has_plus,
            frame_rows: to_u32(m / self.frames, "rows per frame")?,
            _pad: [0; 3],
        };
        let workgroups = [
            to_u32(n.div_ceil(TILE), "n tiles")?,
            to_u32(m.div_ceil(TILE), "m tiles")?,
            1,
        ];
        Ok(kernels.get(&MATMUL).bind(
            gpu,
            &params,
            &[self.a, self.b, bias, gate, add, self.out, plus],
            workgroups,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu;
    use crate::network::Activation;
    use crate::ops::testing::*;

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
                &cpu::matmul(&a, &b, m, k, n),
                1e-5,
                &format!("matmul {m}x{k}x{n}"),
            );
        }
    }

    #[test]
    fn fused_gate_skip_bias_activation_and_add() {
        let Some((gpu, kernels)) = gpu() else { return };
        // Three frames of 37 rows, each with its own gate.
        let (frames, m, k, n) = (3, 3 * 37, 19, 23);
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
        let expected: Vec<f32> = cpu::matmul(&gated, &b, m, k, n)
            .iter()
            .enumerate()
            .map(|(i, v)| cpu::hard_swish(v + bias[i % n]) + add[i])
            .collect();
        let bufs = upload_all(gpu, [&a, &b, &bias, &gate, &add, &plus]);
        let out = gpu.storage("out", m * n);
        let op = Matmul {
            bias: Some(&bufs[2]),
            gate: Some(&bufs[3]),
            plus: Some(&bufs[5]),
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
            "fused matmul",
        );
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
}
