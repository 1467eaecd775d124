// Squeeze-excite tail in one workgroup: mean over pixels (of x + plus when a skip is folded in)
// -> FC (-> relu -> FC) -> sigmoid.
// gate[o] for a [pixels, c] input. Each of x and plus is read as `rows` rows of c from an
// offset, their total divided by `count`: its pixels (rows = count), or the per-group sums its
// producer left after it (ops/sums.rs: rows = groups, far fewer loads). plus may be of another
// resolution (an x2 upsampling folded in: its mean is the low-resolution one's). One or two FC
// layers (the LR-ASPP head uses one). The mean runs over channel blocks of up to 256: the
// threads of a block split the rows between them while consecutive threads read consecutive
// channels (coalesced).

struct Params {
    rows: u32, c: u32, hidden: u32, out_c: u32,
    layers: u32, has_plus: u32, count: u32, plus_rows: u32,
    plus_count: u32, x_off: u32, plus_off: u32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<param_t>;
@group(0) @binding(3) var<storage, read> b1: array<param_t>;
@group(0) @binding(4) var<storage, read> w2: array<param_t>;
@group(0) @binding(5) var<storage, read> b2: array<param_t>;
@group(0) @binding(6) var<storage, read_write> gate: array<f32>;
@group(0) @binding(7) var<storage, read> plus: array<f32>;

// Threads: SwiftShader (the browsers' software WebGPU) runs a workgroup with barriers as
// coroutines, one per 4 threads: a gate took ~1 ms with 256 threads, 0.3-0.5 ms with 64,
// 0.13-0.33 ms with 16. Its work is a few thousand loads and multiply-adds.
const GATE_WG: u32 = 16u;
// Largest channel count a gate handles (checked on the host).
const MAX_C: u32 = 1024u;

var<workgroup> partial: array<f32, GATE_WG>;
var<workgroup> pooled: array<f32, MAX_C>;
var<workgroup> hidden: array<f32, MAX_C>;

// Channel c0 + t % width's total over `rows` rows of c channels from `at`, the rows split among
// `lanes` threads (this one `lane`).
fn column_part(src: u32, at: u32, rows: u32, lane: u32, lanes: u32) -> f32 {
    var s = 0.0;
    for (var r = lane; r < rows; r += lanes) {
        let i = at + r * p.c;
        if (src == 1u) { s += plus[i]; } else { s += x[i]; }
    }
    return s;
}

// One workgroup per frame: frame f pools its rows of x (and plus), writes gate[f].
@compute @workgroup_size(GATE_WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let g0 = wg.x * p.out_c;
    for (var c0 = 0u; c0 < p.c; c0 += GATE_WG) {
        let width = min(GATE_WG, p.c - c0);
        let lanes = GATE_WG / width;
        let lane = t / width;
        var s = 0.0;
        if (lane < lanes) {
            let ch = c0 + t % width;
            s = column_part(0u, p.x_off + wg.x * p.rows * p.c + ch, p.rows, lane, lanes) / f32(p.count);
            if (p.has_plus != 0u) {
                let at = p.plus_off + wg.x * p.plus_rows * p.c + ch;
                s += column_part(1u, at, p.plus_rows, lane, lanes) / f32(p.plus_count);
            }
        }
        partial[t] = s;
        workgroupBarrier();
        if (t < width) {
            var total = 0.0;
            for (var l = 0u; l < lanes; l++) { total += partial[t + l * width]; }
            pooled[c0 + t] = total;
        }
        workgroupBarrier();
    }
    let first_act = select(ACT_SIGMOID, ACT_RELU, p.layers == 2u);
    for (var o = t; o < p.hidden; o += GATE_WG) {
        var s = f32(b1[o]);
        for (var k = 0u; k < p.c; k++) { s += f32(w1[o * p.c + k]) * pooled[k]; }
        hidden[o] = activate(s, first_act);
        if (p.layers == 1u) { gate[g0 + o] = hidden[o]; }
    }
    if (p.layers == 1u) { return; }
    workgroupBarrier();
    for (var o = t; o < p.out_c; o += GATE_WG) {
        var s = f32(b2[o]);
        for (var k = 0u; k < p.hidden; k++) { s += f32(w2[o * p.hidden + k]) * hidden[k]; }
        gate[g0 + o] = activate(s, ACT_SIGMOID);
    }
}
