// Depthwise KxK convolution, NHWC, weight [k, k, c], TFLite SAME padding, any stride.
//
// Plain (`plain`): one thread computes PIXELS neighbouring outputs of one row for one channel,
// channel fastest (a warp reads consecutive channels of the same pixels: coalesced). Each
// window row is loaded once into registers for all PIXELS outputs and each tap's weight once,
// so a 3x3 stride-1 output costs 4.5 input loads instead of 9. KERNEL, STRIDE and PIXELS are
// pipeline constants (ops/depthwise.rs): every loop unrolls and the row indexes registers.
// Pooled: `block`, one element per call (shaders/parts/window_main.wgsl).

// Parts: window_params, layer_io, epilogue, window_main (shaders/parts/).

alias weight_t = param_t;

override STRIDE: u32 = 1u;
override PIXELS: u32 = 4u;
// window_main's pooled blocks: one channel.
const BLOCK_MAX: u32 = 1u;
const BLOCK: u32 = 1u;
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

// Item i of p.plain_items per frame: (frame, row, block of PIXELS columns, channel).
fn plain(i: u32) {
    let blocks = (p.out_w + PIXELS - 1u) / PIXELS;
    let ch = i % p.cin;
    let block = (i / p.cin) % blocks;
    let oy = (i / (p.cin * blocks)) % p.out_h;
    let frame = i / (p.cin * blocks * p.out_h);
    let ox0 = block * PIXELS;
    let base = p.in_h * p.in_w * p.cin * frame;
    let span = (PIXELS - 1u) * STRIDE + KERNEL;
    let b = f32(bias[ch]);
    var sums: array<f32, 4>;
    for (var o = 0u; o < PIXELS; o++) { sums[o] = b; }
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, STRIDE, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        var row: array<f32, MAX_SPAN>;
        for (var j = 0u; j < span; j++) {
            let ix = window_tap(ox0, j, STRIDE, p.pad_left, p.in_w);
            row[j] = 0.0;
            if (ix >= 0) { row[j] = x[base + (u32(iy) * p.in_w + u32(ix)) * p.cin + ch]; }
        }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let wt = f32(w[(ky * KERNEL + kx) * p.cin + ch]);
            for (var o = 0u; o < PIXELS; o++) { sums[o] += row[o * STRIDE + kx] * wt; }
        }
    }
    let out_base = ((frame * p.out_h + oy) * p.out_w) * p.cin + ch;
    for (var o = 0u; o < PIXELS; o++) {
        if (ox0 + o < p.out_w) { store(out_base + (ox0 + o) * p.cin, sums[o]); }
    }
}
