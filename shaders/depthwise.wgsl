// Depthwise KxK convolution, NHWC, weight [k, k, c], TFLite SAME padding, any stride.
// One thread per output element, channel fastest: a warp reads consecutive channels of the same
// pixel, so every tap is one coalesced load.

// Parts: window_params, layer_io, epilogue (shaders/parts/).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    let per_frame = p.out_h * p.out_w * p.cin;
    if (i >= p.frames * per_frame) { return; }
    let frame = p.in_h * p.in_w * p.cin * (i / per_frame);
    let ch = i % p.cin;
    let px = (i % per_frame) / p.cin;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sum = f32(bias[ch]);
    for (var ky = 0u; ky < p.kernel; ky++) {
        let iy = window_tap(oy, ky, p.stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < p.kernel; kx++) {
            let ix = window_tap(ox, kx, p.stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            sum += x[frame + (u32(iy) * p.in_w + u32(ix)) * p.cin + ch] * f32(w[(ky * p.kernel + kx) * p.cin + ch]);
        }
    }
    store(i, sum);
}
