// Depthwise KxK convolution, NHWC, weight [k, k, c], TFLite SAME padding, any stride.
// One output element per call, channel fastest: a warp reads consecutive channels of the same
// pixel, so every tap is one coalesced load.

// Parts: window_params, layer_io, epilogue, window_main (shaders/parts/).

fn output(frame: u32, px: u32, ch: u32) -> f32 {
    let base = p.in_h * p.in_w * p.cin * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sum = f32(bias[ch]);
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = window_tap(oy, ky, p.stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < KERNEL; kx++) {
            let ix = window_tap(ox, kx, p.stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            sum += x[base + (u32(iy) * p.in_w + u32(ix)) * p.cin + ch] * f32(w[(ky * KERNEL + kx) * p.cin + ch]);
        }
    }
    return sum;
}
