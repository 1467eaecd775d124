// General KxK convolution over all input channels, NHWC, weight [out, k, k, in], TFLite SAME
// padding (pad_top/pad_left given; the bottom/right remainder falls outside the input). Used by
// the 3x3 stride-2 stem (3 input channels), where the whole window fits in registers and a GEMM
// formulation would not pay.
//
// One thread computes BLOCK output channels of one pixel (all 16 of the stem), so each input
// of the window is loaded once, not once per output channel; the weights are the same for every
// thread of a dispatch (broadcast loads). BLOCK (a divisor of cout, at most BLOCK_MAX), GROUPS
// (cout / BLOCK) and CIN are pipeline constants (ops/conv2d.rs): the loops unroll, no lane
// idles, and where one block covers cout (the stem) every weight index is a constant, which a
// compiler sees as uniform (one load for all lanes, not a gather per lane). Plain and pooled
// (shaders/parts/window_main.wgsl) both compute by `block`.

// Parts: window_params, layer_io, epilogue, window_main (shaders/parts/).

const BLOCK_MAX: u32 = 16u;
override BLOCK: u32 = 16u;
override GROUPS: u32 = 1u;
override CIN: u32 = 3u;

// Output channels [o0, o0 + BLOCK) of pixel px, before the epilogue.
fn block(frame: u32, px: u32, o0: u32) -> array<f32, BLOCK_MAX> {
    let base = p.in_h * p.in_w * CIN * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sums: array<f32, BLOCK_MAX>;
    for (var o = 0u; o < BLOCK; o++) { sums[o] = f32(bias[o0 + o]); }
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, p.stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let ix = window_tap(ox, kx, p.stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            let xbase = base + (u32(iy) * p.in_w + u32(ix)) * CIN;
            for (var c = 0u; c < CIN; c++) {
                let v = x[xbase + c];
                let tap = (ky * KERNEL + kx) * CIN + c;
                for (var o = 0u; o < BLOCK; o++) {
                    sums[o] += v * f32(w[(o0 + o) * KERNEL * KERNEL * CIN + tap]);
                }
            }
        }
    }
    return sums;
}

// Item i of p.plain_items per frame: (frame, pixel, block of BLOCK output channels).
fn plain(i: u32) {
    let o0 = (i % GROUPS) * BLOCK;
    let px = (i / GROUPS) % (p.out_h * p.out_w);
    let frame = i / (GROUPS * p.out_h * p.out_w);
    let sums = block(frame, px, o0);
    let out_base = (frame * p.out_h * p.out_w + px) * (GROUPS * BLOCK) + o0;
    for (var o = 0u; o < BLOCK; o++) { store(out_base + o, sums[o]); }
}
