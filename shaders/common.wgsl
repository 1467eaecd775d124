// Prepended to every kernel (WGSL has no includes): activations, the shared epilogue, and the
// linear index of a 1-D problem laid over a 2-D grid (one grid axis holds at most 65535 workgroups).
// Before this file the engine puts the parameter precision (`alias param_t = f32;` or
// `enable f16; alias param_t = f16;`) and a prelude generated from the Rust definitions
// (src/ops/wgsl.rs): ACT_* activation codes, BACKGROUND_* modes, and WG. Weights and biases are param_t (MediaPipe ships them as f16,
// so f16 is exact); activations are f32 and so is all arithmetic.

fn activate(v: f32, act: u32) -> f32 {
    switch act {
        case ACT_RELU: { return max(v, 0.0); }
        case ACT_HARD_SWISH: { return v * clamp(v + 3.0, 0.0, 6.0) / 6.0; }
        case ACT_SIGMOID: { return 1.0 / (1.0 + exp(-v)); }
        default: { return v; }
    }
}

fn activate_lanes(v: vec4<f32>, act: u32) -> vec4<f32> {
    return vec4<f32>(activate(v.x, act), activate(v.y, act), activate(v.z, act), activate(v.w, act));
}

fn linear_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

// Half-pixel bilinear sampling along one axis (matches reference::bilinear_taps): for output index o,
// the two source indices and the weight of the second, as (i0, i1, weight).
fn taps(o: u32, size_in: u32, size_out: u32) -> vec3<f32> {
    let src = max((f32(o) + 0.5) * f32(size_in) / f32(size_out) - 0.5, 0.0);
    let i0 = min(u32(floor(src)), size_in - 1u);
    let i1 = min(i0 + 1u, size_in - 1u);
    return vec3<f32>(f32(i0), f32(i1), src - f32(i0));
}

// The first photo index of working cell i along an axis of `size` photo pixels and `work` cells
// (integer ceil of i * size / work): a cell holds the photo indices x with
// floor(x * work / size) == i, as cpu/finish.rs's area_downsample counts them.
fn cell_first(i: u32, size: u32, work: u32) -> u32 {
    return (i * size + work - 1u) / work;
}

// The photo pixels of working pixel i of a `work`-sized grid over an `img`-sized photo, as the
// half-open ranges (x0, x1, y0, y1).
fn work_cell(i: u32, img: vec2<u32>, work: vec2<u32>) -> vec4<u32> {
    let wx = i % work.x;
    let wy = i / work.x;
    return vec4<u32>(cell_first(wx, img.x, work.x), cell_first(wx + 1u, img.x, work.x),
                     cell_first(wy, img.y, work.y), cell_first(wy + 1u, img.y, work.y));
}

// floor(v * 255 + 0.5) clamped, as finish.rs's to_u8 (WGSL's round() is half-to-even).
fn to_u8(v: f32) -> u32 {
    return u32(clamp(floor(v * 255.0 + 0.5), 0.0, 255.0));
}

// Rec. 601 luma in [0, 1] of 0..255 RGB, as finish.rs's luma.
fn luma(rgb: vec3<f32>) -> f32 {
    return (0.299 * rgb.r + 0.587 * rgb.g + 0.114 * rgb.b) / 255.0;
}

// An RGBA8 pixel (R in the low byte) as 0..255 floats.
fn unpack_rgba(p: u32) -> vec4<f32> {
    return unpack4x8unorm(p) * 255.0;
}

// The input row or column a convolution tap reads, or -1 where it falls in the zero padding
// (reference::tap): output index o, tap k, TFLite SAME padding `pad` before.
fn window_tap(o: u32, k: u32, stride: u32, pad: u32, size: u32) -> i32 {
    let i = i32(o * stride + k) - i32(pad);
    return select(-1, i, i >= 0 && i < i32(size));
}

// Bilinear blend of four samples with taps() weights tx.z, ty.z: the top row, the bottom row,
// then between them, in that order (as the CPU twins compute it).
fn bilerp(v00: f32, v01: f32, v10: f32, v11: f32, tx: vec3<f32>, ty: vec3<f32>) -> f32 {
    let top = v00 * (1.0 - tx.z) + v01 * tx.z;
    let bottom = v10 * (1.0 - tx.z) + v11 * tx.z;
    return top * (1.0 - ty.z) + bottom * ty.z;
}
