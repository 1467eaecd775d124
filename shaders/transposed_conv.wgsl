// 2x2 transposed convolution, stride 2, kernel NOT flipped (MediaPipe's
// Convolution2DTransposeBias): out[2y+ky, 2x+kx, o] = bias[o] + sum_c x[y, x, c] * w[o, ky, kx, c].
// Each output pixel reads exactly one input pixel, so one thread per output element.
// COMPUTED (ops/transposed_conv.rs): x is not stored but computed as it is loaded, act(dw(a))
// (+ a where RESIDUAL) with a stride-1 depthwise of `a`, the layer before the head; then one
// thread per input pixel and output channel computes that pixel's x once for its 2x2 block of
// outputs, the four taps as a vec4.

struct Params {
    in_h: u32, in_w: u32, cin: u32, cout: u32,
    frames: u32, _pad0: u32,
}

// Parts: layer_io, epilogue (shaders/parts/).

alias weight_t = param_t;

override COMPUTED: bool = false;
override DW_KERNEL: u32 = 3u;
override PRO_ACT: u32 = 0u;
override RESIDUAL: bool = false;

// The depthwise's weights [K, K, cin] and bias (the empty buffer unless COMPUTED).
@group(0) @binding(6) var<storage, read> dw_w: array<param_t>;
@group(0) @binding(7) var<storage, read> dw_b: array<param_t>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (COMPUTED) {
        computed(i);
        return;
    }
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

// Channels per load of the computed input: 4 where cin is a multiple of 4, else 1 (the
// vectors' other lanes 0). Input pixels per thread: 4 neighbours in a row, so each weight is
// loaded once for all 4, each tap loaded directly (as depthwise.wgsl: no private array indexed
// in a loop, which SwiftShader keeps in memory).
override LANES: u32 = 4u;
const PIXELS: u32 = 4u;

fn x_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(x[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn dw_w_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(dw_w[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(dw_w[i]), f32(dw_w[i + 1u]), f32(dw_w[i + 2u]), f32(dw_w[i + 3u]));
}

fn dw_b_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(dw_b[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(dw_b[i]), f32(dw_b[i + 1u]), f32(dw_b[i + 2u]), f32(dw_b[i + 3u]));
}

fn w_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(w[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(w[i]), f32(w[i + 1u]), f32(w[i + 2u]), f32(w[i + 3u]));
}

// The head's weights of output channel o for input channels c.., one vec4 a tap (ky, kx) =
// (0, 0), (0, 1), (1, 0), (1, 1): loaded once for every pixel a thread takes.
struct HeadWeights { t00: vec4<f32>, t01: vec4<f32>, t10: vec4<f32>, t11: vec4<f32> }

fn head_weights(o: u32, c: u32) -> HeadWeights {
    let base = o * 4u * p.cin + c;
    return HeadWeights(w_lanes(base), w_lanes(base + p.cin), w_lanes(base + 2u * p.cin),
                       w_lanes(base + 3u * p.cin));
}

// One input pixel's 2x2 block of the head's output channel, the taps as lanes, from its input
// channels there (d).
fn head_taps(d: vec4<f32>, w: HeadWeights) -> vec4<f32> {
    return vec4<f32>(dot(d, w.t00), dot(d, w.t01), dot(d, w.t10), dot(d, w.t11));
}

// Item i: output channel o of the 2x2 blocks that PIXELS neighbouring input pixels of a row
// make, their input computed one block of LANES channels at a time: the depthwise of `x` there
// (SAME padding), activated, plus x itself where RESIDUAL.
fn computed(i: u32) {
    let blocks = (p.in_w + PIXELS - 1u) / PIXELS;
    if (i >= p.frames * p.in_h * blocks * p.cout) { return; }
    let o = i % p.cout;
    let x0 = ((i / p.cout) % blocks) * PIXELS;
    let y = (i / (p.cout * blocks)) % p.in_h;
    let frame = i / (p.cout * blocks * p.in_h);
    let base = frame * p.in_h * p.in_w * p.cin;
    let pad = (DW_KERNEL - 1u) / 2u;
    var h0 = vec4<f32>(f32(bias[o]));
    var h1 = h0;
    var h2 = h0;
    var h3 = h0;
    for (var c = 0u; c < p.cin; c += LANES) {
        let b = dw_b_lanes(c);
        var d0 = b;
        var d1 = b;
        var d2 = b;
        var d3 = b;
        for (var ky = 0u; ky < DW_KERNEL; ky++) {
            let iy = window_tap(y, ky, 1u, pad, p.in_h);
            if (iy < 0) { continue; }
            let row = base + u32(iy) * p.in_w * p.cin + c;
            // The 4 pixels' taps slide along the row together: each input loaded once (K + 4
            // loads a row, not 4K), as depthwise.wgsl at stride 1.
            var v0 = x_at(row, x0, 0u, pad);
            var v1 = x_at(row, x0 + 1u, 0u, pad);
            var v2 = x_at(row, x0 + 2u, 0u, pad);
            var v3 = x_at(row, x0 + 3u, 0u, pad);
            for (var kx = 0u; kx < DW_KERNEL; kx++) {
                let wt = dw_w_lanes((ky * DW_KERNEL + kx) * p.cin + c);
                d0 += v0 * wt;
                d1 += v1 * wt;
                d2 += v2 * wt;
                d3 += v3 * wt;
                v0 = v1;
                v1 = v2;
                v2 = v3;
                v3 = x_at(row, x0 + 4u, kx, pad);
            }
        }
        // The pixels themselves where RESIDUAL (their window's centre tap).
        let centre = base + y * p.in_w * p.cin + c;
        let hw = head_weights(o, c);
        h0 += head_taps(activate_lanes(d0, PRO_ACT) + residual(centre, x0, pad), hw);
        h1 += head_taps(activate_lanes(d1, PRO_ACT) + residual(centre, x0 + 1u, pad), hw);
        h2 += head_taps(activate_lanes(d2, PRO_ACT) + residual(centre, x0 + 2u, pad), hw);
        h3 += head_taps(activate_lanes(d3, PRO_ACT) + residual(centre, x0 + 3u, pad), hw);
    }
    let at = (frame * 4u * p.in_h * p.in_w + 2u * y * 2u * p.in_w + 2u * x0) * p.cout + o;
    store_block(at, h0);
    if (x0 + 1u < p.in_w) { store_block(at + 2u * p.cout, h1); }
    if (x0 + 2u < p.in_w) { store_block(at + 4u * p.cout, h2); }
    if (x0 + 3u < p.in_w) { store_block(at + 6u * p.cout, h3); }
}

// The input of column x's tap kx in the row from `row` (SAME padding `pad`): 0 in the padding
// (the load clamped into the row and its value dropped, no branch).
fn x_at(row: u32, x: u32, kx: u32, pad: u32) -> vec4<f32> {
    let ix = window_tap(x, kx, 1u, pad, p.in_w);
    return select(vec4<f32>(), x_lanes(row + u32(max(ix, 0)) * p.cin), ix >= 0);
}

// Column x of the row from `row` where RESIDUAL, else 0.
fn residual(row: u32, x: u32, pad: u32) -> vec4<f32> {
    if (!RESIDUAL) { return vec4<f32>(); }
    return x_at(row, x, pad, pad);
}

// One input pixel's 2x2 block of output channel o from `at` (its top left), the taps as lanes.
fn store_block(at: u32, taps: vec4<f32>) {
    let out_w = 2u * p.in_w;
    store(at, taps.x);
    store(at + p.cout, taps.y);
    store(at + out_w * p.cout, taps.z);
    store(at + (out_w + 1u) * p.cout, taps.w);
}
