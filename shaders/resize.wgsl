// Bilinear resize, NHWC, half-pixel centres (TFLite half_pixel_centers=True), edge-clamped; any
// sizes (the network's 2x upsampling is the common case), `frames` images one after another.
// Epilogue: act, then + add.

struct Params {
    in_h: u32, in_w: u32, out_h: u32, out_w: u32,
    c: u32, frames: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> add: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Part: epilogue (shaders/parts/).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    let per_frame = p.out_h * p.out_w * p.c;
    if (i >= p.frames * per_frame) { return; }
    let frame = p.in_h * p.in_w * (i / per_frame);
    let ch = i % p.c;
    let px = (i % per_frame) / p.c;
    let ty = taps(px / p.out_w, p.in_h, p.out_h);
    let tx = taps(px % p.out_w, p.in_w, p.out_w);
    let y0 = frame + u32(ty.x) * p.in_w;
    let y1 = frame + u32(ty.y) * p.in_w;
    let x0 = u32(tx.x);
    let x1 = u32(tx.y);
    let blended = bilerp(x[(y0 + x0) * p.c + ch], x[(y0 + x1) * p.c + ch], x[(y1 + x0) * p.c + ch], x[(y1 + x1) * p.c + ch], tx, ty);
    store(i, blended);
}
