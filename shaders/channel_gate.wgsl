// Squeeze-excite tail in one workgroup: mean over pixels (of x + plus when a skip is folded in)
// -> FC (-> relu -> FC) -> sigmoid.
// gate[o] for a [pixels, c] input. One or two FC layers (the LR-ASPP head uses one).
// The mean runs over channel blocks of up to 256: the threads of a block split the pixels
// between them while consecutive threads read consecutive channels (coalesced).

struct Params {
    pixels: u32, c: u32, hidden: u32, out_c: u32,
    layers: u32, has_plus: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<param_t>;
@group(0) @binding(3) var<storage, read> b1: array<param_t>;
@group(0) @binding(4) var<storage, read> w2: array<param_t>;
@group(0) @binding(5) var<storage, read> b2: array<param_t>;
@group(0) @binding(6) var<storage, read_write> gate: array<f32>;
@group(0) @binding(7) var<storage, read> plus: array<f32>;

// Largest channel count a gate handles (checked on the host).
const MAX_C: u32 = 1024u;

var<workgroup> partial: array<f32, WG>;
var<workgroup> pooled: array<f32, MAX_C>;
var<workgroup> hidden: array<f32, MAX_C>;

// One workgroup per frame: frame f pools x[f], writes gate[f].
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let x0 = wg.x * p.pixels * p.c;
    let g0 = wg.x * p.out_c;
    for (var c0 = 0u; c0 < p.c; c0 += WG) {
        let width = min(WG, p.c - c0);
        let lanes = WG / width;
        let lane = t / width;
        var s = 0.0;
        if (lane < lanes) {
            for (var px = lane; px < p.pixels; px += lanes) {
                let i = x0 + px * p.c + c0 + t % width;
                var v = x[i];
                if (p.has_plus != 0u) { v += plus[i]; }
                s += v;
            }
        }
        partial[t] = s;
        workgroupBarrier();
        if (t < width) {
            var total = 0.0;
            for (var l = 0u; l < lanes; l++) { total += partial[t + l * width]; }
            pooled[c0 + t] = total / f32(p.pixels);
        }
        workgroupBarrier();
    }
    let first_act = select(ACT_SIGMOID, ACT_RELU, p.layers == 2u);
    for (var o = t; o < p.hidden; o += WG) {
        var s = f32(b1[o]);
        for (var k = 0u; k < p.c; k++) { s += f32(w1[o * p.c + k]) * pooled[k]; }
        hidden[o] = activate(s, first_act);
        if (p.layers == 1u) { gate[g0 + o] = hidden[o]; }
    }
    if (p.layers == 1u) { return; }
    workgroupBarrier();
    for (var o = t; o < p.out_c; o += WG) {
        var s = f32(b2[o]);
        for (var k = 0u; k < p.hidden; k++) { s += f32(w2[o * p.hidden + k]) * hidden[k]; }
        gate[g0 + o] = activate(s, ACT_SIGMOID);
    }
}
