// Numerically stable softmax over each row of a row-major [rows, cols] matrix: one workgroup per
// row; tree reductions for the row max and for the sum of exp(x - max).

struct Params { rows: u32, cols: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let row = wg.x + wg.y * groups.x;
    // Rows past the end still take part in the barriers, they just do no work.
    let in_range = row < p.rows;
    let base = row * p.cols;
    // -FLT_MAX by its bits: the decimal literal rounds past f32 range in strict compilers (Tint).
    var m = bitcast<f32>(0xff7fffffu);
    if (in_range) {
        for (var c = t; c < p.cols; c += WG) { m = max(m, x[base + c]); }
    }
    scratch[t] = m;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) { scratch[t] = max(scratch[t], scratch[t + stride]); }
        workgroupBarrier();
    }
    let row_max = scratch[0];
    workgroupBarrier();
    var s = 0.0;
    if (in_range) {
        for (var c = t; c < p.cols; c += WG) { s += exp(x[base + c] - row_max); }
    }
    scratch[t] = s;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) { scratch[t] += scratch[t + stride]; }
        workgroupBarrier();
    }
    let total = scratch[0];
    if (in_range) {
        for (var c = t; c < p.cols; c += WG) { out[base + c] = exp(x[base + c] - row_max) / total; }
    }
}
