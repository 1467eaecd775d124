// Depthwise KxK convolution, NHWC, weight [k, k, c], TFLite SAME padding, any stride.
//
// Plain: one thread computes PIXELS (4) neighbouring outputs of one row for LANES channels: 4
// as a vec4 where the channel count is a multiple of 4 (TF.js's blocking: 4 columns by vec4
// channels), else 1. Channels fastest (a warp reads consecutive channels of the same pixels:
// coalesced). Each tap's weights are loaded once for the 4 outputs, and at stride 1 each input
// once, held in four registers that slide along the row with the taps (at stride 2, where a tap
// reads it): a window row kept in a private array, indexed in the loop, cost SwiftShader (the
// browsers' software WebGPU) a third of these kernels' time, as it keeps such arrays in
// memory. KERNEL, STRIDE and LANES are pipeline constants (ops/depthwise.rs), and the sums are
// four vec4s.
// Pooling (POOL, for a squeeze-excite gate a later 1x1 computes in its prologue): a thread per
// group of whole rows (ops/sums.rs) and LANES channels computes all of the group's outputs in
// the same blocks and writes their sums itself: no workgroup memory and no barrier, which
// SwiftShader, the browsers' software WebGPU, pays for per workgroup (parts/window_plain.wgsl):
// pooling by workgroups, one element a call, took its 16x16 layers 14-18 ms each.

// Parts: window_params, layer_io, epilogue, window_plain (shaders/parts/).

alias weight_t = param_t;

override STRIDE: u32 = 1u;
const PIXELS: u32 = 4u;
// Channels per thread: 4 or 1.
override LANES: u32 = 4u;
override POOL: bool = false;

// Channels [i, i + LANES) of x, w or bias as a vec4 (lanes past LANES are 0).
fn x_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(x[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn w_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(w[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(w[i]), f32(w[i + 1u]), f32(w[i + 2u]), f32(w[i + 3u]));
}

fn bias_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(bias[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(bias[i]), f32(bias[i + 1u]), f32(bias[i + 2u]), f32(bias[i + 3u]));
}

// The raw sums (before the epilogue) of PIXELS outputs from column ox0 of row oy, LANES
// channels from ch.
struct Outputs { s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32> }

fn outputs(frame: u32, oy: u32, ox0: u32, ch: u32) -> Outputs {
    let base = p.in_h * p.in_w * p.cin * frame + ch;
    let b = bias_lanes(ch);
    var s0 = b;
    var s1 = b;
    var s2 = b;
    var s3 = b;
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, STRIDE, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        let row = base + u32(iy) * p.in_w * p.cin;
        // Stride 1: the 4 outputs' taps slide along the row together, so each input is loaded
        // once (K + 4 loads a row, not 4K: loads are most of SwiftShader's time).
        var v0: vec4<f32>;
        var v1: vec4<f32>;
        var v2: vec4<f32>;
        var v3: vec4<f32>;
        if (STRIDE == 1u) {
            v0 = x_at(row, ox0, 0u);
            v1 = x_at(row, ox0 + 1u, 0u);
            v2 = x_at(row, ox0 + 2u, 0u);
            v3 = x_at(row, ox0 + 3u, 0u);
        }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let wt = w_lanes((ky * KERNEL + kx) * p.cin + ch);
            if (STRIDE != 1u) {
                v0 = x_at(row, ox0, kx);
                v1 = x_at(row, ox0 + 1u, kx);
                v2 = x_at(row, ox0 + 2u, kx);
                v3 = x_at(row, ox0 + 3u, kx);
            }
            s0 += v0 * wt;
            s1 += v1 * wt;
            s2 += v2 * wt;
            s3 += v3 * wt;
            if (STRIDE == 1u) {
                v0 = v1;
                v1 = v2;
                v2 = v3;
                v3 = x_at(row, ox0 + 4u, kx);
            }
        }
    }
    return Outputs(s0, s1, s2, s3);
}

// The input of output column ox's tap kx in the row from `row`: 0 in the padding (the load is
// clamped into the row and its value dropped, no branch).
fn x_at(row: u32, ox: u32, kx: u32) -> vec4<f32> {
    let ix = window_tap(ox, kx, STRIDE, p.pad_left, p.in_w);
    return select(vec4<f32>(), x_lanes(row + u32(max(ix, 0)) * p.cin), ix >= 0);
}

// Stores LANES channels from out[i] through the epilogue; returns what was stored.
fn store_lanes(i: u32, v: vec4<f32>) -> vec4<f32> {
    var stored = vec4<f32>();
    for (var c = 0u; c < LANES; c++) { stored[c] = store(i + c, v[c]); }
    return stored;
}

// Computes and stores the PIXELS outputs from column ox0 of row oy (those inside the row);
// returns the sum of what was stored.
fn store_outputs(frame: u32, oy: u32, ox0: u32, ch: u32) -> vec4<f32> {
    let s = outputs(frame, oy, ox0, ch);
    let at = ((frame * p.out_h + oy) * p.out_w + ox0) * p.cin + ch;
    var total = store_lanes(at, s.s0);
    if (ox0 + 1u < p.out_w) { total += store_lanes(at + p.cin, s.s1); }
    if (ox0 + 2u < p.out_w) { total += store_lanes(at + 2u * p.cin, s.s2); }
    if (ox0 + 3u < p.out_w) { total += store_lanes(at + 3u * p.cin, s.s3); }
    return total;
}

// Item i of p.items per frame. Plain: (frame, row, block of PIXELS columns, block of LANES
// channels). Pooling: (frame, group of rows, block of LANES channels), every block of the
// group's rows, then the group's sums of those channels after the frames' outputs.
fn item(i: u32) {
    let lane_groups = p.cin / LANES;
    let ch = (i % lane_groups) * LANES;
    if (!POOL) {
        let blocks = (p.out_w + PIXELS - 1u) / PIXELS;
        let block = (i / lane_groups) % blocks;
        let oy = (i / (lane_groups * blocks)) % p.out_h;
        let frame = i / (lane_groups * blocks * p.out_h);
        store_outputs(frame, oy, block * PIXELS, ch);
        return;
    }
    let group = (i / lane_groups) % p.pool_groups;
    let frame = i / (lane_groups * p.pool_groups);
    let first = group * p.pool_pixels;
    let end = min(first + p.pool_pixels, p.out_h * p.out_w);
    var total = vec4<f32>();
    for (var px = first; px < end; px += p.out_w) {
        for (var ox0 = 0u; ox0 < p.out_w; ox0 += PIXELS) {
            total += store_outputs(frame, px / p.out_w, ox0, ch);
        }
    }
    let at = p.frames * p.out_h * p.out_w * p.cin + (frame * p.pool_groups + group) * p.cin + ch;
    for (var c = 0u; c < LANES; c++) { out[at + c] = total[c]; }
}
