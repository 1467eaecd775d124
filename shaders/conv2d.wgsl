// General KxK convolution over all input channels, NHWC, weight [out, k, k, in], TFLite SAME
// padding (pad_top/pad_left given; the bottom/right remainder falls outside the input).
// One output element per call; used by the 3x3 stride-2 stem (3 input channels), where the
// whole kernel window fits in registers and a GEMM formulation would not pay.

// Parts: window_params, layer_io, epilogue, window_main (shaders/parts/).

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
