// General KxK convolution over all input channels, NHWC, weight [out, k, k, in], TFLite SAME
// padding (pad_top/pad_left given; the bottom/right remainder falls outside the input). Used by
// the 3x3 stride-2 stem (3 input channels), where the whole window fits in registers and a GEMM
// formulation would not pay.
//
// Plain (`plain`): one thread computes OUTS output channels of one pixel (all 16 of the stem),
// so each input of the window is loaded once, not once per output channel; the weights are the
// same for every thread of a dispatch (broadcast loads). OUTS (a divisor of cout, at most
// GROUP) and CIN are pipeline constants (ops/conv2d.rs): the loops unroll, no lane idles.
// Pooled: `output`, one element per call (shaders/parts/window_main.wgsl).

// Parts: window_params, layer_io, epilogue, window_main (shaders/parts/).

const GROUP: u32 = 16u;
override OUTS: u32 = 16u;
override CIN: u32 = 3u;

fn output(frame: u32, px: u32, o: u32) -> f32 {
    let base = p.in_h * p.in_w * p.cin * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sum = f32(bias[o]);
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, p.stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let ix = window_tap(ox, kx, p.stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            let xbase = base + (u32(iy) * p.in_w + u32(ix)) * p.cin;
            let wbase = ((o * KERNEL + ky) * KERNEL + kx) * p.cin;
            for (var c = 0u; c < p.cin; c++) { sum += x[xbase + c] * f32(w[wbase + c]); }
        }
    }
    return sum;
}

// Item i of p.plain_items per frame: (frame, pixel, group of OUTS output channels).
fn plain(i: u32) {
    let groups = p.cout / OUTS;
    let o0 = (i % groups) * OUTS;
    let px = (i / groups) % (p.out_h * p.out_w);
    let frame = i / (groups * p.out_h * p.out_w);
    let base = p.in_h * p.in_w * CIN * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sums: array<f32, GROUP>;
    for (var o = 0u; o < OUTS; o++) { sums[o] = f32(bias[o0 + o]); }
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
                for (var o = 0u; o < OUTS; o++) {
                    sums[o] += v * f32(w[(o0 + o) * KERNEL * KERNEL * CIN + tap]);
                }
            }
        }
    }
    let out_base = (frame * p.out_h * p.out_w + px) * p.cout + o0;
    for (var o = 0u; o < OUTS; o++) { store(out_base + o, sums[o]); }
}
