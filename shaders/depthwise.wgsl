// Depthwise KxK convolution, NHWC, weight [k, k, c], TFLite SAME padding, any stride.
//
// Plain (`plain`): one thread computes PIXELS neighbouring outputs of one row for LANES
// channels: 4 as a vec4 where the channel count is a multiple of 4 (TF.js's blocking: 4 columns
// by vec4 channels), else 1. Channels fastest (a warp reads consecutive channels of the same
// pixels: coalesced). Each window row is loaded once for all PIXELS outputs and each tap's
// weights once, so a 3x3 stride-1 output costs 4.5 input loads instead of 9. KERNEL, STRIDE,
// PIXELS and LANES are pipeline constants (ops/depthwise.rs): the loops unroll, and the sums
// are four vec4s, not a private array indexed in the loop (which software rasterizers keep in
// memory, shaders/matmul.wgsl).
// Pooled: `block`, one element per call (shaders/parts/window_main.wgsl).

// Parts: window_params, layer_io, epilogue, window_main, then window_plain or window_pooled
// (shaders/parts/; two shaders, ops/kernels.rs).

alias weight_t = param_t;

override STRIDE: u32 = 1u;
override PIXELS: u32 = 4u;
// Channels per thread in `plain`: 4 or 1.
override LANES: u32 = 4u;
// window_main's pooled blocks: one channel.
const BLOCK_MAX: u32 = 1u;
const BLOCK: u32 = 1u;
// Threads of a pooling workgroup (parts/window_pooled.wgsl): one sum a lane, and up to WG
// channels.
const POOL_THREADS: u32 = WG;
// The widest window row PIXELS outputs read: (PIXELS - 1) * STRIDE + KERNEL (checked on the host).
const MAX_SPAN: u32 = 16u;

fn block(frame: u32, px: u32, ch: u32) -> array<f32, BLOCK_MAX> {
    let base = p.in_h * p.in_w * p.cin * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sum = f32(bias[ch]);
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, STRIDE, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let ix = window_tap(ox, kx, STRIDE, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            sum += x[base + (u32(iy) * p.in_w + u32(ix)) * p.cin + ch] * f32(w[(ky * KERNEL + kx) * p.cin + ch]);
        }
    }
    return array<f32, BLOCK_MAX>(sum);
}

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

// Item i of p.plain_items per frame: (frame, row, block of PIXELS columns, block of LANES
// channels).
fn plain(i: u32) {
    let groups = p.cin / LANES;
    let blocks = (p.out_w + PIXELS - 1u) / PIXELS;
    let ch = (i % groups) * LANES;
    let block = (i / groups) % blocks;
    let oy = (i / (groups * blocks)) % p.out_h;
    let frame = i / (groups * blocks * p.out_h);
    let ox0 = block * PIXELS;
    let base = p.in_h * p.in_w * p.cin * frame;
    let span = (PIXELS - 1u) * STRIDE + KERNEL;
    let b = bias_lanes(ch);
    var s0 = b;
    var s1 = b;
    var s2 = b;
    var s3 = b;
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, STRIDE, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        var row: array<vec4<f32>, MAX_SPAN>;
        for (var j = 0u; j < span; j++) {
            let ix = window_tap(ox0, j, STRIDE, p.pad_left, p.in_w);
            row[j] = vec4<f32>();
            if (ix >= 0) { row[j] = x_lanes(base + (u32(iy) * p.in_w + u32(ix)) * p.cin + ch); }
        }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let wt = w_lanes((ky * KERNEL + kx) * p.cin + ch);
            s0 += row[kx] * wt;
            if (PIXELS > 1u) { s1 += row[STRIDE + kx] * wt; }
            if (PIXELS > 2u) { s2 += row[2u * STRIDE + kx] * wt; }
            if (PIXELS > 3u) { s3 += row[3u * STRIDE + kx] * wt; }
        }
    }
    let sums = array<vec4<f32>, 4>(s0, s1, s2, s3);
    let out_base = ((frame * p.out_h + oy) * p.out_w) * p.cin + ch;
    for (var o = 0u; o < PIXELS; o++) {
        if (ox0 + o < p.out_w) {
            for (var c = 0u; c < LANES; c++) { store(out_base + (ox0 + o) * p.cin + c, sums[o][c]); }
        }
    }
}
