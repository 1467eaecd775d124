// General KxK convolution over all input channels, NHWC, weight [out, k, k, in], TFLite SAME
// padding (pad_top/pad_left given; the bottom/right remainder falls outside the input).
// One thread per output element; used by the 3x3 stride-2 stem (3 input channels), where the
// whole kernel window fits in registers and a GEMM formulation would not pay.

struct Params {
    in_h: u32, in_w: u32, cin: u32, out_h: u32,
    out_w: u32, cout: u32, kernel: u32, stride: u32,
    pad_top: u32, pad_left: u32, act: u32, has_add: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<param_t>;
@group(0) @binding(3) var<storage, read> bias: array<param_t>;
@group(0) @binding(4) var<storage, read> add: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.out_h * p.out_w * p.cout) { return; }
    let o = i % p.cout;
    let px = i / p.cout;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    var sum = f32(bias[o]);
    for (var ky = 0u; ky < p.kernel; ky++) {
        let iy = window_tap(oy, ky, p.stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < p.kernel; kx++) {
            let ix = window_tap(ox, kx, p.stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            let xbase = (u32(iy) * p.in_w + u32(ix)) * p.cin;
            let wbase = ((o * p.kernel + ky) * p.kernel + kx) * p.cin;
            for (var c = 0u; c < p.cin; c++) { sum += x[xbase + c] * f32(w[wbase + c]); }
        }
    }
    var v = activate(sum, p.act);
    if (p.has_add != 0u) { v += add[i]; }
    out[i] = v;
}
