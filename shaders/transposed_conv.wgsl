// 2x2 transposed convolution, stride 2, kernel NOT flipped (MediaPipe's
// Convolution2DTransposeBias): out[2y+ky, 2x+kx, o] = bias[o] + sum_c x[y, x, c] * w[o, ky, kx, c].
// Each output pixel reads exactly one input pixel, so one thread per output element.

struct Params {
    in_h: u32, in_w: u32, cin: u32, cout: u32,
    frames: u32, _pad0: u32,
}

// Parts: layer_io, epilogue (shaders/parts/).

alias weight_t = param_t;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    let out_w = 2u * p.in_w;
    let per_frame = 4u * p.in_h * p.in_w * p.cout;
    if (i >= p.frames * per_frame) { return; }
    let frame = p.in_h * p.in_w * p.cin * (i / per_frame);
    let o = i % p.cout;
    let px = (i % per_frame) / p.cout;
    let oy = px / out_w;
    let ox = px % out_w;
    let xbase = frame + ((oy / 2u) * p.in_w + ox / 2u) * p.cin;
    let wbase = ((o * 2u + oy % 2u) * 2u + ox % 2u) * p.cin;
    var sum = f32(bias[o]);
    for (var c = 0u; c < p.cin; c++) { sum += x[xbase + c] * f32(w[wbase + c]); }
    store(i, sum);
}
