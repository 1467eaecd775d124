// out[i] = act(x[i] * gate[c]) + add[i]: the per-channel broadcast multiply, the residual /
// skip add, and standalone activations are all this one pass over memory. Each frame of
// frame_len elements has its own gate (c values).

// Whether a gate multiplies: a pipeline constant (ops/elementwise.rs).
override HAS_GATE: bool = false;

struct Params {
    len: u32, c: u32, frame_len: u32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> add: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Part: epilogue (shaders/parts/).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.len) { return; }
    var v = x[i];
    if (HAS_GATE) { v *= gate[(i / p.frame_len) * p.c + i % p.c]; }
    store(i, v);
}
